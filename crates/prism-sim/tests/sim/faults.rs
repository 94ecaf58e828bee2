//! Each fault kind, counts, run-time and start-time rules.

use std::sync::Arc;
use std::time::Duration;

use prism_sim::inventory::defaults as d;
use prism_sim::{Fault, ManualClock, SimConfig};
use serde_json::{json, Value};

use super::common::*;

fn vm_body(name: &str) -> Value {
    json!({"metadata": {"kind": "vm"}, "spec": {"name": name,
        "cluster_reference": {"kind": "cluster", "uuid": d::CLUSTER_1_UUID},
        "resources": {"power_state": "ON", "disk_list": [{"disk_size_mib": 1024}],
            "nic_list": [{"subnet_reference": {"kind": "subnet", "uuid": d::SUBNET_DUP_1_UUID}}]}}})
}

async fn add(s: &Sim, v: Value) {
    let r = s.send(s.c.post(s.raw_url("/_sim/faults")).json(&v)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn status_fault_with_prism_body_and_count() {
    let s = Sim::start().await;
    add(&s, json!({"match": {"method": "POST", "path": "/api/nutanix/v3/vms"}, "action": {"type": "status", "status": 503}, "count": 2})).await;
    for _ in 0..2 {
        let r = s.post("/vms/list", &json!({})).await;
        assert_prism_error(&r, 503, "INTERNAL_ERROR");
    }
    assert_eq!(s.post("/vms/list", &json!({})).await.status, 200);
    // GET is not matched by a POST rule
    add(&s, json!({"match": {"method": "POST"}, "action": {"type": "status", "status": 500, "reason": "X", "message": "m"}, "count": 0})).await;
    assert_eq!(
        s.get(&format!("/clusters/{}", d::CLUSTER_1_UUID))
            .await
            .status,
        200
    );
    let r = s.post("/clusters/list", &json!({})).await;
    assert_prism_error(&r, 500, "X");
    assert_eq!(r.body["message_list"][0]["message"], "m");
    let cleared = s.send(s.c.delete(s.raw_url("/_sim/faults"))).await;
    assert_eq!(cleared.body["cleared"], 1);
    assert_eq!(s.post("/clusters/list", &json!({})).await.status, 200);
}

#[tokio::test]
async fn rate_limit_fault_sends_retry_after() {
    let s = Sim::start().await;
    add(&s, json!({"match": {"path_regex": "/images/list$"}, "action": {"type": "rate_limit", "retry_after_secs": 7}})).await;
    let r = s.post("/images/list", &json!({})).await;
    assert_prism_error(&r, 429, "RATE_LIMIT_EXCEEDED");
    assert_eq!(r.headers["retry-after"], "7");
    assert_eq!(s.post("/images/list", &json!({})).await.status, 200);
}

#[tokio::test]
async fn latency_fault_delays_but_answers() {
    let s = Sim::start().await;
    add(&s, json!({"match": {"path": "/api/nutanix/v3/clusters"}, "action": {"type": "latency", "ms": 150}})).await;
    let r = s.post("/clusters/list", &json!({})).await;
    assert_eq!(r.status, 200);
    let log = s.h.requests();
    // The injected sleep is a lower bound on the recorded duration.
    assert!(log[0].duration_ms >= 150, "{:?}", log[0]);
}

#[tokio::test]
async fn drop_fault_closes_the_connection() {
    let s = Sim::start().await;
    add(
        &s,
        json!({"match": {"path": "/api/nutanix/v3/vms/list"}, "action": {"type": "drop"}}),
    )
    .await;
    let err =
        s.c.post(s.url("/vms/list"))
            .basic_auth("admin", Some("secret"))
            .json(&json!({}))
            .send()
            .await
            .unwrap_err();
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );
    assert_eq!(s.post("/vms/list", &json!({})).await.status, 200);
    let log = s.h.requests();
    assert_eq!(log[0].status, 0);
    assert_eq!(log[1].status, 200);
}

#[tokio::test]
async fn task_fail_and_task_hang() {
    let clock = ManualClock::new();
    let mut cfg = SimConfig::default_for_tests();
    cfg.clock = Arc::new(clock.clone());
    let s = Sim::start_with(cfg).await;
    add(&s, json!([
        {"match": {"method": "POST", "path": "/api/nutanix/v3/vms"}, "action": {"type": "task_fail", "message": "RESOURCE_SHORTAGE: no room"}},
        {"match": {"method": "POST", "path": "/api/nutanix/v3/vms"}, "action": {"type": "task_hang"}}
    ]))
    .await;
    // A list call passes the task rules by.
    assert_eq!(s.post("/vms/list", &json!({})).await.status, 200);
    let failed = s.post("/vms", &vm_body("f")).await;
    assert_eq!(failed.status, 202);
    let hung = s.post("/vms", &vm_body("h")).await;
    let ok = s.post("/vms", &vm_body("ok")).await;
    clock.advance(Duration::from_secs(3600));
    let t = s
        .get(&format!("/tasks/{}", task_of(&failed.body)))
        .await
        .body;
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["error_detail"], "RESOURCE_SHORTAGE: no room");
    let vm = s
        .get(&format!(
            "/vms/{}",
            failed.body["metadata"]["uuid"].as_str().unwrap()
        ))
        .await
        .body;
    assert_eq!(vm["status"]["state"], "ERROR");
    assert_eq!(
        vm["status"]["message_list"][0]["reason"],
        "RESOURCE_SHORTAGE"
    );
    let t = s.get(&format!("/tasks/{}", task_of(&hung.body))).await.body;
    assert_eq!(t["status"], "RUNNING");
    assert!(t.get("completion_time").is_none());
    assert_eq!(
        s.get(&format!("/tasks/{}", task_of(&ok.body))).await.body["status"],
        "SUCCEEDED"
    );
}

#[tokio::test]
async fn task_status_fault_ends_the_task_in_each_chosen_status() {
    let clock = ManualClock::new();
    let mut cfg = SimConfig::default_for_tests();
    cfg.clock = Arc::new(clock.clone());
    let s = Sim::start_with(cfg).await;
    add(&s, json!([
        {"match": {"method": "POST", "path": "/api/nutanix/v3/vms"}, "action": {"type": "task_status", "status": "ABORTED", "message": "Task aborted by admin"}},
        {"match": {"method": "POST", "path": "/api/nutanix/v3/vms"}, "action": {"type": "task_status", "status": "CANCELLED"}},
        {"match": {"method": "POST", "path": "/api/nutanix/v3/vms"}, "action": {"type": "task_status", "status": "INVALID_UUID"}}
    ]))
    .await;
    let listed = s.sim_get("/_sim/faults").await;
    assert_eq!(listed[0]["action"]["status"], "ABORTED");
    let aborted = s.post("/vms", &vm_body("a")).await;
    let cancelled = s.post("/vms", &vm_body("c")).await;
    let invalid = s.post("/vms", &vm_body("i")).await;
    assert_eq!(aborted.status, 202);
    let ok = s.post("/vms", &vm_body("ok")).await;
    clock.advance(Duration::from_secs(3600));
    for (reply, status, detail) in [
        (&aborted, "ABORTED", "Task aborted by admin"),
        (
            &cancelled,
            "CANCELLED",
            "task cancelled by an injected fault",
        ),
        (
            &invalid,
            "INVALID_UUID",
            "INVALID_UUID: the task is no longer known to Prism Central (injected fault)",
        ),
    ] {
        let t = s.get(&format!("/tasks/{}", task_of(&reply.body))).await;
        assert_eq!(t.status, 200);
        assert_eq!(t.body["status"], status);
        assert_eq!(t.body["error_detail"], detail);
        assert_eq!(t.body["progress_message"], detail);
        assert_eq!(t.body["percentage_complete"], 100);
        let vm = s
            .get(&format!(
                "/vms/{}",
                reply.body["metadata"]["uuid"].as_str().unwrap()
            ))
            .await
            .body;
        assert_eq!(vm["status"]["state"], "ERROR", "{status}");
    }
    assert_eq!(
        s.get(&format!("/tasks/{}", task_of(&ok.body))).await.body["status"],
        "SUCCEEDED"
    );
    assert_eq!(s.sim_get("/_sim/faults").await, json!([]));
}

#[tokio::test]
async fn task_status_fault_rejects_a_status_that_is_not_an_unsuccessful_end() {
    let s = Sim::start().await;
    for bad in ["SUCCEEDED", "RUNNING", "Aborted", ""] {
        let r = s
            .send(
                s.c.post(s.raw_url("/_sim/faults"))
                    .json(&json!({"action": {"type": "task_status", "status": bad}})),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}");
        let e = r.body["error"].as_str().unwrap();
        assert!(e.contains("ABORTED") && e.contains("INVALID_UUID"), "{e}");
    }
    assert_eq!(s.sim_get("/_sim/faults").await, json!([]));
}

#[tokio::test]
async fn start_time_faults_and_reset_restores_them() {
    let mut cfg = SimConfig::default_for_tests();
    cfg.faults = Fault::parse_list(r#"{"match": {"path": "/api/nutanix/v3/hosts"}, "action": {"type": "status", "status": 502}}"#).unwrap();
    let s = Sim::start_with(cfg).await;
    assert_eq!(s.post("/hosts/list", &json!({})).await.status, 502);
    assert_eq!(s.post("/hosts/list", &json!({})).await.status, 200);
    let r = s.send(s.c.post(s.raw_url("/_sim/reset"))).await;
    assert_eq!(r.status, 200);
    assert_eq!(s.post("/hosts/list", &json!({})).await.status, 502);
}

#[tokio::test]
async fn bad_fault_definitions_are_400() {
    let s = Sim::start().await;
    for bad in [
        json!({"action": {"type": "nope"}}),
        json!({"match": {"path_regex": "("}, "action": {"type": "drop"}}),
        json!(3),
    ] {
        let r = s.send(s.c.post(s.raw_url("/_sim/faults")).json(&bad)).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(r.body["error"].is_string());
    }
    let r = s
        .send(s.c.post(s.raw_url("/_sim/faults")).body("not json"))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(s.sim_get("/_sim/faults").await, json!([]));
}
