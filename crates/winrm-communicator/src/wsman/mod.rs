//! WS-Management (the SOAP protocol WinRM speaks) for the Windows Remote Shell resource, sans-IO:
//! [`envelope`] builds request envelopes, [`response`] parses replies and faults. Nothing here
//! touches a socket; the transport posts the strings and hands back the bodies.

pub mod envelope;
pub mod response;

/// SOAP 1.2.
pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
/// WS-Addressing (2004/08), as WinRM uses it.
pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
/// DMTF WS-Management.
pub const NS_WSMAN: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd";
/// Microsoft's WS-Management extensions (DataLocale).
pub const NS_MS_WSMAN: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd";
/// The Windows Remote Shell namespace (Shell, CommandLine, Receive, Send, Signal).
pub const NS_SHELL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell";
/// WS-Transfer (Create, Delete).
pub const NS_TRANSFER: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer";
/// The WSManFault detail namespace.
pub const NS_WSMAN_FAULT: &str = "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault";

/// The cmd.exe shell resource every command runs in.
pub const RESOURCE_CMD: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd";
/// WS-Addressing's anonymous reply address.
pub const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";

/// `Create` (a shell).
pub const ACTION_CREATE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create";
/// `Delete` (a shell).
pub const ACTION_DELETE: &str = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete";
/// Start a command in a shell.
pub const ACTION_COMMAND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Command";
/// Collect a command's output.
pub const ACTION_RECEIVE: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Receive";
/// Feed a command's stdin.
pub const ACTION_SEND: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Send";
/// Signal a command (terminate).
pub const ACTION_SIGNAL: &str = "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/Signal";
/// The action of every fault reply.
pub const ACTION_FAULT: &str = "http://schemas.dmtf.org/wbem/wsman/1/wsman/fault";

/// The terminate signal sent after every command.
pub const SIGNAL_TERMINATE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/signal/terminate";
/// The state a command reports once it has exited.
pub const STATE_DONE: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Done";
/// The state of a command still running.
pub const STATE_RUNNING: &str =
    "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/Running";

/// WinRM's default and Packer's MaxEnvelopeSize (150 KiB): the largest request or reply body.
pub const DEFAULT_MAX_ENVELOPE: usize = 153_600;
/// The WSManFault code Windows sends when a Receive found no output within OperationTimeout.
pub const WSMAN_CODE_OPERATION_TIMEOUT: u32 = 2_150_858_793;

/// Escapes text for XML element content and attribute values.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// `std::time::Duration` as an xs:duration (`PT60.000S`), the form OperationTimeout takes.
pub fn format_duration(d: std::time::Duration) -> String {
    format!("PT{}.{:03}S", d.as_secs(), d.subsec_millis())
}

/// Parses the xs:duration forms WinRM clients send (`PT60S`, `PT1H2M3.5S`, `PT30M`, `P1DT2H`).
pub fn parse_duration(text: &str) -> Option<std::time::Duration> {
    let rest = text.trim().strip_prefix('P')?;
    let (days, time) = match rest.split_once('T') {
        Some((d, t)) => (d, t),
        None => (rest, ""),
    };
    let mut secs = 0f64;
    let mut take = |part: &str, units: &[(char, f64)]| -> Option<()> {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
            } else {
                let scale = units.iter().find(|(u, _)| *u == c)?.1;
                secs += number.parse::<f64>().ok()? * scale;
                number.clear();
            }
        }
        number.is_empty().then_some(())
    };
    take(days, &[('D', 86_400.0)])?;
    take(time, &[('H', 3600.0), ('M', 60.0), ('S', 1.0)])?;
    (secs.is_finite() && secs >= 0.0).then(|| std::time::Duration::from_secs_f64(secs))
}

/// Deepest element nesting accepted; WS-Man envelopes need fewer than ten levels.
pub const MAX_XML_DEPTH: usize = 64;

/// Parses XML with limits a hostile peer cannot exceed: no DTD, a node budget, and at most
/// [`MAX_XML_DEPTH`] nested elements (checked first: the XML parser recurses per level, so
/// deep nesting would otherwise exhaust the stack).
pub fn parse_xml(xml: &str, nodes_limit: u32) -> Result<roxmltree::Document<'_>, String> {
    let depth = nesting_depth(xml);
    if depth > MAX_XML_DEPTH {
        return Err(format!(
            "elements nest {depth} deep (more than {MAX_XML_DEPTH})"
        ));
    }
    roxmltree::Document::parse_with_options(
        xml,
        roxmltree::ParsingOptions {
            allow_dtd: false,
            nodes_limit,
        },
    )
    .map_err(|e| e.to_string())
}

/// The deepest element nesting in `xml`, skipping comments, CDATA, processing instructions
/// and declarations (an over-estimate for malformed input, which is refused anyway).
pub fn nesting_depth(xml: &str) -> usize {
    let bytes = xml.as_bytes();
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut i = 0usize;
    let skip_to = |from: usize, end: &[u8]| -> usize {
        bytes
            .get(from..)
            .and_then(|rest| rest.windows(end.len()).position(|w| w == end))
            .map_or(bytes.len(), |p| from + p + end.len())
    };
    while let Some(pos) = bytes
        .get(i..)
        .and_then(|r| r.iter().position(|&b| b == b'<'))
    {
        let at = i + pos;
        let rest = bytes.get(at..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            i = skip_to(at + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = skip_to(at + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            i = skip_to(at + 2, b"?>");
        } else if rest.starts_with(b"<!") {
            i = skip_to(at + 2, b">");
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = skip_to(at + 2, b">");
        } else {
            let end = skip_to(at + 1, b">");
            let self_closing = end >= 2 && bytes.get(end - 2) == Some(&b'/');
            if !self_closing {
                depth += 1;
                max = max.max(depth);
            }
            i = end;
        }
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn nesting_is_measured_and_capped() {
        assert_eq!(nesting_depth("<a><b/><c><d></d></c></a>"), 3);
        assert_eq!(nesting_depth("<a><![CDATA[<x><y><z>]]><!-- <q> --></a>"), 1);
        let deep = "<a>".repeat(100_000);
        assert!(nesting_depth(&deep) > MAX_XML_DEPTH);
        assert!(parse_xml(&deep, 1000).is_err());
    }

    #[test]
    fn durations_round_trip_and_parse_go_forms() {
        assert_eq!(format_duration(Duration::from_millis(60_500)), "PT60.500S");
        assert_eq!(
            parse_duration("PT60.500S"),
            Some(Duration::from_millis(60_500))
        );
        assert_eq!(parse_duration("PT30M"), Some(Duration::from_secs(1800)));
        assert_eq!(parse_duration("PT1H2M3S"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_duration("PT0S"), Some(Duration::ZERO));
        assert_eq!(parse_duration("P1DT1S"), Some(Duration::from_secs(86_401)));
        assert_eq!(parse_duration("60"), None);
        assert_eq!(parse_duration("PTxS"), None);
        assert_eq!(parse_duration("PT5"), None);
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert!(matches!(escape("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
