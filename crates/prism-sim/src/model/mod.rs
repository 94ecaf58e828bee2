//! The simulated Prism Central as plain data: inventory entities, VMs, images, tasks, OVAs
//! (`ova`, found through `groups`) and v4 VM templates (`template`), and the operations
//! the API performs on them. No I/O and no clock reads: every operation takes
//! `now`, and [`Store::tick`] applies the effects of tasks that have ended by then. The HTTP
//! layer holds one `Store` behind a mutex and calls it with the request's parsed JSON.

pub(crate) mod catalog;
pub(crate) mod console;
pub(crate) mod groups;
pub(crate) mod image;
pub(crate) mod json;
pub(crate) mod ova;
pub(crate) mod task;
pub(crate) mod template;
pub(crate) mod vm;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::inventory::Inventory;
use crate::prism_error::ApiError;
use crate::routes::{Kind, Route};
pub use console::ConsoleVm;
pub use groups::GROUPS_KIND;
pub use image::{DownloadInfo, UploadDone};
use json::{reference, Reader};
pub use ova::OvaDownload;
pub use task::TaskEnd;
use task::{Effect, Failure, Op, Task};
pub use template::{V4Reply, V4Request};

/// Timing and networking knobs of the state model.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Nominal duration of every task (image downloads may override it per URL).
    pub task_duration: Duration,
    /// Delay between a VM reaching power state ON and its NIC reporting an IP.
    pub ip_delay: Duration,
    /// The IP VMs report once powered on; None means VMs never get one.
    pub vm_ip: Option<IpAddr>,
    /// Fail image deletions while a live VM has a disk cloned from the image. Off by default:
    /// AHV clones image data into VM disks, and the Go plugin v1.2.1 deletes its CD image
    /// before the VM on every successful build without leaks being reported.
    pub refuse_deleting_images_in_use: bool,
}

/// The `kind` tasks on VM templates name in `entity_reference_list`. GUESS: the v4 template
/// entity has no v3 kind; this is the name the simulator gives it.
pub const TEMPLATE_KIND: &str = "vm_template";

/// A fault that shapes the task created by the current request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskFault {
    /// The task ends, when it would have succeeded, in `status` with this `error_detail`.
    End {
        /// The terminal status it reports.
        status: TaskEnd,
        /// Its `error_detail` (and final `progress_message`).
        message: String,
    },
    /// The task never ends.
    Hang,
}

/// A successful answer: HTTP status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// HTTP status (200 or 202).
    pub status: u16,
    /// JSON body.
    pub body: Value,
}

/// Parameters of a task about to be created.
#[derive(Debug, Clone)]
pub(crate) struct NewTask {
    pub op: Op,
    pub entity_uuid: String,
    pub entity_name: String,
    /// The entity's latest in-flight task: the new one starts when it ends.
    pub after: Option<String>,
    pub cluster: Option<(String, String)>,
    pub duration: Duration,
    /// Some(message): the task will fail with it.
    pub failure: Option<String>,
    pub effect: Effect,
    pub detail: Option<String>,
}

/// Entity metadata taken from requests (categories, project, owner).
#[derive(Debug, Clone, Default)]
pub(crate) struct MetaIn {
    pub categories_mapping: Map<String, Value>,
    pub use_categories_mapping: Option<bool>,
    pub project: Option<String>,
    pub owner: Option<Value>,
}

/// What VMs and images share: intent, applied state, versions, in-flight tasks.
#[derive(Debug, Clone)]
pub(crate) struct Core {
    pub uuid: String,
    pub spec: Value,
    /// The spec as last applied by a finished task; None until the create task succeeds.
    pub applied: Option<Value>,
    pub spec_version: u64,
    pub created: Duration,
    pub updated: Duration,
    pub meta: MetaIn,
    /// Set by a failed task, cleared by the next success.
    pub error: Option<String>,
    /// Queued and running tasks on this entity, oldest first.
    pub in_flight: Vec<(String, Op)>,
}

/// The `name` of a v3 spec, empty when absent (Prism lists unnamed entities with "").
pub(crate) fn spec_name(spec: &Value) -> String {
    spec.get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

impl Core {
    /// Records an accepted update (PUT): the new intent and its version, the metadata sent with
    /// it, and the task that will apply it, exactly as Prism shows a pending update.
    pub(crate) fn accept_update(
        &mut self,
        spec: Value,
        spec_version: u64,
        now: Duration,
        meta: MetaIn,
        task: &str,
        op: Op,
    ) {
        self.spec = spec;
        self.spec_version = spec_version;
        self.updated = now;
        self.meta = meta;
        self.in_flight.push((task.to_string(), op));
    }

    pub fn name(&self) -> String {
        spec_name(&self.spec)
    }

    /// Prism's `status.state`.
    pub fn state(&self) -> &'static str {
        match self.in_flight.last() {
            Some((_, op)) if op.is_delete() => "DELETE_PENDING",
            Some(_) => "PENDING",
            None if self.error.is_some() => "ERROR",
            None if self.applied.is_none() => "PENDING",
            None => "COMPLETE",
        }
    }

    pub fn deleting(&self) -> bool {
        self.in_flight.iter().any(|(_, op)| op.is_delete())
    }
}

/// Everything a simulated Prism Central knows.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) inv: Inventory,
    pub(crate) cfg: StoreConfig,
    pub(crate) epoch: DateTime<Utc>,
    pub(crate) vms: Vec<vm::Vm>,
    pub(crate) images: Vec<image::Image>,
    pub(crate) tasks: Vec<Task>,
    pub(crate) ovas: Vec<ova::Ova>,
    pub(crate) templates: Vec<template::Template>,
    /// v4 `NTNX-Request-Id`s already answered, oldest first, with what was answered.
    pub(crate) request_ids: std::collections::VecDeque<template::Answered>,
    pub(crate) removed_files: Vec<PathBuf>,
    /// Console tokens handed out by console-token tasks.
    pub(crate) console_tokens: Vec<console::ConsoleToken>,
    mac_counter: u32,
}

/// Finished tasks kept for `GET /tasks/{uuid}`; older ones are forgotten.
const MAX_FINISHED_TASKS: usize = 10_000;

/// UUID of the user that owns everything created through the simulator.
pub(crate) const ADMIN_UUID: &str = "00000000-0000-0000-0000-000000000000";

impl Store {
    /// A store holding `inv`; wall-clock times are rendered relative to `epoch`.
    pub fn new(inv: Inventory, cfg: StoreConfig, epoch: DateTime<Utc>) -> Self {
        let images = inv
            .images
            .iter()
            .map(image::Image::from_inventory)
            .collect();
        Self {
            inv,
            cfg,
            epoch,
            vms: Vec::new(),
            images,
            tasks: Vec::new(),
            ovas: Vec::new(),
            templates: Vec::new(),
            request_ids: std::collections::VecDeque::new(),
            removed_files: Vec::new(),
            console_tokens: Vec::new(),
            mac_counter: 0,
        }
    }

    /// The inventory the store was built from.
    pub fn inventory(&self) -> &Inventory {
        &self.inv
    }

    /// RFC 3339 wall-clock time for an offset from the epoch.
    pub(crate) fn ts(&self, at: Duration) -> String {
        let t = chrono::Duration::from_std(at)
            .ok()
            .and_then(|d| self.epoch.checked_add_signed(d))
            .unwrap_or(self.epoch);
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// Applies the effects of every task that has ended by `now`, in the order they end.
    pub fn tick(&mut self, now: Duration) {
        loop {
            let next = self
                .tasks
                .iter()
                .enumerate()
                .filter(|(_, t)| t.done.is_none())
                .filter_map(|(i, t)| t.ends().filter(|e| *e <= now).map(|e| (e, i)))
                .min();
            let Some((at, idx)) = next else { break };
            self.complete_task(idx, at);
        }
        let finished = self.tasks.iter().filter(|t| t.done.is_some()).count();
        if finished > MAX_FINISHED_TASKS {
            let mut drop = finished - MAX_FINISHED_TASKS;
            self.tasks.retain(|t| {
                if drop > 0 && t.done.is_some() {
                    drop -= 1;
                    false
                } else {
                    true
                }
            });
        }
    }

    fn complete_task(&mut self, idx: usize, at: Duration) {
        let Some(task) = self.tasks.get_mut(idx) else {
            return;
        };
        task.done = Some(at);
        let task = task.clone();
        let late_failure = match task.op {
            Op::CreateVm | Op::UpdateVm | Op::DeleteVm => {
                self.finish_vm_task(&task, at);
                None
            }
            Op::CreateImage | Op::UpdateImage | Op::DeleteImage => {
                self.finish_image_task(&task, at);
                None
            }
            Op::ExportVm | Op::DeleteOva => self.finish_ova_task(&task, at),
            Op::CreateTemplate | Op::DeleteTemplate => self.finish_template_task(&task, at),
            Op::GenerateConsoleToken => None,
        };
        // Some outcomes are only known at the end (the source VM went away meanwhile).
        if let Some(f) = late_failure {
            if let Some(t) = self.tasks.get_mut(idx) {
                t.failure = Some(f);
            }
        }
        // Tasks queued behind this one can start now.
        for t in self.tasks.iter_mut() {
            if t.done.is_none() && t.start.is_none() && t.after.as_deref() == Some(&task.uuid) {
                t.start = Some(at);
            }
        }
    }

    /// Creates a task on an entity; it starts when the entity's previous task ends.
    pub(crate) fn new_task(
        &mut self,
        now: Duration,
        t: NewTask,
        fault: Option<&TaskFault>,
    ) -> String {
        let uuid = uuid::Uuid::new_v4().to_string();
        let blocking = t
            .after
            .as_ref()
            .and_then(|a| self.tasks.iter().find(|x| &x.uuid == a && x.done.is_none()));
        let start = match blocking {
            None => Some(now),
            Some(b) => b.ends().map(|e| e.max(now)),
        };
        let natural = t.failure.map(Failure::failed);
        let (failure, hang) = match fault {
            Some(TaskFault::End { status, message }) => (
                Some(Failure {
                    status: *status,
                    message: message.clone(),
                }),
                false,
            ),
            Some(TaskFault::Hang) => (natural, true),
            None => (natural, false),
        };
        self.tasks.push(Task {
            uuid: uuid.clone(),
            op: t.op,
            entity_uuid: t.entity_uuid,
            entity_name: t.entity_name,
            cluster: t.cluster,
            created: now,
            after: t.after,
            start,
            duration: t.duration,
            hang,
            failure,
            effect: t.effect,
            done: None,
            detail: t.detail,
        });
        uuid
    }

    /// Dispatches one JSON API call. `body` is the parsed request body when the route has one.
    pub fn handle(
        &mut self,
        now: Duration,
        route: &Route,
        body: Option<&Value>,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        self.tick(now);
        let ok = |body: Value| Ok(Reply { status: 200, body });
        match route {
            Route::List(kind) => ok(self.list(now, *kind, body)?),
            Route::Get(Kind::Vm, u) => ok(self.get_vm(now, u)?),
            Route::Get(Kind::Image, u) => ok(self.get_image(now, u)?),
            Route::Get(Kind::Ova, u) => ok(self.get_ova(u)?),
            Route::Get(Kind::Task, u) => {
                let t = self
                    .tasks
                    .iter()
                    .find(|t| &t.uuid == u)
                    .ok_or_else(|| ApiError::not_found("task", u))?;
                ok(t.render(now, &|d| self.ts(d)))
            }
            Route::Get(kind, u) => ok(self.get_catalog(*kind, u)?),
            Route::Create(Kind::Vm) => self.create_vm(now, body, fault),
            Route::Create(Kind::Image) => self.create_image(now, body, fault),
            Route::Update(Kind::Vm, u) => self.update_vm(now, u, body, fault),
            Route::Update(Kind::Image, u) => self.update_image(now, u, body, fault),
            Route::Delete(Kind::Vm, u) => self.delete_vm(now, u, fault),
            Route::Delete(Kind::Image, u) => self.delete_image(now, u, fault),
            Route::Delete(Kind::Ova, u) => self.delete_ova(now, u, fault),
            Route::ExportVm(u) => self.export_vm(now, u, body, fault),
            Route::Groups => ok(self.groups(body)?),
            Route::CategoryKeys => ok(self.category_keys(body)?),
            Route::CategoryKey(k) => ok(self.category_key(k)?),
            Route::CategoryValues(k) => ok(self.category_values(k, body)?),
            Route::CategoryValue(k, v) => ok(self.category_value(k, v)?),
            Route::Create(k) | Route::Update(k, _) | Route::Delete(k, _) => Err(ApiError::new(
                405,
                "METHOD_NOT_ALLOWED",
                format!(
                    "{} entities cannot be changed through this simulator",
                    k.name()
                ),
            )),
            Route::Upload(_) | Route::Download(_) | Route::OvaDownload(_) => Err(ApiError::new(
                500,
                "INTERNAL_ERROR",
                "file transfers are streamed by the HTTP layer",
            )),
            Route::TemplateCreate
            | Route::TemplateList
            | Route::TemplateGet(_)
            | Route::TemplateDelete(_)
            | Route::ConsoleToken(_)
            | Route::V4Task(_) => Err(ApiError::new(
                500,
                "INTERNAL_ERROR",
                "v4 calls are answered by Store::handle_v4",
            )),
            Route::UsersMe => Err(ApiError::new(
                500,
                "INTERNAL_ERROR",
                "users/me is answered by the HTTP layer (it sets a session cookie)",
            )),
        }
    }

    fn list(&self, now: Duration, kind: Kind, body: Option<&Value>) -> Result<Value, ApiError> {
        use crate::listing::ListRequest;
        let attrs = attrs_for(kind);
        let paginated = kind != Kind::Host;
        let req = ListRequest::parse(body, kind.name(), attrs, paginated)?;
        let entities: Vec<Value> = match kind {
            Kind::Vm => self
                .vms
                .iter()
                .map(|v| self.render_vm_entity(now, v))
                .collect(),
            Kind::Image => self
                .images
                .iter()
                .map(|i| self.render_image_entity(now, i))
                .collect(),
            Kind::Task => self
                .tasks
                .iter()
                .rev()
                .map(|t| t.render(now, &|d| self.ts(d)))
                .collect(),
            Kind::Ova => self
                .ovas
                .iter()
                .filter(|o| o.visible())
                .map(|o| self.render_ova(o))
                .collect(),
            other => self.catalog_entities(now, other),
        };
        Ok(req.respond(kind.name(), attrs, entities))
    }

    /// `/_sim/state`: VMs, images, tasks, OVAs and templates with their states (OVAs and
    /// templates still being created included, so tests can prove nothing leaked).
    pub fn state_json(&mut self, now: Duration) -> Value {
        self.tick(now);
        let vms: Vec<Value> = self
            .vms
            .iter()
            .map(|v| {
                json!({
                    "uuid": v.core.uuid,
                    "name": v.core.name(),
                    "state": v.core.state(),
                    "spec_version": v.core.spec_version,
                    "power_state": if v.power_on { "ON" } else { "OFF" },
                    "ip": self.vm_ip_at(v, now).map(|ip| ip.to_string()),
                    "ip_addresses": self.vm_ips_at(v, now).iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "cluster_uuid": v.cluster_uuid,
                    "host_uuid": v.host_uuid,
                    "error": v.core.error,
                    "tasks_in_flight": v.core.in_flight.iter().map(|(t, _)| t.clone()).collect::<Vec<_>>(),
                })
            })
            .collect();
        let images: Vec<Value> = self
            .images
            .iter()
            .map(|i| {
                json!({
                    "uuid": i.core.uuid,
                    "name": i.core.name(),
                    "state": i.core.state(),
                    "spec_version": i.core.spec_version,
                    "image_type": i.image_type(),
                    "size_bytes": i.size_bytes,
                    "sha256": i.sha256,
                    "uploaded": i.uploaded,
                    "source_uri": i.source_uri(),
                    "error": i.core.error,
                })
            })
            .collect();
        let tasks: Vec<Value> = self
            .tasks
            .iter()
            .map(|t| {
                json!({
                    "uuid": t.uuid,
                    "status": t.status(now),
                    "operation_type": t.op.operation_type(),
                    "entity_kind": t.op.kind(),
                    "entity_uuid": t.entity_uuid,
                    "percentage_complete": t.percentage(now),
                    "error_detail": t.done.and(t.failure.as_ref()).map(|f| f.message.clone()),
                })
            })
            .collect();
        let ovas: Vec<Value> = self
            .ovas
            .iter()
            .map(|o| {
                json!({
                    "uuid": o.uuid,
                    "name": o.name,
                    "vm_uuid": o.vm_uuid,
                    "disk_format": o.format.as_str(),
                    "size_bytes": o.file.as_ref().map(|f| f.archive.size()),
                    "sha256": o.file.as_ref().map(|f| f.sha256.clone()),
                    "state": o.state(),
                })
            })
            .collect();
        let templates: Vec<Value> = self
            .templates
            .iter()
            .map(|t| {
                json!({
                    "ext_id": t.ext_id,
                    "name": t.name,
                    "description": t.description,
                    "vm_uuid": t.vm_uuid,
                    "state": t.state(),
                })
            })
            .collect();
        json!({
            "now_ms": u64::try_from(now.as_millis()).unwrap_or(u64::MAX),
            "vms": vms,
            "images": images,
            "tasks": tasks,
            "ovas": ovas,
            "templates": templates,
        })
    }

    // ---- metadata -------------------------------------------------------------------------

    /// Reads `metadata` of a create/update body; returns it and the given `spec_version`.
    pub(crate) fn parse_meta(
        &self,
        kind: &'static str,
        body: &Value,
        previous: Option<&MetaIn>,
    ) -> Result<(MetaIn, Option<i64>), ApiError> {
        let top = Reader::new(kind, "", body)?;
        let meta_v = top.raw("metadata").ok_or_else(|| {
            ApiError::schema(kind, "metadata", "'metadata' is a required property")
        })?;
        let m = Reader::new(kind, "metadata", meta_v)?;
        let given_kind = m
            .opt_str("kind")?
            .ok_or_else(|| m.error("kind", "'kind' is a required property"))?;
        if given_kind != kind {
            return Err(m.error(
                "kind",
                format!("'{given_kind}' does not match the endpoint's kind '{kind}'"),
            ));
        }
        let spec_version = m.opt_i64("spec_version")?;
        let mut out = previous.cloned().unwrap_or_default();
        // categories_mapping (lists) wins over categories (single values) when both are given.
        let mut mapping = Map::new();
        if let Some(cats) = m.opt_obj("categories")? {
            for (k, v) in cats.obj {
                let Value::String(val) = v else {
                    return Err(
                        cats.error(k, format!("{} is not of type 'string'", json::type_name(v)))
                    );
                };
                mapping.insert(k.clone(), json!([val]));
            }
        }
        if let Some(cm) = m.opt_obj("categories_mapping")? {
            mapping = Map::new();
            for (k, v) in cm.obj {
                let Some(list) = v.as_array() else {
                    return Err(
                        cm.error(k, format!("{} is not of type 'array'", json::type_name(v)))
                    );
                };
                let mut vals = Vec::new();
                for item in list {
                    let Value::String(s) = item else {
                        return Err(cm.error(k, "category values must be strings"));
                    };
                    vals.push(Value::String(s.clone()));
                }
                mapping.insert(k.clone(), Value::Array(vals));
            }
        }
        if m.raw("categories").is_some()
            || m.raw("categories_mapping").is_some()
            || previous.is_none()
        {
            for (k, vals) in &mapping {
                let def = self.inv.category(k).ok_or_else(|| {
                    ApiError::bad_reference(
                        kind,
                        "metadata.categories",
                        format!("category {k} does not exist"),
                    )
                })?;
                for v in vals.as_array().into_iter().flatten() {
                    let v = v.as_str().unwrap_or("");
                    if !def.values.iter().any(|x| x == v) {
                        return Err(ApiError::bad_reference(
                            kind,
                            "metadata.categories",
                            format!("category value {k}:{v} does not exist"),
                        ));
                    }
                }
            }
            out.categories_mapping = mapping;
        }
        if let Some(b) = m.opt_bool("use_categories_mapping")? {
            out.use_categories_mapping = Some(b);
        }
        if let Some((_, uuid)) = reference(&m, "project_reference", &["project"])? {
            if self.inv.project(&uuid).is_none() {
                return Err(ApiError::bad_reference(
                    kind,
                    "metadata.project_reference",
                    format!("project {uuid} does not exist"),
                ));
            }
            out.project = Some(uuid);
        } else if previous.is_none() {
            out.project = self
                .inv
                .projects
                .iter()
                .find(|p| p.is_default)
                .map(|p| p.uuid.clone());
        }
        if let Some(o) = m.raw("owner_reference") {
            out.owner = Some(o.clone());
        }
        Ok((out, spec_version))
    }

    pub(crate) fn render_meta(&self, kind: &str, core: &Core) -> Value {
        let mut categories = Map::new();
        for (k, v) in &core.meta.categories_mapping {
            if let Some(first) = v.as_array().and_then(|a| a.first()) {
                categories.insert(k.clone(), first.clone());
            }
        }
        let mut m = Map::new();
        m.insert("kind".into(), Value::String(kind.into()));
        m.insert("uuid".into(), Value::String(core.uuid.clone()));
        m.insert("spec_version".into(), Value::from(core.spec_version));
        m.insert(
            "spec_hash".into(),
            Value::String("00000000000000000000000000000000000000000000000000".into()),
        );
        m.insert("creation_time".into(), Value::String(self.ts(core.created)));
        m.insert(
            "last_update_time".into(),
            Value::String(self.ts(core.updated)),
        );
        m.insert("categories".into(), Value::Object(categories));
        m.insert(
            "categories_mapping".into(),
            Value::Object(core.meta.categories_mapping.clone()),
        );
        if let Some(b) = core.meta.use_categories_mapping {
            m.insert("use_categories_mapping".into(), Value::Bool(b));
        }
        if let Some(p) = core.meta.project.as_ref().and_then(|u| self.inv.project(u)) {
            m.insert(
                "project_reference".into(),
                json!({"kind": "project", "uuid": p.uuid, "name": p.name}),
            );
        }
        m.insert(
            "owner_reference".into(),
            core.meta
                .owner
                .clone()
                .unwrap_or_else(|| json!({"kind": "user", "uuid": ADMIN_UUID, "name": "admin"})),
        );
        Value::Object(m)
    }

    /// A cluster reference `{kind, uuid, name}` for a known cluster UUID.
    pub(crate) fn cluster_ref(&self, uuid: &str) -> Value {
        let name = self
            .inv
            .cluster(uuid)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        json!({"kind": "cluster", "uuid": uuid, "name": name})
    }

    pub(crate) fn next_mac(&mut self) -> String {
        self.mac_counter = self.mac_counter.wrapping_add(1);
        let n = self.mac_counter;
        format!(
            "50:6b:8d:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 0xff,
            (n >> 8) & 0xff,
            n & 0xff
        )
    }

    /// Where an uploaded image's bytes are kept, if they are.
    pub fn stored_image_path(&self, uuid: &str) -> Option<PathBuf> {
        self.images
            .iter()
            .find(|i| i.core.uuid == uuid)
            .and_then(|i| i.stored.clone())
    }
}

/// Attributes `*/list` filters and sorts on, per kind, with where to find them.
pub(crate) fn attrs_for(kind: Kind) -> crate::listing::AttrMap {
    const COMMON: &[&str] = &["/spec/name", "/status/name"];
    match kind {
        Kind::Vm => &[
            ("name", COMMON),
            ("uuid", &["/metadata/uuid"]),
            ("state", &["/status/state"]),
            (
                "power_state",
                &[
                    "/status/resources/power_state",
                    "/spec/resources/power_state",
                ],
            ),
            (
                "cluster_name",
                &[
                    "/status/cluster_reference/name",
                    "/spec/cluster_reference/name",
                ],
            ),
            ("cluster_uuid", &["/spec/cluster_reference/uuid"]),
            ("creation_time", &["/metadata/creation_time"]),
        ],
        Kind::Image => &[
            ("name", COMMON),
            ("uuid", &["/metadata/uuid"]),
            ("state", &["/status/state"]),
            (
                "image_type",
                &["/spec/resources/image_type", "/status/resources/image_type"],
            ),
            ("source_uri", &["/spec/resources/source_uri"]),
            ("creation_time", &["/metadata/creation_time"]),
        ],
        Kind::Subnet => &[
            ("name", COMMON),
            ("uuid", &["/metadata/uuid"]),
            ("vlan_id", &["/spec/resources/vlan_id"]),
            ("subnet_type", &["/spec/resources/subnet_type"]),
            ("cluster_name", &["/spec/cluster_reference/name"]),
            ("cluster_uuid", &["/spec/cluster_reference/uuid"]),
        ],
        Kind::Cluster | Kind::Project => &[("name", COMMON), ("uuid", &["/metadata/uuid"])],
        Kind::Host => &[
            ("name", COMMON),
            ("uuid", &["/metadata/uuid"]),
            ("cluster_uuid", &["/status/cluster_reference/uuid"]),
        ],
        // GUESS: the attribute names real Prism accepts for OVAs beyond `name`.
        Kind::Ova => &[
            ("name", &["/info/name"]),
            ("uuid", &["/metadata/uuid"]),
            ("creation_time", &["/metadata/creation_time"]),
            ("parent_vm_uuid", &["/info/parent_vm_reference/uuid"]),
        ],
        Kind::Task => &[
            ("uuid", &["/uuid"]),
            ("status", &["/status"]),
            ("operation_type", &["/operation_type"]),
            ("entity_uuid", &["/entity_reference_list/0/uuid"]),
        ],
    }
}

#[cfg(test)]
mod export_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod windows_tests;
