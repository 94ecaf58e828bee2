//! `POST /{kind}s/list`: the request body (`kind`, `filter`, `length`, `offset`,
//! `sort_attribute`, `sort_order`) and how it selects entities, like Prism v3: FIQL filter, then
//! sort, then the page; the response metadata reports `total_matches` before paging.

use serde_json::{json, Map, Value};

use crate::fiql::Filter;
use crate::model::json::{scalar_at, Reader};
use crate::prism_error::ApiError;

/// Prism's page size when `length` is absent.
pub const DEFAULT_LENGTH: u64 = 20;
/// Prism's largest accepted `length`.
pub const MAX_LENGTH: u64 = 500;

/// Filterable attribute → JSON pointers tried in order on the rendered entity.
pub(crate) type AttrMap = &'static [(&'static str, &'static [&'static str])];

/// A parsed list request.
#[derive(Debug, Clone)]
pub(crate) struct ListRequest {
    pub filter: Filter,
    pub filter_raw: Option<String>,
    pub length: Option<u64>,
    pub offset: u64,
    pub sort_attribute: Option<String>,
    pub descending: bool,
    pub sort_order_raw: Option<String>,
}

impl ListRequest {
    /// Parses the body; `kind` is the entity kind of the endpoint, `attrs` its filterable
    /// attributes, `paginated` false for endpoints that return everything by default (hosts).
    pub fn parse(
        body: Option<&Value>,
        kind: &'static str,
        attrs: AttrMap,
        paginated: bool,
    ) -> Result<Self, ApiError> {
        let empty = Value::Object(Map::new());
        let body = body.unwrap_or(&empty);
        let r = Reader::new(kind, "", body)?;
        if let Some(k) = r.opt_str("kind")? {
            if k != kind {
                return Err(r.error(
                    "kind",
                    format!("'{k}' does not match this endpoint's kind '{kind}'"),
                ));
            }
        }
        let filter_raw = r.opt_str("filter")?.map(str::to_string);
        let filter = Filter::parse(filter_raw.as_deref().unwrap_or(""))
            .map_err(|e| ApiError::new(400, "INVALID_REQUEST", e.to_string()).with_kind(kind))?;
        for a in filter.attributes() {
            if !attrs.iter().any(|(name, _)| *name == a) {
                let supported: Vec<&str> = attrs.iter().map(|(n, _)| *n).collect();
                return Err(ApiError::new(
                    400,
                    "INVALID_REQUEST",
                    format!(
                        "filter attribute '{a}' is not supported for kind {kind}; supported: {}",
                        supported.join(", ")
                    ),
                )
                .with_kind(kind));
            }
        }
        let length = match r.opt_i64("length")? {
            None => {
                if paginated {
                    Some(DEFAULT_LENGTH)
                } else {
                    None
                }
            }
            Some(l) if l < 1 => {
                return Err(r.error("length", format!("{l} is less than the minimum of 1")))
            }
            Some(l) if l as u64 > MAX_LENGTH => {
                return Err(r.error(
                    "length",
                    format!("{l} is greater than the maximum of {MAX_LENGTH}"),
                ))
            }
            Some(l) => Some(l as u64),
        };
        let offset = match r.opt_i64("offset")? {
            None => 0,
            Some(o) if o < 0 => {
                return Err(r.error("offset", format!("{o} is less than the minimum of 0")))
            }
            Some(o) => o as u64,
        };
        let sort_attribute = r.opt_str("sort_attribute")?.map(str::to_string);
        if let Some(a) = &sort_attribute {
            if !attrs.iter().any(|(name, _)| name == a) {
                return Err(r.error(
                    "sort_attribute",
                    format!("'{a}' is not a sortable attribute of kind {kind}"),
                ));
            }
        }
        let sort_order_raw = r
            .opt_enum("sort_order", &["ASCENDING", "DESCENDING"])?
            .map(str::to_string);
        Ok(Self {
            filter,
            filter_raw,
            length,
            offset,
            sort_attribute,
            descending: sort_order_raw.as_deref() == Some("DESCENDING"),
            sort_order_raw,
        })
    }

    /// Filters, sorts and pages `entities`; returns the list response body.
    pub fn respond(&self, kind: &str, attrs: AttrMap, entities: Vec<Value>) -> Value {
        let lookup = |e: &Value, attr: &str| -> Option<String> {
            let (_, ptrs) = attrs.iter().find(|(n, _)| *n == attr)?;
            ptrs.iter().find_map(|p| scalar_at(e, p))
        };
        let mut matched: Vec<Value> = entities
            .into_iter()
            .filter(|e| self.filter.matches(|a| lookup(e, a)))
            .collect();
        if let Some(attr) = &self.sort_attribute {
            matched.sort_by(|a, b| {
                let (ka, kb) = (lookup(a, attr), lookup(b, attr));
                let ord = match (
                    ka.as_deref().and_then(|s| s.parse::<f64>().ok()),
                    kb.as_deref().and_then(|s| s.parse::<f64>().ok()),
                ) {
                    (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
                    _ => ka.cmp(&kb),
                };
                if self.descending {
                    ord.reverse()
                } else {
                    ord
                }
            });
        }
        let total = matched.len() as u64;
        let start = usize::try_from(self.offset)
            .unwrap_or(usize::MAX)
            .min(matched.len());
        let page: Vec<Value> = matched
            .into_iter()
            .skip(start)
            .take(
                self.length
                    .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)),
            )
            .collect();
        let mut meta = Map::new();
        meta.insert("kind".into(), Value::String(kind.to_string()));
        meta.insert("length".into(), Value::from(page.len() as u64));
        meta.insert("offset".into(), Value::from(self.offset));
        meta.insert("total_matches".into(), Value::from(total));
        if let Some(f) = &self.filter_raw {
            meta.insert("filter".into(), Value::String(f.clone()));
        }
        if let Some(a) = &self.sort_attribute {
            meta.insert("sort_attribute".into(), Value::String(a.clone()));
        }
        if let Some(o) = &self.sort_order_raw {
            meta.insert("sort_order".into(), Value::String(o.clone()));
        }
        json!({
            "api_version": crate::prism_error::API_VERSION,
            "metadata": Value::Object(meta),
            "entities": page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ATTRS: AttrMap = &[("name", &["/spec/name", "/status/name"]), ("n", &["/n"])];

    fn ents() -> Vec<Value> {
        (0..45)
            .map(|i| json!({"spec": {"name": format!("e{:02}", i % 15)}, "n": i}))
            .collect()
    }

    fn list(body: Value) -> Result<Value, ApiError> {
        let req = ListRequest::parse(Some(&body), "vm", ATTRS, true)?;
        Ok(req.respond("vm", ATTRS, ents()))
    }

    #[test]
    fn default_page_is_twenty_and_metadata_counts_all() {
        let r = list(json!({"kind": "vm"})).unwrap();
        assert_eq!(r["entities"].as_array().unwrap().len(), 20);
        assert_eq!(r["metadata"]["total_matches"], 45);
        assert_eq!(r["metadata"]["length"], 20);
        assert_eq!(r["metadata"]["offset"], 0);
        assert_eq!(r["metadata"]["kind"], "vm");
        assert!(r["metadata"].get("filter").is_none());
        assert_eq!(r["api_version"], "3.1");
    }

    #[test]
    fn pages_cover_everything_once() {
        let mut seen = Vec::new();
        let mut offset = 0;
        loop {
            let r = list(json!({"length": 7, "offset": offset})).unwrap();
            let page = r["entities"].as_array().unwrap().clone();
            if page.is_empty() {
                break;
            }
            seen.extend(page.iter().map(|e| e["n"].as_i64().unwrap()));
            offset += 7;
        }
        assert_eq!(seen, (0..45).collect::<Vec<_>>());
        let r = list(json!({"offset": 1000})).unwrap();
        assert_eq!(r["entities"], json!([]));
        assert_eq!(r["metadata"]["total_matches"], 45);
    }

    #[test]
    fn filter_then_page() {
        let r = list(json!({"filter": "name==e03", "length": 2, "offset": 1})).unwrap();
        assert_eq!(r["metadata"]["total_matches"], 3);
        let ns: Vec<i64> = r["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["n"].as_i64().unwrap())
            .collect();
        assert_eq!(ns, vec![18, 33]);
        assert_eq!(r["metadata"]["filter"], "name==e03");
    }

    #[test]
    fn sort_numeric_and_descending() {
        let r =
            list(json!({"sort_attribute": "n", "sort_order": "DESCENDING", "length": 3})).unwrap();
        let ns: Vec<i64> = r["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["n"].as_i64().unwrap())
            .collect();
        assert_eq!(ns, vec![44, 43, 42]);
        assert_eq!(r["metadata"]["sort_order"], "DESCENDING");
    }

    #[test]
    fn unpaginated_kind_returns_everything() {
        let req = ListRequest::parse(None, "host", ATTRS, false).unwrap();
        let r = req.respond("host", ATTRS, ents());
        assert_eq!(r["entities"].as_array().unwrap().len(), 45);
    }

    #[test]
    fn bad_requests() {
        for (body, status) in [
            (json!({"length": 0}), 422),
            (json!({"length": 501}), 422),
            (json!({"length": "10"}), 422),
            (json!({"length": 1e40}), 422),
            (json!({"offset": -1}), 422),
            (json!({"kind": "image"}), 422),
            (json!({"filter": "name==a(b)"}), 400),
            (json!({"filter": "color==red"}), 400),
            (json!({"filter": 5}), 422),
            (json!({"sort_attribute": "color"}), 422),
            (json!({"sort_order": "UP"}), 422),
            (json!([1, 2]), 422),
        ] {
            let e = list(body.clone()).unwrap_err();
            assert_eq!(e.status, status, "{body} → {e:?}");
        }
    }
}
