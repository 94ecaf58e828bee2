//! The one error type of the Prism layer.
//!
//! Every variant names the operation that failed (`op`, e.g. "create image 'ubuntu.iso'") so a
//! build log line says what was being done, and API failures quote Prism's own `message_list`.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::cause::Stage;
use crate::models::{ErrorBody, TaskStatus};

/// Why a Prism call failed. Match on variants; `Display` is for people.
#[derive(Debug, thiserror::Error)]
pub enum PrismError {
    /// The client configuration cannot work (bad endpoint, unreadable CA bundle...).
    #[error("invalid Prism client configuration: {0}")]
    Config(String),

    /// The request got no complete HTTP answer (DNS, connect, TLS, a reset, a deadline), after
    /// any retries. `stage` says what stalled or failed, `cause` is the root of the error chain.
    #[error("{op}: {call}: {stage} failed after {attempts} attempt(s): {cause}")]
    Transport {
        /// Operation.
        op: String,
        /// Method and URL of the failed request.
        call: String,
        /// Where it failed.
        stage: Stage,
        /// Attempts made.
        attempts: u32,
        /// The root cause.
        cause: String,
    },

    /// A create whose request may have reached Prism failed without an answer. It was not
    /// retried, because a second POST could create a duplicate; the entity may or may not exist.
    #[error("{op}: {call}: {stage} failed after the request was sent, so whether it was created is unknown (not retried, to avoid a duplicate): {cause}")]
    CreateOutcomeUnknown {
        /// Operation.
        op: String,
        /// Method and URL of the request.
        call: String,
        /// Where it failed.
        stage: Stage,
        /// The root cause.
        cause: String,
    },

    /// Prism (or something in front of it) answered with a redirect this client does not follow:
    /// to another origin, one that would change the method, or one too many.
    #[error(
        "{op}: {call}: answered HTTP {status} redirecting to '{location}', not followed: {reason}"
    )]
    Redirect {
        /// Operation.
        op: String,
        /// Method and URL of the redirected request.
        call: String,
        /// The 3xx status.
        status: u16,
        /// The Location header as sent.
        location: String,
        /// Why it was not followed.
        reason: String,
    },

    /// Prism answered with a non-success status. `message` quotes Prism's message_list.
    #[error("{op}: Prism Central returned HTTP {status}{}{}", fmt_api_message(.message), fmt_hint(.hint))]
    Api {
        /// Operation.
        op: String,
        /// HTTP status.
        status: u16,
        /// Prism's messages (`reason: message (details)`), or the start of a non-JSON body.
        message: String,
        /// The parsed error body, when it was Prism's JSON.
        body: Option<Box<ErrorBody>>,
        /// What to check, for answers whose cause is on our side (401, 403).
        hint: Option<String>,
    },

    /// A list call answered 2xx without an `entities` array (e.g. `{}`): an answer this client
    /// cannot tell from "nothing matches", so it is not taken as an empty list.
    #[error("{op}: Prism answered without entities; body starts with: {snippet}")]
    NoEntities {
        /// Operation.
        op: String,
        /// The first bytes of the body.
        snippet: String,
    },

    /// Prism answered 2xx with a body this client cannot read.
    #[error("{op}: cannot decode Prism's response: {source}; body starts with: {snippet}")]
    Decode {
        /// Operation.
        op: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
        /// The first bytes of the body.
        snippet: String,
    },

    /// A response lacked a field the operation needs (e.g. no task uuid after a create).
    #[error("{op}: Prism's response has no {field}")]
    MissingField {
        /// Operation.
        op: String,
        /// The missing field.
        field: &'static str,
    },

    /// No entity of that kind has that exact name.
    #[error("{kind} '{name}' not found{}", fmt_scope(.scope))]
    NotFound {
        /// Kind.
        kind: &'static str,
        /// Name looked up.
        name: String,
        /// Extra scope of the lookup (e.g. "on cluster X").
        scope: Option<String>,
    },

    /// Several entities have that exact name; the user must pick one by UUID.
    #[error("{kind} name '{name}' is ambiguous{}: {} entities match ({}); use the UUID instead", fmt_scope(.scope), .uuids.len(), .uuids.join(", "))]
    Ambiguous {
        /// Kind.
        kind: &'static str,
        /// Name looked up.
        name: String,
        /// Extra scope of the lookup.
        scope: Option<String>,
        /// UUIDs of every match.
        uuids: Vec<String>,
    },

    /// A task ended in a state other than SUCCEEDED.
    #[error("task {task_uuid} ({purpose}) ended {status}{}", fmt_detail(.error_detail))]
    TaskFailed {
        /// Task UUID.
        task_uuid: String,
        /// What the task was for.
        purpose: String,
        /// Terminal state (FAILED, ABORTED, CANCELLED, INVALID_UUID).
        status: TaskStatus,
        /// Prism's `error_detail`.
        error_detail: Option<String>,
    },

    /// A task reported a state this client does not know; waiting on could hang forever.
    #[error("task {task_uuid} ({purpose}) reported unknown status '{status}'")]
    UnknownTaskStatus {
        /// Task UUID.
        task_uuid: String,
        /// What the task was for.
        purpose: String,
        /// The status string.
        status: String,
    },

    /// A task did not finish before its deadline.
    #[error("timed out after {waited:?} waiting for task {task_uuid} ({purpose}); last status {last_status}{}", fmt_detail(.last_message))]
    TaskTimeout {
        /// Task UUID.
        task_uuid: String,
        /// What the task was for.
        purpose: String,
        /// How long it was waited for.
        waited: Duration,
        /// Last status seen.
        last_status: String,
        /// Last progress message seen.
        last_message: Option<String>,
    },

    /// The caller's cancel token fired.
    #[error("{op}: cancelled")]
    Cancelled {
        /// Operation.
        op: String,
    },

    /// A spec_version conflict (HTTP 409) persisted through every re-read.
    #[error("{op}: spec_version conflict persisted after {attempts} attempts (someone else keeps changing the entity)")]
    Conflict {
        /// Operation.
        op: String,
        /// Attempts made.
        attempts: u32,
    },

    /// A local file could not be read or written.
    #[error("{op}: {}: {source}", .path.display())]
    Io {
        /// Operation.
        op: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A transfer moved a different number of bytes than expected.
    #[error("{op}: size mismatch: expected {expected} bytes, got {actual}")]
    SizeMismatch {
        /// Operation.
        op: String,
        /// Expected bytes.
        expected: u64,
        /// Actual bytes.
        actual: u64,
    },

    /// A transfer's digest differs from the expected one.
    #[error("{op}: {algorithm} mismatch: expected {expected}, got {actual}")]
    ChecksumMismatch {
        /// Operation.
        op: String,
        /// Algorithm name.
        algorithm: String,
        /// Expected hex digest.
        expected: String,
        /// Computed hex digest.
        actual: String,
    },

    /// A transfer made no progress for the configured stall timeout.
    #[error("{op}: {call}: {stage} made no progress for {stalled:?} (transfer stall timeout)")]
    Stalled {
        /// Operation.
        op: String,
        /// Method and URL of the transfer.
        call: String,
        /// What stalled.
        stage: Stage,
        /// The stall timeout.
        stalled: Duration,
    },

    /// The operation is not implemented by this client yet.
    #[error("{0} is not supported by this Prism client yet")]
    Unsupported(String),
}

impl PrismError {
    /// The HTTP status of an API error, if this is one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for HTTP 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}

fn fmt_api_message(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn fmt_hint(hint: &Option<String>) -> String {
    hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default()
}

fn fmt_scope(scope: &Option<String>) -> String {
    scope.as_ref().map(|s| format!(" {s}")).unwrap_or_default()
}

fn fmt_detail(detail: &Option<String>) -> String {
    detail
        .as_ref()
        .filter(|d| !d.is_empty())
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}
