//! OVAs (v3): export a VM to an OVA, find it, download its file, delete it.
//!
//! The export answers with a bare `{"task_uuid"}` and its task is not known to name the OVA
//! it creates, so the OVA is found afterwards by name and parent VM ([`PrismClient::find_vm_ova`]).

use std::path::Path;

use reqwest::Method;
use serde::Serialize;

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::lookup::LookupSpec;
use crate::models::{ChecksumAlgorithm, ExecutionContext, OvaEntity};
use crate::tasks::Wait;
use crate::transfer::{DownloadOptions, DownloadReport};
use crate::transport::Retry;

/// The disk file format inside an exported OVA; Prism converts the VM disks to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum OvaDiskFormat {
    /// VMware disk files (the Go plugin's default).
    #[serde(rename = "VMDK")]
    Vmdk,
    /// QEMU copy-on-write disk files.
    #[serde(rename = "QCOW2")]
    Qcow2,
}

impl OvaDiskFormat {
    /// The wire value of `disk_file_format`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Vmdk => "VMDK",
            Self::Qcow2 => "QCOW2",
        }
    }
}

impl std::fmt::Display for OvaDiskFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OVA as the builder uses it: which one to download, and how to check the download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ova {
    /// UUID.
    pub uuid: String,
    /// Name (not unique).
    pub name: String,
    /// The VM it was exported from, when Prism says.
    pub parent_vm_uuid: Option<String>,
    /// Digest of the `.ova` file, to verify a download with.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
    /// File size, when Prism reports it (unconfirmed field on real PCs).
    pub size_bytes: Option<u64>,
    /// RFC 3339 creation time, used to pick the newest of several.
    pub creation_time: Option<String>,
}

impl Ova {
    /// The OVA an entity describes; `None` without a UUID (nothing could refer to it).
    fn of(e: &OvaEntity) -> Option<Self> {
        Some(Self {
            uuid: e.uuid()?.to_string(),
            name: e.name().to_string(),
            parent_vm_uuid: e.parent_vm_uuid().map(str::to_string),
            checksum: e.checksum(),
            size_bytes: e.size_bytes(),
            creation_time: e.metadata.creation_time.clone(),
        })
    }
}

/// Body of `POST /vms/{uuid}/export`.
#[derive(Debug, Serialize)]
struct ExportRequest<'a> {
    name: &'a str,
    disk_file_format: OvaDiskFormat,
}

/// The task uuid of an answer: top-level `task_uuid` (what the export and, presumably, the OVA
/// delete return), else the v3 intent form `status.execution_context.task_uuid` (every v3
/// delete). `None` for an empty or task-less body.
pub(crate) fn answer_task_uuid(bytes: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let read = |v: Option<&serde_json::Value>| {
        v.and_then(|v| serde_json::from_value::<ExecutionContext>(v.clone()).ok())
            .and_then(|c| c.task_uuid().map(str::to_string))
    };
    read(Some(&value)).or_else(|| read(value.get("status")?.get("execution_context")))
}

/// The newest of `ovas` exported from `vm_uuid`, by creation time (an OVA without a readable
/// time counts as the oldest).
pub fn newest_of_vm(ovas: &[Ova], vm_uuid: &str) -> Option<Ova> {
    let time = |o: &Ova| {
        o.creation_time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    ovas.iter()
        .filter(|o| o.parent_vm_uuid.as_deref() == Some(vm_uuid))
        .max_by(|a, b| time(a).cmp(&time(b)))
        .cloned()
}

fn lookup_spec() -> LookupSpec<'static, OvaEntity> {
    LookupSpec {
        label: "OVA",
        kind: "ova",
        path: &["ovas", "list"],
        scope: None,
        name_of: OvaEntity::name,
        uuid_of: OvaEntity::uuid,
    }
}

impl PrismClient {
    /// `POST /vms/{uuid}/export`; returns the task uuid without waiting for it. Sent once
    /// (see [`crate::transport`]): a connection lost after sending gives
    /// [`PrismError::CreateOutcomeUnknown`], never a second export.
    pub async fn submit_vm_export(
        &self,
        vm_uuid: &str,
        ova_name: &str,
        format: OvaDiskFormat,
    ) -> Result<String, PrismError> {
        let op = format!("export VM {vm_uuid} to OVA '{ova_name}' ({format})");
        let body = serde_json::to_vec(&ExportRequest {
            name: ova_name,
            disk_file_format: format,
        })
        .map_err(|e| PrismError::Decode {
            op: op.clone(),
            source: e,
            snippet: "<request body could not be encoded>".to_string(),
        })?;
        let bytes = self
            .send(
                &op,
                Method::POST,
                self.url(&["vms", vm_uuid, "export"]),
                Some(body),
                Retry::CreateOnce,
            )
            .await?;
        let task = answer_task_uuid(&bytes).ok_or(PrismError::MissingField {
            op: op.clone(),
            field: "task_uuid",
        })?;
        tracing::info!(vm = vm_uuid, ova = ova_name, task = %task, "OVA export accepted");
        Ok(task)
    }

    /// Every OVA named exactly `name`: `POST /ovas/list` with a `name==` filter (all pages),
    /// re-checked client-side, with the unfiltered fallback of every name lookup.
    pub async fn ovas_named(&self, name: &str) -> Result<Vec<Ova>, PrismError> {
        let found = self
            .find_exact(&lookup_spec(), name, |_: &OvaEntity| true)
            .await?;
        Ok(found.iter().filter_map(Ova::of).collect())
    }

    /// The newest OVA named `name` whose parent VM is `vm_uuid` (`None` when there is none).
    pub async fn find_vm_ova(&self, name: &str, vm_uuid: &str) -> Result<Option<Ova>, PrismError> {
        let ovas = self.ovas_named(name).await?;
        Ok(newest_of_vm(&ovas, vm_uuid))
    }

    /// `GET /ovas/{uuid}`.
    pub async fn get_ova(&self, uuid: &str) -> Result<Ova, PrismError> {
        let entity: OvaEntity = self
            .get_json(&format!("get OVA {uuid}"), &["ovas", uuid])
            .await?;
        Ova::of(&entity).ok_or_else(|| PrismError::MissingField {
            op: format!("get OVA {uuid}"),
            field: "metadata.uuid",
        })
    }

    /// Streams `GET /ovas/{uuid}/file` (the `.ova` tar) into `dest` with the guarantees of
    /// [`PrismClient::download_image_file`]: through `dest.part`, size checked against the
    /// Content-Length and `options.expected_size`, digest against `options.verify`, retries
    /// from the start, cancel. The OVA's `size_bytes` is not used by default: its meaning on
    /// a real PC is unconfirmed.
    pub async fn download_ova_file(
        &self,
        uuid: &str,
        dest: &Path,
        options: &DownloadOptions,
    ) -> Result<DownloadReport, PrismError> {
        let op = format!("download OVA {uuid} to {}", dest.display());
        self.download_file(
            &op,
            &["ovas", uuid, "file"],
            dest,
            options.expected_size,
            options,
        )
        .await
    }

    /// `DELETE /ovas/{uuid}` and waits for its task. Accepts a `{"task_uuid"}` answer, the
    /// v3 intent form, or a 2xx without a task (deleted at once); 404 counts as deleted, so
    /// cleanup can be repeated.
    pub async fn delete_ova(&self, uuid: &str, wait: &Wait) -> Result<(), PrismError> {
        self.delete_entity(&format!("delete OVA {uuid}"), &["ovas", uuid], wait)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ova(uuid: &str, parent: Option<&str>, time: Option<&str>) -> Ova {
        Ova {
            uuid: uuid.into(),
            name: "n".into(),
            parent_vm_uuid: parent.map(str::to_string),
            checksum: None,
            size_bytes: None,
            creation_time: time.map(str::to_string),
        }
    }

    #[test]
    fn export_body_matches_the_contract() {
        // docs/design/prism-v3.md, 'Exporting a VM to an OVA'.
        let body = serde_json::to_value(ExportRequest {
            name: "golden",
            disk_file_format: OvaDiskFormat::Qcow2,
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"name": "golden", "disk_file_format": "QCOW2"})
        );
        assert_eq!(
            serde_json::to_value(OvaDiskFormat::Vmdk).unwrap(),
            serde_json::json!("VMDK")
        );
    }

    #[test]
    fn task_uuid_is_read_from_either_answer_shape() {
        assert_eq!(
            answer_task_uuid(br#"{"task_uuid":"t-1"}"#).as_deref(),
            Some("t-1")
        );
        assert_eq!(
            answer_task_uuid(
                br#"{"status":{"state":"DELETE_PENDING","execution_context":{"task_uuid":"t-2"}}}"#
            )
            .as_deref(),
            Some("t-2")
        );
        assert_eq!(
            answer_task_uuid(br#"{"task_uuid":["t-3"]}"#).as_deref(),
            Some("t-3")
        );
        for none in [
            &b""[..],
            b"   ",
            b"{}",
            b"not json",
            br#"{"task_uuid":""}"#,
            b"[]",
        ] {
            assert_eq!(answer_task_uuid(none), None, "{none:?}");
        }
    }

    #[test]
    fn newest_of_the_vm_wins_and_other_vms_are_ignored() {
        let ovas = vec![
            ova("old", Some("vm"), Some("2025-01-01T00:00:00Z")),
            ova("other-vm", Some("vm2"), Some("2026-01-01T00:00:00Z")),
            // Offsets are compared as instants, not as text.
            ova("new", Some("vm"), Some("2025-01-01T09:00:00+08:00")),
            ova("newest", Some("vm"), Some("2025-01-01T02:00:00Z")),
            ova("no-time", Some("vm"), None),
            ova("no-parent", None, Some("2027-01-01T00:00:00Z")),
        ];
        assert_eq!(newest_of_vm(&ovas, "vm").unwrap().uuid, "newest");
        assert_eq!(newest_of_vm(&ovas, "vm2").unwrap().uuid, "other-vm");
        assert_eq!(newest_of_vm(&ovas, "vm3"), None);
        assert_eq!(
            newest_of_vm(&[ova("only", Some("vm"), Some("garbage"))], "vm")
                .unwrap()
                .uuid,
            "only"
        );
    }
}
