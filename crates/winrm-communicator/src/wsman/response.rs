//! Parsing WinRM replies: shell and command ids, Receive output, and SOAP faults.

use std::fmt;

use base64::Engine as _;
use roxmltree::{Document, Node};

use super::{ACTION_FAULT, NS_ADDRESSING, NS_SHELL, NS_SOAP, NS_WSMAN, NS_WSMAN_FAULT};
use super::{STATE_DONE, WSMAN_CODE_OPERATION_TIMEOUT};

/// A SOAP fault, with the WSManFault detail Windows adds.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fault {
    /// `s:Code/s:Value` (e.g. `s:Receiver`).
    pub code: String,
    /// `s:Code/s:Subcode/s:Value` (e.g. `w:TimedOut`).
    pub subcode: Option<String>,
    /// `s:Reason/s:Text`.
    pub reason: String,
    /// `f:WSManFault/@Code`: Windows' numeric error.
    pub wsman_code: Option<u32>,
    /// `f:WSManFault/f:Message`, when it adds to the reason.
    pub message: Option<String>,
}

impl Fault {
    /// A Receive that found no output before OperationTimeout: retry, the command still runs.
    pub fn is_operation_timeout(&self) -> bool {
        self.wsman_code == Some(WSMAN_CODE_OPERATION_TIMEOUT)
            || self
                .subcode
                .as_deref()
                .is_some_and(|s| s.ends_with(":TimedOut") || s == "TimedOut")
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self
            .message
            .as_deref()
            .filter(|m| !m.is_empty())
            .unwrap_or(&self.reason);
        write!(f, "{}", text.trim())?;
        if let Some(code) = self.wsman_code {
            write!(f, " (WSManFault {code})")?;
        }
        if let Some(sub) = &self.subcode {
            write!(f, " [{sub}]")?;
        }
        Ok(())
    }
}

/// Why a reply could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The server answered with a SOAP fault.
    #[error("WinRM fault: {0}")]
    Fault(Fault),
    /// Not XML, or XML without what the operation needs.
    #[error("malformed WinRM reply: {0}")]
    Malformed(String),
}

/// One piece of command output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// True for stderr, false for stdout.
    pub stderr: bool,
    /// Decoded bytes.
    pub data: Vec<u8>,
}

/// A Receive reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Received {
    /// Output in the order the server listed it.
    pub chunks: Vec<Chunk>,
    /// `Some(exit code)` once the command is Done.
    pub done: Option<i64>,
}

fn parse(xml: &str) -> Result<Document<'_>, ReplyError> {
    let doc = super::parse_xml(xml, 200_000)
        .map_err(|e| ReplyError::Malformed(format!("not acceptable XML: {e}")))?;
    if !doc.root_element().has_tag_name((NS_SOAP, "Envelope")) {
        return Err(ReplyError::Malformed(format!(
            "root element is <{}>, not a SOAP 1.2 Envelope",
            doc.root_element().tag_name().name()
        )));
    }
    if let Some(fault) = fault_of(&doc) {
        return Err(ReplyError::Fault(fault));
    }
    Ok(doc)
}

fn find<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.descendants().find(|n| n.has_tag_name((ns, name)))
}

fn text_of(node: Option<Node<'_, '_>>) -> Option<String> {
    node.map(|n| {
        n.descendants()
            .filter(|d| d.is_text())
            .filter_map(|d| d.text())
            .collect::<String>()
    })
}

/// The fault in `doc`, if its body holds one (or its Action says fault).
fn fault_of(doc: &Document<'_>) -> Option<Fault> {
    let root = doc.root_element();
    let body_fault = find(root, NS_SOAP, "Fault");
    let action_is_fault =
        text_of(find(root, NS_ADDRESSING, "Action")).is_some_and(|a| a.trim() == ACTION_FAULT);
    if body_fault.is_none() && !action_is_fault {
        return None;
    }
    let fault = body_fault?;
    let code_node = find(fault, NS_SOAP, "Code");
    let code = code_node
        .and_then(|c| c.children().find(|n| n.has_tag_name((NS_SOAP, "Value"))))
        .and_then(|v| v.text())
        .unwrap_or_default()
        .trim()
        .to_string();
    let subcode = code_node
        .and_then(|c| find(c, NS_SOAP, "Subcode"))
        .and_then(|s| s.children().find(|n| n.has_tag_name((NS_SOAP, "Value"))))
        .and_then(|v| v.text())
        .map(|s| s.trim().to_string());
    let reason = text_of(find(fault, NS_SOAP, "Text")).unwrap_or_default();
    let detail = find(fault, NS_WSMAN_FAULT, "WSManFault");
    let wsman_code = detail
        .and_then(|d| d.attribute("Code"))
        .and_then(|c| c.trim().parse().ok());
    let message = text_of(detail.and_then(|d| find(d, NS_WSMAN_FAULT, "Message")))
        .map(|m| m.trim().to_string());
    Some(Fault {
        code,
        subcode,
        reason: reason.trim().to_string(),
        wsman_code,
        message,
    })
}

/// Checks a reply that carries nothing we need (Send, Signal, Delete): only faults matter.
pub fn parse_ack(xml: &str) -> Result<(), ReplyError> {
    parse(xml).map(|_| ())
}

/// The ShellId from a Create reply: `rsp:ShellId` in the body, or the `ShellId` selector.
pub fn parse_shell_created(xml: &str) -> Result<String, ReplyError> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    let from_body = text_of(find(root, NS_SHELL, "ShellId"));
    let from_selector = || {
        root.descendants()
            .find(|n| {
                n.has_tag_name((NS_WSMAN, "Selector")) && n.attribute("Name") == Some("ShellId")
            })
            .and_then(|n| n.text())
            .map(str::to_string)
    };
    from_body
        .or_else(from_selector)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ReplyError::Malformed("Create reply has no ShellId".into()))
}

/// The CommandId from a Command reply.
pub fn parse_command_started(xml: &str) -> Result<String, ReplyError> {
    let doc = parse(xml)?;
    text_of(find(doc.root_element(), NS_SHELL, "CommandId"))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ReplyError::Malformed("Command reply has no CommandId".into()))
}

/// Output and state from a Receive reply.
pub fn parse_received(xml: &str) -> Result<Received, ReplyError> {
    let doc = parse(xml)?;
    let root = doc.root_element();
    let response = find(root, NS_SHELL, "ReceiveResponse")
        .ok_or_else(|| ReplyError::Malformed("Receive reply has no ReceiveResponse".into()))?;
    let mut out = Received::default();
    for stream in response
        .descendants()
        .filter(|n| n.has_tag_name((NS_SHELL, "Stream")))
    {
        let stderr = match stream.attribute("Name") {
            Some("stdout") => false,
            Some("stderr") => true,
            other => {
                tracing::debug!(target: "winrm", stream = ?other, "ignoring output of an unknown stream");
                continue;
            }
        };
        let text: String = stream
            .text()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if text.is_empty() {
            continue;
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| ReplyError::Malformed(format!("stream output is not base64: {e}")))?;
        out.chunks.push(Chunk { stderr, data });
    }
    if let Some(state) = find(response, NS_SHELL, "CommandState") {
        if state.attribute("State") == Some(STATE_DONE) {
            let code = text_of(find(state, NS_SHELL, "ExitCode"));
            let code = match code {
                Some(c) => c.trim().parse::<i64>().map_err(|e| {
                    ReplyError::Malformed(format!("ExitCode {c:?} is not a number: {e}"))
                })?,
                // Done without an exit code: Windows omits it only when the process was killed.
                None => 0,
            };
            out.done = Some(code);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECEIVE: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Header><a:Action>http://schemas.microsoft.com/wbem/wsman/1/windows/shell/ReceiveResponse</a:Action></s:Header><s:Body><rsp:ReceiveResponse><rsp:Stream Name="stdout" CommandId="C">aGVsbG8=</rsp:Stream><rsp:Stream Name="stderr" CommandId="C">b29w</rsp:Stream><rsp:Stream Name="stdout" CommandId="C" End="true"></rsp:Stream><rsp:CommandState CommandId="C" State="http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done"><rsp:ExitCode>17</rsp:ExitCode></rsp:CommandState></rsp:ReceiveResponse></s:Body></s:Envelope>"#;

    const TIMEOUT_FAULT: &str = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header><a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action></s:Header><s:Body><s:Fault><s:Code><s:Value>s:Receiver</s:Value><s:Subcode><s:Value>w:TimedOut</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en-US">The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </s:Text></s:Reason><s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="2150858793" Machine="win"><f:Message>The WS-Management service cannot complete the operation within the time specified in OperationTimeout.  </f:Message></f:WSManFault></s:Detail></s:Fault></s:Body></s:Envelope>"#;

    #[test]
    fn receive_reply_yields_ordered_output_and_exit_code() {
        let r = parse_received(RECEIVE).unwrap();
        assert_eq!(
            r.chunks,
            vec![
                Chunk {
                    stderr: false,
                    data: b"hello".to_vec()
                },
                Chunk {
                    stderr: true,
                    data: b"oop".to_vec()
                },
            ]
        );
        assert_eq!(r.done, Some(17));
    }

    #[test]
    fn timeout_fault_is_recognised() {
        let err = parse_received(TIMEOUT_FAULT).unwrap_err();
        let ReplyError::Fault(f) = err else {
            panic!("{err:?}")
        };
        assert!(f.is_operation_timeout());
        assert_eq!(f.wsman_code, Some(2_150_858_793));
        assert!(f.to_string().contains("OperationTimeout"), "{f}");
    }

    #[test]
    fn other_faults_are_errors_with_their_text() {
        let xml = TIMEOUT_FAULT
            .replace("2150858793", "2150858843")
            .replace("w:TimedOut", "w:InvalidSelectors")
            .replace(
                "within the time specified in OperationTimeout",
                "because the shell was not found",
            );
        let err = parse_ack(&xml).unwrap_err();
        let ReplyError::Fault(f) = &err else {
            panic!("{err:?}")
        };
        assert!(!f.is_operation_timeout());
        assert!(err.to_string().contains("shell was not found"), "{err}");
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        for junk in [
            "",
            "not xml",
            "<a/>",
            "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\"/>",
            "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>",
            &RECEIVE.replace("aGVsbG8=", "!!!"),
            &RECEIVE.replace(">17<", ">seventeen<"),
            &"<a>".repeat(50_000),
        ] {
            assert!(parse_received(junk).is_err(), "{junk}");
            assert!(parse_shell_created(junk).is_err(), "{junk}");
            assert!(parse_command_started(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn shell_id_from_body_or_selector() {
        let body = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:rsp="http://schemas.microsoft.com/wbem/wsman/1/windows/shell"><s:Body><rsp:Shell><rsp:ShellId>ABC</rsp:ShellId></rsp:Shell></s:Body></s:Envelope>"#;
        assert_eq!(parse_shell_created(body).unwrap(), "ABC");
        let sel = r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Body><x:ResourceCreated xmlns:x="http://schemas.xmlsoap.org/ws/2004/09/transfer"><w:SelectorSet><w:Selector Name="ShellId">DEF</w:Selector></w:SelectorSet></x:ResourceCreated></s:Body></s:Envelope>"#;
        assert_eq!(parse_shell_created(sel).unwrap(), "DEF");
    }
}
