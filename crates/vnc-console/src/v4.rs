//! The v4 console path, as the Go plugin's v1.1.5+ line takes it (through prism-go-client's
//! `GenerateConsoleToken`): `POST /api/vmm/v4.2/ahv/config/vms/{vm}/$actions/generate-console-token`
//! (v4.3 if v4.2 is not served) answers a task reference; the finished task
//! (`GET /api/prism/v4.0/config/tasks/{extId}`) carries `completionDetails` named `VmConsoleToken`
//! and `WsUri`; the websocket goes to `WsUri` on the same origin with `?VmConsoleToken=<token>`,
//! `Origin` set to the origin and the build's credentials.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::error::ConsoleError;
use crate::link::Link;
use crate::net::{exchange_deadline, host_header, step, upgrade, Dialer};
use crate::rest::Rest;
use crate::target::{auth_headers, check_headers, ConsoleTarget};

/// VMM versions that have the action (it appeared in v4.2, Prism Central pc.7.5).
pub const VMM_VERSIONS: &[&str] = &["v4.2", "v4.3"];
/// Longest pause between task polls.
const MAX_POLL: Duration = Duration::from_secs(1);

/// The token and where to use it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ConsoleToken {
    pub token: String,
    pub ws_uri: String,
}

impl std::fmt::Debug for ConsoleToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConsoleToken")
            .field("token", &"<redacted>")
            .field("ws_uri", &self.ws_uri)
            .finish()
    }
}

/// Reads `VmConsoleToken` and `WsUri` from a v4 task's `completionDetails`. A value may be a
/// plain string or a `{"value": "..."}` wrapper.
pub(crate) fn token_from_task(task: &Value) -> Option<ConsoleToken> {
    let details = task.get("completionDetails")?.as_array()?;
    let find = |name: &str| {
        details.iter().find_map(|kv| {
            if kv.get("name")?.as_str()? != name {
                return None;
            }
            let v = kv.get("value")?;
            v.as_str()
                .or_else(|| v.get("value").and_then(Value::as_str))
                .map(str::to_string)
        })
    };
    Some(ConsoleToken {
        token: find("VmConsoleToken").filter(|t| !t.is_empty())?,
        ws_uri: find("WsUri").filter(|u| !u.is_empty())?,
    })
}

/// The request target for the websocket: `WsUri`'s path and query (a full URL is reduced to
/// them: the connection always goes to the configured origin) plus the token.
pub(crate) fn ws_request_target(
    ws_uri: &str,
    token: &str,
) -> Result<(String, String), ConsoleError> {
    let (path, query) = if ws_uri.starts_with('/') {
        match ws_uri.split_once('?') {
            Some((p, q)) => (p.to_string(), Some(q.to_string())),
            None => (ws_uri.to_string(), None),
        }
    } else {
        let url = url::Url::parse(ws_uri).map_err(|e| ConsoleError::Http {
            what: "console token".into(),
            message: format!("WsUri {ws_uri:?} is neither a path nor a URL: {e}"),
        })?;
        (url.path().to_string(), url.query().map(str::to_string))
    };
    if path.contains(char::is_whitespace) || path.contains('#') {
        return Err(ConsoleError::Http {
            what: "console token".into(),
            message: format!("WsUri {ws_uri:?} is not a usable path"),
        });
    }
    let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
    let query = match query.filter(|q| !q.is_empty()) {
        Some(q) => format!("{q}&VmConsoleToken={encoded}"),
        None => format!("VmConsoleToken={encoded}"),
    };
    Ok((format!("{path}?{query}"), path))
}

/// Opens the console; `what` is updated to name the step being attempted.
pub(crate) async fn open(
    target: &ConsoleTarget,
    dialer: &Dialer,
    rest: &Rest,
    deadline: Instant,
    what: &mut String,
) -> Result<Link, ConsoleError> {
    let origin = target.origin()?;
    let vm = target.vm()?;
    let mut task_id = None;
    let mut missing = Vec::new();
    for version in VMM_VERSIONS {
        let url = origin
            .join(&format!(
                "api/vmm/{version}/ahv/config/vms/{vm}/$actions/generate-console-token"
            ))
            .map_err(|e| ConsoleError::Config(e.to_string()))?;
        *what = format!("v4 token (POST {url})");
        let request_id = uuid::Uuid::new_v4().to_string();
        let answer = step(
            "generate-console-token",
            deadline,
            rest.call(
                reqwest::Method::POST,
                url,
                &[("NTNX-Request-Id", request_id)],
            ),
        )
        .await?;
        match answer.status {
            200..=299 => {
                let body = answer.json();
                let id = body
                    .pointer("/data/extId")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                task_id = Some(id.ok_or_else(|| ConsoleError::Http {
                    what: "generate-console-token".into(),
                    message: "the answer names no task (data.extId)".into(),
                })?);
                break;
            }
            404 => {
                // A 404 that names the VM is about the VM, not about the API version.
                let message = crate::rest::prism_message(&answer.json()).unwrap_or_default();
                if message.contains(vm) {
                    return Err(ConsoleError::Http {
                        what: "generate-console-token".into(),
                        message: answer.failure(),
                    });
                }
                missing.push(*version)
            }
            _ => {
                return Err(ConsoleError::Http {
                    what: "generate-console-token".into(),
                    message: answer.failure(),
                })
            }
        }
    }
    let Some(task_id) = task_id else {
        *what = "v4 token".into();
        return Err(ConsoleError::Http {
            what: "generate-console-token".into(),
            message: format!(
                "HTTP 404 for vmm {}: this Prism Central does not offer console tokens \
                 (they need pc.7.5 or later)",
                missing.join(" and ")
            ),
        });
    };
    let token = step(
        "the console token task",
        deadline,
        wait_task(rest, &origin, &task_id),
    )
    .await?;
    let (request_target, path) = ws_request_target(&token.ws_uri, &token.token)?;
    let ws_scheme = if origin.scheme() == "https" {
        "wss"
    } else {
        "ws"
    };
    let host = host_header(target);
    *what = format!("v4 token websocket at {ws_scheme}://{host}{path}");

    let mut headers = vec![
        (
            "Origin".to_string(),
            origin.as_str().trim_end_matches('/').to_string(),
        ),
        ("User-Agent".to_string(), target.user_agent.clone()),
    ];
    headers.extend(auth_headers(target));
    check_headers(&headers)?;
    let io = step("connect", exchange_deadline(deadline), dialer.stream()).await?;
    // A refusal may quote the request line, token included.
    let (io, leftover) = step(
        "websocket upgrade",
        exchange_deadline(deadline),
        upgrade(io, &request_target, &host, &headers),
    )
    .await
    .map_err(|e| e.redact(&token.token))?;
    Ok(Link::websocket(io, leftover, what.clone()))
}

/// Polls the v4 task until it ends; its completion details hold the token.
async fn wait_task(
    rest: &Rest,
    origin: &url::Url,
    task_id: &str,
) -> Result<ConsoleToken, ConsoleError> {
    let mut url = origin.clone();
    url.path_segments_mut()
        .map_err(|_| ConsoleError::Config("origin cannot have a path".into()))?
        .clear()
        .extend(["api", "prism", "v4.0", "config", "tasks", task_id]);
    let what = format!("GET {url}");
    let mut pause = Duration::from_millis(50);
    loop {
        let answer = rest.call(reqwest::Method::GET, url.clone(), &[]).await?;
        if answer.status != 200 {
            return Err(ConsoleError::Http {
                what,
                message: answer.failure(),
            });
        }
        let body = answer.json();
        let task = body.get("data").unwrap_or(&Value::Null);
        match task.get("status").and_then(Value::as_str).unwrap_or("") {
            "SUCCEEDED" => {
                return token_from_task(task).ok_or_else(|| ConsoleError::Http {
                    what,
                    message: "the task succeeded without VmConsoleToken and WsUri in its \
                              completionDetails"
                        .into(),
                })
            }
            status @ ("FAILED" | "CANCELED" | "CANCELLED") => {
                let mut messages: Vec<String> = task
                    .get("errorMessages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|m| m.get("message")?.as_str().map(String::from))
                    .collect();
                if let Some(legacy) = task
                    .pointer("/legacyErrorMessage")
                    .and_then(Value::as_str)
                    .filter(|m| !m.is_empty())
                {
                    messages.push(legacy.to_string());
                }
                return Err(ConsoleError::Http {
                    what: format!("console token task {task_id}"),
                    message: format!("{status}: {}", messages.join("; ")),
                });
            }
            _ => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(MAX_POLL);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_completion_details_and_builds_the_target() {
        let task = json!({"status": "SUCCEEDED", "completionDetails": [
            {"name": "VmConsoleToken", "value": "a+b/c=="},
            {"name": "WsUri", "value": {"value": "/vnc/vm/x/proxy"}}]});
        let t = token_from_task(&task).unwrap();
        assert_eq!(t.ws_uri, "/vnc/vm/x/proxy");
        assert!(!format!("{t:?}").contains("a+b"));
        let (target, path) = ws_request_target(&t.ws_uri, &t.token).unwrap();
        assert_eq!(target, "/vnc/vm/x/proxy?VmConsoleToken=a%2Bb%2Fc%3D%3D");
        assert_eq!(path, "/vnc/vm/x/proxy");
        // A full URL keeps only path and query: the connection stays on our origin.
        let (target, _) =
            ws_request_target("wss://10.0.0.9:9440/console/launch/x?a=1", "t").unwrap();
        assert_eq!(target, "/console/launch/x?a=1&VmConsoleToken=t");
        assert!(ws_request_target("no path", "t").is_err());
        assert!(token_from_task(&json!({"completionDetails": []})).is_none());
    }
}
