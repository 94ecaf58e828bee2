//! HTTPS with the generated CA.

use prism_sim::{SimConfig, Simulator};
use serde_json::json;

use super::common::install_crypto;

#[tokio::test]
async fn https_with_generated_ca() {
    install_crypto();
    let mut cfg = SimConfig::default_for_tests();
    cfg.tls = true;
    let h = Simulator::start(cfg).await.unwrap();
    assert!(h.base_url().starts_with("https://127.0.0.1:"));
    let pem = h.ca_pem().unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).unwrap()])
        .build()
        .unwrap();
    for host in ["127.0.0.1", "localhost"] {
        let url = format!(
            "https://{host}:{}/api/nutanix/v3/clusters/list",
            h.addr().port()
        );
        let r = trusting
            .post(&url)
            .basic_auth("admin", Some("secret"))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    // A client that does not trust the CA fails the handshake.
    let other = reqwest::Client::builder()
        .tls_certs_only([])
        .build()
        .unwrap();
    let err = other
        .post(format!("{}/api/nutanix/v3/clusters/list", h.base_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    // Plain HTTP to the TLS port gets no answer.
    let plain = reqwest::Client::new();
    assert!(plain
        .get(format!("http://{}/_sim/state", h.addr()))
        .send()
        .await
        .is_err());
    h.shutdown().await;
}
