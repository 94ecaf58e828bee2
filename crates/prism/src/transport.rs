//! Sending one JSON call with the retry rules.
//!
//! Retry rules (the only place they live; docs/design/transport.md explains them):
//! * [`Retry::Idempotent`] (GET, DELETE, list POSTs, PUT carrying a spec_version): retried on
//!   transport failures that may heal (refused or reset connections, stalls), HTTP 5xx and 429,
//!   up to `RetryPolicy::max_attempts`, with jittered exponential backoff; a `Retry-After` on
//!   429/503 is honoured up to `max_retry_after`.
//! * [`Retry::CreateOnce`] (POST that creates): retried only when the request provably did not
//!   reach Prism — a DNS, connect or TLS handshake failure — or HTTP 429 (Prism refused it
//!   unprocessed). Any other failure after sending is reported, never retried: as
//!   [`PrismError::CreateOutcomeUnknown`] when no answer came back, so the caller can look
//!   the entity up by name before deciding what to do, or as [`PrismError::Api`] for a 5xx.
//! * Never retried: failures that cannot heal (an untrusted certificate, a host name that does
//!   not exist, 4xx answers such as 401/403), refused redirects, and anything once the call's
//!   overall deadline (`call_timeout`) is spent.
//!
//! Each attempt is one [`crate::exchange::Exchange`]: same-origin redirects followed, deadlines
//! on the head, the body and the whole call.
//!
//! The v4 template calls go through the same loop (`send_with_headers`), so
//! these rules apply to them unchanged; their extra headers are identical on every attempt.

use bytes::Bytes;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use tokio::time::Instant;

use crate::backoff::{parse_retry_after, retry_delay};
use crate::client::PrismClient;
use crate::config::Auth;
use crate::error::PrismError;
use crate::exchange::{Answer, Exchange, Failed};
use crate::models::{ErrorBody, ListMetadata, ListRequest, ListResponse};

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
        let config = &self.inner.config;
        let max_attempts = config.retry.max_attempts.max(1);
        let deadline = Instant::now() + config.call_timeout;
        let exchange = Exchange {
            client: &self.inner.api,
            method: &method,
            url: &url,
            body: body.as_deref(),
            headers: extra_headers,
            head_timeout: config.read_timeout,
            stall_timeout: config.read_timeout,
            deadline,
            call_timeout: config.call_timeout,
        };
        let call = |url: &url::Url| format!("{method} {url}");
        // A retry whose backoff wait alone would pass the deadline could only be cut short:
        // the last failure is reported instead.
        let fits = |delay: std::time::Duration| Instant::now() + delay < deadline;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            tracing::debug!(op, %method, url = %url, attempt, "Prism request");
            let (delay, why) = match exchange.run().await {
                Ok(answer) if answer.status.is_success() => {
                    return Ok((answer.headers, answer.body))
                }
                Ok(Answer {
                    status,
                    headers,
                    body,
                }) => {
                    let retryable = status == StatusCode::TOO_MANY_REQUESTS
                        || (retry == Retry::Idempotent && status.is_server_error());
                    let delay = self.retry_wait(attempt, status, &headers);
                    if !retryable || attempt >= max_attempts || !fits(delay) {
                        return Err(self.api_error_with_hint(op, status, &body));
                    }
                    (delay, format!("HTTP {}", status.as_u16()))
                }
                Err(Failed::Redirect {
                    url,
                    status,
                    location,
                    reason,
                }) => {
                    return Err(PrismError::Redirect {
                        op: op.to_string(),
                        call: call(&url),
                        status,
                        location,
                        reason,
                    })
                }
                Err(Failed::Transport { url, cause }) => {
                    let retryable = !cause.permanent
                        && (retry == Retry::Idempotent || cause.stage.before_request());
                    let delay = retry_delay(&config.retry, attempt, rand::random::<f64>());
                    if !retryable || attempt >= max_attempts || !fits(delay) {
                        if retry == Retry::CreateOnce && !cause.stage.before_request() {
                            return Err(PrismError::CreateOutcomeUnknown {
                                op: op.to_string(),
                                call: call(&url),
                                stage: cause.stage,
                                cause: cause.text,
                            });
                        }
                        return Err(PrismError::Transport {
                            op: op.to_string(),
                            call: call(&url),
                            stage: cause.stage,
                            attempts: attempt,
                            cause: cause.text,
                        });
                    }
                    (delay, format!("{}: {}", cause.stage, cause.text))
                }
            };
            tracing::warn!(op, attempt, ?delay, error = %why, "Prism call failed, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// [`api_error`] plus what to check when the cause is on our side: the credential options
    /// for a 401, permissions (and custom headers, which a proxy may check) for a 403.
    fn api_error_with_hint(&self, op: &str, status: StatusCode, bytes: &[u8]) -> PrismError {
        let mut error = api_error(op, status, bytes);
        let config = &self.inner.config;
        let hint = match status {
            StatusCode::UNAUTHORIZED => Some(match config.auth {
                Auth::Basic { .. } => {
                    "Prism Central refused the user name and password: check nutanix_username and nutanix_password".to_string()
                }
                Auth::ApiKey(_) => "Prism Central refused the API key: check nutanix_api_key (or nutanix_password when nutanix_username is X-ntnx-api-key)".to_string(),
            }),
            StatusCode::FORBIDDEN => Some(if config.custom_headers.is_empty() {
                "the credentials were accepted but are not allowed this call: check the account's role in Prism Central".to_string()
            } else {
                "refused: check the account's role in Prism Central, and the nutanix_custom_headers values if a proxy checks them".to_string()
            }),
            _ => None,
        };
        if let PrismError::Api { hint: slot, .. } = &mut error {
            *slot = hint;
        }
        error
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

    /// One page of a v3 list. An answer without `entities` is an error unless its metadata says
    /// nothing matches: `{}` (a proxy's or a broken gateway's answer) must not read as "no
    /// such entity".
    pub(crate) async fn list_page<T: DeserializeOwned>(
        &self,
        op: &str,
        segments: &[&str],
        request: &ListRequest,
    ) -> Result<ListResponse<T>, PrismError> {
        let body = serde_json::to_vec(request).map_err(|e| PrismError::Decode {
            op: op.to_string(),
            source: e,
            snippet: "<request body could not be encoded>".to_string(),
        })?;
        let bytes = self
            .send(
                op,
                Method::POST,
                self.url(segments),
                Some(body),
                Retry::Idempotent,
            )
            .await?;
        let page: ListPage<T> = decode(op, &bytes)?;
        let entities = match page.entities {
            Some(entities) => entities,
            None if page
                .metadata
                .as_ref()
                .is_some_and(|m| m.total_matches == Some(0)) =>
            {
                Vec::new()
            }
            None => {
                return Err(PrismError::NoEntities {
                    op: op.to_string(),
                    snippet: snippet(&bytes),
                })
            }
        };
        Ok(ListResponse {
            api_version: page.api_version,
            metadata: page.metadata.unwrap_or_default(),
            entities,
        })
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
            let response: ListResponse<T> = self.list_page(op, segments, &request).await?;
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

/// A list answer as sent, so a missing `entities` can be told from an empty one.
#[derive(serde::Deserialize)]
struct ListPage<T> {
    #[serde(default)]
    api_version: Option<String>,
    #[serde(default)]
    metadata: Option<ListMetadata>,
    #[serde(default = "none")]
    entities: Option<Vec<T>>,
}

fn none<T>() -> Option<T> {
    None
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
        hint: None,
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
