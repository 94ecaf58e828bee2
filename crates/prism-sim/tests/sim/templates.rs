//! v4 VM templates over HTTP: the raw calls of the Go plugin v1.2.1 (create with
//! NTNX-Request-Id, task polled through v3), list with `$filter`, get with ETag, delete with
//! If-Match, v4 error bodies, the accepted versions, authentication.

use prism_sim::SimConfig;
use serde_json::{json, Value};

use super::common::*;
use super::ova::exportable_vm;

pub fn v4_url(s: &Sim, version: &str, tail: &str) -> String {
    s.raw_url(&format!("/api/vmm/{version}/content/templates{tail}"))
}

pub fn template_body(name: &str, vm: &str) -> Value {
    json!({"$objectType": "vmm.v4.content.Template", "templateName": name,
        "templateDescription": "from CI",
        "templateVersionSpec": {"$objectType": "vmm.v4.content.TemplateVersionSpec",
            "versionSource": {"$objectType": "vmm.v4.content.TemplateVmReference", "extId": vm},
            "isActiveVersion": true, "isGcOverrideEnabled": true}})
}

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Creates a template like the Go plugin: POST, split the task extId at its last ':', poll
/// v3 /tasks. Returns the finished task.
pub async fn create_template(s: &Sim, version: &str, name: &str, vm: &str) -> Value {
    let r = s
        .send(
            s.c.post(v4_url(s, version, ""))
                .basic_auth("admin", Some("secret"))
                .header("NTNX-Request-Id", rid())
                .json(&template_body(name, vm)),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        r.body["$objectType"],
        "vmm.v4.content.CreateTemplateApiResponse"
    );
    assert_eq!(
        r.body["data"]["$objectType"],
        "prism.v4.config.TaskReference"
    );
    assert_eq!(
        r.body["metadata"]["flags"],
        json!([{"name": "hasError", "value": false}, {"name": "isPaginated", "value": false}])
    );
    let ext = r.body["data"]["extId"].as_str().unwrap();
    let (prefix, task) = ext.rsplit_once(':').unwrap();
    assert_eq!(prefix, "ZXJnb24=");
    s.wait_task(task).await
}

async fn list(s: &Sim, query: &[(&str, &str)]) -> Resp {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let q: Vec<String> = query
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect();
    s.send(
        s.c.get(format!("{}?{}", v4_url(s, "v4.0", ""), q.join("&")))
            .basic_auth("admin", Some("secret")),
    )
    .await
}

async fn get(s: &Sim, ext: &str) -> Resp {
    s.send(
        s.c.get(v4_url(s, "v4.0", &format!("/{ext}")))
            .basic_auth("admin", Some("secret")),
    )
    .await
}

/// Asserts a v4 error envelope.
pub fn assert_v4_error(r: &Resp, status: u16, object_type: &str) -> String {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["$objectType"], object_type, "{}", r.body);
    assert_eq!(r.body["data"]["$objectType"], "vmm.v4.error.ErrorResponse");
    let m = &r.body["data"]["error"][0];
    assert_eq!(m["$objectType"], "vmm.v4.error.AppMessage");
    assert_eq!(m["severity"], "ERROR");
    assert!(m["code"].is_string() && m["errorGroup"].is_string(), "{m}");
    assert_eq!(
        r.body["metadata"]["flags"][0],
        json!({"name": "hasError", "value": true})
    );
    m["message"].as_str().unwrap().to_string()
}

fn names(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| t["templateName"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn create_poll_list_get_delete() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "golden").await;
    for (version, name) in [("v4.0", "tpl"), ("v4.1", "O'Hara's"), ("v4.2", "tpl-2")] {
        let t = create_template(&s, version, name, &vm).await;
        assert_eq!(t["status"], "SUCCEEDED", "{t}");
    }
    // The create tasks are in /tasks/list too.
    let r = s
        .post(
            "/tasks/list",
            &json!({"filter": "operation_type==TemplateCreate"}),
        )
        .await;
    assert_eq!(assert_list(&r.body, "task").len(), 3);

    let r = list(&s, &[("$filter", "templateName eq 'tpl'")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["$objectType"],
        "vmm.v4.content.ListTemplatesApiResponse"
    );
    assert_eq!(names(&r.body), ["tpl"]);
    assert_eq!(r.body["metadata"]["totalAvailableResults"], 1);
    let r = list(&s, &[("$filter", "templateName eq 'O''Hara''s'")]).await;
    assert_eq!(names(&r.body), ["O'Hara's"]);
    let r = list(&s, &[("$filter", "templateName eq 'nope'")]).await;
    assert_eq!(r.status, 200);
    assert!(r.body.get("data").is_none(), "{}", r.body);
    assert_eq!(r.body["metadata"]["totalAvailableResults"], 0);
    let r = list(&s, &[("$page", "1"), ("$limit", "2")]).await;
    assert_eq!(names(&r.body), ["tpl-2"]);
    assert_eq!(r.body["metadata"]["totalAvailableResults"], 3);

    let r = list(&s, &[("$filter", "templateName eq 'tpl'")]).await;
    let ext = r.body["data"][0]["extId"].as_str().unwrap().to_string();
    let g = get(&s, &ext).await;
    assert_eq!(g.status, 200);
    assert_eq!(
        g.body["$objectType"],
        "vmm.v4.content.GetTemplateApiResponse"
    );
    assert_eq!(g.body["data"], r.body["data"][0]);
    assert_eq!(g.body["data"]["templateDescription"], "from CI");
    assert_eq!(
        g.body["data"]["createdBy"]["extId"],
        "00000000-0000-0000-0000-000000000000"
    );
    for t in ["createTime", "updateTime"] {
        let ts = g.body["data"][t].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{t}={ts}");
    }
    let etag = g.headers["etag"].to_str().unwrap().to_string();

    // The source VM can go; the template stays as it was.
    let r = s.delete(&format!("/vms/{vm}")).await;
    s.wait_task(&task_of(&r.body)).await;
    assert_eq!(get(&s, &ext).await.body, g.body);

    let del = |if_match: Option<String>| {
        let mut rb =
            s.c.delete(v4_url(&s, "v4.0", &format!("/{ext}")))
                .basic_auth("admin", Some("secret"))
                .header("NTNX-Request-Id", rid());
        if let Some(m) = if_match {
            rb = rb.header("If-Match", m);
        }
        rb
    };
    let r = s.send(del(Some(format!("{etag}0")))).await;
    let msg = assert_v4_error(&r, 412, "vmm.v4.content.DeleteTemplateApiResponse");
    assert!(msg.contains("If-Match"), "{msg}");
    let r = s.send(del(Some(etag))).await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(
        r.body["$objectType"],
        "vmm.v4.content.DeleteTemplateApiResponse"
    );
    let task = r.body["data"]["extId"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(s.wait_task(&task).await["status"], "SUCCEEDED");
    assert_v4_error(
        &get(&s, &ext).await,
        404,
        "vmm.v4.content.GetTemplateApiResponse",
    );
    // Without If-Match is fine too.
    let other = list(&s, &[("$filter", "templateName eq 'tpl-2'")])
        .await
        .body["data"][0]["extId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .send(
            s.c.delete(v4_url(&s, "v4.2", &format!("/{other}")))
                .basic_auth("admin", Some("secret"))
                .header("NTNX-Request-Id", rid()),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
}

#[tokio::test]
async fn v4_errors() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "v").await;
    let post = |body: Value, id: Option<String>| {
        let mut rb =
            s.c.post(v4_url(&s, "v4.0", ""))
                .basic_auth("admin", Some("secret"))
                .json(&body);
        if let Some(id) = id {
            rb = rb.header("NTNX-Request-Id", id);
        }
        rb
    };
    let create = "vmm.v4.content.CreateTemplateApiResponse";
    let r = s.send(post(template_body("t", &vm), None)).await;
    let msg = assert_v4_error(&r, 400, create);
    assert!(msg.contains("NTNX-Request-Id"), "{msg}");
    let r = s
        .send(post(json!({"templateVersionSpec": {}}), Some(rid())))
        .await;
    assert!(assert_v4_error(&r, 400, create).contains("templateName"));
    let unknown = "11111111-2222-4333-8444-555555555555";
    let r = s.send(post(template_body("t", unknown), Some(rid()))).await;
    assert!(assert_v4_error(&r, 404, create).contains(unknown));
    let r = s
        .send(
            s.c.post(v4_url(&s, "v4.0", ""))
                .basic_auth("admin", Some("secret"))
                .header("NTNX-Request-Id", rid())
                .body("{nope"),
        )
        .await;
    assert_v4_error(&r, 400, create);
    let r = s
        .send(
            s.c.delete(v4_url(&s, "v4.0", &format!("/{unknown}")))
                .basic_auth("admin", Some("secret")),
        )
        .await;
    assert!(
        assert_v4_error(&r, 400, "vmm.v4.content.DeleteTemplateApiResponse")
            .contains("NTNX-Request-Id")
    );
    let r = list(&s, &[("$filter", "templateDescription eq 'x'")]).await;
    let msg = assert_v4_error(&r, 400, "vmm.v4.content.ListTemplatesApiResponse");
    assert!(msg.contains("templateDescription"), "{msg}");
    let r = get(&s, "not-a-uuid").await;
    assert_v4_error(&r, 400, "vmm.v4.content.GetTemplateApiResponse");
    // Unknown versions and v4 paths: v4-shaped 404s.
    for path in [
        "/api/vmm/v4.3/content/templates",
        "/api/vmm/v4.0/content/ovas",
        "/api/vmm/v4.0/content/templates/x/y",
    ] {
        let r = s
            .send(s.c.get(s.raw_url(path)).basic_auth("admin", Some("secret")))
            .await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.body["data"]["$objectType"], "vmm.v4.error.ErrorResponse");
    }
    // Authentication as on v3, answered in v4 shape.
    let r = s.send(s.c.get(v4_url(&s, "v4.0", ""))).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.body["data"]["error"][0]["errorGroup"],
        "AUTHENTICATION_REQUIRED"
    );
    assert!(r.headers.contains_key("www-authenticate"));
    let r = s
        .send(
            s.c.get(v4_url(&s, "v4.0", ""))
                .basic_auth("admin", Some("wrong")),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(s.sim_get("/_sim/state").await["templates"], json!([]));
}

#[tokio::test]
async fn api_key_authenticates_v4_calls() {
    let mut cfg = SimConfig::default_for_tests();
    cfg.api_key = Some("k3y".into());
    let s = Sim::start_with(cfg).await;
    let r = s
        .send(
            s.c.get(v4_url(&s, "v4.0", ""))
                .header("X-ntnx-api-key", "k3y"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s
        .send(
            s.c.get(v4_url(&s, "v4.0", ""))
                .header("X-ntnx-api-key", "nope"),
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn a_repeated_request_id_replays_the_first_answer() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "v").await;
    let id = rid();
    let send = || {
        s.send(
            s.c.post(v4_url(&s, "v4.0", ""))
                .basic_auth("admin", Some("secret"))
                .header("NTNX-Request-Id", &id)
                .json(&template_body("once", &vm)),
        )
    };
    let a = send().await;
    let b = send().await;
    assert_eq!(a.status, 202);
    assert_eq!(a.body, b.body);
    assert_eq!(
        s.sim_get("/_sim/state").await["templates"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
