//! Fault injection: rules that make matching requests fail, slow down, lose their connection, or
//! create tasks that fail, end in another unsuccessful status, or never finish. Loaded at start (`--faults FILE`) and at run time
//! (`POST /_sim/faults`), removed with `DELETE /_sim/faults`.
//!
//! # Format (JSON)
//!
//! A fault file or `POST /_sim/faults` body is one fault object or an array of them:
//!
//! ```json
//! {"match": {"method": "POST", "path": "/api/nutanix/v3/vms"},
//!  "action": {"type": "status", "status": 503, "message": "service unavailable"},
//!  "count": 2}
//! ```
//!
//! * `match.method`: HTTP method (any when absent); `match.path`: path prefix (v3 and v4 paths
//!   alike; `status` and `rate_limit` answers on `/api/vmm/...` paths use the v4 error body);
//!   `match.path_regex`: regular expression searched in the path. Absent fields match anything.
//!   Query strings are not part of the path. `/_sim/...` requests are never faulted.
//! * `action.type`:
//!   * `status` (`status` 200–599, optional `reason`, `message`): answer with that code and a Prism error body;
//!   * `rate_limit` (`retry_after_secs`, default 1): 429 with `Retry-After` and a Prism body;
//!   * `latency` (`ms`, at most one hour): delay, then handle normally (latency rules stack with one other rule);
//!   * `drop`: close the connection without answering;
//!   * `task_fail` (optional `message`): the task the request creates ends FAILED with that message;
//!   * `task_status` (`status`: one of `FAILED`, `ABORTED`, `CANCELLED`, `INVALID_UUID`; optional
//!     `message`): the task the request creates ends in that status, e.g.
//!     `{"type": "task_status", "status": "ABORTED", "message": "Task aborted by admin"}`;
//!   * `task_hang`: the task the request creates stays RUNNING forever;
//!   * `console_hang`: a console websocket request is never answered;
//!   * `console_close_mid_handshake`: a console websocket opens, its RFB server sends the
//!     first bytes of its version, then the connection closes;
//!   * `console_banner` (`banner`, 12 bytes such as `"RFB 002.000\n"`): the console's RFB
//!     server announces that version instead of 3.8.
//!
//!   Console actions only match console websocket requests (paths under `/vnc/`).
//!
//!   Task actions only match requests that create a task (POST /vms, POST /images, PUT and
//!   DELETE of /vms/{uuid} and /images/{uuid}, POST /vms/{uuid}/export, DELETE /ovas/{uuid},
//!   and the v4 POST /api/vmm/v4.x/content/templates and DELETE .../templates/{extId}); other
//!   requests pass them by. A task that
//!   `task_fail` or `task_status` shapes runs its normal course (QUEUED, then RUNNING) and ends
//!   when it would have succeeded, in the chosen status: `percentage_complete` 100,
//!   `completion_time` set, `error_detail` and the final `progress_message` both the message,
//!   `error_code` the text before its first colon when that is an upper-case reason
//!   (`RESOURCE_SHORTAGE: ...`), else `INTERNAL_ERROR`. Its effect is not applied: a created or
//!   updated entity is left in state ERROR quoting the message, a deleted one stays as it was;
//!   a failed export or template creation leaves no OVA or template at all.
//!   Without `message`, `task_fail` says `INTERNAL_ERROR: task failed by an injected fault`, and
//!   `task_status` a sentence naming the status (for `INVALID_UUID` it starts `INVALID_UUID:`).
//! * `count`: how many requests the rule applies to; `0` means forever. Default 1.
//!
//! Rules are checked in the order they were added; the first matching non-latency rule wins.

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::SimError;
use crate::model::TaskEnd;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultMatch {
    /// HTTP method, case-insensitive; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Path prefix, e.g. `/api/nutanix/v3/images`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Regular expression searched in the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_regex: Option<String>,
}

/// What a fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultAction {
    /// Answer with this HTTP status and a Prism error body.
    Status {
        /// HTTP status (100–599).
        status: u16,
        /// `reason` in the body (default `INTERNAL_ERROR` for 5xx, `INJECTED_FAULT` otherwise).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// `message` in the body.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// 429 Too Many Requests with `Retry-After`.
    RateLimit {
        /// Seconds to put in `Retry-After`.
        #[serde(default = "one_sec")]
        retry_after_secs: u64,
    },
    /// Wait before handling the request.
    Latency {
        /// Delay in milliseconds.
        ms: u64,
    },
    /// Close the connection without a response.
    Drop,
    /// The created task ends FAILED.
    TaskFail {
        /// The task's `error_detail`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The created task ends in a chosen unsuccessful status (ABORTED, CANCELLED...), so clients
    /// can be tested against every terminal state Prism reports, not only FAILED.
    TaskStatus {
        /// The status it ends in.
        status: TaskEnd,
        /// The task's `error_detail` (default: a sentence naming the status).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// The created task never finishes.
    TaskHang,
    /// A console websocket request (`/vnc/...`) is never answered: no 101, no error.
    ConsoleHang,
    /// A console websocket is upgraded, sends the first bytes of the RFB version, then the
    /// connection closes.
    ConsoleCloseMidHandshake,
    /// A console websocket's RFB server announces this 12-byte ProtocolVersion instead of
    /// `RFB 003.008\n` (e.g. `RFB 002.000\n`, a version nobody speaks).
    ConsoleBanner {
        /// The banner; exactly 12 bytes.
        banner: String,
    },
}

/// Longest injectable latency (one hour).
pub const MAX_LATENCY_MS: u64 = 3_600_000;

fn one_sec() -> u64 {
    1
}

fn default_count() -> u32 {
    1
}

/// One fault rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// Which requests it applies to.
    #[serde(rename = "match", default)]
    pub matcher: FaultMatch,
    /// What it does.
    pub action: FaultAction,
    /// How many times it applies (0 = forever).
    #[serde(default = "default_count")]
    pub count: u32,
}

impl Fault {
    /// Parses one fault object or an array of them.
    pub fn parse_list(text: &str) -> Result<Vec<Fault>, SimError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| SimError::Faults(format!("not valid JSON: {e}")))?;
        Self::from_value(v)
    }

    /// Same as [`Fault::parse_list`] from an already-parsed value.
    pub fn from_value(v: Value) -> Result<Vec<Fault>, SimError> {
        let list = match v {
            Value::Array(items) => items,
            other => vec![other],
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, item) in list.into_iter().enumerate() {
            let f: Fault = serde_json::from_value(item)
                .map_err(|e| SimError::Faults(format!("fault #{i}: {e}")))?;
            f.validate()
                .map_err(|e| SimError::Faults(format!("fault #{i}: {e}")))?;
            out.push(f);
        }
        Ok(out)
    }

    fn validate(&self) -> Result<(), String> {
        match &self.action {
            FaultAction::Status { status, .. } if !(200..=599).contains(status) => {
                return Err(format!(
                    "status {status} is not a final HTTP status code (200-599)"
                ));
            }
            FaultAction::Latency { ms } if *ms > MAX_LATENCY_MS => {
                return Err(format!(
                    "latency {ms} ms is more than the {MAX_LATENCY_MS} ms allowed"
                ));
            }
            FaultAction::ConsoleBanner { banner } if banner.len() != 12 => {
                return Err(format!(
                    "console banner {banner:?} is {} bytes; an RFB ProtocolVersion is 12",
                    banner.len()
                ));
            }
            _ => {}
        }
        if let Some(r) = &self.matcher.path_regex {
            Regex::new(r).map_err(|e| format!("path_regex {r:?}: {e}"))?;
        }
        Ok(())
    }

    fn is_console_action(&self) -> bool {
        matches!(
            self.action,
            FaultAction::ConsoleHang
                | FaultAction::ConsoleCloseMidHandshake
                | FaultAction::ConsoleBanner { .. }
        )
    }

    fn is_task_action(&self) -> bool {
        matches!(
            self.action,
            FaultAction::TaskFail { .. } | FaultAction::TaskStatus { .. } | FaultAction::TaskHang
        )
    }
}

#[derive(Debug, Clone)]
struct Active {
    id: u64,
    fault: Fault,
    regex: Option<Regex>,
    /// None = forever.
    remaining: Option<u32>,
    hits: u64,
}

impl Active {
    fn matches(&self, method: &str, path: &str, creates_task: bool) -> bool {
        if self.fault.is_task_action() && !creates_task {
            return false;
        }
        if self.fault.is_console_action() && !path.starts_with(crate::console::CONSOLE_PREFIX) {
            return false;
        }
        let m = &self.fault.matcher;
        if let Some(want) = &m.method {
            if !want.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        if let Some(prefix) = &m.path {
            if !path.starts_with(prefix.as_str()) {
                return false;
            }
        }
        if let Some(re) = &self.regex {
            if !re.is_match(path) {
                return false;
            }
        }
        true
    }
}

/// The active fault rules, with their remaining counts.
#[derive(Debug, Clone, Default)]
pub struct FaultSet {
    active: Vec<Active>,
    next_id: u64,
}

impl FaultSet {
    /// Adds rules (already validated by [`Fault::from_value`]); returns their ids.
    pub fn add(&mut self, faults: Vec<Fault>) -> Result<Vec<u64>, SimError> {
        let mut ids = Vec::new();
        for fault in faults {
            fault.validate().map_err(SimError::Faults)?;
            let regex = match &fault.matcher.path_regex {
                Some(r) => Some(Regex::new(r).map_err(|e| SimError::Faults(e.to_string()))?),
                None => None,
            };
            self.next_id += 1;
            ids.push(self.next_id);
            self.active.push(Active {
                id: self.next_id,
                remaining: (fault.count > 0).then_some(fault.count),
                fault,
                regex,
                hits: 0,
            });
        }
        Ok(ids)
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.active.clear();
    }

    /// Number of active rules.
    pub fn len(&self) -> usize {
        self.active.len()
    }

    /// Whether no rule is active.
    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// Consumes the rules that apply to this request: every matching latency rule plus the
    /// first matching other rule. Counts are decremented and exhausted rules removed.
    pub fn take(&mut self, method: &str, path: &str, creates_task: bool) -> Vec<FaultAction> {
        let mut out = Vec::new();
        let mut terminal_taken = false;
        for a in self.active.iter_mut() {
            let is_latency = matches!(a.fault.action, FaultAction::Latency { .. });
            if (!is_latency && terminal_taken) || !a.matches(method, path, creates_task) {
                continue;
            }
            if let Some(r) = a.remaining.as_mut() {
                if *r == 0 {
                    continue;
                }
                *r -= 1;
            }
            a.hits += 1;
            out.push(a.fault.action.clone());
            if !is_latency {
                terminal_taken = true;
            }
        }
        self.active.retain(|a| a.remaining != Some(0));
        out
    }

    /// The rules as JSON for `GET /_sim/faults` and `/_sim/state`.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.active
                .iter()
                .map(|a| {
                    let mut v = serde_json::to_value(&a.fault).unwrap_or(Value::Null);
                    if let Value::Object(m) = &mut v {
                        m.insert("id".into(), a.id.into());
                        m.insert("hits".into(), a.hits.into());
                        m.insert(
                            "remaining".into(),
                            a.remaining.map_or(Value::Null, Value::from),
                        );
                    }
                    v
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(json: &str) -> FaultSet {
        let mut s = FaultSet::default();
        s.add(Fault::parse_list(json).unwrap()).unwrap();
        s
    }

    #[test]
    fn parses_every_action_kind() {
        let list = Fault::parse_list(
            r#"[
              {"match":{"method":"GET","path":"/api"},"action":{"type":"status","status":500},"count":0},
              {"action":{"type":"rate_limit","retry_after_secs":3}},
              {"action":{"type":"rate_limit"}},
              {"action":{"type":"latency","ms":20}},
              {"action":{"type":"drop"}},
              {"match":{"path_regex":"^/api/.*/vms$"},"action":{"type":"task_fail","message":"boom"}},
              {"action":{"type":"task_hang"}},
              {"action":{"type":"task_status","status":"ABORTED","message":"stopped"}},
              {"action":{"type":"task_status","status":"INVALID_UUID"}}
            ]"#,
        )
        .unwrap();
        assert_eq!(list.len(), 9);
        assert_eq!(
            list[7].action,
            FaultAction::TaskStatus {
                status: TaskEnd::Aborted,
                message: Some("stopped".into())
            }
        );
        assert_eq!(
            list[8].action,
            FaultAction::TaskStatus {
                status: TaskEnd::InvalidUuid,
                message: None
            }
        );
        assert_eq!(list[0].count, 0);
        assert_eq!(list[1].count, 1);
        assert_eq!(
            list[2].action,
            FaultAction::RateLimit {
                retry_after_secs: 1
            }
        );
        assert_eq!(list[4].action, FaultAction::Drop);
        // a single object is a list of one
        assert_eq!(
            Fault::parse_list(r#"{"action":{"type":"drop"}}"#)
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn rejects_bad_definitions_with_their_index() {
        for (bad, needle) in [
            (
                r#"[{"action":{"type":"drop"}},{"action":{"type":"explode"}}]"#,
                "fault #1",
            ),
            (r#"{"action":{"type":"status","status":99}}"#, "status 99"),
            (
                r#"{"match":{"path_regex":"("},"action":{"type":"drop"}}"#,
                "path_regex",
            ),
            (
                r#"{"match":{"verb":"GET"},"action":{"type":"drop"}}"#,
                "verb",
            ),
            (r#"{"action":{"type":"latency"}}"#, "ms"),
            (
                r#"{"action":{"type":"latency","ms":99999999999}}"#,
                "latency",
            ),
            (r#"{"action":{"type":"status","status":101}}"#, "status 101"),
            (
                r#"{"action":{"type":"task_status","status":"SUCCEEDED"}}"#,
                "SUCCEEDED",
            ),
            (
                r#"{"action":{"type":"task_status","status":"aborted"}}"#,
                "ABORTED",
            ),
            (r#"{"action":{"type":"task_status"}}"#, "status"),
            (
                r#"{"action":{"type":"task_status","status":"CANCELLED","code":1}}"#,
                "code",
            ),
            ("nope", "JSON"),
        ] {
            let e = Fault::parse_list(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{e} should mention {needle}");
        }
    }

    #[test]
    fn count_is_consumed_and_zero_is_forever() {
        let mut s = set(r#"[{"match":{"path":"/a"},"action":{"type":"drop"},"count":2}]"#);
        assert_eq!(s.take("GET", "/a/b", false), vec![FaultAction::Drop]);
        assert_eq!(s.take("GET", "/a", false), vec![FaultAction::Drop]);
        assert!(s.take("GET", "/a", false).is_empty());
        assert!(s.is_empty());
        let mut s = set(r#"[{"action":{"type":"drop"},"count":0}]"#);
        for _ in 0..100 {
            assert_eq!(s.take("GET", "/x", false).len(), 1);
        }
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn method_prefix_and_regex_all_must_match() {
        let mut s = set(
            r#"[{"match":{"method":"post","path":"/api/nutanix/v3/","path_regex":"/images$"},
                 "action":{"type":"status","status":503},"count":0}]"#,
        );
        assert!(s.take("GET", "/api/nutanix/v3/images", false).is_empty());
        assert!(s.take("POST", "/api/nutanix/v3/vms", false).is_empty());
        assert!(s.take("POST", "/other/images", false).is_empty());
        assert_eq!(s.take("POST", "/api/nutanix/v3/images", false).len(), 1);
    }

    #[test]
    fn latency_stacks_with_first_terminal_rule_only() {
        let mut s = set(r#"[{"action":{"type":"latency","ms":5},"count":0},
                {"action":{"type":"status","status":500},"count":0},
                {"action":{"type":"drop"},"count":0},
                {"action":{"type":"latency","ms":7},"count":0}]"#);
        assert_eq!(
            s.take("GET", "/x", false),
            vec![
                FaultAction::Latency { ms: 5 },
                FaultAction::Status {
                    status: 500,
                    reason: None,
                    message: None
                },
                FaultAction::Latency { ms: 7 },
            ]
        );
    }

    #[test]
    fn task_actions_wait_for_a_task_creating_request() {
        let mut s = set(r#"[{"action":{"type":"task_hang"}}]"#);
        assert!(s.take("GET", "/api/nutanix/v3/vms/x", false).is_empty());
        assert_eq!(s.len(), 1);
        assert_eq!(
            s.take("POST", "/api/nutanix/v3/vms", true),
            vec![FaultAction::TaskHang]
        );
        assert!(s.is_empty());
    }

    #[test]
    fn task_status_waits_for_a_task_creating_request_and_lists_as_given() {
        let mut s = set(r#"[{"action":{"type":"task_status","status":"CANCELLED"},"count":0}]"#);
        assert!(s.take("POST", "/api/nutanix/v3/vms/list", false).is_empty());
        assert_eq!(
            s.take("DELETE", "/api/nutanix/v3/images/x", true),
            vec![FaultAction::TaskStatus {
                status: TaskEnd::Cancelled,
                message: None
            }]
        );
        let v = s.to_json();
        assert_eq!(v[0]["action"]["type"], "task_status");
        assert_eq!(v[0]["action"]["status"], "CANCELLED");
        assert!(v[0]["action"].get("message").is_none());
        // The listed action can be posted back.
        let mut action = v[0]["action"].clone();
        action["message"] = "m".into();
        let back = Fault::from_value(serde_json::json!({ "action": action })).unwrap();
        assert_eq!(
            back[0].action,
            FaultAction::TaskStatus {
                status: TaskEnd::Cancelled,
                message: Some("m".into())
            }
        );
    }

    #[test]
    fn json_listing_shows_remaining_and_hits() {
        let mut s = set(r#"[{"action":{"type":"drop"},"count":3}]"#);
        s.take("GET", "/", false);
        let v = s.to_json();
        assert_eq!(v[0]["remaining"], 2);
        assert_eq!(v[0]["hits"], 1);
        assert_eq!(v[0]["action"]["type"], "drop");
        s.clear();
        assert_eq!(s.to_json(), Value::Array(vec![]));
    }
}
