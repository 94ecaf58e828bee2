//! The axum side: authentication, fault injection and request recording in front of the v3
//! API and the v4 template calls, the JSON endpoints (which hand parsed bodies to the pure
//! [`crate::model::Store`]), streamed image upload and image/OVA download, and the
//! unauthenticated `/_sim/` control API.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::Engine;
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::console::{ConsoleFault, Consoles, SESSION_COOKIE};
use crate::faults::{Fault, FaultAction, FaultSet};
use crate::inventory::Inventory;
use crate::model::{OvaDownload, UploadDone, V4Request};
use crate::model::{Store, StoreConfig, TaskEnd, TaskFault};
use crate::prism_error::ApiError;
use crate::routes::{is_v4_path, Route, API_PREFIX, V4_GENERIC_RESPONSE};
use crate::transfer::{chunk_len, generated, parse_range, seed_for, RangeReq};

/// Lets a handler close its own connection without answering (the `drop` fault).
#[derive(Debug, Clone)]
pub(crate) struct ConnControl(pub CancellationToken);

/// One line of `/_sim/requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RequestRecord {
    /// HTTP method.
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Response status; 0 when the connection was dropped by a fault.
    pub status: u16,
    /// Time to the response head, in milliseconds.
    pub duration_ms: u64,
}

/// State shared by all connections.
pub(crate) struct Shared {
    pub store: Mutex<Store>,
    pub faults: Mutex<FaultSet>,
    pub requests: Mutex<VecDeque<RequestRecord>>,
    pub clock: Arc<dyn Clock>,
    pub username: String,
    pub password: String,
    pub api_key: Option<String>,
    pub upload_dir: Option<PathBuf>,
    pub max_body: usize,
    pub max_logged: usize,
    pub inventory: Inventory,
    pub store_cfg: StoreConfig,
    pub initial_faults: Vec<Fault>,
    pub epoch: chrono::DateTime<chrono::Utc>,
    /// Console sessions and what each VM's console received.
    pub consoles: Mutex<Consoles>,
    /// VNC password of the consoles, if any.
    pub console_password: Option<String>,
}

/// Locks a mutex, recovering from poisoning (a panicking holder cannot leave the store in a
/// half-written state: every store operation validates before it mutates).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub(crate) fn now(&self) -> Duration {
        self.clock.elapsed()
    }

    fn record(&self, rec: RequestRecord) {
        let mut log = lock(&self.requests);
        if log.len() >= self.max_logged {
            log.pop_front();
        }
        log.push_back(rec);
    }

    /// Deletes files the store no longer references (best effort).
    async fn remove_dropped_files(&self) {
        let files = lock(&self.store).take_removed_files();
        for f in files {
            if let Err(e) = tokio::fs::remove_file(&f).await {
                tracing::debug!(path = %f.display(), error = %e, "could not remove an image file");
            }
        }
    }

    /// Back to the inventory: new store, start-time faults, empty request log.
    pub(crate) fn reset(&self) {
        let fresh = Store::new(self.inventory.clone(), self.store_cfg.clone(), self.epoch);
        let old = std::mem::replace(&mut *lock(&self.store), fresh);
        let stale: Vec<PathBuf> = old.images.iter().filter_map(|i| i.stored.clone()).collect();
        for f in stale.into_iter().chain(old.removed_files) {
            let _ = std::fs::remove_file(f);
        }
        let mut faults = FaultSet::default();
        if let Err(e) = faults.add(self.initial_faults.clone()) {
            tracing::warn!(error = %e, "start-time faults could not be restored");
        }
        *lock(&self.faults) = faults;
        lock(&self.requests).clear();
        *lock(&self.consoles) = Consoles::default();
    }

    pub(crate) fn state_json(&self) -> Value {
        let mut v = lock(&self.store).state_json(self.now());
        if let Some(vms) = v.get_mut("vms").and_then(Value::as_array_mut) {
            let consoles = lock(&self.consoles);
            for vm in vms {
                let uuid = vm
                    .get("uuid")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                if let Some(o) = vm.as_object_mut() {
                    o.insert("console".into(), consoles.state(&uuid));
                }
            }
        }
        if let Some(o) = v.as_object_mut() {
            o.insert("consoles".into(), lock(&self.consoles).all());
            o.insert("faults".into(), lock(&self.faults).to_json());
            o.insert("request_count".into(), json!(lock(&self.requests).len()));
        }
        v
    }

    pub(crate) fn requests(&self) -> Vec<RequestRecord> {
        lock(&self.requests).iter().cloned().collect()
    }
}

/// The whole application.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sim/state", get(sim_state))
        .route("/_sim/requests", get(sim_requests))
        .route(
            "/_sim/faults",
            get(sim_faults_list)
                .post(sim_faults_add)
                .delete(sim_faults_clear),
        )
        .route("/_sim/reset", post(sim_reset))
        .route("/vnc/vm/{uuid}/proxy", get(crate::console::console_ws))
        .fallback(api)
        .layer(axum::middleware::from_fn_with_state(shared.clone(), front))
        .with_state(shared)
}

fn json_response(status: u16, body: &Value) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_string());
    (
        code,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        text,
    )
        .into_response()
}

fn error_response(e: &ApiError) -> Response {
    let mut r = json_response(e.status, &e.body());
    if e.status == 401 {
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Intent Gateway Login Required\""),
        );
    }
    if let Some(s) = e.retry_after {
        if let Ok(v) = HeaderValue::from_str(&s.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    r
}

/// Records every non-`/_sim` request and applies fault rules before the handler runs.
async fn front(State(sh): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path == "/_sim" || path.starts_with("/_sim/") {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let parsed = Route::parse(&method, &path).ok();
    let creates_task = parsed.as_ref().is_some_and(Route::creates_task);
    // Injected errors on v4 paths answer in the v4 shape, like the handlers would.
    let v4_response = is_v4_path(&path).then(|| {
        parsed
            .as_ref()
            .and_then(Route::v4_response)
            .unwrap_or(V4_GENERIC_RESPONSE)
    });
    let shaped = |e: ApiError| match v4_response {
        Some(r) => e.in_v4(r),
        None => e,
    };
    let actions = lock(&sh.faults).take(&method, &path, creates_task);
    let mut early: Option<Response> = None;
    for action in actions {
        match action {
            FaultAction::Latency { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            FaultAction::Status {
                status,
                reason,
                message,
            } => {
                let reason = reason.unwrap_or_else(|| {
                    if status >= 500 {
                        "INTERNAL_ERROR"
                    } else {
                        "INJECTED_FAULT"
                    }
                    .into()
                });
                let message = message
                    .unwrap_or_else(|| format!("fault injected by the simulator: HTTP {status}"));
                early = Some(error_response(&shaped(ApiError::new(
                    status, &reason, message,
                ))));
            }
            FaultAction::RateLimit { retry_after_secs } => {
                let mut e = ApiError::new(
                    429,
                    "RATE_LIMIT_EXCEEDED",
                    "Too many requests, please retry later.",
                );
                e.retry_after = Some(retry_after_secs);
                early = Some(error_response(&shaped(e)));
            }
            FaultAction::Drop => {
                sh.record(RequestRecord {
                    method,
                    path,
                    status: 0,
                    duration_ms: ms_since(started),
                });
                match req.extensions().get::<ConnControl>() {
                    Some(ctl) => {
                        ctl.0.cancel();
                        // The connection task drops this future together with the socket.
                        return futures::future::pending::<Response>().await;
                    }
                    None => return StatusCode::BAD_GATEWAY.into_response(),
                }
            }
            FaultAction::TaskFail { message } => {
                req.extensions_mut()
                    .insert(task_end(TaskEnd::Failed, message));
            }
            FaultAction::TaskStatus { status, message } => {
                req.extensions_mut().insert(task_end(status, message));
            }
            FaultAction::TaskHang => {
                req.extensions_mut().insert(TaskFault::Hang);
            }
            FaultAction::ConsoleHang => {
                req.extensions_mut().insert(ConsoleFault::Hang);
            }
            FaultAction::ConsoleCloseMidHandshake => {
                req.extensions_mut().insert(ConsoleFault::CloseMidHandshake);
            }
            FaultAction::ConsoleBanner { banner } => {
                req.extensions_mut().insert(ConsoleFault::Banner(banner));
            }
        }
    }
    let resp = match early {
        Some(r) => r,
        None => next.run(req).await,
    };
    sh.record(RequestRecord {
        method,
        path,
        status: resp.status().as_u16(),
        duration_ms: ms_since(started),
    });
    resp
}

/// The task shape of a `task_fail` or `task_status` fault, with the status's default message.
fn task_end(status: TaskEnd, message: Option<String>) -> TaskFault {
    TaskFault::End {
        status,
        message: message.unwrap_or_else(|| status.default_message().to_string()),
    }
}

fn ms_since(t: Instant) -> u64 {
    u64::try_from(t.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Basic auth with the configured user, or the configured API key in `X-ntnx-api-key`.
fn authorized(sh: &Shared, headers: &HeaderMap) -> bool {
    if let Some(key) = headers.get("x-ntnx-api-key") {
        return sh
            .api_key
            .as_deref()
            .is_some_and(|k| key.as_bytes() == k.as_bytes());
    }
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, b64)) = auth.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return false;
    };
    let Ok(text) = String::from_utf8(raw) else {
        return false;
    };
    match text.split_once(':') {
        Some((u, p)) => u == sh.username && p == sh.password,
        None => false,
    }
}

/// Every `/api/nutanix/v3` and `/api/vmm/v4.x` request (and the 404 for anything else).
async fn api(State(sh): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let v4 = is_v4_path(&path);
    if !(v4 || path == API_PREFIX || path.starts_with(&format!("{API_PREFIX}/"))) {
        return error_response(&ApiError::no_such_path(&method, &path));
    }
    if !authorized(&sh, req.headers()) {
        let e = ApiError::unauthorized();
        return error_response(&if v4 { e.in_v4(V4_GENERIC_RESPONSE) } else { e });
    }
    let route = match Route::parse(&method, &path) {
        Ok(r) => r,
        Err(e) => return error_response(&e),
    };
    let fault = req.extensions().get::<TaskFault>().cloned();
    let resp = match route {
        Route::Upload(uuid) => upload(&sh, &uuid, req).await,
        Route::Download(uuid) => download(&sh, &uuid, req.headers()).await,
        Route::OvaDownload(uuid) => download_ova(&sh, &uuid, req.headers()).await,
        Route::UsersMe => users_me(&sh),
        route if route.v4_response().is_some() => v4_call(&sh, route, req, fault).await,
        route => {
            let body = if route.has_json_body() {
                match read_json(req, sh.max_body, route.kind_name()).await {
                    Ok(v) => v,
                    Err(e) => return error_response(&e),
                }
            } else {
                None
            };
            let now = sh.now();
            let result = lock(&sh.store).handle(now, &route, body.as_ref(), fault.as_ref());
            match result {
                Ok(reply) => json_response(reply.status, &reply.body),
                Err(e) => error_response(&e),
            }
        }
    };
    sh.remove_dropped_files().await;
    resp
}

/// `GET /api/nutanix/v3/users/me`: the logged-in user, and a session cookie (what the v3
/// console path logs in with). GUESS: `user_type` LOCAL and the fields beyond the v3 schema's
/// required ones; the cookie's attributes.
fn users_me(sh: &Shared) -> Response {
    let session = lock(&sh.consoles).new_session();
    let body = json!({
        "api_version": crate::prism_error::API_VERSION,
        "metadata": {"kind": "user", "uuid": crate::model::ADMIN_UUID},
        "spec": {"resources": {}},
        "status": {
            "name": sh.username,
            "state": "COMPLETE",
            "resources": {
                "display_name": sh.username,
                "user_type": "LOCAL",
                "access_control_policy_reference_list": [],
                "projects_reference_list": [],
            },
        },
    });
    let mut r = json_response(200, &body);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// A v4 template call: headers and query for the model, errors and `ETag` in v4 form.
async fn v4_call(
    sh: &Arc<Shared>,
    route: Route,
    req: Request,
    fault: Option<TaskFault>,
) -> Response {
    let response = route.v4_response().unwrap_or(V4_GENERIC_RESPONSE);
    let v4req = {
        let headers = req.headers();
        let text = |name: &str| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        V4Request {
            query: req.uri().query().map(str::to_string),
            request_id: text("ntnx-request-id"),
            if_match: text("if-match"),
        }
    };
    let body = if route.has_json_body() {
        match read_json(req, sh.max_body, route.kind_name()).await {
            Ok(v) => v,
            Err(e) => return error_response(&e.in_v4(response)),
        }
    } else {
        None
    };
    let now = sh.now();
    let result = lock(&sh.store).handle_v4(now, &route, &v4req, body.as_ref(), fault.as_ref());
    match result {
        Ok(reply) => {
            let mut r = json_response(reply.status, &reply.body);
            if let Some(v) = reply.etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
                r.headers_mut().insert(header::ETAG, v);
            }
            r
        }
        Err(e) => error_response(&e.in_v4(response)),
    }
}

/// Reads a JSON body within the size limit; an empty body is None.
async fn read_json(
    req: Request,
    limit: usize,
    kind: Option<&str>,
) -> Result<Option<Value>, ApiError> {
    let bytes = axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::too_large(limit))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| ApiError::malformed_json(kind, &e.to_string()))
}

/// Forgets an upload claim if the handler is dropped (client gone) before it finishes.
struct UploadClaim {
    sh: Arc<Shared>,
    uuid: String,
    armed: bool,
    partial: Option<PathBuf>,
}

impl Drop for UploadClaim {
    fn drop(&mut self) {
        if self.armed {
            let now = self.sh.now();
            let _ = lock(&self.sh.store).finish_upload(now, &self.uuid, None);
            if let Some(p) = self.partial.take() {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

async fn upload(sh: &Arc<Shared>, uuid: &str, req: Request) -> Response {
    let spec_wants_sha1 = match lock(&sh.store).begin_upload(sh.now(), uuid) {
        Ok(w) => w,
        Err(e) => return error_response(&e),
    };
    let mut claim = UploadClaim {
        sh: sh.clone(),
        uuid: uuid.to_string(),
        armed: true,
        partial: None,
    };
    let header_checksum =
        match (
            req.headers()
                .get("x-nutanix-checksum-type")
                .and_then(|v| v.to_str().ok()),
            req.headers()
                .get("x-nutanix-checksum-bytes")
                .and_then(|v| v.to_str().ok()),
        ) {
            (Some(t), Some(b)) => Some((t.trim().to_string(), b.trim().to_string())),
            (None, None) => None,
            _ => return error_response(
                &ApiError::new(
                    400,
                    "INVALID_REQUEST",
                    "X-Nutanix-Checksum-Type and X-Nutanix-Checksum-Bytes must be sent together",
                )
                .with_kind("image"),
            ),
        };
    let mut file = None;
    if let Some(dir) = &sh.upload_dir {
        let path = dir.join(format!("{uuid}.{}.img", uuid::Uuid::new_v4().simple()));
        match tokio::fs::File::create(&path).await {
            Ok(f) => {
                claim.partial = Some(path.clone());
                file = Some((f, path));
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot create an upload file");
                return error_response(&ApiError::new(
                    500,
                    "INTERNAL_ERROR",
                    format!("cannot store the upload: {e}"),
                ));
            }
        }
    }
    let header_wants_sha1 = header_checksum.as_ref().is_some_and(|(t, _)| t == "SHA_1");
    let mut sha256 = Sha256::new();
    let mut sha1 = (spec_wants_sha1 || header_wants_sha1).then(Sha1::new);
    let mut size: u64 = 0;
    let mut stream = req.into_body().into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                return error_response(
                    &ApiError::new(
                        400,
                        "INVALID_REQUEST",
                        format!("the upload of image {uuid} was interrupted: {e}"),
                    )
                    .with_kind("image"),
                )
            }
        };
        sha256.update(&chunk);
        if let Some(h) = sha1.as_mut() {
            h.update(&chunk);
        }
        size = size.saturating_add(chunk.len() as u64);
        if let Some((f, path)) = file.as_mut() {
            if let Err(e) = f.write_all(&chunk).await {
                tracing::warn!(path = %path.display(), error = %e, "cannot write an upload file");
                return error_response(&ApiError::new(
                    500,
                    "INTERNAL_ERROR",
                    format!("cannot store the upload: {e}"),
                ));
            }
        }
    }
    let stored = match file {
        Some((mut f, path)) => {
            if let Err(e) = f.flush().await {
                return error_response(&ApiError::new(
                    500,
                    "INTERNAL_ERROR",
                    format!("cannot store the upload: {e}"),
                ));
            }
            Some(path)
        }
        None => None,
    };
    claim.armed = false;
    let done = UploadDone {
        size,
        sha256: hex::encode(sha256.finalize()),
        sha1: sha1.map(|h| hex::encode(h.finalize())),
        stored,
        header_checksum,
    };
    tracing::debug!(image = uuid, size, "image upload finished");
    let result = lock(&sh.store).finish_upload(sh.now(), uuid, Some(done));
    match result {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => error_response(&e),
    }
}

/// How a ranged download produces its bytes.
enum Source {
    /// An uploaded image kept on disk.
    File(PathBuf),
    /// Generated image content with this seed.
    Generated(u64),
    /// An OVA archive.
    Ova(OvaDownload),
}

async fn download(sh: &Arc<Shared>, uuid: &str, headers: &HeaderMap) -> Response {
    let info = match lock(&sh.store).download_info(sh.now(), uuid) {
        Ok(i) => i,
        Err(e) => return error_response(&e),
    };
    let source = match info.stored {
        Some(path) => Source::File(path),
        None => Source::Generated(seed_for(uuid)),
    };
    serve_ranged(headers, "image", uuid, info.size, &info.name, source).await
}

async fn download_ova(sh: &Arc<Shared>, uuid: &str, headers: &HeaderMap) -> Response {
    let ova = match lock(&sh.store).ova_download(sh.now(), uuid) {
        Ok(o) => o,
        Err(e) => return error_response(&e),
    };
    let (size, name) = (ova.size(), format!("{}.ova", ova.name));
    serve_ranged(headers, "ova", uuid, size, &name, Source::Ova(ova)).await
}

/// A 200 or 206 streamed answer for `size` bytes with `Range` support (416 outside the body).
async fn serve_ranged(
    headers: &HeaderMap,
    kind: &str,
    uuid: &str,
    size: u64,
    file_name: &str,
    source: Source,
) -> Response {
    let range = parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    );
    let (start, len, status) = match range {
        RangeReq::Full => (0, size, StatusCode::OK),
        RangeReq::Partial { start, end } => (start, end - start + 1, StatusCode::PARTIAL_CONTENT),
        RangeReq::Unsatisfiable => {
            let mut r = error_response(
                &ApiError::new(
                    416,
                    "INVALID_REQUEST",
                    format!("range not satisfiable for {kind} {uuid} of {size} bytes"),
                )
                .with_kind(kind),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let body = match source {
        Source::File(path) => {
            let unreadable = |e: std::io::Error| {
                error_response(&ApiError::new(
                    500,
                    "INTERNAL_ERROR",
                    format!("stored data of {kind} {uuid} is unreadable: {e}"),
                ))
            };
            let mut f = match tokio::fs::File::open(&path).await {
                Ok(f) => f,
                Err(e) => return unreadable(e),
            };
            if let Err(e) = f.seek(std::io::SeekFrom::Start(start)).await {
                return unreadable(e);
            }
            Body::from_stream(tokio_util::io::ReaderStream::new(f.take(len)))
        }
        Source::Generated(seed) => chunked(start, len, move |pos, n| generated(seed, pos, n)),
        Source::Ova(ova) => chunked(start, len, move |pos, n| ova.read(pos, n)),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&len.to_string()) {
        h.insert(header::CONTENT_LENGTH, v);
    }
    let safe_name: String = file_name
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{size}", start + len - 1)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    resp
}

/// Streams `len` bytes from `start`, produced block by block by `read(pos, n)`.
fn chunked<F>(start: u64, len: u64, read: F) -> Body
where
    F: Fn(u64, usize) -> bytes::Bytes + Send + Sync + 'static,
{
    let read = Arc::new(read);
    let stream = futures::stream::unfold((start, len), move |(pos, left)| {
        let read = read.clone();
        async move {
            if left == 0 {
                return None;
            }
            let n = chunk_len(left);
            let chunk = read(pos, n);
            if chunk.is_empty() {
                return None;
            }
            let got = chunk.len() as u64;
            Some((
                Ok::<_, std::io::Error>(chunk),
                (pos + got, left.saturating_sub(got)),
            ))
        }
    });
    Body::from_stream(stream)
}

// ---- /_sim control API ----------------------------------------------------------------------

async fn sim_state(State(sh): State<Arc<Shared>>) -> Response {
    json_response(200, &sh.state_json())
}

async fn sim_requests(State(sh): State<Arc<Shared>>) -> Response {
    json_response(
        200,
        &serde_json::to_value(sh.requests()).unwrap_or(Value::Null),
    )
}

async fn sim_faults_list(State(sh): State<Arc<Shared>>) -> Response {
    json_response(200, &lock(&sh.faults).to_json())
}

async fn sim_faults_add(State(sh): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body)
        .map_err(|e| e.to_string())
        .and_then(|v| Fault::from_value(v).map_err(|e| e.to_string()))
        .and_then(|f| lock(&sh.faults).add(f).map_err(|e| e.to_string()));
    match parsed {
        Ok(ids) => json_response(200, &json!({"added": ids})),
        Err(e) => json_response(400, &json!({"error": e})),
    }
}

async fn sim_faults_clear(State(sh): State<Arc<Shared>>) -> Response {
    let mut f = lock(&sh.faults);
    let n = f.len();
    f.clear();
    json_response(200, &json!({"cleared": n}))
}

async fn sim_reset(State(sh): State<Arc<Shared>>) -> Response {
    sh.reset();
    json_response(200, &json!({"reset": true}))
}
