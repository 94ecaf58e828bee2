//! VMs: the build machine, created from images and snapshotted back into images.
//!
//! Every list in the spec is an `Option<Vec<_>>`: `None` omits the field, `Some(vec![])` sends
//! an empty list. A PUT replaces the whole spec, so the difference matters (an omitted
//! `disk_list` and an empty one are not the same request).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::common::{ExecutionContext, Extra, MessageResource, Metadata, Reference};
use super::enums::{
    AdapterType, BootDevice, BootType, DeviceType, GpuMode, GpuVendor, MachineType, PowerMechanism,
    PowerState, SysprepInstallType,
};

/// Bus and slot of a disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskAddress {
    /// Bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapter_type: Option<AdapterType>,
    /// Slot on the bus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_index: Option<i64>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Disk or CD-ROM, and where it sits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceProperties {
    /// Disk or CD-ROM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_type: Option<DeviceType>,
    /// Bus and slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_address: Option<DiskAddress>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Storage placement of a disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StorageConfig {
    /// Container an empty disk is created in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_container_reference: Option<Reference>,
    /// Flash mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_mode: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One disk or CD-ROM of a VM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmDisk {
    /// Disk uuid (assigned by Prism); the `vm_disk` a snapshot image is made from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Type and address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_properties: Option<DeviceProperties>,
    /// Image (or other entity) the disk is cloned from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_reference: Option<Reference>,
    /// Size in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_size_mib: Option<i64>,
    /// Size in bytes (reported by Prism).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_size_bytes: Option<i64>,
    /// Storage placement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_config: Option<StorageConfig>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl VmDisk {
    /// The device type, if set.
    pub fn device_type(&self) -> Option<&DeviceType> {
        self.device_properties.as_ref()?.device_type.as_ref()
    }
}

/// One IP address of a NIC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpEndpoint {
    /// The address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `ASSIGNED` or `LEARNED`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One NIC of a VM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmNic {
    /// NIC uuid (assigned by Prism).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Subnet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_reference: Option<Reference>,
    /// MAC address (`50:6b:8d:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    /// Addresses (requested in the spec, observed in the status).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_endpoint_list: Option<Vec<IpEndpoint>>,
    /// Link state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_connected: Option<bool>,
    /// `NORMAL_NIC`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nic_type: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One GPU requested for a VM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmGpu {
    /// PCI device id from the host inventory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<i64>,
    /// Vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<GpuVendor>,
    /// Mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<GpuMode>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A serial port (Debian/Ubuntu cloud images panic without one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SerialPort {
    /// Port index.
    #[serde(default)]
    pub index: i64,
    /// Connected.
    #[serde(default)]
    pub is_connected: bool,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Boot firmware and order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BootConfig {
    /// Firmware.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_type: Option<BootType>,
    /// Device classes in boot order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_device_order_list: Option<Vec<BootDevice>>,
    /// Fields not modelled here (`boot_device`...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// How a power-off is carried out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PowerStateMechanism {
    /// ACPI, HARD or GUEST.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<PowerMechanism>,
    /// Fields not modelled here (`guest_transition_config`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// cloud-init data; both values must already be base64.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CloudInit {
    /// Base64 user-data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    /// Base64 meta-data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Sysprep data for Windows guests.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sysprep {
    /// FRESH or PREPARED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_type: Option<SysprepInstallType>,
    /// Base64 unattend.xml.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unattend_xml: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Guest customisation, set only at create time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GuestCustomization {
    /// Linux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_init: Option<CloudInit>,
    /// Windows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysprep: Option<Sysprep>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Virtual TPM switch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VtpmConfig {
    /// On or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtpm_enabled: Option<bool>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `resources` of a VM (spec and status share it; `host_reference` is status-only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmResources {
    /// Sockets (`cpu` in the template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_sockets: Option<i64>,
    /// vCPUs per socket (`core` in the template).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_vcpus_per_socket: Option<i64>,
    /// Memory in MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_size_mib: Option<i64>,
    /// Power state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_state: Option<PowerState>,
    /// How a transition to OFF is made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_state_mechanism: Option<PowerStateMechanism>,
    /// Chipset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_type: Option<MachineType>,
    /// Firmware and boot order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_config: Option<BootConfig>,
    /// Disks and CD-ROMs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_list: Option<Vec<VmDisk>>,
    /// NICs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nic_list: Option<Vec<VmNic>>,
    /// GPUs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_list: Option<Vec<VmGpu>>,
    /// Serial ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_port_list: Option<Vec<SerialPort>>,
    /// cloud-init or sysprep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_customization: Option<GuestCustomization>,
    /// vTPM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vtpm_config: Option<VtpmConfig>,
    /// Nested virtualisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_virtualization_enabled: Option<bool>,
    /// Host the VM runs on (status only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_reference: Option<Reference>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The desired state of a VM: what POST /vms and PUT /vms/{uuid} carry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmSpec {
    /// VM name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The cluster to run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_reference: Option<Reference>,
    /// Resources.
    #[serde(default)]
    pub resources: VmResources,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The observed state of a VM.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmStatus {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `PENDING`, `COMPLETE`, `ERROR`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_list: Vec<MessageResource>,
    /// The task of the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_context: Option<ExecutionContext>,
    /// Cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_reference: Option<Reference>,
    /// Resources.
    #[serde(default)]
    pub resources: VmResources,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A VM as Prism returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vm {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Metadata (uuid, spec_version, categories, project).
    #[serde(default)]
    pub metadata: Metadata,
    /// Desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<VmSpec>,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<VmStatus>,
}

impl Vm {
    /// UUID; `None` when Prism answered without one (the caller says which entity lacked it).
    pub fn uuid(&self) -> Option<&str> {
        self.metadata.uuid.as_deref().filter(|u| !u.is_empty())
    }

    /// Observed power state.
    pub fn power_state(&self) -> Option<&PowerState> {
        self.status.as_ref()?.resources.power_state.as_ref()
    }

    /// Every IP Prism reports on every NIC, in NIC order (the Go plugin only looked at NIC 0).
    pub fn ip_addresses(&self) -> Vec<String> {
        let Some(status) = &self.status else {
            return Vec::new();
        };
        status
            .resources
            .nic_list
            .iter()
            .flatten()
            .flat_map(|nic| nic.ip_endpoint_list.iter().flatten())
            .filter_map(|ep| ep.ip.clone())
            .filter(|ip| !ip.is_empty())
            .collect()
    }

    /// Disks (not CD-ROMs) of the spec, falling back to the status: what snapshot-to-image uses.
    pub fn data_disks(&self) -> Vec<&VmDisk> {
        let spec_disks = self
            .spec
            .as_ref()
            .map(|s| disks_of(&s.resources))
            .unwrap_or_default();
        if spec_disks.iter().any(|d| d.uuid.is_some()) {
            return spec_disks;
        }
        self.status
            .as_ref()
            .map(|s| disks_of(&s.resources))
            .unwrap_or(spec_disks)
    }

    /// The task of the last change, from `status.execution_context`.
    pub fn task_uuid(&self) -> Option<&str> {
        self.status
            .as_ref()?
            .execution_context
            .as_ref()?
            .task_uuid()
    }
}

fn disks_of(r: &VmResources) -> Vec<&VmDisk> {
    r.disk_list
        .iter()
        .flatten()
        .filter(|d| d.device_type() == Some(&DeviceType::Disk))
        .collect()
}

/// Body of `POST /vms` and `PUT /vms/{uuid}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VmIntentInput {
    /// Optional API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Metadata; kind `vm`, and on PUT the `spec_version` that was read.
    pub metadata: Metadata,
    /// The desired state.
    pub spec: VmSpec,
}

impl VmIntentInput {
    /// Sets `categories_mapping` and the flag Prism needs to read it.
    pub fn with_categories(mut self, mapping: BTreeMap<String, Vec<String>>) -> Self {
        if !mapping.is_empty() {
            self.metadata.categories_mapping = Some(mapping);
            self.metadata.use_categories_mapping = Some(true);
        }
        self
    }
}
