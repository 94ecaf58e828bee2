//! What to connect to: a Prism Central, the VM, the credentials and trust settings the rest of
//! the build uses, and which transports to try in which order.

use std::fmt;

use prism::{Auth, CustomHeader, Scheme, Secret, TlsOptions};

use crate::error::ConsoleError;

/// A way to reach a VM's console through Prism Central.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `POST /api/vmm/v4.x/ahv/config/vms/{uuid}/$actions/generate-console-token`, wait for its
    /// task, then a websocket to the URI it names with `VmConsoleToken=<token>` (Prism Central
    /// pc.7.5 and later; the Go plugin's v1.1.5+ path).
    V4Token,
    /// `GET /api/nutanix/v3/users/me` for a session cookie, then a websocket to
    /// `/vnc/vm/{uuid}/proxy?proxyClusterUuid={cluster}` (the Go plugin's v1.2 line).
    V3Cookie,
}

impl Transport {
    /// The name used in messages.
    pub fn label(self) -> &'static str {
        match self {
            Transport::V4Token => "v4 token",
            Transport::V3Cookie => "v3 websocket",
        }
    }
}

/// Where HTTP(S) proxy settings come from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProxySetting {
    /// `HTTPS_PROXY`/`https_proxy` (for https), `HTTP_PROXY`/`http_proxy` (for http),
    /// `ALL_PROXY`, and `NO_PROXY`, as curl and Go read them.
    #[default]
    FromEnv,
    /// Connect directly.
    Direct,
    /// Always this proxy (`http://[user:password@]host:port`).
    Url(String),
}

/// Everything needed to open a VM's console through Prism Central.
#[derive(Clone)]
pub struct ConsoleTarget {
    /// Prism Central host name or IP, without scheme.
    pub endpoint: String,
    /// Prism Central port (9440).
    pub port: u16,
    /// `Https` for Prism Central; `Http` only for the simulator on loopback.
    pub scheme: Scheme,
    /// The build's credentials (basic, or an API key).
    pub auth: Auth,
    /// Extra headers sent to Prism Central (never to another origin).
    pub custom_headers: Vec<CustomHeader>,
    /// TLS trust: the CA bundle or `nutanix_insecure`, as for every other Prism call.
    pub tls: TlsOptions,
    /// Proxy settings.
    pub proxy: ProxySetting,
    /// The VM (its v3 UUID, which is also its v4 extId).
    pub vm_uuid: String,
    /// The VM's cluster; the v3 transport needs it.
    pub cluster_uuid: Option<String>,
    /// The console's own VNC password, if it has one (Prism's consoles do not).
    pub vnc_password: Option<Secret>,
    /// Transports to try, in order.
    pub transports: Vec<Transport>,
    /// User-Agent of the HTTP calls and the upgrade request.
    pub user_agent: String,
}

impl ConsoleTarget {
    /// A target with the defaults the build uses: HTTPS, proxies from the environment,
    /// v4 token first, then v3.
    pub fn new(
        endpoint: impl Into<String>,
        port: u16,
        auth: Auth,
        vm_uuid: impl Into<String>,
        cluster_uuid: Option<String>,
    ) -> Self {
        Self {
            endpoint: endpoint.into(),
            port,
            scheme: Scheme::Https,
            auth,
            custom_headers: Vec::new(),
            tls: TlsOptions::default(),
            proxy: ProxySetting::FromEnv,
            vm_uuid: vm_uuid.into(),
            cluster_uuid,
            vnc_password: None,
            transports: vec![Transport::V4Token, Transport::V3Cookie],
            user_agent: concat!("packer-plugin-nutanix/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    /// `https://host:port` (brackets around IPv6), the origin every request goes to.
    pub fn origin(&self) -> Result<url::Url, ConsoleError> {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        if self.endpoint.is_empty() || self.endpoint.contains("://") || self.endpoint.contains('/')
        {
            return Err(ConsoleError::Config(format!(
                "endpoint '{}' must be a host name or IP without scheme or path",
                self.endpoint
            )));
        }
        let host = if self.endpoint.contains(':') && !self.endpoint.starts_with('[') {
            format!("[{}]", self.endpoint)
        } else {
            self.endpoint.clone()
        };
        let text = format!("{scheme}://{host}:{}/", self.port);
        url::Url::parse(&text).map_err(|e| ConsoleError::Config(format!("origin '{text}': {e}")))
    }

    /// The VM UUID, checked so it cannot change a path's structure.
    pub(crate) fn vm(&self) -> Result<&str, ConsoleError> {
        checked_uuid("vm_uuid", &self.vm_uuid)
    }
}

/// Accepts a UUID-shaped value (hex digits and dashes) only.
pub(crate) fn checked_uuid<'a>(what: &str, v: &'a str) -> Result<&'a str, ConsoleError> {
    if !v.is_empty() && v.len() <= 64 && v.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        Ok(v)
    } else {
        Err(ConsoleError::Config(format!("{what} '{v}' is not a UUID")))
    }
}

impl fmt::Debug for ConsoleTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleTarget")
            .field("endpoint", &self.endpoint)
            .field("port", &self.port)
            .field("scheme", &self.scheme)
            .field("auth", &self.auth)
            .field("custom_headers", &self.custom_headers)
            .field("tls", &self.tls)
            .field("proxy", &self.proxy)
            .field("vm_uuid", &self.vm_uuid)
            .field("cluster_uuid", &self.cluster_uuid)
            .field("vnc_password", &self.vnc_password)
            .field("transports", &self.transports)
            .finish()
    }
}

/// The headers that authenticate a request to Prism Central: basic or API key, then the custom
/// headers. Only ever sent to the target's own origin.
pub(crate) fn auth_headers(target: &ConsoleTarget) -> Vec<(String, String)> {
    use base64::Engine as _;
    let mut h = Vec::new();
    match &target.auth {
        Auth::Basic { username, password } => {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{}", password.expose()));
            h.push(("Authorization".to_string(), format!("Basic {token}")));
        }
        Auth::ApiKey(key) => h.push((prism::API_KEY_HEADER.to_string(), key.expose().to_string())),
    }
    for c in &target.custom_headers {
        h.push((c.name.clone(), c.value.expose().to_string()));
    }
    h
}

/// Rejects header names and values that would break the request (CR/LF injection).
pub(crate) fn check_headers(headers: &[(String, String)]) -> Result<(), ConsoleError> {
    for (name, value) in headers {
        let bad_name = name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if bad_name {
            return Err(ConsoleError::Config(format!(
                "header name '{name}' is invalid"
            )));
        }
        if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(ConsoleError::Config(format!(
                "header '{name}' has a value with a line break"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_and_checks() {
        let t = ConsoleTarget::new("pc.example", 9440, Auth::basic("u", "p"), "vm", None);
        assert_eq!(t.origin().unwrap().as_str(), "https://pc.example:9440/");
        let v6 = ConsoleTarget::new("fd00::1", 9440, Auth::basic("u", "p"), "vm", None);
        assert_eq!(v6.origin().unwrap().as_str(), "https://[fd00::1]:9440/");
        let bad = ConsoleTarget::new("https://x", 9440, Auth::basic("u", "p"), "vm", None);
        assert!(bad.origin().is_err());
        assert!(checked_uuid("vm_uuid", "../../x").is_err());
        assert!(checked_uuid("vm_uuid", "6f1e2d3c-0000-4000-8000-00000000abcd").is_ok());
        assert!(check_headers(&[("X".into(), "a\r\nb".into())]).is_err());
        assert!(check_headers(&[("X Y".into(), "a".into())]).is_err());
        let secret = ConsoleTarget::new("pc", 1, Auth::basic("u", "hunter2"), "vm", None);
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
