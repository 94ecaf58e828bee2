//! Creates the VM, powered on, in one request (as the Go plugin's v3 line does). Its UUID is
//! chosen here and recorded in the ledger before the request leaves, so even a create whose
//! answer is lost is cleaned up. The request is the API-neutral [`NewVm`]; the prism crate
//! renders it.

use nutanix_config::UserData;
use prism::{NewDisk, NewGuest, NewVm};

use super::resolve::Resolved;
use crate::context::{Ctx, TASK_TIMEOUT};
use crate::entities::{BuiltVm, DataDisk, Named, SourceImage};
use crate::error::BuildError;
use crate::ledger::{Entry, Kind, Stage};
use crate::plan::{BuildPlan, Disk, Firmware, Guest};
use crate::ssh_key::{cloud_init_user_data, BuildKeys};

/// What the VM is made of.
pub(crate) struct Parts<'a> {
    /// The references.
    pub(crate) resolved: &'a Resolved,
    /// Every disk with its image.
    pub(crate) disks: &'a [Disk<SourceImage>],
    /// The cd_files CD.
    pub(crate) cd: Option<&'a Named>,
    /// The build's SSH key pair.
    pub(crate) keys: Option<&'a BuildKeys>,
}

/// The request.
fn new_vm(plan: &BuildPlan, parts: &Parts<'_>) -> Result<NewVm, BuildError> {
    let vm = &plan.vm;
    let mut disks: Vec<NewDisk> = parts
        .disks
        .iter()
        .map(|d| match d {
            Disk::Empty {
                size_gib,
                storage_container,
            } => NewDisk::Empty {
                size_mib: size_gib.saturating_mul(1024),
                storage_container: storage_container.clone(),
            },
            Disk::Cloned { image, size_gib } => NewDisk::FromImage {
                image: image.image.uuid.clone(),
                size_mib: NewDisk::size_mib(*size_gib, image.size_bytes),
            },
            Disk::Cdrom { image } => NewDisk::Cdrom {
                image: image.image.uuid.clone(),
            },
        })
        .collect();
    if let Some(cd) = parts.cd {
        disks.push(NewDisk::Cdrom {
            image: cd.uuid.clone(),
        });
    }
    let user = plan
        .config
        .comm
        .ssh
        .ssh_username
        .as_deref()
        .unwrap_or_default();
    let guest = match &vm.guest {
        Guest::Sysprep(xml) => NewGuest::Sysprep(xml.as_base64().to_string()),
        Guest::Nothing => cloud_init(None, None, user, parts.keys)?,
        Guest::CloudInit {
            user_data,
            meta_data,
        } => cloud_init(user_data.as_ref(), meta_data.as_ref(), user, parts.keys)?,
    };
    Ok(NewVm {
        name: vm.name.clone(),
        description: vm.description.clone(),
        cluster: parts.resolved.cluster.uuid.clone(),
        project: parts.resolved.project.as_ref().map(|p| p.uuid.clone()),
        sockets: vm.sockets,
        cores: vm.cores,
        memory_mib: vm.memory_mib,
        disks,
        nics: parts.resolved.nics.clone(),
        firmware: match vm.boot.firmware {
            Firmware::Legacy => prism::Firmware::Legacy,
            Firmware::Uefi => prism::Firmware::Uefi,
            Firmware::SecureBoot => prism::Firmware::SecureBoot,
        },
        cdrom_first: vm.boot.priority == nutanix_config::BootPriority::Cdrom,
        vtpm: vm.vtpm,
        nested_virtualization: vm.nested_virtualization,
        serial_port: vm.serial_port,
        gpus: parts.resolved.gpus.clone(),
        guest,
        categories: vm.categories.clone(),
    })
}

/// cloud-init customization: the template's user and meta data, plus the build's temporary
/// public key for `user` when there is one.
fn cloud_init(
    user_data: Option<&UserData>,
    meta_data: Option<&UserData>,
    user: &str,
    keys: Option<&BuildKeys>,
) -> Result<NewGuest, BuildError> {
    Ok(
        match (cloud_init_user_data(user_data, user, keys)?, meta_data) {
            (None, None) => NewGuest::Nothing,
            (user_data, meta_data) => NewGuest::CloudInit {
                user_data,
                meta_data: meta_data.map(|m| m.as_base64().to_string()),
            },
        },
    )
}

/// The step: the VM, created and on.
pub(crate) async fn run(
    ctx: &Ctx,
    plan: &BuildPlan,
    parts: Parts<'_>,
) -> Result<BuiltVm, BuildError> {
    let name = plan.vm.name.clone();
    let uuid = uuid::Uuid::new_v4().to_string();
    let new = new_vm(plan, &parts)?;
    ctx.out
        .say(format!(
            "Creating VM '{name}' on cluster {}...",
            parts.resolved.cluster.name
        ))
        .await;
    ctx.ledger.record(Entry::requested(Kind::Vm, &uuid, &name));
    let step = format!("creating VM '{name}'");
    let accepted = ctx
        .submit_create(&uuid, &step, ctx.prism.submit_vm(&new, &uuid))
        .await?;
    ctx.wait_task(&accepted.task_uuid, &step, TASK_TIMEOUT)
        .await?;
    ctx.ledger.advance(&uuid, Stage::Ready);

    let vm = ctx
        .call("reading the new VM", ctx.prism.get_vm(&uuid))
        .await?;
    if vm.power_state() != Some(&prism::models::PowerState::On) {
        ctx.out.message(format!("Powering on VM '{name}'...")).await;
        let wait = ctx.wait(TASK_TIMEOUT);
        ctx.prism
            .power_on(&uuid, &wait)
            .await
            .map_err(|e| ctx.prism_err(&format!("powering on VM '{name}'"), e))?;
    }
    // Prism lists the data disks in bus order, which is the order of the template's data disks.
    let sources = parts
        .disks
        .iter()
        .filter(|d| d.is_data())
        .map(|d| d.image().map(|i| i.image.uuid.clone()));
    let data_disks = vm
        .data_disks()
        .into_iter()
        .zip(sources.chain(std::iter::repeat(None)))
        .filter_map(|(d, source_image)| {
            Some(DataDisk {
                uuid: d.uuid.clone()?,
                size_bytes: d.disk_size_bytes.and_then(|s| u64::try_from(s).ok()),
                source_image,
            })
        })
        .collect();
    let host = vm
        .status
        .as_ref()
        .and_then(|s| s.resources.host_reference.as_ref())
        .and_then(|h| h.name.clone().or_else(|| Some(h.uuid.clone())))
        .filter(|h| !h.is_empty());
    match host {
        Some(h) => {
            ctx.out
                .message(format!(
                    "VM '{name}' ({uuid}) created and powered on, on host {h}"
                ))
                .await
        }
        None => {
            ctx.out
                .message(format!("VM '{name}' ({uuid}) created and powered on"))
                .await
        }
    }
    Ok(BuiltVm {
        vm: Named { uuid, name },
        data_disks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::BuildPlan;
    use serde_json::{json, Value};

    fn plan(extra: Value) -> BuildPlan {
        let mut body = json!({
            "nutanix_endpoint": "pc.example", "nutanix_username": "u", "nutanix_password": "p",
            "cluster_name": "c", "communicator": "none", "vm_name": "Packer-TEST", "image_name": "golden",
            "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}], "vm_nics": [{"subnet_name": "n"}],
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let config = nutanix_config::prepare(&packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer: Default::default(),
            configs: vec![body],
        })
        .expect("valid config")
        .config;
        BuildPlan::new(config, None).unwrap()
    }

    fn resolved() -> Resolved {
        Resolved {
            cluster: Named {
                uuid: "c-uuid".into(),
                name: "c".into(),
            },
            nics: vec![prism::NewNic {
                subnet: "s-uuid".into(),
                mac: None,
                ip: None,
            }],
            project: None,
            gpus: vec![],
        }
    }

    fn new_vm_body(plan: &BuildPlan, keys: Option<&BuildKeys>) -> Value {
        let disks: Vec<Disk<SourceImage>> = vec![Disk::Empty {
            size_gib: 1,
            storage_container: None,
        }];
        let r = resolved();
        let parts = Parts {
            resolved: &r,
            disks: &disks,
            cd: None,
            keys,
        };
        serde_json::to_value(new_vm(plan, &parts).unwrap().to_v3("v")).unwrap()
    }

    #[test]
    fn the_temporary_public_key_rides_in_cloud_init() {
        use base64::Engine;
        let decode = |v: &Value| {
            let b64 = v.as_str().expect("user_data");
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )
            .unwrap()
        };
        let keys = BuildKeys::generated("PRIVATE".into(), "ssh-ed25519 AAAATEMP\n");
        // No user_data: a minimal cloud-config, meta_data kept.
        let p = plan(json!({
            "communicator": "ssh", "ssh_username": "ubuntu", "meta_data": "instance-id: i-1\n",
        }));
        let body = new_vm_body(&p, Some(&keys));
        let ci = &body["spec"]["resources"]["guest_customization"]["cloud_init"];
        let text = decode(&ci["user_data"]);
        assert!(text.starts_with("#cloud-config\n"), "{text}");
        assert!(text.contains("  - \"ssh-ed25519 AAAATEMP\"\n"), "{text}");
        assert_eq!(ci["meta_data"], "aW5zdGFuY2UtaWQ6IGktMQo=");
        // The template's cloud-config: kept, key added to the top level and to the user.
        let p = plan(json!({
            "communicator": "ssh", "ssh_username": "ubuntu", "os_type": "Linux",
            "user_data": "#cloud-config\nusers:\n  - name: ubuntu\n    shell: /bin/bash\n",
        }));
        let body = new_vm_body(&p, Some(&keys));
        let text =
            decode(&body["spec"]["resources"]["guest_customization"]["cloud_init"]["user_data"]);
        assert_eq!(
            text,
            "#cloud-config\nusers:\n  - name: ubuntu\n    ssh_authorized_keys:\n      - \"ssh-ed25519 AAAATEMP\"\n    shell: /bin/bash\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAATEMP\"\n"
        );
        // Without a key pair, no guest customization appears from nowhere.
        let body = new_vm_body(&plan(json!({})), None);
        assert!(body["spec"]["resources"]
            .get("guest_customization")
            .is_none());
    }

    #[test]
    fn windows_gets_sysprep_and_the_plan_decides_the_boot() {
        let p = plan(json!({
            "boot_type": "uefi", "secure_boot": true, "boot_priority": "disk",
            "user_data": "<unattend/>", "os_type": "Windows",
        }));
        let body = new_vm_body(&p, None);
        let r = &body["spec"]["resources"];
        assert_eq!(r["guest_customization"]["sysprep"]["install_type"], "FRESH");
        assert_eq!(r["boot_config"]["boot_type"], "SECURE_BOOT");
        assert_eq!(r["machine_type"], "Q35");
        assert_eq!(
            body["spec"]["description"],
            "Packer vm building image golden"
        );
    }
}
