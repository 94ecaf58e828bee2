//! Categories: key/value labels that must exist before a VM or image may carry them.

use serde::{Deserialize, Serialize};

use super::common::Extra;

/// `GET /categories/{key}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryKey {
    /// The key.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Built into Prism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_defined: Option<bool>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET /categories/{key}/{value}` and the entities of `POST /categories/{key}/list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CategoryValue {
    /// The key this value belongs to.
    #[serde(default)]
    pub name: String,
    /// The value.
    #[serde(default)]
    pub value: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Built into Prism.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_defined: Option<bool>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
