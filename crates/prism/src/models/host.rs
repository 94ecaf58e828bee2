//! Hosts: only their GPU inventory is needed, to resolve a `gpu { name }` block.

use serde::{Deserialize, Serialize};

use super::common::{Extra, Metadata, Reference};
use super::enums::{GpuMode, GpuVendor};

/// One physical or virtual GPU of a host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostGpu {
    /// Device name users put in the template (`Tesla T4`, a vGPU profile name...).
    #[serde(default)]
    pub name: String,
    /// PCI device id; what a VM's `gpu_list` refers to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<i64>,
    /// Vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<GpuVendor>,
    /// Mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<GpuMode>,
    /// Whether it can be given to a VM now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignable: Option<bool>,
    /// GPU uuid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// The VM using it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_reference: Option<Reference>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.resources` of a host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostResources {
    /// GPUs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gpu_list: Vec<HostGpu>,
    /// The cluster the host belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_reference: Option<Reference>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of a host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostStatus {
    /// Host name.
    #[serde(default)]
    pub name: String,
    /// Resources.
    #[serde(default)]
    pub resources: HostResources,
    /// The cluster the host belongs to (some PCs put it here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_reference: Option<Reference>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A host as Prism returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// Observed state.
    #[serde(default)]
    pub status: HostStatus,
}

impl Host {
    /// UUID; `None` when Prism answered without one (the caller says which entity lacked it).
    pub fn uuid(&self) -> Option<&str> {
        self.metadata.uuid.as_deref().filter(|u| !u.is_empty())
    }

    /// The cluster of the host, wherever Prism put it.
    pub fn cluster_uuid(&self) -> Option<&str> {
        self.status
            .resources
            .cluster_reference
            .as_ref()
            .or(self.status.cluster_reference.as_ref())
            .map(|r| r.uuid.as_str())
    }
}
