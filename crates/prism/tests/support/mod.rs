//! Shared helpers of the simulator tests: start a simulator, build a client for it, and talk
//! to its `/_sim` control API.

#![allow(dead_code)]

use std::time::Duration;

use prism::{Auth, ClientConfig, PrismClient, RetryPolicy};
use serde_json::Value;

/// A running simulator plus a client pointed at it.
pub struct Env {
    pub sim: prism_sim::SimHandle,
    pub client: PrismClient,
    pub base: String,
    http: reqwest::Client,
}

/// Retries fast enough for tests but with the same shape as production.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_delay: Duration::from_millis(10),
        multiplier: 2.0,
        max_delay: Duration::from_millis(100),
        max_retry_after: Duration::from_secs(2),
    }
}

pub fn config_for(base: &str, user: &str, password: &str) -> ClientConfig {
    let mut config = ClientConfig::from_base_url(base, Auth::basic(user, password)).unwrap();
    config.retry = fast_retry();
    config.use_env_proxy = false;
    config
}

pub async fn start() -> Env {
    start_with(prism_sim::SimConfig::default_for_tests()).await
}

pub async fn start_with(config: prism_sim::SimConfig) -> Env {
    let sim = prism_sim::Simulator::start(config)
        .await
        .expect("simulator starts");
    let base = sim.base_url();
    let client = PrismClient::new(config_for(&base, "admin", "secret")).unwrap();
    Env {
        sim,
        client,
        base,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
    }
}

impl Env {
    pub async fn sim_get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{}", self.base, path))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn sim_post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{}", self.base, path))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Adds fault rules (see prism_sim::faults for the format).
    pub async fn fault(&self, fault: Value) {
        self.sim_post("/_sim/faults", fault).await;
    }

    /// Every request the simulator saw, as it reports them.
    pub async fn requests(&self) -> Vec<Value> {
        let v = self.sim_get("/_sim/requests").await;
        match v {
            Value::Array(items) => items,
            Value::Object(mut o) => match o.remove("requests") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    /// How many requests had this method and a path ending with `suffix`.
    pub async fn count(&self, method: &str, suffix: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|r| {
                r.get("method").and_then(Value::as_str) == Some(method)
                    && r.get("path")
                        .and_then(Value::as_str)
                        .is_some_and(|p| p.split('?').next().unwrap_or(p).ends_with(suffix))
            })
            .count()
    }

    pub async fn state(&self) -> Value {
        self.sim_get("/_sim/state").await
    }
}

/// Finds, anywhere in `v`, an object whose `uuid` (or `metadata.uuid`) is `uuid`.
pub fn find_entity<'a>(v: &'a Value, uuid: &str) -> Option<&'a Value> {
    match v {
        Value::Object(o) => {
            let own = o.get("uuid").and_then(Value::as_str) == Some(uuid)
                || o.get("metadata")
                    .and_then(|m| m.get("uuid"))
                    .and_then(Value::as_str)
                    == Some(uuid);
            if own {
                return Some(v);
            }
            o.values().find_map(|c| find_entity(c, uuid))
        }
        Value::Array(items) => items.iter().find_map(|c| find_entity(c, uuid)),
        _ => None,
    }
}

/// Finds a string field named `key` anywhere inside `v`.
pub fn find_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    match v {
        Value::Object(o) => o
            .get(key)
            .and_then(Value::as_str)
            .or_else(|| o.values().find_map(|c| find_str(c, key))),
        Value::Array(items) => items.iter().find_map(|c| find_str(c, key)),
        _ => None,
    }
}
