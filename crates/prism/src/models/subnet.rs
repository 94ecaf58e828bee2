//! Subnets: what VM NICs attach to.

use serde::{Deserialize, Serialize};

use super::common::{Extra, MessageResource, Metadata, Reference};

/// `resources` of a subnet (spec and status share the shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubnetResources {
    /// `VLAN` or `OVERLAY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet_type: Option<String>,
    /// VLAN id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vlan_id: Option<i64>,
    /// Virtual switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vswitch_name: Option<String>,
    /// IPAM configuration (present only with Prism-managed addresses).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_config: Option<serde_json::Value>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// Spec or status of a subnet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubnetBody {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The cluster a VLAN subnet lives on (absent for overlay subnets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_reference: Option<Reference>,
    /// Entity state (status only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Errors (status only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_list: Vec<MessageResource>,
    /// Resources.
    #[serde(default)]
    pub resources: SubnetResources,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A subnet as Prism returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subnet {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// Desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<SubnetBody>,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<SubnetBody>,
}

impl Subnet {
    /// UUID; `None` when Prism answered without one (the caller says which entity lacked it).
    pub fn uuid(&self) -> Option<&str> {
        self.metadata.uuid.as_deref().filter(|u| !u.is_empty())
    }

    /// Name from the spec, else the status.
    pub fn name(&self) -> &str {
        self.spec
            .as_ref()
            .map(|s| s.name.as_str())
            .filter(|n| !n.is_empty())
            .or_else(|| self.status.as_ref().map(|s| s.name.as_str()))
            .unwrap_or_default()
    }

    /// The cluster a VLAN subnet is bound to; `None` for overlay subnets (usable anywhere).
    pub fn cluster_uuid(&self) -> Option<&str> {
        self.spec
            .as_ref()
            .and_then(|s| s.cluster_reference.as_ref())
            .or_else(|| self.status.as_ref()?.cluster_reference.as_ref())
            .map(|r| r.uuid.as_str())
    }
}
