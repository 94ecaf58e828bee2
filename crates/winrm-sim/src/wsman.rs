//! The server side of WS-Management for the cmd shell resource: parsing request envelopes and
//! writing replies the way Windows shapes them (`GUESS:` marks shapes not confirmed on a real
//! host; the rest is what Packer's Go client and ours parse).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use roxmltree::Node;
use winrm_communicator::wsman::{
    escape, parse_duration, ACTION_COMMAND, ACTION_CREATE, ACTION_DELETE, ACTION_RECEIVE,
    ACTION_SEND, ACTION_SIGNAL, NS_ADDRESSING, NS_SHELL, NS_SOAP, NS_WSMAN, STATE_DONE,
    STATE_RUNNING,
};

/// One parsed request.
#[derive(Debug, Clone)]
pub(crate) struct Req {
    pub action: String,
    pub message_id: String,
    pub shell_id: Option<String>,
    pub operation_timeout: Option<Duration>,
    pub max_envelope: Option<usize>,
    pub options: BTreeMap<String, String>,
    pub body: Body,
}

/// The operation and its arguments.
#[derive(Debug, Clone)]
pub(crate) enum Body {
    CreateShell,
    Command {
        command: String,
        arguments: Vec<String>,
    },
    Receive {
        command_id: Option<String>,
    },
    Send {
        command_id: Option<String>,
        data: Vec<u8>,
        end: bool,
    },
    Signal {
        command_id: Option<String>,
        code: String,
    },
    Delete,
    Unsupported,
}

impl Req {
    /// Short name for counters and logs.
    pub(crate) fn op(&self) -> &'static str {
        match self.body {
            Body::CreateShell => "Create",
            Body::Command { .. } => "Command",
            Body::Receive { .. } => "Receive",
            Body::Send { .. } => "Send",
            Body::Signal { .. } => "Signal",
            Body::Delete => "Delete",
            Body::Unsupported => "Unsupported",
        }
    }
}

fn find<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.descendants().find(|n| n.has_tag_name((ns, name)))
}

fn text(node: Option<Node<'_, '_>>) -> Option<String> {
    node.map(|n| {
        n.descendants()
            .filter(|d| d.is_text())
            .filter_map(|d| d.text())
            .collect::<String>()
    })
}

/// Parses a request envelope; the error says what is wrong (it becomes a fault).
pub(crate) fn parse_request(xml: &str) -> Result<Req, String> {
    let doc = winrm_communicator::wsman::parse_xml(xml, 100_000)
        .map_err(|e| format!("the request is not acceptable XML: {e}"))?;
    let root = doc.root_element();
    if !root.has_tag_name((NS_SOAP, "Envelope")) {
        return Err("the request is not a SOAP 1.2 envelope".into());
    }
    let header = find(root, NS_SOAP, "Header").ok_or("the envelope has no Header")?;
    let body = find(root, NS_SOAP, "Body").ok_or("the envelope has no Body")?;
    let action = text(find(header, NS_ADDRESSING, "Action"))
        .map(|s| s.trim().to_string())
        .ok_or("the header has no Action")?;
    let message_id = text(find(header, NS_ADDRESSING, "MessageID"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let shell_id = header
        .descendants()
        .find(|n| n.has_tag_name((NS_WSMAN, "Selector")) && n.attribute("Name") == Some("ShellId"))
        .and_then(|n| n.text())
        .map(|s| s.trim().to_string());
    let operation_timeout =
        text(find(header, NS_WSMAN, "OperationTimeout")).and_then(|t| parse_duration(&t));
    let max_envelope =
        text(find(header, NS_WSMAN, "MaxEnvelopeSize")).and_then(|t| t.trim().parse().ok());
    let options = header
        .descendants()
        .filter(|n| n.has_tag_name((NS_WSMAN, "Option")))
        .filter_map(|n| {
            Some((
                n.attribute("Name")?.to_string(),
                n.text().unwrap_or_default().trim().to_string(),
            ))
        })
        .collect();
    let body = match action.as_str() {
        ACTION_CREATE => Body::CreateShell,
        ACTION_DELETE => Body::Delete,
        ACTION_COMMAND => {
            let line = find(body, NS_SHELL, "CommandLine").ok_or("Command without CommandLine")?;
            let command = text(find(line, NS_SHELL, "Command")).unwrap_or_default();
            let arguments = line
                .children()
                .filter(|n| n.has_tag_name((NS_SHELL, "Arguments")))
                .map(|n| text(Some(n)).unwrap_or_default())
                .collect();
            Body::Command { command, arguments }
        }
        ACTION_RECEIVE => Body::Receive {
            command_id: find(body, NS_SHELL, "DesiredStream")
                .and_then(|n| n.attribute("CommandId"))
                .map(str::to_string),
        },
        ACTION_SEND => {
            let stream = find(body, NS_SHELL, "Stream").ok_or("Send without Stream")?;
            let b64: String = stream
                .text()
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let data = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| format!("the Send stream is not base64: {e}"))?;
            Body::Send {
                command_id: stream.attribute("CommandId").map(str::to_string),
                data,
                end: stream
                    .attribute("End")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            }
        }
        ACTION_SIGNAL => {
            let sig = find(body, NS_SHELL, "Signal").ok_or("Signal without Signal element")?;
            Body::Signal {
                command_id: sig.attribute("CommandId").map(str::to_string),
                code: text(find(sig, NS_SHELL, "Code"))
                    .unwrap_or_default()
                    .trim()
                    .to_string(),
            }
        }
        _ => Body::Unsupported,
    };
    Ok(Req {
        action,
        message_id,
        shell_id,
        operation_timeout,
        max_envelope,
        options,
        body,
    })
}

const ENVELOPE_OPEN: &str = concat!(
    r#"<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope""#,
    r#" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing""#,
    r#" xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer""#,
    r#" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd""#,
    r#" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell""#,
    r#" xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd">"#
);

fn envelope(action: &str, relates_to: &str, body: &str) -> String {
    format!(
        "{ENVELOPE_OPEN}<s:Header><a:Action>{action}</a:Action><a:MessageID>uuid:{}</a:MessageID><a:To>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</a:To><a:RelatesTo>{}</a:RelatesTo></s:Header><s:Body>{body}</s:Body></s:Envelope>",
        uuid::Uuid::new_v4().to_string().to_uppercase(),
        escape(relates_to)
    )
}

/// The Create reply: the ResourceCreated reference (with the ShellId selector) and the Shell.
// GUESS: the Shell element's children and their order (Owner, ClientIP, IdleTimeOut values) follow
// published WinRM traces, not a capture from a host here; clients read only ShellId (Go: the
// rsp:ShellId element; pywinrm: the ShellId selector), and both are present.
pub(crate) fn create_response(req: &Req, shell_id: &str, endpoint: &str, owner: &str) -> String {
    let id = escape(shell_id);
    let body = format!(
        concat!(
            "<x:ResourceCreated><a:Address>{endpoint}</a:Address><a:ReferenceParameters>",
            "<w:ResourceURI>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>",
            r#"<w:SelectorSet><w:Selector Name="ShellId">{id}</w:Selector></w:SelectorSet>"#,
            "</a:ReferenceParameters></x:ResourceCreated>",
            "<rsp:Shell><rsp:ShellId>{id}</rsp:ShellId>",
            "<rsp:ResourceUri>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</rsp:ResourceUri>",
            "<rsp:Owner>{owner}</rsp:Owner><rsp:ClientIP>127.0.0.1</rsp:ClientIP>",
            "<rsp:IdleTimeOut>PT7200.000S</rsp:IdleTimeOut><rsp:InputStreams>stdin</rsp:InputStreams>",
            "<rsp:OutputStreams>stdout stderr</rsp:OutputStreams></rsp:Shell>"
        ),
        endpoint = escape(endpoint),
        id = id,
        owner = escape(owner),
    );
    envelope(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/CreateResponse",
        &req.message_id,
        &body,
    )
}

/// The Command reply.
pub(crate) fn command_response(req: &Req, command_id: &str) -> String {
    let body = format!(
        "<rsp:CommandResponse><rsp:CommandId>{}</rsp:CommandId></rsp:CommandResponse>",
        escape(command_id)
    );
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandResponse",
        &req.message_id,
        &body,
    )
}

/// A Receive reply with `chunks` of output; `done` adds End streams and the exit code.
// GUESS: Windows may also mark a stream End before the command is Done, and reports
// `CommandState/Running` with no ExitCode on partial replies; Go's and our client only look for
// Done and ExitCode, so those details do not change what a client sees.
pub(crate) fn receive_response(
    req: &Req,
    command_id: &str,
    chunks: &[(bool, Vec<u8>)],
    done: Option<i64>,
) -> String {
    let id = escape(command_id);
    let mut body = String::from("<rsp:ReceiveResponse>");
    let b64 = &base64::engine::general_purpose::STANDARD;
    for (stderr, data) in chunks {
        body.push_str(&format!(
            r#"<rsp:Stream Name="{}" CommandId="{id}">{}</rsp:Stream>"#,
            if *stderr { "stderr" } else { "stdout" },
            b64.encode(data)
        ));
    }
    match done {
        Some(code) => body.push_str(&format!(
            concat!(
                r#"<rsp:Stream Name="stdout" CommandId="{id}" End="true"></rsp:Stream>"#,
                r#"<rsp:Stream Name="stderr" CommandId="{id}" End="true"></rsp:Stream>"#,
                r#"<rsp:CommandState CommandId="{id}" State="{state}"><rsp:ExitCode>{code}</rsp:ExitCode></rsp:CommandState>"#
            ),
            id = id,
            state = STATE_DONE,
            code = code
        )),
        None => body.push_str(&format!(r#"<rsp:CommandState CommandId="{id}" State="{STATE_RUNNING}"/>"#)),
    }
    body.push_str("</rsp:ReceiveResponse>");
    envelope(
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse",
        &req.message_id,
        &body,
    )
}

/// Replies with an empty (or minimal) body: Send, Signal, Delete.
// GUESS: the exact (empty) bodies of these replies; clients only check for a fault.
pub(crate) fn ack_response(req: &Req) -> String {
    let (action, body) = match &req.body {
        Body::Send { .. } => (
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SendResponse",
            "<rsp:SendResponse/>".to_string(),
        ),
        Body::Signal { .. } => (
            "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/SignalResponse",
            "<rsp:SignalResponse/>".to_string(),
        ),
        _ => (
            "http://schemas.xmlsoap.org/ws/2004/09/transfer/DeleteResponse",
            String::new(),
        ),
    };
    envelope(action, &req.message_id, &body)
}

/// A SOAP fault with a WSManFault detail.
pub(crate) fn fault(
    relates_to: &str,
    code: &str,
    subcode: &str,
    wsman_code: u32,
    message: &str,
    machine: &str,
) -> String {
    let msg = escape(message);
    let body = format!(
        concat!(
            "<s:Fault><s:Code><s:Value>{code}</s:Value><s:Subcode><s:Value>{subcode}</s:Value></s:Subcode></s:Code>",
            r#"<s:Reason><s:Text xml:lang="en-US">{msg}</s:Text></s:Reason>"#,
            r#"<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="{wcode}" Machine="{machine}">"#,
            "<f:Message>{msg}</f:Message></f:WSManFault></s:Detail></s:Fault>"
        ),
        code = code,
        subcode = subcode,
        msg = msg,
        wcode = wsman_code,
        machine = escape(machine),
    );
    envelope(
        "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault",
        relates_to,
        &body,
    )
}

/// The fault Windows sends when a Receive saw no output within OperationTimeout.
pub(crate) fn timeout_fault(req: &Req, machine: &str) -> String {
    fault(
        &req.message_id,
        "s:Receiver",
        "w:TimedOut",
        winrm_communicator::wsman::WSMAN_CODE_OPERATION_TIMEOUT,
        "The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  ",
        machine,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use winrm_communicator::wsman::envelope::{build, HeaderParams, Request};

    #[test]
    fn our_client_envelopes_parse() {
        let params = HeaderParams {
            to: "http://h/wsman".into(),
            max_envelope: 153_600,
            operation_timeout: Duration::from_secs(7),
            locale: "en-US".into(),
        };
        let (xml, _) = build(
            &Request::Send {
                shell: "S",
                command: "C",
                data: b"abc",
                end: true,
            },
            &params,
        );
        let req = parse_request(&xml).unwrap();
        assert_eq!(req.shell_id.as_deref(), Some("S"));
        assert_eq!(req.operation_timeout, Some(Duration::from_secs(7)));
        assert_eq!(req.max_envelope, Some(153_600));
        match req.body {
            Body::Send {
                command_id,
                data,
                end,
            } => {
                assert_eq!(command_id.as_deref(), Some("C"));
                assert_eq!(data, b"abc");
                assert!(end);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for junk in [
            "",
            "<",
            "<a/>",
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>",
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"><s:Header/><s:Body/></s:Envelope>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            &"<a>".repeat(10_000),
        ] {
            assert!(parse_request(junk).is_err(), "{junk:.40}");
        }
    }
}
