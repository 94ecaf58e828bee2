//! VM templates through the raw v4 content API (what the Go plugin v1.2.1 calls from its v3
//! code line): create from a VM, look up by name, read, delete.
//!
//! Every v4 mutation carries a fresh `NTNX-Request-Id` (Prism's idempotency key: the same id
//! is repeated on a transport retry of that one request, never reused for another). The task a
//! mutation starts is named in `data.extId` as `<cluster>:<uuid>`, and its uuid is polled on
//! the v3 `/tasks` endpoint, as the Go plugin does.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ETAG, IF_MATCH};
use reqwest::Method;
use serde_json::json;

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::models::{TaskReference, TemplateEntity, V4Response};
use crate::odata;
use crate::tasks::Wait;
use crate::transport::{decode, Retry};

/// The header v4 requires on every mutation.
pub const REQUEST_ID_HEADER: &str = "ntnx-request-id";

/// Most entities one v4 list page may return.
const MAX_V4_PAGE: u32 = 100;

/// What the builder asks for when it turns its VM into a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTemplate {
    /// Template name.
    pub name: String,
    /// Template description.
    pub description: String,
    /// The VM whose configuration and disks become the template.
    pub vm_uuid: String,
}

impl NewTemplate {
    /// The `POST /content/templates` body, the Go plugin's (docs/design/prism-v3.md, 'Creating a
    /// template').
    pub fn to_body(&self) -> serde_json::Value {
        json!({
            "$objectType": "vmm.v4.content.Template",
            "templateName": self.name,
            "templateDescription": self.description,
            "templateVersionSpec": {
                "$objectType": "vmm.v4.content.TemplateVersionSpec",
                "versionSource": {
                    "$objectType": "vmm.v4.content.TemplateVmReference",
                    "extId": self.vm_uuid,
                },
                "isActiveVersion": true,
                "isGcOverrideEnabled": true,
            },
        })
    }
}

/// A template as the builder reports and cleans it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Template id.
    pub ext_id: String,
    /// Name (not unique).
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// RFC 3339 creation time.
    pub create_time: Option<String>,
}

impl From<TemplateEntity> for Template {
    fn from(e: TemplateEntity) -> Self {
        Self {
            ext_id: e.ext_id.unwrap_or_default(),
            name: e.template_name.unwrap_or_default(),
            description: e.template_description,
            create_time: e.create_time,
        }
    }
}

/// Headers with a fresh `NTNX-Request-Id`.
fn mutation_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    // A hyphenated UUID is always a valid header value; the fallback is unreachable.
    if let Ok(value) = HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), value);
    }
    headers
}

/// The v3 task uuid of a v4 mutation's answer; `None` for an empty body or one without a
/// TaskReference (deleted at once).
fn task_of_answer(op: &str, bytes: &[u8]) -> Result<Option<String>, PrismError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let answer: V4Response<TaskReference> = decode(op, bytes)?;
    Ok(answer
        .data
        .as_ref()
        .and_then(TaskReference::task_uuid)
        .map(str::to_string))
}

impl PrismClient {
    /// `POST /api/vmm/v4.0/content/templates` with a fresh `NTNX-Request-Id`; returns the v3
    /// task uuid (the part of `data.extId` after its last `:`) without waiting. Sent once
    /// (see [`crate::transport`]): a connection lost after sending gives
    /// [`PrismError::CreateOutcomeUnknown`]; look the template up by name before retrying.
    pub async fn submit_template(&self, new: &NewTemplate) -> Result<String, PrismError> {
        let op = format!("create template '{}' from VM {}", new.name, new.vm_uuid);
        let body = serde_json::to_vec(&new.to_body()).map_err(|e| PrismError::Decode {
            op: op.clone(),
            source: e,
            snippet: "<request body could not be encoded>".to_string(),
        })?;
        let (_, bytes) = self
            .send_with_headers(
                &op,
                Method::POST,
                self.v4_url(&["content", "templates"]),
                Some(body),
                Retry::CreateOnce,
                &mutation_headers(),
            )
            .await?;
        let task = task_of_answer(&op, &bytes)?.ok_or(PrismError::MissingField {
            op: op.clone(),
            field: "data.extId (task reference)",
        })?;
        tracing::info!(template = %new.name, vm = %new.vm_uuid, task = %task, "template create accepted");
        Ok(task)
    }

    /// Every template named exactly `name`: `GET …/templates?$filter=templateName eq '…'`,
    /// page by page, re-checked client-side.
    pub async fn templates_named(&self, name: &str) -> Result<Vec<Template>, PrismError> {
        let op = format!("look up template '{name}'");
        let filter = odata::equals("templateName", name);
        let limit = self.inner.config.page_size.clamp(1, MAX_V4_PAGE);
        let mut out: Vec<TemplateEntity> = Vec::new();
        // A PC that ignores `$page` would otherwise loop forever.
        for page in 0u32..100_000 {
            let url = self.templates_page_url(&filter, page, limit);
            let bytes = self
                .send(&op, Method::GET, url, None, Retry::Idempotent)
                .await?;
            let answer: V4Response<Vec<TemplateEntity>> = decode(&op, &bytes)?;
            let items = answer.data.unwrap_or_default();
            let got = items.len();
            out.extend(items);
            let total = answer.metadata.and_then(|m| m.total_available_results);
            let more = match total {
                Some(total) => (out.len() as u64) < total,
                None => got >= limit as usize,
            };
            if got == 0 || !more {
                break;
            }
        }
        Ok(out
            .into_iter()
            .filter(|t| t.name() == name)
            .map(Template::from)
            .collect())
    }

    /// One page of the template list. The query is form-encoded (`%24filter=…+eq+%27…%27`),
    /// as Go's `url.Values.Encode` in the v4 SDK writes it.
    fn templates_page_url(&self, filter: &str, page: u32, limit: u32) -> url::Url {
        let mut url = self.v4_url(&["content", "templates"]);
        url.query_pairs_mut()
            .append_pair("$filter", filter)
            .append_pair("$page", &page.to_string())
            .append_pair("$limit", &limit.to_string());
        url
    }

    /// `GET …/templates/{extId}`.
    pub async fn get_template(&self, ext_id: &str) -> Result<Template, PrismError> {
        self.template_with_etag(ext_id)
            .await
            .map(|(template, _)| Template::from(template))
    }

    async fn template_with_etag(
        &self,
        ext_id: &str,
    ) -> Result<(TemplateEntity, Option<HeaderValue>), PrismError> {
        let op = format!("get template {ext_id}");
        let (headers, bytes) = self
            .send_with_headers(
                &op,
                Method::GET,
                self.v4_url(&["content", "templates", ext_id]),
                None,
                Retry::Idempotent,
                &HeaderMap::new(),
            )
            .await?;
        let answer: V4Response<TemplateEntity> = decode(&op, &bytes)?;
        let template = answer
            .data
            .ok_or(PrismError::MissingField { op, field: "data" })?;
        Ok((template, headers.get(ETAG).cloned()))
    }

    /// Deletes a template and waits for the task: GET for the `ETag`, then DELETE with
    /// `If-Match` and a fresh `NTNX-Request-Id`. 404 (at either step) counts as deleted; a
    /// 412 (changed in between) re-reads and tries again, up to
    /// `ClientConfig::conflict_attempts` times.
    pub async fn delete_template(&self, ext_id: &str, wait: &Wait) -> Result<(), PrismError> {
        let op = format!("delete template {ext_id}");
        let attempts = self.inner.config.conflict_attempts.max(1);
        for attempt in 1..=attempts {
            let etag = match self.template_with_etag(ext_id).await {
                Ok((_, etag)) => etag,
                Err(e) if e.is_not_found() => {
                    tracing::info!(op, "already gone");
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            let mut headers = mutation_headers();
            if let Some(etag) = etag {
                headers.insert(IF_MATCH, etag);
            }
            let answer = self
                .send_with_headers(
                    &op,
                    Method::DELETE,
                    self.v4_url(&["content", "templates", ext_id]),
                    None,
                    Retry::Idempotent,
                    &headers,
                )
                .await;
            match answer {
                Ok((_, bytes)) => {
                    match task_of_answer(&op, &bytes)? {
                        Some(task) => {
                            self.wait_task_with(&task, &op, wait).await?;
                        }
                        None => {
                            tracing::info!(op, "Prism returned no deletion task; deleted at once")
                        }
                    }
                    return Ok(());
                }
                Err(e) if e.is_not_found() => {
                    tracing::info!(op, "already gone");
                    return Ok(());
                }
                Err(PrismError::Api { status: 412, .. }) => {
                    tracing::info!(
                        op,
                        attempt,
                        "ETag no longer matches; re-reading the template"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        Err(PrismError::Conflict { op, attempts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_matches_the_contract() {
        // prism-v3.md, 'Creating a template': the body the Go plugin v1.2.1 sends.
        let expected = json!({"$objectType":"vmm.v4.content.Template","templateName":"golden",
            "templateDescription":"built by Packer",
            "templateVersionSpec":{"$objectType":"vmm.v4.content.TemplateVersionSpec",
              "versionSource":{"$objectType":"vmm.v4.content.TemplateVmReference","extId":"vm-1"},
              "isActiveVersion":true,"isGcOverrideEnabled":true}});
        let new = NewTemplate {
            name: "golden".into(),
            description: "built by Packer".into(),
            vm_uuid: "vm-1".into(),
        };
        assert_eq!(new.to_body(), expected);
    }

    #[test]
    fn list_url_carries_an_encoded_odata_filter() {
        let client = PrismClient::new(crate::ClientConfig::new(
            "pc.example",
            9440,
            crate::Auth::basic("u", "p"),
        ))
        .unwrap();
        let url = client.templates_page_url(&odata::equals("templateName", "O'Neil & co"), 2, 50);
        assert_eq!(
            url.as_str(),
            "https://pc.example:9440/api/vmm/v4.0/content/templates\
             ?%24filter=templateName+eq+%27O%27%27Neil+%26+co%27&%24page=2&%24limit=50"
        );
        // Decoding gives back the OData text exactly.
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0].1, "templateName eq 'O''Neil & co'");
    }

    #[test]
    fn request_ids_are_fresh_uuids() {
        let a = mutation_headers();
        let b = mutation_headers();
        let id = |h: &HeaderMap| h[REQUEST_ID_HEADER].to_str().unwrap().to_string();
        assert!(uuid::Uuid::parse_str(&id(&a)).is_ok());
        assert_ne!(id(&a), id(&b));
    }

    #[test]
    fn task_of_answer_handles_every_shape() {
        assert_eq!(
            task_of_answer("op", br#"{"data":{"extId":"ZXJnb24=:t-1"}}"#).unwrap(),
            Some("t-1".into())
        );
        assert_eq!(
            task_of_answer("op", br#"{"data":{"extId":"t-2"}}"#).unwrap(),
            Some("t-2".into())
        );
        assert_eq!(task_of_answer("op", b"").unwrap(), None);
        assert_eq!(task_of_answer("op", b"{}").unwrap(), None);
        assert_eq!(
            task_of_answer("op", br#"{"data":{"extId":"ZXJnb24=:"}}"#).unwrap(),
            None
        );
        assert!(matches!(
            task_of_answer("op", b"<html>"),
            Err(PrismError::Decode { .. })
        ));
    }

    #[test]
    fn entity_converts_with_missing_fields() {
        let t: TemplateEntity = serde_json::from_value(json!({"extId": "x"})).unwrap();
        let t = Template::from(t);
        assert_eq!(t.ext_id, "x");
        assert_eq!(t.name, "");
        assert_eq!(t.description, None);
    }
}
