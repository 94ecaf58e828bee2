//! Tasks: how Prism reports the outcome of every asynchronous change.

use serde::{Deserialize, Serialize};

use super::common::{Extra, Reference};
use super::enums::TaskStatus;

/// `GET /tasks/{uuid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Task UUID.
    #[serde(default)]
    pub uuid: String,
    /// State.
    pub status: TaskStatus,
    /// What Prism says it is doing, for the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_message: Option<String>,
    /// 0..=100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_complete: Option<i64>,
    /// The entities the task created or changed (the new VM or image uuid on create).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entity_reference_list: Vec<Reference>,
    /// Why it failed (`INTERNAL_ERROR: ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<String>,
    /// Machine-readable failure code (a number or a string depending on the PC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<serde_json::Value>,
    /// Operation name (`kVmCreate`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_type: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// What a progress callback receives on every change of a polled task.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskProgress {
    /// Task UUID.
    pub task_uuid: String,
    /// What the task is for, as the caller named it.
    pub purpose: String,
    /// Current state.
    pub status: TaskStatus,
    /// Percentage, if Prism reports one.
    pub percentage_complete: Option<i64>,
    /// Prism's progress text.
    pub progress_message: Option<String>,
}
