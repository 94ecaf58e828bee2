//! Which proxy, if any, carries the WinRM connection: `HTTPS_PROXY` for HTTPS endpoints,
//! `HTTP_PROXY` for HTTP ones (lower-case names too), minus `NO_PROXY` matches, and never with
//! `winrm_no_proxy` (Packer's Go client reads the same variables through Go's net/http).

use base64::Engine as _;

/// A proxy to dial instead of the target.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    /// `host:port` of the proxy.
    pub addr: String,
    /// `Proxy-Authorization` value from the URL's user info, if any.
    pub authorization: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("addr", &self.addr)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Reads the proxy environment for a connection to `host:port`.
pub(crate) fn from_env(host: &str, port: u16, https: bool) -> Option<Proxy> {
    let get = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let url = if https {
        get(&["HTTPS_PROXY", "https_proxy"])
    } else {
        get(&["HTTP_PROXY", "http_proxy"])
    }?;
    let no_proxy = get(&["NO_PROXY", "no_proxy"]).unwrap_or_default();
    if bypassed(&no_proxy, host, port) {
        return None;
    }
    parse_url(&url)
}

/// Go's rules, simplified: `*` bypasses everything; an entry matches the host exactly, as a
/// domain suffix (`.example.com` or `example.com`), or with a port (`host:port`).
fn bypassed(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    no_proxy
        .split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let (name, entry_port) = match entry.rsplit_once(':') {
                Some((n, p)) if !n.contains(':') || n.ends_with(']') => {
                    (n.to_string(), p.parse::<u16>().ok())
                }
                _ => (entry.clone(), None),
            };
            if entry_port.is_some_and(|p| p != port) {
                return false;
            }
            let name = name.trim_start_matches('[').trim_end_matches(']');
            let bare = name.trim_start_matches('.');
            host == bare || host.ends_with(&format!(".{bare}"))
        })
}

/// `http://[user:pass@]host[:port]` (a bare `host:port` too); port 80 when absent.
fn parse_url(url: &str) -> Option<Proxy> {
    let rest = url.trim();
    let rest = rest
        .strip_prefix("http://")
        .or_else(|| rest.strip_prefix("HTTP://"))
        .unwrap_or(rest);
    if rest.contains("://") {
        tracing::warn!(target: "winrm", "ignoring a proxy URL with a scheme other than http://");
        return None;
    }
    let rest = rest.split('/').next().unwrap_or(rest);
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    if hostport.is_empty() {
        return None;
    }
    let has_port = hostport.rsplit_once(':').is_some_and(|(h, p)| {
        !h.is_empty() && p.parse::<u16>().is_ok() && (!h.contains(':') || h.ends_with(']'))
    });
    let addr = if has_port {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let authorization = userinfo.map(|u| {
        let decoded = percent_decode(u);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(decoded)
        )
    });
    Some(Proxy {
        addr,
        authorization,
    })
}

fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_matching() {
        assert!(bypassed("*", "h", 1));
        assert!(bypassed("example.com", "win.example.com", 5985));
        assert!(bypassed(".example.com", "win.example.com", 5985));
        assert!(bypassed("10.0.0.5:5985", "10.0.0.5", 5985));
        assert!(!bypassed("10.0.0.5:5986", "10.0.0.5", 5985));
        assert!(!bypassed("other.com", "win.example.com", 5985));
        assert!(!bypassed("", "h", 1));
    }

    #[test]
    fn proxy_urls() {
        let p = parse_url("http://u:p%40ss@proxy:3128").unwrap();
        assert_eq!(p.addr, "proxy:3128");
        assert_eq!(p.authorization.as_deref(), Some("Basic dTpwQHNz"));
        assert!(!format!("{p:?}").contains("dTpw"));
        assert_eq!(parse_url("proxy.corp").unwrap().addr, "proxy.corp:80");
        assert_eq!(parse_url("http://proxy:8080/").unwrap().addr, "proxy:8080");
        assert!(parse_url("socks5://x:1").is_none());
    }
}
