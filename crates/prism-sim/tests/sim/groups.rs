//! `POST /groups` over HTTP the way the Go plugin v1.2.1 finds an exported OVA: the request
//! prism-go-client v0.5.5 sends, the entity with the latest `time`, 400s, and faults.

use serde_json::{json, Value};

use super::common::*;
use super::ova::{export, exportable_vm};

/// Exactly the JSON prism-go-client v0.5.5 marshals for `GetLatestOVAByName`.
fn go_body(name: &str) -> Value {
    json!({"entity_type": "ova", "filter_criteria": format!("name=={name}"),
           "group_member_attributes": null})
}

/// The Go plugin's choice: the entity whose data values carry the greatest `time` (> 0).
fn go_latest(r: &Value) -> Option<String> {
    let mut best: Option<(i64, String)> = None;
    for e in r["group_results"][0]["entity_results"].as_array()? {
        for f in e["data"].as_array()? {
            for v in f["values"].as_array()? {
                let t = v["time"].as_i64()?;
                if t > best.as_ref().map_or(0, |b| b.0) {
                    best = Some((t, e["entity_id"].as_str()?.to_string()));
                }
            }
        }
    }
    best.map(|b| b.1)
}

async fn ova_uuids(s: &Sim, name: &str) -> Vec<(String, String)> {
    let r = s
        .post(
            "/ovas/list",
            &json!({"kind": "ova", "filter": format!("name=={name}")}),
        )
        .await;
    assert_list(&r.body, "ova")
        .iter()
        .map(|e| {
            (
                e["info"]["parent_vm_reference"]["uuid"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                e["metadata"]["uuid"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn export_then_groups_finds_the_latest_of_same_named_ovas() {
    let s = Sim::start().await;
    let r = s.post("/groups", &go_body("golden")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(go_latest(&r.body), None);
    assert_eq!(r.body["filtered_entity_count"], 0);

    let vm1 = exportable_vm(&s, "vm-1").await;
    let vm2 = exportable_vm(&s, "vm-2").await;
    assert_eq!(
        export(&s, &vm1, "golden", "VMDK").await["status"],
        "SUCCEEDED"
    );
    let r = s.post("/groups", &go_body("golden")).await;
    let first = ova_uuids(&s, "golden").await;
    assert_eq!(first.len(), 1);
    assert_eq!(go_latest(&r.body).as_deref(), Some(first[0].1.as_str()));

    assert_eq!(
        export(&s, &vm2, "golden", "QCOW2").await["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        export(&s, &vm2, "other", "VMDK").await["status"],
        "SUCCEEDED"
    );
    let r = s.post("/groups", &go_body("golden")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let b = &r.body;
    assert_eq!(b["total_entity_count"], 3);
    assert_eq!(b["filtered_entity_count"], 2);
    assert_eq!(b["total_group_count"], 1);
    assert_eq!(b["filtered_group_count"], 1);
    let g = &b["group_results"][0];
    assert_eq!(g["total_entity_count"], 2);
    assert!(g["group_by_column_value"].is_string());
    assert_eq!(g["group_summaries"], json!({}));
    let ents = g["entity_results"].as_array().unwrap();
    assert_eq!(ents.len(), 2);
    let times: Vec<i64> = ents
        .iter()
        .map(|e| {
            assert_eq!(e["data"][0]["name"], "name");
            assert_eq!(e["data"][0]["values"][0]["values"], json!(["golden"]));
            e["data"][0]["values"][0]["time"].as_i64().unwrap()
        })
        .collect();
    assert_ne!(times[0], times[1]);
    // Times are microseconds since the Unix epoch: within a day of now.
    let now_us = chrono::Utc::now().timestamp_micros();
    for t in &times {
        assert!((now_us - t).abs() < 86_400_000_000, "{t} vs {now_us}");
    }
    let owners = ova_uuids(&s, "golden").await;
    let of_vm2 = owners.iter().find(|(vm, _)| *vm == vm2).unwrap().1.clone();
    assert_eq!(go_latest(b).as_deref(), Some(of_vm2.as_str()));
    let mut ids: Vec<&str> = ents
        .iter()
        .map(|e| e["entity_id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want: Vec<&str> = owners.iter().map(|(_, o)| o.as_str()).collect();
    want.sort();
    assert_eq!(ids, want);

    // The OVA it picks downloads.
    let f = s.get(&format!("/ovas/{of_vm2}/file")).await;
    assert_eq!(f.status, 200);
}

#[tokio::test]
async fn asked_attributes_carry_the_creation_time() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "vm").await;
    export(&s, &vm, "o", "QCOW2").await;
    let r = s
        .post(
            "/groups",
            &json!({"entity_type": "ova", "group_member_attributes": [
                {"attribute": "disk_format"}, {"attribute": "vm_uuid"},
                {"attribute": "created_time_usecs"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let data = &r.body["group_results"][0]["entity_results"][0]["data"];
    assert_eq!(data[0]["values"][0]["values"], json!(["QCOW2"]));
    assert_eq!(data[1]["values"][0]["values"], json!([vm]));
    let t = data[2]["values"][0]["time"].as_i64().unwrap();
    assert_eq!(data[2]["values"][0]["values"], json!([t.to_string()]));
}

#[tokio::test]
async fn unsupported_requests_are_400_naming_the_field() {
    let s = Sim::start().await;
    for (body, field) in [
        (
            json!({"entity_type": "vm", "group_member_attributes": null}),
            "entity_type",
        ),
        (go_body("a;name==b"), "filter_criteria"),
        (go_body("a(b)"), "filter_criteria"),
        (
            json!({"entity_type": "ova", "filter_criteria": "parent_vm_uuid==x"}),
            "filter_criteria",
        ),
    ] {
        let r = s.post("/groups", &body).await;
        assert_prism_error(&r, 400, "INVALID_REQUEST");
        let msg = r.body["message_list"][0]["message"].as_str().unwrap();
        assert!(msg.contains(field), "{body}: {msg}");
        assert!(
            r.body["message_list"][0]["details"][field].is_array(),
            "{}",
            r.body
        );
    }
    let r = s.post("/groups", &json!({"entity_type": "image"})).await;
    assert!(r.body["message_list"][0]["message"]
        .as_str()
        .unwrap()
        .contains("only ova is simulated"));
    let r = s
        .send(
            s.c.post(s.url("/groups"))
                .basic_auth("admin", Some("secret"))
                .body("{not json"),
        )
        .await;
    assert_prism_error(&r, 400, "INVALID_REQUEST");
    let r = s.send(s.c.post(s.url("/groups")).json(&go_body("a"))).await;
    assert_prism_error(&r, 401, "AUTHENTICATION_REQUIRED");
}

#[tokio::test]
async fn faults_apply_to_groups() {
    let s = Sim::start().await;
    let add = s
        .send(s.c.post(s.raw_url("/_sim/faults")).json(&json!({
            "match": {"method": "POST", "path": "/api/nutanix/v3/groups"},
            "action": {"type": "status", "status": 503}})))
        .await;
    assert_eq!(add.status, 200, "{}", add.body);
    assert_prism_error(
        &s.post("/groups", &go_body("a")).await,
        503,
        "INTERNAL_ERROR",
    );
    assert_eq!(s.post("/groups", &go_body("a")).await.status, 200);
}
