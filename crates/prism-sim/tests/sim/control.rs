//! The `/_sim/` control API and handle accessors.

use prism_sim::inventory::defaults as d;
use serde_json::json;

use super::common::*;

#[tokio::test]
async fn requests_are_logged_in_order_without_sim_calls() {
    let s = Sim::start().await;
    s.post("/clusters/list", &json!({})).await;
    s.sim_get("/_sim/state").await;
    s.get("/vms/list").await;
    s.send(s.c.get(s.url("/clusters/list"))).await; // unauthenticated
    let log = s.sim_get("/_sim/requests").await;
    let got: Vec<(String, String, u64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().into(),
                r["path"].as_str().unwrap().into(),
                r["status"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("POST".into(), "/api/nutanix/v3/clusters/list".into(), 200),
            ("GET".into(), "/api/nutanix/v3/vms/list".into(), 400),
            ("GET".into(), "/api/nutanix/v3/clusters/list".into(), 401),
        ]
    );
    assert!(log[0]["duration_ms"].is_u64());
    assert_eq!(s.h.requests().len(), 3);
}

#[tokio::test]
async fn state_shows_vms_images_tasks_and_reset_restores_the_inventory() {
    let s = Sim::start().await;
    let r = s
        .post("/vms", &json!({"metadata": {"kind": "vm"}, "spec": {"name": "st", "resources": {"power_state": "OFF",
            "disk_list": [{"disk_size_mib": 10}]}}}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let task = task_of(&r.body);
    s.wait_task(&task).await;
    s.delete(&format!("/images/{}", d::IMAGE_VIRTIO_UUID)).await;
    let st = s.sim_get("/_sim/state").await;
    assert_eq!(st["vms"][0]["name"], "st");
    assert_eq!(st["vms"][0]["power_state"], "OFF");
    assert_eq!(st["vms"][0]["state"], "COMPLETE");
    // placed on the first PE cluster when no cluster_reference is given
    assert_eq!(st["vms"][0]["cluster_uuid"], d::CLUSTER_1_UUID);
    assert_eq!(st["images"].as_array().unwrap().len(), 5);
    let tasks = st["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2);
    assert_eq!(tasks[0]["uuid"], task.as_str());
    assert_eq!(tasks[0]["status"], "SUCCEEDED");
    assert_eq!(tasks[1]["operation_type"], "delete_image_intentful");
    assert!(st["request_count"].as_u64().unwrap() >= 3);
    assert_eq!(s.h.state_json()["vms"][0]["name"], "st");

    s.h.reset();
    let st = s.sim_get("/_sim/state").await;
    assert_eq!(st["vms"], json!([]));
    assert_eq!(st["tasks"], json!([]));
    assert_eq!(st["images"].as_array().unwrap().len(), 5);
    assert_eq!(st["request_count"], 0);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let s = Sim::start().await;
    let url = s.url("/clusters/list");
    let addr = s.h.addr();
    assert_eq!(s.post("/clusters/list", &json!({})).await.status, 200);
    let Sim { h, c } = s;
    h.shutdown().await;
    assert!(c.post(&url).json(&json!({})).send().await.is_err());
    // The port is free again.
    let l = tokio::net::TcpListener::bind(addr).await;
    assert!(l.is_ok(), "{l:?}");
}
