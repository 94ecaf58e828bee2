//! Test helpers: a started simulator plus a reqwest client with Prism-style calls.

use std::time::Duration;

use prism_sim::{SimConfig, SimHandle, Simulator};
use serde_json::Value;

pub const V3: &str = "/api/nutanix/v3";

pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub struct Sim {
    pub h: SimHandle,
    pub c: reqwest::Client,
}

pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Sim {
    pub async fn start() -> Self {
        Self::start_with(SimConfig::default_for_tests()).await
    }

    pub async fn start_with(cfg: SimConfig) -> Self {
        install_crypto();
        let h = Simulator::start(cfg).await.unwrap();
        let c = reqwest::Client::builder().build().unwrap();
        Self { h, c }
    }

    pub fn url(&self, p: &str) -> String {
        format!("{}{V3}{p}", self.h.base_url())
    }

    pub fn raw_url(&self, p: &str) -> String {
        format!("{}{p}", self.h.base_url())
    }

    pub async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        rb.basic_auth("admin", Some("secret"))
    }

    pub async fn get(&self, p: &str) -> Resp {
        self.send(self.auth(self.c.get(self.url(p)))).await
    }

    pub async fn post(&self, p: &str, body: &Value) -> Resp {
        self.send(self.auth(self.c.post(self.url(p))).json(body))
            .await
    }

    pub async fn put(&self, p: &str, body: &Value) -> Resp {
        self.send(self.auth(self.c.put(self.url(p))).json(body))
            .await
    }

    pub async fn delete(&self, p: &str) -> Resp {
        self.send(self.auth(self.c.delete(self.url(p)))).await
    }

    /// Polls a task like the Go plugin does until it is SUCCEEDED or FAILED (bounded, to fail
    /// instead of hanging).
    pub async fn wait_task(&self, task: &str) -> Value {
        for _ in 0..2000 {
            let r = self.get(&format!("/tasks/{task}")).await;
            assert_eq!(r.status, 200, "{}", r.body);
            let st = r.body["status"].as_str().unwrap().to_string();
            if st == "SUCCEEDED" || st == "FAILED" {
                return r.body;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("task {task} never finished");
    }

    pub async fn sim_get(&self, p: &str) -> Value {
        self.send(self.c.get(self.raw_url(p))).await.body
    }
}

pub fn task_of(body: &Value) -> String {
    body["status"]["execution_context"]["task_uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Asserts the `{api_version, code, message_list[{message, reason}], state: ERROR}` error shape.
pub fn assert_prism_error(r: &Resp, status: u16, reason: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["api_version"], "3.1");
    assert_eq!(r.body["code"], status);
    assert_eq!(r.body["state"], "ERROR");
    assert_eq!(r.body["message_list"][0]["reason"], reason, "{}", r.body);
    assert!(r.body["message_list"][0]["message"].is_string());
}

/// Asserts the metadata fields every v3 entity carries (docs/design/prism-v3.md, 'Entities,
/// metadata and spec_version').
pub fn assert_metadata(m: &Value, kind: &str) {
    assert_eq!(m["kind"], kind, "{m}");
    assert!(uuid::Uuid::parse_str(m["uuid"].as_str().unwrap()).is_ok());
    assert!(m["spec_version"].is_u64(), "{m}");
    assert!(m["categories"].is_object());
    assert!(m["categories_mapping"].is_object());
    for t in ["creation_time", "last_update_time"] {
        let s = m[t].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(s).is_ok(), "{t}={s}");
    }
}

/// Asserts the list response shape.
pub fn assert_list(body: &Value, kind: &str) -> Vec<Value> {
    assert_eq!(body["api_version"], "3.1");
    assert_eq!(body["metadata"]["kind"], kind);
    assert!(body["metadata"]["total_matches"].is_u64());
    assert!(body["metadata"]["length"].is_u64());
    assert!(body["metadata"]["offset"].is_u64());
    let ents = body["entities"].as_array().unwrap().clone();
    assert_eq!(
        body["metadata"]["length"].as_u64().unwrap() as usize,
        ents.len()
    );
    ents
}
