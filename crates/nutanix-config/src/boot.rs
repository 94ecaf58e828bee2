//! `boot_command` and its timing options, typed.
//!
//! The command's templates (`{{ .HTTPIP }}`, `{{ .HTTPPort }}`, `{{ .Name }}`) need data that only
//! exists once the build runs, so the option keeps its elements as written together with the
//! template context of Prepare (user variables, build name, clock). Prepare then checks it the
//! way the build will use it: rendered with stand-in values and parsed by the `boot-command`
//! crate, so a malformed command is a `packer validate` error naming `boot_command[i]`, the line
//! and column, and the text. At build time [`BootCommand::parse`] renders the joined elements once
//! with the real values (as Packer's builders do) and returns the typed [`Command`].

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use boot_command::{Command, ParseErrors, Position};
use chrono::DateTime;
use packer_schema::CtyType;
use serde_json::Value;

use crate::decl::{AttrValue, Cx};
use crate::duration::parse_go_duration;
use crate::errors::ConfigError;
use crate::interpolate::{self, TemplateError};

/// What `{{ .HTTPIP }}`, `{{ .HTTPPort }}` and `{{ .Name }}` stand for in `boot_command`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BootData {
    /// The address of the build's HTTP server as the VM reaches it (`""` without a server).
    pub http_ip: String,
    /// Its port (`0` without a server, as Packer's builders render it).
    pub http_port: u16,
    /// The VM's name (`vm_name`).
    pub name: String,
}

impl BootData {
    fn map(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("HTTPIP".to_string(), self.http_ip.clone()),
            ("HTTPPort".to_string(), self.http_port.to_string()),
            ("Name".to_string(), self.name.clone()),
        ])
    }
}

/// Why a boot command could not be turned into keys at build time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootCommandError {
    /// A `{{ ... }}` template failed to render.
    #[error("boot_command: template error: {0}")]
    Template(#[from] TemplateError),
    /// The rendered command is not valid (positions refer to the joined, rendered command).
    #[error("boot_command: {0}")]
    Parse(#[from] ParseErrors),
}

/// `boot_command`: the elements as written, and what is needed to render them later.
#[derive(Clone, PartialEq, Default)]
pub struct BootCommand {
    elements: Vec<String>,
    /// Prepare's template context (never has build data); `None` only when the option is unset.
    tpl: Option<Box<interpolate::Context>>,
}

impl fmt::Debug for BootCommand {
    // The context holds user variables, some of which may be secrets: show only the elements.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BootCommand").field(&self.elements).finish()
    }
}

impl BootCommand {
    /// The elements as written in the template, templates unrendered.
    pub fn elements(&self) -> &[String] {
        &self.elements
    }

    /// Whether there is nothing to type.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The command Packer would type: the elements joined with `""` and rendered once with
    /// `data`.
    pub fn render(&self, data: &BootData) -> Result<String, TemplateError> {
        interpolate::render(&self.elements.concat(), &self.context(data))
    }

    /// Renders with `data` and parses: the steps to type. Prepare has already checked the command
    /// with stand-in values, so this fails only if the real values change its meaning (a
    /// `<wait{{ .HTTPPort }}>`, say).
    pub fn parse(&self, data: &BootData) -> Result<Command, BootCommandError> {
        Ok(boot_command::parse(&self.render(data)?)?)
    }

    fn context(&self, data: &BootData) -> interpolate::Context {
        let mut ctx = match &self.tpl {
            Some(t) => (**t).clone(),
            None => interpolate::Context::at(DateTime::UNIX_EPOCH),
        };
        ctx.data = Some(data.map());
        ctx
    }

    /// Whether rendering depends on the HTTP server's address: the command renders differently
    /// with two different addresses.
    pub(crate) fn uses_http_server(&self, name: &str) -> bool {
        let with = |http_ip: &str, http_port: u16| {
            self.render(&BootData {
                http_ip: http_ip.to_string(),
                http_port,
                name: name.to_string(),
            })
            .ok()
        };
        with("", 0) != with("127.0.0.1", 8000)
    }

    /// Prepare's check: render with `data` and parse, as the build will, reporting each problem
    /// in the element and at the line and column where the user wrote the offending text. Adds
    /// warnings for characters that Packer sends as keysyms no keyboard has.
    pub(crate) fn check(&self, data: &BootData, cx: &mut Cx) {
        let ctx = self.context(data);
        // Template errors are found element by element, so that they can name one.
        let mut failed = false;
        for (i, e) in self.elements.iter().enumerate() {
            if let Err(err) = interpolate::render(e, &ctx) {
                failed = true;
                cx.error(ConfigError::Template {
                    path: format!("boot_command[{i}]"),
                    message: err.to_string(),
                });
            }
        }
        if failed {
            return;
        }
        let source = self.elements.concat();
        let (whole, pieces) = match interpolate::render_traced(&source, &ctx) {
            Ok(r) => r,
            Err(err) => {
                // Only a trim marker or comment reaching across elements gets here.
                cx.error(ConfigError::Template {
                    path: "boot_command".to_string(),
                    message: err.to_string(),
                });
                return;
            }
        };
        // Where output offset `at` was written: the element, and the line and column in it.
        let locate = |at: usize| -> (String, String) {
            let (src, literal) = interpolate::source_offset(&pieces, at);
            let mut start = 0;
            for (i, e) in self.elements.iter().enumerate() {
                if src < start + e.len() {
                    let pos = Position::of(e, src - start);
                    let note = if literal {
                        ""
                    } else {
                        " (in what the template there renders to)"
                    };
                    return (format!("boot_command[{i}]"), format!("{pos}{note}"));
                }
                start += e.len();
            }
            (
                "boot_command".to_string(),
                Position::of(&whole, at).to_string(),
            )
        };
        match boot_command::parse(&whole) {
            Err(errors) => {
                for e in errors.0 {
                    let (path, at) = locate(e.span.start);
                    cx.error(ConfigError::invalid(
                        path,
                        format!("invalid boot command at {at}: {}", e.problem()),
                    ));
                }
            }
            Ok(command) => {
                for (span, c) in command.chars_without_keysym() {
                    let (path, at) = locate(span.start);
                    let hint = if c.is_control() {
                        " (write <enter>, <tab>, ... for keys)"
                    } else {
                        ""
                    };
                    cx.warnings.push(format!(
                        "{path}: {at}: {} is sent as keysym 0x{:X}, which no key produces; VNC servers usually ignore it{hint}",
                        shown(c),
                        u32::from(c),
                    ));
                }
            }
        }
    }
}

fn shown(c: char) -> String {
    if c.is_control() {
        format!("the control character {c:?}")
    } else {
        format!("{c:?}")
    }
}

impl AttrValue for BootCommand {
    fn cty() -> CtyType {
        <Vec<String> as AttrValue>::cty()
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        let elements = <Vec<String> as AttrValue>::decode(v, at, cx)?;
        Some(BootCommand {
            elements,
            tpl: Some(Box::new(cx.tpl.clone())),
        })
    }
    fn is_unset(&self) -> bool {
        self.elements.is_empty()
    }
}

/// `boot_wait`: how long to wait after the VM starts before typing. As in Packer's SDK a negative
/// value is accepted and means no wait (the SDK's way to ask for zero, since its default is 10s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BootWait(pub Duration);

impl BootWait {
    /// The wait; zero means type at once.
    pub fn duration(self) -> Duration {
        self.0
    }
}

impl AttrValue for BootWait {
    fn cty() -> CtyType {
        CtyType::String
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        let s = cx.text(v, at)?;
        if cx.is_unknown(&s) {
            return None;
        }
        match parse_go_duration(&s) {
            Ok(n) => Some(BootWait(Duration::from_nanos(
                u64::try_from(n).unwrap_or(0),
            ))),
            Err(e) => {
                cx.error(ConfigError::invalid(
                    at,
                    format!("{e}; use Go duration syntax such as \"10s\" or \"1m30s\""),
                ));
                None
            }
        }
    }
    fn is_unset(&self) -> bool {
        self.0.is_zero()
    }
}
