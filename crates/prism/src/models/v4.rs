//! The v4 envelope shapes the template calls read: `{data, metadata}`, list paging, and the
//! `TaskReference` whose id names a task that the v3 `/tasks` endpoint serves.

use serde::{Deserialize, Serialize};

use super::common::Extra;

/// Every v4 answer: the payload under `data` (absent on an empty list) plus metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct V4Response<T> {
    /// The payload; `None` when Prism omits it (a list with no match) or sends `null`.
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    /// Paging and flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<V4Metadata>,
    /// Fields not modelled here (`$objectType`...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `common.v1.response.ApiResponseMetadata`: what a pager needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct V4Metadata {
    /// How many entities match in total (lists only).
    #[serde(
        default,
        rename = "totalAvailableResults",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_available_results: Option<u64>,
    /// `hasError`, `isPaginated`...
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<V4Flag>,
    /// Fields not modelled here (`links`...).
    #[serde(flatten)]
    pub extra: Extra,
}

/// One `{name, value}` metadata flag.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct V4Flag {
    /// Flag name.
    #[serde(default)]
    pub name: String,
    /// Flag value.
    #[serde(default)]
    pub value: bool,
}

/// `prism.v4.config.TaskReference`: the task a v4 mutation started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskReference {
    /// `<base64 cluster id>:<task uuid>`.
    #[serde(default, rename = "extId", skip_serializing_if = "Option::is_none")]
    pub ext_id: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

impl TaskReference {
    /// The v3 task uuid inside `extId` (see [`task_uuid_of_ext_id`]).
    pub fn task_uuid(&self) -> Option<&str> {
        task_uuid_of_ext_id(self.ext_id.as_deref()?)
    }
}

/// The v3 task uuid inside a v4 task extId: the part after the LAST `:` (`ZXJnb24=:<uuid>`),
/// or the whole id when it has no `:`. `None` when that part is empty or blank. The Go plugin
/// indexes `[1]` of a split on `:`, which panics on an id without one; this never does.
pub fn task_uuid_of_ext_id(ext_id: &str) -> Option<&str> {
    let tail = ext_id.rsplit(':').next().unwrap_or(ext_id).trim();
    (!tail.is_empty()).then_some(tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_uuid_is_the_part_after_the_last_colon() {
        // docs/design/prism-v3.md, 'Creating a template': the shape the Go plugin v1.2.1 splits.
        assert_eq!(
            task_uuid_of_ext_id("ZXJnb24=:0b7f6a2e-1111-4c1d-8e2f-000000000001"),
            Some("0b7f6a2e-1111-4c1d-8e2f-000000000001")
        );
        assert_eq!(task_uuid_of_ext_id("a:b:c-uuid"), Some("c-uuid"));
    }

    #[test]
    fn malformed_ext_ids_never_panic() {
        assert_eq!(task_uuid_of_ext_id("plain-uuid"), Some("plain-uuid"));
        assert_eq!(task_uuid_of_ext_id(""), None);
        assert_eq!(task_uuid_of_ext_id(":"), None);
        assert_eq!(task_uuid_of_ext_id("ZXJnb24=:"), None);
        assert_eq!(task_uuid_of_ext_id("ZXJnb24=:  "), None);
        assert_eq!(task_uuid_of_ext_id("::"), None);
    }

    #[test]
    fn create_response_envelope_parses() {
        // prism-v3.md, 'Creating a template': the 202 body of POST /content/templates.
        let body = r#"{"$objectType":"vmm.v4.content.CreateTemplateApiResponse","data":{"$objectType":
            "prism.v4.config.TaskReference","extId":"ZXJnb24=:5d1c0e4f-2222-4a5b-9c6d-00000000000a"},
            "metadata":{"$objectType":"common.v1.response.ApiResponseMetadata","flags":[
            {"name":"hasError","value":false},{"name":"isPaginated","value":false}]}}"#;
        let r: V4Response<TaskReference> = serde_json::from_str(body).unwrap();
        let data = r.data.unwrap();
        assert_eq!(
            data.task_uuid(),
            Some("5d1c0e4f-2222-4a5b-9c6d-00000000000a")
        );
        let flags = r.metadata.unwrap().flags;
        assert_eq!(flags.len(), 2);
        assert_eq!(flags[0].name, "hasError");
        assert!(!flags[0].value);
        let none: V4Response<TaskReference> =
            serde_json::from_str(r#"{"data":{"$objectType":"prism.v4.config.TaskReference"}}"#)
                .unwrap();
        assert_eq!(none.data.unwrap().task_uuid(), None);
    }
}
