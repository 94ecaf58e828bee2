//! Streaming transfer: `PUT /images/{uuid}/file` from a file, and `GET` of an image's or an
//! OVA's file to a file, in constant memory (bounded chunks), with progress, checksums, a
//! stall watchdog and retries that reopen the file.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use sha1::Digest as _;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::retry_delay;
use crate::cause::{classify, Cause, Stage};
use crate::client::PrismClient;
use crate::error::PrismError;
use crate::models::ChecksumAlgorithm;
use crate::redirect::{redirect_decision, resolve_location, RedirectDecision, MAX_REDIRECTS};
use crate::transport::api_error;

/// Size of one read from the source file; with hyper's backpressure this bounds the memory of
/// an upload of any size.
pub const CHUNK_SIZE: usize = 256 * 1024;

/// Receives `(bytes_done, total_bytes)` as a transfer moves. Restarts from 0 on a retry.
pub type TransferProgressFn = dyn Fn(u64, Option<u64>) + Send + Sync;

/// Checksum headers of an upload (`X-Nutanix-Checksum-Type` / `X-Nutanix-Checksum-Bytes`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum UploadChecksum {
    /// Send none.
    #[default]
    None,
    /// Send this digest (lower-case hex).
    Given {
        /// Algorithm.
        algorithm: ChecksumAlgorithm,
        /// Hex digest.
        hex: String,
    },
    /// Read the file once first to compute the digest, then send it.
    Compute(ChecksumAlgorithm),
}

/// Options of an upload.
#[derive(Clone, Default)]
pub struct UploadOptions {
    /// Checksum headers.
    pub checksum: UploadChecksum,
    /// Progress reporting.
    pub progress: Option<Arc<TransferProgressFn>>,
    /// Abandons the upload.
    pub cancel: CancellationToken,
}

/// What an upload sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadReport {
    /// Bytes in the file.
    pub bytes: u64,
    /// Attempts it took.
    pub attempts: u32,
    /// The checksum sent, if any (algorithm, hex).
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

/// Options of a download.
#[derive(Clone, Default)]
pub struct DownloadOptions {
    /// Expected size; when `None`, an image download uses the image's `size_bytes` from Prism
    /// if known, and an OVA download relies on the Content-Length alone.
    pub expected_size: Option<u64>,
    /// Digest to verify (algorithm, hex).
    pub verify: Option<(ChecksumAlgorithm, String)>,
    /// Progress reporting.
    pub progress: Option<Arc<TransferProgressFn>>,
    /// Abandons the download.
    pub cancel: CancellationToken,
}

/// What a download wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadReport {
    /// Bytes written.
    pub bytes: u64,
    /// SHA-256 of the bytes (always computed).
    pub sha256: String,
    /// SHA-1 of the bytes (computed only when SHA-1 verification was asked for).
    pub sha1: Option<String>,
    /// Attempts it took.
    pub attempts: u32,
}

/// Header names Prism reads on an upload.
pub const CHECKSUM_TYPE_HEADER: &str = "X-Nutanix-Checksum-Type";
/// See [`CHECKSUM_TYPE_HEADER`].
pub const CHECKSUM_BYTES_HEADER: &str = "X-Nutanix-Checksum-Bytes";

/// Computes a file's digest in a blocking thread (a multi-GB hash must not stall the runtime).
pub async fn file_digest(path: &Path, algorithm: &ChecksumAlgorithm) -> Result<String, PrismError> {
    if !matches!(
        algorithm,
        ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256
    ) {
        return Err(PrismError::Unsupported(format!(
            "computing a {algorithm} checksum"
        )));
    }
    let path_buf = path.to_path_buf();
    let use_sha1 = *algorithm == ChecksumAlgorithm::Sha1;
    let op = format!("checksum {}", path.display());
    let io = |source: std::io::Error, path: &Path| PrismError::Io {
        op: op.clone(),
        path: path.to_path_buf(),
        source,
    };
    tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        use std::io::Read;
        let mut file = std::fs::File::open(&path_buf)?;
        let mut buf = vec![0u8; 1 << 20];
        let mut sha256 = sha2::Sha256::new();
        let mut sha1 = sha1::Sha1::new();
        loop {
            let n = file.read(&mut buf)?;
            let Some(chunk) = buf.get(..n) else { break };
            if chunk.is_empty() {
                break;
            }
            if use_sha1 {
                sha1.update(chunk);
            } else {
                sha256.update(chunk);
            }
        }
        Ok(if use_sha1 {
            hex::encode(sha1.finalize())
        } else {
            hex::encode(sha256.finalize())
        })
    })
    .await
    .map_err(|e| io(std::io::Error::other(e.to_string()), path))?
    .map_err(|e| io(e, path))
}

enum AttemptError {
    /// Worth another attempt.
    Transient(PrismError),
    /// Final.
    Fatal(PrismError),
}

impl PrismClient {
    /// Streams a local file into an existing (empty) image with `PUT /images/{uuid}/file`.
    ///
    /// Content-Length is always set (without it reqwest would send chunked, which Prism's
    /// gateway may reject). Connection errors, stalls, HTTP 5xx and 429 are retried up to
    /// `RetryPolicy::max_attempts` by reopening the file: the PUT replaces the image's bytes,
    /// so repeating it is safe.
    pub async fn upload_image_file(
        &self,
        image_uuid: &str,
        path: &Path,
        options: &UploadOptions,
    ) -> Result<UploadReport, PrismError> {
        let op = format!("upload {} to image {image_uuid}", path.display());
        let checksum = match &options.checksum {
            UploadChecksum::None => None,
            UploadChecksum::Given { algorithm, hex } => Some((algorithm.clone(), hex.clone())),
            UploadChecksum::Compute(algorithm) => {
                Some((algorithm.clone(), file_digest(path, algorithm).await?))
            }
        };
        let max_attempts = self.inner.config.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .upload_attempt(&op, image_uuid, path, checksum.as_ref(), options)
                .await
            {
                Ok(bytes) => {
                    tracing::info!(op, bytes, attempt, "upload complete");
                    return Ok(UploadReport {
                        bytes,
                        attempts: attempt,
                        checksum,
                    });
                }
                Err(AttemptError::Transient(e)) if attempt < max_attempts => {
                    let delay =
                        retry_delay(&self.inner.config.retry, attempt, rand::random::<f64>());
                    tracing::warn!(op, attempt, ?delay, error = %e, "upload failed, retrying");
                    tokio::select! {
                        _ = options.cancel.cancelled() => return Err(PrismError::Cancelled { op }),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Err(AttemptError::Transient(e)) | Err(AttemptError::Fatal(e)) => {
                    return Err(with_attempts(e, attempt))
                }
            }
        }
    }

    async fn upload_attempt(
        &self,
        op: &str,
        image_uuid: &str,
        path: &Path,
        checksum: Option<&(ChecksumAlgorithm, String)>,
        options: &UploadOptions,
    ) -> Result<u64, AttemptError> {
        let io = |source| {
            AttemptError::Fatal(PrismError::Io {
                op: op.to_string(),
                path: path.to_path_buf(),
                source,
            })
        };
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let len = file.metadata().await.map_err(io)?.len();
        let sent = Arc::new(AtomicU64::new(0));
        let counter = sent.clone();
        let progress = options.progress.clone();
        let stream = tokio_util::io::ReaderStream::with_capacity(file, CHUNK_SIZE).inspect_ok(
            move |chunk| {
                let done =
                    counter.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64;
                if let Some(report) = &progress {
                    report(done, Some(len));
                }
            },
        );
        let request = self.upload_request(
            image_uuid,
            len,
            checksum,
            reqwest::Body::wrap_stream(stream),
        );
        let stall = self.inner.config.transfer_stall_timeout;
        let url = self.url(&["images", image_uuid, "file"]);
        let response = tokio::select! {
            _ = options.cancel.cancelled() => {
                return Err(AttemptError::Fatal(PrismError::Cancelled { op: op.to_string() }))
            }
            _ = watchdog(sent.clone(), stall) => {
                // Every byte sent: Prism is not answering; otherwise the upload itself stopped.
                let stage = if sent.load(Ordering::Relaxed) >= len { Stage::Headers } else { Stage::RequestBody };
                return Err(AttemptError::Transient(stalled(op, "PUT", &url, stage, stall)))
            }
            response = request.send() => response,
        };
        let response = response.map_err(|e| classify_send_error(op, "PUT", &url, e))?;
        let status = response.status();
        if status.is_redirection() {
            // The file was streamed into the first request; it cannot be sent again.
            return Err(AttemptError::Fatal(refused_redirect(
                op, "PUT", &url, &response, false,
            )));
        }
        let body = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            let done = sent.load(Ordering::Relaxed);
            if done != len {
                return Err(AttemptError::Fatal(PrismError::SizeMismatch {
                    op: op.to_string(),
                    expected: len,
                    actual: done,
                }));
            }
            return Ok(len);
        }
        let error = api_error(op, status, &body);
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            Err(AttemptError::Transient(error))
        } else {
            Err(AttemptError::Fatal(error))
        }
    }

    /// The upload PUT: octet-stream, an exact Content-Length (without it reqwest streams with
    /// chunked transfer encoding), and the checksum headers when given.
    fn upload_request(
        &self,
        image_uuid: &str,
        len: u64,
        checksum: Option<&(ChecksumAlgorithm, String)>,
        body: reqwest::Body,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .inner
            .transfer
            .put(self.url(&["images", image_uuid, "file"]))
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(CONTENT_LENGTH, len)
            .body(body);
        if let Some((algorithm, hex)) = checksum {
            request = request
                .header(CHECKSUM_TYPE_HEADER, algorithm.as_str())
                .header(CHECKSUM_BYTES_HEADER, hex.as_str());
        }
        request
    }

    /// Streams `GET /images/{uuid}/file` into `dest`, through `dest.part` renamed only after
    /// the size and digest checks pass (a failed download never leaves a file that looks whole).
    pub async fn download_image_file(
        &self,
        image_uuid: &str,
        dest: &Path,
        options: &DownloadOptions,
    ) -> Result<DownloadReport, PrismError> {
        let op = format!("download image {image_uuid} to {}", dest.display());
        let expected = match options.expected_size {
            Some(size) => Some(size),
            None => self.get_image(image_uuid).await?.size_bytes(),
        };
        self.download_file(
            &op,
            &["images", image_uuid, "file"],
            dest,
            expected,
            options,
        )
        .await
    }

    /// The download loop shared by images and OVAs: attempts, retries, checks, rename.
    /// `expected` is checked in addition to the Content-Length.
    pub(crate) async fn download_file(
        &self,
        op: &str,
        segments: &[&str],
        dest: &Path,
        expected: Option<u64>,
        options: &DownloadOptions,
    ) -> Result<DownloadReport, PrismError> {
        let op = op.to_string();
        let part = part_path(dest);
        let max_attempts = self.inner.config.retry.max_attempts.max(1);
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            match self
                .download_attempt(&op, segments, &part, expected, options)
                .await
            {
                Ok(report) => break Ok(report),
                Err(AttemptError::Transient(e)) if attempt < max_attempts => {
                    let delay =
                        retry_delay(&self.inner.config.retry, attempt, rand::random::<f64>());
                    tracing::warn!(op, attempt, ?delay, error = %e, "download failed, retrying");
                    tokio::select! {
                        _ = options.cancel.cancelled() => break Err(PrismError::Cancelled { op: op.clone() }),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
                Err(AttemptError::Transient(e)) | Err(AttemptError::Fatal(e)) => {
                    break Err(with_attempts(e, attempt))
                }
            }
        };
        let (bytes, sha256, sha1) = match result {
            Ok(r) => r,
            Err(e) => {
                let _ = tokio::fs::remove_file(&part).await;
                return Err(e);
            }
        };
        let verified = verify(&op, options.verify.as_ref(), &sha256, sha1.as_deref());
        if let Err(e) = verified {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(e);
        }
        tokio::fs::rename(&part, dest)
            .await
            .map_err(|source| PrismError::Io {
                op: op.clone(),
                path: dest.to_path_buf(),
                source,
            })?;
        tracing::info!(op, bytes, sha256 = %sha256, "download complete");
        Ok(DownloadReport {
            bytes,
            sha256,
            sha1,
            attempts: attempt,
        })
    }

    async fn download_attempt(
        &self,
        op: &str,
        segments: &[&str],
        part: &Path,
        expected: Option<u64>,
        options: &DownloadOptions,
    ) -> Result<(u64, String, Option<String>), AttemptError> {
        let io = |source| {
            AttemptError::Fatal(PrismError::Io {
                op: op.to_string(),
                path: part.to_path_buf(),
                source,
            })
        };
        let stall = self.inner.config.transfer_stall_timeout;
        let mut url = self.url(segments);
        let mut hops = 0u32;
        let response = loop {
            let request = self
                .inner
                .transfer
                .get(url.clone())
                .header(reqwest::header::ACCEPT, "application/octet-stream");
            let response = tokio::select! {
                _ = options.cancel.cancelled() => return Err(AttemptError::Fatal(PrismError::Cancelled { op: op.to_string() })),
                _ = tokio::time::sleep(stall) => return Err(AttemptError::Transient(stalled(op, "GET", &url, Stage::Headers, stall))),
                r = request.send() => r.map_err(|e| classify_send_error(op, "GET", &url, e))?,
            };
            if !response.status().is_redirection() {
                break response;
            }
            match same_origin_target(&url, &response) {
                Some(next) if hops < MAX_REDIRECTS => {
                    hops += 1;
                    url = next;
                }
                _ => {
                    return Err(AttemptError::Fatal(refused_redirect(
                        op, "GET", &url, &response, true,
                    )))
                }
            }
        };
        let status = response.status();
        if !status.is_success() {
            let body = response.bytes().await.unwrap_or_default();
            let error = api_error(op, status, &body);
            return Err(
                if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
                    AttemptError::Transient(error)
                } else {
                    AttemptError::Fatal(error)
                },
            );
        }
        let total = expected.or(response.content_length());
        let header_length = response.content_length();
        let mut file = tokio::fs::File::create(part).await.map_err(io)?;
        let mut stream = response.bytes_stream();
        let mut sha256 = sha2::Sha256::new();
        let want_sha1 = matches!(options.verify, Some((ChecksumAlgorithm::Sha1, _)));
        let mut sha1 = sha1::Sha1::new();
        let mut written: u64 = 0;
        loop {
            let next = tokio::select! {
                _ = options.cancel.cancelled() => return Err(AttemptError::Fatal(PrismError::Cancelled { op: op.to_string() })),
                _ = tokio::time::sleep(stall) => return Err(AttemptError::Transient(stalled(op, "GET", &url, Stage::Body, stall))),
                next = stream.next() => next,
            };
            let Some(chunk) = next else { break };
            let chunk = chunk.map_err(|e| body_error(op, &url, e))?;
            sha256.update(&chunk);
            if want_sha1 {
                sha1.update(&chunk);
            }
            file.write_all(&chunk).await.map_err(io)?;
            written += chunk.len() as u64;
            if let Some(report) = &options.progress {
                report(written, total);
            }
        }
        file.flush().await.map_err(io)?;
        file.sync_all().await.map_err(io)?;
        drop(file);
        for want in [header_length, expected].into_iter().flatten() {
            if want != written {
                return Err(AttemptError::Fatal(PrismError::SizeMismatch {
                    op: op.to_string(),
                    expected: want,
                    actual: written,
                }));
            }
        }
        let sha1 = want_sha1.then(|| hex::encode(sha1.finalize()));
        Ok((written, hex::encode(sha256.finalize()), sha1))
    }
}

/// Records how many attempts a transfer made in its final transport error.
fn with_attempts(e: PrismError, attempts: u32) -> PrismError {
    match e {
        PrismError::Transport {
            op,
            call,
            stage,
            cause,
            ..
        } => PrismError::Transport {
            op,
            call,
            stage,
            attempts,
            cause,
        },
        other => other,
    }
}

/// A transport error is worth another attempt unless it cannot heal: a malformed request (an
/// invalid checksum header value, say), an untrusted certificate, a name that does not exist.
fn classify_send_error(op: &str, method: &str, url: &url::Url, e: reqwest::Error) -> AttemptError {
    transport_error(op, method, url, classify(&e, Stage::Headers))
}

fn body_error(op: &str, url: &url::Url, e: reqwest::Error) -> AttemptError {
    transport_error(op, "GET", url, classify(&e, Stage::Body))
}

fn transport_error(op: &str, method: &str, url: &url::Url, cause: Cause) -> AttemptError {
    let error = PrismError::Transport {
        op: op.to_string(),
        call: format!("{method} {url}"),
        stage: cause.stage,
        attempts: 1,
        cause: cause.text,
    };
    if cause.permanent {
        AttemptError::Fatal(error)
    } else {
        AttemptError::Transient(error)
    }
}

fn stalled(op: &str, method: &str, url: &url::Url, stage: Stage, stall: Duration) -> PrismError {
    PrismError::Stalled {
        op: op.to_string(),
        call: format!("{method} {url}"),
        stage,
        stalled: stall,
    }
}

/// Where a same-origin redirect of a download leads, if it may be followed.
fn same_origin_target(from: &url::Url, response: &reqwest::Response) -> Option<url::Url> {
    let location = response.headers().get(LOCATION)?.to_str().ok()?;
    let to = resolve_location(from, location).ok()?;
    match redirect_decision(from, &to, "GET", response.status().as_u16(), true) {
        RedirectDecision::Follow(next) => Some(next),
        RedirectDecision::Refuse(_) => None,
    }
}

/// The error for a redirect a transfer does not follow.
fn refused_redirect(
    op: &str,
    method: &str,
    url: &url::Url,
    response: &reqwest::Response,
    replayable: bool,
) -> PrismError {
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let reason = match resolve_location(url, &location) {
        Err(e) => format!("the Location is not a URL ({e})"),
        Ok(to) => match redirect_decision(url, &to, method, status, replayable) {
            RedirectDecision::Refuse(why) => why.to_string(),
            RedirectDecision::Follow(_) => {
                format!("gave up after {MAX_REDIRECTS} redirects (a redirect loop?)")
            }
        },
    };
    PrismError::Redirect {
        op: op.to_string(),
        call: format!("{method} {url}"),
        status,
        location,
        reason,
    }
}

/// Resolves when the byte counter has not moved for `stall`.
async fn watchdog(counter: Arc<AtomicU64>, stall: Duration) {
    let tick = (stall / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut last = counter.load(Ordering::Relaxed);
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let now = counter.load(Ordering::Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= stall {
            return;
        }
    }
}

fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".part");
    dest.with_file_name(name)
}

fn verify(
    op: &str,
    expected: Option<&(ChecksumAlgorithm, String)>,
    sha256: &str,
    sha1: Option<&str>,
) -> Result<(), PrismError> {
    let Some((algorithm, want)) = expected else {
        return Ok(());
    };
    let got = match algorithm {
        ChecksumAlgorithm::Sha256 => sha256,
        ChecksumAlgorithm::Sha1 => sha1.unwrap_or_default(),
        ChecksumAlgorithm::Other(name) => {
            return Err(PrismError::Unsupported(format!(
                "verifying a {name} checksum"
            )))
        }
    };
    if got.eq_ignore_ascii_case(want.trim()) {
        Ok(())
    } else {
        Err(PrismError::ChecksumMismatch {
            op: op.to_string(),
            algorithm: algorithm.to_string(),
            expected: want.clone(),
            actual: got.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_request_has_length_type_and_checksum_headers() {
        let client = PrismClient::new(crate::ClientConfig::new(
            "pc.example",
            9440,
            crate::Auth::basic("u", "p"),
        ))
        .unwrap();
        let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(
            bytes::Bytes::from_static(b"abc"),
        )]);
        let request = client
            .upload_request(
                "i-1",
                3,
                Some(&(ChecksumAlgorithm::Sha256, "ab".into())),
                reqwest::Body::wrap_stream(stream),
            )
            .build()
            .unwrap();
        let h = request.headers();
        assert_eq!(h[CONTENT_LENGTH], "3");
        assert_eq!(h[CONTENT_TYPE], "application/octet-stream");
        assert_eq!(h["x-nutanix-checksum-type"], "SHA_256");
        assert_eq!(h["x-nutanix-checksum-bytes"], "ab");
        assert_eq!(request.method(), reqwest::Method::PUT);
        assert_eq!(
            request.url().as_str(),
            "https://pc.example:9440/api/nutanix/v3/images/i-1/file"
        );
    }

    #[test]
    fn part_path_appends_suffix() {
        assert_eq!(
            part_path(Path::new("/tmp/out/disk.img")),
            PathBuf::from("/tmp/out/disk.img.part")
        );
    }

    #[test]
    fn verify_compares_case_insensitively_and_reports_both_digests() {
        let ok = verify(
            "op",
            Some(&(ChecksumAlgorithm::Sha256, "ABCD".into())),
            "abcd",
            None,
        );
        assert!(ok.is_ok());
        let bad = verify(
            "op",
            Some(&(ChecksumAlgorithm::Sha1, "00".into())),
            "abcd",
            Some("11"),
        );
        match bad {
            Err(PrismError::ChecksumMismatch {
                expected, actual, ..
            }) => {
                assert_eq!(expected, "00");
                assert_eq!(actual, "11");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
