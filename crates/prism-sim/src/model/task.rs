//! Prism tasks: each create/update/delete request becomes a task that is QUEUED for the first
//! fifth of its duration, RUNNING (percentage and progress message advancing) for the rest, and
//! then SUCCEEDED, at which moment its effect is applied to the entity, or FAILED (or, when a
//! fault says so, ABORTED, CANCELLED or INVALID_UUID), in which case it is not. Status is a pure
//! function of "now", so nothing runs in the background.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The unsuccessful terminal statuses a v3 task reports, so a fault can make a client meet
/// each one (terraform-provider-nutanix stops on FAILED and INVALID_UUID and on anything that
/// is neither pending nor SUCCEEDED; the Go plugin polls on until its timeout for all but FAILED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskEnd {
    /// `FAILED`: the operation went wrong.
    Failed,
    /// `ABORTED`: the task was stopped before finishing.
    Aborted,
    /// `CANCELLED`: the task was cancelled.
    Cancelled,
    /// `INVALID_UUID`: Prism no longer knows the task.
    InvalidUuid,
}

impl TaskEnd {
    /// The `status` string.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskEnd::Failed => "FAILED",
            TaskEnd::Aborted => "ABORTED",
            TaskEnd::Cancelled => "CANCELLED",
            TaskEnd::InvalidUuid => "INVALID_UUID",
        }
    }

    /// `error_detail` of an injected end that names no message.
    pub fn default_message(self) -> &'static str {
        match self {
            TaskEnd::Failed => "INTERNAL_ERROR: task failed by an injected fault",
            TaskEnd::Aborted => "task aborted by an injected fault",
            TaskEnd::Cancelled => "task cancelled by an injected fault",
            TaskEnd::InvalidUuid => {
                "INVALID_UUID: the task is no longer known to Prism Central (injected fault)"
            }
        }
    }
}

/// Why a task does not succeed: decided when the request is accepted, shown when it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub status: TaskEnd,
    /// `error_detail`, and the final `progress_message`.
    pub message: String,
}

impl Failure {
    /// An ordinary FAILED task (bad download, image in use...).
    pub fn failed(message: String) -> Self {
        Self {
            status: TaskEnd::Failed,
            message,
        }
    }
}

/// The operation a task performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    CreateVm,
    UpdateVm,
    DeleteVm,
    CreateImage,
    UpdateImage,
    DeleteImage,
    /// `POST /vms/{uuid}/export`: acts on the VM, produces an OVA.
    ExportVm,
    DeleteOva,
    /// v4 template creation, polled through v3 `/tasks`.
    CreateTemplate,
    DeleteTemplate,
    /// v4 `$actions/generate-console-token`: acts on the VM, produces a console token.
    GenerateConsoleToken,
}

impl Op {
    /// `operation_type` as Prism Central names intentful tasks. GUESS for the OVA and
    /// template operations (`VmExport` is a guess; the others follow it): no
    /// real Prism Central answer has been seen for them.
    pub fn operation_type(self) -> &'static str {
        match self {
            Op::CreateVm => "create_vm_intentful",
            Op::UpdateVm => "update_vm_intentful",
            Op::DeleteVm => "delete_vm_intentful",
            Op::CreateImage => "create_image_intentful",
            Op::UpdateImage => "update_image_intentful",
            Op::DeleteImage => "delete_image_intentful",
            Op::ExportVm => "VmExport",
            Op::DeleteOva => "OvaDelete",
            Op::CreateTemplate => "TemplateCreate",
            Op::DeleteTemplate => "TemplateDelete",
            // The name Prism Central uses (its "not supported" error quotes it; issue #356).
            Op::GenerateConsoleToken => "GenerateVmConsoleToken",
        }
    }

    /// v4 `operation`: the same names. GUESS for the intentful v3 operations.
    pub fn v4_operation(self) -> &'static str {
        self.operation_type()
    }

    /// v4 `entitiesAffected[].rel`. GUESS except for VMs (`vmm:ahv:config:vm`).
    pub fn v4_rel(self) -> &'static str {
        match self.kind() {
            "vm" => "vmm:ahv:config:vm",
            "image" => "vmm:content:image",
            "ova" => "vmm:content:ova",
            _ => "vmm:content:template",
        }
    }

    /// Entity kind the task acts on (its `entity_reference_list` kind). An export names the
    /// VM, not the OVA it makes (GUESS: docs/design/prism-v3.md, 'Exporting a VM to an OVA').
    pub fn kind(self) -> &'static str {
        match self {
            Op::CreateVm
            | Op::UpdateVm
            | Op::DeleteVm
            | Op::ExportVm
            | Op::GenerateConsoleToken => "vm",
            Op::CreateImage | Op::UpdateImage | Op::DeleteImage => "image",
            Op::DeleteOva => "ova",
            Op::CreateTemplate | Op::DeleteTemplate => super::TEMPLATE_KIND,
        }
    }

    pub fn is_delete(self) -> bool {
        matches!(
            self,
            Op::DeleteVm | Op::DeleteImage | Op::DeleteOva | Op::DeleteTemplate
        )
    }

    /// Progress messages shown while RUNNING, in order.
    fn stages(self) -> &'static [&'static str] {
        match self {
            Op::CreateVm => &[
                "Validating the VM specification",
                "Placing the VM",
                "Creating VM disks",
                "Attaching NICs",
                "Applying the power state",
            ],
            Op::UpdateVm => &[
                "Validating the change",
                "Reconfiguring the VM",
                "Applying the power state",
            ],
            Op::DeleteVm => &[
                "Powering off the VM",
                "Deleting VM disks",
                "Removing the VM",
            ],
            Op::CreateImage => &[
                "Preparing the image",
                "Copying image data",
                "Replicating to clusters",
            ],
            Op::UpdateImage => &["Updating the image"],
            Op::DeleteImage => &["Deleting image data", "Removing the image"],
            Op::ExportVm => &[
                "Taking a snapshot of the VM",
                "Exporting VM disks",
                "Packaging the OVA",
            ],
            Op::DeleteOva => &["Deleting the OVA"],
            Op::CreateTemplate => &[
                "Validating the source VM",
                "Cloning VM disks",
                "Creating the template version",
            ],
            Op::DeleteTemplate => &["Deleting template versions", "Removing the template"],
            Op::GenerateConsoleToken => &["Generating the console token"],
        }
    }
}

/// What happens to the entity when the task ends.
#[derive(Debug, Clone)]
pub(crate) enum Effect {
    /// Applies `spec` (normalized) as the VM's actual configuration.
    VmApply {
        spec: Value,
        spec_version: u64,
        host: Option<String>,
    },
    /// Removes the VM.
    VmDelete,
    /// Marks the image ready with this size/checksum.
    ImageReady {
        spec: Value,
        size: Option<u64>,
        sha256: Option<String>,
    },
    /// Applies an image spec update.
    ImageApply { spec: Value, spec_version: u64 },
    /// Removes the image.
    ImageDelete,
    /// Packages the OVA with this UUID from its VM.
    OvaReady { ova: String },
    /// Removes the OVA with this UUID.
    OvaDelete { ova: String },
    /// Snapshots the source VM into the template with this extId.
    TemplateReady { ext_id: String },
    /// Removes the template with this extId.
    TemplateDelete { ext_id: String },
    /// Nothing changes (a console token only becomes usable).
    None,
}

/// One task.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub uuid: String,
    pub op: Op,
    pub entity_uuid: String,
    pub entity_name: String,
    pub cluster: Option<(String, String)>,
    pub created: Duration,
    /// The task it was queued behind, if any.
    pub after: Option<String>,
    /// When it leaves the queue; None when it waits behind a task that never ends.
    pub start: Option<Duration>,
    pub duration: Duration,
    pub hang: bool,
    /// Decided when the request is accepted: Some means the task will not succeed.
    pub failure: Option<Failure>,
    pub effect: Effect,
    /// When the task ended (effect applied).
    pub done: Option<Duration>,
    /// Extra text for progress messages (e.g. the download URL).
    pub detail: Option<String>,
}

impl Task {
    /// When the task will end, if ever.
    pub fn ends(&self) -> Option<Duration> {
        if self.hang {
            return None;
        }
        self.start.map(|s| s.saturating_add(self.duration))
    }

    fn queued_until(&self) -> Option<Duration> {
        self.start.map(|s| s.saturating_add(self.duration / 5))
    }

    /// Prism status string at `now`.
    pub fn status(&self, now: Duration) -> &'static str {
        if self.done.is_some() {
            return match &self.failure {
                Some(f) => f.status.as_str(),
                None => "SUCCEEDED",
            };
        }
        match self.queued_until() {
            Some(q) if now >= q => "RUNNING",
            _ => "QUEUED",
        }
    }

    /// 0 while queued, 10..99 while running, 100 when done.
    pub fn percentage(&self, now: Duration) -> u64 {
        if self.done.is_some() {
            return 100;
        }
        let (Some(q), Some(s)) = (self.queued_until(), self.start) else {
            return 0;
        };
        if now < q {
            return 0;
        }
        let nominal_end = s.saturating_add(self.duration);
        let span = nominal_end.saturating_sub(q).as_millis().max(1);
        let elapsed = now.saturating_sub(q).as_millis();
        let pct = 10 + (elapsed.saturating_mul(89) / span).min(89) as u64;
        if self.hang {
            pct.min(95)
        } else {
            pct.min(99)
        }
    }

    /// `progress_message` at `now`.
    pub fn progress_message(&self, now: Duration) -> String {
        if self.done.is_some() {
            return match &self.failure {
                Some(f) => f.message.clone(),
                None => self.op.operation_type().to_string(),
            };
        }
        if self.status(now) == "QUEUED" {
            return "Queued".to_string();
        }
        let stages = self.op.stages();
        let pct = self.percentage(now).saturating_sub(10) as usize;
        let idx = (pct * stages.len() / 90).min(stages.len().saturating_sub(1));
        let stage = stages.get(idx).copied().unwrap_or("Running");
        match &self.detail {
            Some(d) => format!("{stage}: {d}"),
            None => stage.to_string(),
        }
    }

    /// The task as `GET /tasks/{uuid}` returns it.
    pub fn render(&self, now: Duration, ts: &dyn Fn(Duration) -> String) -> Value {
        let status = self.status(now);
        let mut v = json!({
            "api_version": crate::prism_error::API_VERSION,
            "uuid": self.uuid,
            "status": status,
            "operation_type": self.op.operation_type(),
            "percentage_complete": self.percentage(now),
            "progress_message": self.progress_message(now),
            "creation_time": ts(self.created),
            "last_update_time": ts(self.last_update(now)),
            "logical_timestamp": match status { "QUEUED" => 1, "RUNNING" => 2, _ => 3 },
            "entity_reference_list": [{
                "kind": self.op.kind(),
                "uuid": self.entity_uuid,
                "name": self.entity_name,
            }],
            "subtask_reference_list": [],
        });
        if let Some(obj) = v.as_object_mut() {
            if status != "QUEUED" {
                if let Some(q) = self.queued_until() {
                    obj.insert("start_time".into(), Value::String(ts(q)));
                }
            }
            if let Some(d) = self.done {
                obj.insert("completion_time".into(), Value::String(ts(d)));
            }
            if let Some((uuid, name)) = &self.cluster {
                obj.insert(
                    "cluster_reference".into(),
                    json!({"kind": "cluster", "uuid": uuid, "name": name}),
                );
            }
            if self.done.is_some() {
                if let Some(f) = &self.failure {
                    obj.insert("error_detail".into(), Value::String(f.message.clone()));
                    obj.insert("error_code".into(), Value::String(error_code(&f.message)));
                }
            }
        }
        v
    }

    fn last_update(&self, now: Duration) -> Duration {
        if let Some(d) = self.done {
            return d;
        }
        match self.queued_until() {
            Some(q) if now >= q => now,
            _ => self.created,
        }
    }
}

/// Prism puts the reason before the first colon of `error_detail` (e.g. `INTERNAL_ERROR: ...`).
fn error_code(message: &str) -> String {
    match message.split_once(':') {
        Some((code, _))
            if !code.is_empty()
                && code
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()) =>
        {
            code.to_string()
        }
        _ => "INTERNAL_ERROR".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(duration_ms: u64) -> Task {
        Task {
            uuid: "t".into(),
            op: Op::CreateVm,
            entity_uuid: "e".into(),
            entity_name: "vm1".into(),
            cluster: None,
            created: Duration::from_millis(1000),
            after: None,
            start: Some(Duration::from_millis(1000)),
            duration: Duration::from_millis(duration_ms),
            hang: false,
            failure: None,
            effect: Effect::VmDelete,
            done: None,
            detail: None,
        }
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn lifecycle_by_time() {
        let mut t = task(1000);
        assert_eq!(t.status(ms(1000)), "QUEUED");
        assert_eq!(t.percentage(ms(1100)), 0);
        assert_eq!(t.progress_message(ms(1100)), "Queued");
        assert_eq!(t.status(ms(1200)), "RUNNING");
        let p1 = t.percentage(ms(1300));
        let p2 = t.percentage(ms(1900));
        assert!(p1 >= 10 && p1 < p2 && p2 <= 99, "{p1} {p2}");
        assert_ne!(t.progress_message(ms(1300)), t.progress_message(ms(1990)));
        assert_eq!(t.ends(), Some(ms(2000)));
        t.done = Some(ms(2000));
        assert_eq!(t.status(ms(5000)), "SUCCEEDED");
        assert_eq!(t.percentage(ms(5000)), 100);
        assert_eq!(t.progress_message(ms(5000)), "create_vm_intentful");
    }

    #[test]
    fn failed_and_hung_tasks() {
        let mut t = task(100);
        t.failure = Some(Failure::failed("INTERNAL_ERROR: injected".into()));
        t.done = Some(ms(1100));
        let v = t.render(ms(2000), &|d| format!("{}", d.as_millis()));
        assert_eq!(v["status"], "FAILED");
        assert_eq!(v["error_detail"], "INTERNAL_ERROR: injected");
        assert_eq!(v["error_code"], "INTERNAL_ERROR");
        assert_eq!(v["completion_time"], "1100");

        let mut h = task(100);
        h.hang = true;
        assert_eq!(h.ends(), None);
        assert_eq!(h.status(ms(1_000_000)), "RUNNING");
        assert!(h.percentage(ms(1_000_000)) <= 95);
        let v = h.render(ms(1_000_000), &|d| format!("{}", d.as_millis()));
        assert!(v.get("completion_time").is_none());
        assert!(v.get("error_detail").is_none());
    }

    #[test]
    fn every_unsuccessful_end_renders_its_status_and_message() {
        for (status, name) in [
            (TaskEnd::Failed, "FAILED"),
            (TaskEnd::Aborted, "ABORTED"),
            (TaskEnd::Cancelled, "CANCELLED"),
            (TaskEnd::InvalidUuid, "INVALID_UUID"),
        ] {
            let mut t = task(100);
            t.failure = Some(Failure {
                status,
                message: status.default_message().into(),
            });
            // Nothing shows before the end.
            let v = t.render(ms(1050), &|d| format!("{}", d.as_millis()));
            assert_eq!(v["status"], "RUNNING");
            assert!(v.get("error_detail").is_none());
            t.done = Some(ms(1100));
            let v = t.render(ms(2000), &|d| format!("{}", d.as_millis()));
            assert_eq!(v["status"], name);
            assert_eq!(v["error_detail"], status.default_message());
            assert_eq!(v["progress_message"], status.default_message());
            assert_eq!(v["percentage_complete"], 100);
            assert_eq!(v["logical_timestamp"], 3);
            assert_eq!(v["completion_time"], "1100");
            // The status string is also how it (de)serializes in fault definitions.
            assert_eq!(serde_json::to_value(status).unwrap(), name);
        }
        assert_eq!(
            error_code(TaskEnd::InvalidUuid.default_message()),
            "INVALID_UUID"
        );
    }

    #[test]
    fn waiting_behind_a_hung_task_stays_queued() {
        let mut t = task(100);
        t.start = None;
        assert_eq!(t.status(ms(u64::MAX / 2)), "QUEUED");
        assert_eq!(t.percentage(ms(u64::MAX / 2)), 0);
        assert_eq!(t.ends(), None);
    }

    #[test]
    fn zero_duration_and_extreme_times_do_not_panic() {
        let t = task(0);
        assert_eq!(t.status(ms(1000)), "RUNNING");
        let _ = t.percentage(Duration::MAX);
        let mut t = task(10);
        t.start = Some(Duration::MAX);
        assert_eq!(t.ends(), Some(Duration::MAX));
        let _ = t.render(Duration::MAX, &|_| String::new());
    }

    #[test]
    fn error_codes() {
        assert_eq!(
            error_code("RESOURCE_SHORTAGE: not enough memory"),
            "RESOURCE_SHORTAGE"
        );
        assert_eq!(error_code("boom"), "INTERNAL_ERROR");
        assert_eq!(error_code("Image x: in use"), "INTERNAL_ERROR");
    }
}
