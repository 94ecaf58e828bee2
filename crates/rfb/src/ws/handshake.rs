//! The websocket upgrade (RFC 6455 §4): the client's request, the accept key, and the checks a
//! client makes on the server's answer.

use base64::Engine as _;
use sha1::{Digest, Sha1};

use super::WsError;

/// The GUID RFC 6455 appends to the client's key.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest response head we read before giving up.
pub const MAX_HEAD: usize = 16 * 1024;

/// `Sec-WebSocket-Key` from 16 random bytes.
pub fn client_key(nonce: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// `Sec-WebSocket-Accept` for a client's key.
pub fn accept_key(key: &str) -> String {
    let mut h = Sha1::new();
    h.update(key.trim().as_bytes());
    h.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// The upgrade request: `GET target HTTP/1.1` with the websocket headers, then `headers`
/// (cookies, credentials, Origin...) as given.
pub fn client_request(
    target: &str,
    host: &str,
    key: &str,
    headers: &[(String, String)],
) -> Vec<u8> {
    let mut r = format!(
        "GET {target} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    for (name, value) in headers {
        r.push_str(name);
        r.push_str(": ");
        r.push_str(value);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// A parsed HTTP response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a response head from the start of `buf`: Some((head, its length)) when complete.
pub fn parse_response(buf: &[u8]) -> Result<Option<(ResponseHead, usize)>, WsError> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let head = ResponseHead {
                status: resp.code.unwrap_or(0),
                reason: resp.reason.unwrap_or("").to_string(),
                headers: resp
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect(),
            };
            Ok(Some((head, len)))
        }
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => Err(WsError::Handshake(format!(
            "the response head is longer than {MAX_HEAD} bytes"
        ))),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(WsError::Handshake(format!(
            "the answer is not HTTP: {e} (first bytes {})",
            crate::wire::escape(buf, 40)
        ))),
    }
}

/// Checks a 101 answer to a request sent with `key` (no subprotocol, no extension asked).
pub fn check_upgrade(head: &ResponseHead, key: &str) -> Result<(), WsError> {
    let fail = |m: String| Err(WsError::Handshake(m));
    if head.status != 101 {
        return fail(format!("HTTP {} {}, not 101", head.status, head.reason));
    }
    let has_token = |name: &str, token: &str| {
        head.headers_named(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if !has_token("upgrade", "websocket") {
        return fail("101 without `Upgrade: websocket`".into());
    }
    if !has_token("connection", "upgrade") {
        return fail("101 without `Connection: Upgrade`".into());
    }
    match head.header("sec-websocket-accept") {
        Some(a) if a.trim() == accept_key(key) => {}
        Some(a) => return fail(format!("Sec-WebSocket-Accept {a:?} does not match our key")),
        None => return fail("101 without Sec-WebSocket-Accept".into()),
    }
    if let Some(p) = head.header("sec-websocket-protocol") {
        return fail(format!(
            "the server chose subprotocol {p:?}, which we did not offer"
        ));
    }
    if let Some(e) = head.header("sec-websocket-extensions") {
        return fail(format!(
            "the server chose extension {e:?}, which we did not offer"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn checks_the_answer() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\
                   Connection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nRFB";
        let (head, len) = parse_response(ok).unwrap().unwrap();
        assert_eq!(ok.get(len..), Some(&b"RFB"[..]));
        check_upgrade(&head, key).unwrap();
        assert!(check_upgrade(&head, "b3RoZXI=").is_err());
        let denied = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        let (head, _) = parse_response(denied).unwrap().unwrap();
        let e = check_upgrade(&head, key).unwrap_err().to_string();
        assert!(e.contains("403"), "{e}");
        assert_eq!(parse_response(b"HTTP/1.1 101 Swi").unwrap(), None);
        assert!(parse_response(b"RFB 003.008\n").is_err());
        let long = [b'a'; MAX_HEAD + 1];
        let mut partial = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        partial.extend_from_slice(&long);
        assert!(parse_response(&partial).is_err());
    }

    #[test]
    fn request_has_the_websocket_headers() {
        let r = client_request(
            "/vnc/vm/x/proxy?proxyClusterUuid=y",
            "pc:9440",
            "a2V5",
            &[("Origin".into(), "https://pc:9440".into())],
        );
        let text = String::from_utf8(r).unwrap();
        assert!(text
            .starts_with("GET /vnc/vm/x/proxy?proxyClusterUuid=y HTTP/1.1\r\nHost: pc:9440\r\n"));
        assert!(text.contains("Sec-WebSocket-Version: 13\r\n"));
        assert!(text.ends_with("Origin: https://pc:9440\r\n\r\n"));
    }
}
