//! VM templates as the v4 content API returns them (`vmm.v4.content.Template`).

use serde::{Deserialize, Serialize};

use super::common::Extra;

/// One template: the builder needs its id (to delete it), name and times.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateEntity {
    /// Template id.
    #[serde(default, rename = "extId", skip_serializing_if = "Option::is_none")]
    pub ext_id: Option<String>,
    /// Name (not unique).
    #[serde(
        default,
        rename = "templateName",
        skip_serializing_if = "Option::is_none"
    )]
    pub template_name: Option<String>,
    /// Free text.
    #[serde(
        default,
        rename = "templateDescription",
        skip_serializing_if = "Option::is_none"
    )]
    pub template_description: Option<String>,
    /// RFC 3339 creation time.
    #[serde(
        default,
        rename = "createTime",
        skip_serializing_if = "Option::is_none"
    )]
    pub create_time: Option<String>,
    /// RFC 3339 time of the last update.
    #[serde(
        default,
        rename = "updateTime",
        skip_serializing_if = "Option::is_none"
    )]
    pub update_time: Option<String>,
    /// Fields not modelled here (`templateVersionSpec`, `createdBy`, `$objectType`...).
    #[serde(flatten)]
    pub extra: Extra,
}

impl TemplateEntity {
    /// Id, empty if Prism sent none.
    pub fn ext_id(&self) -> &str {
        self.ext_id.as_deref().unwrap_or_default()
    }

    /// Name, empty if Prism sent none.
    pub fn name(&self) -> &str {
        self.template_name.as_deref().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::V4Response;

    #[test]
    fn list_envelope_of_the_contract_parses() {
        // docs/design/prism-v3.md, 'Listing templates'.
        let body = r#"{"data":[{"$objectType":"vmm.v4.content.Template","extId":"t-1",
            "templateName":"golden","templateDescription":"built by Packer",
            "createTime":"2025-01-02T03:04:05Z","updateTime":"2025-01-02T03:04:06Z",
            "createdBy":{"extId":"u-1"},"templateVersionSpec":{"extId":"v-1",
            "versionName":"1","isActiveVersion":true}}],
            "metadata":{"totalAvailableResults":1,"flags":[{"name":"hasError","value":false}]}}"#;
        let r: V4Response<Vec<TemplateEntity>> = serde_json::from_str(body).unwrap();
        assert_eq!(r.metadata.unwrap().total_available_results, Some(1));
        let list = r.data.unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].ext_id(), "t-1");
        assert_eq!(list[0].name(), "golden");
        assert_eq!(
            list[0].template_description.as_deref(),
            Some("built by Packer")
        );
        assert_eq!(list[0].create_time.as_deref(), Some("2025-01-02T03:04:05Z"));
        assert!(list[0].extra.contains_key("templateVersionSpec"));
    }

    #[test]
    fn empty_list_has_no_data() {
        // v4 convention: `data` is absent when nothing matches.
        let r: V4Response<Vec<TemplateEntity>> =
            serde_json::from_str(r#"{"metadata":{"totalAvailableResults":0}}"#).unwrap();
        assert!(r.data.is_none());
        let r: V4Response<Vec<TemplateEntity>> = serde_json::from_str(r#"{"data":null}"#).unwrap();
        assert!(r.data.is_none());
    }
}
