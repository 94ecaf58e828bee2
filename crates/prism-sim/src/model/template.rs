//! VM templates through the raw v4 calls the Go plugin v1.2.1 makes
//! (`/api/vmm/v4.{0,1,2}/content/templates`): create (a task polled through v3 `/tasks`),
//! list with `$filter`/`$page`/`$limit`, get with an `ETag`, delete with an optional `If-Match`.
//!
//! * Mutations need `NTNX-Request-Id` (a UUID); a repeated id replays the first answer instead
//!   of acting twice, as the Nutanix v4 documentation describes the header (an id reused for
//!   a different call is 409: GUESS).
//! * Like an export ([`super::ova`]), creation is queued behind the source VM's earlier tasks
//!   and copies the VM when it ends; a VM being deleted is refused (409), a VM gone or never
//!   created by then makes the task FAIL and leaves no template. The template keeps its copy,
//!   so deleting the VM later does not affect it.
//! * GUESSES: the `ETag` form (`YXBwbGljYXRpb24vanNvbg==:<revision>`, the prefix seen in
//!   Nutanix examples), the default `versionName`, the `vmSpec` subset shown, and the task
//!   `entity_reference_list` naming the template as kind `vm_template`.

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::json::parse_uuid;
use super::task::{Effect, Failure, Op, Task};
use super::vm::Hardware;
use super::{NewTask, Store, TaskFault, ADMIN_UUID};
use crate::odata::{parse_list_query, QueryError};
use crate::prism_error::ApiError;
use crate::routes::Route;

/// Prefix of v4 task extIds (`base64("ergon")`); the task UUID follows the last `:`.
pub const TASK_EXT_ID_PREFIX: &str = "ZXJnb24=:";
/// Version name of a template created without one. GUESS.
const DEFAULT_VERSION_NAME: &str = "Initial Version";
/// Prefix of every ETag (`base64("application/json")`, as in Nutanix v4 examples). GUESS.
const ETAG_PREFIX: &str = "YXBwbGljYXRpb24vanNvbg==";
/// `NTNX-Request-Id`s remembered for replay.
const MAX_REQUEST_IDS: usize = 10_000;
/// Properties `$filter` may name.
const FILTERABLE: &[&str] = &["templateName", "extId"];

/// The parts of a v4 request the model needs besides its route and JSON body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V4Request {
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// `NTNX-Request-Id`.
    pub request_id: Option<String>,
    /// `If-Match`.
    pub if_match: Option<String>,
}

/// A successful v4 answer.
#[derive(Debug, Clone, PartialEq)]
pub struct V4Reply {
    /// HTTP status (200 or 202).
    pub status: u16,
    /// JSON body.
    pub body: Value,
    /// `ETag` header, for single-entity reads.
    pub etag: Option<String>,
}

/// A mutation already answered, for `NTNX-Request-Id` replay.
#[derive(Debug, Clone)]
pub(crate) struct Answered {
    request_id: String,
    /// Which call it was (method and entity), so a reused id on another call is refused.
    call: String,
    reply: V4Reply,
}

/// One template, from the create request on.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub ext_id: String,
    pub name: String,
    pub description: String,
    pub vm_uuid: String,
    pub version_ext_id: String,
    pub version_name: String,
    pub version_description: String,
    pub gc_override: bool,
    pub created: Duration,
    pub updated: Duration,
    /// The source VM's hardware, copied when the create task succeeds; until then the
    /// template is not visible in the API.
    pub vm: Option<Hardware>,
    /// The delete task in flight.
    pub deleting: Option<String>,
    pub revision: u64,
}

impl Template {
    fn visible(&self) -> bool {
        self.vm.is_some()
    }

    /// State shown in `/_sim/state`.
    pub fn state(&self) -> &'static str {
        match (&self.vm, &self.deleting) {
            (None, _) => "PENDING",
            (Some(_), Some(_)) => "DELETE_PENDING",
            (Some(_), None) => "COMPLETE",
        }
    }

    fn etag(&self) -> String {
        format!("{ETAG_PREFIX}:{}", self.revision)
    }
}

pub(super) fn metadata(paginated: bool) -> Value {
    json!({
        "$objectType": "common.v1.response.ApiResponseMetadata",
        "flags": [
            {"name": "hasError", "value": false},
            {"name": "isPaginated", "value": paginated},
        ],
    })
}

/// The 202 body naming the task of a create or delete.
pub(super) fn task_reference(response: &'static str, task: &str) -> Value {
    json!({
        "$objectType": response,
        "data": {
            "$objectType": "prism.v4.config.TaskReference",
            "extId": format!("{TASK_EXT_ID_PREFIX}{task}"),
        },
        "metadata": metadata(false),
    })
}

/// Reads the create body; errors are 400 naming the field.
struct CreateSpec {
    name: String,
    description: String,
    vm_uuid: String,
    version_name: String,
    version_description: String,
    gc_override: bool,
}

fn parse_create(body: Option<&Value>, response: &'static str) -> Result<CreateSpec, ApiError> {
    let bad = |field: &str, problem: String| {
        ApiError::v4(
            400,
            "INVALID_REQUEST",
            format!("{field}: {problem}"),
            response,
        )
    };
    let obj = body.and_then(Value::as_object).ok_or_else(|| {
        bad(
            "body",
            "a JSON object (vmm.v4.content.Template) is required".into(),
        )
    })?;
    let string =
        |o: &Map<String, Value>, path: &str, key: &str| -> Result<Option<String>, ApiError> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(&format!("{path}{key}"), "must be a string".into())),
            }
        };
    let boolean =
        |o: &Map<String, Value>, path: &str, key: &str| -> Result<Option<bool>, ApiError> {
            match o.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Bool(b)) => Ok(Some(*b)),
                Some(_) => Err(bad(&format!("{path}{key}"), "must be a boolean".into())),
            }
        };
    let object_type = |o: &Map<String, Value>, path: &str, want: &str| -> Result<(), ApiError> {
        match string(o, path, "$objectType")? {
            Some(t) if t != want => Err(bad(
                &format!("{path}$objectType"),
                format!("'{t}' is not {want}"),
            )),
            _ => Ok(()),
        }
    };
    object_type(obj, "", "vmm.v4.content.Template")?;
    let name = string(obj, "", "templateName")?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| bad("templateName", "is required and must not be empty".into()))?;
    let description = string(obj, "", "templateDescription")?.unwrap_or_default();
    let spec = match obj.get("templateVersionSpec") {
        Some(Value::Object(m)) => m,
        _ => {
            return Err(bad(
                "templateVersionSpec",
                "is required (a vmm.v4.content.TemplateVersionSpec)".into(),
            ))
        }
    };
    let sp = "templateVersionSpec.";
    object_type(spec, sp, "vmm.v4.content.TemplateVersionSpec")?;
    if let Some(false) = boolean(spec, sp, "isActiveVersion")? {
        return Err(bad(
            "templateVersionSpec.isActiveVersion",
            "the first version of a template must be active".into(),
        ));
    }
    let gc_override = boolean(spec, sp, "isGcOverrideEnabled")?.unwrap_or(false);
    let version_name =
        string(spec, sp, "versionName")?.unwrap_or_else(|| DEFAULT_VERSION_NAME.into());
    let version_description = string(spec, sp, "versionDescription")?.unwrap_or_default();
    let source = match spec.get("versionSource") {
        Some(Value::Object(m)) => m,
        _ => {
            return Err(bad(
                "templateVersionSpec.versionSource",
                "is required (a vmm.v4.content.TemplateVmReference)".into(),
            ))
        }
    };
    let vp = "templateVersionSpec.versionSource.";
    object_type(source, vp, "vmm.v4.content.TemplateVmReference")?;
    let vm = string(source, vp, "extId")?.ok_or_else(|| {
        bad(
            "templateVersionSpec.versionSource.extId",
            "is required".into(),
        )
    })?;
    let vm_uuid = parse_uuid(&vm).ok_or_else(|| {
        bad(
            "templateVersionSpec.versionSource.extId",
            format!("'{vm}' is not a valid UUID"),
        )
    })?;
    Ok(CreateSpec {
        name,
        description,
        vm_uuid,
        version_name,
        version_description,
        gc_override,
    })
}

/// The part of the v4 `vmm.v4.ahv.config.Vm` a template shows of its copied VM.
fn vm_spec(hw: &Hardware) -> Value {
    let disks: Vec<Value> = hw
        .disks
        .iter()
        .map(|d| {
            json!({
                "$objectType": "vmm.v4.ahv.config.Disk",
                "diskAddress": {"$objectType": "vmm.v4.ahv.config.DiskAddress", "busType": d.adapter, "index": d.index},
                "backingInfo": {"$objectType": "vmm.v4.ahv.config.VmDisk", "diskSizeBytes": d.size},
            })
        })
        .collect();
    json!({
        "$objectType": "vmm.v4.ahv.config.Vm",
        "name": hw.name,
        "numSockets": hw.sockets,
        "numCoresPerSocket": hw.vcpus_per_socket,
        "numThreadsPerCore": hw.threads_per_core,
        "memorySizeBytes": hw.memory_mib.saturating_mul(1 << 20),
        "disks": disks,
    })
}

impl Store {
    /// Renders a template.
    fn render_template(&self, t: &Template) -> Value {
        let mut version = json!({
            "$objectType": "vmm.v4.content.TemplateVersionSpec",
            "extId": t.version_ext_id,
            "versionName": t.version_name,
            "versionDescription": t.version_description,
            "isActiveVersion": true,
            "isGcOverrideEnabled": t.gc_override,
            "createTime": self.ts(t.created),
        });
        if let (Some(hw), Some(m)) = (&t.vm, version.as_object_mut()) {
            m.insert("vmSpec".into(), vm_spec(hw));
        }
        json!({
            "$objectType": "vmm.v4.content.Template",
            "extId": t.ext_id,
            "templateName": t.name,
            "templateDescription": t.description,
            "createTime": self.ts(t.created),
            "updateTime": self.ts(t.updated),
            "createdBy": {"extId": ADMIN_UUID},
            "templateVersionSpec": version,
        })
    }

    /// Dispatches one v4 call. `body` is the parsed JSON body of a create.
    pub fn handle_v4(
        &mut self,
        now: Duration,
        route: &Route,
        req: &V4Request,
        body: Option<&Value>,
        fault: Option<&TaskFault>,
    ) -> Result<V4Reply, ApiError> {
        self.tick(now);
        let response = route
            .v4_response()
            .unwrap_or(crate::routes::V4_GENERIC_RESPONSE);
        let result = match route {
            Route::TemplateCreate => self.create_template(now, req, body, fault, response),
            Route::TemplateList => self.list_templates(req, response),
            Route::TemplateGet(id) => self.get_template(id, response),
            Route::TemplateDelete(id) => self.delete_template(now, id, req, fault, response),
            Route::ConsoleToken(vm) => self.generate_console_token(now, vm, req, fault),
            Route::V4Task(id) => self.get_task_v4(now, id),
            _ => Err(ApiError::new(
                500,
                "INTERNAL_ERROR",
                "v3 calls are answered by Store::handle",
            )),
        };
        result.map_err(|e| e.in_v4(response))
    }

    /// The `NTNX-Request-Id` of a mutation: required, a UUID; Some(reply) when it was answered
    /// before for the same call.
    pub(super) fn request_id(
        &self,
        req: &V4Request,
        call: &str,
        response: &'static str,
    ) -> Result<(String, Option<V4Reply>), ApiError> {
        let id = req.request_id.as_deref().map(str::trim).unwrap_or("");
        if id.is_empty() {
            return Err(ApiError::v4(
                400,
                "INVALID_REQUEST",
                "The NTNX-Request-Id header is required on this request",
                response,
            ));
        }
        let id = parse_uuid(id).ok_or_else(|| {
            ApiError::v4(
                400,
                "INVALID_REQUEST",
                format!("NTNX-Request-Id '{id}' is not a UUID"),
                response,
            )
        })?;
        match self.request_ids.iter().find(|a| a.request_id == id) {
            Some(a) if a.call == call => Ok((id, Some(a.reply.clone()))),
            Some(a) => Err(ApiError::v4(
                409,
                "INVALID_REQUEST",
                format!(
                    "NTNX-Request-Id {id} was already used for another request ({})",
                    a.call
                ),
                response,
            )),
            None => Ok((id, None)),
        }
    }

    pub(super) fn remember(&mut self, request_id: String, call: String, reply: &V4Reply) {
        if self.request_ids.len() >= MAX_REQUEST_IDS {
            self.request_ids.pop_front();
        }
        self.request_ids.push_back(Answered {
            request_id,
            call,
            reply: reply.clone(),
        });
    }

    fn create_template(
        &mut self,
        now: Duration,
        req: &V4Request,
        body: Option<&Value>,
        fault: Option<&TaskFault>,
        response: &'static str,
    ) -> Result<V4Reply, ApiError> {
        let call = "POST templates".to_string();
        let (request_id, replay) = self.request_id(req, &call, response)?;
        if let Some(r) = replay {
            return Ok(r);
        }
        let spec = parse_create(body, response)?;
        let vm = self
            .vms
            .iter()
            .find(|v| v.core.uuid == spec.vm_uuid)
            .ok_or_else(|| {
                ApiError::v4(
                    404,
                    "ENTITY_NOT_FOUND",
                    format!(
                        "VM {} (templateVersionSpec.versionSource.extId) does not exist",
                        spec.vm_uuid
                    ),
                    response,
                )
            })?;
        if vm.core.deleting() {
            return Err(ApiError::v4(
                409,
                "CONCURRENT_REQUESTS_NOT_ALLOWED",
                format!("VM {} is being deleted", spec.vm_uuid),
                response,
            ));
        }
        let after = vm.core.in_flight.last().map(|(t, _)| t.clone());
        let ext_id = uuid::Uuid::new_v4().to_string();
        let task = self.new_task(
            now,
            NewTask {
                op: Op::CreateTemplate,
                entity_uuid: ext_id.clone(),
                entity_name: spec.name.clone(),
                after,
                cluster: None,
                duration: self.cfg.task_duration,
                failure: None,
                effect: Effect::TemplateReady {
                    ext_id: ext_id.clone(),
                },
                detail: Some(format!("template {}", spec.name)),
            },
            fault,
        );
        self.templates.push(Template {
            ext_id,
            name: spec.name,
            description: spec.description,
            vm_uuid: spec.vm_uuid,
            version_ext_id: uuid::Uuid::new_v4().to_string(),
            version_name: spec.version_name,
            version_description: spec.version_description,
            gc_override: spec.gc_override,
            created: now,
            updated: now,
            vm: None,
            deleting: None,
            revision: 0,
        });
        let reply = V4Reply {
            status: 202,
            body: task_reference(response, &task),
            etag: None,
        };
        self.remember(request_id, call, &reply);
        Ok(reply)
    }

    fn list_templates(&self, req: &V4Request, response: &'static str) -> Result<V4Reply, ApiError> {
        let q = parse_list_query(req.query.as_deref(), FILTERABLE).map_err(|e| {
            let group = match e {
                QueryError::Unsupported(_) => "UNSUPPORTED_QUERY",
                _ => "INVALID_REQUEST",
            };
            ApiError::v4(400, group, e.to_string(), response)
        })?;
        let matched: Vec<&Template> = self
            .templates
            .iter()
            .filter(|t| t.visible())
            .filter(|t| match &q.filter {
                None => true,
                Some(f) if f.property == "extId" => {
                    parse_uuid(&f.value).as_deref() == Some(t.ext_id.as_str())
                }
                Some(f) => t.name == f.value,
            })
            .collect();
        let total = matched.len() as u64;
        let skip = q.page.saturating_mul(q.limit);
        let data: Vec<Value> = matched
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(q.limit).unwrap_or(usize::MAX))
            .map(|t| self.render_template(t))
            .collect();
        let mut meta = metadata(true);
        if let Some(m) = meta.as_object_mut() {
            m.insert("totalAvailableResults".into(), json!(total));
        }
        let mut body = Map::new();
        body.insert("$objectType".into(), json!(response));
        // v4 convention: no `data` at all when nothing matches.
        if !data.is_empty() {
            body.insert("data".into(), Value::Array(data));
        }
        body.insert("metadata".into(), meta);
        Ok(V4Reply {
            status: 200,
            body: Value::Object(body),
            etag: None,
        })
    }

    fn visible_template(
        &self,
        ext_id: &str,
        response: &'static str,
    ) -> Result<&Template, ApiError> {
        self.templates
            .iter()
            .find(|t| t.ext_id == ext_id && t.visible())
            .ok_or_else(|| {
                ApiError::v4(
                    404,
                    "ENTITY_NOT_FOUND",
                    format!("Template {ext_id} does not exist."),
                    response,
                )
            })
    }

    fn get_template(&self, ext_id: &str, response: &'static str) -> Result<V4Reply, ApiError> {
        let t = self.visible_template(ext_id, response)?;
        Ok(V4Reply {
            status: 200,
            body: json!({
                "$objectType": response,
                "data": self.render_template(t),
                "metadata": metadata(false),
            }),
            etag: Some(t.etag()),
        })
    }

    fn delete_template(
        &mut self,
        now: Duration,
        ext_id: &str,
        req: &V4Request,
        fault: Option<&TaskFault>,
        response: &'static str,
    ) -> Result<V4Reply, ApiError> {
        let call = format!("DELETE templates/{ext_id}");
        let (request_id, replay) = self.request_id(req, &call, response)?;
        if let Some(r) = replay {
            return Ok(r);
        }
        let t = self.visible_template(ext_id, response)?;
        if let Some(given) = req.if_match.as_deref().map(str::trim) {
            let etag = t.etag();
            if given != "*" && given.trim_matches('"') != etag {
                return Err(ApiError::v4(
                    412,
                    "PRECONDITION_FAILED",
                    format!(
                        "If-Match '{given}' does not match the current ETag of template {ext_id}"
                    ),
                    response,
                ));
            }
        }
        let task = match &t.deleting {
            Some(task) => task.clone(),
            None => {
                let name = t.name.clone();
                let task = self.new_task(
                    now,
                    NewTask {
                        op: Op::DeleteTemplate,
                        entity_uuid: ext_id.to_string(),
                        entity_name: name,
                        after: None,
                        cluster: None,
                        duration: self.cfg.task_duration,
                        failure: None,
                        effect: Effect::TemplateDelete {
                            ext_id: ext_id.to_string(),
                        },
                        detail: None,
                    },
                    fault,
                );
                if let Some(t) = self.templates.iter_mut().find(|t| t.ext_id == ext_id) {
                    t.deleting = Some(task.clone());
                    t.updated = now;
                }
                task
            }
        };
        let reply = V4Reply {
            status: 202,
            body: task_reference(response, &task),
            etag: None,
        };
        self.remember(request_id, call, &reply);
        Ok(reply)
    }

    /// Applies a finished template task; returns a failure the task turned out to have.
    pub(crate) fn finish_template_task(&mut self, task: &Task, at: Duration) -> Option<Failure> {
        match &task.effect {
            Effect::TemplateReady { ext_id } => {
                let pos = self.templates.iter().position(|t| &t.ext_id == ext_id)?;
                if task.failure.is_some() {
                    self.templates.remove(pos);
                    return None;
                }
                let vm_uuid = self.templates.get(pos)?.vm_uuid.clone();
                let hw = self
                    .vms
                    .iter()
                    .find(|v| v.core.uuid == vm_uuid)
                    .and_then(|v| v.hardware());
                let Some(hw) = hw else {
                    let name = self.templates.remove(pos).name;
                    return Some(Failure::failed(format!(
                        "ENTITY_NOT_FOUND: VM {vm_uuid} no longer exists (or was never created), so template {name} could not be created"
                    )));
                };
                if let Some(t) = self.templates.get_mut(pos) {
                    t.vm = Some(hw);
                    t.created = at;
                    t.updated = at;
                }
                None
            }
            Effect::TemplateDelete { ext_id } => {
                let pos = self.templates.iter().position(|t| &t.ext_id == ext_id)?;
                if task.failure.is_some() {
                    if let Some(t) = self.templates.get_mut(pos) {
                        t.deleting = None;
                        t.updated = at;
                    }
                } else {
                    self.templates.remove(pos);
                }
                None
            }
            _ => None,
        }
    }
}
