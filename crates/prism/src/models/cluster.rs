//! Clusters: where VMs run and images are placed; Prism Central itself is listed too.

use serde::{Deserialize, Serialize};

use super::common::{Extra, MessageResource, Metadata};

/// `status.resources.config` of a cluster: only the service list is needed (PC detection).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterConfigStatus {
    /// Services the cluster runs; `PRISM_CENTRAL` marks the PC itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_list: Vec<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.resources` of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatusResources {
    /// Configuration.
    #[serde(default)]
    pub config: ClusterConfigStatus,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Observed state of a cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterStatus {
    /// Cluster name.
    #[serde(default)]
    pub name: String,
    /// Entity state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Errors.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_list: Vec<MessageResource>,
    /// Resources.
    #[serde(default)]
    pub resources: ClusterStatusResources,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A cluster as Prism returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// Desired state (rarely needed; kept raw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<serde_json::Value>,
    /// Observed state.
    #[serde(default)]
    pub status: ClusterStatus,
}

impl Cluster {
    /// UUID; `None` when Prism answered without one (the caller says which entity lacked it).
    pub fn uuid(&self) -> Option<&str> {
        self.metadata.uuid.as_deref().filter(|u| !u.is_empty())
    }

    /// Cluster name.
    pub fn name(&self) -> &str {
        if self.status.name.is_empty() {
            self.metadata.name.as_deref().unwrap_or_default()
        } else {
            &self.status.name
        }
    }

    /// True for the Prism Central pseudo-cluster, which can host neither VMs nor images.
    pub fn is_prism_central(&self) -> bool {
        self.status
            .resources
            .config
            .service_list
            .iter()
            .any(|s| s == "PRISM_CENTRAL")
    }
}
