//! Every read endpoint's happy path and shape, error bodies, auth, filters and pagination.

use prism_sim::inventory::defaults as d;
use prism_sim::SimConfig;
use serde_json::json;

use super::common::*;

#[tokio::test]
async fn clusters_include_prism_central_which_builders_skip() {
    let s = Sim::start().await;
    let r = s
        .post("/clusters/list", &json!({"kind": "cluster", "length": 100}))
        .await;
    assert_eq!(r.status, 200);
    let ents = assert_list(&r.body, "cluster");
    assert_eq!(ents.len(), 3);
    for e in &ents {
        assert_metadata(&e["metadata"], "cluster");
        assert!(e["spec"]["name"].is_string());
        assert_eq!(e["status"]["state"], "COMPLETE");
        assert!(e["status"]["resources"]["config"]["service_list"].is_array());
    }
    // What the Go builder does: skip entries whose service_list contains PRISM_CENTRAL.
    let pe: Vec<_> = ents
        .iter()
        .filter(|e| {
            !e["status"]["resources"]["config"]["service_list"]
                .as_array()
                .unwrap()
                .contains(&json!("PRISM_CENTRAL"))
        })
        .map(|e| e["status"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(pe, vec![d::CLUSTER_1_NAME, d::CLUSTER_2_NAME]);
    let r = s.get(&format!("/clusters/{}", d::CLUSTER_1_UUID)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["api_version"], "3.1");
    assert_eq!(r.body["metadata"]["uuid"], d::CLUSTER_1_UUID);
    assert!(r.body["status"]["resources"]["nodes"]["hypervisor_server_list"].is_array());
}

#[tokio::test]
async fn subnets_duplicate_name_filter_escaping_and_pages() {
    let s = Sim::start().await;
    let r = s
        .post(
            "/subnets/list",
            &json!({"kind": "subnet", "filter": format!("name=={}", d::SUBNET_DUP_NAME)}),
        )
        .await;
    let ents = assert_list(&r.body, "subnet");
    assert_eq!(r.body["metadata"]["total_matches"], 2);
    let clusters: Vec<_> = ents
        .iter()
        .map(|e| e["spec"]["cluster_reference"]["uuid"].as_str().unwrap())
        .collect();
    assert_eq!(clusters, vec![d::CLUSTER_1_UUID, d::CLUSTER_2_UUID]);
    for e in &ents {
        assert_eq!(e["spec"]["resources"]["subnet_type"], "VLAN");
        assert!(e["spec"]["resources"]["vlan_id"].is_i64());
        assert_eq!(e["status"]["cluster_reference"]["kind"], "cluster");
    }
    // ANDed clause narrows to one cluster.
    let r = s
        .post("/subnets/list", &json!({"filter": format!("name=={};cluster_name=={}", d::SUBNET_DUP_NAME, d::CLUSTER_2_NAME)}))
        .await;
    assert_eq!(r.body["metadata"]["total_matches"], 1);
    // ORed clauses, and a name that needs escaping (percent or backslash form).
    let r = s
        .post(
            "/subnets/list",
            &json!({"filter": format!("name=={},name==VLAN200\\(NOIPAM\\)", d::SUBNET_IPAM_NAME)}),
        )
        .await;
    assert_eq!(r.body["metadata"]["total_matches"], 2);
    let r = s
        .post(
            "/subnets/list",
            &json!({"filter": "name==VLAN200%28NOIPAM%29"}),
        )
        .await;
    assert_eq!(
        r.body["entities"][0]["metadata"]["uuid"],
        d::SUBNET_SPECIAL_UUID
    );
    // Unescaped parentheses are a syntax error, as on a real PC.
    let r = s
        .post("/subnets/list", &json!({"filter": "name==VLAN200(NOIPAM)"}))
        .await;
    assert_prism_error(&r, 400, "INVALID_REQUEST");
    // Pages of one cover all four subnets exactly once.
    let mut seen = Vec::new();
    for off in 0..5 {
        let r = s
            .post(
                "/subnets/list",
                &json!({"kind": "subnet", "length": 1, "offset": off}),
            )
            .await;
        assert_eq!(r.body["metadata"]["total_matches"], 4);
        seen.extend(
            r.body["entities"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["metadata"]["uuid"].clone()),
        );
    }
    assert_eq!(seen.len(), 4);
    let r = s.get(&format!("/subnets/{}", d::SUBNET_IPAM_UUID)).await;
    assert_eq!(
        r.body["status"]["resources"]["ip_config"]["default_gateway_ip"],
        "10.42.100.1"
    );
}

#[tokio::test]
async fn images_projects_hosts_categories_tasks() {
    let s = Sim::start().await;
    let r = s
        .post("/images/list", &json!({"kind": "image", "length": 100}))
        .await;
    let ents = assert_list(&r.body, "image");
    assert_eq!(ents.len(), 5);
    for e in &ents {
        assert_metadata(&e["metadata"], "image");
        assert_eq!(e["status"]["state"], "COMPLETE");
        assert!(e["status"]["resources"]["size_bytes"].is_u64());
        assert!(e["spec"]["resources"]["image_type"].is_string());
    }
    let dup = s
        .post(
            "/images/list",
            &json!({"filter": format!("name=={}", d::IMAGE_DUP_NAME)}),
        )
        .await;
    assert_eq!(dup.body["metadata"]["total_matches"], 2);
    let iso = s
        .post(
            "/images/list",
            &json!({"filter": format!("name=={};image_type==ISO_IMAGE", d::IMAGE_DUP_NAME)}),
        )
        .await;
    assert_eq!(
        iso.body["entities"][0]["metadata"]["uuid"],
        d::IMAGE_DUP_ISO_UUID
    );
    let r = s.get(&format!("/images/{}", d::IMAGE_DISK_UUID)).await;
    assert_eq!(
        r.body["status"]["resources"]["size_bytes"],
        d::IMAGE_DISK_SIZE
    );
    assert!(r.body["status"]["resources"]["source_uri"].is_string());

    let r = s.post("/projects/list", &json!({"kind": "project"})).await;
    let ents = assert_list(&r.body, "project");
    assert_eq!(ents.len(), 2);
    assert!(ents
        .iter()
        .any(|e| e["status"]["name"] == d::PROJECT_DEV_NAME));
    let r = s.get(&format!("/projects/{}", d::PROJECT_DEV_UUID)).await;
    assert_eq!(r.body["spec"]["name"], d::PROJECT_DEV_NAME);

    // hosts/list without length returns every host (the Go client sends none).
    let r = s.post("/hosts/list", &json!({"kind": "host"})).await;
    let hosts = assert_list(&r.body, "host");
    assert_eq!(hosts.len(), 2);
    let gpu = &hosts[0]["status"]["resources"]["gpu_list"][0];
    assert_eq!(gpu["name"], d::GPU_NAME);
    assert_eq!(gpu["device_id"], d::GPU_DEVICE_ID);
    assert_eq!(gpu["vendor"], "kNvidia");
    assert_eq!(gpu["mode"], "PASSTHROUGH_COMPUTE");

    let r = s.get("/categories/Environment").await;
    assert_eq!(
        r.body,
        json!({"api_version": "3.1", "name": "Environment", "description": "Deployment environment", "system_defined": false})
    );
    let r = s.get("/categories/Environment/Dev").await;
    assert_eq!(r.body["value"], "Dev");
    assert_prism_error(
        &s.get("/categories/Environment/QA").await,
        404,
        "ENTITY_NOT_FOUND",
    );
    let r = s.post("/categories/list", &json!({})).await;
    assert_eq!(assert_list(&r.body, "category").len(), 2);
    let r = s.post("/categories/OSType/list", &json!({})).await;
    assert_eq!(assert_list(&r.body, "category").len(), 2);

    let r = s.post("/tasks/list", &json!({"kind": "task"})).await;
    assert_eq!(assert_list(&r.body, "task").len(), 0);
}

#[tokio::test]
async fn error_bodies() {
    let s = Sim::start().await;
    let r = s.get("/vms/list").await;
    assert_prism_error(&r, 400, "INVALID_UUID");
    assert_eq!(
        r.body["message_list"][0]["message"],
        "Invalid UUID passed. list"
    );
    assert_eq!(r.body["kind"], "vm");
    let missing = "11111111-2222-4333-8444-555555555555";
    for kind in [
        "vms", "images", "clusters", "subnets", "projects", "hosts", "tasks",
    ] {
        let r = s.get(&format!("/{kind}/{missing}")).await;
        assert_prism_error(&r, 404, "ENTITY_NOT_FOUND");
        assert!(r.body["message_list"][0]["message"]
            .as_str()
            .unwrap()
            .contains(missing));
    }
    assert_prism_error(&s.get("/widgets/list").await, 404, "NOT_FOUND");
    let r = s.send(s.c.get(s.raw_url("/api/nutanix/v4/vms"))).await;
    assert_prism_error(&r, 404, "NOT_FOUND");
    assert_prism_error(
        &s.delete(&format!("/clusters/{}", d::CLUSTER_1_UUID)).await,
        404,
        "NOT_FOUND",
    );
    // Malformed JSON.
    let r = s
        .send(
            s.c.post(s.url("/vms"))
                .basic_auth("admin", Some("secret"))
                .body("{\"metadata\": "),
        )
        .await;
    assert_prism_error(&r, 400, "INVALID_REQUEST");
    let r = s
        .send(
            s.c.post(s.url("/vms/list"))
                .basic_auth("admin", Some("secret"))
                .body("[1,"),
        )
        .await;
    assert_prism_error(&r, 400, "INVALID_REQUEST");
    // Empty body to a create.
    let r = s
        .send(s.c.post(s.url("/vms")).basic_auth("admin", Some("secret")))
        .await;
    assert_prism_error(&r, 422, "INVALID_REQUEST");
    // Deep nesting is an error, not a stack overflow.
    let deep = "[".repeat(100_000);
    let r = s
        .send(
            s.c.post(s.url("/vms/list"))
                .basic_auth("admin", Some("secret"))
                .body(deep),
        )
        .await;
    assert_prism_error(&r, 400, "INVALID_REQUEST");
}

#[tokio::test]
async fn oversized_json_body_is_413() {
    let mut cfg = SimConfig::default_for_tests();
    cfg.max_body_bytes = 1024;
    let s = Sim::start_with(cfg).await;
    let big = json!({"kind": "vm", "filter": "x".repeat(2000)});
    let r = s.post("/vms/list", &big).await;
    assert_prism_error(&r, 413, "REQUEST_TOO_LARGE");
}

#[tokio::test]
async fn auth_failures_get_prisms_401() {
    let mut cfg = SimConfig::default_for_tests();
    cfg.api_key = Some("k-123".into());
    let s = Sim::start_with(cfg).await;
    let url = s.url("/clusters/list");
    let expected = json!({"api_version": "3.1", "code": 401, "message_list": [{"details": "Basic realm=\"Intent Gateway Login Required\"",
        "message": "Authentication required.", "reason": "AUTHENTICATION_REQUIRED"}], "state": "ERROR"});
    for rb in [
        s.c.post(&url),
        s.c.post(&url).basic_auth("admin", Some("wrong")),
        s.c.post(&url).basic_auth("root", Some("secret")),
        s.c.post(&url).header("Authorization", "Basic !!!"),
        s.c.post(&url).header("Authorization", "Bearer abc"),
        s.c.post(&url).header("X-ntnx-api-key", "nope"),
        // a wrong key is not rescued by correct basic auth
        s.c.post(&url)
            .header("X-ntnx-api-key", "nope")
            .basic_auth("admin", Some("secret")),
    ] {
        let r = s.send(rb.json(&json!({}))).await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body, expected);
        assert_eq!(
            r.headers["www-authenticate"],
            "Basic realm=\"Intent Gateway Login Required\""
        );
    }
    let r = s
        .send(
            s.c.post(&url)
                .header("X-ntnx-api-key", "k-123")
                .json(&json!({})),
        )
        .await;
    assert_eq!(r.status, 200);
    // Without a configured key, the header never authenticates.
    let s2 = Sim::start().await;
    let r = s2
        .send(
            s2.c.post(s2.url("/clusters/list"))
                .header("X-ntnx-api-key", "")
                .json(&json!({})),
        )
        .await;
    assert_eq!(r.status, 401);
    // The control API needs no auth.
    assert!(s2.sim_get("/_sim/state").await["vms"].is_array());
}
