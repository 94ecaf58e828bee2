//! One attempt of a JSON call: send, follow same-origin redirects, read the whole answer, all
//! under deadlines. No retries here; [`crate::transport`] decides about those.
//!
//! Deadlines (see docs/design/transport.md):
//! * connect: reqwest's connect timeout (TCP and TLS handshake);
//! * headers: from sending (connecting included) until the status line and headers are
//!   complete, at most `read_timeout` (a server trickling header bytes cannot extend it);
//! * body: at most `read_timeout` of silence between two body reads;
//! * overall: the call's deadline (`call_timeout` from the first attempt), which also ends a body
//!   that keeps trickling bytes.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{HeaderMap, CONTENT_TYPE, LOCATION};
use reqwest::{Method, StatusCode};
use tokio::time::Instant;

use crate::cause::{classify, Cause, Stage};
use crate::redirect::{redirect_decision, resolve_location, RedirectDecision, MAX_REDIRECTS};

/// Largest JSON answer accepted; a larger one is a broken or hostile server, not Prism.
pub(crate) const MAX_JSON_BODY: usize = 256 << 20;

/// A complete HTTP answer.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// Why an attempt got no complete answer.
pub(crate) enum Failed {
    /// Transport failure (or a deadline) at `url`.
    Transport { url: url::Url, cause: Cause },
    /// A redirect this client will not follow.
    Redirect {
        url: url::Url,
        status: u16,
        location: String,
        reason: String,
    },
}

/// What one attempt sends.
pub(crate) struct Exchange<'a> {
    pub client: &'a reqwest::Client,
    pub method: &'a Method,
    pub url: &'a url::Url,
    pub body: Option<&'a [u8]>,
    pub headers: &'a HeaderMap,
    /// Longest wait for the response head after sending.
    pub head_timeout: Duration,
    /// Longest silence while reading the body.
    pub stall_timeout: Duration,
    /// The call's overall deadline and its length (for the message).
    pub deadline: Instant,
    pub call_timeout: Duration,
}

impl Exchange<'_> {
    /// Sends the request, following at most [`MAX_REDIRECTS`] same-origin redirects.
    pub(crate) async fn run(&self) -> Result<Answer, Failed> {
        let mut url = self.url.clone();
        let mut hops = 0u32;
        loop {
            let answer = self.once(&url).await?;
            if !answer.status.is_redirection() {
                return Ok(answer);
            }
            let status = answer.status.as_u16();
            let location = answer
                .headers
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let refuse = |reason: String| Failed::Redirect {
                url: url.clone(),
                status,
                location: location.clone(),
                reason,
            };
            if location.is_empty() {
                return Err(refuse("the answer has no usable Location header".into()));
            }
            let target = resolve_location(&url, &location)
                .map_err(|e| refuse(format!("the Location is not a URL ({e})")))?;
            match redirect_decision(&url, &target, self.method.as_str(), status, true) {
                RedirectDecision::Refuse(why) => return Err(refuse(why.to_string())),
                RedirectDecision::Follow(next) => {
                    hops += 1;
                    if hops > MAX_REDIRECTS {
                        return Err(refuse(format!(
                            "gave up after {MAX_REDIRECTS} redirects (a redirect loop?)"
                        )));
                    }
                    tracing::debug!(from = %url, to = %next, status, "following same-origin redirect");
                    url = next;
                }
            }
        }
    }

    async fn once(&self, url: &url::Url) -> Result<Answer, Failed> {
        let fail = |cause: Cause| Failed::Transport {
            url: url.clone(),
            cause,
        };
        let mut request = self
            .client
            .request(self.method.clone(), url.clone())
            .headers(self.headers.clone());
        if let Some(body) = self.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let head = self.bounded(self.head_timeout, Stage::Headers);
        let response = match tokio::time::timeout_at(head.0, request.send()).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(fail(classify(&e, Stage::Headers))),
            Err(_) => return Err(fail(head.1)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let mut response = response;
        let mut body = BytesMut::new();
        loop {
            let (at, timed_out) = self.bounded(self.stall_timeout, Stage::Body);
            match tokio::time::timeout_at(at, response.chunk()).await {
                Ok(Ok(Some(chunk))) => {
                    if body.len().saturating_add(chunk.len()) > MAX_JSON_BODY {
                        return Err(fail(Cause {
                            stage: Stage::Body,
                            text: format!("the answer is larger than {MAX_JSON_BODY} bytes"),
                            permanent: true,
                        }));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(Ok(None)) => break,
                Ok(Err(e)) => return Err(fail(classify(&e, Stage::Body))),
                Err(_) => return Err(fail(timed_out)),
            }
        }
        Ok(Answer {
            status,
            headers,
            body: body.freeze(),
        })
    }

    /// The instant a wait of `limit` must end (the call's deadline if sooner) and the cause to
    /// report when it does.
    fn bounded(&self, limit: Duration, stage: Stage) -> (Instant, Cause) {
        let own = Instant::now() + limit;
        if own < self.deadline {
            let text = match stage {
                Stage::Body => format!("no data for {limit:?} (stall deadline)"),
                _ => format!("no complete answer within {limit:?} (headers deadline)"),
            };
            (
                own,
                Cause {
                    stage,
                    text,
                    permanent: false,
                },
            )
        } else {
            (
                self.deadline,
                Cause {
                    stage,
                    text: format!(
                        "the call did not finish within {:?} (overall deadline)",
                        self.call_timeout
                    ),
                    permanent: true,
                },
            )
        }
    }
}
