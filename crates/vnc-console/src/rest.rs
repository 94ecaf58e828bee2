//! The few REST calls the console needs (a session cookie, a console token and its task), on a
//! reqwest client built like the Prism client's: the same TLS trust, the same proxy as the
//! websocket, and no redirects followed.

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::error::ConsoleError;
use crate::proxy::ProxyUrl;
use crate::target::{auth_headers, check_headers, ConsoleTarget};

/// A finished HTTP exchange.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (Null when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// Why a non-success answer failed: status, Prism's message, or where a redirect pointed.
    pub fn failure(&self) -> String {
        if (300..400).contains(&self.status) {
            let location = self
                .headers
                .get("location")
                .and_then(|l| l.to_str().ok())
                .map(|l| l.split('?').next().unwrap_or_default().to_string())
                .unwrap_or_else(|| "nowhere".into());
            return format!(
                "HTTP {} redirect to {location}, not followed (credentials stay with Prism Central)",
                self.status
            );
        }
        let message = prism_message(&self.json()).unwrap_or_else(|| {
            String::from_utf8_lossy(&self.body)
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect()
        });
        let hint = match self.status {
            401 => " (are nutanix_username and nutanix_password right?)",
            403 => " (the user may lack the console permission)",
            _ => "",
        };
        if message.is_empty() {
            format!("HTTP {}{hint}", self.status)
        } else {
            format!("HTTP {}{hint}: {message}", self.status)
        }
    }
}

/// Prism's own words from a v3 (`message_list`) or v4 (`data.error`) error body.
pub(crate) fn prism_message(body: &Value) -> Option<String> {
    let mut out = Vec::new();
    if let Some(list) = body.get("message_list").and_then(Value::as_array) {
        out.extend(
            list.iter()
                .filter_map(|m| m.get("message")?.as_str())
                .map(String::from),
        );
    }
    match body.pointer("/data/error") {
        Some(Value::Array(list)) => out.extend(
            list.iter()
                .filter_map(|m| m.get("message")?.as_str())
                .map(String::from),
        ),
        Some(one) => out.extend(one.get("message").and_then(Value::as_str).map(String::from)),
        None => {}
    }
    (!out.is_empty()).then(|| out.join("; "))
}

/// The console's HTTP client.
#[derive(Clone)]
pub(crate) struct Rest {
    client: reqwest::Client,
    headers: Arc<HeaderMap>,
}

impl Rest {
    /// A client for `target`, through `proxy` when given.
    pub(crate) fn new(
        target: &ConsoleTarget,
        proxy: Option<&ProxyUrl>,
    ) -> Result<Self, ConsoleError> {
        let tls = prism::tls::client_config(&target.tls)
            .map_err(|e| ConsoleError::Config(e.to_string()))?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .http1_only()
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(target.user_agent.clone())
            .no_proxy();
        if let Some(p) = proxy {
            let mut proxy = reqwest::Proxy::all(p.to_url_string())
                .map_err(|e| ConsoleError::Config(format!("proxy {p:?}: {e}")))?;
            // The same `Proxy-Authorization` the websocket's CONNECT sends.
            if let Some((user, password)) = &p.credentials {
                use base64::Engine as _;
                let token =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                let mut value = HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
                    ConsoleError::Config(format!("proxy {p:?}: credentials are not a valid header"))
                })?;
                value.set_sensitive(true);
                proxy = proxy.custom_http_auth(value);
            }
            builder = builder.proxy(proxy);
        }
        let client = builder
            .build()
            .map_err(|e| ConsoleError::Config(format!("HTTP client: {e}")))?;
        let pairs = auth_headers(target);
        check_headers(&pairs)?;
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ConsoleError::Config(format!("header name '{name}' is invalid")))?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| {
                ConsoleError::Config(format!("header '{name}' has an invalid value"))
            })?;
            value.set_sensitive(true);
            headers.append(name, value);
        }
        headers.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        Ok(Self {
            client,
            headers: Arc::new(headers),
        })
    }

    /// Sends one request with the credentials (to the target's origin only: every URL here is
    /// built from it).
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        url: url::Url,
        extra: &[(&'static str, String)],
    ) -> Result<Answer, ConsoleError> {
        let what = format!("{method} {}", url.as_str());
        let mut req = self
            .client
            .request(method.clone(), url)
            .headers((*self.headers).clone());
        for (name, value) in extra {
            req = req.header(*name, value);
        }
        if method == reqwest::Method::POST {
            req = req.header(reqwest::header::CONTENT_LENGTH, "0");
        }
        let resp = req.send().await.map_err(|e| ConsoleError::Io {
            what: what.clone(),
            message: error_chain(&e),
        })?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(|e| ConsoleError::Io {
            what,
            message: error_chain(&e),
        })?;
        Ok(Answer {
            status,
            headers,
            body: body.to_vec(),
        })
    }
}

/// An error and its causes on one line (reqwest's own message hides the root cause).
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        cur = s.source();
    }
    parts.join(": ")
}
