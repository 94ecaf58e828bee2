//! Request envelopes for the Windows Remote Shell: the header every request carries, and one
//! body per operation. Output is the exact string to POST to `/wsman`.

use std::time::Duration;

use base64::Engine as _;

use super::{escape, format_duration, ACTION_COMMAND, ACTION_CREATE, ACTION_DELETE};
use super::{ACTION_RECEIVE, ACTION_SEND, ACTION_SIGNAL, ANONYMOUS, RESOURCE_CMD};

/// What every request's header carries besides the action.
#[derive(Debug, Clone)]
pub struct HeaderParams {
    /// The endpoint URL (`http://host:5985/wsman`).
    pub to: String,
    /// MaxEnvelopeSize: the largest reply the server may send.
    pub max_envelope: usize,
    /// OperationTimeout: how long the server may hold a request (a Receive) before a fault.
    pub operation_timeout: Duration,
    /// Locale and DataLocale.
    pub locale: String,
}

/// One WS-Management operation on the cmd shell resource.
#[derive(Debug, Clone)]
pub enum Request<'a> {
    /// Create a shell (UTF-8 code page, stdin in, stdout and stderr out).
    CreateShell,
    /// Start `command` (with `arguments`) in `shell`.
    Command {
        /// The shell to run in.
        shell: &'a str,
        /// The command line.
        command: &'a str,
        /// Extra arguments (each its own element).
        arguments: &'a [&'a str],
        /// WINRS_CONSOLEMODE_STDIN: TRUE gives the process a console for stdin (the Go client's
        /// default); FALSE gives it a pipe, which is what a process reading binary or long
        /// lines from stdin wants.
        console_stdin: bool,
    },
    /// Ask for output of `command` in `shell`.
    Receive {
        /// The shell.
        shell: &'a str,
        /// The command.
        command: &'a str,
    },
    /// Send `data` to the command's stdin; `end` closes it.
    Send {
        /// The shell.
        shell: &'a str,
        /// The command.
        command: &'a str,
        /// Raw stdin bytes (base64-encoded into the envelope).
        data: &'a [u8],
        /// Close stdin after this data.
        end: bool,
    },
    /// Terminate the command (always sent after it ended, so the server frees it).
    Signal {
        /// The shell.
        shell: &'a str,
        /// The command.
        command: &'a str,
    },
    /// Delete the shell.
    DeleteShell {
        /// The shell.
        shell: &'a str,
    },
}

impl Request<'_> {
    fn action(&self) -> &'static str {
        match self {
            Self::CreateShell => ACTION_CREATE,
            Self::Command { .. } => ACTION_COMMAND,
            Self::Receive { .. } => ACTION_RECEIVE,
            Self::Send { .. } => ACTION_SEND,
            Self::Signal { .. } => ACTION_SIGNAL,
            Self::DeleteShell { .. } => ACTION_DELETE,
        }
    }

    fn shell(&self) -> Option<&str> {
        match self {
            Self::CreateShell => None,
            Self::Command { shell, .. }
            | Self::Receive { shell, .. }
            | Self::Send { shell, .. }
            | Self::Signal { shell, .. }
            | Self::DeleteShell { shell } => Some(shell),
        }
    }
}

/// Bytes an envelope needs beyond a Send's base64 payload (header, body wrapper, ids), with room
/// to spare: used to size stdin chunks so each Send stays under MaxEnvelopeSize.
pub const SEND_OVERHEAD: usize = 4096;

/// The largest raw stdin chunk whose Send envelope fits in `max_envelope`.
pub fn max_send_chunk(max_envelope: usize) -> usize {
    max_envelope.saturating_sub(SEND_OVERHEAD) / 4 * 3
}

/// Builds the envelope for `request`, with a fresh MessageID (returned too, for logs).
pub fn build(request: &Request<'_>, params: &HeaderParams) -> (String, uuid::Uuid) {
    let id = uuid::Uuid::new_v4();
    let mut x = String::with_capacity(2048);
    x.push_str(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope""#,
        r#" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing""#,
        r#" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd""#,
        r#" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd""#,
        r#" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell">"#,
        "<env:Header>"
    ));
    x.push_str(&format!("<a:To>{}</a:To>", escape(&params.to)));
    x.push_str(&format!(
        r#"<a:ReplyTo><a:Address env:mustUnderstand="true">{ANONYMOUS}</a:Address></a:ReplyTo>"#
    ));
    x.push_str(&format!(
        r#"<w:MaxEnvelopeSize env:mustUnderstand="true">{}</w:MaxEnvelopeSize>"#,
        params.max_envelope
    ));
    x.push_str(&format!(
        "<a:MessageID>uuid:{id}</a:MessageID><w:OperationTimeout>{}</w:OperationTimeout>",
        format_duration(params.operation_timeout)
    ));
    let locale = escape(&params.locale);
    x.push_str(&format!(
        r#"<w:Locale xml:lang="{locale}" env:mustUnderstand="false"/><p:DataLocale xml:lang="{locale}" env:mustUnderstand="false"/>"#
    ));
    x.push_str(&format!(
        r#"<a:Action env:mustUnderstand="true">{}</a:Action>"#,
        request.action()
    ));
    x.push_str(&format!(
        r#"<w:ResourceURI env:mustUnderstand="true">{RESOURCE_CMD}</w:ResourceURI>"#
    ));
    if let Some(shell) = request.shell() {
        x.push_str(&format!(
            r#"<w:SelectorSet><w:Selector Name="ShellId">{}</w:Selector></w:SelectorSet>"#,
            escape(shell)
        ));
    }
    match request {
        Request::CreateShell => x.push_str(concat!(
            "<w:OptionSet>",
            r#"<w:Option Name="WINRS_NOPROFILE">FALSE</w:Option>"#,
            r#"<w:Option Name="WINRS_CODEPAGE">65001</w:Option>"#,
            "</w:OptionSet>"
        )),
        Request::Command { console_stdin, .. } => x.push_str(&format!(
            concat!(
                "<w:OptionSet>",
                r#"<w:Option Name="WINRS_CONSOLEMODE_STDIN">{}</w:Option>"#,
                r#"<w:Option Name="WINRS_SKIP_CMD_SHELL">FALSE</w:Option>"#,
                "</w:OptionSet>"
            ),
            if *console_stdin { "TRUE" } else { "FALSE" }
        )),
        _ => {}
    }
    x.push_str("</env:Header><env:Body>");
    match request {
        Request::CreateShell => x.push_str(
            "<rsp:Shell><rsp:InputStreams>stdin</rsp:InputStreams><rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>",
        ),
        Request::Command {
            command, arguments, ..
        } => {
            x.push_str("<rsp:CommandLine><rsp:Command>");
            x.push_str(&escape(command));
            x.push_str("</rsp:Command>");
            for arg in *arguments {
                x.push_str(&format!("<rsp:Arguments>{}</rsp:Arguments>", escape(arg)));
            }
            x.push_str("</rsp:CommandLine>");
        }
        Request::Receive { command, .. } => x.push_str(&format!(
            r#"<rsp:Receive><rsp:DesiredStream CommandId="{}">stdout stderr</rsp:DesiredStream></rsp:Receive>"#,
            escape(command)
        )),
        Request::Send {
            command, data, end, ..
        } => {
            x.push_str(&format!(
                r#"<rsp:Send><rsp:Stream Name="stdin" CommandId="{}"{}>"#,
                escape(command),
                if *end { r#" End="true""# } else { "" }
            ));
            base64::engine::general_purpose::STANDARD.encode_string(data, &mut x);
            x.push_str("</rsp:Stream></rsp:Send>");
        }
        Request::Signal { command, .. } => x.push_str(&format!(
            r#"<rsp:Signal CommandId="{}"><rsp:Code>{}</rsp:Code></rsp:Signal>"#,
            escape(command),
            super::SIGNAL_TERMINATE
        )),
        Request::DeleteShell { .. } => {}
    }
    x.push_str("</env:Body></env:Envelope>");
    (x, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> HeaderParams {
        HeaderParams {
            to: "http://h:5985/wsman".into(),
            max_envelope: 153_600,
            operation_timeout: Duration::from_secs(60),
            locale: "en-US".into(),
        }
    }

    #[test]
    fn every_envelope_is_well_formed_xml_with_the_right_action() {
        let cases = [
            Request::CreateShell,
            Request::Command {
                shell: "S",
                command: "echo <a & b>",
                arguments: &["x\"y"],
                console_stdin: true,
            },
            Request::Receive {
                shell: "S",
                command: "C",
            },
            Request::Send {
                shell: "S",
                command: "C",
                data: b"hello",
                end: true,
            },
            Request::Signal {
                shell: "S",
                command: "C",
            },
            Request::DeleteShell { shell: "S" },
        ];
        for req in &cases {
            let (xml, _) = build(req, &params());
            let doc = roxmltree::Document::parse(&xml).unwrap();
            let action = doc
                .descendants()
                .find(|n| n.has_tag_name((super::super::NS_ADDRESSING, "Action")))
                .and_then(|n| n.text())
                .unwrap();
            assert_eq!(action, req.action());
        }
        let (xml, _) = build(&cases[1], &params());
        let doc = roxmltree::Document::parse(&xml).unwrap();
        let cmd = doc
            .descendants()
            .find(|n| n.has_tag_name((super::super::NS_SHELL, "Command")))
            .and_then(|n| n.text())
            .unwrap();
        assert_eq!(cmd, "echo <a & b>");
        assert!(xml.contains("<w:OperationTimeout>PT60.000S</w:OperationTimeout>"));
    }

    #[test]
    fn a_full_send_chunk_fits_the_envelope() {
        let chunk = vec![0u8; max_send_chunk(153_600)];
        let (xml, _) = build(
            &Request::Send {
                shell: "0A2C6C55-5C3B-4FAD-9C5E-4E0E0E0E0E0E",
                command: "0A2C6C55-5C3B-4FAD-9C5E-4E0E0E0E0E0E",
                data: &chunk,
                end: false,
            },
            &params(),
        );
        assert!(xml.len() <= 153_600, "{}", xml.len());
        assert!(xml.len() > 140_000, "{}", xml.len());
    }
}
