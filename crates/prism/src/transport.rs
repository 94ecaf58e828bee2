//! Sending one JSON call with the retry rules.
//!
//! Retry rules (the only place they live):
//! * [`Retry::Idempotent`] (GET, DELETE, list POSTs, PUT carrying a spec_version): retried on
//!   transport errors, HTTP 5xx and 429, up to `RetryPolicy::max_attempts`, with jittered
//!   exponential backoff; a `Retry-After` on 429/503 is honoured up to `max_retry_after`.
//! * [`Retry::CreateOnce`] (POST that creates): retried only when the request provably did not
//!   reach Prism — a connect error (DNS, TCP, TLS handshake) or HTTP 429 (Prism refused it
//!   unprocessed). Any other failure after sending is reported, never retried: as
//!   [`PrismError::CreateOutcomeUnknown`] when no answer came back, so the caller can look
//!   the entity up by name before deciding what to do, or as [`PrismError::Api`] for a 5xx.
//!
//! The v4 template calls go through the same loop (`send_with_headers`), so
//! these rules apply to them unchanged; their extra headers are identical on every attempt.

use bytes::Bytes;
use reqwest::header::{HeaderMap, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::backoff::{parse_retry_after, retry_delay};
use crate::client::PrismClient;
use crate::error::PrismError;
use crate::models::{ErrorBody, ListRequest, ListResponse};

/// Whether a call may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Repeating it has the same effect as doing it once.
    Idempotent,
    /// A create: repeating it could make a duplicate.
    CreateOnce,
}

impl PrismClient {
    /// Sends a call and returns the body of a 2xx answer.
    pub(crate) async fn send(
        &self,
        op: &str,
        method: Method,
        url: url::Url,
        body: Option<Vec<u8>>,
        retry: Retry,
    ) -> Result<Bytes, PrismError> {
        self.send_with_headers(op, method, url, body, retry, &HeaderMap::new())
            .await
            .map(|(_, bytes)| bytes)
    }

    /// [`Self::send`] with extra request headers (the same on every attempt, so an
    /// idempotency key such as v4's `NTNX-Request-Id` is repeated, not renewed), returning
    /// the answer's headers too (v4 reads the `ETag`).
    pub(crate) async fn send_with_headers(
        &self,
        op: &str,
        method: Method,
        url: url::Url,
        body: Option<Vec<u8>>,
        retry: Retry,
        extra_headers: &HeaderMap,
    ) -> Result<(HeaderMap, Bytes), PrismError> {
        let policy = &self.inner.config.retry;
        let max_attempts = policy.max_attempts.max(1);
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut request = self
                .inner
                .api
                .request(method.clone(), url.clone())
                .headers(extra_headers.clone());
            if let Some(body) = &body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            tracing::debug!(op, %method, url = %url, attempt, "Prism request");
            let outcome = async {
                let response = request.send().await?;
                let status = response.status();
                let headers = response.headers().clone();
                let bytes = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, bytes))
            }
            .await;

            match outcome {
                Ok((status, headers, bytes)) if status.is_success() => return Ok((headers, bytes)),
                Ok((status, headers, bytes)) => {
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (retry == Retry::Idempotent && status.is_server_error());
                    if retryable && attempt < max_attempts {
                        let delay = self.retry_wait(attempt, status, &headers);
                        tracing::warn!(
                            op,
                            status = status.as_u16(),
                            attempt,
                            ?delay,
                            "Prism call failed, retrying"
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(api_error(op, status, &bytes));
                }
                Err(error) => {
                    let retryable = !error.is_builder()
                        && match retry {
                            Retry::Idempotent => true,
                            Retry::CreateOnce => error.is_connect(),
                        };
                    if retryable && attempt < max_attempts {
                        let delay = retry_delay(policy, attempt, rand::random::<f64>());
                        tracing::warn!(op, attempt, ?delay, error = %error, "Prism unreachable, retrying");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    if retry == Retry::CreateOnce && !error.is_connect() && !error.is_builder() {
                        return Err(PrismError::CreateOutcomeUnknown {
                            op: op.to_string(),
                            source: error,
                        });
                    }
                    return Err(PrismError::Transport {
                        op: op.to_string(),
                        attempts: attempt,
                        source: error,
                    });
                }
            }
        }
    }

    fn retry_wait(
        &self,
        attempt: u32,
        status: StatusCode,
        headers: &HeaderMap,
    ) -> std::time::Duration {
        let policy = &self.inner.config.retry;
        let server_asked = if matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, chrono::Utc::now()))
        } else {
            None
        };
        match server_asked {
            Some(wait) => wait.min(policy.max_retry_after),
            None => retry_delay(policy, attempt, rand::random::<f64>()),
        }
    }

    /// Sends a call and decodes the JSON answer.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        op: &str,
        method: Method,
        segments: &[&str],
        body: Option<&(impl Serialize + ?Sized)>,
        retry: Retry,
    ) -> Result<T, PrismError> {
        let body = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| PrismError::Decode {
                op: op.to_string(),
                source: e,
                snippet: "<request body could not be encoded>".to_string(),
            })?),
            None => None,
        };
        let bytes = self
            .send(op, method, self.url(segments), body, retry)
            .await?;
        decode(op, &bytes)
    }

    /// GET that decodes JSON (idempotent).
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        op: &str,
        segments: &[&str],
    ) -> Result<T, PrismError> {
        self.call(op, Method::GET, segments, None::<&()>, Retry::Idempotent)
            .await
    }

    /// Every entity of a v3 list, page by page (`length` = the configured page size).
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        op: &str,
        kind: &str,
        segments: &[&str],
        filter: Option<String>,
    ) -> Result<Vec<T>, PrismError> {
        let page = self.inner.config.page_size.max(1);
        let mut out: Vec<T> = Vec::new();
        let mut offset: u32 = 0;
        // A PC that ignores `offset` would otherwise loop forever.
        for _ in 0..100_000 {
            let request = ListRequest {
                kind: kind.to_string(),
                filter: filter.clone(),
                length: Some(page),
                offset: Some(offset),
                ..ListRequest::default()
            };
            let response: ListResponse<T> = self
                .call(
                    op,
                    Method::POST,
                    segments,
                    Some(&request),
                    Retry::Idempotent,
                )
                .await?;
            let got = u32::try_from(response.entities.len()).unwrap_or(u32::MAX);
            out.extend(response.entities);
            offset = offset.saturating_add(got);
            let more = match response.metadata.total_matches {
                Some(total) => u64::from(offset) < total,
                None => got >= page,
            };
            if got == 0 || !more {
                return Ok(out);
            }
        }
        tracing::warn!(op, "list pagination stopped after 100000 pages");
        Ok(out)
    }
}

/// Decodes a JSON body, quoting its start on failure.
pub(crate) fn decode<T: DeserializeOwned>(op: &str, bytes: &[u8]) -> Result<T, PrismError> {
    serde_json::from_slice(bytes).map_err(|e| PrismError::Decode {
        op: op.to_string(),
        source: e,
        snippet: snippet(bytes),
    })
}

/// The API error for a non-success answer, quoting Prism's message_list when there is one.
pub(crate) fn api_error(op: &str, status: StatusCode, bytes: &[u8]) -> PrismError {
    let body = ErrorBody::parse(bytes);
    let mut message = body.as_ref().map(ErrorBody::summary).unwrap_or_default();
    if message.is_empty() {
        message = snippet(bytes);
    }
    if message.is_empty() && status == StatusCode::UNAUTHORIZED {
        message = "invalid Nutanix credentials".to_string();
    }
    PrismError::Api {
        op: op.to_string(),
        status: status.as_u16(),
        message,
        body: body.map(Box::new),
    }
}

/// The first 300 characters of a body, lossily decoded, for error messages.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let head = bytes.get(..bytes.len().min(600)).unwrap_or_default();
    let text = String::from_utf8_lossy(head);
    let mut s: String = text.chars().take(300).collect();
    if text.chars().count() > 300 || bytes.len() > 600 {
        s.push('…');
    }
    s.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_error_bodies_become_api_errors_quoting_code_and_message() {
        // docs/design/prism-v3.md, 'v4 errors'.
        let body = br#"{"$objectType":"vmm.v4.content.CreateTemplateApiResponse","data":{
            "$objectType":"vmm.v4.error.ErrorResponse","error":[{"$objectType":
            "vmm.v4.error.AppMessage","code":"VMM-30100","message":"VM not found",
            "severity":"ERROR","errorGroup":"VM"}]},"metadata":{"flags":[
            {"name":"hasError","value":true}]}}"#;
        let e = api_error("create template 't'", StatusCode::NOT_FOUND, body);
        assert!(e.is_not_found());
        let text = e.to_string();
        assert!(text.contains("create template 't'"), "{text}");
        assert!(text.contains("HTTP 404: VMM-30100: VM not found"), "{text}");
        match e {
            PrismError::Api { body: Some(b), .. } => assert_eq!(b.app_messages.len(), 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v3_error_bodies_are_still_quoted() {
        let body = br#"{"api_version":"3.1","code":422,"kind":"vm","state":"ERROR",
            "message_list":[{"message":"disk_file_format is invalid","reason":"INVALID_REQUEST"}]}"#;
        let text = api_error("export", StatusCode::UNPROCESSABLE_ENTITY, body).to_string();
        assert!(
            text.contains("HTTP 422: INVALID_REQUEST: disk_file_format is invalid"),
            "{text}"
        );
    }
}
