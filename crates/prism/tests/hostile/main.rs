//! The client against a server that misbehaves on purpose (issue 15): credentials never follow
//! a redirect off the origin, nothing hangs, every failure names the call and its root cause,
//! what cannot heal is not retried, and a pinned self-signed CA:TRUE certificate is trusted.
//!
//! Deadlines are made small through the client config; the timeouts around each call are hang
//! guards only (a call that needs them has hung), not performance claims.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod server;

use std::future::Future;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prism::{
    Auth, ClientConfig, CustomHeader, PrismClient, PrismError, RetryPolicy, Secret, Stage,
};
use server::{self_signed_ca_true, self_signed_leaf, Hostile, Reply, Seen};

const API_KEY: &str = "the-api-key-value";
const CUSTOM_VALUE: &str = "custom-secret-value";
const LIST_PATH: &str = "/api/nutanix/v3/clusters/list";
const ONE_CLUSTER: &str = r#"{"api_version":"3.1","metadata":{"kind":"cluster","total_matches":1,"length":1,"offset":0},
  "entities":[{"metadata":{"kind":"cluster","uuid":"c-1"},"spec":{"name":"c1"},"status":{"name":"c1"}}]}"#;

/// Small deadlines, three quick attempts, the API key and a secret custom header.
fn config(base: &str, auth: Auth) -> ClientConfig {
    let mut c = ClientConfig::from_base_url(base, auth).unwrap();
    c.use_env_proxy = false;
    c.retry = RetryPolicy {
        max_attempts: 3,
        initial_delay: Duration::from_millis(10),
        multiplier: 2.0,
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(1),
    };
    c.connect_timeout = Duration::from_secs(2);
    c.read_timeout = Duration::from_millis(300);
    c.call_timeout = Duration::from_secs(3);
    c.custom_headers.push(CustomHeader {
        name: "X-Custom-Token".into(),
        value: Secret::new(CUSTOM_VALUE),
    });
    c
}

fn api_key() -> Auth {
    Auth::ApiKey(Secret::new(API_KEY))
}

fn client(base: &str) -> PrismClient {
    PrismClient::new(config(base, api_key())).unwrap()
}

async fn guard<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .unwrap_or_else(|_| panic!("{what} hung"))
}

/// No request carries a credential.
fn assert_no_credentials(seen: &[Seen], who: &str) {
    for r in seen {
        for (name, value) in &r.headers {
            assert!(
                !value.contains(API_KEY) && !value.contains(CUSTOM_VALUE),
                "{who} received a credential in {name}: {r:?}"
            );
        }
    }
}

async fn list_error(client: &PrismClient) -> PrismError {
    match guard("list clusters", client.list_clusters()).await {
        Ok(list) => panic!("expected an error, got {list:?}"),
        Err(e) => {
            println!("error: {e}"); // shown with --nocapture: what a user would read
            e
        }
    }
}

// ---- redirects -------------------------------------------------------------------------------

#[tokio::test]
async fn a_redirect_to_another_port_gets_no_credentials() {
    let other = Hostile::http(|_| Reply::Json(200, ONE_CLUSTER.into())).await;
    let target = format!("{}{LIST_PATH}", other.base());
    let first = Hostile::http(move |_| Reply::Redirect(307, target.clone())).await;
    let err = list_error(&client(&first.base())).await;
    assert_no_credentials(&other.seen(), "the other origin");
    assert!(other.seen().is_empty(), "{:?}", other.seen());
    let text = err.to_string();
    assert!(
        matches!(err, PrismError::Redirect { status: 307, .. }),
        "{err:?}"
    );
    assert!(text.contains(&other.base()), "names the target: {text}");
    assert_eq!(first.seen().len(), 1, "not retried");
}

#[tokio::test]
async fn a_redirect_to_another_host_name_gets_no_credentials() {
    // Same port, another host name: the same socket would receive it, so what it sees tells.
    let port = Arc::new(AtomicU16::new(0));
    let own = port.clone();
    let server = Hostile::http(move |r: &Seen| match r.header("host") {
        Some(h) if h.starts_with("localhost") => Reply::Json(200, ONE_CLUSTER.into()),
        _ => Reply::Redirect(
            307,
            format!("http://localhost:{}{LIST_PATH}", own.load(Ordering::SeqCst)),
        ),
    })
    .await;
    port.store(server.port, Ordering::SeqCst);
    let err = list_error(&client(&server.base())).await;
    let to_localhost: Vec<Seen> = server
        .seen()
        .into_iter()
        .filter(|r| r.header("host").is_some_and(|h| h.starts_with("localhost")))
        .collect();
    assert_no_credentials(&to_localhost, "the other host");
    assert!(to_localhost.is_empty(), "{to_localhost:?}");
    assert!(matches!(err, PrismError::Redirect { .. }), "{err:?}");
}

#[tokio::test]
async fn https_is_never_downgraded_to_http() {
    let plain = Hostile::http(|_| Reply::Json(200, ONE_CLUSTER.into())).await;
    let target = format!("{}{LIST_PATH}", plain.base());
    let cert = self_signed_ca_true("127.0.0.1", &["127.0.0.1"]);
    let tls = Hostile::https(cert.config.clone(), move |_| {
        Reply::Redirect(308, target.clone())
    })
    .await;
    let mut c = config(&tls.base(), api_key());
    c.tls.ca_bundle_pem = Some(cert.pem.clone().into_bytes());
    let err = list_error(&PrismClient::new(c).unwrap()).await;
    assert!(plain.seen().is_empty(), "{:?}", plain.seen());
    let text = err.to_string();
    assert!(text.contains("downgrade"), "{text}");
}

#[tokio::test]
async fn a_303_never_turns_a_post_into_a_get() {
    let server = Hostile::http(|r: &Seen| match r.method.as_str() {
        "POST" => Reply::Redirect(303, format!("{LIST_PATH}?page=2")),
        _ => Reply::Json(200, ONE_CLUSTER.into()),
    })
    .await;
    let err = list_error(&client(&server.base())).await;
    assert!(
        server.seen().iter().all(|r| r.method == "POST"),
        "{:?}",
        server.seen()
    );
    let text = err.to_string();
    assert!(text.contains("303") && text.contains("POST"), "{text}");
}

#[tokio::test]
async fn a_same_origin_307_repeats_the_post_with_its_body() {
    let server = Hostile::http(|r: &Seen| {
        if r.path == LIST_PATH {
            Reply::Redirect(307, "/api/nutanix/v3/clusters/list2".into())
        } else {
            Reply::Json(200, ONE_CLUSTER.into())
        }
    })
    .await;
    let clusters = guard("list", client(&server.base()).list_clusters())
        .await
        .unwrap();
    assert_eq!(clusters.len(), 1);
    let seen = server.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[1].method, "POST");
    assert_eq!(seen[1].path, "/api/nutanix/v3/clusters/list2");
    assert_eq!(seen[1].body, seen[0].body);
    assert!(!seen[1].body.is_empty());
    assert_eq!(seen[1].header("x-ntnx-api-key"), Some(API_KEY));
}

#[tokio::test]
async fn a_redirect_loop_stops_after_a_few_hops() {
    let server = Hostile::http(|_| Reply::Redirect(307, LIST_PATH.into())).await;
    let err = list_error(&client(&server.base())).await;
    let text = err.to_string();
    assert!(text.contains("redirect loop"), "{text}");
    assert!(server.seen().len() <= 4, "{} requests", server.seen().len());
}

// ---- deadlines -------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_that_never_ends_fails_naming_the_call_and_the_body() {
    let server = Hostile::http(|_| Reply::TrickleBody(1_000_000, Duration::from_millis(50))).await;
    let err = list_error(&client(&server.base())).await;
    let text = err.to_string();
    assert!(
        matches!(
            err,
            PrismError::Transport {
                stage: Stage::Body,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(text.contains("POST") && text.contains(LIST_PATH), "{text}");
    assert!(text.contains("reading the response body"), "{text}");
    assert!(text.contains("overall deadline"), "{text}");
}

#[tokio::test]
async fn headers_that_never_end_fail_naming_the_headers() {
    let server = Hostile::http(|_| Reply::TrickleHead(Duration::from_millis(50))).await;
    let err = list_error(&client(&server.base())).await;
    let text = err.to_string();
    assert!(
        matches!(
            err,
            PrismError::Transport {
                stage: Stage::Headers,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(text.contains("waiting for the response headers"), "{text}");
    assert!(text.contains(LIST_PATH), "{text}");
}

#[tokio::test]
async fn a_silent_body_fails_on_the_stall_deadline() {
    // A body that stops after its first byte: the stall deadline (300 ms), not the overall one.
    let server = Hostile::http(|_| Reply::TrickleBody(100, Duration::from_secs(3600))).await;
    let mut c = config(&server.base(), api_key());
    c.retry.max_attempts = 1;
    let err = list_error(&PrismClient::new(c).unwrap()).await;
    let text = err.to_string();
    assert!(text.contains("stall deadline"), "{text}");
}

// ---- causes ----------------------------------------------------------------------------------

async fn cause_of(reply: Reply) -> (PrismError, usize) {
    let server = Hostile::http(move |_| reply.clone()).await;
    let err = list_error(&client(&server.base())).await;
    (err, server.seen().len())
}

#[tokio::test]
async fn a_reset_names_the_reset() {
    let (err, seen) = cause_of(Reply::Reset).await;
    let text = err.to_string().to_lowercase();
    assert!(text.contains("reset"), "{text}");
    assert!(text.contains(LIST_PATH), "{text}");
    assert_eq!(seen, 3, "a reset may heal: retried");
}

#[tokio::test]
async fn a_closed_connection_names_the_close() {
    let (err, _) = cause_of(Reply::Close).await;
    let text = err.to_string().to_lowercase();
    assert!(text.contains("closed"), "{text}");
    assert!(!text.contains("error sending request for url"), "{text}");
}

#[tokio::test]
async fn a_short_body_names_the_body() {
    let (err, _) = cause_of(Reply::ShortBody).await;
    let text = err.to_string();
    assert!(
        matches!(
            err,
            PrismError::Transport {
                stage: Stage::Body,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!text.ends_with("error decoding response body"), "{text}");
    assert!(text.to_lowercase().contains("end of file"), "{text}");
}

#[tokio::test]
async fn bad_chunked_encoding_names_the_chunk() {
    let (err, _) = cause_of(Reply::BadChunk).await;
    let text = err.to_string().to_lowercase();
    assert!(text.contains("chunk"), "{text}");
}

#[tokio::test]
async fn a_closed_port_names_the_refusal() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = list_error(&client(&format!("http://127.0.0.1:{port}"))).await;
    let text = err.to_string().to_lowercase();
    assert!(text.contains("refused"), "{text}");
    assert!(
        matches!(
            err,
            PrismError::Transport {
                stage: Stage::Connect,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_name_that_does_not_exist_is_not_retried() {
    let err = list_error(&client("http://prism-central.invalid:9440")).await;
    let text = err.to_string();
    assert!(
        matches!(
            err,
            PrismError::Transport {
                stage: Stage::Dns,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(text.contains("prism-central.invalid"), "{text}");
}

#[tokio::test]
async fn an_empty_object_for_a_list_is_not_not_found() {
    let server = Hostile::http(|_| Reply::Json(200, "{}".into())).await;
    let err = match guard(
        "cluster_by_name",
        client(&server.base()).cluster_by_name("c1"),
    )
    .await
    {
        Ok(c) => panic!("{c:?}"),
        Err(e) => e,
    };
    let text = err.to_string();
    assert!(text.contains("Prism answered without entities"), "{text}");
    assert!(!text.contains("not found"), "{text}");
}

#[tokio::test]
async fn a_401_names_the_credential_options_and_is_not_retried() {
    let server = Hostile::http(|_| Reply::Json(401, String::new())).await;
    let basic = PrismClient::new(config(&server.base(), Auth::basic("admin", "wrong"))).unwrap();
    let text = list_error(&basic).await.to_string();
    assert!(
        text.contains("nutanix_username") && text.contains("nutanix_password"),
        "{text}"
    );
    assert_eq!(server.seen().len(), 1);
    let text = list_error(&client(&server.base())).await.to_string();
    assert!(text.contains("nutanix_api_key"), "{text}");
    assert!(text.contains("X-ntnx-api-key"), "{text}");
    assert_eq!(server.seen().len(), 2);
}

// ---- certificates ----------------------------------------------------------------------------

#[tokio::test]
async fn a_pinned_self_signed_ca_true_certificate_is_trusted() {
    for sans in [&["127.0.0.1"][..], &[][..]] {
        let cert = self_signed_ca_true("127.0.0.1", sans);
        let server = Hostile::https(cert.config.clone(), |_| {
            Reply::Json(200, ONE_CLUSTER.into())
        })
        .await;
        let mut c = config(&server.base(), api_key());
        c.tls.ca_bundle_pem = Some(cert.pem.clone().into_bytes());
        let clusters = guard("list", PrismClient::new(c).unwrap().list_clusters())
            .await
            .unwrap_or_else(|e| panic!("SANs {sans:?}: {e}"));
        assert_eq!(clusters.len(), 1);
    }
}

#[tokio::test]
async fn an_untrusted_certificate_fails_at_once_naming_it() {
    let unrelated = self_signed_ca_true("some other CA", &[]);
    for (served, problem) in [
        (
            self_signed_ca_true("127.0.0.1", &["127.0.0.1"]),
            "CA certificate (CA:TRUE, e.g. self-signed) that nutanix_ca_cert does not pin",
        ),
        (
            self_signed_leaf("127.0.0.1", &["127.0.0.1"]),
            "not issued by a trusted authority",
        ),
    ] {
        let server = Hostile::https(served.config.clone(), |_| {
            Reply::Json(200, ONE_CLUSTER.into())
        })
        .await;
        for pin in [None, Some(unrelated.pem.clone())] {
            let before = server.connections();
            let mut c = config(&server.base(), api_key());
            c.tls.ca_bundle_pem = pin.map(String::into_bytes);
            let err = list_error(&PrismClient::new(c).unwrap()).await;
            let text = err.to_string();
            assert!(
                matches!(
                    err,
                    PrismError::Transport {
                        stage: Stage::Tls,
                        attempts: 1,
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(text.contains("certificate was refused"), "{text}");
            assert!(text.contains(problem), "{text}");
            assert_eq!(server.connections() - before, 1, "no retry: {text}");
        }
        assert!(server.seen().is_empty());
    }
}

#[tokio::test]
async fn a_pinned_certificate_for_another_name_is_refused_naming_the_name() {
    let cert = self_signed_ca_true("pc.lab.example", &["pc.lab.example"]);
    let server = Hostile::https(cert.config.clone(), |_| {
        Reply::Json(200, ONE_CLUSTER.into())
    })
    .await;
    let mut c = config(&server.base(), api_key());
    c.tls.ca_bundle_pem = Some(cert.pem.clone().into_bytes());
    let text = list_error(&PrismClient::new(c).unwrap()).await.to_string();
    assert!(text.contains("not valid for name"), "{text}");
    assert!(text.contains("127.0.0.1"), "{text}");
}

// ---- image transfers -------------------------------------------------------------------------

fn download_options() -> prism::DownloadOptions {
    prism::DownloadOptions {
        expected_size: Some(100),
        ..Default::default()
    }
}

#[tokio::test]
async fn an_upload_is_never_redirected() {
    let server =
        Hostile::http(|_| Reply::Redirect(307, "/api/nutanix/v3/images/i-2/file".into())).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("disk.img");
    std::fs::write(&file, vec![7u8; 4096]).unwrap();
    let err = guard(
        "upload",
        client(&server.base()).upload_image_file("i-1", &file, &Default::default()),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    println!("error: {text}");
    assert!(
        matches!(err, PrismError::Redirect { status: 307, .. }),
        "{err:?}"
    );
    assert!(text.contains("PUT") && text.contains("streamed"), "{text}");
    assert_eq!(server.seen().len(), 1, "neither followed nor retried");
}

#[tokio::test]
async fn a_download_redirected_off_the_origin_gets_no_credentials() {
    let other = Hostile::http(|_| Reply::Json(200, "x".repeat(100))).await;
    let target = format!("{}/file", other.base());
    let server = Hostile::http(move |_| Reply::Redirect(302, target.clone())).await;
    let dir = tempfile::tempdir().unwrap();
    let err = guard(
        "download",
        client(&server.base()).download_image_file(
            "i-1",
            &dir.path().join("out.img"),
            &download_options(),
        ),
    )
    .await
    .unwrap_err();
    println!("error: {err}");
    assert!(other.seen().is_empty(), "{:?}", other.seen());
    assert!(
        matches!(err, PrismError::Redirect { status: 302, .. }),
        "{err:?}"
    );
    assert!(!dir.path().join("out.img").exists());
}

#[tokio::test]
async fn a_stalled_download_names_the_call_and_the_body() {
    let server = Hostile::http(|_| Reply::TrickleBody(100, Duration::from_secs(3600))).await;
    let mut c = config(&server.base(), api_key());
    c.transfer_stall_timeout = Duration::from_millis(300);
    let dir = tempfile::tempdir().unwrap();
    let err = guard(
        "download",
        PrismClient::new(c).unwrap().download_image_file(
            "i-1",
            &dir.path().join("out.img"),
            &download_options(),
        ),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    println!("error: {text}");
    assert!(
        matches!(
            err,
            PrismError::Stalled {
                stage: Stage::Body,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        text.contains("GET") && text.contains("/api/nutanix/v3/images/i-1/file"),
        "{text}"
    );
    assert!(
        text.contains("reading the response body made no progress"),
        "{text}"
    );
    assert_eq!(server.seen().len(), 3, "a stall may heal: retried");
}
