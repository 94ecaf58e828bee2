//! The v4 template calls on the wire, against a scripted HTTP server on 127.0.0.1 that records
//! every request: the headers the simulator's request log does not show (`NTNX-Request-Id`
//! repeated on a retry and fresh per call, `If-Match` carrying the ETag verbatim), the exact
//! create body (docs/design/prism-v3.md, 'Creating a template'), and list paging with the
//! decoded OData filter.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, Mutex};

use prism::{Auth, ClientConfig, NewTemplate, PrismClient, Wait};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    fn query(&self) -> Vec<(String, String)> {
        let query = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect()
    }
}

type Responder = dyn Fn(usize, &Seen) -> String + Send + Sync;

fn reply(status: &str, extra_headers: &[(&str, &str)], body: &str) -> String {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut start = lines.next()?.split(' ');
    let method = start.next()?.to_string();
    let target = start.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        target,
        headers,
        body,
    })
}

/// Serves `respond(index, request)` for every request; returns the client and the log.
async fn scripted(respond: Box<Responder>) -> (PrismClient, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let seen = log.clone();
    let respond: Arc<Responder> = respond.into();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            let respond = respond.clone();
            tokio::spawn(async move {
                if let Some(request) = read_request(&mut stream).await {
                    let index = {
                        let mut log = seen.lock().unwrap();
                        log.push(request.clone());
                        log.len() - 1
                    };
                    let answer = respond(index, &request);
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                }
            });
        }
    });
    let mut config =
        ClientConfig::from_base_url(&format!("http://{addr}"), Auth::basic("admin", "secret"))
            .unwrap();
    config.use_env_proxy = false;
    config.retry.initial_delay = std::time::Duration::from_millis(5);
    config.retry.max_delay = std::time::Duration::from_millis(20);
    config.page_size = 2;
    (PrismClient::new(config).unwrap(), log)
}

const TASK: &str = "5d1c0e4f-2222-4a5b-9c6d-00000000000a";

fn task_reference() -> String {
    json!({"$objectType": "vmm.v4.content.CreateTemplateApiResponse",
        "data": {"$objectType": "prism.v4.config.TaskReference", "extId": format!("ZXJnb24=:{TASK}")},
        "metadata": {"flags": [{"name": "hasError", "value": false}]}})
    .to_string()
}

fn succeeded_task() -> String {
    json!({"uuid": TASK, "status": "SUCCEEDED", "percentage_complete": 100}).to_string()
}

#[tokio::test]
async fn template_create_sends_the_contract_body_and_repeats_its_request_id_on_retry() {
    let (client, log) = scripted(Box::new(|i, _| match i {
        0 => reply("429 Too Many Requests", &[("Retry-After", "0")], "{}"),
        _ => reply("202 Accepted", &[], &task_reference()),
    }))
    .await;
    let new = NewTemplate {
        name: "golden".into(),
        description: "built by Packer".into(),
        vm_uuid: "vm-1".into(),
    };
    assert_eq!(client.submit_template(&new).await.unwrap(), TASK);
    assert_eq!(client.submit_template(&new).await.unwrap(), TASK);

    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 3);
    for request in &log {
        assert_eq!(request.method, "POST");
        assert_eq!(request.target, "/api/vmm/v4.0/content/templates");
        assert!(request.header("authorization").is_some());
        assert_eq!(request.header("content-type"), Some("application/json"));
        // prism-v3.md, 'Creating a template': the body the Go plugin v1.2.1 sends.
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(
            body,
            json!({"$objectType":"vmm.v4.content.Template","templateName":"golden",
                "templateDescription":"built by Packer",
                "templateVersionSpec":{"$objectType":"vmm.v4.content.TemplateVersionSpec",
                  "versionSource":{"$objectType":"vmm.v4.content.TemplateVmReference","extId":"vm-1"},
                  "isActiveVersion":true,"isGcOverrideEnabled":true}})
        );
    }
    let id = |i: usize| log[i].header("ntnx-request-id").unwrap().to_string();
    assert!(uuid::Uuid::parse_str(&id(0)).is_ok(), "{}", id(0));
    assert_eq!(
        id(0),
        id(1),
        "a retry of one request repeats its idempotency key"
    );
    assert_ne!(id(1), id(2), "another call gets a fresh one");
}

#[tokio::test]
async fn template_create_without_a_task_reference_is_a_missing_field_error() {
    let (client, _) = scripted(Box::new(|_, _| {
        reply("202 Accepted", &[], r#"{"data":{"extId":"ZXJnb24=:"}}"#)
    }))
    .await;
    let new = NewTemplate {
        name: "n".into(),
        description: String::new(),
        vm_uuid: "v".into(),
    };
    match client.submit_template(&new).await {
        Err(prism::PrismError::MissingField { op, field }) => {
            assert!(op.contains("'n'"), "{op}");
            assert!(field.contains("extId"), "{field}");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn template_delete_sends_the_etag_verbatim_and_waits_on_the_v3_task() {
    let etag = r#"W/"ZXRhZy0x""#;
    let (client, log) = scripted(Box::new(move |_, r| match (r.method.as_str(), r.path()) {
        ("GET", "/api/vmm/v4.0/content/templates/t-1") => reply(
            "200 OK",
            &[("ETag", etag)],
            &json!({"data": {"extId": "t-1", "templateName": "golden"}}).to_string(),
        ),
        ("DELETE", "/api/vmm/v4.0/content/templates/t-1") => {
            reply("202 Accepted", &[], &task_reference())
        }
        ("GET", p) if p == format!("/api/nutanix/v3/tasks/{TASK}") => {
            reply("200 OK", &[], &succeeded_task())
        }
        _ => reply("500 Internal Server Error", &[], "{}"),
    }))
    .await;
    client
        .delete_template("t-1", &Wait::new(std::time::Duration::from_secs(30)))
        .await
        .unwrap();
    let log = log.lock().unwrap().clone();
    let methods: Vec<(&str, &str)> = log.iter().map(|r| (r.method.as_str(), r.path())).collect();
    assert_eq!(
        methods,
        vec![
            ("GET", "/api/vmm/v4.0/content/templates/t-1"),
            ("DELETE", "/api/vmm/v4.0/content/templates/t-1"),
            ("GET", format!("/api/nutanix/v3/tasks/{TASK}").as_str()),
        ]
    );
    assert_eq!(log[1].header("if-match"), Some(etag));
    let id = log[1].header("ntnx-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(
        log[0].header("ntnx-request-id"),
        None,
        "reads carry no request id"
    );
}

#[tokio::test]
async fn template_list_pages_with_the_decoded_odata_filter() {
    let (client, log) = scripted(Box::new(|_, r| {
        let page = r
            .query()
            .into_iter()
            .find(|(k, _)| k == "$page")
            .map(|(_, v)| v)
            .unwrap_or_default();
        let t = |id: &str, name: &str| json!({"extId": id, "templateName": name});
        let body = match page.as_str() {
            "0" => json!({"data": [t("a", "O'Neil"), t("b", "O'Neil-2")],
                          "metadata": {"totalAvailableResults": 3}}),
            "1" => json!({"data": [t("c", "O'Neil")],
                          "metadata": {"totalAvailableResults": 3}}),
            _ => json!({"metadata": {"totalAvailableResults": 3}}),
        };
        reply("200 OK", &[], &body.to_string())
    }))
    .await;
    let found = client.templates_named("O'Neil").await.unwrap();
    let ids: Vec<&str> = found.iter().map(|t| t.ext_id.as_str()).collect();
    assert_eq!(ids, vec!["a", "c"], "exact names only, every page");
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2, "stops once totalAvailableResults is reached");
    for (i, request) in log.iter().enumerate() {
        assert_eq!(request.method, "GET");
        assert_eq!(request.path(), "/api/vmm/v4.0/content/templates");
        let query = request.query();
        let get = |k: &str| {
            query
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("$filter").as_deref(), Some("templateName eq 'O''Neil'"));
        assert_eq!(get("$page"), Some(i.to_string()));
        assert_eq!(get("$limit").as_deref(), Some("2"));
    }
}

#[tokio::test]
async fn template_list_without_total_stops_on_a_short_page() {
    let (client, log) = scripted(Box::new(|_, r| {
        let page = r
            .query()
            .into_iter()
            .find(|(k, _)| k == "$page")
            .map(|(_, v)| v)
            .unwrap_or_default();
        let body = match page.as_str() {
            "0" => json!({"data": [{"extId": "a", "templateName": "x"},
                                   {"extId": "b", "templateName": "x"}]}),
            "1" => json!({"data": [{"extId": "c", "templateName": "x"}]}),
            _ => json!({"data": [{"extId": "never", "templateName": "x"}]}),
        };
        reply("200 OK", &[], &body.to_string())
    }))
    .await;
    assert_eq!(client.templates_named("x").await.unwrap().len(), 3);
    assert_eq!(log.lock().unwrap().len(), 2);
}
