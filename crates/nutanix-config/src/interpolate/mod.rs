//! Packer's `{{ ... }}` template engine for option values, as the Go SDK applies it in `Prepare`
//! (`template/interpolate`): the Go plugin renders every string option of both HCL2 and legacy JSON
//! templates with it (its own examples write `image_name = "centos8-{{isotime `Jan-_2-15:04:05`}}"` in
//! HCL2), except `boot_command`, which is only syntax-checked and rendered at build time with the
//! HTTP server's address. The build steps reuse [`render`] for that, passing [`Context::data`].
//!
//! Supported: `user`, `build_name`, `build_type`, `timestamp`, `uuid`, `isotime` (Go layouts),
//! `strftime`, `pwd`, `template_dir`, `packer_version`, `split`, `replace`, `replace_all`, `lower`,
//! `upper`, `build` (with data), pipelines, parentheses, trim markers and comments. As in the Go
//! SDK, `env`, `consul_key`, `vault` and `aws_secretsmanager` are refused outside a JSON template's
//! variables section, and `sed` is refused as deprecated. Two deliberate differences from Go: a
//! `{{user `x`}}` naming an undefined variable is an error (Go silently renders ""), and an action
//! that reads build-time data (`{{ .HTTPIP }}`) is kept verbatim when no data is given (Go renders
//! `<no value>`), so it can be rendered later.

mod gotime;
mod parse;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rand::RngCore;

pub use gotime::{format_go_layout, format_strftime};
use parse::{Command, Node, Operand, Pipeline};

/// Why a template could not be parsed or rendered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    message: String,
}

impl TemplateError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        TemplateError {
            message: message.into(),
        }
    }
}

/// What template functions can see. Time is an input so rendering is deterministic in tests.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// `packer_user_variables` (legacy JSON templates). `None` when the template kind has none (HCL2),
    /// which makes `{{user}}` an error pointing to `var.<name>`.
    pub user_variables: Option<BTreeMap<String, String>>,
    /// `packer_build_name`, for `{{build_name}}`.
    pub build_name: String,
    /// `packer_builder_type`, for `{{build_type}}`.
    pub build_type: String,
    /// `packer_core_version`, for `{{packer_version}}`.
    pub core_version: String,
    /// `packer_template_path`, for `{{template_dir}}`.
    pub template_path: Option<PathBuf>,
    /// The working directory, for `{{pwd}}` and relative template paths.
    pub cwd: Option<PathBuf>,
    /// The instant `{{timestamp}}`, `{{isotime}}` and `{{uuid}}` use for the whole Prepare.
    pub now: DateTime<Utc>,
    /// Build-time data (`HTTPIP`, `HTTPPort`, `Name`, ...). `None` at Prepare time.
    pub data: Option<BTreeMap<String, String>>,
}

impl Context {
    /// A context with only a clock, as a starting point.
    pub fn at(now: DateTime<Utc>) -> Self {
        Context {
            user_variables: None,
            build_name: String::new(),
            build_type: String::new(),
            core_version: String::new(),
            template_path: None,
            cwd: None,
            now,
            data: None,
        }
    }
}

const PACKER_FUNCS: &[&str] = &[
    "build_name",
    "build_type",
    "env",
    "isotime",
    "strftime",
    "pwd",
    "split",
    "template_dir",
    "timestamp",
    "uuid",
    "user",
    "packer_version",
    "consul_key",
    "vault",
    "sed",
    "build",
    "aws_secretsmanager",
    "aws_secretsmanager_raw",
    "replace",
    "replace_all",
    "upper",
    "lower",
];

/// Go's text/template builtins: known to the parser (so templates using them parse as in Go) but not
/// implemented; calling one is an error naming it.
const GO_BUILTINS: &[&str] = &[
    "and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf",
    "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne",
];

fn is_known(name: &str) -> bool {
    PACKER_FUNCS.contains(&name) || GO_BUILTINS.contains(&name)
}

/// Whether `s` holds template syntax at all; values without `{{` are used as they are.
pub fn has_template(s: &str) -> bool {
    s.contains("{{")
}

/// Checks syntax and function names only, as the Go SDK does for options it renders later.
pub fn check(template: &str) -> Result<(), TemplateError> {
    parse::parse(template, &is_known).map(|_| ())
}

/// Renders `template` with `ctx`.
pub fn render(template: &str, ctx: &Context) -> Result<String, TemplateError> {
    render_traced(template, ctx).map(|(out, _)| out)
}

/// Where a piece of rendered output came from, so that a position in the output can be shown
/// in the template as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Byte offset of the piece in the output.
    pub out: usize,
    /// Byte offset in the template of the literal text, or of the `{{` of the action.
    pub src: usize,
    /// Literal text (maps byte for byte) rather than an action's output.
    pub literal: bool,
}

/// Renders like [`render`] and also returns the pieces of the output, in order.
pub fn render_traced(template: &str, ctx: &Context) -> Result<(String, Vec<Piece>), TemplateError> {
    let whole = Piece {
        out: 0,
        src: 0,
        literal: true,
    };
    if !has_template(template) {
        return Ok((template.to_string(), vec![whole]));
    }
    let nodes = parse::parse(template, &is_known)?;
    let mut out = String::new();
    let mut pieces = Vec::with_capacity(nodes.len());
    for node in nodes {
        match node {
            Node::Text { text, at } => {
                pieces.push(Piece {
                    out: out.len(),
                    src: at,
                    literal: true,
                });
                out.push_str(&text);
            }
            Node::Action {
                pipeline,
                source,
                at,
            } => {
                let verbatim = ctx.data.is_none() && pipeline.uses_data();
                pieces.push(Piece {
                    out: out.len(),
                    src: at,
                    literal: verbatim,
                });
                if verbatim {
                    out.push_str(&source);
                } else {
                    out.push_str(&eval_pipeline(&pipeline, ctx)?.to_string());
                }
            }
        }
    }
    Ok((out, pieces))
}

/// The template offset that output offset `at` came from, and whether it is literal text there
/// (otherwise it is the start of the action that produced it).
pub fn source_offset(pieces: &[Piece], at: usize) -> (usize, bool) {
    let i = pieces.partition_point(|p| p.out <= at);
    match i.checked_sub(1).and_then(|i| pieces.get(i)) {
        Some(p) if p.literal => (p.src + (at - p.out), true),
        Some(p) => (p.src, false),
        None => (at, true),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Int(n) => write!(f, "{n}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

fn eval_pipeline(p: &Pipeline, ctx: &Context) -> Result<Value, TemplateError> {
    let mut piped: Option<Value> = None;
    for cmd in &p.0 {
        piped = Some(match cmd {
            Command::Call { name, args } => {
                let mut values = args
                    .iter()
                    .map(|a| eval_operand(a, ctx))
                    .collect::<Result<Vec<_>, _>>()?;
                values.extend(piped.take());
                call(name, &values, ctx)?
            }
            Command::Operand(o) => {
                if piped.is_some() {
                    return Err(TemplateError::new("can't give argument to non-function"));
                }
                eval_operand(o, ctx)?
            }
        });
    }
    piped.ok_or_else(|| TemplateError::new("missing value for command"))
}

fn eval_operand(o: &Operand, ctx: &Context) -> Result<Value, TemplateError> {
    match o {
        Operand::Str(s) => Ok(Value::Str(s.clone())),
        Operand::Int(n) => Ok(Value::Int(*n)),
        Operand::Bool(b) => Ok(Value::Bool(*b)),
        Operand::Paren(p) => eval_pipeline(p, ctx),
        Operand::Func(name) => call(name, &[], ctx),
        Operand::Dot => Err(TemplateError::new(
            "\".\" (all build data) cannot be rendered; name a field such as .HTTPIP",
        )),
        Operand::Field(path) => {
            let Some(data) = &ctx.data else {
                return Err(TemplateError::new(format!(
                    "build data .{} is not available here",
                    path.join(".")
                )));
            };
            match path.as_slice() {
                [name] => data
                    .get(name)
                    .map(|v| Value::Str(v.clone()))
                    .ok_or_else(|| TemplateError::new(format!("no build data named .{name}"))),
                _ => Err(TemplateError::new(format!(
                    "no build data named .{}",
                    path.join(".")
                ))),
            }
        }
    }
}

fn arity(name: &str, args: &[Value], want: usize) -> Result<(), TemplateError> {
    if args.len() != want {
        return Err(TemplateError::new(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn string_arg(args: &[Value], i: usize) -> Result<&str, TemplateError> {
    match args.get(i) {
        Some(Value::Str(s)) => Ok(s),
        Some(Value::Int(_)) => Err(TemplateError::new(
            "wrong type for value; expected string; got int",
        )),
        Some(Value::Bool(_)) => Err(TemplateError::new(
            "wrong type for value; expected string; got bool",
        )),
        None => Err(TemplateError::new("missing argument")),
    }
}

fn int_arg(args: &[Value], i: usize) -> Result<i64, TemplateError> {
    match args.get(i) {
        Some(Value::Int(n)) => Ok(*n),
        Some(Value::Str(s)) => Err(TemplateError::new(format!("expected integer; found {s:?}"))),
        Some(Value::Bool(b)) => Err(TemplateError::new(format!("expected integer; found {b}"))),
        None => Err(TemplateError::new("missing argument")),
    }
}

fn calling(name: &str, message: impl std::fmt::Display) -> TemplateError {
    TemplateError::new(format!("error calling {name}: {message}"))
}

fn call(name: &str, args: &[Value], ctx: &Context) -> Result<Value, TemplateError> {
    let s = |v: String| Ok(Value::Str(v));
    match name {
        "build_name" | "build_type" | "packer_version" => {
            arity(name, args, 0)?;
            let v = match name {
                "build_name" => &ctx.build_name,
                "build_type" => &ctx.build_type,
                _ => &ctx.core_version,
            };
            if v.is_empty() {
                return Err(calling(name, format!("{name} not available")));
            }
            s(v.clone())
        }
        "env" => {
            arity(name, args, 1)?;
            Err(calling(
                name,
                "env vars are not allowed here (Packer allows env only in the variables section)",
            ))
        }
        "consul_key" => {
            arity(name, args, 1)?;
            Err(calling(name, "consul_key is not allowed here"))
        }
        "vault" => {
            arity(name, args, 2)?;
            Err(calling(name, "Vault vars are only allowed in the variables section"))
        }
        "aws_secretsmanager" | "aws_secretsmanager_raw" => Err(calling(
            name,
            "AWS Secrets Manager is only allowed in the variables section",
        )),
        "sed" => Err(calling(
            name,
            "template function `sed` is deprecated use `replace` or `replace_all` instead.Documentation: https://www.packer.io/docs/templates/engine",
        )),
        "isotime" => {
            let layout = match args {
                [] => "2006-01-02T15:04:05Z07:00",
                [_] => string_arg(args, 0)?,
                _ => {
                    let shown: Vec<String> = args.iter().map(Value::to_string).collect();
                    return Err(calling(
                        name,
                        format!("too many values, 1 needed: [{}]", shown.join(" ")),
                    ));
                }
            };
            s(format_go_layout(&ctx.now, layout))
        }
        "strftime" => {
            arity(name, args, 1)?;
            s(format_strftime(&ctx.now, string_arg(args, 0)?))
        }
        "timestamp" => {
            arity(name, args, 0)?;
            s(ctx.now.timestamp().to_string())
        }
        "uuid" => {
            arity(name, args, 0)?;
            s(time_ordered_uuid(&ctx.now))
        }
        "pwd" => {
            arity(name, args, 0)?;
            let cwd = ctx
                .cwd
                .as_ref()
                .ok_or_else(|| calling(name, "working directory not available"))?;
            s(cwd.display().to_string())
        }
        "template_dir" => {
            arity(name, args, 0)?;
            let path = ctx
                .template_path
                .as_ref()
                .filter(|p| !p.as_os_str().is_empty())
                .ok_or_else(|| calling(name, "template path not available"))?;
            let dir = path.parent().unwrap_or(Path::new(""));
            let abs = match (&ctx.cwd, dir.is_absolute()) {
                (_, true) => dir.to_path_buf(),
                (Some(cwd), false) => cwd.join(dir),
                (None, false) => dir.to_path_buf(),
            };
            s(abs.display().to_string())
        }
        "user" => {
            arity(name, args, 1)?;
            let key = string_arg(args, 0)?;
            let vars = ctx.user_variables.as_ref().ok_or_else(|| {
                calling(
                    name,
                    "user variables only exist in legacy JSON templates; in HCL2 use var.<name>",
                )
            })?;
            vars.get(key)
                .map(|v| Value::Str(v.clone()))
                .ok_or_else(|| calling(name, format!("user variable {key:?} is not defined")))
        }
        "build" => {
            arity(name, args, 1)?;
            let key = string_arg(args, 0)?;
            match &ctx.data {
                Some(data) => data.get(key).map(|v| Value::Str(v.clone())).ok_or_else(|| {
                    calling(name, format!("loaded data, but couldnt find {key} in it."))
                }),
                None => Err(calling(
                    name,
                    format!(
                        "Error validating build variable: the given variable {key} will not be passed into your plugin."
                    ),
                )),
            }
        }
        "split" => {
            arity(name, args, 3)?;
            let (text, sep, i) = (string_arg(args, 0)?, string_arg(args, 1)?, int_arg(args, 2)?);
            let parts: Vec<String> = if sep.is_empty() {
                text.chars().map(String::from).collect()
            } else {
                text.split(sep).map(String::from).collect()
            };
            usize::try_from(i)
                .ok()
                .and_then(|i| parts.get(i).cloned())
                .map(Value::Str)
                .ok_or_else(|| {
                    calling(
                        name,
                        format!(
                            "the substring {i} was unavailable using the separator value, {sep}, only {} values were found",
                            parts.len()
                        ),
                    )
                })
        }
        "replace" => {
            arity(name, args, 4)?;
            let (old, new, n, src) = (
                string_arg(args, 0)?,
                string_arg(args, 1)?,
                int_arg(args, 2)?,
                string_arg(args, 3)?,
            );
            match usize::try_from(n) {
                Ok(n) => s(src.replacen(old, new, n)),
                Err(_) => s(src.replace(old, new)),
            }
        }
        "replace_all" => {
            arity(name, args, 3)?;
            let (old, new, src) = (string_arg(args, 0)?, string_arg(args, 1)?, string_arg(args, 2)?);
            s(src.replace(old, new))
        }
        "upper" => {
            arity(name, args, 1)?;
            s(go_upper(string_arg(args, 0)?))
        }
        "lower" => {
            arity(name, args, 1)?;
            s(string_arg(args, 0)?.to_lowercase())
        }
        other if GO_BUILTINS.contains(&other) => Err(TemplateError::new(format!(
            "the Go template builtin {other:?} is not supported by this plugin"
        ))),
        other => Err(TemplateError::new(format!("function {other:?} not defined"))),
    }
}

/// Go's `strings.ToUpper` maps each rune on its own (`ß` stays `ß`); Rust's expands it to `SS`.
fn go_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// The SDK's time-ordered UUID: 32 bits of Unix time, then 96 random bits.
fn time_ordered_uuid(now: &DateTime<Utc>) -> String {
    let mut b = [0u8; 12];
    rand::rng().fill_bytes(&mut b);
    let hex = |bytes: &[u8]| bytes.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{:08x}-{}-{}-{}-{}{}",
        now.timestamp() as u32,
        hex(&b[0..2]),
        hex(&b[2..4]),
        hex(&b[4..6]),
        hex(&b[6..8]),
        hex(&b[8..12])
    )
}

#[cfg(test)]
mod tests;
