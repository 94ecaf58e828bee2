//! The read-only part of Prism: clusters (including the PC pseudo-cluster), subnets, hosts
//! with their GPUs, projects and categories, rendered from the inventory in v3 shapes
//! (terraform-provider-nutanix v1.9.5 `client/v3` structs for field names).

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::Store;
use crate::inventory::{ClusterDef, HostDef, ProjectDef, SubnetDef};
use crate::listing::ListRequest;
use crate::prism_error::{ApiError, API_VERSION};
use crate::routes::Kind;

impl Store {
    fn static_meta(&self, kind: &str, uuid: &str) -> Value {
        json!({
            "kind": kind,
            "uuid": uuid,
            "spec_version": 0,
            "spec_hash": "00000000000000000000000000000000000000000000000000",
            "creation_time": self.ts(Duration::ZERO),
            "last_update_time": self.ts(Duration::ZERO),
            "categories": {},
            "categories_mapping": {},
        })
    }

    fn render_cluster(&self, c: &ClusterDef) -> Value {
        let services = if c.prism_central {
            json!(["PRISM_CENTRAL"])
        } else {
            json!(["AOS"])
        };
        let hypervisors: Vec<Value> = if c.prism_central {
            vec![json!({"ip": c.external_ip, "type": "AHV", "version": ""})]
        } else {
            self.inv
                .hosts
                .iter()
                .filter(|h| h.cluster_uuid == c.uuid)
                .map(|h| json!({"ip": h.ip, "type": c.hypervisor, "version": "el8.nutanix.20230302.101026"}))
                .collect()
        };
        let build = json!({
            "version": c.aos_version,
            "full_version": format!("el8.3-release-{}-stable", c.aos_version),
            "build_type": "release",
            "commit_id": "4f5a5b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a",
            "short_commit_id": "4f5a5b",
        });
        let network = json!({
            "external_ip": c.external_ip,
            "name_server_ip_list": ["10.0.0.2"],
            "ntp_server_ip_list": ["0.pool.ntp.org"],
        });
        json!({
            "metadata": self.static_meta("cluster", &c.uuid),
            "spec": {
                "name": c.name,
                "resources": {
                    "config": {
                        "redundancy_factor": 2,
                        "operation_mode": "NORMAL",
                        "timezone": "UTC",
                        "enabled_feature_list": [],
                    },
                    "network": network,
                },
            },
            "status": {
                "state": "COMPLETE",
                "name": c.name,
                "resources": {
                    "nodes": {"hypervisor_server_list": hypervisors},
                    "config": {
                        "service_list": services,
                        "build": build,
                        "is_available": true,
                        "operation_mode": "NORMAL",
                        "redundancy_factor": 2,
                        "timezone": "UTC",
                        "cluster_arch": "X86_64",
                        "enabled_feature_list": [],
                        "encryption_status": "NOT_SUPPORTED",
                        "supported_information_verbosity": "BASIC_PLUS_CORE_DUMP",
                    },
                    "network": network,
                    "analysis": {"vm_efficiency_map": {}},
                    "runtime_status_list": [],
                },
            },
        })
    }

    fn render_subnet(&self, s: &SubnetDef) -> Value {
        let mut resources = Map::new();
        resources.insert("subnet_type".into(), json!(s.subnet_type));
        resources.insert("vlan_id".into(), json!(s.vlan_id));
        resources.insert("vswitch_name".into(), json!(s.vswitch_name));
        if let Some(ipam) = &s.ipam {
            let mut ip = Map::new();
            ip.insert("subnet_ip".into(), json!(ipam.subnet_ip));
            ip.insert("prefix_length".into(), json!(ipam.prefix_length));
            if let Some(gw) = &ipam.default_gateway_ip {
                ip.insert("default_gateway_ip".into(), json!(gw));
            }
            if let Some(range) = &ipam.pool_range {
                ip.insert("pool_list".into(), json!([{"range": range}]));
            }
            ip.insert("dhcp_options".into(), json!({}));
            resources.insert("ip_config".into(), Value::Object(ip));
        }
        let resources = Value::Object(resources);
        let cref = self.cluster_ref(&s.cluster_uuid);
        json!({
            "metadata": self.static_meta("subnet", &s.uuid),
            "spec": {"name": s.name, "cluster_reference": cref, "resources": resources},
            "status": {
                "state": "COMPLETE",
                "name": s.name,
                "cluster_reference": cref,
                "resources": resources,
            },
        })
    }

    fn render_host(&self, now: Duration, h: &HostDef) -> Value {
        let gpus: Vec<Value> = h
            .gpus
            .iter()
            .map(|g| {
                // A powered-on VM holding this passthrough GPU shows as its consumer.
                let consumer = self.vms.iter().find(|v| {
                    v.power_on
                        && v.host_uuid.as_deref() == Some(h.uuid.as_str())
                        && v.gpu_device_ids().contains(&g.device_id)
                });
                let mut gv = json!({
                    "name": g.name,
                    "uuid": g.uuid,
                    "vendor": g.vendor,
                    "mode": g.mode,
                    "device_id": g.device_id,
                    "index": g.index,
                    "pci_address": g.pci_address,
                    "frame_buffer_size_mib": g.frame_buffer_size_mib,
                    "assignable": g.assignable && consumer.is_none(),
                    "status": if consumer.is_some() { "UVM.Assigned" } else { "UVM.Available" },
                    "numa_node": 0,
                    "num_virtual_display_heads": 0,
                    "num_vgpus_allocated": 0,
                    "fraction": 0,
                    "license_list": [],
                    "guest_driver_version": "",
                    "max_resolution": "",
                });
                if let (Some(v), Some(o)) = (consumer, gv.as_object_mut()) {
                    o.insert(
                        "consumer_reference".into(),
                        json!({"kind": "vm", "uuid": v.core.uuid, "name": v.core.name()}),
                    );
                }
                gv
            })
            .collect();
        let num_vms = self
            .vms
            .iter()
            .filter(|v| v.host_uuid.as_deref() == Some(h.uuid.as_str()))
            .count();
        let _ = now;
        let resources = json!({
            "gpu_list": gpus,
            "cpu_model": h.cpu_model,
            "num_cpu_sockets": h.num_cpu_sockets,
            "num_cpu_cores": h.num_cpu_cores,
            "cpu_capacity_hz": 3_000_000_000i64.saturating_mul(h.num_cpu_cores),
            "memory_capacity_mib": h.memory_capacity_mib,
            "host_type": "HYPER_CONVERGED",
            "hypervisor": {"ip": h.ip, "hypervisor_full_name": "AHV 10.0", "num_vms": num_vms},
            "controller_vm": {"ip": h.ip},
            "serial_number": format!("SN-{}", &h.uuid.get(..8).unwrap_or("00000000")),
            "block": {"block_model": "NX-3060-G8", "block_serial_number": "BLK-0001"},
        });
        json!({
            "metadata": self.static_meta("host", &h.uuid),
            "spec": {"name": h.name, "resources": {}},
            "status": {
                "state": "COMPLETE",
                "name": h.name,
                "cluster_reference": self.cluster_ref(&h.cluster_uuid),
                "resources": resources,
            },
        })
    }

    fn render_project(&self, p: &ProjectDef) -> Value {
        let resources = json!({
            "resource_domain": {"resources": []},
            "account_reference_list": [],
            "environment_reference_list": [],
            "user_reference_list": [],
            "external_user_group_reference_list": [],
            "subnet_reference_list": [],
            "is_default": p.is_default,
        });
        json!({
            "metadata": self.static_meta("project", &p.uuid),
            "spec": {"name": p.name, "description": p.description, "resources": resources},
            "status": {
                "state": "COMPLETE",
                "name": p.name,
                "description": p.description,
                "resources": resources,
            },
        })
    }

    /// All entities of a read-only kind, rendered.
    pub(crate) fn catalog_entities(&self, now: Duration, kind: Kind) -> Vec<Value> {
        match kind {
            Kind::Cluster => self
                .inv
                .clusters
                .iter()
                .map(|c| self.render_cluster(c))
                .collect(),
            Kind::Subnet => self
                .inv
                .subnets
                .iter()
                .map(|s| self.render_subnet(s))
                .collect(),
            Kind::Host => self
                .inv
                .hosts
                .iter()
                .map(|h| self.render_host(now, h))
                .collect(),
            Kind::Project => self
                .inv
                .projects
                .iter()
                .map(|p| self.render_project(p))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `GET /{kind}s/{uuid}` for read-only kinds.
    pub(crate) fn get_catalog(&self, kind: Kind, uuid: &str) -> Result<Value, ApiError> {
        let found = match kind {
            Kind::Cluster => self.inv.cluster(uuid).map(|c| self.render_cluster(c)),
            Kind::Subnet => self.inv.subnet(uuid).map(|s| self.render_subnet(s)),
            Kind::Host => self
                .inv
                .host(uuid)
                .map(|h| self.render_host(Duration::ZERO, h)),
            Kind::Project => self.inv.project(uuid).map(|p| self.render_project(p)),
            _ => None,
        };
        let mut v = found.ok_or_else(|| ApiError::not_found(kind.name(), uuid))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("api_version".into(), json!(API_VERSION));
        }
        Ok(v)
    }

    /// `GET /categories/{key}`.
    pub(crate) fn category_key(&self, key: &str) -> Result<Value, ApiError> {
        let c = self
            .inv
            .category(key)
            .ok_or_else(|| ApiError::not_found("category", key))?;
        Ok(
            json!({"api_version": API_VERSION, "name": c.key, "description": c.description, "system_defined": false}),
        )
    }

    /// `GET /categories/{key}/{value}`.
    pub(crate) fn category_value(&self, key: &str, value: &str) -> Result<Value, ApiError> {
        let c = self
            .inv
            .category(key)
            .ok_or_else(|| ApiError::not_found("category", key))?;
        if !c.values.iter().any(|v| v == value) {
            return Err(ApiError::not_found("category", &format!("{key}:{value}")));
        }
        Ok(json!({
            "api_version": API_VERSION,
            "name": c.key,
            "value": value,
            "description": "",
            "system_defined": false,
        }))
    }

    /// `POST /categories/list`.
    pub(crate) fn category_keys(&self, body: Option<&Value>) -> Result<Value, ApiError> {
        const ATTRS: crate::listing::AttrMap = &[("name", &["/name"])];
        let req = ListRequest::parse(body, "category", ATTRS, true)?;
        let ents = self
            .inv
            .categories
            .iter()
            .map(|c| json!({"name": c.key, "description": c.description, "system_defined": false}))
            .collect();
        Ok(req.respond("category", ATTRS, ents))
    }

    /// `POST /categories/{key}/list`.
    pub(crate) fn category_values(
        &self,
        key: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        const ATTRS: crate::listing::AttrMap = &[("value", &["/value"]), ("name", &["/name"])];
        let c = self
            .inv
            .category(key)
            .ok_or_else(|| ApiError::not_found("category", key))?;
        let req = ListRequest::parse(body, "category", ATTRS, true)?;
        let ents = c
            .values
            .iter()
            .map(|v| json!({"name": c.key, "value": v, "description": "", "system_defined": false}))
            .collect();
        Ok(req.respond("category", ATTRS, ents))
    }
}
