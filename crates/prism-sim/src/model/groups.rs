//! `POST /groups` for OVAs only: the Go plugin v1.2.1 finds the OVA it just exported with
//! `{"entity_type":"ova","filter_criteria":"name==<name>","group_member_attributes":null}`
//! (prism-go-client v0.5.5 `GroupsGetEntitiesRequest`) and takes the `entity_id` whose data
//! values carry the greatest `time`, so every entity here carries at least one timed attribute.
//!
//! Facts (prism-go-client v0.5.5 v3 structs): `group_member_attributes` is a list of
//! `{"attribute": "<name>"}` objects; the answer is read as `group_results[].entity_results[]`
//! with `entity_id` and `data[] = {name, values[] = {time: int64, values: [string]}}`.
//!
//! Choices where the real behaviour is unknown:
//! * GUESS: `filter_criteria` may only be empty/absent (every OVA) or one `name==<value>`
//!   clause (FIQL, escaped as in [`crate::fiql`]); anything else is 400 naming
//!   `filter_criteria`. Only `entity_type` `ova` is simulated; others are 400 naming
//!   `entity_type`. Note the Go plugin does not escape the name, so a name holding `(`, `)`,
//!   `|`, `,`, `;` or `=` gets this 400 (and the plugin retries until it gives up).
//! * GUESS: without `group_member_attributes` each entity carries `name`; with them, the listed
//!   attributes this module knows ([`ATTRIBUTES`]) in the order asked, unknown ones left out.
//! * GUESS: every value's `time` is the OVA's creation time (when its export task succeeded) in
//!   microseconds since the Unix epoch.
//! * GUESS: no grouping and no paging (`group_member_count` and friends are ignored): one group
//!   holding every matching OVA in creation order, or no group at all when nothing matches;
//!   `group_by_column_value` is `""`, `group_summaries` `{}`, plus a top-level `entity_type`.

use serde_json::{json, Value};

use super::json::Reader;
use super::Store;
use crate::fiql::Filter;
use crate::prism_error::ApiError;

/// The `kind` shown in error bodies of `POST /groups`. GUESS: Prism's groups errors are not
/// documented; this names the endpoint.
pub const GROUPS_KIND: &str = "groups";

/// The only `entity_type` the simulator answers.
const OVA: &str = "ova";

/// Attributes `group_member_attributes` may ask for. GUESS: the names real Prism uses for OVA
/// attributes are unknown; `parent_vm_uuid` and `vm_uuid` are aliases.
pub const ATTRIBUTES: &[&str] = &[
    "name",
    "parent_vm_uuid",
    "vm_uuid",
    "size_bytes",
    "disk_format",
    "created_time_usecs",
];

/// A parsed groups request: which OVA name (if any) and which attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupsRequest {
    /// `Some(name)` for `name==<name>`, None for every OVA.
    pub name: Option<String>,
    /// Attributes to return, in the order asked (already restricted to [`ATTRIBUTES`]).
    pub attributes: Vec<&'static str>,
}

/// One OVA as the groups answer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OvaRow {
    pub uuid: String,
    pub name: String,
    pub vm_uuid: String,
    pub size_bytes: u64,
    pub disk_format: &'static str,
    /// Creation time, microseconds since the Unix epoch.
    pub created_usecs: i64,
}

impl OvaRow {
    fn attribute(&self, attr: &str) -> Option<String> {
        Some(match attr {
            "name" => self.name.clone(),
            "parent_vm_uuid" | "vm_uuid" => self.vm_uuid.clone(),
            "size_bytes" => self.size_bytes.to_string(),
            "disk_format" => self.disk_format.to_string(),
            "created_time_usecs" => self.created_usecs.to_string(),
            _ => return None,
        })
    }
}

/// A 400 whose `details` name the offending request field.
fn bad_field(field: &str, message: String) -> ApiError {
    ApiError::new(400, "INVALID_REQUEST", message.clone())
        .with_kind(GROUPS_KIND)
        .with_details(json!({ field: [message] }))
}

impl GroupsRequest {
    /// Parses the body; type errors are 422 naming the field, unsupported requests 400.
    pub fn parse(body: Option<&Value>) -> Result<Self, ApiError> {
        let empty = json!({});
        let r = Reader::new(GROUPS_KIND, "", body.unwrap_or(&empty))?;
        let entity_type = r.req_str("entity_type")?;
        if entity_type != OVA {
            return Err(bad_field(
                "entity_type",
                format!("entity_type '{entity_type}' is not supported: only ova is simulated"),
            ));
        }
        let raw = r.opt_str("filter_criteria")?.unwrap_or("");
        let unsupported = |why: String| {
            bad_field(
                "filter_criteria",
                format!("filter_criteria {raw:?} is not supported: {why}"),
            )
        };
        let filter = Filter::parse(raw).map_err(|e| unsupported(e.problem))?;
        let name = if filter.is_empty() {
            None
        } else {
            match filter.single_clause() {
                Some(c) if c.attribute == "name" && c.equals => Some(c.value.clone()),
                _ => {
                    return Err(unsupported(
                        "only empty or name==<value> is simulated".to_string(),
                    ))
                }
            }
        };
        let asked = r
            .opt_array("group_member_attributes")?
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut attributes = Vec::new();
        for (i, item) in asked.iter().enumerate() {
            let a = Reader::new(GROUPS_KIND, &format!("group_member_attributes.{i}"), item)?;
            let want = a.req_str("attribute")?;
            if let Some(known) = ATTRIBUTES.iter().find(|k| **k == want) {
                attributes.push(*known);
            }
        }
        if asked.is_empty() {
            attributes.push("name");
        }
        Ok(Self { name, attributes })
    }

    /// The response body for `rows` (every visible OVA, in creation order).
    pub fn respond(&self, rows: &[OvaRow]) -> Value {
        let matched: Vec<&OvaRow> = rows
            .iter()
            .filter(|o| self.name.as_deref().is_none_or(|n| n == o.name))
            .collect();
        let entities: Vec<Value> = matched
            .iter()
            .map(|o| {
                let data: Vec<Value> = self
                    .attributes
                    .iter()
                    .filter_map(|a| {
                        let v = o.attribute(a)?;
                        Some(json!({
                            "name": a,
                            "values": [{"time": o.created_usecs, "values": [v]}],
                        }))
                    })
                    .collect();
                json!({"entity_id": o.uuid, "data": data})
            })
            .collect();
        let count = entities.len();
        let groups: Vec<Value> = if entities.is_empty() {
            Vec::new()
        } else {
            vec![json!({
                "entity_results": entities,
                "total_entity_count": count,
                "group_by_column_value": "",
                "group_summaries": {},
            })]
        };
        json!({
            // GUESS: that real answers name the entity type at the top level.
            "entity_type": OVA,
            "total_group_count": usize::from(!rows.is_empty()),
            "filtered_group_count": groups.len(),
            "total_entity_count": rows.len(),
            "filtered_entity_count": count,
            "group_results": groups,
        })
    }
}

impl Store {
    /// Microseconds since the Unix epoch of an offset from the store's epoch.
    pub(crate) fn unix_usecs(&self, at: std::time::Duration) -> i64 {
        let offset = i64::try_from(at.as_micros()).unwrap_or(i64::MAX);
        self.epoch.timestamp_micros().saturating_add(offset)
    }

    /// `POST /groups`: only OVAs whose export has succeeded are listed, as in `/ovas/list`.
    pub(crate) fn groups(&self, body: Option<&Value>) -> Result<Value, ApiError> {
        let req = GroupsRequest::parse(body)?;
        let rows: Vec<OvaRow> = self
            .ovas
            .iter()
            .filter_map(|o| {
                let file = o.file.as_ref()?;
                Some(OvaRow {
                    uuid: o.uuid.clone(),
                    name: o.name.clone(),
                    vm_uuid: o.vm_uuid.clone(),
                    size_bytes: file.archive.size(),
                    disk_format: o.format.as_str(),
                    created_usecs: self.unix_usecs(o.created),
                })
            })
            .collect();
        Ok(req.respond(&rows))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(uuid: &str, name: &str, usecs: i64) -> OvaRow {
        OvaRow {
            uuid: uuid.into(),
            name: name.into(),
            vm_uuid: "vm-".to_string() + uuid,
            size_bytes: 10240,
            disk_format: "VMDK",
            created_usecs: usecs,
        }
    }

    fn parse(v: Value) -> Result<GroupsRequest, ApiError> {
        GroupsRequest::parse(Some(&v))
    }

    /// The body prism-go-client v0.5.5 sends for `GetLatestOVAByName` (no omitempty on
    /// `group_member_attributes`, so it is null).
    fn go_body(name: &str) -> Value {
        json!({"entity_type": "ova", "filter_criteria": format!("name=={name}"),
               "group_member_attributes": null})
    }

    #[test]
    fn go_request_gets_timed_name_of_each_match() {
        let rows = [row("a", "img", 5), row("b", "other", 9), row("c", "img", 7)];
        let r = parse(go_body("img")).unwrap().respond(&rows);
        assert_eq!(r["total_entity_count"], 3);
        assert_eq!(r["filtered_entity_count"], 2);
        assert_eq!(r["filtered_group_count"], 1);
        assert_eq!(r["total_group_count"], 1);
        let g = &r["group_results"][0];
        assert_eq!(g["total_entity_count"], 2);
        assert_eq!(g["group_summaries"], json!({}));
        assert_eq!(
            g["entity_results"],
            json!([
                {"entity_id": "a", "data": [{"name": "name", "values": [{"time": 5, "values": ["img"]}]}]},
                {"entity_id": "c", "data": [{"name": "name", "values": [{"time": 7, "values": ["img"]}]}]},
            ])
        );
    }

    #[test]
    fn no_match_and_no_filter() {
        let rows = [row("a", "x", 1), row("b", "y", 2)];
        let none = parse(go_body("z")).unwrap().respond(&rows);
        assert_eq!(none["group_results"], json!([]));
        assert_eq!(none["filtered_group_count"], 0);
        assert_eq!(none["filtered_entity_count"], 0);
        for body in [
            json!({"entity_type": "ova"}),
            json!({"entity_type": "ova", "filter_criteria": ""}),
        ] {
            let all = parse(body).unwrap().respond(&rows);
            assert_eq!(all["filtered_entity_count"], 2);
            assert_eq!(
                all["group_results"][0]["entity_results"][1]["entity_id"],
                "b"
            );
        }
        let empty = parse(json!({"entity_type": "ova"})).unwrap().respond(&[]);
        assert_eq!(empty["total_group_count"], 0);
    }

    #[test]
    fn asked_attributes_in_order_unknown_dropped() {
        let req = parse(json!({"entity_type": "ova", "group_member_attributes": [
            {"attribute": "size_bytes"}, {"attribute": "colour"}, {"attribute": "parent_vm_uuid"},
            {"attribute": "disk_format"}, {"attribute": "created_time_usecs"}]}))
        .unwrap();
        let r = req.respond(&[row("a", "x", 42)]);
        let data = &r["group_results"][0]["entity_results"][0]["data"];
        let got: Vec<(String, String, i64)> = data
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["name"].as_str().unwrap().to_string(),
                    d["values"][0]["values"][0].as_str().unwrap().to_string(),
                    d["values"][0]["time"].as_i64().unwrap(),
                )
            })
            .collect();
        let want: Vec<(String, String, i64)> = [
            ("size_bytes", "10240"),
            ("parent_vm_uuid", "vm-a"),
            ("disk_format", "VMDK"),
            ("created_time_usecs", "42"),
        ]
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string(), 42))
        .collect();
        assert_eq!(got, want);
        let empty_list = parse(json!({"entity_type": "ova", "group_member_attributes": []}));
        assert_eq!(empty_list.unwrap().attributes, vec!["name"]);
    }

    #[test]
    fn escaped_names_are_unescaped() {
        let req = parse(go_body(r"a\,b%28c%29")).unwrap();
        assert_eq!(req.name.as_deref(), Some("a,b(c)"));
    }

    #[test]
    fn unsupported_requests_name_the_field() {
        for (body, status, field) in [
            (json!({"entity_type": "vm"}), 400, "entity_type"),
            (json!({}), 422, "entity_type"),
            (json!({"entity_type": 3}), 422, "entity_type"),
            (go_body("a;name==b"), 400, "filter_criteria"),
            (go_body("a,name==b"), 400, "filter_criteria"),
            (go_body("a(b)"), 400, "filter_criteria"),
            (
                json!({"entity_type": "ova", "filter_criteria": "name!=a"}),
                400,
                "filter_criteria",
            ),
            (
                json!({"entity_type": "ova", "filter_criteria": "vm_uuid==a"}),
                400,
                "filter_criteria",
            ),
            (
                json!({"entity_type": "ova", "filter_criteria": 1}),
                422,
                "filter_criteria",
            ),
            (
                json!({"entity_type": "ova", "group_member_attributes": "name"}),
                422,
                "group_member_attributes",
            ),
            (
                json!({"entity_type": "ova", "group_member_attributes": ["name"]}),
                422,
                "group_member_attributes.0",
            ),
            (
                json!({"entity_type": "ova", "group_member_attributes": [{}]}),
                422,
                "group_member_attributes.0.attribute",
            ),
        ] {
            let e = parse(body.clone()).unwrap_err();
            assert_eq!(e.status, status, "{body}");
            let details = e.details.as_deref().unwrap();
            assert!(details.get(field).is_some(), "{body} → {details}");
            if status == 400 {
                assert!(e.message.contains(field), "{}", e.message);
            }
        }
        let e = parse(json!({"entity_type": "vm"})).unwrap_err();
        assert!(e.message.contains("only ova is simulated"), "{}", e.message);
        assert!(GroupsRequest::parse(None).is_err());
    }
}
