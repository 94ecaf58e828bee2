//! HTTP proxies: which one applies to a host (the environment variables curl and Go read) and
//! the HTTP CONNECT tunnel through it. The Go plugin's console ignores proxies (its issue #294);
//! here the REST calls and the websocket go through the same proxy.

use std::net::IpAddr;

use base64::Engine as _;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::error::ConsoleError;
use crate::target::ProxySetting;

/// Largest CONNECT response head read.
const MAX_HEAD: usize = 16 * 1024;

/// A parsed `http://[user:password@]host:port` proxy.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    /// Proxy host.
    pub host: String,
    /// Proxy port (80 when the URL names none, as Go and reqwest assume).
    pub port: u16,
    /// `user:password` for `Proxy-Authorization: Basic`.
    pub credentials: Option<(String, String)>,
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "http://{}:{}", self.host, self.port)?;
        if self.credentials.is_some() {
            f.write_str(" (with credentials)")?;
        }
        Ok(())
    }
}

impl ProxyUrl {
    /// Parses a proxy URL; a bare `host:port` means http. HTTPS proxies (TLS to the proxy
    /// itself) are not supported and say so.
    pub fn parse(text: &str) -> Result<Self, ConsoleError> {
        let with_scheme = if text.contains("://") {
            text.to_string()
        } else {
            format!("http://{text}")
        };
        let bad = |why: &str| ConsoleError::Config(format!("proxy '{}': {why}", redact(text)));
        let url = url::Url::parse(&with_scheme).map_err(|e| bad(&e.to_string()))?;
        if url.scheme() != "http" {
            return Err(bad(&format!(
                "scheme '{}' is not supported; use an http:// proxy (the tunnel itself is TLS)",
                url.scheme()
            )));
        }
        let host = url
            .host_str()
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let credentials = if url.username().is_empty() {
            None
        } else {
            let dec = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
            Some((dec(url.username()), dec(url.password().unwrap_or(""))))
        };
        Ok(Self {
            host,
            port: url.port().unwrap_or(80),
            credentials,
        })
    }

    /// The URL reqwest takes (credentials are given to it separately).
    pub(crate) fn to_url_string(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("http://{host}:{}", self.port)
    }
}

/// The proxy URL without its credentials, for messages.
fn redact(text: &str) -> String {
    let (scheme, rest) = match text.split_once("://") {
        Some((s, r)) => (format!("{s}://"), r),
        None => (String::new(), text),
    };
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}<credentials>@{host}"),
        None => text.to_string(),
    }
}

/// The proxy for `host` under `setting`; `env` looks variables up (the process environment in
/// production, a map in tests).
pub fn proxy_for(
    setting: &ProxySetting,
    https: bool,
    host: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<ProxyUrl>, ConsoleError> {
    match setting {
        ProxySetting::Direct => Ok(None),
        ProxySetting::Url(u) => ProxyUrl::parse(u).map(Some),
        ProxySetting::FromEnv => {
            let get = |names: &[&str]| {
                names
                    .iter()
                    .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
            };
            let no_proxy = get(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
            if bypasses(&no_proxy, host) {
                return Ok(None);
            }
            let chosen = if https {
                get(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"])
            } else {
                get(&["http_proxy", "HTTP_PROXY", "ALL_PROXY", "all_proxy"])
            };
            chosen.map(|u| ProxyUrl::parse(u.trim())).transpose()
        }
    }
}

/// Whether `NO_PROXY` exempts `host`: `*`, a host, a domain suffix (`.example.com` or
/// `example.com`), an IP, or a CIDR block.
pub fn bypasses(no_proxy: &str, host: &str) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let ip: Option<IpAddr> = host.parse().ok();
    no_proxy
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let (Some(ip), Ok(net)) = (ip, entry.parse::<ipnet::IpNet>()) {
                return net.contains(&ip);
            }
            if let (Some(ip), Ok(e)) = (ip, entry.parse::<IpAddr>()) {
                return ip == e;
            }
            // Entries may carry a port (`host:8080`); the port is ignored, as curl does.
            let name = entry
                .rsplit_once(':')
                .filter(|(_, p)| p.chars().all(|c| c.is_ascii_digit()))
                .map_or(entry.as_str(), |(h, _)| h);
            let name = name.trim_start_matches('.');
            host == name || host.ends_with(&format!(".{name}"))
        })
}

/// Opens a TCP connection to the proxy and asks it for a tunnel to `host:port`.
pub async fn connect_via(
    proxy: &ProxyUrl,
    host: &str,
    port: u16,
) -> Result<TcpStream, ConsoleError> {
    let what = format!("proxy {proxy:?}");
    let mut sock = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .await
        .map_err(|e| ConsoleError::io(format!("connect to {what}"), &e))?;
    let _ = sock.set_nodelay(true);
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut req = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((u, p)) = &proxy.credentials {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req.push_str(&format!("Proxy-Authorization: Basic {token}\r\n"));
    }
    req.push_str("\r\n");
    sock.write_all(req.as_bytes())
        .await
        .map_err(|e| ConsoleError::io(format!("send CONNECT to {what}"), &e))?;
    // Read byte by byte up to the end of the head, so no tunnel byte is consumed here.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > MAX_HEAD {
            return Err(ConsoleError::Http {
                what: format!("CONNECT {authority} through {what}"),
                message: "the proxy's answer head is too long".into(),
            });
        }
        let mut b = [0u8; 1];
        let n = sock
            .read(&mut b)
            .await
            .map_err(|e| ConsoleError::io(format!("read the CONNECT answer of {what}"), &e))?;
        if n == 0 {
            return Err(ConsoleError::Http {
                what: format!("CONNECT {authority} through {what}"),
                message: "the proxy closed the connection without answering".into(),
            });
        }
        head.extend_from_slice(&b);
    }
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut headers);
    let status = match resp.parse(&head) {
        Ok(httparse::Status::Complete(_)) => resp.code.unwrap_or(0),
        _ => 0,
    };
    if !(200..300).contains(&status) {
        return Err(ConsoleError::Http {
            what: format!("CONNECT {authority} through {what}"),
            message: format!(
                "the proxy answered HTTP {status} {}",
                resp.reason.unwrap_or("")
            ),
        });
    }
    tracing::debug!(%authority, proxy = ?proxy, "proxy tunnel open");
    Ok(sock)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn environment_rules() {
        let vars = [
            ("HTTPS_PROXY", "http://u%40x:pw%3Azz@proxy.corp:3128"),
            ("http_proxy", "plain:8080"),
            (
                "NO_PROXY",
                "localhost,.internal, 10.0.0.0/8,192.168.1.5,svc:9440",
            ),
        ];
        let p = proxy_for(&ProxySetting::FromEnv, true, "pc.example", env(&vars))
            .unwrap()
            .unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        assert_eq!(p.credentials, Some(("u@x".into(), "pw:zz".into())));
        assert!(!format!("{p:?}").contains("pw"), "{p:?}");
        let plain = proxy_for(&ProxySetting::FromEnv, false, "pc", env(&vars))
            .unwrap()
            .unwrap();
        assert_eq!((plain.host.as_str(), plain.port), ("plain", 8080));
        for direct in [
            "localhost",
            "pc.internal",
            "internal",
            "10.1.2.3",
            "192.168.1.5",
            "svc",
        ] {
            assert_eq!(
                proxy_for(&ProxySetting::FromEnv, true, direct, env(&vars)).unwrap(),
                None,
                "{direct}"
            );
        }
        assert!(
            proxy_for(&ProxySetting::FromEnv, true, "192.168.1.6", env(&vars))
                .unwrap()
                .is_some()
        );
        assert_eq!(
            proxy_for(&ProxySetting::Direct, true, "pc", env(&vars)).unwrap(),
            None
        );
        assert_eq!(
            proxy_for(&ProxySetting::FromEnv, true, "pc", env(&[])).unwrap(),
            None
        );
        let e = ProxyUrl::parse("https://u:secret@p:1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not supported") && !e.contains("secret"), "{e}");
        assert_eq!(
            ProxyUrl::parse("http://[::1]:3128")
                .unwrap()
                .to_url_string(),
            "http://[::1]:3128"
        );
    }
}
