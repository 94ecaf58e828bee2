//! HTTP(S) front: accepts connections (refusing them while the machine is "restarting"),
//! authenticates (Basic per request, NTLM per connection), routes `/wsman` and the `/_sim/`
//! inspection endpoints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::state::State;
use crate::wsman;

/// Settings the request handlers need.
pub(crate) struct Front {
    pub state: Arc<State>,
    pub username: String,
    pub password: String,
    pub basic: bool,
    pub ntlm: bool,
    pub max_request: usize,
}

/// Per-connection NTLM state (the handshake is bound to the connection).
#[derive(Default)]
pub(crate) struct ConnAuth {
    pub challenge: Option<[u8; 8]>,
    pub authenticated: bool,
}

pub(crate) type Resp = Response<Full<Bytes>>;

/// A reply, or "close the connection without one".
pub(crate) enum Outcome {
    Reply(Resp),
    Drop,
}

pub(crate) fn reply(
    status: StatusCode,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Some(ct) = content_type {
        if let Ok(v) = header::HeaderValue::from_str(ct) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
    }
    r
}

pub(crate) const SOAP: &str = "application/soap+xml;charset=UTF-8";

/// Serves connections from `listener` until `stop`.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    front: Arc<Front>,
    stop: CancellationToken,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    debug!(target: "winrm_sim", error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.cancelled() => return,
        };
        if front.state.tick() {
            // The machine is restarting: nobody answers.
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let front = front.clone();
        let tls = tls.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let auth = Arc::new(Mutex::new(ConnAuth::default()));
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let front = front.clone();
                let auth = auth.clone();
                async move {
                    match handle(&front, &auth, req).await {
                        Outcome::Reply(r) => Ok::<_, DropConn>(r),
                        Outcome::Drop => Err(DropConn),
                    }
                }
            });
            let builder = hyper::server::conn::http1::Builder::new();
            let result = match tls {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => {
                        let conn = builder.serve_connection(TokioIo::new(stream), service);
                        tokio::select! { r = conn => r, () = stop.cancelled() => Ok(()) }
                    }
                    Err(e) => {
                        debug!(target: "winrm_sim", %peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    let conn = builder.serve_connection(TokioIo::new(tcp), service);
                    tokio::select! { r = conn => r, () = stop.cancelled() => Ok(()) }
                }
            };
            if let Err(e) = result {
                debug!(target: "winrm_sim", %peer, error = %e, "connection ended");
            }
        });
    }
}

/// The error a handler returns to make hyper drop the connection.
#[derive(Debug)]
struct DropConn;

impl std::fmt::Display for DropConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose")
    }
}

impl std::error::Error for DropConn {}

async fn handle(front: &Front, auth: &Mutex<ConnAuth>, req: Request<Incoming>) -> Outcome {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let method = req.method().clone();
    if front.state.tick() {
        return Outcome::Drop;
    }
    match (method, path.as_str()) {
        (Method::POST, "/wsman") => wsman_post(front, auth, req).await,
        (Method::GET, "/_sim/state") => Outcome::Reply(json(&front.state.snapshot())),
        (Method::GET, "/_sim/file") => {
            let Some(p) = query_path(&query) else {
                return Outcome::Reply(reply(StatusCode::BAD_REQUEST, None, "path= is required"));
            };
            let data = front.state.machine.lock().ok().and_then(|m| {
                m.vfs
                    .get(&crate::engine::vfs::normalize(&p, "C:\\"))
                    .map(|f| f.data.clone())
            });
            Outcome::Reply(match data {
                Some(d) => reply(StatusCode::OK, Some("application/octet-stream"), d),
                None => reply(StatusCode::NOT_FOUND, None, "no such file"),
            })
        }
        (Method::PUT, "/_sim/file") => {
            let Some(p) = query_path(&query) else {
                return Outcome::Reply(reply(StatusCode::BAD_REQUEST, None, "path= is required"));
            };
            let Ok(body) = Limited::new(req.into_body(), 1 << 30).collect().await else {
                return Outcome::Reply(reply(StatusCode::BAD_REQUEST, None, "unreadable body"));
            };
            if let Ok(mut m) = front.state.machine.lock() {
                m.vfs.write(
                    &crate::engine::vfs::normalize(&p, "C:\\"),
                    body.to_bytes().to_vec(),
                );
            }
            Outcome::Reply(reply(StatusCode::NO_CONTENT, None, Bytes::new()))
        }
        (Method::POST, "/_sim/faults") => {
            let Ok(body) = Limited::new(req.into_body(), 1 << 20).collect().await else {
                return Outcome::Reply(reply(StatusCode::BAD_REQUEST, None, "unreadable body"));
            };
            match serde_json::from_slice::<Vec<crate::faults::Fault>>(&body.to_bytes()) {
                Ok(list) => {
                    if let Ok(mut f) = front.state.faults.lock() {
                        f.extend(list);
                    }
                    Outcome::Reply(reply(StatusCode::NO_CONTENT, None, Bytes::new()))
                }
                Err(e) => {
                    Outcome::Reply(reply(StatusCode::BAD_REQUEST, None, format!("faults: {e}")))
                }
            }
        }
        (Method::DELETE, "/_sim/faults") => {
            if let Ok(mut f) = front.state.faults.lock() {
                f.clear();
            }
            Outcome::Reply(reply(StatusCode::NO_CONTENT, None, Bytes::new()))
        }
        _ => Outcome::Reply(reply(StatusCode::NOT_FOUND, None, Bytes::new())),
    }
}

fn query_path(query: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == "path").then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
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
        out.push(if b == b'+' { b' ' } else { b });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn json(v: &serde_json::Value) -> Resp {
    reply(
        StatusCode::OK,
        Some("application/json"),
        serde_json::to_vec_pretty(v).unwrap_or_default(),
    )
}

async fn wsman_post(front: &Front, auth: &Mutex<ConnAuth>, req: Request<Incoming>) -> Outcome {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let encrypted = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/encrypted"));
    // Read the body first (an HTTP client may not read our reply before sending it all).
    let body = match Limited::new(req.into_body(), front.max_request)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            front.state.count("request_too_large");
            let host = front.state.hostname();
            // GUESS: the fault code Windows uses for an envelope over MaxEnvelopeSizekb.
            let f = wsman::fault(
                "",
                "s:Sender",
                "w:EncodingLimit",
                2_150_858_817,
                "The WS-Management service cannot process the request because the envelope size in the request is too large.",
                &host,
            );
            return Outcome::Reply(reply(StatusCode::BAD_REQUEST, Some(SOAP), f));
        }
    };
    if let Err(r) = crate::auth::authenticate(front, auth, authorization.as_deref()) {
        return Outcome::Reply(r);
    }
    if encrypted {
        // Message encryption (pywinrm's default over HTTP) is not simulated.
        return Outcome::Reply(reply(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "winrm-sim: encrypted WinRM messages are not supported; send plain SOAP (AllowUnencrypted)",
        ));
    }
    if body.is_empty() {
        // The first leg of an NTLM handshake may carry no envelope; nothing to do.
        return Outcome::Reply(reply(StatusCode::OK, Some(SOAP), Bytes::new()));
    }
    let text = String::from_utf8_lossy(&body);
    let host = front.state.hostname();
    let parsed = match wsman::parse_request(&text) {
        Ok(r) => r,
        Err(e) => {
            front.state.count("malformed");
            let f = wsman::fault(
                "",
                "s:Sender",
                "w:SchemaValidationError",
                2_150_858_817,
                &e,
                &host,
            );
            return Outcome::Reply(reply(StatusCode::BAD_REQUEST, Some(SOAP), f));
        }
    };
    front.state.count(parsed.op());
    crate::ops::operation(front, parsed).await
}
