//! The request handler: `http_content` first, then `http_directory`, 404 otherwise, with
//! GET and HEAD only. File bodies are streamed from disk.

use std::collections::BTreeMap;
use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use super::route::{
    clean_path, content_type, listing, parse_range, suggestion, BadPath, CleanPath, Range,
};
use crate::civil::http_date;
use crate::collect::unix_seconds;

/// What the server serves; shared by every request.
#[derive(Debug)]
pub(crate) struct Served {
    /// `http_content`, keyed as [`super::route::content_key`] gives.
    pub(crate) content: BTreeMap<String, Bytes>,
    /// `http_directory`.
    pub(crate) directory: Option<PathBuf>,
}

/// Entry point for every request.
pub(crate) async fn handle(State(served): State<Arc<Served>>, request: Request) -> Response {
    let method = request.method().clone();
    let uri = request.uri().clone();
    let response = respond(&served, &method, uri.path(), uri.query(), request.headers()).await;
    tracing::debug!(%method, path = uri.path(), status = response.status().as_u16(), "http request");
    response
}

async fn respond(
    served: &Served,
    method: &Method,
    raw_path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "405 method not allowed\n".into(),
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let head = method == Method::HEAD;
    let path = match clean_path(raw_path) {
        Ok(p) => p,
        Err(BadPath::Traversal | BadPath::Invalid) => {
            return text(
                StatusCode::BAD_REQUEST,
                "400 Bad Request: invalid URL path\n".into(),
            )
        }
    };
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    if let Some(body) = served.content.get(&path.key) {
        let name = path.segments.last().map_or("", String::as_str);
        let kind = content_type(name, body);
        return bytes_response(body.clone(), kind, None, range, head);
    }
    if let Some(dir) = &served.directory {
        return from_directory(dir, &path, query, range, head).await;
    }
    let mut message = format!("{} not found.", path.key);
    if let Some(s) = suggestion(&path.key, served.content.keys().map(String::as_str)) {
        message.push_str(&format!(" Did you mean {s:?}?"));
    }
    message.push('\n');
    text(StatusCode::NOT_FOUND, message)
}

async fn from_directory(
    dir: &Path,
    path: &CleanPath,
    query: Option<&str>,
    range: Option<&str>,
    head: bool,
) -> Response {
    let mut local = dir.to_path_buf();
    local.extend(&path.segments);
    let meta = match tokio::fs::metadata(&local).await {
        Ok(m) => m,
        Err(e) => return io_error(&e),
    };
    let last = path.segments.last().map(String::as_str);
    if meta.is_dir() {
        if let (false, Some(name)) = (path.trailing_slash, last) {
            return redirect(&format!("{}/", relative_href(name)), query);
        }
        let index = local.join("index.html");
        if tokio::fs::metadata(&index).await.is_ok_and(|m| m.is_file()) {
            return file_response(&index, "index.html", range, head).await;
        }
        return match list_dir(&local).await {
            Ok(entries) => {
                let body = listing(&entries);
                let mut r = text(
                    StatusCode::OK,
                    if head { String::new() } else { body.clone() },
                );
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                r.headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
                r
            }
            Err(e) => io_error(&e),
        };
    }
    match last {
        // A file asked for as a directory: send the client to the file, as Go does.
        Some(name) if path.trailing_slash => {
            redirect(&format!("../{}", relative_href(name)), query)
        }
        Some(name) => file_response(&local, name, range, head).await,
        None => text(StatusCode::NOT_FOUND, "404 page not found\n".into()),
    }
}

/// A name as a relative link (`./` first if it would otherwise look like a scheme).
fn relative_href(name: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(name, PATH_SEGMENT).to_string();
    if encoded.contains(':') {
        format!("./{encoded}")
    } else {
        encoded
    }
}

const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'/');

fn redirect(location: &str, query: Option<&str>) -> Response {
    let location = match query {
        Some(q) => format!("{location}?{q}"),
        None => location.to_owned(),
    };
    let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn list_dir(dir: &Path) -> std::io::Result<Vec<(String, bool)>> {
    let mut entries = Vec::new();
    let mut read = tokio::fs::read_dir(dir).await?;
    while let Some(entry) = read.next_entry().await? {
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let is_dir = tokio::fs::metadata(entry.path())
            .await
            .is_ok_and(|m| m.is_dir());
        entries.push((name, is_dir));
    }
    entries.sort();
    Ok(entries)
}

fn io_error(e: &std::io::Error) -> Response {
    match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {
            text(StatusCode::NOT_FOUND, "404 page not found\n".into())
        }
        std::io::ErrorKind::PermissionDenied => {
            text(StatusCode::FORBIDDEN, "403 Forbidden\n".into())
        }
        _ => {
            tracing::warn!(error = %e, "http_directory read failed");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 Internal Server Error\n".into(),
            )
        }
    }
}

fn text(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// What to send of a body of `size` bytes: status, `Content-Range`, start and length.
type Window = (StatusCode, Option<String>, u64, u64);

/// The window a `Range` header asks for, or `None` when it cannot be satisfied.
fn window(range: Option<&str>, size: u64) -> Option<Window> {
    match parse_range(range, size) {
        Range::Full => Some((StatusCode::OK, None, 0, size)),
        Range::Part { start, end } => Some((
            StatusCode::PARTIAL_CONTENT,
            Some(format!("bytes {start}-{end}/{size}")),
            start,
            end - start + 1,
        )),
        Range::Unsatisfiable => None,
    }
}

fn unsatisfiable(size: u64) -> Response {
    let mut r = text(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "416 Range Not Satisfiable\n".into(),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
        r.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    r
}

fn with_headers(
    status: StatusCode,
    body: Body,
    kind: &'static str,
    len: u64,
    content_range: Option<String>,
    modified: Option<i64>,
) -> Response {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(v) = content_range.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::CONTENT_RANGE, v);
    }
    if let Some(v) = modified.and_then(|m| HeaderValue::from_str(&http_date(m)).ok()) {
        h.insert(header::LAST_MODIFIED, v);
    }
    r
}

fn bytes_response(
    body: Bytes,
    kind: &'static str,
    modified: Option<i64>,
    range: Option<&str>,
    head: bool,
) -> Response {
    let Some((status, content_range, start, len)) = window(range, body.len() as u64) else {
        return unsatisfiable(body.len() as u64);
    };
    let part = if head {
        Body::empty()
    } else {
        let (start, end) = (start as usize, start.saturating_add(len) as usize);
        if end > body.len() || start > end {
            return text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "500 bad range window\n".into(),
            );
        }
        Body::from(body.slice(start..end))
    };
    with_headers(status, part, kind, len, content_range, modified)
}

async fn file_response(path: &Path, name: &str, range: Option<&str>, head: bool) -> Response {
    let mut file = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(e) => return io_error(&e),
    };
    let meta = match file.metadata().await {
        Ok(m) => m,
        Err(e) => return io_error(&e),
    };
    let size = meta.len();
    let modified = meta.modified().ok().map(unix_seconds);
    let mut sniff = vec![0u8; 512.min(size as usize)];
    if let Err(e) = file.read_exact(&mut sniff).await {
        return io_error(&e);
    }
    let kind = content_type(name, &sniff);
    let Some((status, content_range, start, len)) = window(range, size) else {
        return unsatisfiable(size);
    };
    let body = if head {
        Body::empty()
    } else {
        if let Err(e) = file.seek(SeekFrom::Start(start)).await {
            return io_error(&e);
        }
        Body::from_stream(ReaderStream::new(file.take(len)))
    };
    with_headers(status, body, kind, len, content_range, modified)
}
