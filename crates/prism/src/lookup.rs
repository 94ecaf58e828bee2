//! Name lookups: server-side FIQL filter, paginated, exact name enforced client-side,
//! ambiguity reported with every candidate's UUID.
//!
//! Prism's `name==` is a pattern match, so the filtered list is only a candidate set. When it
//! holds no exact match (or Prism rejects the filter with a 4xx), the lookup lists the kind
//! unfiltered once before saying "not found": a name with pattern characters can never be
//! reported missing by mistake, and the extra listing happens only on the error path.

use serde::de::DeserializeOwned;

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::fiql;

/// What a lookup needs to know about an entity kind.
pub(crate) struct LookupSpec<'a, T> {
    /// Kind name for messages (`cluster`).
    pub label: &'static str,
    /// Kind in the list body (`cluster`).
    pub kind: &'a str,
    /// List path (`["clusters", "list"]`).
    pub path: &'a [&'a str],
    /// Extra scope for messages (`on cluster X`).
    pub scope: Option<String>,
    /// Entity name.
    pub name_of: fn(&T) -> &str,
    /// Entity UUID (an entity without one cannot be referenced, so it never matches).
    pub uuid_of: fn(&T) -> Option<&str>,
}

impl PrismClient {
    /// Every entity whose name is exactly `name` and that `accept`s.
    pub(crate) async fn find_exact<T: DeserializeOwned>(
        &self,
        spec: &LookupSpec<'_, T>,
        name: &str,
        accept: impl Fn(&T) -> bool,
    ) -> Result<Vec<T>, PrismError> {
        let op = format!("look up {} '{}'", spec.label, name);
        let keep = |items: Vec<T>| -> Vec<T> {
            items
                .into_iter()
                .filter(|e| (spec.name_of)(e) == name && (spec.uuid_of)(e).is_some() && accept(e))
                .collect()
        };
        let filtered = self
            .list_all::<T>(&op, spec.kind, spec.path, Some(fiql::equals("name", name)))
            .await;
        let matches = match filtered {
            Ok(items) => keep(items),
            Err(PrismError::Api { status, .. })
                if (400..500).contains(&status) && status != 401 && status != 403 =>
            {
                tracing::warn!(
                    op,
                    status,
                    "Prism rejected the name filter; listing without it"
                );
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        if !matches.is_empty() {
            return Ok(matches);
        }
        tracing::debug!(
            op,
            "no exact match in filtered list; checking the full list"
        );
        let all = self.list_all::<T>(&op, spec.kind, spec.path, None).await?;
        Ok(keep(all))
    }

    /// The single entity named `name`; NotFound or Ambiguous (with UUIDs) otherwise.
    pub(crate) async fn find_unique<T: DeserializeOwned>(
        &self,
        spec: &LookupSpec<'_, T>,
        name: &str,
        accept: impl Fn(&T) -> bool,
    ) -> Result<T, PrismError> {
        let mut matches = self.find_exact(spec, name, accept).await?;
        match matches.len() {
            0 => Err(PrismError::NotFound {
                kind: spec.label,
                name: name.to_string(),
                scope: spec.scope.clone(),
            }),
            1 => matches.pop().ok_or_else(|| PrismError::NotFound {
                kind: spec.label,
                name: name.to_string(),
                scope: spec.scope.clone(),
            }),
            _ => Err(PrismError::Ambiguous {
                kind: spec.label,
                name: name.to_string(),
                scope: spec.scope.clone(),
                uuids: matches
                    .iter()
                    .filter_map(|e| (spec.uuid_of)(e).map(str::to_string))
                    .collect(),
            }),
        }
    }
}
