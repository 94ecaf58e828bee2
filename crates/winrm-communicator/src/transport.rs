//! The thin HTTP driver: POSTs envelopes to `/wsman` over a small pool of our own keep-alive
//! connections, authenticating each connection (NTLM) or each request (Basic).
//!
//! Connections are ours rather than a generic client's pool because NTLM authenticates a
//! connection, not a request: the three legs of the handshake must share one socket, and the
//! request that completes it is the one that carries the envelope. Redirects are never followed.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{
    AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT, WWW_AUTHENTICATE,
};
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::sync::Mutex;
use tracing::{debug, trace};

use crate::config::WinRmConfig;
use crate::error::WinRmError;
use crate::ntlm;
use crate::stream::Dialer;

/// How requests authenticate.
#[derive(Clone)]
enum Auth {
    /// `Authorization: Basic ...` on every request (precomputed; never logged).
    Basic(String),
    /// NTLMv2 per connection.
    Ntlm { username: String, password: String },
}

/// One keep-alive connection.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    /// NTLM completed on this connection.
    authenticated: bool,
}

/// A reply body (a 200, or a fault's 400/500).
pub(crate) struct Reply {
    pub body: String,
}

/// Posts envelopes to one WinRM endpoint.
pub(crate) struct Transport {
    endpoint: String,
    authority: String,
    /// Request target: `/wsman`, or the absolute URL when an HTTP proxy carries plain HTTP.
    uri: String,
    proxy_authorization: Option<String>,
    username: String,
    auth: Auth,
    dialer: Dialer,
    idle: Mutex<Vec<Conn>>,
    /// Longest a single request may take (OperationTimeout plus slack).
    request_timeout: Duration,
    /// Largest reply body accepted.
    max_reply: usize,
}

const USER_AGENT_VALUE: &str = concat!("packer-plugin-nutanix-winrm/", env!("CARGO_PKG_VERSION"));
const SOAP_CONTENT_TYPE: &str = "application/soap+xml;charset=UTF-8";
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;

impl Transport {
    /// Prepares (does not connect) a transport for `cfg`.
    pub(crate) fn new(cfg: &WinRmConfig) -> Result<Arc<Self>, WinRmError> {
        let tls = if cfg.use_ssl {
            Some(crate::tls::client_config(cfg.insecure)?)
        } else {
            None
        };
        let host = cfg
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let proxy = if cfg.no_proxy {
            None
        } else {
            crate::proxy::from_env(&host, cfg.effective_port(), cfg.use_ssl)
        };
        if let Some(p) = &proxy {
            debug!(target: "winrm", proxy = %p.addr, "WinRM goes through a proxy (winrm_no_proxy disables)");
        }
        let endpoint = cfg.endpoint();
        // Plain HTTP through a proxy uses the absolute form; HTTPS tunnels with CONNECT.
        let (uri, proxy_authorization) = match (&proxy, cfg.use_ssl) {
            (Some(p), false) => (endpoint.clone(), p.authorization.clone()),
            _ => ("/wsman".to_string(), None),
        };
        let auth = if cfg.use_ntlm {
            Auth::Ntlm {
                username: cfg.username.clone(),
                password: cfg.password.clone(),
            }
        } else {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", cfg.username, cfg.password));
            Auth::Basic(format!("Basic {token}"))
        };
        Ok(Arc::new(Self {
            endpoint,
            authority: cfg.authority(),
            uri,
            proxy_authorization,
            username: cfg.username.clone(),
            auth,
            dialer: Dialer {
                target: cfg.authority(),
                host,
                tls,
                proxy,
                timeout: cfg.connect_timeout,
            },
            idle: Mutex::new(Vec::new()),
            request_timeout: cfg.operation_timeout + Duration::from_secs(30),
            max_reply: (cfg.max_envelope * 4).max(1024 * 1024),
        }))
    }

    /// The endpoint URL, for messages.
    pub(crate) fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn http_error(&self, operation: &'static str, reason: impl Into<String>) -> WinRmError {
        WinRmError::Http {
            operation,
            endpoint: self.endpoint.clone(),
            reason: reason.into(),
        }
    }

    /// Drops every idle connection (after the machine restarted, for instance).
    pub(crate) async fn reset(&self) {
        self.idle.lock().await.clear();
    }

    async fn open(&self, operation: &'static str) -> Result<Conn, WinRmError> {
        let stream = self.dialer.dial().await?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.http_error(operation, format!("HTTP handshake: {e}")))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                trace!(target: "winrm", error = %e, "WinRM connection ended");
            }
        });
        Ok(Conn {
            sender,
            authenticated: false,
        })
    }

    fn request(
        &self,
        body: Bytes,
        authorization: Option<&str>,
    ) -> Result<Request<Full<Bytes>>, http::Error> {
        let mut b = Request::post(self.uri.as_str())
            .header(HOST, self.authority.as_str())
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(CONTENT_TYPE, SOAP_CONTENT_TYPE)
            .header(CONTENT_LENGTH, body.len());
        if let Some(a) = authorization {
            b = b.header(AUTHORIZATION, a);
        }
        if let Some(p) = &self.proxy_authorization {
            b = b.header("Proxy-Authorization", p.as_str());
        }
        b.body(Full::new(body))
    }

    /// Sends one request on `conn` and reads the whole reply (bounded).
    async fn exchange(
        &self,
        conn: &mut Conn,
        operation: &'static str,
        body: Bytes,
        authorization: Option<&str>,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), SendError> {
        let req = self.request(body, authorization).map_err(|e| {
            SendError::Fatal(self.http_error(operation, format!("building the request: {e}")))
        })?;
        let work = async {
            conn.sender
                .ready()
                .await
                .map_err(|e| SendError::Stale(e.to_string()))?;
            let resp = conn.sender.send_request(req).await.map_err(|e| {
                if e.is_canceled() || e.is_closed() || e.is_incomplete_message() {
                    SendError::Stale(e.to_string())
                } else {
                    SendError::Fatal(self.http_error(operation, e.to_string()))
                }
            })?;
            let (parts, incoming) = resp.into_parts();
            let collected = Limited::new(incoming, self.max_reply)
                .collect()
                .await
                .map_err(|e| {
                    let reason = if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                        format!(
                            "the reply is larger than {} bytes (MaxEnvelopeSize is {}); refusing it",
                            self.max_reply,
                            self.max_reply / 4
                        )
                    } else {
                        format!("reading the reply: {e}")
                    };
                    SendError::Fatal(self.http_error(operation, reason))
                })?;
            Ok((parts.status, parts.headers, collected.to_bytes()))
        };
        match tokio::time::timeout(self.request_timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Fatal(self.http_error(
                operation,
                format!("no reply within {:?}", self.request_timeout),
            ))),
        }
    }

    /// Completes NTLM on `conn`, sending `body` with the final leg; returns that leg's reply.
    async fn ntlm_handshake(
        &self,
        conn: &mut Conn,
        operation: &'static str,
        body: Bytes,
        username: &str,
        password: &str,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), SendError> {
        let b64 = &base64::engine::general_purpose::STANDARD;
        let mut scheme = "Negotiate";
        let mut challenge = None;
        for attempt in 0..2 {
            let negotiate = format!("{scheme} {}", b64.encode(ntlm::negotiate_message()));
            let (status, headers, _) = self
                .exchange(conn, operation, Bytes::new(), Some(&negotiate))
                .await?;
            if status != StatusCode::UNAUTHORIZED {
                return Err(SendError::Fatal(self.http_error(
                    operation,
                    format!("expected an NTLM challenge (HTTP 401), got HTTP {status}"),
                )));
            }
            let offers = auth_headers(&headers);
            if let Some(token) = offers.iter().find_map(|h| token_for(h, scheme)) {
                challenge = Some(token);
                break;
            }
            if attempt == 0
                && scheme == "Negotiate"
                && offers.iter().any(|h| h.eq_ignore_ascii_case("NTLM"))
            {
                scheme = "NTLM";
                continue;
            }
            return Err(SendError::Fatal(WinRmError::Unauthorized {
                user: self.username.clone(),
                scheme: "NTLM",
                endpoint: self.endpoint.clone(),
                hint: format!("; the server offered {:?}", offers),
            }));
        }
        let token = challenge.unwrap_or_default();
        let raw = b64.decode(token.trim()).map_err(|e| {
            SendError::Fatal(WinRmError::Ntlm {
                endpoint: self.endpoint.clone(),
                source: ntlm::NtlmError::Malformed {
                    message: "CHALLENGE",
                    reason: format!("not base64: {e}"),
                },
            })
        })?;
        let parsed = ntlm::Challenge::parse(&raw).map_err(|source| {
            SendError::Fatal(WinRmError::Ntlm {
                endpoint: self.endpoint.clone(),
                source,
            })
        })?;
        let client_challenge: [u8; 8] = rand::random();
        let auth = ntlm::authenticate_message(&parsed, username, password, client_challenge);
        let header = format!("{scheme} {}", b64.encode(auth));
        let reply = self.exchange(conn, operation, body, Some(&header)).await?;
        if reply.0 == StatusCode::UNAUTHORIZED {
            return Err(SendError::Fatal(WinRmError::Unauthorized {
                user: self.username.clone(),
                scheme: "NTLM",
                endpoint: self.endpoint.clone(),
                hint: String::new(),
            }));
        }
        conn.authenticated = true;
        Ok(reply)
    }

    /// One attempt on `conn`, authenticating as needed.
    async fn attempt(
        &self,
        conn: &mut Conn,
        operation: &'static str,
        body: &Bytes,
    ) -> Result<(StatusCode, http::HeaderMap, Bytes), SendError> {
        match &self.auth {
            Auth::Basic(header) => {
                self.exchange(conn, operation, body.clone(), Some(header))
                    .await
            }
            Auth::Ntlm { username, password } => {
                if conn.authenticated {
                    let reply = self.exchange(conn, operation, body.clone(), None).await?;
                    if reply.0 != StatusCode::UNAUTHORIZED {
                        return Ok(reply);
                    }
                    // The server wants every request authenticated: redo the handshake here.
                    conn.authenticated = false;
                }
                self.ntlm_handshake(conn, operation, body.clone(), username, password)
                    .await
            }
        }
    }

    /// POSTs `envelope` and returns the reply body (faults included: the caller parses them).
    pub(crate) async fn post(
        &self,
        operation: &'static str,
        envelope: String,
    ) -> Result<Reply, WinRmError> {
        let body = Bytes::from(envelope);
        let pooled = self.idle.lock().await.pop();
        let (mut conn, mut reused) = match pooled {
            Some(c) => (c, true),
            None => (self.open(operation).await?, false),
        };
        let (status, headers, bytes) = loop {
            match self.attempt(&mut conn, operation, &body).await {
                Ok(r) => break r,
                Err(SendError::Stale(reason)) if reused => {
                    debug!(target: "winrm", %reason, "pooled WinRM connection was closed; reconnecting");
                    conn = self.open(operation).await?;
                    reused = false;
                }
                Err(SendError::Stale(reason)) => return Err(self.http_error(operation, reason)),
                Err(SendError::Fatal(e)) => return Err(e),
            }
        };
        let keep = !conn.sender.is_closed()
            && !headers
                .get(http::header::CONNECTION)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if keep {
            let mut idle = self.idle.lock().await;
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
        self.classify(operation, status, &headers, bytes)
    }

    fn classify(
        &self,
        operation: &'static str,
        status: StatusCode,
        headers: &http::HeaderMap,
        bytes: Bytes,
    ) -> Result<Reply, WinRmError> {
        let soap = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().contains("application/soap+xml"));
        if status == StatusCode::UNAUTHORIZED {
            let offers = auth_headers(headers);
            let scheme = match self.auth {
                Auth::Basic(_) => "Basic",
                Auth::Ntlm { .. } => "NTLM",
            };
            let hint = if scheme == "Basic"
                && !offers
                    .iter()
                    .any(|o| o.to_ascii_lowercase().starts_with("basic"))
            {
                format!("; the server does not offer Basic (it offers {offers:?}): set winrm_use_ntlm, or enable Basic on the host")
            } else {
                String::new()
            };
            return Err(WinRmError::Unauthorized {
                user: self.username.clone(),
                scheme,
                endpoint: self.endpoint.clone(),
                hint,
            });
        }
        if status.is_redirection() {
            let to = headers
                .get(http::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("?");
            return Err(self.http_error(
                operation,
                format!("HTTP {status} redirect to {to:?}; redirects are not followed"),
            ));
        }
        if status.is_success() || (soap && (status.is_client_error() || status.is_server_error())) {
            let body = String::from_utf8(bytes.to_vec())
                .map_err(|_| self.http_error(operation, "the reply is not UTF-8"))?;
            if !soap && !status.is_success() {
                return Err(self.http_error(operation, format!("HTTP {status}")));
            }
            return Ok(Reply { body });
        }
        let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
        Err(self.http_error(
            operation,
            format!(
                "HTTP {status}{}",
                if excerpt.trim().is_empty() {
                    String::new()
                } else {
                    format!(": {}", excerpt.trim())
                }
            ),
        ))
    }
}

/// Why one attempt failed: a pooled connection the server had closed (retry on a fresh one),
/// or anything else.
enum SendError {
    Stale(String),
    Fatal(WinRmError),
}

fn auth_headers(headers: &http::HeaderMap) -> Vec<String> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .collect()
}

/// The token of a `WWW-Authenticate: <scheme> <token>` offer.
fn token_for(offer: &str, scheme: &str) -> Option<String> {
    let (s, token) = offer.split_once(' ')?;
    (s.eq_ignore_ascii_case(scheme) && !token.trim().is_empty()).then(|| token.trim().to_string())
}
