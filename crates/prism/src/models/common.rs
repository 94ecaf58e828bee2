//! Shapes shared by every v3 kind: references, metadata, list envelopes, messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields Prism sent that this client has no typed field for. Kept so that a GET → modify →
/// PUT round trip never silently drops settings (a PUT replaces the whole spec).
pub type Extra = Map<String, Value>;

/// A `{kind, uuid, name}` pointer to another entity: Prism's only way to link entities.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The referenced entity's kind (`cluster`, `subnet`, `image`, `vm_disk`, ...).
    #[serde(default)]
    pub kind: String,
    /// The referenced entity's UUID.
    #[serde(default)]
    pub uuid: String,
    /// Display name; Prism fills it in responses, requests may omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Reference {
    /// A reference with kind and uuid only, the form every request uses.
    pub fn new(kind: &str, uuid: &str) -> Self {
        Self {
            kind: kind.to_string(),
            uuid: uuid.to_string(),
            name: None,
            extra: Extra::new(),
        }
    }
}

/// Entity metadata: identity, optimistic-concurrency version, categories and project.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metadata {
    /// Entity kind; required by Prism on every intent input.
    #[serde(default)]
    pub kind: String,
    /// Entity UUID (absent on create unless the client picks one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Version of the current spec; a PUT must carry the value it read (409 otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_version: Option<i64>,
    /// Hash of the spec, echoed back as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_hash: Option<String>,
    /// Entity name as Prism records it in metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Old-style categories: one value per key (images use this).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<BTreeMap<String, String>>,
    /// New-style categories: several values per key (VMs use this with `use_categories_mapping`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories_mapping: Option<BTreeMap<String, Vec<String>>>,
    /// Must be `true` for Prism to read `categories_mapping`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_categories_mapping: Option<bool>,
    /// The project that owns the entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_reference: Option<Reference>,
    /// The owning user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_reference: Option<Reference>,
    /// RFC 3339 creation time, as Prism formats it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
    /// RFC 3339 time of the last update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Metadata {
    /// Metadata with only the kind set, the minimum a create needs.
    pub fn of_kind(kind: &str) -> Self {
        Self {
            kind: kind.to_string(),
            ..Self::default()
        }
    }
}

/// Body of every v3 `POST /{kind}s/list`: paging and the FIQL filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListRequest {
    /// Kind being listed (`image`, `cluster`, ...).
    pub kind: String,
    /// FIQL filter (see [`crate::fiql`]); omitted lists everything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Page size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// Index of the first entity of the page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Attribute to sort on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_attribute: Option<String>,
    /// `ASCENDING` or `DESCENDING`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
}

/// The `metadata` block of a list response: tells the pager how much is left.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ListMetadata {
    /// Kind listed.
    #[serde(default)]
    pub kind: String,
    /// Page size used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Offset of this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// How many entities match in total.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_matches: Option<u64>,
    /// Filter Prism applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A v3 list response envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct ListResponse<T> {
    /// API version string (`3.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Paging information.
    #[serde(default)]
    pub metadata: ListMetadata,
    /// The entities of this page.
    #[serde(default = "Vec::new")]
    pub entities: Vec<T>,
}

/// One entry of Prism's `message_list`: the human text the user must see verbatim.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageResource {
    /// Human-readable message.
    #[serde(default)]
    pub message: String,
    /// Machine-readable reason (`ENTITY_NOT_FOUND`, `INVALID_ARGUMENT`, ...).
    #[serde(default)]
    pub reason: String,
    /// Free-form details (an object of strings on most PCs; kept as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// Where an intentful response says which task carries out the change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionContext {
    /// Usually a string; older PCs have been seen to send a list (the Go client types it `interface{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_uuid: Option<Value>,
}

impl ExecutionContext {
    /// The task UUID whether Prism sent a string or a one-element list.
    pub fn task_uuid(&self) -> Option<&str> {
        match self.task_uuid.as_ref()? {
            Value::String(s) if !s.is_empty() => Some(s.as_str()),
            Value::Array(items) => items.iter().find_map(|v| v.as_str()),
            _ => None,
        }
    }
}

/// Status block of a DELETE response: only the task matters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeleteStatus {
    /// `DELETE_PENDING` and the like.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The deletion task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_context: Option<ExecutionContext>,
}

/// Response of `DELETE /{kind}s/{uuid}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeleteResponse {
    /// Deletion status with its task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeleteStatus>,
    /// Metadata of the deleted entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}
