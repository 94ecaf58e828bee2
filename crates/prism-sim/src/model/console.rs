//! VM consoles in the model: the v4 console token (`POST
//! /api/vmm/v4.{2,3}/ahv/config/vms/{extId}/$actions/generate-console-token`, a task whose
//! `completionDetails` carry `VmConsoleToken` and `WsUri`), the v4 view of tasks
//! (`GET /api/prism/v4.x/config/tasks/{extId}`), and the checks made before a console websocket
//! is served.
//!
//! Confirmed (prism-go-client's `GenerateConsoleToken`, vmm-go-client v4.2+): the path, the
//! task reference answer, the completion detail names, `operation` `GenerateVmConsoleToken`.
//! GUESSES, each because no real answer has been seen: the token's form (a JWT-shaped opaque
//! string), its lifetime ([`TOKEN_TTL`]), `WsUri` being the v3 proxy path (the Go plugin's own
//! test uses that shape), a powered-off VM failing the task rather than the request, and an
//! unknown VM being 404 `ENTITY_NOT_FOUND`.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{json, Value};

use super::task::{Effect, Op, Task};
use super::template::{metadata, task_reference, TASK_EXT_ID_PREFIX};
use super::{NewTask, Store, TaskFault, V4Reply, V4Request, ADMIN_UUID};
use crate::model::json::parse_uuid;
use crate::prism_error::ApiError;

/// `$objectType` of the action's answer.
pub const TOKEN_RESPONSE: &str = "vmm.v4.ahv.config.GenerateConsoleTokenApiResponse";
/// `$objectType` of a v4 task answer.
pub const TASK_RESPONSE: &str = "prism.v4.config.GetTaskApiResponse";
/// How long a console token opens a websocket. GUESS: Nutanix calls it short-lived.
pub const TOKEN_TTL: Duration = Duration::from_secs(600);
/// Tokens remembered (the oldest are forgotten first).
const MAX_TOKENS: usize = 10_000;

/// A token handed out by a console-token task.
#[derive(Debug, Clone)]
pub(crate) struct ConsoleToken {
    pub token: String,
    pub vm_uuid: String,
    pub task_uuid: String,
    pub created: Duration,
}

/// What a console websocket needs to know about its VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleVm {
    /// VM name (the RFB desktop name).
    pub name: String,
    /// Its cluster.
    pub cluster_uuid: String,
    /// Whether it is powered on (a powered-off VM has no console).
    pub powered_on: bool,
}

/// The websocket path a token is for. GUESS: the v3 proxy path.
pub fn ws_uri(vm_uuid: &str) -> String {
    format!("/vnc/vm/{vm_uuid}/proxy")
}

/// A JWT-shaped token: header, claims (the VM and a serial), random signature. GUESS: real
/// tokens are JWTs whose claims are not documented.
fn new_token(vm_uuid: &str, serial: usize) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = b64.encode(json!({"vm": vm_uuid, "n": serial}).to_string());
    let sig: [u8; 32] = rand::random();
    format!("{header}.{claims}.{}", b64.encode(sig))
}

impl Store {
    /// The v4 console-token action.
    pub(crate) fn generate_console_token(
        &mut self,
        now: Duration,
        vm_uuid: &str,
        req: &V4Request,
        fault: Option<&TaskFault>,
    ) -> Result<V4Reply, ApiError> {
        let call = format!("POST generate-console-token {vm_uuid}");
        let (request_id, replay) = self.request_id(req, &call, TOKEN_RESPONSE)?;
        if let Some(r) = replay {
            return Ok(r);
        }
        let vm = self
            .vms
            .iter()
            .find(|v| v.core.uuid == vm_uuid && v.core.applied.is_some())
            .ok_or_else(|| {
                ApiError::v4(
                    404,
                    "ENTITY_NOT_FOUND",
                    format!("VM {vm_uuid} does not exist"),
                    TOKEN_RESPONSE,
                )
            })?;
        let failure = (!vm.power_on).then(|| {
            format!("VM {vm_uuid} is powered off; its console is available only while it runs")
        });
        let name = vm.core.name();
        let cluster = Some((vm.cluster_uuid.clone(), self.cluster_name(&vm.cluster_uuid)));
        let task = self.new_task(
            now,
            NewTask {
                op: Op::GenerateConsoleToken,
                entity_uuid: vm_uuid.to_string(),
                entity_name: name,
                after: None,
                cluster,
                duration: self.cfg.task_duration / 5,
                failure,
                effect: Effect::None,
                detail: None,
            },
            fault,
        );
        if self.console_tokens.len() >= MAX_TOKENS {
            self.console_tokens.remove(0);
        }
        self.console_tokens.push(ConsoleToken {
            token: new_token(vm_uuid, self.console_tokens.len()),
            vm_uuid: vm_uuid.to_string(),
            task_uuid: task.clone(),
            created: now,
        });
        let reply = V4Reply {
            status: 202,
            body: task_reference(TOKEN_RESPONSE, &task),
            etag: None,
        };
        self.remember(request_id, call, &reply);
        Ok(reply)
    }

    fn cluster_name(&self, uuid: &str) -> String {
        self.inv
            .cluster(uuid)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }

    /// The VM a valid token opens, if the token's task succeeded and it has not expired.
    pub fn console_token_vm(&mut self, now: Duration, token: &str) -> Option<String> {
        self.tick(now);
        let t = self.console_tokens.iter().find(|t| t.token == token)?;
        if now.saturating_sub(t.created) > TOKEN_TTL {
            return None;
        }
        let task = self.tasks.iter().find(|x| x.uuid == t.task_uuid)?;
        (task.done.is_some() && task.failure.is_none()).then(|| t.vm_uuid.clone())
    }

    /// The VM behind a console request; None when it does not exist (or is not created yet).
    pub fn console_vm(&mut self, now: Duration, vm_uuid: &str) -> Option<ConsoleVm> {
        self.tick(now);
        let vm = self
            .vms
            .iter()
            .find(|v| v.core.uuid == vm_uuid && v.core.applied.is_some())?;
        Some(ConsoleVm {
            name: vm.core.name(),
            cluster_uuid: vm.cluster_uuid.clone(),
            powered_on: vm.power_on,
        })
    }

    /// `GET /api/prism/v4.x/config/tasks/{extId}`: any task in the v4 shape.
    pub(crate) fn get_task_v4(&mut self, now: Duration, ext_id: &str) -> Result<V4Reply, ApiError> {
        self.tick(now);
        let uuid = ext_id
            .rsplit(':')
            .next()
            .and_then(parse_uuid)
            .ok_or_else(|| ApiError::invalid_uuid("task", ext_id).in_v4(TASK_RESPONSE))?;
        let task = self.tasks.iter().find(|t| t.uuid == uuid).ok_or_else(|| {
            ApiError::v4(
                404,
                "ENTITY_NOT_FOUND",
                format!("Task {ext_id} does not exist"),
                TASK_RESPONSE,
            )
        })?;
        let data = self.render_task_v4(task, now);
        Ok(V4Reply {
            status: 200,
            body: json!({"$objectType": TASK_RESPONSE, "data": data, "metadata": metadata(false)}),
            etag: None,
        })
    }

    fn render_task_v4(&self, task: &Task, now: Duration) -> Value {
        // v3 ABORTED and CANCELLED are v4 CANCELED; INVALID_UUID has no v4 twin (GUESS: FAILED).
        let status = match task.status(now) {
            "ABORTED" | "CANCELLED" => "CANCELED",
            "INVALID_UUID" => "FAILED",
            other => other,
        };
        let mut completion = Vec::new();
        if status == "SUCCEEDED" && task.op == Op::GenerateConsoleToken {
            if let Some(t) = self
                .console_tokens
                .iter()
                .find(|t| t.task_uuid == task.uuid)
            {
                completion.push(json!({"$objectType": "common.v1.config.KVPair", "name": "VmConsoleToken", "value": t.token}));
                completion.push(json!({"$objectType": "common.v1.config.KVPair", "name": "WsUri", "value": ws_uri(&t.vm_uuid)}));
            }
        }
        let errors: Vec<Value> = match (&task.failure, task.done) {
            (Some(f), Some(_)) => vec![json!({
                "$objectType": "prism.v4.config.AppMessage",
                "message": f.message,
                "severity": "ERROR",
            })],
            _ => Vec::new(),
        };
        let mut v = json!({
            "$objectType": "prism.v4.config.Task",
            "extId": format!("{TASK_EXT_ID_PREFIX}{}", task.uuid),
            "operation": task.op.v4_operation(),
            "operationDescription": task.op.operation_type(),
            "status": status,
            "progressPercentage": task.percentage(now),
            "createdTime": self.ts(task.created),
            "lastUpdatedTime": self.ts(task.done.unwrap_or(now)),
            "entitiesAffected": [{"extId": task.entity_uuid, "rel": task.op.v4_rel(), "name": task.entity_name}],
            "completionDetails": completion,
            "errorMessages": errors,
            "isCancelable": false,
            "ownedBy": {"extId": ADMIN_UUID, "name": "admin"},
        });
        if let Some(obj) = v.as_object_mut() {
            if let Some((uuid, _)) = &task.cluster {
                obj.insert("clusterExtIds".into(), json!([uuid]));
            }
            if let Some(d) = task.done {
                obj.insert("completedTime".into(), Value::String(self.ts(d)));
            }
            if let Some(f) = task.done.and(task.failure.as_ref()) {
                obj.insert(
                    "legacyErrorMessage".into(),
                    Value::String(f.message.clone()),
                );
            }
        }
        v
    }
}
