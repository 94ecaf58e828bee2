//! [`PrismClient`]: one per build. Owns the HTTP connection pools, the auth headers and the
//! lookup memo; cheap to clone (an `Arc`), so concurrent steps share it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

use crate::config::{Auth, ClientConfig};
use crate::error::PrismError;
use crate::models::{Cluster, Image, Project, Subnet};
use crate::tls;

/// The v4 VMM API version in template paths (what the Go plugin v1.2.1 calls).
pub(crate) const V4_VERSION: &str = "v4.0";

/// An async Prism Central v3 client.
#[derive(Clone)]
pub struct PrismClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: ClientConfig,
    pub(crate) base: url::Url,
    /// JSON calls (deadlines in [`crate::exchange`]).
    pub(crate) api: reqwest::Client,
    /// Image transfers (a stall watchdog in [`crate::transfer`]). The same connection pool as
    /// `api` today; kept apart so either can change without touching the other.
    pub(crate) transfer: reqwest::Client,
    pub(crate) memo: Mutex<Memo>,
}

/// Lookup results remembered for the life of the client (one build).
#[derive(Default)]
pub(crate) struct Memo {
    pub(crate) clusters: HashMap<String, Cluster>,
    pub(crate) subnets: HashMap<(String, Option<String>), Subnet>,
    pub(crate) projects: HashMap<String, Project>,
    pub(crate) images: HashMap<String, Image>,
}

impl std::fmt::Debug for PrismClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrismClient")
            .field("base", &self.inner.base.as_str())
            .field("config", &self.inner.config)
            .finish()
    }
}

impl PrismClient {
    /// Builds the client; fails on a bad endpoint, CA bundle or header, never on the network.
    pub fn new(config: ClientConfig) -> Result<Self, PrismError> {
        let base = config.api_base()?;
        let tls_config = tls::client_config(&config.tls)?;
        let headers = default_headers(&config)?;
        // Both clients: redirects are never followed by reqwest (it would re-send the API key
        // and custom headers to another origin); the exchange decides (crate::redirect). Host
        // names go through our resolver so a name that does not exist is told apart. No
        // reqwest read timeout: the JSON exchange and the transfer watchdog keep their own.
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls_config)
            .http1_only()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(crate::cause::Resolver)
            .user_agent(config.user_agent.clone())
            .default_headers(headers);
        if !config.use_env_proxy {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| PrismError::Config(format!("HTTP client: {e}")))?;
        let api = client.clone();
        let transfer = client;
        tracing::debug!(base = %base, auth = ?config.auth, "Prism client ready");
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                base,
                api,
                transfer,
                memo: Mutex::new(Memo::default()),
            }),
        })
    }

    /// The configuration the client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// `.../api/nutanix/v3/` followed by the given path segments, each percent-encoded so a
    /// UUID or name can never change the path structure.
    pub(crate) fn url(&self, segments: &[&str]) -> url::Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// `.../api/vmm/v4.0/` followed by the given path segments, percent-encoded like
    /// [`Self::url`]. The v4 calls (VM templates) must reach the same endpoint and port as
    /// the v3 base, so this starts from that base and replaces only its path. `v4.0` is the
    /// version the Go plugin's v3 line calls; Prism serves it on every release that has
    /// templates.
    pub(crate) fn v4_url(&self, segments: &[&str]) -> url::Url {
        let mut url = self.inner.base.clone();
        url.set_query(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.clear();
            path.extend(["api", "vmm", V4_VERSION]);
            path.extend(segments);
        }
        url
    }

    /// Runs `f` on the memo; a poisoned lock (a panic elsewhere) just yields a fresh view.
    pub(crate) fn memo<R>(&self, f: impl FnOnce(&mut Memo) -> R) -> R {
        match self.inner.memo.lock() {
            Ok(mut guard) => f(&mut guard),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

fn default_headers(config: &ClientConfig) -> Result<HeaderMap, PrismError> {
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT,
        HeaderValue::from_static("application/json"),
    );
    match &config.auth {
        Auth::Basic { username, password } => {
            use base64::Engine as _;
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{username}:{}", password.expose()));
            let mut value = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
                PrismError::Config("username or password is not a valid header value".into())
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        Auth::ApiKey(key) => {
            let mut value = HeaderValue::from_str(key.expose())
                .map_err(|_| PrismError::Config("API key is not a valid header value".into()))?;
            value.set_sensitive(true);
            headers.insert(HeaderName::from_static("x-ntnx-api-key"), value);
        }
    }
    for header in &config.custom_headers {
        let name = HeaderName::from_bytes(header.name.as_bytes()).map_err(|_| {
            PrismError::Config(format!("custom header name '{}' is invalid", header.name))
        })?;
        let mut value = HeaderValue::from_str(header.value.expose()).map_err(|_| {
            PrismError::Config(format!(
                "custom header '{}' has an invalid value",
                header.name
            ))
        })?;
        value.set_sensitive(true);
        headers.append(name, value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CustomHeader, Secret, TlsOptions};

    fn config() -> ClientConfig {
        ClientConfig::new("pc.example", 9440, Auth::basic("u", "p"))
    }

    #[test]
    fn path_segments_are_encoded() {
        let client = PrismClient::new(config()).unwrap();
        let url = client.url(&["categories", "My Key", "a/b?c"]);
        assert_eq!(
            url.as_str(),
            "https://pc.example:9440/api/nutanix/v3/categories/My%20Key/a%2Fb%3Fc"
        );
    }

    #[test]
    fn v4_paths_share_the_v3_endpoint_and_encode_segments() {
        let client = PrismClient::new(config()).unwrap();
        let url = client.v4_url(&["content", "templates", "a/b c"]);
        assert_eq!(
            url.as_str(),
            "https://pc.example:9440/api/vmm/v4.0/content/templates/a%2Fb%20c"
        );
        let v6 =
            PrismClient::new(ClientConfig::new("fd00::1", 9441, Auth::basic("u", "p"))).unwrap();
        assert_eq!(
            v6.v4_url(&["content", "templates"]).as_str(),
            "https://[fd00::1]:9441/api/vmm/v4.0/content/templates"
        );
    }

    #[test]
    fn bad_headers_and_ca_bundles_are_config_errors() {
        let mut c = config();
        c.custom_headers.push(CustomHeader {
            name: "bad header".into(),
            value: Secret::new("v"),
        });
        assert!(
            matches!(PrismClient::new(c), Err(PrismError::Config(m)) if m.contains("bad header"))
        );
        let mut c = config();
        c.tls = TlsOptions {
            ca_bundle_pem: Some(b"not a pem".to_vec()),
            danger_accept_invalid_certs: false,
        };
        assert!(
            matches!(PrismClient::new(c), Err(PrismError::Config(m)) if m.contains("CA bundle"))
        );
    }

    #[test]
    fn debug_of_client_hides_password() {
        let client = PrismClient::new(config()).unwrap();
        let text = format!("{client:?}");
        assert!(text.contains("pc.example"));
        // base64("u:p") is the credential on the wire; neither it nor the password may show.
        assert!(!text.contains("dTpw"), "{text}");
        assert!(!text.contains("\"p\""), "{text}");
    }
}
