//! HTTP(S) front: accepts connections (refusing them while the machine is "restarting"),
//! authenticates (Basic per request, NTLM per connection), routes `/wsman` and the `/_sim/`
//! inspection endpoints.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};
use winrm_communicator::ntlm;

use crate::faults::FaultKind;
use crate::state::{State, MAX_RECEIVE_WAIT};
use crate::wsman::{self, Body, Req};

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
struct ConnAuth {
    challenge: Option<[u8; 8]>,
    authenticated: bool,
}

type Resp = Response<Full<Bytes>>;

/// A reply, or "close the connection without one".
enum Outcome {
    Reply(Resp),
    Drop,
}

fn reply(status: StatusCode, content_type: Option<&str>, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Some(ct) = content_type {
        if let Ok(v) = header::HeaderValue::from_str(ct) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
    }
    r
}

const SOAP: &str = "application/soap+xml;charset=UTF-8";

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

fn unauthorized(front: &Front, ntlm_token: Option<(&str, String)>) -> Resp {
    let mut r = reply(StatusCode::UNAUTHORIZED, None, Bytes::new());
    let h = r.headers_mut();
    match ntlm_token {
        Some((scheme, token)) => {
            if let Ok(v) = header::HeaderValue::from_str(&format!("{scheme} {token}")) {
                h.append(header::WWW_AUTHENTICATE, v);
            }
        }
        None => {
            if front.ntlm {
                h.append(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Negotiate"),
                );
            }
            if front.basic {
                h.append(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"WSMAN\""),
                );
            }
        }
    }
    r
}

/// Authenticates the request; `Err` is the reply to send instead.
#[allow(clippy::result_large_err)] // the error IS the reply; boxing it buys nothing here
fn authenticate(
    front: &Front,
    auth: &Mutex<ConnAuth>,
    authorization: Option<&str>,
) -> Result<(), Resp> {
    let Ok(mut conn) = auth.lock() else {
        return Err(reply(StatusCode::INTERNAL_SERVER_ERROR, None, Bytes::new()));
    };
    let Some(value) = authorization else {
        if conn.authenticated {
            return Ok(());
        }
        front.state.count("auth_challenged");
        return Err(unauthorized(front, None));
    };
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let b64 = &base64::engine::general_purpose::STANDARD;
    if scheme.eq_ignore_ascii_case("Basic") && front.basic {
        let ok = b64
            .decode(token.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(u, p)| (u.to_string(), p.to_string()))
            })
            .is_some_and(|(u, p)| u.eq_ignore_ascii_case(&front.username) && p == front.password);
        if ok {
            front.state.count("auth_basic_ok");
            return Ok(());
        }
        front.state.count("auth_rejected");
        return Err(unauthorized(front, None));
    }
    let is_ntlm = scheme.eq_ignore_ascii_case("Negotiate") || scheme.eq_ignore_ascii_case("NTLM");
    if !(is_ntlm && front.ntlm) {
        front.state.count("auth_rejected");
        return Err(unauthorized(front, None));
    }
    let Ok(raw) = b64.decode(token.trim()) else {
        front.state.count("auth_rejected");
        return Err(reply(
            StatusCode::BAD_REQUEST,
            None,
            "the NTLM token is not base64",
        ));
    };
    match raw.get(8..12) {
        Some([1, 0, 0, 0]) => {
            let challenge: [u8; 8] = rand::random();
            conn.challenge = Some(challenge);
            conn.authenticated = false;
            let msg = if front.state.take_ntlm_fault() {
                b"this is not an NTLM challenge".to_vec()
            } else {
                let host = front.state.hostname();
                ntlm::Challenge::build(challenge, &host, ntlm::filetime_now())
            };
            Err(unauthorized(front, Some((scheme, b64.encode(msg)))))
        }
        Some([3, 0, 0, 0]) => {
            let verified = conn.challenge.take().is_some_and(|challenge| {
                ntlm::Authenticate::parse(&raw).is_ok_and(|a| {
                    let (user, _) = ntlm::split_user(&front.username);
                    a.user.eq_ignore_ascii_case(user) && a.verify(&front.password, &challenge)
                })
            });
            if verified {
                conn.authenticated = true;
                front.state.count("auth_ntlm_ok");
                Ok(())
            } else {
                front.state.count("auth_rejected");
                Err(unauthorized(front, None))
            }
        }
        _ => {
            front.state.count("auth_rejected");
            Err(unauthorized(front, None))
        }
    }
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
    if let Err(r) = authenticate(front, auth, authorization.as_deref()) {
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
    operation(front, parsed).await
}

fn fault_reply(req: &Req, host: &str, code: u32, message: &str) -> Outcome {
    let f = wsman::fault(
        &req.message_id,
        "s:Sender",
        "w:InvalidParameter",
        code,
        message,
        host,
    );
    Outcome::Reply(reply(StatusCode::INTERNAL_SERVER_ERROR, Some(SOAP), f))
}

fn injected(front: &Front, req: &Req, kind: FaultKind) -> Outcome {
    info!(target: "winrm_sim", op = req.op(), ?kind, "injecting a fault");
    let host = front.state.hostname();
    match kind {
        FaultKind::SoapFault { code, message } => fault_reply(req, &host, code, &message),
        FaultKind::DropConnection => Outcome::Drop,
        FaultKind::HugeReply { bytes } => {
            let mut body = wsman::ack_response(req);
            let pad = bytes.saturating_sub(body.len() + 7);
            body.push_str("<!--");
            body.push_str(&"x".repeat(pad));
            body.push_str("-->");
            Outcome::Reply(reply(StatusCode::OK, Some(SOAP), body))
        }
        FaultKind::HttpStatus { status } => Outcome::Reply(reply(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            None,
            Bytes::new(),
        )),
        FaultKind::GarbageNtlmChallenge => Outcome::Drop,
    }
}

fn command_of(req: &Req) -> Option<&str> {
    match &req.body {
        Body::Receive { command_id }
        | Body::Send { command_id, .. }
        | Body::Signal { command_id, .. } => command_id.as_deref(),
        _ => None,
    }
}

async fn operation(front: &Front, req: Req) -> Outcome {
    let state = &front.state;
    let host = state.hostname();
    // Which command line a fault may be keyed on.
    let line = match &req.body {
        Body::Command { command, .. } => Some(command.clone()),
        _ => command_of(&req).and_then(|cid| {
            let shells = state.shells.lock().ok()?;
            let rec = shells
                .get(req.shell_id.as_deref()?)?
                .commands
                .get(cid)?
                .record;
            drop(shells);
            state.command_line(rec)
        }),
    };
    if let Some(kind) = state.take_fault(req.op(), line.as_deref()) {
        return injected(front, &req, kind);
    }
    let shell_missing = || {
        fault_reply(
            &req,
            &host,
            2_150_858_843,
            "The request for the Windows Remote Shell with ShellId failed because the shell was not found on the server. Possible causes are: the specified ShellId is incorrect or the shell no longer exists on the server.",
        )
    };
    match &req.body {
        Body::CreateShell => {
            let Ok(mut shells) = state.shells.lock() else {
                return shell_missing();
            };
            if shells.len() >= state.max_shells_per_user {
                drop(shells);
                // GUESS: code and text of the per-user shell quota fault.
                return fault_reply(
                    &req,
                    &host,
                    2_150_859_174,
                    "The WS-Management service cannot process the request. This user is allowed a maximum number of 30 concurrent shells, which has been exceeded.",
                );
            }
            let id = uuid::Uuid::new_v4().to_string().to_uppercase();
            shells.insert(
                id.clone(),
                crate::state::Shell {
                    owner: state.user.clone(),
                    commands: Default::default(),
                },
            );
            drop(shells);
            let endpoint = "http://127.0.0.1/wsman".to_string();
            Outcome::Reply(reply(
                StatusCode::OK,
                Some(SOAP),
                wsman::create_response(&req, &id, &endpoint, &state.user),
            ))
        }
        Body::Command { command, arguments } => {
            debug!(target: "winrm_sim", options = ?req.options, %command, "Command");
            let Some(shell) = req.shell_id.as_deref() else {
                return shell_missing();
            };
            match state.start_command(shell, command.clone(), arguments.clone()) {
                Some(id) => Outcome::Reply(reply(
                    StatusCode::OK,
                    Some(SOAP),
                    wsman::command_response(&req, &id),
                )),
                None => shell_missing(),
            }
        }
        Body::Receive { command_id } => receive(front, &req, command_id.as_deref()).await,
        Body::Send {
            command_id,
            data,
            end,
        } => {
            let Ok(mut shells) = state.shells.lock() else {
                return shell_missing();
            };
            let Some(cmd) = req
                .shell_id
                .as_deref()
                .and_then(|s| shells.get_mut(s))
                .and_then(|s| command_id.as_deref().and_then(|c| s.commands.get_mut(c)))
            else {
                drop(shells);
                return shell_missing();
            };
            if let Some(tx) = &cmd.stdin {
                let _ = tx.send(data.clone());
            }
            if *end {
                cmd.stdin = None;
            }
            drop(shells);
            Outcome::Reply(reply(StatusCode::OK, Some(SOAP), wsman::ack_response(&req)))
        }
        Body::Signal { command_id, code } => {
            debug!(target: "winrm_sim", %code, "Signal");
            let Ok(mut shells) = state.shells.lock() else {
                return shell_missing();
            };
            let removed = req
                .shell_id
                .as_deref()
                .and_then(|s| shells.get_mut(s))
                .and_then(|s| command_id.as_deref().and_then(|c| s.commands.remove(c)));
            drop(shells);
            match removed {
                Some(c) => {
                    c.task.abort();
                    state.mark_terminated(c.record);
                    Outcome::Reply(reply(StatusCode::OK, Some(SOAP), wsman::ack_response(&req)))
                }
                None => shell_missing(),
            }
        }
        Body::Delete => {
            let removed = state
                .shells
                .lock()
                .ok()
                .and_then(|mut s| req.shell_id.as_deref().and_then(|id| s.remove(id)));
            match removed {
                Some(shell) => {
                    for (_, c) in shell.commands {
                        c.task.abort();
                        state.mark_terminated(c.record);
                    }
                    Outcome::Reply(reply(StatusCode::OK, Some(SOAP), wsman::ack_response(&req)))
                }
                None => shell_missing(),
            }
        }
        Body::Unsupported => fault_reply(
            &req,
            &host,
            2_150_858_752,
            &format!(
                "The WS-Management service does not support the action {}.",
                req.action
            ),
        ),
    }
}

async fn receive(front: &Front, req: &Req, command_id: Option<&str>) -> Outcome {
    let state = &front.state;
    let host = state.hostname();
    let found = state.shells.lock().ok().and_then(|s| {
        let c = s.get(req.shell_id.as_deref()?)?.commands.get(command_id?)?;
        Some((c.io.clone(), c.record))
    });
    let Some((io, record)) = found else {
        return fault_reply(req, &host, 2_150_858_843, "The request for the Windows Remote Shell with ShellId failed because the shell was not found on the server.");
    };
    let wait = req
        .operation_timeout
        .unwrap_or(Duration::from_secs(60))
        .min(MAX_RECEIVE_WAIT);
    let deadline = tokio::time::Instant::now() + wait;
    let max_env = req.max_envelope.unwrap_or(153_600).max(8192);
    let budget = max_env.saturating_sub(2048) / 4 * 3;
    loop {
        let notified = io.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let (chunks, done) = {
            let mut taken = Vec::new();
            let mut size = 0usize;
            if let Ok(mut q) = io.queue.lock() {
                while let Some((stderr, data)) = q.pop_front() {
                    let room = budget.saturating_sub(size);
                    if room == 0 {
                        q.push_front((stderr, data));
                        break;
                    }
                    if data.len() > room {
                        let (head, tail) = data.split_at(room);
                        q.push_front((stderr, tail.to_vec()));
                        taken.push((stderr, head.to_vec()));
                        break;
                    }
                    size += data.len();
                    taken.push((stderr, data));
                }
            }
            let empty = io.queue.lock().map(|q| q.is_empty()).unwrap_or(true);
            let done = if empty {
                io.done.lock().ok().and_then(|d| *d)
            } else {
                None
            };
            (taken, done)
        };
        if !chunks.is_empty() || done.is_some() {
            state.note_output(record, &chunks);
            let cid = command_id.unwrap_or_default();
            return Outcome::Reply(reply(
                StatusCode::OK,
                Some(SOAP),
                wsman::receive_response(req, cid, &chunks, done),
            ));
        }
        tokio::select! {
            () = &mut notified => {}
            // Wake now and then to notice a simulated restart.
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            () = tokio::time::sleep_until(deadline) => {
                state.count("receive_timeouts");
                let f = wsman::timeout_fault(req, &host);
                return Outcome::Reply(reply(StatusCode::INTERNAL_SERVER_ERROR, Some(SOAP), f));
            }
        }
        if state.tick() {
            return Outcome::Drop;
        }
    }
}
