//! From the template and the resolved references to the exact `POST /vms` body, and the names
//! of what the build produces. Pure, so the body is checked field by field against the Go
//! plugin's v3 request (research nutanix-go-plugin.md §2.2) without a Prism.

use std::path::{Path, PathBuf};

use nutanix_config::{BootPriority, BootType, Config, ImageType, OsType};
use prism::models::{
    AdapterType, BootConfig, BootDevice, CloudInit, DeviceProperties, DeviceType, DiskAddress,
    GuestCustomization, IpEndpoint, MachineType, Metadata, PowerState, Reference, SerialPort,
    StorageConfig, Sysprep, SysprepInstallType, VmDisk, VmIntentInput, VmNic, VmResources, VmSpec,
    VtpmConfig,
};

use crate::error::BuildError;
use crate::state::BuildState;
use crate::temp_key::cloud_init_user_data;

const MIB: u64 = 1024 * 1024;

/// Name of the image made from the `n`-th (1-based) data disk: `image_name`, then
/// `image_name-disk2`, `-disk3`, ... as the Go plugin names them.
pub(crate) fn output_image_name(image_name: &str, n: usize) -> String {
    if n <= 1 {
        image_name.to_string()
    } else {
        format!("{image_name}-disk{n}")
    }
}

/// Where `image_export` writes an image.
pub(crate) fn export_path(output_directory: &str, image: &str) -> PathBuf {
    Path::new(output_directory).join(format!("{image}.img"))
}

/// Where `ova { export = true }` writes the OVA.
pub(crate) fn ova_path(output_directory: &str, ova: &str) -> PathBuf {
    Path::new(output_directory).join(format!("{ova}.ova"))
}

/// How many data disks (DISK and DISK_IMAGE) the VM will have: one output image each.
pub(crate) fn data_disk_count(cfg: &Config) -> usize {
    cfg.vm
        .vm_disks
        .iter()
        .filter(|d| matches!(d.image_type, Some(ImageType::Disk | ImageType::DiskImage)))
        .count()
}

/// The boot order: the Go plugin's two orders, without CDROM when the VM has no CD-ROM
/// (some AOS releases reject a boot order naming a device class the VM lacks).
pub(crate) fn boot_order(priority: BootPriority, has_cdrom: bool) -> Vec<BootDevice> {
    match (priority, has_cdrom) {
        (_, false) => vec![BootDevice::Disk, BootDevice::Network],
        (BootPriority::Cdrom, true) => {
            vec![BootDevice::Cdrom, BootDevice::Disk, BootDevice::Network]
        }
        (BootPriority::Disk, true) => {
            vec![BootDevice::Disk, BootDevice::Cdrom, BootDevice::Network]
        }
    }
}

fn disk(
    device: DeviceType,
    adapter: AdapterType,
    index: i64,
    source: Option<&str>,
    size_mib: Option<u64>,
) -> VmDisk {
    VmDisk {
        device_properties: Some(DeviceProperties {
            device_type: Some(device),
            disk_address: Some(DiskAddress {
                adapter_type: Some(adapter),
                device_index: Some(index),
                extra: Default::default(),
            }),
            extra: Default::default(),
        }),
        data_source_reference: source.map(|uuid| Reference::new("image", uuid)),
        disk_size_mib: size_mib.and_then(|m| i64::try_from(m).ok()),
        ..VmDisk::default()
    }
}

/// The `POST /vms` body. `vm_uuid` is chosen by the build (so the ledger knows it in advance).
pub(crate) fn vm_intent(
    cfg: &Config,
    st: &BuildState,
    vm_uuid: &str,
) -> Result<VmIntentInput, BuildError> {
    let step = "building the VM request";
    let vm = &cfg.vm;
    let cluster = st
        .cluster
        .as_ref()
        .ok_or_else(|| BuildError::unexpected(step, "the cluster was not resolved"))?;

    let mut disks = Vec::new();
    let (mut scsi, mut sata) = (0i64, 0i64);
    for (i, d) in vm.vm_disks.iter().enumerate() {
        let source = st.disk_sources.get(i).and_then(Option::as_ref);
        let gb_mib = d.disk_size_gb.filter(|g| *g > 0).map(|g| g * 1024);
        match d.image_type {
            Some(ImageType::Disk) => {
                let mut v = disk(DeviceType::Disk, AdapterType::Scsi, scsi, None, gb_mib);
                if let Some(sc) = &d.storage_container_uuid {
                    v.storage_config = Some(StorageConfig {
                        storage_container_reference: Some(Reference::new("storage_container", sc)),
                        ..StorageConfig::default()
                    });
                }
                disks.push(v);
                scsi += 1;
            }
            Some(ImageType::DiskImage) => {
                let src = source.ok_or_else(|| {
                    BuildError::unexpected(step, format!("vm_disks[{i}] has no source image"))
                })?;
                let size = gb_mib.or_else(|| src.size_bytes.map(|b| b.div_ceil(MIB)));
                disks.push(disk(
                    DeviceType::Disk,
                    AdapterType::Scsi,
                    scsi,
                    Some(&src.image.uuid),
                    size,
                ));
                scsi += 1;
            }
            Some(ImageType::IsoImage) => {
                let src = source.ok_or_else(|| {
                    BuildError::unexpected(step, format!("vm_disks[{i}] has no source image"))
                })?;
                disks.push(disk(
                    DeviceType::Cdrom,
                    AdapterType::Sata,
                    sata,
                    Some(&src.image.uuid),
                    None,
                ));
                sata += 1;
            }
            None => {
                return Err(BuildError::unexpected(
                    step,
                    format!("vm_disks[{i}] has no image_type"),
                ))
            }
        }
    }
    if let Some(cd) = &st.cd_image {
        disks.push(disk(
            DeviceType::Cdrom,
            AdapterType::Sata,
            sata,
            Some(&cd.uuid),
            None,
        ));
    }

    let nics = vm
        .vm_nics
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let subnet = st.subnets.get(i).ok_or_else(|| {
                BuildError::unexpected(step, format!("vm_nics[{i}]: subnet not resolved"))
            })?;
            Ok(VmNic {
                subnet_reference: Some(Reference::new("subnet", subnet)),
                mac_address: n.mac_address.clone(),
                ip_endpoint_list: n.ip_address.as_ref().map(|ip| {
                    vec![IpEndpoint {
                        ip: Some(ip.clone()),
                        kind: Some("ASSIGNED".to_string()),
                        extra: Default::default(),
                    }]
                }),
                is_connected: Some(true),
                ..VmNic::default()
            })
        })
        .collect::<Result<Vec<_>, BuildError>>()?;

    let boot_type = match vm.boot_type {
        BootType::Legacy => prism::models::BootType::Legacy,
        BootType::Uefi if vm.secure_boot => prism::models::BootType::SecureBoot,
        BootType::Uefi => prism::models::BootType::Uefi,
        BootType::SecureBoot => prism::models::BootType::SecureBoot,
    };
    let secure = boot_type == prism::models::BootType::SecureBoot;
    let has_cdrom = sata > 0 || st.cd_image.is_some();

    let guest = match (&vm.user_data, vm.os_type) {
        (Some(ud), Some(OsType::Windows)) => Some(GuestCustomization {
            sysprep: Some(Sysprep {
                install_type: Some(SysprepInstallType::Fresh),
                unattend_xml: Some(ud.as_base64().to_string()),
                extra: Default::default(),
            }),
            ..GuestCustomization::default()
        }),
        _ => {
            // The template's user_data, plus the build's temporary public key when there is one.
            let user = cloud_init_user_data(cfg, st.ssh_keys.as_ref())?;
            (user.is_some() || vm.meta_data.is_some()).then(|| GuestCustomization {
                cloud_init: Some(CloudInit {
                    user_data: user,
                    meta_data: vm.meta_data.as_ref().map(|m| m.as_base64().to_string()),
                    extra: Default::default(),
                }),
                ..GuestCustomization::default()
            })
        }
    };

    let resources = VmResources {
        num_sockets: Some(i64::from(vm.cpu)),
        num_vcpus_per_socket: Some(i64::from(vm.core)),
        memory_size_mib: i64::try_from(vm.memory_mb).ok(),
        power_state: Some(PowerState::On),
        machine_type: secure.then_some(MachineType::Q35),
        boot_config: Some(BootConfig {
            boot_type: Some(boot_type),
            boot_device_order_list: Some(boot_order(vm.boot_priority, has_cdrom)),
            extra: Default::default(),
        }),
        disk_list: Some(disks),
        nic_list: Some(nics),
        gpu_list: (!st.gpus.is_empty()).then(|| st.gpus.clone()),
        serial_port_list: vm.serialport.then(|| {
            vec![SerialPort {
                index: 0,
                is_connected: true,
                extra: Default::default(),
            }]
        }),
        guest_customization: guest,
        vtpm_config: vm.vtpm.enabled.then(|| VtpmConfig {
            vtpm_enabled: Some(true),
            extra: Default::default(),
        }),
        hardware_virtualization_enabled: vm.hardware_virtualization.then_some(true),
        ..VmResources::default()
    };

    let mut metadata = Metadata::of_kind("vm");
    metadata.uuid = Some(vm_uuid.to_string());
    metadata.project_reference = st
        .project
        .as_ref()
        .map(|p| Reference::new("project", &p.uuid));
    let input = VmIntentInput {
        api_version: None,
        metadata,
        spec: VmSpec {
            name: vm.vm_name.clone(),
            description: Some(format!("Packer vm building image {}", vm.image_name)),
            cluster_reference: Some(Reference::new("cluster", &cluster.uuid)),
            resources,
            extra: Default::default(),
        },
    };
    Ok(input.with_categories(st.vm_categories.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Named, SourceImage};
    use serde_json::{json, Value};

    fn config(hcl_like: Value) -> Config {
        let mut body = json!({
            "nutanix_endpoint": "pc.example", "nutanix_username": "u", "nutanix_password": "p",
            "cluster_name": "c", "communicator": "none", "vm_name": "Packer-TEST", "image_name": "golden",
        });
        for (k, v) in hcl_like.as_object().unwrap() {
            body[k] = v.clone();
        }
        let input = packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer: Default::default(),
            configs: vec![body],
        };
        nutanix_config::prepare(&input)
            .expect("valid config")
            .config
    }

    fn state(sources: Vec<Option<SourceImage>>) -> BuildState {
        BuildState {
            cluster: Some(Named {
                uuid: "c-uuid".into(),
                name: "c".into(),
            }),
            subnets: vec!["s-uuid".into()],
            disk_sources: sources,
            ..BuildState::default()
        }
    }

    fn image(uuid: &str, size: Option<u64>) -> Option<SourceImage> {
        Some(SourceImage {
            image: Named {
                uuid: uuid.into(),
                name: uuid.into(),
            },
            size_bytes: size,
        })
    }

    #[test]
    fn body_has_the_go_plugin_v3_shape() {
        let cfg = config(json!({
            "cpu": 2, "core": 4, "memory_mb": 8192, "serialport": true,
            "vm_disks": [
                {"image_type": "DISK_IMAGE", "source_image_name": "u"},
                {"image_type": "DISK", "disk_size_gb": 20, "storage_container_uuid": "0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f"},
                {"image_type": "ISO_IMAGE", "source_image_name": "iso"}
            ],
            "vm_nics": [{"subnet_name": "n", "mac_address": "50:6b:8d:aa:bb:cc"}],
            "vm_categories": [{"key": "Env", "value": "Dev"}, {"key": "Env", "value": "Prod"}],
            "user_data": "#cloud-config\n", "os_type": "Linux",
        }));
        let mut st = state(vec![
            image("img", Some(40 * 1024 * MIB)),
            None,
            image("iso", None),
        ]);
        st.project = Some(Named {
            uuid: "p-uuid".into(),
            name: "p".into(),
        });
        st.vm_categories
            .insert("Env".into(), vec!["Dev".into(), "Prod".into()]);
        let body = serde_json::to_value(vm_intent(&cfg, &st, "vm-uuid").unwrap()).unwrap();
        // Field names and nesting as in PGC v0.5.5 v3_structs.go (research §2.2).
        assert_eq!(body["metadata"]["kind"], "vm");
        assert_eq!(body["metadata"]["uuid"], "vm-uuid");
        assert_eq!(body["metadata"]["use_categories_mapping"], true);
        assert_eq!(
            body["metadata"]["categories_mapping"],
            json!({"Env": ["Dev", "Prod"]})
        );
        assert_eq!(
            body["metadata"]["project_reference"],
            json!({"kind": "project", "uuid": "p-uuid"})
        );
        assert_eq!(body["spec"]["name"], "Packer-TEST");
        assert_eq!(
            body["spec"]["description"],
            "Packer vm building image golden"
        );
        assert_eq!(
            body["spec"]["cluster_reference"],
            json!({"kind": "cluster", "uuid": "c-uuid"})
        );
        let r = &body["spec"]["resources"];
        assert_eq!(r["num_sockets"], 2);
        assert_eq!(r["num_vcpus_per_socket"], 4);
        assert_eq!(r["memory_size_mib"], 8192);
        assert_eq!(r["power_state"], "ON");
        assert!(r.get("machine_type").is_none());
        assert_eq!(
            r["boot_config"],
            json!({"boot_type": "LEGACY", "boot_device_order_list": ["CDROM", "DISK", "NETWORK"]})
        );
        assert_eq!(
            r["disk_list"],
            json!([
                {"device_properties": {"device_type": "DISK", "disk_address": {"adapter_type": "SCSI", "device_index": 0}},
                 "data_source_reference": {"kind": "image", "uuid": "img"}, "disk_size_mib": 40960},
                {"device_properties": {"device_type": "DISK", "disk_address": {"adapter_type": "SCSI", "device_index": 1}},
                 "disk_size_mib": 20480,
                 "storage_config": {"storage_container_reference": {"kind": "storage_container", "uuid": "0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f"}}},
                {"device_properties": {"device_type": "CDROM", "disk_address": {"adapter_type": "SATA", "device_index": 0}},
                 "data_source_reference": {"kind": "image", "uuid": "iso"}}
            ])
        );
        assert_eq!(
            r["nic_list"],
            json!([{"is_connected": true, "subnet_reference": {"kind": "subnet", "uuid": "s-uuid"},
                    "mac_address": "50:6b:8d:aa:bb:cc"}])
        );
        assert_eq!(
            r["serial_port_list"],
            json!([{"index": 0, "is_connected": true}])
        );
        assert_eq!(
            r["guest_customization"]["cloud_init"]["user_data"],
            "I2Nsb3VkLWNvbmZpZwo="
        );
    }

    #[test]
    fn secure_boot_windows_vtpm_static_ip_and_cd() {
        let cfg = config(json!({
            "boot_type": "secure_boot", "boot_priority": "disk", "vtpm": {"enabled": true},
            "hardware_virtualization": true,
            "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
            "vm_nics": [{"subnet_uuid": "0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f", "ip_address": "10.0.0.9"}],
            "user_data": "<unattend/>", "os_type": "Windows",
        }));
        let mut st = state(vec![None]);
        st.cd_image = Some(Named {
            uuid: "cd".into(),
            name: "cd.iso".into(),
        });
        let body = serde_json::to_value(vm_intent(&cfg, &st, "v").unwrap()).unwrap();
        let r = &body["spec"]["resources"];
        assert_eq!(r["machine_type"], "Q35");
        assert_eq!(r["boot_config"]["boot_type"], "SECURE_BOOT");
        assert_eq!(
            r["boot_config"]["boot_device_order_list"],
            json!(["DISK", "CDROM", "NETWORK"])
        );
        assert_eq!(r["vtpm_config"], json!({"vtpm_enabled": true}));
        assert_eq!(r["hardware_virtualization_enabled"], true);
        assert_eq!(r["guest_customization"]["sysprep"]["install_type"], "FRESH");
        assert_eq!(
            r["nic_list"][0]["ip_endpoint_list"],
            json!([{"ip": "10.0.0.9", "type": "ASSIGNED"}])
        );
        // The CD goes after the template's disks, on the next SATA slot.
        assert_eq!(
            r["disk_list"][1],
            json!({"device_properties": {"device_type": "CDROM", "disk_address": {"adapter_type": "SATA", "device_index": 0}},
                   "data_source_reference": {"kind": "image", "uuid": "cd"}})
        );
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
        let keys =
            crate::temp_key::BuildKeys::generated("PRIVATE".into(), "ssh-ed25519 AAAATEMP\n");
        // No user_data: a minimal cloud-config, meta_data kept.
        let cfg = config(json!({
            "communicator": "ssh", "ssh_username": "ubuntu",
            "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}], "vm_nics": [{"subnet_name": "n"}],
            "meta_data": "instance-id: i-1\n",
        }));
        let mut st = state(vec![None]);
        st.ssh_keys = Some(keys.clone());
        let body = serde_json::to_value(vm_intent(&cfg, &st, "v").unwrap()).unwrap();
        let ci = &body["spec"]["resources"]["guest_customization"]["cloud_init"];
        let text = decode(&ci["user_data"]);
        assert!(text.starts_with("#cloud-config\n"), "{text}");
        assert!(text.contains("  - \"ssh-ed25519 AAAATEMP\"\n"), "{text}");
        assert_eq!(ci["meta_data"], "aW5zdGFuY2UtaWQ6IGktMQo=");
        // The template's cloud-config: kept, key added to the top level and to the user.
        let cfg = config(json!({
            "communicator": "ssh", "ssh_username": "ubuntu", "os_type": "Linux",
            "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}], "vm_nics": [{"subnet_name": "n"}],
            "user_data": "#cloud-config\nusers:\n  - name: ubuntu\n    shell: /bin/bash\n",
        }));
        let body = serde_json::to_value(vm_intent(&cfg, &st, "v").unwrap()).unwrap();
        let text =
            decode(&body["spec"]["resources"]["guest_customization"]["cloud_init"]["user_data"]);
        assert_eq!(
            text,
            "#cloud-config\nusers:\n  - name: ubuntu\n    ssh_authorized_keys:\n      - \"ssh-ed25519 AAAATEMP\"\n    shell: /bin/bash\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAATEMP\"\n"
        );
        // Without a key pair, no guest customization appears from nowhere.
        st.ssh_keys = None;
        let cfg = config(json!({
            "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}], "vm_nics": [{"subnet_name": "n"}],
        }));
        let body = serde_json::to_value(vm_intent(&cfg, &st, "v").unwrap()).unwrap();
        assert!(body["spec"]["resources"]
            .get("guest_customization")
            .is_none());
    }

    #[test]
    fn no_cdrom_means_no_cdrom_in_the_boot_order() {
        assert_eq!(
            boot_order(BootPriority::Cdrom, false),
            vec![BootDevice::Disk, BootDevice::Network]
        );
    }

    #[test]
    fn output_names_follow_the_go_plugin() {
        assert_eq!(output_image_name("golden", 1), "golden");
        assert_eq!(output_image_name("golden", 2), "golden-disk2");
        assert_eq!(output_image_name("golden", 3), "golden-disk3");
        assert_eq!(
            export_path("out", "golden-disk2"),
            PathBuf::from("out/golden-disk2.img")
        );
    }
}
