//! TLS against the simulator's self-signed certificate: verified by default, trusted through
//! a CA bundle, accepted blindly only in insecure mode.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use prism::{PrismClient, PrismError};
use support::*;

async fn tls_sim() -> prism_sim::SimHandle {
    let mut config = prism_sim::SimConfig::default_for_tests();
    config.tls = true;
    prism_sim::Simulator::start(config)
        .await
        .expect("TLS simulator starts")
}

#[tokio::test]
async fn ca_bundle_makes_the_self_signed_simulator_trusted() {
    let sim = tls_sim().await;
    assert!(sim.base_url().starts_with("https://"));
    let mut config = config_for(&sim.base_url(), "admin", "secret");
    config.tls.ca_bundle_pem = Some(sim.ca_pem().expect("TLS simulator has a CA").into_bytes());
    let client = PrismClient::new(config).unwrap();
    assert_eq!(client.list_clusters().await.unwrap().len(), 3);
}

#[tokio::test]
async fn unknown_certificate_is_rejected_by_default() {
    let sim = tls_sim().await;
    let mut config = config_for(&sim.base_url(), "admin", "secret");
    config.retry.max_attempts = 1;
    let client = PrismClient::new(config).unwrap();
    match client.list_clusters().await {
        Err(PrismError::Transport { .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn insecure_mode_accepts_the_certificate() {
    let sim = tls_sim().await;
    let mut config = config_for(&sim.base_url(), "admin", "secret");
    config.tls.danger_accept_invalid_certs = true;
    let client = PrismClient::new(config).unwrap();
    assert_eq!(client.list_clusters().await.unwrap().len(), 3);
}

#[tokio::test]
async fn api_key_auth_is_sent_as_header() {
    let mut config = prism_sim::SimConfig::default_for_tests();
    config.api_key = Some("good-key".into());
    let env = start_with(config).await;
    let key_config = |key: &str| {
        let mut c = config_for(&env.base, "unused", "unused");
        c.auth = prism::Auth::api_key(key);
        c
    };
    let good = PrismClient::new(key_config("good-key")).unwrap();
    assert_eq!(good.list_clusters().await.unwrap().len(), 3);
    let bad = PrismClient::new(key_config("bad-key")).unwrap();
    match bad.list_clusters().await {
        Err(PrismError::Api { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
}
