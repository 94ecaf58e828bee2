//! Projects: the optional owner of the build VM.

use serde::{Deserialize, Serialize};

use super::common::{Extra, Metadata};

/// Spec or status of a project; only the name is needed, the rest is kept raw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProjectBody {
    /// Project name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Entity state (status only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Fields not modelled here (resources, quotas...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A project as Prism returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Project {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Metadata.
    #[serde(default)]
    pub metadata: Metadata,
    /// Desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ProjectBody>,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProjectBody>,
}

impl Project {
    /// UUID; `None` when Prism answered without one (the caller says which entity lacked it).
    pub fn uuid(&self) -> Option<&str> {
        self.metadata.uuid.as_deref().filter(|u| !u.is_empty())
    }

    /// Name from the status (what the Go plugin matched on), else the spec.
    pub fn name(&self) -> &str {
        self.status
            .as_ref()
            .map(|s| s.name.as_str())
            .filter(|n| !n.is_empty())
            .or_else(|| self.spec.as_ref().map(|s| s.name.as_str()))
            .unwrap_or_default()
    }
}
