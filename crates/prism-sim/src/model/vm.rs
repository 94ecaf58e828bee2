//! VMs: spec validation and normalisation (what Prism fills in: disk and NIC UUIDs, sizes, MAC
//! addresses, device indices, defaults), the create/update/delete lifecycle, power transitions
//! and the IP a powered-on VM reports.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::json::{parse_uuid, reference, Reader};
use super::task::{Effect, Op, Task};
use super::{spec_name, Core, NewTask, Reply, Store, TaskFault};
use crate::prism_error::{ApiError, API_VERSION};

const MIB: u64 = 1 << 20;

/// A VM and its actual (not desired) runtime state.
#[derive(Debug, Clone)]
pub(crate) struct Vm {
    pub core: Core,
    pub cluster_uuid: String,
    pub host_uuid: Option<String>,
    /// Actual power state.
    pub power_on: bool,
    /// When the guest starts reporting its IP (set when a power-on completes).
    pub ip_at: Option<Duration>,
}

/// What an export or a template copies from a VM: its applied hardware.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hardware {
    pub name: String,
    pub sockets: i64,
    pub vcpus_per_socket: i64,
    pub threads_per_core: i64,
    pub memory_mib: i64,
    /// Data disks (device type DISK; CD-ROMs are left out), in `disk_list` order.
    pub disks: Vec<HwDisk>,
}

/// One data disk of [`Hardware`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HwDisk {
    pub uuid: String,
    pub size: u64,
    pub adapter: String,
    pub index: i64,
}

impl Vm {
    /// The link-local (APIPA, 169.254/16) address a Windows guest gives itself while DHCP has
    /// not answered, derived from the VM's UUID. The simulator takes a VM whose applied spec
    /// carries sysprep guest customization for a Windows guest, and reports this address from
    /// power-on, before and then alongside its real one, so builds must skip it.
    ///
    /// GUESS: that Prism lists the stale APIPA address before the DHCP one on the same NIC (it
    /// reports what the guest tools or ARP learnt; the order was not observed on a cluster).
    pub(crate) fn link_local(&self) -> Option<IpAddr> {
        self.core
            .applied
            .as_ref()?
            .pointer("/resources/guest_customization/sysprep")?;
        let h = self
            .core
            .uuid
            .bytes()
            .fold(0u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
        let octet = |v: u32| u8::try_from(v % 254 + 1).unwrap_or(1);
        Some(IpAddr::V4(std::net::Ipv4Addr::new(
            169,
            254,
            octet(h),
            octet(h / 254),
        )))
    }

    /// The applied hardware; None until the VM's create task has succeeded.
    pub fn hardware(&self) -> Option<Hardware> {
        let applied = self.core.applied.as_ref()?;
        let res = applied.get("resources");
        let int = |k: &str, default: i64| {
            res.and_then(|r| r.get(k))
                .and_then(Value::as_i64)
                .unwrap_or(default)
        };
        let disks = res
            .and_then(|r| r.get("disk_list"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|d| {
                d.pointer("/device_properties/device_type")
                    .and_then(Value::as_str)
                    .unwrap_or("DISK")
                    == "DISK"
            })
            .map(|d| HwDisk {
                uuid: d
                    .get("uuid")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                size: d
                    .get("disk_size_bytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                adapter: d
                    .pointer("/device_properties/disk_address/adapter_type")
                    .and_then(Value::as_str)
                    .unwrap_or("SCSI")
                    .to_string(),
                index: d
                    .pointer("/device_properties/disk_address/device_index")
                    .and_then(Value::as_i64)
                    .unwrap_or(0),
            })
            .collect();
        Some(Hardware {
            name: spec_name(applied),
            sockets: int("num_sockets", 1),
            vcpus_per_socket: int("num_vcpus_per_socket", 1),
            threads_per_core: int("num_threads_per_core", 1),
            memory_mib: int("memory_size_mib", 0),
            disks,
        })
    }

    /// GPU device ids of the applied configuration.
    pub fn gpu_device_ids(&self) -> Vec<i64> {
        self.core
            .applied
            .as_ref()
            .and_then(|s| s.pointer("/resources/gpu_list"))
            .and_then(Value::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(|g| g.get("device_id").and_then(Value::as_i64))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether any disk (desired or applied) is cloned from `image_uuid`.
    pub fn uses_image(&self, image_uuid: &str) -> bool {
        [Some(&self.core.spec), self.core.applied.as_ref()]
            .into_iter()
            .flatten()
            .any(|s| {
                s.pointer("/resources/disk_list")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|d| {
                        d.pointer("/data_source_reference/kind")
                            .and_then(Value::as_str)
                            == Some("image")
                            && d.pointer("/data_source_reference/uuid")
                                .and_then(Value::as_str)
                                .and_then(parse_uuid)
                                .as_deref()
                                == Some(image_uuid)
                    })
            })
    }
}

/// Result of validating a VM spec.
struct NormVm {
    spec: Value,
    cluster_uuid: String,
    host_uuid: Option<String>,
    power_on: bool,
    soft_power: bool,
    failure: Option<String>,
}

struct DiskIn {
    path: String,
    obj: Map<String, Value>,
    uuid: String,
    device_type: String,
    adapter: String,
    index: Option<i64>,
    size: u64,
    source: Option<(String, String)>,
}

impl Store {
    pub(crate) fn vm_index(&self, uuid: &str) -> Result<usize, ApiError> {
        self.vms
            .iter()
            .position(|v| v.core.uuid == uuid)
            .ok_or_else(|| ApiError::not_found("vm", uuid))
    }

    /// The IP the VM reports at `now`, if any.
    pub(crate) fn vm_ip_at(&self, vm: &Vm, now: Duration) -> Option<IpAddr> {
        match vm.ip_at {
            Some(t) if vm.power_on && now >= t => self.cfg.vm_ip,
            _ => None,
        }
    }

    /// Every address the first connected NIC of a powered-on VM reports at `now`, in order:
    /// a Windows guest's link-local (APIPA) address first (see [`Vm::link_local`]), then the
    /// configured one once it has come.
    pub(crate) fn vm_ips_at(&self, vm: &Vm, now: Duration) -> Vec<IpAddr> {
        let apipa = vm.power_on.then(|| vm.link_local()).flatten();
        apipa.into_iter().chain(self.vm_ip_at(vm, now)).collect()
    }

    /// A guest shutting itself down (sysprep /shutdown, `shutdown /s`, Stop-Computer): every
    /// powered-on VM that reports `ip` (any powered-on VM when `ip` is None) goes OFF at once,
    /// without a task, as when the guest pulls its own power. Returns their UUIDs.
    ///
    /// GUESS: that Prism Central then shows power_state OFF in the spec as well as the status
    /// and bumps spec_version (its intent engine reconciles out-of-band power changes, so a
    /// later PUT with the old spec does not power the VM back on); not observed on a cluster.
    pub(crate) fn guest_shutdown(&mut self, now: Duration, ip: Option<IpAddr>) -> Vec<String> {
        self.tick(now);
        let reporting: Vec<bool> = self
            .vms
            .iter()
            .map(|v| v.power_on && ip.is_none_or(|ip| self.vm_ips_at(v, now).contains(&ip)))
            .collect();
        let mut off = Vec::new();
        for (vm, _) in self.vms.iter_mut().zip(reporting).filter(|(_, r)| *r) {
            vm.power_on = false;
            vm.ip_at = None;
            for spec in [Some(&mut vm.core.spec), vm.core.applied.as_mut()]
                .into_iter()
                .flatten()
            {
                if let Some(res) = spec.get_mut("resources").and_then(Value::as_object_mut) {
                    res.insert("power_state".into(), json!("OFF"));
                }
            }
            vm.core.spec_version = vm.core.spec_version.saturating_add(1);
            vm.core.updated = now;
            off.push(vm.core.uuid.clone());
        }
        off
    }

    /// `GET /vms/{uuid}`.
    pub(crate) fn get_vm(&self, now: Duration, uuid: &str) -> Result<Value, ApiError> {
        let vm = self
            .vms
            .get(self.vm_index(uuid)?)
            .ok_or_else(|| ApiError::not_found("vm", uuid))?;
        let mut v = self.render_vm_entity(now, vm);
        if let Some(o) = v.as_object_mut() {
            o.insert("api_version".into(), json!(API_VERSION));
        }
        Ok(v)
    }

    /// `{metadata, spec, status}` of a VM.
    pub(crate) fn render_vm_entity(&self, now: Duration, vm: &Vm) -> Value {
        json!({
            "metadata": self.render_meta("vm", &vm.core),
            "spec": vm.core.spec,
            "status": self.render_vm_status(now, vm),
        })
    }

    fn render_vm_status(&self, now: Duration, vm: &Vm) -> Value {
        let mut st = Map::new();
        st.insert("state".into(), json!(vm.core.state()));
        let shown = vm.core.applied.as_ref().unwrap_or(&vm.core.spec);
        st.insert(
            "name".into(),
            shown.get("name").cloned().unwrap_or(Value::Null),
        );
        if let Some(d) = shown.get("description") {
            st.insert("description".into(), d.clone());
        }
        st.insert(
            "cluster_reference".into(),
            self.cluster_ref(&vm.cluster_uuid),
        );
        if let Some((t, _)) = vm.core.in_flight.last() {
            st.insert("execution_context".into(), json!({"task_uuid": t}));
        }
        if let Some(e) = &vm.core.error {
            st.insert(
                "message_list".into(),
                json!([{"message": e, "reason": reason_of(e)}]),
            );
        }
        let mut res = vm
            .core
            .applied
            .as_ref()
            .and_then(|a| a.get("resources"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if vm.core.applied.is_some() {
            res.insert(
                "power_state".into(),
                json!(if vm.power_on { "ON" } else { "OFF" }),
            );
            res.insert("hypervisor_type".into(), json!("AHV"));
            if let Some(h) = vm.host_uuid.as_ref().and_then(|h| self.inv.host(h)) {
                res.insert(
                    "host_reference".into(),
                    json!({"kind": "host", "uuid": h.uuid, "name": h.name}),
                );
            }
            let reported = self.vm_ips_at(vm, now);
            if let Some(Value::Array(nics)) = res.get_mut("nic_list") {
                let mut given = false;
                for nic in nics.iter_mut() {
                    let Some(n) = nic.as_object_mut() else {
                        continue;
                    };
                    let connected = n
                        .get("is_connected")
                        .and_then(Value::as_bool)
                        .unwrap_or(true);
                    let mut ips = Vec::new();
                    if connected && !given && !reported.is_empty() {
                        for ip in &reported {
                            ips.push(json!({"ip": ip.to_string(), "type": "LEARNED"}));
                        }
                        given = true;
                    } else if vm.power_on {
                        // Requested static addresses show up as assigned.
                        for e in n
                            .get("ip_endpoint_list")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                        {
                            if let Some(a) = e.get("ip") {
                                ips.push(json!({"ip": a, "type": "ASSIGNED"}));
                            }
                        }
                    }
                    n.insert("ip_endpoint_list".into(), Value::Array(ips));
                }
            }
        }
        st.insert("resources".into(), Value::Object(res));
        Value::Object(st)
    }

    /// `POST /vms`.
    pub(crate) fn create_vm(
        &mut self,
        now: Duration,
        body: Option<&Value>,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        let body =
            body.ok_or_else(|| ApiError::schema("vm", "spec", "'spec' is a required property"))?;
        let (meta, _) = self.parse_meta("vm", body, None)?;
        let top = Reader::new("vm", "", body)?;
        let spec = top
            .raw("spec")
            .ok_or_else(|| ApiError::schema("vm", "spec", "'spec' is a required property"))?;
        let uuid = self.requested_uuid(body, "vm")?;
        let norm = self.normalize_vm_spec(spec, None)?;
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
        let cluster_name = self
            .inv
            .cluster(&norm.cluster_uuid)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let task = self.new_task(
            now,
            NewTask {
                op: Op::CreateVm,
                entity_uuid: uuid.clone(),
                entity_name: core.name(),
                after: None,
                cluster: Some((norm.cluster_uuid.clone(), cluster_name)),
                duration: self.cfg.task_duration,
                failure: norm.failure,
                effect: Effect::VmApply {
                    spec: norm.spec,
                    spec_version: 0,
                    host: norm.host_uuid.clone(),
                },
                detail: None,
            },
            fault,
        );
        let mut vm = Vm {
            core,
            cluster_uuid: norm.cluster_uuid,
            host_uuid: norm.host_uuid,
            power_on: false,
            ip_at: None,
        };
        vm.core.in_flight.push((task.clone(), Op::CreateVm));
        let reply = self.accepted("vm", &vm.core, &task);
        self.vms.push(vm);
        Ok(reply)
    }

    /// The 202 body of create/update: metadata, the spec as sent, PENDING status.
    pub(crate) fn accepted(&self, kind: &str, core: &Core, task: &str) -> Reply {
        Reply {
            status: 202,
            body: json!({
                "api_version": API_VERSION,
                "metadata": self.render_meta(kind, core),
                "spec": core.spec,
                "status": {"state": "PENDING", "execution_context": {"task_uuid": task}},
            }),
        }
    }

    /// The 202 body of a delete.
    pub(crate) fn delete_accepted(&self, kind: &str, core: &Core, task: &str) -> Reply {
        Reply {
            status: 202,
            body: json!({
                "api_version": API_VERSION,
                "metadata": self.render_meta(kind, core),
                "spec": "",
                "status": {"state": "DELETE_PENDING", "execution_context": {"task_uuid": task}},
            }),
        }
    }

    /// `metadata.uuid` of a create request, if the client chose one; otherwise a fresh UUID.
    pub(crate) fn requested_uuid(
        &self,
        body: &Value,
        kind: &'static str,
    ) -> Result<String, ApiError> {
        let Some(u) = body.pointer("/metadata/uuid") else {
            return Ok(uuid::Uuid::new_v4().to_string());
        };
        let s = u
            .as_str()
            .ok_or_else(|| ApiError::schema(kind, "metadata.uuid", "not of type 'string'"))?;
        let uuid = parse_uuid(s).ok_or_else(|| {
            ApiError::schema(kind, "metadata.uuid", format!("'{s}' is not a valid UUID"))
        })?;
        let taken = self.vms.iter().any(|v| v.core.uuid == uuid)
            || self.images.iter().any(|i| i.core.uuid == uuid);
        if taken {
            return Err(ApiError::new(
                409,
                "ENTITY_ALREADY_EXISTS",
                format!("an entity with UUID {uuid} already exists"),
            )
            .with_kind(kind));
        }
        Ok(uuid)
    }

    /// Checks `metadata.spec_version` of a PUT against the current one.
    pub(crate) fn check_spec_version(
        kind: &'static str,
        core: &Core,
        given: Option<i64>,
    ) -> Result<(), ApiError> {
        match given {
            None => Err(ApiError::schema(
                kind,
                "metadata.spec_version",
                "'spec_version' is a required property",
            )),
            Some(g) if u64::try_from(g).ok() == Some(core.spec_version) => Ok(()),
            Some(g) => Err(ApiError::spec_version_conflict(
                kind,
                &core.uuid,
                Some(g),
                core.spec_version,
            )),
        }
    }

    /// `PUT /vms/{uuid}`.
    pub(crate) fn update_vm(
        &mut self,
        now: Duration,
        uuid: &str,
        body: Option<&Value>,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        let idx = self.vm_index(uuid)?;
        let body =
            body.ok_or_else(|| ApiError::schema("vm", "spec", "'spec' is a required property"))?;
        let (core, cluster_uuid, was_on) = match self.vms.get(idx) {
            Some(v) => (v.core.clone(), v.cluster_uuid.clone(), v.power_on),
            None => return Err(ApiError::not_found("vm", uuid)),
        };
        if core.deleting() {
            return Err(ApiError::being_deleted("vm", "VM", uuid));
        }
        let (meta, given) = self.parse_meta("vm", body, Some(&core.meta))?;
        Self::check_spec_version("vm", &core, given)?;
        let spec = body
            .get("spec")
            .filter(|s| !s.is_null())
            .ok_or_else(|| ApiError::schema("vm", "spec", "'spec' is a required property"))?;
        let previous = core.applied.clone().unwrap_or_else(|| core.spec.clone());
        let norm = self.normalize_vm_spec(spec, Some(&previous))?;
        if norm.cluster_uuid != cluster_uuid {
            return Err(ApiError::schema(
                "vm",
                "spec.cluster_reference",
                "the cluster of an existing VM cannot be changed",
            ));
        }
        let mut duration = self.cfg.task_duration;
        if was_on && !norm.power_on && norm.soft_power {
            // A guest shutdown takes longer than pulling the plug.
            duration = duration.saturating_mul(3);
        }
        let new_version = core.spec_version.saturating_add(1);
        let cluster_name = self
            .inv
            .cluster(&cluster_uuid)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let task = self.new_task(
            now,
            NewTask {
                op: Op::UpdateVm,
                entity_uuid: uuid.to_string(),
                entity_name: spec_name(spec),
                after: core.in_flight.last().map(|(t, _)| t.clone()),
                cluster: Some((cluster_uuid, cluster_name)),
                duration,
                failure: norm.failure,
                effect: Effect::VmApply {
                    spec: norm.spec,
                    spec_version: new_version,
                    host: norm.host_uuid,
                },
                detail: None,
            },
            fault,
        );
        let Some(vm) = self.vms.get_mut(idx) else {
            return Err(ApiError::not_found("vm", uuid));
        };
        vm.core
            .accept_update(spec.clone(), new_version, now, meta, &task, Op::UpdateVm);
        let core = vm.core.clone();
        Ok(self.accepted("vm", &core, &task))
    }

    /// `DELETE /vms/{uuid}`. A repeated delete answers with the delete task already running.
    pub(crate) fn delete_vm(
        &mut self,
        now: Duration,
        uuid: &str,
        fault: Option<&TaskFault>,
    ) -> Result<Reply, ApiError> {
        let idx = self.vm_index(uuid)?;
        let Some(vm) = self.vms.get(idx) else {
            return Err(ApiError::not_found("vm", uuid));
        };
        if let Some((t, _)) = vm.core.in_flight.iter().find(|(_, op)| op.is_delete()) {
            let (t, core) = (t.clone(), vm.core.clone());
            return Ok(self.delete_accepted("vm", &core, &t));
        }
        let core = vm.core.clone();
        let cluster_name = self
            .inv
            .cluster(&vm.cluster_uuid)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let cluster = Some((vm.cluster_uuid.clone(), cluster_name));
        let task = self.new_task(
            now,
            NewTask {
                op: Op::DeleteVm,
                entity_uuid: uuid.to_string(),
                entity_name: core.name(),
                after: core.in_flight.last().map(|(t, _)| t.clone()),
                cluster,
                duration: self.cfg.task_duration,
                failure: None,
                effect: Effect::VmDelete,
                detail: None,
            },
            fault,
        );
        if let Some(vm) = self.vms.get_mut(idx) {
            vm.core.in_flight.push((task.clone(), Op::DeleteVm));
        }
        Ok(self.delete_accepted("vm", &core, &task))
    }

    /// Applies a finished VM task.
    pub(crate) fn finish_vm_task(&mut self, task: &Task, at: Duration) {
        let ip_delay = self.cfg.ip_delay;
        let Some(pos) = self
            .vms
            .iter()
            .position(|v| v.core.uuid == task.entity_uuid)
        else {
            return;
        };
        let Some(vm) = self.vms.get_mut(pos) else {
            return;
        };
        vm.core.in_flight.retain(|(t, _)| t != &task.uuid);
        vm.core.updated = at;
        if let Some(failure) = &task.failure {
            if !task.op.is_delete() {
                vm.core.error = Some(failure.message.clone());
            }
            return;
        }
        match &task.effect {
            Effect::VmApply {
                spec,
                spec_version,
                host,
            } => {
                let on = spec
                    .pointer("/resources/power_state")
                    .and_then(Value::as_str)
                    == Some("ON");
                if on && !vm.power_on {
                    vm.ip_at = Some(at.saturating_add(ip_delay));
                } else if !on {
                    vm.ip_at = None;
                }
                vm.power_on = on;
                vm.host_uuid = host.clone();
                vm.core.applied = Some(spec.clone());
                if vm.core.spec_version == *spec_version {
                    vm.core.spec = spec.clone();
                }
                vm.core.error = None;
            }
            Effect::VmDelete => {
                self.vms.remove(pos);
            }
            _ => {}
        }
    }

    /// Validates a VM spec and fills in what Prism fills in.
    fn normalize_vm_spec(
        &mut self,
        spec: &Value,
        previous: Option<&Value>,
    ) -> Result<NormVm, ApiError> {
        let r = Reader::new("vm", "spec", spec)?;
        let name = r.req_str("name")?;
        if name.trim().is_empty() {
            return Err(r.error("name", "the VM name must not be empty"));
        }
        r.opt_str("description")?;
        let cluster_uuid = match reference(&r, "cluster_reference", &["cluster"])? {
            Some((_, u)) => {
                let c = self.inv.cluster(&u).ok_or_else(|| {
                    ApiError::bad_reference(
                        "vm",
                        "spec.cluster_reference",
                        format!("cluster {u} does not exist"),
                    )
                })?;
                if c.prism_central {
                    return Err(ApiError::bad_reference(
                        "vm",
                        "spec.cluster_reference",
                        format!(
                            "cluster {} ({u}) is Prism Central, which cannot host VMs",
                            c.name
                        ),
                    ));
                }
                u
            }
            None => self
                .inv
                .clusters
                .iter()
                .find(|c| !c.prism_central)
                .map(|c| c.uuid.clone())
                .ok_or_else(|| {
                    ApiError::new(
                        500,
                        "INTERNAL_ERROR",
                        "no Prism Element cluster to place the VM on",
                    )
                })?,
        };
        let res_v = r.raw("resources").ok_or_else(|| {
            ApiError::schema("vm", "spec.resources", "'resources' is a required property")
        })?;
        let res = Reader::new("vm", "spec.resources", res_v)?;
        let mut out = res.obj.clone();

        let sockets = res.opt_i64_min("num_sockets", 1)?.unwrap_or(1);
        let vcpus = res.opt_i64_min("num_vcpus_per_socket", 1)?.unwrap_or(1);
        let threads = res.opt_i64_min("num_threads_per_core", 1)?.unwrap_or(1);
        let memory = res.opt_i64_min("memory_size_mib", 1)?.unwrap_or(4096);
        out.insert("num_sockets".into(), json!(sockets));
        out.insert("num_vcpus_per_socket".into(), json!(vcpus));
        out.insert("num_threads_per_core".into(), json!(threads));
        out.insert("memory_size_mib".into(), json!(memory));
        let power = res.opt_enum("power_state", &["ON", "OFF"])?.unwrap_or("ON");
        out.insert("power_state".into(), json!(power));
        let mechanism = match res.opt_obj("power_state_mechanism")? {
            Some(m) => m
                .opt_enum("mechanism", &["HARD", "ACPI", "SOFT"])?
                .unwrap_or("HARD")
                .to_string(),
            None => "HARD".to_string(),
        };
        let mut psm = res
            .raw("power_state_mechanism")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        psm.insert("mechanism".into(), json!(mechanism));
        out.insert("power_state_mechanism".into(), Value::Object(psm));
        let machine = res
            .opt_enum("machine_type", &["PC", "PSERIES", "Q35"])?
            .unwrap_or("PC");
        out.insert("machine_type".into(), json!(machine));
        let mut boot = res
            .raw("boot_config")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(b) = res.opt_obj("boot_config")? {
            let bt = b
                .opt_enum("boot_type", &["LEGACY", "UEFI", "SECURE_BOOT"])?
                .unwrap_or("LEGACY");
            if bt == "SECURE_BOOT" && machine != "Q35" {
                return Err(b.error("boot_type", "SECURE_BOOT requires machine_type Q35"));
            }
            for (i, d) in b
                .opt_array("boot_device_order_list")?
                .into_iter()
                .flatten()
                .enumerate()
            {
                match d.as_str() {
                    Some("CDROM" | "DISK" | "NETWORK") => {}
                    _ => {
                        return Err(b.error(
                            &format!("boot_device_order_list[{i}]"),
                            format!("{d} is not one of [\"CDROM\", \"DISK\", \"NETWORK\"]"),
                        ))
                    }
                }
            }
            boot.insert("boot_type".into(), json!(bt));
        } else {
            boot.insert("boot_type".into(), json!("LEGACY"));
        }
        boot.entry("boot_device_order_list")
            .or_insert_with(|| json!(["CDROM", "DISK", "NETWORK"]));
        out.insert("boot_config".into(), Value::Object(boot));
        if res.opt_str("hardware_clock_timezone")?.is_none() {
            out.insert("hardware_clock_timezone".into(), json!("UTC"));
        }
        if res.opt_bool("vga_console_enabled")?.is_none() {
            out.insert("vga_console_enabled".into(), json!(true));
        }
        res.opt_bool("hardware_virtualization_enabled")?;
        if let Some(gc) = res.opt_obj("guest_customization")? {
            if let Some(ci) = gc.opt_obj("cloud_init")? {
                check_base64(&ci, "user_data")?;
                check_base64(&ci, "meta_data")?;
            }
            if let Some(sp) = gc.opt_obj("sysprep")? {
                check_base64(&sp, "unattend_xml")?;
                sp.opt_enum("install_type", &["FRESH", "PREPARED"])?;
            }
        }
        for (i, s) in res
            .opt_array("serial_port_list")?
            .into_iter()
            .flatten()
            .enumerate()
        {
            let sr = Reader::new("vm", &format!("spec.resources.serial_port_list[{i}]"), s)?;
            sr.opt_i64_min("index", 0)?;
            sr.opt_bool("is_connected")?;
        }

        let prev_disks: Vec<&Value> = previous
            .and_then(|p| p.pointer("/resources/disk_list"))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let disks = self.normalize_disks(&res, &prev_disks)?;
        out.insert("disk_list".into(), Value::Array(disks));
        let prev_nics: Vec<&Value> = previous
            .and_then(|p| p.pointer("/resources/nic_list"))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default();
        let nics = self.normalize_nics(&res, &cluster_uuid, &prev_nics)?;
        out.insert("nic_list".into(), Value::Array(nics));
        let (gpus, gpu_host) = self.normalize_gpus(&res, &cluster_uuid)?;
        out.insert("gpu_list".into(), Value::Array(gpus));
        out.entry("serial_port_list").or_insert_with(|| json!([]));

        let hosts: Vec<_> = self
            .inv
            .hosts
            .iter()
            .filter(|h| h.cluster_uuid == cluster_uuid)
            .collect();
        let host_uuid = gpu_host.or_else(|| hosts.first().map(|h| h.uuid.clone()));
        let mut failure = None;
        if let Some(max) = hosts.iter().map(|h| h.memory_capacity_mib).max() {
            if memory > max {
                failure = Some(format!(
                    "RESOURCE_SHORTAGE: Not enough memory on any host of cluster {cluster_uuid} for {memory} MiB (largest host has {max} MiB)"
                ));
            }
        }

        let mut spec_out = spec.as_object().cloned().unwrap_or_default();
        spec_out.insert("cluster_reference".into(), self.cluster_ref(&cluster_uuid));
        spec_out.insert("resources".into(), Value::Object(out));
        Ok(NormVm {
            spec: Value::Object(spec_out),
            cluster_uuid,
            host_uuid,
            power_on: power == "ON",
            soft_power: mechanism != "HARD",
            failure,
        })
    }

    fn normalize_disks(&self, res: &Reader<'_>, prev: &[&Value]) -> Result<Vec<Value>, ApiError> {
        let mut disks = Vec::new();
        for (i, d) in res
            .opt_array("disk_list")?
            .into_iter()
            .flatten()
            .enumerate()
        {
            let path = format!("spec.resources.disk_list[{i}]");
            let dr = Reader::new("vm", &path, d)?;
            let (device_type, adapter, index) = match dr.opt_obj("device_properties")? {
                Some(dp) => {
                    let ty = dp
                        .opt_enum("device_type", &["DISK", "CDROM"])?
                        .unwrap_or("DISK")
                        .to_string();
                    let default_adapter = if ty == "CDROM" { "IDE" } else { "SCSI" };
                    match dp.opt_obj("disk_address")? {
                        Some(a) => (
                            ty,
                            a.opt_enum("adapter_type", &["SCSI", "IDE", "SATA", "PCI", "SPAPR"])?
                                .unwrap_or(default_adapter)
                                .to_string(),
                            a.opt_i64_min("device_index", 0)?,
                        ),
                        None => (ty, default_adapter.to_string(), None),
                    }
                }
                None => ("DISK".to_string(), "SCSI".to_string(), None),
            };
            let uuid = match dr.opt_str("uuid")? {
                Some(u) => parse_uuid(u)
                    .ok_or_else(|| dr.error("uuid", format!("'{u}' is not a valid UUID")))?,
                None => uuid::Uuid::new_v4().to_string(),
            };
            let source = reference(&dr, "data_source_reference", &["image", "vm_disk"])?;
            let prev_disk = prev.iter().find(|p| {
                p.get("uuid")
                    .and_then(Value::as_str)
                    .and_then(parse_uuid)
                    .as_deref()
                    == Some(uuid.as_str())
            });
            let prev_size = prev_disk
                .and_then(|p| p.get("disk_size_bytes"))
                .and_then(Value::as_u64);
            let prev_source = prev_disk.and_then(|p| p.get("data_source_reference"));
            let same_source = match (&source, prev_source) {
                (Some((_, u)), Some(ps)) => {
                    ps.get("uuid")
                        .and_then(Value::as_str)
                        .and_then(parse_uuid)
                        .as_deref()
                        == Some(u.as_str())
                }
                _ => false,
            };
            let source_size = match &source {
                // A disk already cloned keeps its data even if the source went away.
                Some(_) if same_source => prev_size,
                Some((kind, u)) if kind == "image" => Some(self.image_size_for_disk(&path, u)?),
                Some((_, u)) => Some(self.vm_disk_size(u).ok_or_else(|| {
                    ApiError::bad_reference(
                        "vm",
                        &format!("{path}.data_source_reference"),
                        format!("vm_disk {u} does not exist"),
                    )
                })?),
                None => None,
            };
            let bytes = dr.opt_i64_min("disk_size_bytes", 0)?.map(|b| b as u64);
            let mib = dr.opt_i64_min("disk_size_mib", 0)?.map(|m| m as u64);
            let requested =
                match (bytes, mib) {
                    (Some(b), Some(m)) if prev_size == Some(b) && m.checked_mul(MIB) != Some(b) => {
                        // disk_size_mib changed in a PUT that carried the old disk_size_bytes: the MiB value is the new intent.
                        Some(
                            m.checked_mul(MIB)
                                .ok_or_else(|| dr.error("disk_size_mib", "size overflows"))?,
                        )
                    }
                    (Some(b), _) => Some(b),
                    (None, Some(m)) => Some(m.checked_mul(MIB).ok_or_else(|| {
                        dr.error("disk_size_mib", format!("{m} MiB is too large"))
                    })?),
                    (None, None) => None,
                };
            let size = match (requested, source_size) {
                (Some(r), Some(s)) if r < s && device_type == "DISK" && r != 0 => {
                    return Err(dr.error(
                        "disk_size_mib",
                        format!("{r} bytes is smaller than the source ({s} bytes)"),
                    ))
                }
                (Some(0), Some(s)) => s,
                (Some(r), _) => r,
                (None, Some(s)) => s,
                (None, None) if device_type == "CDROM" => 0,
                (None, None) => {
                    return Err(dr.error(
                        "disk_size_mib",
                        "a DISK needs disk_size_mib or a data_source_reference",
                    ))
                }
            };
            if let Some(p) = prev_size {
                if size < p {
                    return Err(dr.error(
                        "disk_size_mib",
                        format!("disk {uuid} cannot shrink from {p} to {size} bytes"),
                    ));
                }
            }
            disks.push(DiskIn {
                path,
                obj: d.as_object().cloned().unwrap_or_default(),
                uuid,
                device_type,
                adapter,
                index,
                size,
                source,
            });
        }
        // Explicit indices must be unique; the rest get the lowest free index per adapter.
        let mut used: BTreeSet<(String, i64)> = BTreeSet::new();
        for d in &disks {
            if let Some(i) = d.index {
                if !used.insert((d.adapter.clone(), i)) {
                    return Err(ApiError::schema(
                        "vm",
                        &format!("{}.device_properties.disk_address", d.path),
                        format!("two devices use {}.{i}", d.adapter),
                    ));
                }
            }
        }
        let mut out = Vec::new();
        for mut d in disks {
            let index = match d.index {
                Some(i) => i,
                None => {
                    let mut i = 0;
                    while used.contains(&(d.adapter.clone(), i)) {
                        i += 1;
                    }
                    used.insert((d.adapter.clone(), i));
                    i
                }
            };
            d.obj.insert("uuid".into(), json!(d.uuid));
            d.obj.insert(
                "device_properties".into(),
                json!({"device_type": d.device_type, "disk_address": {"adapter_type": d.adapter, "device_index": index}}),
            );
            d.obj.insert("disk_size_bytes".into(), json!(d.size));
            d.obj
                .insert("disk_size_mib".into(), json!(d.size.div_ceil(MIB)));
            if let Some((kind, u)) = &d.source {
                d.obj.insert(
                    "data_source_reference".into(),
                    json!({"kind": kind, "uuid": u}),
                );
            }
            out.push(Value::Object(d.obj));
        }
        Ok(out)
    }

    fn normalize_nics(
        &mut self,
        res: &Reader<'_>,
        cluster_uuid: &str,
        prev: &[&Value],
    ) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        let list: Vec<Value> = res.opt_array("nic_list")?.cloned().unwrap_or_default();
        for (i, n) in list.iter().enumerate() {
            let path = format!("spec.resources.nic_list[{i}]");
            let nr = Reader::new("vm", &path, n)?;
            let (_, su) = reference(&nr, "subnet_reference", &["subnet"])?.ok_or_else(|| {
                nr.error(
                    "subnet_reference",
                    "'subnet_reference' is a required property",
                )
            })?;
            let subnet = self.inv.subnet(&su).ok_or_else(|| {
                ApiError::bad_reference(
                    "vm",
                    &format!("{path}.subnet_reference"),
                    format!("subnet {su} does not exist"),
                )
            })?;
            if subnet.subnet_type == "VLAN" && subnet.cluster_uuid != cluster_uuid {
                return Err(ApiError::bad_reference(
                    "vm",
                    &format!("{path}.subnet_reference"),
                    format!(
                        "subnet {} ({su}) belongs to cluster {}, not to the VM's cluster {cluster_uuid}",
                        subnet.name, subnet.cluster_uuid
                    ),
                ));
            }
            let has_ipam = subnet.ipam.is_some();
            let subnet_name = subnet.name.clone();
            let uuid = match nr.opt_str("uuid")? {
                Some(u) => parse_uuid(u)
                    .ok_or_else(|| nr.error("uuid", format!("'{u}' is not a valid UUID")))?,
                None => uuid::Uuid::new_v4().to_string(),
            };
            let prev_mac = prev
                .iter()
                .find(|p| {
                    p.get("uuid")
                        .and_then(Value::as_str)
                        .and_then(parse_uuid)
                        .as_deref()
                        == Some(uuid.as_str())
                })
                .and_then(|p| p.get("mac_address"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let mac = match nr.opt_str("mac_address")? {
                Some(m) if valid_mac(m) => m.to_ascii_lowercase(),
                Some(m) => {
                    return Err(nr.error("mac_address", format!("'{m}' is not a MAC address")))
                }
                None => match prev_mac {
                    Some(m) => m,
                    None => self.next_mac(),
                },
            };
            nr.opt_enum(
                "nic_type",
                &[
                    "NORMAL_NIC",
                    "DIRECT_NIC",
                    "NETWORK_FUNCTION_NIC",
                    "SPAN_DESTINATION_NIC",
                ],
            )?;
            nr.opt_bool("is_connected")?;
            for (j, e) in nr
                .opt_array("ip_endpoint_list")?
                .into_iter()
                .flatten()
                .enumerate()
            {
                let er = Reader::new("vm", &format!("{path}.ip_endpoint_list[{j}]"), e)?;
                if let Some(ip) = er.opt_str("ip")? {
                    if ip.parse::<IpAddr>().is_err() {
                        return Err(er.error("ip", format!("'{ip}' is not an IP address")));
                    }
                    if !has_ipam {
                        return Err(ApiError::bad_reference(
                            "vm",
                            &format!("{path}.ip_endpoint_list"),
                            format!("a static IP needs a subnet with IPAM, but subnet {subnet_name} ({su}) has none"),
                        ));
                    }
                }
            }
            let mut o = n.as_object().cloned().unwrap_or_default();
            o.insert("uuid".into(), json!(uuid));
            o.insert("mac_address".into(), json!(mac));
            o.insert(
                "subnet_reference".into(),
                json!({"kind": "subnet", "uuid": su, "name": subnet_name}),
            );
            o.entry("nic_type").or_insert_with(|| json!("NORMAL_NIC"));
            o.entry("is_connected").or_insert_with(|| json!(true));
            o.entry("model").or_insert_with(|| json!("VIRTIO"));
            out.push(Value::Object(o));
        }
        Ok(out)
    }

    fn normalize_gpus(
        &self,
        res: &Reader<'_>,
        cluster_uuid: &str,
    ) -> Result<(Vec<Value>, Option<String>), ApiError> {
        let mut out = Vec::new();
        let mut candidates: Option<BTreeSet<String>> = None;
        for (i, g) in res.opt_array("gpu_list")?.into_iter().flatten().enumerate() {
            let path = format!("spec.resources.gpu_list[{i}]");
            let gr = Reader::new("vm", &path, g)?;
            let device_id = gr
                .opt_i64("device_id")?
                .ok_or_else(|| gr.error("device_id", "'device_id' is a required property"))?;
            let mode = gr
                .opt_enum(
                    "mode",
                    &["PASSTHROUGH_GRAPHICS", "PASSTHROUGH_COMPUTE", "VIRTUAL"],
                )?
                .unwrap_or("PASSTHROUGH_COMPUTE");
            let vendor = match gr.opt_str("vendor")? {
                None => None,
                Some(v) => Some(normalize_vendor(v).ok_or_else(|| {
                    gr.error(
                        "vendor",
                        format!("'{v}' is not one of [\"NVIDIA\", \"AMD\", \"INTEL\"]"),
                    )
                })?),
            };
            let hosts: BTreeSet<String> = self
                .inv
                .hosts
                .iter()
                .filter(|h| h.cluster_uuid == cluster_uuid)
                .filter(|h| {
                    h.gpus
                        .iter()
                        .any(|x| x.device_id == device_id && x.mode == mode)
                })
                .map(|h| h.uuid.clone())
                .collect();
            if hosts.is_empty() {
                return Err(ApiError::bad_reference(
                    "vm",
                    &path,
                    format!("no host of cluster {cluster_uuid} has a GPU with device_id {device_id} in mode {mode}"),
                ));
            }
            candidates = Some(match candidates {
                None => hosts,
                Some(c) => c.intersection(&hosts).cloned().collect(),
            });
            let mut o = g.as_object().cloned().unwrap_or_default();
            o.insert("mode".into(), json!(mode));
            if let Some(v) = vendor {
                o.insert("vendor".into(), json!(v));
            }
            out.push(Value::Object(o));
        }
        let host = match candidates {
            None => None,
            Some(c) => Some(c.into_iter().next().ok_or_else(|| {
                ApiError::bad_reference(
                    "vm",
                    "spec.resources.gpu_list",
                    "no single host has all the requested GPUs",
                )
            })?),
        };
        Ok((out, host))
    }

    /// Size of a VM disk (for images and disks cloned from it).
    pub(crate) fn vm_disk_size(&self, disk_uuid: &str) -> Option<u64> {
        self.vms.iter().find_map(|v| {
            v.core
                .applied
                .as_ref()?
                .pointer("/resources/disk_list")?
                .as_array()?
                .iter()
                .find(|d| d.get("uuid").and_then(Value::as_str) == Some(disk_uuid))?
                .get("disk_size_bytes")?
                .as_u64()
        })
    }
}

fn check_base64(r: &Reader<'_>, key: &str) -> Result<(), ApiError> {
    use base64::Engine;
    if let Some(s) = r.opt_str(key)? {
        let clean: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        if base64::engine::general_purpose::STANDARD
            .decode(clean.as_bytes())
            .is_err()
        {
            return Err(r.error(key, "the value must be base64-encoded"));
        }
    }
    Ok(())
}

fn valid_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The VM spec takes NVIDIA/AMD/INTEL; hosts report `kNvidia` style names. Accept both.
fn normalize_vendor(v: &str) -> Option<&'static str> {
    match v.to_ascii_lowercase().trim_start_matches('k') {
        "nvidia" => Some("NVIDIA"),
        "amd" => Some("AMD"),
        "intel" => Some("INTEL"),
        _ => None,
    }
}

/// The reason part of an `error_detail` ("RESOURCE_SHORTAGE: ..." → RESOURCE_SHORTAGE).
pub(crate) fn reason_of(message: &str) -> String {
    match message.split_once(':') {
        Some((c, _)) if !c.is_empty() && c.chars().all(|x| x.is_ascii_uppercase() || x == '_') => {
            c.to_string()
        }
        _ => "INTERNAL_ERROR".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_and_vendors() {
        assert!(valid_mac("50:6b:8d:aa:BB:01"));
        assert!(!valid_mac("50:6b:8d:aa:bb"));
        assert!(!valid_mac("50-6b-8d-aa-bb-01"));
        assert!(!valid_mac("zz:6b:8d:aa:bb:01"));
        assert_eq!(normalize_vendor("kNvidia"), Some("NVIDIA"));
        assert_eq!(normalize_vendor("NVIDIA"), Some("NVIDIA"));
        assert_eq!(normalize_vendor("kIntel"), Some("INTEL"));
        assert_eq!(normalize_vendor("matrox"), None);
        assert_eq!(reason_of("RESOURCE_SHORTAGE: x"), "RESOURCE_SHORTAGE");
        assert_eq!(reason_of("oops"), "INTERNAL_ERROR");
    }
}
