//! The template files under tests/templates/: HCL2 source bodies are evaluated with hcl-rs (a fast
//! stand-in for Packer's own HCL2 evaluation; the real `packer validate` runs on the same files in the
//! workspace's end-to-end tests), then prepared. Valid ones must pass; each invalid one must fail
//! with every `# expect: <substring>` line at its top.

use std::path::{Path, PathBuf};

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use nutanix_config::{config_spec, prepare_with, Prepared};
use packer_schema::{ObjectSpec, PackerVars, PrepareInput, Spec, TemplateKind};
use serde_json::{Map, Value};

use crate::helpers::{ambient, as_hcl2};

fn templates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/templates")
        .canonicalize()
        .unwrap()
}

thread_local! {
    /// The directory of the template being evaluated: Packer's `file()` resolves relative paths
    /// against it (not against the working directory, unlike `cd_files` and other options).
    static TEMPLATE_DIR: std::cell::RefCell<PathBuf> = const { std::cell::RefCell::new(PathBuf::new()) };
}

fn file_func(args: FuncArgs) -> Result<hcl::Value, String> {
    let path = args[0].as_str().ok_or("file: path must be a string")?;
    let full = TEMPLATE_DIR.with(|d| d.borrow().join(path));
    std::fs::read_to_string(&full)
        .map(hcl::Value::from)
        .map_err(|e| format!("file({}): {e}", full.display()))
}

fn base64encode_func(args: FuncArgs) -> Result<hcl::Value, String> {
    use base64::Engine;
    let s = args[0]
        .as_str()
        .ok_or("base64encode: argument must be a string")?;
    Ok(hcl::Value::from(
        base64::engine::general_purpose::STANDARD.encode(s),
    ))
}

fn json_of(v: hcl::Value) -> Value {
    serde_json::to_value(v).unwrap()
}

/// The JSON object hcldec would produce for a body, following the schema to tell single blocks from
/// repeated ones.
fn body_json(
    body: &hcl::Body,
    ctx: &Context,
    spec: &ObjectSpec,
    at: &str,
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for attr in body.attributes() {
        let v = attr
            .expr
            .evaluate(ctx)
            .map_err(|e| format!("{at}{}: {e}", attr.key()))?;
        out.insert(attr.key().to_string(), json_of(v));
    }
    for block in body.blocks() {
        let key = block.identifier();
        match spec.0.get(key) {
            Some(Spec::Block(b)) => {
                out.insert(
                    key.to_string(),
                    Value::Object(body_json(block.body(), ctx, &b.nested, &format!("{key}."))?),
                );
            }
            Some(Spec::BlockList(b)) => {
                let item =
                    Value::Object(body_json(block.body(), ctx, &b.nested, &format!("{key}."))?);
                match out
                    .entry(key.to_string())
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(items) => items.push(item),
                    _ => return Err(format!("{key}: block and attribute of the same name")),
                }
            }
            _ => {
                return Err(format!(
                    "Unsupported block type {key:?} (Packer would reject it)"
                ))
            }
        }
    }
    Ok(out)
}

/// A source's name and its evaluated body (or why it could not be evaluated).
type Source = (String, Result<Map<String, Value>, String>);

/// Every `source "nutanix" "<name>"` body of an HCL2 template, evaluated.
fn hcl2_sources(path: &Path) -> Vec<Source> {
    let text = std::fs::read_to_string(path).unwrap();
    let body = hcl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ctx = Context::new();
    ctx.declare_func(
        "file",
        FuncDef::builder().param(ParamType::String).build(file_func),
    );
    ctx.declare_func(
        "base64encode",
        FuncDef::builder()
            .param(ParamType::String)
            .build(base64encode_func),
    );
    TEMPLATE_DIR.with(|d| *d.borrow_mut() = path.parent().unwrap().to_path_buf());
    let root = path.parent().unwrap().display().to_string();
    ctx.declare_var(
        "path",
        hcl::Value::Object(
            [("root".to_string(), hcl::Value::from(root))]
                .into_iter()
                .collect(),
        ),
    );

    let mut vars = hcl::Map::new();
    for block in body.blocks().filter(|b| b.identifier() == "variable") {
        let name = block.labels()[0].as_str().to_string();
        let default = block
            .body()
            .attributes()
            .find(|a| a.key() == "default")
            .map(|a| a.expr.evaluate(&ctx).unwrap())
            .unwrap_or_else(|| panic!("{}: variable {name} needs a default", path.display()));
        vars.insert(name, default);
    }
    ctx.declare_var("var", hcl::Value::Object(vars));
    let mut locals = hcl::Map::new();
    for block in body.blocks().filter(|b| b.identifier() == "locals") {
        for a in block.body().attributes() {
            locals.insert(a.key().to_string(), a.expr.evaluate(&ctx).unwrap());
        }
    }
    ctx.declare_var("local", hcl::Value::Object(locals));

    let spec = config_spec();
    body.blocks()
        .filter(|b| b.identifier() == "source")
        .map(|b| {
            let labels: Vec<&str> = b.labels().iter().map(|l| l.as_str()).collect();
            assert_eq!(
                labels[0],
                "nutanix",
                "{}: only nutanix sources",
                path.display()
            );
            (labels[1].to_string(), body_json(b.body(), &ctx, &spec, ""))
        })
        .collect()
}

fn has_packer_block_and_build(path: &Path) {
    let body = hcl::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let packer = body
        .blocks()
        .find(|b| b.identifier() == "packer")
        .expect("a packer block");
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains("source  = \"github.com/nutanix-cloud-native/nutanix\""),
        "{}",
        path.display()
    );
    assert!(
        packer
            .body()
            .blocks()
            .any(|b| b.identifier() == "required_plugins"),
        "{}",
        path.display()
    );
    assert!(
        body.blocks().any(|b| b.identifier() == "build"),
        "{}: a build block",
        path.display()
    );
}

fn prepare_hcl2(name: &str, body: &Map<String, Value>) -> Result<Prepared, String> {
    let input = PrepareInput {
        kind: TemplateKind::Hcl2,
        packer: PackerVars {
            build_name: name.to_string(),
            builder_type: "nutanix".into(),
            ..Default::default()
        },
        configs: vec![as_hcl2(body)],
    };
    prepare_with(&input, &ambient()).map_err(|e| e.to_string())
}

fn hcl_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(templates_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".pkr.hcl"))
        .collect();
    files.sort();
    files
}

#[test]
fn valid_hcl2_templates_prepare_cleanly() {
    let files = hcl_files("valid");
    assert!(
        files.len() >= 8,
        "expected one valid template per Go example at least"
    );
    for path in files {
        has_packer_block_and_build(&path);
        let sources = hcl2_sources(&path);
        assert!(!sources.is_empty(), "{}: no nutanix source", path.display());
        for (name, body) in sources {
            let body = body.unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if let Err(e) = prepare_hcl2(&name, &body) {
                panic!("{} source {name}:\n{e}", path.display());
            }
        }
    }
}

#[test]
fn invalid_hcl2_templates_fail_with_their_expected_messages() {
    let files = hcl_files("invalid");
    assert!(files.len() >= 10);
    for path in files {
        has_packer_block_and_build(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let expects: Vec<&str> = text
            .lines()
            .map_while(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(
            !expects.is_empty(),
            "{}: starts with no `# expect:` line",
            path.display()
        );
        let sources = hcl2_sources(&path);
        assert_eq!(
            sources.len(),
            1,
            "{}: one source per invalid template",
            path.display()
        );
        let (name, body) = &sources[0];
        let body = body
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        match prepare_hcl2(name, body) {
            Ok(_) => panic!("{}: prepared without error", path.display()),
            Err(message) => {
                for e in &expects {
                    assert!(
                        message.contains(e),
                        "{}: {e:?} not in:\n{message}",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn legacy_json_template_with_user_variables_prepares() {
    let path = templates_dir().join("valid/legacy-user-vars.json");
    let t: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let user_variables = t["variables"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let builders = t["builders"].as_array().unwrap();
    assert_eq!(builders.len(), 1);
    let mut body = builders[0].as_object().unwrap().clone();
    assert_eq!(body.remove("type"), Some(Value::from("nutanix")));
    let name = body
        .remove("name")
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or("nutanix".into());
    let input = PrepareInput {
        kind: TemplateKind::LegacyJson,
        packer: PackerVars {
            build_name: name,
            builder_type: "nutanix".into(),
            template_path: Some(path.display().to_string()),
            user_variables,
            sensitive_variables: t["sensitive-variables"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            ..Default::default()
        },
        configs: vec![Value::Object(body)],
    };
    let p = prepare_with(&input, &ambient()).unwrap_or_else(|e| panic!("{e}"));
    let c = &p.config;
    assert!(!c.vm.vm_name.contains("{{"), "{}", c.vm.vm_name);
    assert!(c.vm.vm_name.starts_with("legacy-"), "{}", c.vm.vm_name);
    assert_eq!(c.vm.cpu, 2);
    assert!(
        c.secrets().iter().any(|s| s == "packer-legacy"),
        "sensitive user variable is a secret"
    );
    assert!(c
        .boot
        .boot_command
        .elements()
        .iter()
        .any(|b| b.contains("{{ .HTTPIP }}")));
}
