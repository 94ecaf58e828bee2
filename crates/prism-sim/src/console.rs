//! VM consoles: the websocket at `/vnc/vm/{uuid}/proxy` and the RFB server behind it, which
//! records every key event per VM for `/_sim/state`.
//!
//! Two ways in, as Prism Central offers them:
//! * v3: a session cookie from `GET /api/nutanix/v3/users/me` (`NTNX_MERCURY_IAM_SESSION`),
//!   `?proxyClusterUuid=` naming the VM's cluster;
//! * v4: `?VmConsoleToken=` holding a token from the `generate-console-token` task (see
//!   `model::console`), whose `WsUri` is this same path (GUESS).
//!
//! The RFB server is `rfb::Server` (3.3/3.7/3.8, None or, with `--console-password`, VNC
//! authentication). GUESSES, for want of a real answer: a request with neither credential is
//! 401; a token for another VM is 403; an `Origin` other than `http://localhost` or the
//! simulator's own origin is 403; an unknown VM is 404, as is a `proxyClusterUuid` naming
//! another cluster; a powered-off VM's websocket opens and is closed at once (code 1011)
//! before any RFB byte.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use rfb::server::{Server, ServerConfig, ServerEvent};
use rfb::ws::{self, Decoder, Opcode, Role, WsEvent};
use rfb::{keysym, Version};

use crate::http::{lock, Shared};
use crate::model::json::parse_uuid;
use crate::prism_error::ApiError;

/// Path prefix of console websockets.
pub const CONSOLE_PREFIX: &str = "/vnc/";
/// The v3 session cookie.
pub const SESSION_COOKIE: &str = "NTNX_MERCURY_IAM_SESSION";
/// Key events kept per VM (older ones are dropped and counted).
const MAX_KEYS: usize = 100_000;
/// Sessions remembered.
const MAX_SESSIONS: usize = 10_000;
/// Framebuffer size served.
const WIDTH: u16 = 640;
const HEIGHT: u16 = 480;

/// A console fault for the current request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConsoleFault {
    Hang,
    CloseMidHandshake,
    Banner(String),
}

/// One recorded key event.
#[derive(Debug, Clone, Copy)]
struct Key {
    keysym: u32,
    down: bool,
    /// When it arrived, in milliseconds of the simulator's clock (so a test can see the pauses
    /// between keys and the waits of a boot command).
    at_ms: u64,
}

/// What one VM's console saw.
#[derive(Debug, Default)]
struct VmConsole {
    /// The VM's name when its console was last opened (kept after the VM is deleted).
    name: String,
    connections: u64,
    /// Sessions running now (upgraded and not yet ended): 0 once every client let go.
    open: u64,
    by_transport: HashMap<&'static str, u64>,
    auth_failures: u64,
    keys: VecDeque<Key>,
    dropped: u64,
}

/// Every console's record, and the v3 sessions handed out.
#[derive(Debug, Default)]
pub(crate) struct Consoles {
    vms: HashMap<String, VmConsole>,
    sessions: VecDeque<String>,
}

impl Consoles {
    /// A new v3 session cookie value.
    pub(crate) fn new_session(&mut self) -> String {
        let bytes: [u8; 24] = rand::random();
        let id = hex::encode(bytes);
        if self.sessions.len() >= MAX_SESSIONS {
            self.sessions.pop_front();
        }
        self.sessions.push_back(id.clone());
        id
    }

    fn has_session(&self, id: &str) -> bool {
        self.sessions.iter().any(|s| s == id)
    }

    fn vm(&mut self, uuid: &str) -> &mut VmConsole {
        self.vms.entry(uuid.to_string()).or_default()
    }

    /// The `console` object `/_sim/state` shows for a VM.
    pub(crate) fn state(&self, uuid: &str) -> Value {
        let Some(c) = self.vms.get(uuid) else {
            return json!({"connections": 0, "open": 0, "key_events": [], "typed": ""});
        };
        Self::render(c)
    }

    /// Every console that was opened, VMs deleted since included (so a template's CI can check
    /// what its build typed after the build cleaned up), sorted by VM name.
    pub(crate) fn all(&self) -> Value {
        let mut list: Vec<(&String, &VmConsole)> = self.vms.iter().collect();
        list.sort_by(|a, b| (&a.1.name, a.0).cmp(&(&b.1.name, b.0)));
        Value::Array(
            list.into_iter()
                .map(|(uuid, c)| {
                    let mut v = Self::render(c);
                    if let Some(o) = v.as_object_mut() {
                        o.insert("vm_uuid".into(), json!(uuid));
                        o.insert("vm_name".into(), json!(c.name));
                    }
                    v
                })
                .collect(),
        )
    }

    fn render(c: &VmConsole) -> Value {
        json!({
            "connections": c.connections,
            "open": c.open,
            "connections_by_transport": c.by_transport,
            "auth_failures": c.auth_failures,
            "key_events": c.keys.iter().map(|k| json!({"keysym": k.keysym, "down": k.down, "at_ms": k.at_ms})).collect::<Vec<_>>(),
            "key_events_dropped": c.dropped,
            "typed": keysym::render(c.keys.iter().map(|k| (k.keysym, k.down))),
        })
    }
}

fn api_error(e: &ApiError) -> Response {
    let code = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        e.body().to_string(),
    )
        .into_response()
}

/// A query parameter's decoded value.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url_pairs(query.unwrap_or(""))
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn url_pairs(q: &str) -> impl Iterator<Item = (String, String)> + '_ {
    q.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        (dec(k), dec(v))
    })
}

/// The cookie's value, if the request carries it.
fn cookie(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// `GET /vnc/vm/{uuid}/proxy`.
pub(crate) async fn console_ws(
    State(sh): State<Arc<Shared>>,
    Path(raw_uuid): Path<String>,
    mut req: Request,
) -> Response {
    let fault = req.extensions().get::<ConsoleFault>().cloned();
    if fault == Some(ConsoleFault::Hang) {
        // Never answer; the client's own deadline has to end this.
        return futures::future::pending::<Response>().await;
    }
    let has = |name: header::HeaderName, token: &str| {
        req.headers()
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let key = req
        .headers()
        .get("sec-websocket-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (Some(key), true, true, true) = (
        key,
        has(header::UPGRADE, "websocket"),
        has(header::CONNECTION, "upgrade"),
        has(header::SEC_WEBSOCKET_VERSION, "13"),
    ) else {
        return api_error(&ApiError::new(
            400,
            "BAD_REQUEST",
            "this path only serves websocket upgrades (Upgrade: websocket, version 13)",
        ));
    };
    let Some(uuid) = parse_uuid(&raw_uuid) else {
        return api_error(&ApiError::invalid_uuid("vm", &raw_uuid));
    };
    let now = sh.clock.elapsed();
    let query = req.uri().query().map(str::to_string);
    let token = query_param(query.as_deref(), "VmConsoleToken");
    let transport = if let Some(token) = token {
        match lock(&sh.store).console_token_vm(now, &token) {
            Some(vm) if vm == uuid => "v4-token",
            Some(_) => {
                return api_error(&ApiError::new(
                    403,
                    "FORBIDDEN",
                    "the console token was issued for another VM",
                ))
            }
            None => return api_error(&ApiError::unauthorized()),
        }
    } else {
        match cookie(&req, SESSION_COOKIE) {
            Some(s) if lock(&sh.consoles).has_session(&s) => "v3-cookie",
            _ => return api_error(&ApiError::unauthorized()),
        }
    };
    if let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        let own = [format!("https://{host}"), format!("http://{host}")];
        if origin != "http://localhost" && !own.iter().any(|o| o == origin) {
            return api_error(&ApiError::new(
                403,
                "FORBIDDEN",
                format!("Origin {origin} is not allowed"),
            ));
        }
    }
    let Some(vm) = lock(&sh.store).console_vm(now, &uuid) else {
        return api_error(&ApiError::not_found("vm", &uuid));
    };
    if let Some(cluster) = query_param(query.as_deref(), "proxyClusterUuid") {
        if parse_uuid(&cluster).as_deref() != Some(vm.cluster_uuid.as_str()) {
            return api_error(&ApiError::new(
                404,
                "ENTITY_NOT_FOUND",
                format!("VM {uuid} is not on cluster {cluster}"),
            ));
        }
    }
    let upgrade = hyper::upgrade::on(&mut req);
    let accept = ws::handshake::accept_key(&key);
    {
        let mut consoles = lock(&sh.consoles);
        let c = consoles.vm(&uuid);
        c.name.clone_from(&vm.name);
        c.connections += 1;
        *c.by_transport.entry(transport).or_default() += 1;
    }
    tracing::debug!(vm = %uuid, transport, "console websocket accepted");
    let password = sh.console_password.clone();
    let shared = sh.clone();
    tokio::spawn(async move {
        match upgrade.await {
            Ok(io) => {
                let _open = OpenSession::new(&shared, &uuid);
                let io = TokioIo::new(io);
                let session = Session {
                    sh: shared,
                    vm_uuid: uuid,
                    name: vm.name,
                    powered_on: vm.powered_on,
                    password,
                    fault,
                };
                if let Err(e) = session.run(io).await {
                    tracing::debug!(error = %e, "console session ended with an error");
                }
            }
            Err(e) => tracing::debug!(error = %e, "console upgrade failed"),
        }
    });
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    resp
}

/// Counts a session in its console's `open` while it lives, whichever way it ends.
struct OpenSession {
    sh: Arc<Shared>,
    vm_uuid: String,
}

impl OpenSession {
    fn new(sh: &Arc<Shared>, vm_uuid: &str) -> Self {
        lock(&sh.consoles).vm(vm_uuid).open += 1;
        Self {
            sh: sh.clone(),
            vm_uuid: vm_uuid.to_string(),
        }
    }
}

impl Drop for OpenSession {
    fn drop(&mut self) {
        // After a reset the record is gone; nothing to count down then.
        if let Some(c) = lock(&self.sh.consoles).vms.get_mut(&self.vm_uuid) {
            c.open = c.open.saturating_sub(1);
        }
    }
}

/// One console connection after the upgrade.
struct Session {
    sh: Arc<Shared>,
    vm_uuid: String,
    name: String,
    powered_on: bool,
    password: Option<String>,
    fault: Option<ConsoleFault>,
}

fn frame(op: Opcode, payload: &[u8]) -> Vec<u8> {
    ws::encode(op, payload, None)
}

impl Session {
    async fn run<S>(self, mut io: S) -> std::io::Result<()>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        if !self.powered_on {
            let close = ws::close_payload(1011, "the VM is powered off");
            io.write_all(&frame(Opcode::Close, &close)).await?;
            return io.shutdown().await;
        }
        if self.fault == Some(ConsoleFault::CloseMidHandshake) {
            io.write_all(&frame(Opcode::Binary, b"RFB 00")).await?;
            io.flush().await?;
            // Give the bytes a moment to leave, then drop the connection without a close frame.
            tokio::time::sleep(Duration::from_millis(20)).await;
            return Ok(());
        }
        let banner = match &self.fault {
            Some(ConsoleFault::Banner(b)) => b.as_bytes().to_vec(),
            _ => Version::V3_8.banner().to_vec(),
        };
        let mut server = Server::new(ServerConfig {
            name: self.name.clone(),
            width: WIDTH,
            height: HEIGHT,
            password: self.password.as_ref().map(|p| p.as_bytes().to_vec()),
            banner,
            challenge: rand::random(),
        });
        let mut decoder = Decoder::new(Role::Server);
        let mut buf = vec![0u8; 64 * 1024];
        let mut out = frame(Opcode::Binary, &server.take_output());
        loop {
            if !out.is_empty() {
                io.write_all(&out).await?;
                io.flush().await?;
                out.clear();
            }
            if server.is_closed() {
                io.write_all(&frame(Opcode::Close, &ws::close_payload(1000, "")))
                    .await?;
                return io.shutdown().await;
            }
            let n = io.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            if let Err(e) = decoder.feed(buf.get(..n).unwrap_or_default()) {
                let close = ws::close_payload(1002, &e.to_string());
                io.write_all(&frame(Opcode::Close, &close)).await?;
                return io.shutdown().await;
            }
            while let Some(event) = decoder.poll_event() {
                match event {
                    WsEvent::Data(d) => {
                        if let Err(e) = server.handle_input(&d) {
                            tracing::debug!(vm = %self.vm_uuid, error = %e, "console client broke RFB");
                        }
                        self.record(&mut server);
                        let bytes = server.take_output();
                        if !bytes.is_empty() {
                            out.extend(frame(Opcode::Binary, &bytes));
                        }
                    }
                    WsEvent::Ping(p) => out.extend(frame(Opcode::Pong, &p)),
                    WsEvent::Pong(_) => {}
                    WsEvent::Close { code, .. } => {
                        out.extend(frame(
                            Opcode::Close,
                            &ws::close_payload(code.unwrap_or(1000), ""),
                        ));
                        io.write_all(&out).await?;
                        return io.shutdown().await;
                    }
                }
            }
        }
    }

    fn record(&self, server: &mut Server) {
        let at_ms = u64::try_from(self.sh.clock.elapsed().as_millis()).unwrap_or(u64::MAX);
        let mut consoles = lock(&self.sh.consoles);
        let c = consoles.vm(&self.vm_uuid);
        while let Some(event) = server.poll_event() {
            match event {
                ServerEvent::Key { keysym, down } => {
                    if c.keys.len() >= MAX_KEYS {
                        c.keys.pop_front();
                        c.dropped += 1;
                    }
                    c.keys.push_back(Key {
                        keysym,
                        down,
                        at_ms,
                    });
                }
                ServerEvent::AuthFailed => c.auth_failures += 1,
                _ => {}
            }
        }
    }
}
