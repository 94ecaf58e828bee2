//! Categories: checked before use, so a typo fails with a clear message instead of a VM
//! create error.

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::models::{CategoryKey, CategoryValue, ListRequest, ListResponse};

impl PrismClient {
    /// `GET /categories/{key}`; `None` if the key does not exist.
    pub async fn category_key(&self, key: &str) -> Result<Option<CategoryKey>, PrismError> {
        not_found_is_none(
            self.get_json(&format!("get category key '{key}'"), &["categories", key])
                .await,
        )
    }

    /// `GET /categories/{key}/{value}`; `None` if the pair does not exist.
    pub async fn category_value(
        &self,
        key: &str,
        value: &str,
    ) -> Result<Option<CategoryValue>, PrismError> {
        not_found_is_none(
            self.get_json(
                &format!("get category '{key}: {value}'"),
                &["categories", key, value],
            )
            .await,
        )
    }

    /// True if the key/value pair exists.
    pub async fn category_exists(&self, key: &str, value: &str) -> Result<bool, PrismError> {
        Ok(self.category_value(key, value).await?.is_some())
    }

    /// Every value of a key (`POST /categories/{key}/list`).
    pub async fn category_values(&self, key: &str) -> Result<Vec<CategoryValue>, PrismError> {
        let op = format!("list values of category '{key}'");
        let request = ListRequest {
            kind: "category".to_string(),
            length: Some(self.inner.config.page_size.max(1)),
            ..ListRequest::default()
        };
        let mut out = Vec::new();
        let mut offset = 0u32;
        for _ in 0..10_000 {
            let page = ListRequest {
                offset: Some(offset),
                ..request.clone()
            };
            let response: ListResponse<CategoryValue> = self
                .list_page(&op, &["categories", key, "list"], &page)
                .await?;
            let got = u32::try_from(response.entities.len()).unwrap_or(u32::MAX);
            out.extend(response.entities);
            offset = offset.saturating_add(got);
            let total = response.metadata.total_matches.unwrap_or(0);
            if got == 0 || u64::from(offset) >= total {
                break;
            }
        }
        Ok(out)
    }
}

fn not_found_is_none<T>(result: Result<T, PrismError>) -> Result<Option<T>, PrismError> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
