//! `Builder.Prepare`: merge what Packer sent, render templates, decode, apply defaults, validate.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use packer_schema::{PackerVars, PrepareInput, TemplateKind};
use rand::Rng;
use serde_json::{Map, Value};

use crate::config::{BootType, Config};
use crate::decl::{decode_object, Cx};
use crate::errors::{ConfigError, ConfigErrors};
use crate::generated::GENERATED_VARS;
use crate::interpolate;
use crate::validate::validate;

/// A configuration that passed validation, with everything Packer wants back from Prepare.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The typed configuration, defaults applied.
    pub config: Config,
    /// Non-fatal notes (deprecated or ignored options); Packer shows each as a warning.
    pub warnings: Vec<String>,
    /// Names of the generated data the build provides as `build.<Name>` (see [`GENERATED_VARS`]).
    pub generated_vars: Vec<String>,
}

/// What Prepare reads from the world besides its input, so that tests can fix it.
#[derive(Debug, Clone)]
pub struct Ambient {
    /// The instant template functions (`timestamp`, `isotime`, `uuid`) use.
    pub now: DateTime<Utc>,
    /// The working directory, for `{{pwd}}` and a relative `{{template_dir}}`.
    pub cwd: Option<PathBuf>,
    /// The home directory, for `~` in key file paths.
    pub home: Option<PathBuf>,
    /// The 8 characters after `Packer-` in a default `vm_name`; random when `None`.
    pub vm_name_suffix: Option<String>,
}

impl Ambient {
    /// The real clock, working directory and home directory of this process.
    pub fn from_process() -> Self {
        Ambient {
            now: Utc::now(),
            cwd: std::env::current_dir().ok(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            vm_name_suffix: None,
        }
    }
}

/// Prepares a configuration with the process's clock and directories.
pub fn prepare(input: &PrepareInput) -> Result<Prepared, ConfigErrors> {
    prepare_with(input, &Ambient::from_process())
}

/// Prepares a configuration: every problem is reported at once, each naming its option.
pub fn prepare_with(input: &PrepareInput, ambient: &Ambient) -> Result<Prepared, ConfigErrors> {
    let mut errors = Vec::new();
    let merged = merge(&input.configs, &mut errors);
    let packer = effective_packer_vars(&input.packer, &merged);

    let mut cx = Cx {
        kind: input.kind,
        tpl: interpolate::Context {
            user_variables: match input.kind {
                TemplateKind::LegacyJson => Some(packer.user_variables.clone()),
                TemplateKind::Hcl2 => None,
            },
            build_name: packer.build_name.clone(),
            build_type: packer.builder_type.clone(),
            core_version: packer.core_version.clone(),
            template_path: packer.template_path.as_ref().map(PathBuf::from),
            cwd: ambient.cwd.clone(),
            now: ambient.now,
            data: None,
        },
        render: true,
        errors,
        warnings: Vec::new(),
        rejected: Default::default(),
    };

    let mut config: Config = decode_object(&merged, String::new(), &mut cx);
    apply_packer_vars(&mut config, &packer);
    apply_defaults(&mut config, ambient, &mut cx.warnings);
    validate(&config, &mut cx, ambient.home.as_deref());
    if config.vm.secure_boot && config.vm.boot_type == BootType::Uefi {
        config.vm.boot_type = BootType::SecureBoot;
    }

    if !cx.errors.is_empty() {
        tracing::debug!(count = cx.errors.len(), "configuration rejected");
        return Err(ConfigErrors(cx.errors));
    }
    Ok(Prepared {
        config,
        warnings: cx.warnings,
        generated_vars: GENERATED_VARS.iter().map(|s| s.to_string()).collect(),
    })
}

/// Later bodies override earlier ones key by key; a null never overrides a value (Go mapstructure).
fn merge(configs: &[Value], errors: &mut Vec<ConfigError>) -> Map<String, Value> {
    let mut merged = Map::new();
    for (i, body) in configs.iter().enumerate() {
        match body {
            Value::Object(m) => {
                for (k, v) in m {
                    if !v.is_null() || !merged.contains_key(k) {
                        merged.insert(k.clone(), v.clone());
                    }
                }
            }
            Value::Null => {}
            other => errors.push(ConfigError::WrongType {
                path: format!("<configuration body {i}>"),
                expected: "an object",
                found: crate::decl::json_kind(other),
            }),
        }
    }
    merged
}

/// The transport's `PackerVars`, completed from `packer_*` keys of the body where it left gaps
/// (e.g. a caller that passed Packer's raw maps through as bodies).
fn effective_packer_vars(given: &PackerVars, body: &Map<String, Value>) -> PackerVars {
    let mut p = given.clone();
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let flag = |k: &str| match body.get(k) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(s == "true"),
        _ => None,
    };
    if p.build_name.is_empty() {
        p.build_name = text("packer_build_name").unwrap_or_default();
    }
    if p.builder_type.is_empty() {
        p.builder_type = text("packer_builder_type").unwrap_or_default();
    }
    if p.core_version.is_empty() {
        p.core_version = text("packer_core_version").unwrap_or_default();
    }
    if p.on_error.is_empty() {
        p.on_error = text("packer_on_error").unwrap_or_default();
    }
    if p.template_path.is_none() {
        p.template_path = text("packer_template_path");
    }
    p.debug |= flag("packer_debug").unwrap_or(false);
    p.force |= flag("packer_force").unwrap_or(false);
    if p.user_variables.is_empty() {
        if let Some(Value::Object(m)) = body.get("packer_user_variables") {
            p.user_variables = m
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect();
        }
    }
    if p.sensitive_variables.is_empty() {
        if let Some(Value::Array(a)) = body.get("packer_sensitive_variables") {
            p.sensitive_variables = a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect();
        }
    }
    p
}

fn apply_packer_vars(c: &mut Config, p: &PackerVars) {
    c.packer.packer_build_name = p.build_name.clone();
    c.packer.packer_builder_type = p.builder_type.clone();
    c.packer.packer_core_version = p.core_version.clone();
    c.packer.packer_debug = p.debug;
    c.packer.packer_force = p.force;
    c.packer.packer_on_error = p.on_error.clone();
    c.packer.packer_user_variables = p.user_variables.clone();
    c.packer.packer_sensitive_variables = p.sensitive_variables.clone();
}

const NAME_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Defaults that depend on other options, in the Go plugin's order and with its rules.
fn apply_defaults(c: &mut Config, ambient: &Ambient, warnings: &mut Vec<String>) {
    if c.vm.vm_name.is_empty() {
        let suffix = ambient.vm_name_suffix.clone().unwrap_or_else(|| {
            let mut rng = rand::rng();
            (0..8)
                .map(|_| {
                    let i = rng.random_range(0..NAME_ALPHABET.len());
                    char::from(NAME_ALPHABET.get(i).copied().unwrap_or(b'X'))
                })
                .collect()
        });
        c.vm.vm_name = format!("Packer-{suffix}");
        tracing::debug!(vm_name = %c.vm.vm_name, "no vm_name, generated one");
    }
    if c.vm.image_name.is_empty() {
        c.vm.image_name = c.vm.vm_name.clone();
    }
    if c.ova.export && !c.ova.create {
        c.ova.create = true;
    }
    if c.ova.create && c.ova.name.is_empty() {
        c.ova.name = c.vm.vm_name.clone();
    }
    if c.template.create && c.template.name.is_empty() {
        c.template.name = c.vm.vm_name.clone();
    }
    if c.image_skip && c.image_export {
        c.image_skip = false;
        c.image_delete = true;
        warnings.push(
            "image_skip is ignored because image_export = true: the image is created, exported, then deleted (image_delete = true)"
                .to_string(),
        );
    }
    let ssh = &mut c.comm.ssh;
    if let Some(t) = ssh.ssh_wait_timeout {
        ssh.ssh_timeout = t;
    }
    if ssh.ssh_bastion_host.is_some() {
        if ssh.ssh_bastion_port == 0 {
            ssh.ssh_bastion_port = 22;
        }
        if ssh.ssh_bastion_private_key_file.is_none() && ssh.ssh_private_key_file.is_some() {
            ssh.ssh_bastion_private_key_file = ssh.ssh_private_key_file.clone();
            ssh.ssh_bastion_certificate_file = ssh.ssh_certificate_file.clone();
        }
    }
    if ssh.ssh_proxy_host.is_some() && ssh.ssh_proxy_port == 0 {
        ssh.ssh_proxy_port = 1080;
    }
    let winrm = &mut c.comm.winrm;
    if winrm.winrm_port == 0 {
        winrm.winrm_port = if winrm.winrm_use_ssl { 5986 } else { 5985 };
    }
}
