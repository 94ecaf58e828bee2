//! OVAs: `POST /vms/{uuid}/export` starts a task that, when it succeeds, packages the VM into
//! an OVA entity (`/ovas/list`, `GET /ovas/{uuid}`, `GET /ovas/{uuid}/file`), which
//! `DELETE /ovas/{uuid}` removes through another task.
//!
//! Choices where the real behaviour is unknown:
//! * The export is queued behind the VM's earlier tasks and copies the VM as it is when the
//!   export task ends. Exporting a VM already being deleted is 409; a DELETE of the VM accepted
//!   after the export ends no earlier than it (equal durations end in the order accepted), so
//!   the export still finds the VM. A VM that is gone or was never created by then (its create
//!   task failed) makes the export FAIL with `ENTITY_NOT_FOUND: ...` and leaves no OVA, as any
//!   failed export does. The VM's own tasks do not wait for an export, and the OVA never
//!   depends on the VM afterwards.
//! * The file is a ustar archive: `<name>.ovf`, then `<name>-disk<N>.<vmdk|qcow2>` per data disk
//!   (CD-ROMs are not exported). The simulator holds no disk bytes, so each disk file is
//!   deterministic generated content seeded from the disk UUID, `min(disk size, 8 MiB)` long:
//!   a stand-in for the compressed stream of a mostly empty disk, not a valid VMDK/QCOW2 image.
//!   Its SHA-256 is computed once, when the export task succeeds.
//! * Names are kept as given in the entity; inside the archive `/`, `\` and control
//!   characters of file names become `_`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};

use super::json::Reader;
use super::task::{Effect, Failure, Op, Task};
use super::vm::Hardware;
use super::{NewTask, Reply, Store, TaskFault};
use crate::ovf::{descriptor, DiskFormat, OvfDisk, OvfVm};
use crate::prism_error::ApiError;
use crate::transfer::seed_for;
use crate::ustar::{Archive, Builder, Segment, UstarError};

/// Longest generated stand-in for one exported disk.
pub(crate) const MAX_DISK_PAYLOAD: u64 = 8 << 20;

/// The bytes of a finished OVA and their checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OvaFile {
    pub archive: Archive,
    pub sha256: String,
}

/// One OVA, from the export request on.
#[derive(Debug, Clone)]
pub(crate) struct Ova {
    pub uuid: String,
    pub name: String,
    pub vm_uuid: String,
    pub vm_name: String,
    pub format: DiskFormat,
    pub created: Duration,
    pub updated: Duration,
    /// Set when the export task succeeds; until then the OVA is not visible in the API.
    pub file: Option<Arc<OvaFile>>,
    /// The delete task in flight.
    pub deleting: Option<String>,
}

impl Ova {
    /// Listed and served (the export has succeeded).
    pub fn visible(&self) -> bool {
        self.file.is_some()
    }

    /// State shown in `/_sim/state`.
    pub fn state(&self) -> &'static str {
        match (&self.file, &self.deleting) {
            (None, _) => "PENDING",
            (Some(_), Some(_)) => "DELETE_PENDING",
            (Some(_), None) => "COMPLETE",
        }
    }
}

/// What `GET /ovas/{uuid}/file` serves.
#[derive(Debug, Clone)]
pub struct OvaDownload {
    pub(crate) file: Arc<OvaFile>,
    /// The OVA name (for Content-Disposition).
    pub name: String,
}

impl OvaDownload {
    /// Size of the OVA file.
    pub fn size(&self) -> u64 {
        self.file.archive.size()
    }

    /// Up to `len` bytes of the file from `offset`.
    pub fn read(&self, offset: u64, len: usize) -> Bytes {
        self.file.archive.read(offset, len)
    }
}

/// A file name safe to put in the archive.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Builds the OVA file of `hw` named `name`; `mtime` is the Unix time stamped on its members.
pub(crate) fn build_file(
    name: &str,
    hw: &Hardware,
    format: DiskFormat,
    mtime: u64,
) -> Result<OvaFile, UstarError> {
    let base = file_safe(name);
    let disks: Vec<OvfDisk> = hw
        .disks
        .iter()
        .enumerate()
        .map(|(i, d)| OvfDisk {
            file_name: format!("{base}-disk{}.{}", i + 1, format.extension()),
            file_size: d.size.min(MAX_DISK_PAYLOAD),
            capacity: d.size,
            adapter: d.adapter.clone(),
            index: d.index,
        })
        .collect();
    let vm = OvfVm {
        name: hw.name.clone(),
        vcpus: hw.sockets.saturating_mul(hw.vcpus_per_socket),
        memory_mib: hw.memory_mib,
    };
    let ovf = descriptor(&vm, &disks, format);
    let mut b = Builder::default();
    b.add_file(
        &format!("{base}.ovf"),
        mtime,
        Segment::Bytes(Bytes::from(ovf)),
    )?;
    for (d, hd) in disks.iter().zip(&hw.disks) {
        b.add_file(
            &d.file_name,
            mtime,
            Segment::Generated {
                seed: seed_for(&hd.uuid),
                len: d.file_size,
            },
        )?;
    }
    let archive = b.finish();
    let sha256 = archive.sha256();
    Ok(OvaFile { archive, sha256 })
}

impl Store {
    fn visible_ova(&self, uuid: &str) -> Result<&Ova, ApiError> {
        self.ovas
            .iter()
            .find(|o| o.uuid == uuid && o.visible())
            .ok_or_else(|| ApiError::not_found("ova", uuid))
    }

    /// The v3 OVA entity (shape from scripts that read `/ovas/list`; `disk_format` and
    /// `size_bytes` are GUESSES).
    pub(crate) fn render_ova(&self, o: &Ova) -> Value {
        let mut info = json!({
            "name": o.name,
            "parent_vm_reference": {"kind": "vm", "uuid": o.vm_uuid, "name": o.vm_name},
            "disk_format": o.format.as_str(),
        });
        if let (Some(f), Some(m)) = (&o.file, info.as_object_mut()) {
            m.insert(
                "checksum".into(),
                json!({"checksum_algorithm": "SHA_256", "checksum_value": f.sha256}),
            );
            m.insert("size_bytes".into(), json!(f.archive.size()));
        }
        json!({
            "metadata": {
                "kind": "ova",
                "uuid": o.uuid,
                "creation_time": self.ts(o.created),
                "last_update_time": self.ts(o.updated),
                "spec_version": 0,
                "categories": {},
            },
            "info": info,
        })
    }

    /// `GET /ovas/{uuid}`.
    pub(crate) fn get_ova(&self, uuid: &str) -> Result<Value, ApiError> {
        Ok(self.render_ova(self.visible_ova(uuid)?))
    }

    /// What `GET /ovas/{uuid}/file` serves.
    pub fn ova_download(&mut self, now: Duration, uuid: &str) -> Result<OvaDownload, ApiError> {
        self.tick(now);
        let o = self.visible_ova(uuid)?;
        let file = o
            .file
            .clone()
            .ok_or_else(|| ApiError::not_found("ova", uuid))?;
        Ok(OvaDownload {
            file,
            name: o.name.clone(),
        })
    }

    /// `POST /vms/{uuid}/export` with `{"name", "disk_file_format"}`.
    pub(crate) fn export_vm(
        &mut self,
        now: Duration,
        vm_uuid: &str,
        body: Option<&Value>,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        let idx = self.vm_index(vm_uuid)?;
        let empty = json!({});
        let r = Reader::new("vm", "", body.unwrap_or(&empty))?;
        let name = r.req_str("name")?;
        if name.trim().is_empty() {
            return Err(r.error("name", "the OVA name must not be empty"));
        }
        let format_s = r.req_str("disk_file_format")?;
        let format = DiskFormat::parse(format_s).ok_or_else(|| {
            r.error(
                "disk_file_format",
                format!("'{format_s}' is not one of [\"VMDK\", \"QCOW2\"]"),
            )
        })?;
        let Some(vm) = self.vms.get(idx) else {
            return Err(ApiError::not_found("vm", vm_uuid));
        };
        if vm.core.deleting() {
            return Err(ApiError::being_deleted("vm", "VM", vm_uuid));
        }
        let vm_name = vm.core.name();
        let after = vm.core.in_flight.last().map(|(t, _)| t.clone());
        let cluster_name = self
            .inv
            .cluster(&vm.cluster_uuid)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let cluster = Some((vm.cluster_uuid.clone(), cluster_name));
        let ova_uuid = uuid::Uuid::new_v4().to_string();
        let task = self.new_task(
            now,
            NewTask {
                op: Op::ExportVm,
                entity_uuid: vm_uuid.to_string(),
                entity_name: vm_name.clone(),
                after,
                cluster,
                duration: self.cfg.task_duration,
                failure: None,
                effect: Effect::OvaReady {
                    ova: ova_uuid.clone(),
                },
                detail: Some(format!("OVA {name}")),
            },
            fault,
        );
        self.ovas.push(Ova {
            uuid: ova_uuid,
            name: name.to_string(),
            vm_uuid: vm_uuid.to_string(),
            vm_name,
            format,
            created: now,
            updated: now,
            file: None,
            deleting: None,
        });
        Ok(Reply {
            status: 202,
            body: json!({"task_uuid": task}),
        })
    }

    /// `DELETE /ovas/{uuid}`: 202 `{"task_uuid"}` (GUESS); a repeated delete answers with the
    /// delete task already running.
    pub(crate) fn delete_ova(
        &mut self,
        now: Duration,
        uuid: &str,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        let o = self.visible_ova(uuid)?;
        if let Some(t) = &o.deleting {
            return Ok(Reply {
                status: 202,
                body: json!({"task_uuid": t}),
            });
        }
        let name = o.name.clone();
        let task = self.new_task(
            now,
            NewTask {
                op: Op::DeleteOva,
                entity_uuid: uuid.to_string(),
                entity_name: name,
                after: None,
                cluster: None,
                duration: self.cfg.task_duration,
                failure: None,
                effect: Effect::OvaDelete {
                    ova: uuid.to_string(),
                },
                detail: None,
            },
            fault,
        );
        if let Some(o) = self.ovas.iter_mut().find(|o| o.uuid == uuid) {
            o.deleting = Some(task.clone());
            o.updated = now;
        }
        Ok(Reply {
            status: 202,
            body: json!({"task_uuid": task}),
        })
    }

    /// Applies a finished export or OVA delete; returns a failure the task turned out to have.
    pub(crate) fn finish_ova_task(&mut self, task: &Task, at: Duration) -> Option<Failure> {
        match &task.effect {
            Effect::OvaReady { ova } => {
                let pos = self.ovas.iter().position(|o| &o.uuid == ova)?;
                if task.failure.is_some() {
                    self.ovas.remove(pos);
                    return None;
                }
                let (name, format) = self.ovas.get(pos).map(|o| (o.name.clone(), o.format))?;
                let hw = self
                    .vms
                    .iter()
                    .find(|v| v.core.uuid == task.entity_uuid)
                    .and_then(|v| v.hardware());
                let Some(hw) = hw else {
                    self.ovas.remove(pos);
                    return Some(Failure::failed(format!(
                        "ENTITY_NOT_FOUND: VM {} no longer exists (or was never created), so OVA {name} could not be exported",
                        task.entity_uuid
                    )));
                };
                let mtime = self.unix_time(at);
                match build_file(&name, &hw, format, mtime) {
                    Ok(file) => {
                        if let Some(o) = self.ovas.get_mut(pos) {
                            o.file = Some(Arc::new(file));
                            o.vm_name = hw.name;
                            o.created = at;
                            o.updated = at;
                        }
                        None
                    }
                    Err(e) => {
                        self.ovas.remove(pos);
                        Some(Failure::failed(format!("INTERNAL_ERROR: {e}")))
                    }
                }
            }
            Effect::OvaDelete { ova } => {
                let pos = self.ovas.iter().position(|o| &o.uuid == ova)?;
                if task.failure.is_some() {
                    if let Some(o) = self.ovas.get_mut(pos) {
                        o.deleting = None;
                        o.updated = at;
                    }
                } else {
                    self.ovas.remove(pos);
                }
                None
            }
            _ => None,
        }
    }

    /// Unix seconds of an offset from the epoch.
    pub(crate) fn unix_time(&self, at: Duration) -> u64 {
        let secs = self.epoch.timestamp().max(0) as u64;
        secs.saturating_add(at.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::vm::HwDisk;

    fn hw(sizes: &[u64]) -> Hardware {
        Hardware {
            name: "vm".into(),
            sockets: 2,
            vcpus_per_socket: 2,
            threads_per_core: 1,
            memory_mib: 1024,
            disks: sizes
                .iter()
                .enumerate()
                .map(|(i, s)| HwDisk {
                    uuid: format!("c3b5e0a2-2222-4e1f-9d4b-00000000000{i}"),
                    size: *s,
                    adapter: "SCSI".into(),
                    index: i as i64,
                })
                .collect(),
        }
    }

    #[test]
    fn disk_payloads_are_capped_and_names_sanitised() {
        let f = build_file("a/b\\c", &hw(&[100, 20 << 30]), DiskFormat::Qcow2, 0).unwrap();
        let bytes = f.archive.read(0, f.archive.size() as usize);
        let mut ar = tar::Archive::new(bytes.as_ref());
        let got: Vec<(String, u64)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.path().unwrap().display().to_string(), e.size())
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a_b_c.ovf".to_string(), got[0].1),
                ("a_b_c-disk1.qcow2".to_string(), 100),
                ("a_b_c-disk2.qcow2".to_string(), MAX_DISK_PAYLOAD),
            ]
        );
        use sha2::Digest;
        assert_eq!(f.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    }
}
