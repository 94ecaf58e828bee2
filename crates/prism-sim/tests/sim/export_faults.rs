//! Faults on the OVA and template paths (HTTP faults on every one, task faults on those that
//! create tasks), and `/_sim/reset` clearing OVAs and templates.

use std::sync::Arc;
use std::time::Duration;

use prism_sim::{ManualClock, SimConfig};
use serde_json::{json, Value};

use super::common::*;
use super::ova::{export, exportable_vm};
use super::templates::{assert_v4_error, create_template, template_body};

async fn add(s: &Sim, v: Value) {
    let r = s.send(s.c.post(s.raw_url("/_sim/faults")).json(&v)).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// One OVA and one template to aim requests at; returns (vm, ova uuid, template extId).
async fn fixtures(s: &Sim) -> (String, String, String) {
    let vm = exportable_vm(s, "v").await;
    assert_eq!(export(s, &vm, "o", "VMDK").await["status"], "SUCCEEDED");
    let ova = s.sim_get("/_sim/state").await["ovas"][0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        create_template(s, "v4.0", "t", &vm).await["status"],
        "SUCCEEDED"
    );
    let ext = s.sim_get("/_sim/state").await["templates"][0]["ext_id"]
        .as_str()
        .unwrap()
        .to_string();
    (vm, ova, ext)
}

/// Every new path: (method, path, JSON body, v4 envelope type when v4).
fn routes(
    vm: &str,
    ova: &str,
    ext: &str,
) -> Vec<(&'static str, String, Option<Value>, Option<&'static str>)> {
    let v3 = "/api/nutanix/v3";
    vec![
        (
            "POST",
            format!("{v3}/vms/{vm}/export"),
            Some(json!({"name": "x", "disk_file_format": "VMDK"})),
            None,
        ),
        ("POST", format!("{v3}/ovas/list"), Some(json!({})), None),
        ("GET", format!("{v3}/ovas/{ova}"), None, None),
        ("GET", format!("{v3}/ovas/{ova}/file"), None, None),
        ("DELETE", format!("{v3}/ovas/{ova}"), None, None),
        (
            "POST",
            "/api/vmm/v4.0/content/templates".into(),
            Some(template_body("x", vm)),
            Some("vmm.v4.content.CreateTemplateApiResponse"),
        ),
        (
            "GET",
            "/api/vmm/v4.1/content/templates".into(),
            None,
            Some("vmm.v4.content.ListTemplatesApiResponse"),
        ),
        (
            "GET",
            format!("/api/vmm/v4.2/content/templates/{ext}"),
            None,
            Some("vmm.v4.content.GetTemplateApiResponse"),
        ),
        (
            "DELETE",
            format!("/api/vmm/v4.0/content/templates/{ext}"),
            None,
            Some("vmm.v4.content.DeleteTemplateApiResponse"),
        ),
    ]
}

fn request(s: &Sim, method: &str, path: &str, body: &Option<Value>) -> reqwest::RequestBuilder {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb =
        s.c.request(m, s.raw_url(path))
            .basic_auth("admin", Some("secret"))
            .header("NTNX-Request-Id", uuid::Uuid::new_v4().to_string());
    if let Some(b) = body {
        rb = rb.json(b);
    }
    rb
}

#[tokio::test]
async fn http_faults_apply_to_every_new_path() {
    let s = Sim::start().await;
    let (vm, ova, ext) = fixtures(&s).await;
    for (method, path, body, v4) in routes(&vm, &ova, &ext) {
        let exact = format!("^{}$", regex_escape(&path));
        // status: v3 paths answer with a v3 body, v4 paths with a v4 one.
        add(&s, json!({"match": {"method": method, "path_regex": exact}, "action": {"type": "status", "status": 503, "message": "down"}})).await;
        let r = s.send(request(&s, method, &path, &body)).await;
        match v4 {
            Some(t) => assert_eq!(assert_v4_error(&r, 503, t), "down"),
            None => assert_prism_error(&r, 503, "INTERNAL_ERROR"),
        }
        // rate_limit.
        add(&s, json!({"match": {"method": method, "path_regex": exact}, "action": {"type": "rate_limit", "retry_after_secs": 4}})).await;
        let r = s.send(request(&s, method, &path, &body)).await;
        assert_eq!(r.status, 429, "{method} {path}");
        assert_eq!(r.headers["retry-after"], "4");
        if let Some(t) = v4 {
            assert_v4_error(&r, 429, t);
        }
        // drop.
        add(
            &s,
            json!({"match": {"method": method, "path_regex": exact}, "action": {"type": "drop"}}),
        )
        .await;
        let err = request(&s, method, &path, &body).send().await.unwrap_err();
        assert!(
            err.is_request() || err.is_connect() || err.is_body(),
            "{method} {path}: {err:?}"
        );
        // latency: delayed, then answered normally.
        add(&s, json!({"match": {"method": method, "path_regex": exact}, "action": {"type": "latency", "ms": 30}})).await;
        let before = s.h.requests().len();
        let r = s.send(request(&s, method, &path, &body)).await;
        assert!(r.status < 300, "{method} {path}: {} {}", r.status, r.body);
        let rec = s.h.requests()[before].clone();
        assert_eq!(rec.path, path);
        assert!(rec.duration_ms >= 30, "{rec:?}");
        assert_eq!(
            s.sim_get("/_sim/faults").await,
            json!([]),
            "{method} {path}"
        );
    }
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if ".+*?()[]{}|^$\\".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

#[tokio::test]
async fn task_faults_shape_the_tasks_of_new_requests() {
    let clock = ManualClock::new();
    let mut cfg = SimConfig::default_for_tests();
    cfg.clock = Arc::new(clock.clone());
    let s = Sim::start_with(cfg).await;
    let later = || clock.advance(Duration::from_secs(60));
    // A VM, without wait_task (time only moves when told).
    let r = s
        .post(
            "/vms",
            &json!({"metadata": {"kind": "vm"}, "spec": {"name": "v", "resources": {
            "power_state": "OFF", "disk_list": [{"disk_size_mib": 2}]}}}),
        )
        .await;
    let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    later();
    add(&s, json!([
        {"match": {"path_regex": "/export$"}, "action": {"type": "task_fail", "message": "INTERNAL_ERROR: disk unreadable"}},
        {"match": {"method": "DELETE", "path": "/api/nutanix/v3/ovas/"}, "action": {"type": "task_status", "status": "ABORTED"}},
        {"match": {"method": "POST", "path": "/api/vmm/"}, "action": {"type": "task_hang"}},
        {"match": {"method": "DELETE", "path": "/api/vmm/"}, "action": {"type": "task_fail"}}
    ]))
    .await;
    let task_body = |r: &Resp| -> String {
        match r.body["task_uuid"].as_str() {
            Some(t) => t.to_string(),
            None => r.body["data"]["extId"]
                .as_str()
                .unwrap()
                .rsplit(':')
                .next()
                .unwrap()
                .to_string(),
        }
    };
    // Requests that create no task pass the task rules by.
    assert_eq!(s.post("/ovas/list", &json!({})).await.status, 200);
    assert_eq!(s.sim_get("/_sim/faults").await.as_array().unwrap().len(), 4);

    let export_path = format!("/vms/{vm}/export");
    let failed = s
        .post(
            &export_path,
            &json!({"name": "failed", "disk_file_format": "QCOW2"}),
        )
        .await;
    assert_eq!(failed.status, 202);
    let ok = s
        .post(
            &export_path,
            &json!({"name": "ok", "disk_file_format": "QCOW2"}),
        )
        .await;
    later();
    let t = s.get(&format!("/tasks/{}", task_body(&failed))).await.body;
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["error_detail"], "INTERNAL_ERROR: disk unreadable");
    assert_eq!(
        s.get(&format!("/tasks/{}", task_body(&ok))).await.body["status"],
        "SUCCEEDED"
    );
    let st = s.sim_get("/_sim/state").await;
    let ovas = st["ovas"].as_array().unwrap();
    assert_eq!(ovas.len(), 1, "{st}");
    assert_eq!(ovas[0]["name"], "ok");
    let ova = ovas[0]["uuid"].as_str().unwrap().to_string();

    let del = s.delete(&format!("/ovas/{ova}")).await;
    assert_eq!(del.status, 202, "{}", del.body);
    later();
    let t = s.get(&format!("/tasks/{}", task_body(&del))).await.body;
    assert_eq!(t["status"], "ABORTED");
    assert_eq!(
        s.sim_get("/_sim/state").await["ovas"][0]["state"],
        "COMPLETE"
    );

    let post_tpl = |name: &str| {
        s.send(
            s.c.post(s.raw_url("/api/vmm/v4.0/content/templates"))
                .basic_auth("admin", Some("secret"))
                .header("NTNX-Request-Id", uuid::Uuid::new_v4().to_string())
                .json(&template_body(name, &vm)),
        )
    };
    let hung = post_tpl("hung").await;
    assert_eq!(hung.status, 202);
    let good = post_tpl("good").await;
    later();
    assert_eq!(
        s.get(&format!("/tasks/{}", task_body(&hung))).await.body["status"],
        "RUNNING"
    );
    assert_eq!(
        s.get(&format!("/tasks/{}", task_body(&good))).await.body["status"],
        "SUCCEEDED"
    );
    let st = s.sim_get("/_sim/state").await;
    let states: Vec<(String, String)> = st["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().into(),
                t["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("hung".into(), "PENDING".into()),
            ("good".into(), "COMPLETE".into())
        ]
    );
    let ext = st["templates"][1]["ext_id"].as_str().unwrap().to_string();
    let del = s
        .send(
            s.c.delete(s.raw_url(&format!("/api/vmm/v4.0/content/templates/{ext}")))
                .basic_auth("admin", Some("secret"))
                .header("NTNX-Request-Id", uuid::Uuid::new_v4().to_string()),
        )
        .await;
    assert_eq!(del.status, 202);
    later();
    let t = s.get(&format!("/tasks/{}", task_body(&del))).await.body;
    assert_eq!(t["status"], "FAILED");
    assert_eq!(
        s.sim_get("/_sim/state").await["templates"][1]["state"],
        "COMPLETE"
    );
    assert_eq!(s.sim_get("/_sim/faults").await, json!([]));
}

#[tokio::test]
async fn reset_clears_ovas_and_templates() {
    let s = Sim::start().await;
    fixtures(&s).await;
    let st = s.sim_get("/_sim/state").await;
    assert_eq!(st["ovas"].as_array().unwrap().len(), 1);
    assert_eq!(st["templates"].as_array().unwrap().len(), 1);
    let r = s.send(s.c.post(s.raw_url("/_sim/reset"))).await;
    assert_eq!(r.status, 200);
    let st = s.sim_get("/_sim/state").await;
    assert_eq!(st["ovas"], json!([]));
    assert_eq!(st["templates"], json!([]));
    assert_eq!(
        s.post("/ovas/list", &json!({})).await.body["metadata"]["total_matches"],
        0
    );
}
