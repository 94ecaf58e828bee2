//! Images: creation from a URL (a "download" that takes time and may fail), from a VM disk (the
//! disk's size is copied), or empty for a later upload; updates, deletion (optionally refused while a VM
//! uses the image), and the bookkeeping of uploads and downloads.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::json::{parse_uuid, reference, Reader};
use super::task::{Effect, Op, Task};
use super::vm::reason_of;
use super::{spec_name, Core, MetaIn, NewTask, Reply, Store, TaskFault};
use crate::inventory::ImageDef;
use crate::prism_error::{ApiError, API_VERSION};

/// An image and what is known of its data.
#[derive(Debug, Clone)]
pub(crate) struct Image {
    pub core: Core,
    pub size_bytes: Option<u64>,
    pub sha256: Option<String>,
    pub uploaded: bool,
    pub uploading: bool,
    pub stored: Option<PathBuf>,
    pub placement: Vec<String>,
}

impl Image {
    pub fn from_inventory(d: &ImageDef) -> Self {
        let mut resources = Map::new();
        resources.insert("image_type".into(), json!(d.image_type));
        resources.insert("architecture".into(), json!("X86_64"));
        if let Some(u) = &d.source_uri {
            resources.insert("source_uri".into(), json!(u));
        }
        if let Some(sha) = &d.sha256 {
            resources.insert(
                "checksum".into(),
                json!({"checksum_algorithm": "SHA_256", "checksum_value": sha}),
            );
        }
        let spec = json!({"name": d.name, "description": d.description, "resources": resources});
        Self {
            core: Core {
                uuid: d.uuid.clone(),
                spec: spec.clone(),
                applied: Some(spec),
                spec_version: 0,
                created: Duration::ZERO,
                updated: Duration::ZERO,
                meta: MetaIn::default(),
                error: None,
                in_flight: Vec::new(),
            },
            size_bytes: Some(d.size_bytes),
            sha256: d.sha256.clone(),
            uploaded: false,
            uploading: false,
            stored: None,
            placement: d.cluster_uuids.clone(),
        }
    }

    pub fn image_type(&self) -> Option<String> {
        self.core
            .spec
            .pointer("/resources/image_type")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    pub fn source_uri(&self) -> Option<String> {
        self.core
            .spec
            .pointer("/resources/source_uri")
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    fn has_source(&self) -> bool {
        self.source_uri().is_some()
            || self
                .core
                .spec
                .pointer("/resources/data_source_reference")
                .is_some()
    }

    /// Ready to be cloned into a VM disk.
    fn ready(&self) -> bool {
        self.core.applied.is_some()
            && self.core.error.is_none()
            && self.size_bytes.is_some()
            && !self.core.deleting()
    }
}

/// What `GET /images/{uuid}/file` serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadInfo {
    /// Image size in bytes.
    pub size: u64,
    /// The uploaded bytes, when they were kept.
    pub stored: Option<PathBuf>,
    /// Image name (for Content-Disposition).
    pub name: String,
}

/// What an upload produced, measured by the HTTP layer while streaming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDone {
    /// Bytes received.
    pub size: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: String,
    /// Hex SHA-1 of the bytes, when a SHA_1 checksum had to be checked.
    pub sha1: Option<String>,
    /// Where the bytes were written, if kept.
    pub stored: Option<PathBuf>,
    /// `X-Nutanix-Checksum-Type` / `X-Nutanix-Checksum-Bytes` sent with the upload.
    pub header_checksum: Option<(String, String)>,
}

struct NormImage {
    spec: Value,
    source_uri: Option<String>,
    disk_size: Option<u64>,
    checksum: Option<(String, String)>,
    placement: Vec<String>,
}

impl Store {
    fn image_index(&self, uuid: &str) -> Result<usize, ApiError> {
        self.images
            .iter()
            .position(|i| i.core.uuid == uuid)
            .ok_or_else(|| ApiError::not_found("image", uuid))
    }

    /// Size of an image a VM disk is cloned from; errors name the disk and the image.
    pub(crate) fn image_size_for_disk(
        &self,
        disk_path: &str,
        image_uuid: &str,
    ) -> Result<u64, ApiError> {
        let field = format!("{disk_path}.data_source_reference");
        let img = self
            .images
            .iter()
            .find(|i| i.core.uuid == image_uuid)
            .ok_or_else(|| {
                ApiError::bad_reference("vm", &field, format!("image {image_uuid} does not exist"))
            })?;
        if !img.ready() {
            return Err(ApiError::bad_reference(
                "vm",
                &field,
                format!(
                    "image {} ({image_uuid}) is not ready (state {})",
                    img.core.name(),
                    img.core.state()
                ),
            ));
        }
        img.size_bytes.ok_or_else(|| {
            ApiError::bad_reference("vm", &field, format!("image {image_uuid} has no data"))
        })
    }

    /// `GET /images/{uuid}`.
    pub(crate) fn get_image(&self, now: Duration, uuid: &str) -> Result<Value, ApiError> {
        let img = self
            .images
            .get(self.image_index(uuid)?)
            .ok_or_else(|| ApiError::not_found("image", uuid))?;
        let mut v = self.render_image_entity(now, img);
        if let Some(o) = v.as_object_mut() {
            o.insert("api_version".into(), json!(API_VERSION));
        }
        Ok(v)
    }

    /// `{metadata, spec, status}` of an image.
    pub(crate) fn render_image_entity(&self, _now: Duration, img: &Image) -> Value {
        let shown = img.core.applied.as_ref().unwrap_or(&img.core.spec);
        let mut st = Map::new();
        st.insert("state".into(), json!(img.core.state()));
        st.insert(
            "name".into(),
            shown.get("name").cloned().unwrap_or(Value::Null),
        );
        st.insert(
            "description".into(),
            shown.get("description").cloned().unwrap_or(json!("")),
        );
        if let Some((t, _)) = img.core.in_flight.last() {
            st.insert("execution_context".into(), json!({"task_uuid": t}));
        }
        if let Some(e) = &img.core.error {
            st.insert(
                "message_list".into(),
                json!([{"message": e, "reason": reason_of(e)}]),
            );
        }
        let spec_res = shown
            .get("resources")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut res = Map::new();
        for key in [
            "image_type",
            "architecture",
            "source_uri",
            "checksum",
            "data_source_reference",
            "version",
        ] {
            if let Some(v) = spec_res.get(key) {
                res.insert(key.into(), v.clone());
            }
        }
        let complete = img.core.applied.is_some() && img.core.error.is_none();
        if let (true, Some(size)) = (complete, img.size_bytes) {
            res.insert("size_bytes".into(), json!(size));
            let uris: Vec<Value> = img
                .placement
                .iter()
                .filter_map(|c| self.inv.cluster(c))
                .map(|c| {
                    json!(format!(
                        "https://{}:9440/api/nutanix/v3/images/{}/file",
                        c.external_ip, img.core.uuid
                    ))
                })
                .collect();
            res.insert("retrieval_uri_list".into(), Value::Array(uris));
        }
        if complete {
            let refs: Vec<Value> = img
                .placement
                .iter()
                .map(|c| json!({"kind": "cluster", "uuid": c}))
                .collect();
            res.insert("current_cluster_reference_list".into(), Value::Array(refs));
        }
        if let Some(p) = spec_res.get("initial_placement_ref_list") {
            res.insert("initial_placement_ref_list".into(), p.clone());
        }
        st.insert("resources".into(), Value::Object(res));
        json!({
            "metadata": self.render_meta("image", &img.core),
            "spec": img.core.spec,
            "status": Value::Object(st),
        })
    }

    /// `POST /images`.
    pub(crate) fn create_image(
        &mut self,
        now: Duration,
        body: Option<&Value>,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        let body =
            body.ok_or_else(|| ApiError::schema("image", "spec", "'spec' is a required property"))?;
        let (meta, _) = self.parse_meta("image", body, None)?;
        let spec = body
            .get("spec")
            .filter(|s| !s.is_null())
            .ok_or_else(|| ApiError::schema("image", "spec", "'spec' is a required property"))?;
        let uuid = self.requested_uuid(body, "image")?;
        let norm = self.normalize_image_spec(spec, None)?;
        let mut failure = None;
        let mut duration = self.cfg.task_duration;
        let mut detail = None;
        let (size, sha256) = match (&norm.source_uri, norm.disk_size) {
            (Some(uri), _) => {
                detail = Some(format!("downloading {uri}"));
                let src = self.inv.remote_source(uri).cloned();
                if let Some(ms) = src.as_ref().and_then(|s| s.download_ms) {
                    duration = Duration::from_millis(ms);
                }
                match src {
                    Some(s) if s.unreachable => {
                        failure = Some(format!(
                            "INVALID_ARGUMENT: Could not access the URL {uri}: connection failed"
                        ));
                        (None, None)
                    }
                    Some(s) => {
                        if let (Some(real), Some((alg, want))) = (&s.sha256, &norm.checksum) {
                            if alg == "SHA_256" && !real.eq_ignore_ascii_case(want) {
                                failure = Some(format!(
                                    "INVALID_ARGUMENT: Checksum mismatch for {uri}: expected SHA_256 {want}, the downloaded data has {real}"
                                ));
                            }
                        }
                        (Some(s.size_bytes), s.sha256)
                    }
                    None => (Some(self.inv.default_remote_size_bytes), None),
                }
            }
            (None, Some(disk)) => (Some(disk), None),
            (None, None) => (None, None),
        };
        let core = Core {
            uuid: uuid.clone(),
            spec: spec.clone(),
            applied: None,
            spec_version: 0,
            created: now,
            updated: now,
            meta,
            error: None,
            in_flight: Vec::new(),
        };
        let cluster = norm
            .placement
            .first()
            .and_then(|c| self.inv.cluster(c))
            .map(|c| (c.uuid.clone(), c.name.clone()));
        let task = self.new_task(
            now,
            NewTask {
                op: Op::CreateImage,
                entity_uuid: uuid.clone(),
                entity_name: core.name(),
                after: None,
                cluster,
                duration,
                failure,
                effect: Effect::ImageReady {
                    spec: norm.spec,
                    size,
                    sha256,
                },
                detail,
            },
            fault,
        );
        let mut img = Image {
            core,
            size_bytes: None,
            sha256: None,
            uploaded: false,
            uploading: false,
            stored: None,
            placement: norm.placement,
        };
        img.core.in_flight.push((task.clone(), Op::CreateImage));
        let reply = self.accepted("image", &img.core, &task);
        self.images.push(img);
        Ok(reply)
    }

    /// `PUT /images/{uuid}`.
    pub(crate) fn update_image(
        &mut self,
        now: Duration,
        uuid: &str,
        body: Option<&Value>,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        let idx = self.image_index(uuid)?;
        let body =
            body.ok_or_else(|| ApiError::schema("image", "spec", "'spec' is a required property"))?;
        let core = self
            .images
            .get(idx)
            .map(|i| i.core.clone())
            .ok_or_else(|| ApiError::not_found("image", uuid))?;
        if core.deleting() {
            return Err(ApiError::being_deleted("image", "image", uuid));
        }
        let (meta, given) = self.parse_meta("image", body, Some(&core.meta))?;
        Self::check_spec_version("image", &core, given)?;
        let spec = body
            .get("spec")
            .filter(|s| !s.is_null())
            .ok_or_else(|| ApiError::schema("image", "spec", "'spec' is a required property"))?;
        let norm = self.normalize_image_spec(spec, Some(&core.spec))?;
        let new_version = core.spec_version.saturating_add(1);
        let task = self.new_task(
            now,
            NewTask {
                op: Op::UpdateImage,
                entity_uuid: uuid.to_string(),
                entity_name: spec_name(spec),
                after: core.in_flight.last().map(|(t, _)| t.clone()),
                cluster: None,
                duration: self.cfg.task_duration,
                failure: None,
                effect: Effect::ImageApply {
                    spec: norm.spec,
                    spec_version: new_version,
                },
                detail: None,
            },
            fault,
        );
        let Some(img) = self.images.get_mut(idx) else {
            return Err(ApiError::not_found("image", uuid));
        };
        img.core
            .accept_update(spec.clone(), new_version, now, meta, &task, Op::UpdateImage);
        let core = img.core.clone();
        Ok(self.accepted("image", &core, &task))
    }

    /// `DELETE /images/{uuid}`. With `refuse_deleting_images_in_use`, the task fails while a
    /// VM (not itself being deleted) has a disk cloned from the image.
    pub(crate) fn delete_image(
        &mut self,
        now: Duration,
        uuid: &str,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        let idx = self.image_index(uuid)?;
        let core = self
            .images
            .get(idx)
            .map(|i| i.core.clone())
            .ok_or_else(|| ApiError::not_found("image", uuid))?;
        if let Some((t, _)) = core.in_flight.iter().find(|(_, op)| op.is_delete()) {
            return Ok(self.delete_accepted("image", &core, t));
        }
        let strict = self.cfg.refuse_deleting_images_in_use;
        let user = self
            .vms
            .iter()
            .find(|v| strict && !v.core.deleting() && v.uses_image(uuid));
        let failure = user.map(|v| {
            format!(
                "INVALID_ARGUMENT: Image {} ({uuid}) is in use by VM {} ({})",
                core.name(),
                v.core.name(),
                v.core.uuid
            )
        });
        let task = self.new_task(
            now,
            NewTask {
                op: Op::DeleteImage,
                entity_uuid: uuid.to_string(),
                entity_name: core.name(),
                after: core.in_flight.last().map(|(t, _)| t.clone()),
                cluster: None,
                duration: self.cfg.task_duration,
                failure,
                effect: Effect::ImageDelete,
                detail: None,
            },
            fault,
        );
        if let Some(img) = self.images.get_mut(idx) {
            img.core.in_flight.push((task.clone(), Op::DeleteImage));
        }
        Ok(self.delete_accepted("image", &core, &task))
    }

    /// Applies a finished image task.
    pub(crate) fn finish_image_task(&mut self, task: &Task, at: Duration) {
        let Some(pos) = self
            .images
            .iter()
            .position(|i| i.core.uuid == task.entity_uuid)
        else {
            return;
        };
        let Some(img) = self.images.get_mut(pos) else {
            return;
        };
        img.core.in_flight.retain(|(t, _)| t != &task.uuid);
        img.core.updated = at;
        if let Some(failure) = &task.failure {
            if !task.op.is_delete() {
                img.core.error = Some(failure.message.clone());
            }
            return;
        }
        match &task.effect {
            Effect::ImageReady { spec, size, sha256 } => {
                img.core.applied = Some(spec.clone());
                if img.core.spec_version == 0 {
                    img.core.spec = spec.clone();
                }
                img.size_bytes = *size;
                img.sha256 = sha256.clone();
                img.core.error = None;
            }
            Effect::ImageApply { spec, spec_version } => {
                img.core.applied = Some(spec.clone());
                if img.core.spec_version == *spec_version {
                    img.core.spec = spec.clone();
                }
                img.core.error = None;
            }
            Effect::ImageDelete => {
                let removed = self.images.remove(pos);
                if let Some(p) = removed.stored {
                    self.removed_files.push(p);
                }
            }
            _ => {}
        }
    }

    fn normalize_image_spec(
        &self,
        spec: &Value,
        previous: Option<&Value>,
    ) -> Result<NormImage, ApiError> {
        let r = Reader::new("image", "spec", spec)?;
        let name = r.req_str("name")?;
        if name.trim().is_empty() {
            return Err(r.error("name", "the image name must not be empty"));
        }
        r.opt_str("description")?;
        let res_v = r.raw("resources").ok_or_else(|| {
            ApiError::schema(
                "image",
                "spec.resources",
                "'resources' is a required property",
            )
        })?;
        let res = Reader::new("image", "spec.resources", res_v)?;
        let source_uri = res.opt_str("source_uri")?.map(str::to_string);
        let dsr = reference(&res, "data_source_reference", &["vm_disk"])?;
        if source_uri.is_some() && dsr.is_some() {
            return Err(res.error(
                "source_uri",
                "source_uri and data_source_reference are mutually exclusive",
            ));
        }
        let prev_res = previous.and_then(|p| p.get("resources"));
        let prev_uri = prev_res
            .and_then(|p| p.get("source_uri"))
            .and_then(Value::as_str);
        let prev_dsr = prev_res
            .and_then(|p| p.pointer("/data_source_reference/uuid"))
            .and_then(Value::as_str)
            .and_then(parse_uuid);
        if previous.is_some() {
            if source_uri.as_deref() != prev_uri {
                return Err(res.error(
                    "source_uri",
                    "the source of an existing image cannot be changed",
                ));
            }
            if dsr.as_ref().map(|(_, u)| u.clone()) != prev_dsr {
                return Err(res.error(
                    "data_source_reference",
                    "the source of an existing image cannot be changed",
                ));
            }
        } else if let Some(u) = &source_uri {
            let lower = u.to_ascii_lowercase();
            let host = ["http://", "https://", "nfs://"]
                .iter()
                .find_map(|p| lower.strip_prefix(p))
                .map(|rest| rest.split('/').next().unwrap_or(""));
            if host.is_none_or(str::is_empty) {
                return Err(res.error(
                    "source_uri",
                    format!("'{u}' is not an http, https or nfs URL"),
                ));
            }
        }
        let image_type = match res.opt_enum("image_type", &["DISK_IMAGE", "ISO_IMAGE"])? {
            Some(t) => t,
            None if dsr.is_some() => "DISK_IMAGE",
            None => return Err(res.error("image_type", "'image_type' is a required property")),
        };
        if dsr.is_some() && image_type == "ISO_IMAGE" {
            return Err(res.error(
                "image_type",
                "an image made from a vm_disk must be a DISK_IMAGE",
            ));
        }
        let disk_size = match (&dsr, previous) {
            (Some((_, u)), None) => Some(self.vm_disk_size(u).ok_or_else(|| {
                ApiError::bad_reference(
                    "image",
                    "spec.resources.data_source_reference",
                    format!("vm_disk {u} does not exist"),
                )
            })?),
            _ => None,
        };
        let checksum = match res.opt_obj("checksum")? {
            None => None,
            Some(c) => {
                let alg = c
                    .opt_enum("checksum_algorithm", &["SHA_256", "SHA_1"])?
                    .ok_or_else(|| {
                        c.error(
                            "checksum_algorithm",
                            "'checksum_algorithm' is a required property",
                        )
                    })?;
                let val = c.opt_str("checksum_value")?.ok_or_else(|| {
                    c.error("checksum_value", "'checksum_value' is a required property")
                })?;
                let want_len = if alg == "SHA_256" { 64 } else { 40 };
                if val.len() != want_len || !val.chars().all(|x| x.is_ascii_hexdigit()) {
                    return Err(c.error(
                        "checksum_value",
                        format!("a {alg} checksum is {want_len} hex digits"),
                    ));
                }
                Some((alg.to_string(), val.to_ascii_lowercase()))
            }
        };
        let mut placement = Vec::new();
        for (i, p) in res
            .opt_array("initial_placement_ref_list")?
            .into_iter()
            .flatten()
            .enumerate()
        {
            let path = format!("spec.resources.initial_placement_ref_list[{i}]");
            let pr = Reader::new("image", &path, p)?;
            let u = pr.req_str("uuid")?;
            let u = parse_uuid(u)
                .ok_or_else(|| pr.error("uuid", format!("'{u}' is not a valid UUID")))?;
            match self.inv.cluster(&u) {
                Some(c) if !c.prism_central => placement.push(u),
                Some(c) => {
                    return Err(ApiError::bad_reference(
                        "image",
                        &path,
                        format!(
                            "cluster {} ({u}) is Prism Central and cannot hold images",
                            c.name
                        ),
                    ))
                }
                None => {
                    return Err(ApiError::bad_reference(
                        "image",
                        &path,
                        format!("cluster {u} does not exist"),
                    ))
                }
            }
        }
        if placement.is_empty() {
            placement = self
                .inv
                .clusters
                .iter()
                .filter(|c| !c.prism_central)
                .map(|c| c.uuid.clone())
                .collect();
        }
        let arch = res
            .opt_enum("architecture", &["X86_64", "PPC64LE"])?
            .unwrap_or("X86_64");
        let mut out_res = res.obj.clone();
        out_res.insert("image_type".into(), json!(image_type));
        out_res.insert("architecture".into(), json!(arch));
        let mut out = spec.as_object().cloned().unwrap_or_default();
        out.insert("resources".into(), Value::Object(out_res));
        Ok(NormImage {
            spec: Value::Object(out),
            source_uri,
            disk_size,
            checksum,
            placement,
        })
    }

    /// Claims an image for an upload; fails if it cannot take data now. Returns whether the
    /// image's spec asks for a SHA_1 checksum (so the uploader knows to compute one).
    pub fn begin_upload(&mut self, now: Duration, uuid: &str) -> Result<bool, ApiError> {
        self.tick(now);
        let idx = self.image_index(uuid)?;
        let Some(img) = self.images.get_mut(idx) else {
            return Err(ApiError::not_found("image", uuid));
        };
        let busy =
            |m: String| ApiError::new(409, "CONCURRENT_REQUESTS_NOT_ALLOWED", m).with_kind("image");
        if img.has_source() {
            return Err(ApiError::new(
                422,
                "INVALID_REQUEST",
                format!("image {uuid} was created from a source; its data cannot be uploaded"),
            )
            .with_kind("image"));
        }
        if !img.core.in_flight.is_empty() {
            return Err(busy(format!(
                "image {uuid} is not ready for an upload (state {})",
                img.core.state()
            )));
        }
        if img.uploading {
            return Err(busy(format!(
                "an upload to image {uuid} is already in progress"
            )));
        }
        img.uploading = true;
        Ok(img
            .core
            .spec
            .pointer("/resources/checksum/checksum_algorithm")
            .and_then(Value::as_str)
            == Some("SHA_1"))
    }

    /// Records a finished upload (or forgets an aborted one when `done` is None).
    pub fn finish_upload(
        &mut self,
        now: Duration,
        uuid: &str,
        done: Option<UploadDone>,
    ) -> Result<(), ApiError> {
        self.tick(now);
        let Some(idx) = self.images.iter().position(|i| i.core.uuid == uuid) else {
            if let Some(p) = done.and_then(|d| d.stored) {
                self.removed_files.push(p);
            }
            return Err(ApiError::not_found("image", uuid));
        };
        let Some(img) = self.images.get_mut(idx) else {
            return Err(ApiError::not_found("image", uuid));
        };
        img.uploading = false;
        let Some(done) = done else { return Ok(()) };
        let mut expected = Vec::new();
        if let Some((alg, val)) = &done.header_checksum {
            expected.push((
                "X-Nutanix-Checksum-Bytes",
                alg.clone(),
                val.to_ascii_lowercase(),
            ));
        }
        if let (Some(alg), Some(val)) = (
            img.core
                .spec
                .pointer("/resources/checksum/checksum_algorithm")
                .and_then(Value::as_str),
            img.core
                .spec
                .pointer("/resources/checksum/checksum_value")
                .and_then(Value::as_str),
        ) {
            expected.push((
                "spec.resources.checksum",
                alg.to_string(),
                val.to_ascii_lowercase(),
            ));
        }
        for (source, alg, want) in expected {
            let actual = match alg.as_str() {
                "SHA_256" => done.sha256.as_str(),
                "SHA_1" => done.sha1.as_deref().unwrap_or(""),
                other => {
                    if let Some(p) = done.stored {
                        self.removed_files.push(p);
                    }
                    return Err(ApiError::schema(
                        "image",
                        "X-Nutanix-Checksum-Type",
                        format!("'{other}' is not one of [\"SHA_256\", \"SHA_1\"]"),
                    ));
                }
            };
            if actual != want {
                if let Some(p) = done.stored {
                    self.removed_files.push(p);
                }
                return Err(ApiError::new(
                    422,
                    "CHECKSUM_MISMATCH",
                    format!("uploaded data of image {uuid} has {alg} {actual}, but {source} says {want}"),
                )
                .with_kind("image"));
            }
        }
        if let Some(old) = img.stored.take() {
            if Some(&old) != done.stored.as_ref() {
                self.removed_files.push(old);
            }
        }
        img.size_bytes = Some(done.size);
        img.sha256 = Some(done.sha256);
        img.stored = done.stored;
        img.uploaded = true;
        img.core.updated = now;
        Ok(())
    }

    /// What a download of the image serves.
    pub fn download_info(&mut self, now: Duration, uuid: &str) -> Result<DownloadInfo, ApiError> {
        self.tick(now);
        let img = self
            .images
            .get(self.image_index(uuid)?)
            .ok_or_else(|| ApiError::not_found("image", uuid))?;
        let size = match (
            img.core.applied.is_some() && img.core.error.is_none(),
            img.size_bytes,
        ) {
            (true, Some(s)) => s,
            _ => {
                return Err(ApiError::new(
                    409,
                    "CONCURRENT_REQUESTS_NOT_ALLOWED",
                    format!(
                        "image {uuid} has no data to download (state {})",
                        img.core.state()
                    ),
                )
                .with_kind("image"))
            }
        };
        Ok(DownloadInfo {
            size,
            stored: img.stored.clone(),
            name: img.core.name(),
        })
    }

    /// Files of deleted or replaced uploads, for the HTTP layer to remove.
    pub fn take_removed_files(&mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.removed_files)
    }
}
