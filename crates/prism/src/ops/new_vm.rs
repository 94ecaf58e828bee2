//! What a builder asks for when it creates a VM, in its own terms (disks cloned from images,
//! CD-ROMs, NICs on subnets, firmware, first-boot customization), and the v3 `POST /vms` body
//! rendered from it. The builder never writes Prism JSON; a v4 renderer renders the same request.

use std::collections::BTreeMap;

use crate::models::{
    AdapterType, BootConfig, BootDevice, BootType, CloudInit, DeviceProperties, DeviceType,
    DiskAddress, GuestCustomization, IpEndpoint, MachineType, Metadata, PowerState, Reference,
    SerialPort, StorageConfig, Sysprep, SysprepInstallType, VmDisk, VmGpu, VmIntentInput, VmNic,
    VmResources, VmSpec, VtpmConfig,
};

const MIB: u64 = 1024 * 1024;

/// One disk or CD-ROM of a new VM, in the order the VM gets them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewDisk {
    /// An empty disk.
    Empty {
        /// Size in MiB.
        size_mib: u64,
        /// Storage container UUID (Prism's default container when absent).
        storage_container: Option<String>,
    },
    /// A disk cloned from an image.
    FromImage {
        /// The image UUID.
        image: String,
        /// Size in MiB (the image's size when absent).
        size_mib: Option<u64>,
    },
    /// A CD-ROM backed by an image.
    Cdrom {
        /// The image UUID.
        image: String,
    },
}

impl NewDisk {
    /// The size of a disk that must be `size_gib` GiB, or at least as large as `image_bytes`.
    pub fn size_mib(size_gib: Option<u64>, image_bytes: Option<u64>) -> Option<u64> {
        size_gib
            .map(|g| g.saturating_mul(1024))
            .or_else(|| image_bytes.map(|b| b.div_ceil(MIB)))
    }
}

/// One NIC of a new VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNic {
    /// The subnet UUID.
    pub subnet: String,
    /// A fixed MAC address.
    pub mac: Option<String>,
    /// An IPAM address to assign.
    pub ip: Option<String>,
}

/// The firmware a new VM boots with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// BIOS.
    Legacy,
    /// UEFI.
    Uefi,
    /// UEFI with Secure Boot (machine type Q35).
    SecureBoot,
}

/// First-boot customization, with texts already base64-encoded as Prism wants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewGuest {
    /// None.
    Nothing,
    /// cloud-init.
    CloudInit {
        /// base64 user data.
        user_data: Option<String>,
        /// base64 meta data.
        meta_data: Option<String>,
    },
    /// A sysprep unattend XML (base64), install type FRESH.
    Sysprep(String),
}

/// A VM to create, powered on.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVm {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The cluster UUID.
    pub cluster: String,
    /// The owning project's UUID.
    pub project: Option<String>,
    /// Sockets.
    pub sockets: u32,
    /// Cores per socket.
    pub cores: u32,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// Disks and CD-ROMs.
    pub disks: Vec<NewDisk>,
    /// NICs.
    pub nics: Vec<NewNic>,
    /// Firmware.
    pub firmware: Firmware,
    /// CD-ROMs boot before disks.
    pub cdrom_first: bool,
    /// A virtual TPM.
    pub vtpm: bool,
    /// Nested virtualization.
    pub nested_virtualization: bool,
    /// A serial port.
    pub serial_port: bool,
    /// GPUs.
    pub gpus: Vec<VmGpu>,
    /// First-boot customization.
    pub guest: NewGuest,
    /// Categories, key → values.
    pub categories: BTreeMap<String, Vec<String>>,
}

/// The boot order: the Go plugin's two orders, without CDROM when the VM has no CD-ROM (some AOS
/// releases reject a boot order naming a device class the VM lacks).
fn boot_order(cdrom_first: bool, has_cdrom: bool) -> Vec<BootDevice> {
    match (cdrom_first, has_cdrom) {
        (_, false) => vec![BootDevice::Disk, BootDevice::Network],
        (true, true) => vec![BootDevice::Cdrom, BootDevice::Disk, BootDevice::Network],
        (false, true) => vec![BootDevice::Disk, BootDevice::Cdrom, BootDevice::Network],
    }
}

fn v3_disk(device: DeviceType, adapter: AdapterType, index: i64) -> VmDisk {
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
        ..VmDisk::default()
    }
}

fn mib(size: u64) -> Option<i64> {
    i64::try_from(size).ok()
}

impl NewVm {
    /// The v3 `POST /vms` body, with `uuid` as `metadata.uuid` (the caller picks it, so it
    /// knows the VM before Prism answers). Disks go on SCSI and CD-ROMs on SATA, each bus
    /// numbered from 0 in order.
    pub fn to_v3(&self, uuid: &str) -> VmIntentInput {
        let (mut scsi, mut sata) = (0i64, 0i64);
        let disks = self
            .disks
            .iter()
            .map(|d| match d {
                NewDisk::Empty {
                    size_mib,
                    storage_container,
                } => {
                    let mut v = v3_disk(DeviceType::Disk, AdapterType::Scsi, scsi);
                    scsi += 1;
                    v.disk_size_mib = mib(*size_mib);
                    v.storage_config = storage_container.as_ref().map(|sc| StorageConfig {
                        storage_container_reference: Some(Reference::new("storage_container", sc)),
                        ..StorageConfig::default()
                    });
                    v
                }
                NewDisk::FromImage { image, size_mib } => {
                    let mut v = v3_disk(DeviceType::Disk, AdapterType::Scsi, scsi);
                    scsi += 1;
                    v.data_source_reference = Some(Reference::new("image", image));
                    v.disk_size_mib = size_mib.and_then(mib);
                    v
                }
                NewDisk::Cdrom { image } => {
                    let mut v = v3_disk(DeviceType::Cdrom, AdapterType::Sata, sata);
                    sata += 1;
                    v.data_source_reference = Some(Reference::new("image", image));
                    v
                }
            })
            .collect();
        let nics = self
            .nics
            .iter()
            .map(|n| VmNic {
                subnet_reference: Some(Reference::new("subnet", &n.subnet)),
                mac_address: n.mac.clone(),
                ip_endpoint_list: n.ip.as_ref().map(|ip| {
                    vec![IpEndpoint {
                        ip: Some(ip.clone()),
                        kind: Some("ASSIGNED".to_string()),
                        extra: Default::default(),
                    }]
                }),
                is_connected: Some(true),
                ..VmNic::default()
            })
            .collect();
        let boot_type = match self.firmware {
            Firmware::Legacy => BootType::Legacy,
            Firmware::Uefi => BootType::Uefi,
            Firmware::SecureBoot => BootType::SecureBoot,
        };
        let guest = match &self.guest {
            NewGuest::Nothing => None,
            NewGuest::CloudInit {
                user_data,
                meta_data,
            } => Some(GuestCustomization {
                cloud_init: Some(CloudInit {
                    user_data: user_data.clone(),
                    meta_data: meta_data.clone(),
                    extra: Default::default(),
                }),
                ..GuestCustomization::default()
            }),
            NewGuest::Sysprep(xml) => Some(GuestCustomization {
                sysprep: Some(Sysprep {
                    install_type: Some(SysprepInstallType::Fresh),
                    unattend_xml: Some(xml.clone()),
                    extra: Default::default(),
                }),
                ..GuestCustomization::default()
            }),
        };
        let resources = VmResources {
            num_sockets: Some(i64::from(self.sockets)),
            num_vcpus_per_socket: Some(i64::from(self.cores)),
            memory_size_mib: mib(self.memory_mib),
            power_state: Some(PowerState::On),
            machine_type: (self.firmware == Firmware::SecureBoot).then_some(MachineType::Q35),
            boot_config: Some(BootConfig {
                boot_type: Some(boot_type),
                boot_device_order_list: Some(boot_order(self.cdrom_first, sata > 0)),
                extra: Default::default(),
            }),
            disk_list: Some(disks),
            nic_list: Some(nics),
            gpu_list: (!self.gpus.is_empty()).then(|| self.gpus.clone()),
            serial_port_list: self.serial_port.then(|| {
                vec![SerialPort {
                    index: 0,
                    is_connected: true,
                    extra: Default::default(),
                }]
            }),
            guest_customization: guest,
            vtpm_config: self.vtpm.then(|| VtpmConfig {
                vtpm_enabled: Some(true),
                extra: Default::default(),
            }),
            hardware_virtualization_enabled: self.nested_virtualization.then_some(true),
            ..VmResources::default()
        };
        let mut metadata = Metadata::of_kind("vm");
        metadata.uuid = Some(uuid.to_string());
        metadata.project_reference = self.project.as_ref().map(|p| Reference::new("project", p));
        VmIntentInput {
            api_version: None,
            metadata,
            spec: VmSpec {
                name: self.name.clone(),
                description: Some(self.description.clone()),
                cluster_reference: Some(Reference::new("cluster", &self.cluster)),
                resources,
                extra: Default::default(),
            },
        }
        .with_categories(self.categories.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vm() -> NewVm {
        NewVm {
            name: "Packer-TEST".into(),
            description: "Packer vm building image golden".into(),
            cluster: "c-uuid".into(),
            project: Some("p-uuid".into()),
            sockets: 2,
            cores: 4,
            memory_mib: 8192,
            disks: vec![
                NewDisk::FromImage {
                    image: "img".into(),
                    size_mib: NewDisk::size_mib(None, Some(40 * 1024 * MIB)),
                },
                NewDisk::Empty {
                    size_mib: 20480,
                    storage_container: Some("0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f".into()),
                },
                NewDisk::Cdrom {
                    image: "iso".into(),
                },
            ],
            nics: vec![NewNic {
                subnet: "s-uuid".into(),
                mac: Some("50:6b:8d:aa:bb:cc".into()),
                ip: None,
            }],
            firmware: Firmware::Legacy,
            cdrom_first: true,
            vtpm: false,
            nested_virtualization: false,
            serial_port: true,
            gpus: vec![],
            guest: NewGuest::CloudInit {
                user_data: Some("I2Nsb3VkLWNvbmZpZwo=".into()),
                meta_data: None,
            },
            categories: BTreeMap::from([("Env".into(), vec!["Dev".into(), "Prod".into()])]),
        }
    }

    #[test]
    fn body_has_the_go_plugin_v3_shape() {
        let body = serde_json::to_value(vm().to_v3("vm-uuid")).unwrap();
        // Field names and nesting as in the v3 API's vm_intent_input (docs/design/prism-v3.md).
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
        let mut v = vm();
        v.firmware = Firmware::SecureBoot;
        v.cdrom_first = false;
        v.vtpm = true;
        v.nested_virtualization = true;
        v.disks = vec![
            NewDisk::Empty {
                size_mib: 1024,
                storage_container: None,
            },
            NewDisk::Cdrom { image: "cd".into() },
        ];
        v.nics[0].ip = Some("10.0.0.9".into());
        v.guest = NewGuest::Sysprep("PHVuYXR0ZW5kLz4=".into());
        let body = serde_json::to_value(v.to_v3("v")).unwrap();
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
        assert_eq!(
            r["disk_list"][1],
            json!({"device_properties": {"device_type": "CDROM", "disk_address": {"adapter_type": "SATA", "device_index": 0}},
                   "data_source_reference": {"kind": "image", "uuid": "cd"}})
        );
    }

    #[test]
    fn no_cdrom_means_no_cdrom_in_the_boot_order() {
        assert_eq!(
            boot_order(true, false),
            vec![BootDevice::Disk, BootDevice::Network]
        );
        let mut v = vm();
        v.disks.pop();
        v.guest = NewGuest::Nothing;
        let body = serde_json::to_value(v.to_v3("v")).unwrap();
        let r = &body["spec"]["resources"];
        assert_eq!(
            r["boot_config"]["boot_device_order_list"],
            json!(["DISK", "NETWORK"])
        );
        assert!(r.get("guest_customization").is_none());
    }
}
