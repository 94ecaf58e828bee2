//! Proxy handshakes spoken before SSH starts: SOCKS5 (RFC 1928 + RFC 1929 username/password, as
//! Go's `x/net/proxy.SOCKS5` that Packer uses) and HTTP `CONNECT`.
//!
//! The byte layouts are pure functions; [`socks5_connect`] and [`http_connect`] only move them.

use std::net::IpAddr;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Why a proxy handshake failed; the dialer wraps it with the proxy and target addresses.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum ProxyError {
    /// A field does not fit the protocol (a SOCKS5 user name over 255 bytes...).
    #[error("{0}")]
    Invalid(String),
    /// The proxy answered something the protocol does not allow.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// The proxy refused (authentication, ruleset, unreachable target...).
    #[error("{0}")]
    Refused(String),
    /// The connection to the proxy broke.
    #[error("I/O: {0}")]
    Io(String),
}

impl From<std::io::Error> for ProxyError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

const SOCKS_VERSION: u8 = 5;
const METHOD_NO_AUTH: u8 = 0x00;
const METHOD_USER_PASS: u8 = 0x02;
const METHOD_NONE_ACCEPTABLE: u8 = 0xff;
const CMD_CONNECT: u8 = 0x01;
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;

/// Credentials for the proxy (never logged).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxyAuth {
    pub(crate) username: String,
    pub(crate) password: String,
}

/// The method-selection message: no-auth, plus username/password when we have credentials.
pub(crate) fn socks5_greeting(with_auth: bool) -> Vec<u8> {
    if with_auth {
        vec![SOCKS_VERSION, 2, METHOD_NO_AUTH, METHOD_USER_PASS]
    } else {
        vec![SOCKS_VERSION, 1, METHOD_NO_AUTH]
    }
}

/// The method the proxy chose, checked against what we offered.
pub(crate) fn socks5_parse_choice(reply: [u8; 2], with_auth: bool) -> Result<u8, ProxyError> {
    let [version, method] = reply;
    if version != SOCKS_VERSION {
        return Err(ProxyError::Malformed(format!(
            "SOCKS version {version}, expected 5"
        )));
    }
    match method {
        METHOD_NO_AUTH => Ok(method),
        METHOD_USER_PASS if with_auth => Ok(method),
        METHOD_NONE_ACCEPTABLE => Err(ProxyError::Refused(
            "no acceptable authentication method".into(),
        )),
        other => Err(ProxyError::Malformed(format!(
            "the proxy chose authentication method {other:#04x}, which was not offered"
        ))),
    }
}

/// RFC 1929 username/password request.
pub(crate) fn socks5_auth_request(auth: &ProxyAuth) -> Result<Vec<u8>, ProxyError> {
    let user = auth.username.as_bytes();
    let pass = auth.password.as_bytes();
    let ulen = u8::try_from(user.len())
        .ok()
        .filter(|l| *l > 0)
        .ok_or_else(|| ProxyError::Invalid("ssh_proxy_username must be 1 to 255 bytes".into()))?;
    let plen = u8::try_from(pass.len())
        .map_err(|_| ProxyError::Invalid("ssh_proxy_password must be at most 255 bytes".into()))?;
    let mut out = Vec::with_capacity(3 + user.len() + pass.len());
    out.push(1);
    out.push(ulen);
    out.extend_from_slice(user);
    out.push(plen);
    out.extend_from_slice(pass);
    Ok(out)
}

/// RFC 1929 status: version 1, status 0 = success.
pub(crate) fn socks5_parse_auth_reply(reply: [u8; 2]) -> Result<(), ProxyError> {
    match reply {
        [1, 0] => Ok(()),
        [1, status] => Err(ProxyError::Refused(format!(
            "username/password rejected (status {status})"
        ))),
        [v, _] => Err(ProxyError::Malformed(format!(
            "auth reply version {v}, expected 1"
        ))),
    }
}

/// The CONNECT request; IP literals are sent as addresses, anything else as a domain name
/// resolved by the proxy (Go does the same).
pub(crate) fn socks5_connect_request(host: &str, port: u16) -> Result<Vec<u8>, ProxyError> {
    let mut out = vec![SOCKS_VERSION, CMD_CONNECT, 0];
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            out.push(ATYP_IPV4);
            out.extend_from_slice(&ip.octets());
        }
        Ok(IpAddr::V6(ip)) => {
            out.push(ATYP_IPV6);
            out.extend_from_slice(&ip.octets());
        }
        Err(_) => {
            let len = u8::try_from(bare.len())
                .ok()
                .filter(|l| *l > 0)
                .ok_or_else(|| {
                    ProxyError::Invalid(format!("host name {bare:?} is not 1 to 255 bytes"))
                })?;
            out.push(ATYP_DOMAIN);
            out.push(len);
            out.extend_from_slice(bare.as_bytes());
        }
    }
    out.extend_from_slice(&port.to_be_bytes());
    Ok(out)
}

/// The fixed part of the CONNECT reply; returns how many address bytes follow (port included),
/// given the first address byte for domain names.
pub(crate) fn socks5_parse_connect_reply(head: [u8; 5]) -> Result<usize, ProxyError> {
    let [version, rep, _reserved, atyp, first] = head;
    if version != SOCKS_VERSION {
        return Err(ProxyError::Malformed(format!(
            "SOCKS version {version}, expected 5"
        )));
    }
    if rep != 0 {
        return Err(ProxyError::Refused(socks5_reply_text(rep).into()));
    }
    // `first` is already read: the rest of the address, then the 2-byte port.
    match atyp {
        ATYP_IPV4 => Ok(4 - 1 + 2),
        ATYP_IPV6 => Ok(16 - 1 + 2),
        ATYP_DOMAIN => Ok(usize::from(first) + 2),
        other => Err(ProxyError::Malformed(format!("address type {other}"))),
    }
}

fn socks5_reply_text(rep: u8) -> &'static str {
    match rep {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown SOCKS error",
    }
}

/// Runs the SOCKS5 handshake on an open connection to the proxy.
pub(crate) async fn socks5_connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    port: u16,
    auth: Option<&ProxyAuth>,
) -> Result<(), ProxyError> {
    stream.write_all(&socks5_greeting(auth.is_some())).await?;
    let mut choice = [0u8; 2];
    stream.read_exact(&mut choice).await?;
    if socks5_parse_choice(choice, auth.is_some())? == METHOD_USER_PASS {
        let Some(auth) = auth else {
            return Err(ProxyError::Malformed("unrequested authentication".into()));
        };
        stream.write_all(&socks5_auth_request(auth)?).await?;
        let mut reply = [0u8; 2];
        stream.read_exact(&mut reply).await?;
        socks5_parse_auth_reply(reply)?;
    }
    stream
        .write_all(&socks5_connect_request(host, port)?)
        .await?;
    let mut head = [0u8; 5];
    stream.read_exact(&mut head).await?;
    let rest = socks5_parse_connect_reply(head)?;
    let mut skip = vec![0u8; rest];
    stream.read_exact(&mut skip).await?;
    Ok(())
}

/// The CONNECT request, with Basic credentials when given.
pub(crate) fn http_connect_request(host: &str, port: u16, auth: Option<&ProxyAuth>) -> String {
    use base64::Engine as _;
    let target = crate::config::join_host_port(host, port);
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = auth {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", auth.username, auth.password));
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    req
}

/// Checks the proxy's response head (everything up to the blank line): 2xx opens the tunnel.
pub(crate) fn http_parse_connect_response(head: &[u8]) -> Result<(), ProxyError> {
    let text = String::from_utf8_lossy(head);
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(ProxyError::Malformed(format!(
            "status line {status_line:?}"
        )));
    }
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| ProxyError::Malformed(format!("status line {status_line:?}")))?;
    if (200..300).contains(&code) {
        Ok(())
    } else {
        Err(ProxyError::Refused(format!(
            "HTTP proxy answered {status_line:?}"
        )))
    }
}

/// The longest response head we accept from an HTTP proxy.
const MAX_HTTP_HEAD: usize = 16 * 1024;

/// Runs the HTTP CONNECT handshake. Reads byte by byte so nothing of the SSH banner that follows
/// the blank line is consumed.
pub(crate) async fn http_connect<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    host: &str,
    port: u16,
    auth: Option<&ProxyAuth>,
) -> Result<(), ProxyError> {
    stream
        .write_all(http_connect_request(host, port, auth).as_bytes())
        .await?;
    let mut head = Vec::with_capacity(256);
    loop {
        let byte = stream.read_u8().await?;
        head.push(byte);
        if head.ends_with(b"\r\n\r\n") {
            break;
        }
        if head.len() > MAX_HTTP_HEAD {
            return Err(ProxyError::Malformed(
                "response head longer than 16 KiB".into(),
            ));
        }
    }
    http_parse_connect_response(&head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> ProxyAuth {
        ProxyAuth {
            username: "user".into(),
            password: "pw".into(),
        }
    }

    #[test]
    fn greeting_offers_user_pass_only_with_credentials() {
        assert_eq!(socks5_greeting(false), [5, 1, 0]);
        assert_eq!(socks5_greeting(true), [5, 2, 0, 2]);
    }

    #[test]
    fn choice_must_be_one_we_offered() {
        assert_eq!(socks5_parse_choice([5, 0], false), Ok(0));
        assert_eq!(socks5_parse_choice([5, 2], true), Ok(2));
        assert!(matches!(
            socks5_parse_choice([5, 2], false),
            Err(ProxyError::Malformed(_))
        ));
        assert!(matches!(
            socks5_parse_choice([5, 0xff], true),
            Err(ProxyError::Refused(_))
        ));
        assert!(matches!(
            socks5_parse_choice([4, 0], true),
            Err(ProxyError::Malformed(_))
        ));
    }

    #[test]
    fn rfc1929_layout() {
        assert_eq!(
            socks5_auth_request(&auth()).unwrap(),
            [1, 4, b'u', b's', b'e', b'r', 2, b'p', b'w']
        );
        let long = ProxyAuth {
            username: "x".repeat(256),
            password: String::new(),
        };
        assert!(socks5_auth_request(&long).is_err());
        assert!(socks5_parse_auth_reply([1, 0]).is_ok());
        assert!(matches!(
            socks5_parse_auth_reply([1, 1]),
            Err(ProxyError::Refused(_))
        ));
    }

    #[test]
    fn connect_request_address_types() {
        assert_eq!(
            socks5_connect_request("10.1.2.3", 22).unwrap(),
            [5, 1, 0, 1, 10, 1, 2, 3, 0, 22]
        );
        let v6 = socks5_connect_request("[::1]", 2222).unwrap();
        assert_eq!(v6.get(3), Some(&4));
        assert_eq!(v6.len(), 4 + 16 + 2);
        assert_eq!(v6.get(20..), Some(&[0x08, 0xae][..]));
        assert_eq!(
            socks5_connect_request("vm.local", 22).unwrap(),
            [5, 1, 0, 3, 8, b'v', b'm', b'.', b'l', b'o', b'c', b'a', b'l', 0, 22]
        );
        assert!(socks5_connect_request("", 22).is_err());
    }

    #[test]
    fn connect_reply_lengths_and_refusals() {
        assert_eq!(socks5_parse_connect_reply([5, 0, 0, 1, 127]), Ok(5));
        assert_eq!(socks5_parse_connect_reply([5, 0, 0, 4, 0]), Ok(17));
        assert_eq!(socks5_parse_connect_reply([5, 0, 0, 3, 9]), Ok(11));
        assert_eq!(
            socks5_parse_connect_reply([5, 5, 0, 1, 0]),
            Err(ProxyError::Refused("connection refused".into()))
        );
        assert!(socks5_parse_connect_reply([5, 0, 0, 9, 0]).is_err());
    }

    #[tokio::test]
    async fn socks5_handshake_against_a_scripted_proxy() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let proxy = tokio::spawn(async move {
            let mut greet = [0u8; 4];
            server.read_exact(&mut greet).await.unwrap();
            assert_eq!(greet, [5, 2, 0, 2]);
            server.write_all(&[5, 2]).await.unwrap();
            let mut authreq = [0u8; 9];
            server.read_exact(&mut authreq).await.unwrap();
            server.write_all(&[1, 0]).await.unwrap();
            let mut req = [0u8; 10];
            server.read_exact(&mut req).await.unwrap();
            assert_eq!(req, [5, 1, 0, 1, 127, 0, 0, 1, 0, 22]);
            // Success, bound to a domain name, then the SSH banner must stay unread.
            server
                .write_all(&[5, 0, 0, 3, 3, b'a', b'b', b'c', 0, 1])
                .await
                .unwrap();
            server.write_all(b"SSH-2.0-x\r\n").await.unwrap();
            server
        });
        socks5_connect(&mut client, "127.0.0.1", 22, Some(&auth()))
            .await
            .unwrap();
        let mut banner = [0u8; 4];
        client.read_exact(&mut banner).await.unwrap();
        assert_eq!(&banner, b"SSH-");
        proxy.await.unwrap();
    }

    #[test]
    fn http_connect_layout_and_status() {
        let req = http_connect_request("10.0.0.5", 22, Some(&auth()));
        assert!(req.starts_with("CONNECT 10.0.0.5:22 HTTP/1.1\r\nHost: 10.0.0.5:22\r\n"));
        assert!(req.contains("Proxy-Authorization: Basic dXNlcjpwdw==\r\n"));
        assert!(req.ends_with("\r\n\r\n"));
        assert!(
            http_parse_connect_response(b"HTTP/1.1 200 Connection established\r\n\r\n").is_ok()
        );
        assert!(matches!(
            http_parse_connect_response(b"HTTP/1.0 407 Proxy Authentication Required\r\n\r\n"),
            Err(ProxyError::Refused(_))
        ));
        assert!(matches!(
            http_parse_connect_response(b"SSH-2.0-OpenSSH\r\n\r\n"),
            Err(ProxyError::Malformed(_))
        ));
    }

    #[tokio::test]
    async fn http_connect_leaves_tunnel_bytes_unread() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64];
            let _ = server.read(&mut buf).await.unwrap();
            server
                .write_all(b"HTTP/1.1 200 OK\r\nX: y\r\n\r\nSSH-2.0-x\r\n")
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        });
        http_connect(&mut client, "h", 22, None).await.unwrap();
        let mut banner = [0u8; 4];
        client.read_exact(&mut banner).await.unwrap();
        assert_eq!(&banner, b"SSH-");
    }
}
