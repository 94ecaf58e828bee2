//! Client configuration. Secrets live in [`Secret`], whose `Debug` never prints them, and every
//! config type has a hand-written `Debug` so a `{:?}` in a log line cannot leak a password.

use std::fmt;
use std::time::Duration;

use crate::error::PrismError;

/// The header an API key travels in.
pub const API_KEY_HEADER: &str = "X-ntnx-api-key";

/// A string that must never be printed: passwords, API keys, secret header values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself; call only where it goes on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Self(s.to_string())
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// How requests authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Basic` on every request (what the v3 Go client does).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// `X-ntnx-api-key: <key>` (service accounts, PC 7.3+).
    ApiKey(Secret),
}

impl Auth {
    /// HTTP basic authentication. Which template options mean an API key instead is the
    /// builder's rule (`nutanix_config::ClusterConfig::auth`), not the client's.
    pub fn basic(username: &str, password: impl Into<Secret>) -> Self {
        Self::Basic {
            username: username.to_string(),
            password: password.into(),
        }
    }

    /// An API key, sent in the `X-ntnx-api-key` header.
    pub fn api_key(key: impl Into<Secret>) -> Self {
        Self::ApiKey(key.into())
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Self::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
        }
    }
}

/// An extra header sent on every request (e.g. Cloudflare Access ids). Its value is treated
/// as a secret because such headers usually are credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomHeader {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: Secret,
}

impl fmt::Debug for CustomHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: <redacted>", self.name)
    }
}

/// TLS trust settings. Verification is on unless `danger_accept_invalid_certs` is set.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM CA bundle. When set it REPLACES the OS trust store (like `curl --cacert`), so a
    /// private Prism CA can be pinned without trusting it machine-wide.
    pub ca_bundle_pem: Option<Vec<u8>>,
    /// Accept any certificate and host name (`nutanix_insecure`). Only when the user asks.
    pub danger_accept_invalid_certs: bool,
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field(
                "ca_bundle_pem",
                &self
                    .ca_bundle_pem
                    .as_ref()
                    .map(|b| format!("{} bytes", b.len())),
            )
            .field(
                "danger_accept_invalid_certs",
                &self.danger_accept_invalid_certs,
            )
            .finish()
    }
}

/// Retry schedule for idempotent calls: jittered exponential backoff, bounded attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 disables retries).
    pub max_attempts: u32,
    /// Delay before the first retry (before jitter).
    pub initial_delay: Duration,
    /// Growth factor per retry.
    pub multiplier: f64,
    /// Cap on a single delay.
    pub max_delay: Duration,
    /// Cap on an honoured `Retry-After` (a server asking for an hour is not waited on).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_delay: Duration::from_millis(250),
            multiplier: 2.0,
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

/// Task polling schedule: starts fast so short tasks finish quickly, backs off to a cap so long
/// ones do not hammer Prism.
#[derive(Debug, Clone, PartialEq)]
pub struct PollPolicy {
    /// First delay.
    pub initial: Duration,
    /// Growth factor.
    pub multiplier: f64,
    /// Cap.
    pub max: Duration,
    /// Longest single wait aimed at a task's predicted end (see
    /// [`crate::backoff::next_task_poll`]); bounds what a wrong prediction can cost.
    pub eta_cap: Duration,
}

impl Default for PollPolicy {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(50),
            multiplier: 2.0,
            max: Duration::from_secs(2),
            eta_cap: Duration::from_secs(10),
        }
    }
}

/// URL scheme; `Http` exists for the simulator only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheme {
    /// TLS (every real Prism Central).
    #[default]
    Https,
    /// Plain HTTP (the simulator on loopback).
    Http,
}

/// Everything needed to build a [`crate::PrismClient`].
#[derive(Clone)]
pub struct ClientConfig {
    /// Prism Central host name or IP, without scheme.
    pub endpoint: String,
    /// Port (9440 by default).
    pub port: u16,
    /// Scheme.
    pub scheme: Scheme,
    /// Credentials.
    pub auth: Auth,
    /// Extra headers on every request.
    pub custom_headers: Vec<CustomHeader>,
    /// TLS trust.
    pub tls: TlsOptions,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// JSON calls: the stall deadline. The response head must be complete within this long of
    /// sending (connecting included, so keep it above `connect_timeout`; a server trickling
    /// header bytes does not extend it), and the body may go silent for at most this long
    /// between reads.
    pub read_timeout: Duration,
    /// JSON calls: the overall deadline of one call, every attempt, redirect and backoff wait
    /// included; it also ends a body that trickles in too slowly to ever stall. Image transfers
    /// are not bound by it (see `transfer_stall_timeout`; the build bounds them with
    /// nutanix_transfer_timeout).
    pub call_timeout: Duration,
    /// Image transfers fail (and are retried) when no byte moves for this long; after the last
    /// byte of an upload it also bounds the wait for Prism's answer. reqwest's read timeout
    /// cannot be used for uploads: its timer runs from the start of the request, through the
    /// whole upload, until the response head arrives.
    pub transfer_stall_timeout: Duration,
    /// Honour HTTP_PROXY / HTTPS_PROXY / NO_PROXY.
    pub use_env_proxy: bool,
    /// Retries of idempotent calls.
    pub retry: RetryPolicy,
    /// Task polling.
    pub poll: PollPolicy,
    /// Page size of list calls.
    pub page_size: u32,
    /// PUT attempts on spec_version conflicts (HTTP 409).
    pub conflict_attempts: u32,
    /// User-Agent header.
    pub user_agent: String,
}

impl ClientConfig {
    /// A config for `https://{endpoint}:{port}` with the defaults the builder uses.
    pub fn new(endpoint: impl Into<String>, port: u16, auth: Auth) -> Self {
        Self {
            endpoint: endpoint.into(),
            port,
            scheme: Scheme::Https,
            auth,
            custom_headers: Vec::new(),
            tls: TlsOptions::default(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(120),
            call_timeout: Duration::from_secs(300),
            transfer_stall_timeout: Duration::from_secs(300),
            use_env_proxy: true,
            retry: RetryPolicy::default(),
            poll: PollPolicy::default(),
            page_size: 100,
            conflict_attempts: 5,
            user_agent: concat!("packer-plugin-nutanix/", env!("CARGO_PKG_VERSION")).to_string(),
        }
    }

    /// A config from a base URL such as the simulator's `http://127.0.0.1:PORT`.
    pub fn from_base_url(base: &str, auth: Auth) -> Result<Self, PrismError> {
        let url = url::Url::parse(base)
            .map_err(|e| PrismError::Config(format!("base URL '{base}': {e}")))?;
        let scheme = match url.scheme() {
            "https" => Scheme::Https,
            "http" => Scheme::Http,
            other => {
                return Err(PrismError::Config(format!(
                    "base URL '{base}': unsupported scheme '{other}'"
                )))
            }
        };
        let host = url
            .host_str()
            .ok_or_else(|| PrismError::Config(format!("base URL '{base}' has no host")))?;
        let port = url.port_or_known_default().unwrap_or(9440);
        let mut config = Self::new(
            host.trim_start_matches('[').trim_end_matches(']'),
            port,
            auth,
        );
        config.scheme = scheme;
        Ok(config)
    }

    /// `{scheme}://{endpoint}:{port}/api/nutanix/v3`, validated.
    pub fn api_base(&self) -> Result<url::Url, PrismError> {
        let scheme = match self.scheme {
            Scheme::Https => "https",
            Scheme::Http => "http",
        };
        if self.endpoint.is_empty() || self.endpoint.contains("://") || self.endpoint.contains('/')
        {
            return Err(PrismError::Config(format!(
                "endpoint '{}' must be a host name or IP without scheme or path",
                self.endpoint
            )));
        }
        let host = if self.endpoint.contains(':') && !self.endpoint.starts_with('[') {
            format!("[{}]", self.endpoint) // a bare IPv6 address
        } else {
            self.endpoint.clone()
        };
        let text = format!("{scheme}://{host}:{}/api/nutanix/v3/", self.port);
        url::Url::parse(&text).map_err(|e| PrismError::Config(format!("base URL '{text}': {e}")))
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("endpoint", &self.endpoint)
            .field("port", &self.port)
            .field("scheme", &self.scheme)
            .field("auth", &self.auth)
            .field("custom_headers", &self.custom_headers)
            .field("tls", &self.tls)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("call_timeout", &self.call_timeout)
            .field("transfer_stall_timeout", &self.transfer_stall_timeout)
            .field("use_env_proxy", &self.use_env_proxy)
            .field("retry", &self.retry)
            .field("poll", &self.poll)
            .field("page_size", &self.page_size)
            .field("conflict_attempts", &self.conflict_attempts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let mut config =
            ClientConfig::new("pc.example", 9440, Auth::basic("admin", "hunter2-password"));
        config.custom_headers.push(CustomHeader {
            name: "CF-Access-Client-Secret".into(),
            value: Secret::new("cf-secret-value"),
        });
        config.tls.ca_bundle_pem = Some(b"-----BEGIN CERTIFICATE-----".to_vec());
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2-password"), "{text}");
        assert!(!text.contains("cf-secret-value"), "{text}");
        assert!(text.contains("admin"));
        assert!(text.contains("CF-Access-Client-Secret"));
        let key = Auth::api_key("the-api-key");
        assert!(matches!(key, Auth::ApiKey(_)));
        assert!(!format!("{key:?}").contains("the-api-key"));
    }

    #[test]
    fn api_base_is_built_and_validated() {
        let auth = || Auth::basic("u", "p");
        let base = ClientConfig::new("pc.example", 9440, auth())
            .api_base()
            .unwrap();
        assert_eq!(base.as_str(), "https://pc.example:9440/api/nutanix/v3/");
        let v6 = ClientConfig::new("fd00::1", 9440, auth())
            .api_base()
            .unwrap();
        assert_eq!(v6.as_str(), "https://[fd00::1]:9440/api/nutanix/v3/");
        for bad in ["https://pc.example", "pc.example/x", ""] {
            assert!(matches!(
                ClientConfig::new(bad, 9440, auth()).api_base(),
                Err(PrismError::Config(_))
            ));
        }
        let sim = ClientConfig::from_base_url("http://127.0.0.1:4321", auth()).unwrap();
        assert_eq!(
            sim.api_base().unwrap().as_str(),
            "http://127.0.0.1:4321/api/nutanix/v3/"
        );
        assert!(ClientConfig::from_base_url("ftp://x", auth()).is_err());
    }
}
