//! The console client against the simulator's consoles: both transports, TLS, the fallback
//! from one to the other, VNC passwords, proxies, and every way a console can fail.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Duration;

use common::*;
use tokio::time::Instant;
use vnc_console::{Console, ConsoleError, ProxySetting, Transport};

#[tokio::test]
async fn v4_token_over_http_records_what_was_typed() {
    let sim = sim(false, None).await;
    let (vm, cluster) = vm(&sim, "iso-build", true).await;
    let t = target(&sim, &vm, &cluster, &[Transport::V4Token]);
    let console = Console::connect(&t, deadline(20)).await.unwrap();
    assert!(
        console.via().starts_with("v4 token websocket at ws://"),
        "{}",
        console.via()
    );
    assert_eq!(console.info().name, "iso-build");
    assert_eq!((console.info().width, console.info().height), (640, 480));
    type_text(&console, "linux ks=cdrom:/Ks.cfg\n").await;
    console.close().await.unwrap();
    let state = wait_typed(&sim, &vm, "linux ks=cdrom:/Ks.cfg<enter>").await;
    assert_eq!(state["connections_by_transport"]["v4-token"], 1);
    // 23 keys down and up, and Shift down and up around the ':' and the 'K'.
    assert_eq!(
        state["key_events"].as_array().unwrap().len(),
        23 * 2 + 2 * 2
    );
    assert_eq!(state["key_events"][0]["keysym"], 0x6c);
    assert_eq!(state["key_events"][0]["down"], true);
    assert!(state["key_events"][0]["at_ms"].is_u64());
    // Closed: the simulator stops counting the session once its end of the socket sees it.
    let mut open = state["open"].clone();
    for _ in 0..250 {
        if open == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        open = console_state(&sim, &vm)["open"].clone();
    }
    assert_eq!(open, 0);
}

#[tokio::test]
async fn v3_cookie_over_tls_with_the_ca_bundle() {
    let sim = sim(true, None).await;
    let (vm, cluster) = vm(&sim, "tls-vm", true).await;
    let t = target(&sim, &vm, &cluster, &[Transport::V3Cookie]);
    let console = Console::connect(&t, deadline(20)).await.unwrap();
    assert!(
        console.via().starts_with("v3 websocket at wss://"),
        "{}",
        console.via()
    );
    assert!(console
        .via()
        .contains(&format!("proxyClusterUuid={cluster}")));
    type_text(&console, "Hi").await;
    console.close().await.unwrap();
    let state = wait_typed(&sim, &vm, "Hi").await;
    assert_eq!(state["connections_by_transport"]["v3-cookie"], 1);
    // Without the CA the certificate is refused by both transports, and the error says so.
    let mut untrusted = target(
        &sim,
        &vm,
        &cluster,
        &[Transport::V4Token, Transport::V3Cookie],
    );
    untrusted.tls.ca_bundle_pem = None;
    let e = Console::connect(&untrusted, deadline(20))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("v4 token") && e.contains("v3 websocket"), "{e}");
    assert!(e.to_lowercase().contains("certificate"), "{e}");
    // nutanix_insecure accepts it.
    untrusted.tls.danger_accept_invalid_certs = true;
    let console = Console::connect(&untrusted, deadline(20)).await.unwrap();
    console.close().await.unwrap();
}

#[tokio::test]
async fn falls_back_to_v3_when_v4_is_refused_and_names_both_when_neither_works() {
    let sim = sim(false, None).await;
    let (vm, cluster) = vm(&sim, "fallback", true).await;
    sim.add_faults(
        prism_sim::Fault::parse_list(
            r#"{"match": {"path_regex": "generate-console-token$"},
                "action": {"type": "status", "status": 400, "reason": "VMM-30100",
                           "message": "Failed to perform the operation 'GenerateVmConsoleToken', as it is not supported."},
                "count": 0}"#,
        )
        .unwrap(),
    )
    .unwrap();
    let t = target(
        &sim,
        &vm,
        &cluster,
        &[Transport::V4Token, Transport::V3Cookie],
    );
    let console = Console::connect(&t, deadline(20)).await.unwrap();
    assert!(
        console.via().starts_with("v3 websocket"),
        "{}",
        console.via()
    );
    console.key(0x61, true).await.unwrap();
    console.key(0x61, false).await.unwrap();
    console.close().await.unwrap();
    wait_typed(&sim, &vm, "a").await;

    // A powered-off VM: the token task fails, the v3 websocket is closed before any RFB byte.
    let (off, _) = common::vm(&sim, "off", false).await;
    let t = target(
        &sim,
        &off,
        &cluster,
        &[Transport::V4Token, Transport::V3Cookie],
    );
    sim.clear_faults();
    let e = Console::connect(&t, deadline(20)).await.unwrap_err();
    let ConsoleError::AllAttemptsFailed(attempts) = &e else {
        panic!("{e}")
    };
    assert_eq!(attempts.len(), 2, "{e}");
    assert!(attempts[0].what.starts_with("v4 token"), "{e}");
    assert!(attempts[0].cause.contains("powered off"), "{e}");
    assert!(attempts[1].what.starts_with("v3 websocket at ws://"), "{e}");
    assert!(attempts[1].cause.contains("1011"), "{e}");
    assert!(attempts[1].cause.contains("powered off"), "{e}");
    let text = e.to_string();
    assert!(
        !text.contains("VmConsoleToken="),
        "no token in messages: {text}"
    );
}

#[tokio::test]
async fn vnc_password_right_and_wrong() {
    let sim = sim(false, Some("s3cret")).await;
    let (vm, cluster) = vm(&sim, "locked", true).await;
    let mut t = target(&sim, &vm, &cluster, &[Transport::V3Cookie]);
    // No password: the server demands one.
    let e = Console::connect(&t, deadline(20))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("requires a VNC password"), "{e}");
    t.vnc_password = Some("wrong".into());
    let e = Console::connect(&t, deadline(20))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("VNC authentication") && e.contains("Authentication failed"),
        "{e}"
    );
    t.vnc_password = Some("s3cret".into());
    let console = Console::connect(&t, deadline(20)).await.unwrap();
    assert_eq!(console.info().security, 2);
    console.key(0xff0d, true).await.unwrap();
    console.close().await.unwrap();
    let state = wait_typed(&sim, &vm, "<enter>").await;
    assert_eq!(state["auth_failures"], 1);
}

async fn fault_error(action: &str, secs: u64) -> (String, Duration) {
    let sim = sim(false, None).await;
    let (vm, cluster) = vm(&sim, "faulty", true).await;
    sim.add_faults(
        prism_sim::Fault::parse_list(&format!(
            r#"{{"match": {{"path": "/vnc/"}}, "action": {action}, "count": 0}}"#
        ))
        .unwrap(),
    )
    .unwrap();
    let t = target(
        &sim,
        &vm,
        &cluster,
        &[Transport::V4Token, Transport::V3Cookie],
    );
    let started = Instant::now();
    let e = Console::connect(&t, deadline(secs)).await.unwrap_err();
    (e.to_string(), started.elapsed())
}

#[tokio::test]
async fn a_server_closing_mid_handshake_is_a_clear_error() {
    let (e, took) = fault_error(r#"{"type": "console_close_mid_handshake"}"#, 20).await;
    assert!(e.contains("closed during the RFB version exchange"), "{e}");
    assert!(
        e.contains("v4 token websocket") && e.contains("v3 websocket"),
        "{e}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn an_unknown_rfb_version_is_a_clear_error() {
    let (e, _) = fault_error(
        r#"{"type": "console_banner", "banner": "RFB 002.000\n"}"#,
        20,
    )
    .await;
    assert!(e.contains("RFB 2.0, which we do not know"), "{e}");
}

#[tokio::test]
async fn a_websocket_that_never_answers_times_out_by_the_deadline() {
    let (e, took) = fault_error(r#"{"type": "console_hang"}"#, 4).await;
    assert!(e.contains("websocket upgrade: no answer within"), "{e}");
    assert!(
        e.contains("v4 token websocket") && e.contains("v3 websocket"),
        "{e}"
    );
    assert!(took < Duration::from_secs(8), "{took:?}");
}

#[tokio::test]
async fn a_silent_websocket_does_not_use_up_a_long_deadline() {
    // The build gives the console a minute; a websocket that never answers must still fail
    // each transport after the exchange limit (10 s), not after its share of the minute.
    let (e, took) = fault_error(r#"{"type": "console_hang"}"#, 60).await;
    assert_eq!(
        e.matches("websocket upgrade: no answer within 10.0 s")
            .count(),
        2,
        "{e}"
    );
    assert!(took < Duration::from_secs(29), "{took:?}");
}

#[tokio::test]
async fn redirects_are_reported_not_followed() {
    let sim = sim(false, None).await;
    let (vm, cluster) = vm(&sim, "redirected", true).await;
    sim.add_faults(
        prism_sim::Fault::parse_list(
            r#"[{"match": {"path": "/api/"}, "action": {"type": "status", "status": 302}, "count": 0}]"#,
        )
        .unwrap(),
    )
    .unwrap();
    let t = target(
        &sim,
        &vm,
        &cluster,
        &[Transport::V4Token, Transport::V3Cookie],
    );
    let e = Console::connect(&t, deadline(10))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e.matches("not followed").count(), 2, "{e}");
}

#[tokio::test]
async fn wrong_credentials_and_unknown_vms() {
    let sim = sim(false, None).await;
    let (vm, cluster) = vm(&sim, "creds", true).await;
    let mut t = target(
        &sim,
        &vm,
        &cluster,
        &[Transport::V4Token, Transport::V3Cookie],
    );
    t.auth = prism::Auth::basic("admin", "nope");
    let e = Console::connect(&t, deadline(10))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(e.matches("HTTP 401").count(), 2, "{e}");
    let t = target(
        &sim,
        "6f1e2d3c-0000-4000-8000-00000000abcd",
        &cluster,
        &[Transport::V4Token, Transport::V3Cookie],
    );
    let e = Console::connect(&t, deadline(10))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTTP 404"), "{e}");
    assert!(e.contains("refused with HTTP 404"), "{e}");
}

/// A CONNECT proxy on loopback that counts its tunnels.
async fn connect_proxy() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut client, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let text = String::from_utf8_lossy(&head).to_string();
                let Some(authority) = text
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split(' ').next())
                else {
                    return;
                };
                assert!(
                    text.to_ascii_lowercase()
                        .contains("proxy-authorization: basic dxnlcjpwdw=="),
                    "{text}"
                );
                let Ok(mut upstream) = tokio::net::TcpStream::connect(authority).await else {
                    return;
                };
                seen.fetch_add(1, Ordering::SeqCst);
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (format!("http://user:pw@{addr}"), count)
}

#[tokio::test]
async fn everything_goes_through_an_https_proxy() {
    let sim = sim(true, None).await;
    let (vm, cluster) = vm(&sim, "proxied", true).await;
    let (proxy, tunnels) = connect_proxy().await;
    for transport in [Transport::V4Token, Transport::V3Cookie] {
        let before = tunnels.load(std::sync::atomic::Ordering::SeqCst);
        let mut t = target(&sim, &vm, &cluster, &[transport]);
        t.proxy = ProxySetting::Url(proxy.clone());
        let console = Console::connect(&t, deadline(20)).await.unwrap();
        console.key(0x7a, true).await.unwrap();
        console.close().await.unwrap();
        let after = tunnels.load(std::sync::atomic::Ordering::SeqCst);
        // At least one tunnel for the REST calls and one for the websocket.
        assert!(after >= before + 2, "{transport:?}: {before} -> {after}");
    }
    wait_typed(&sim, &vm, "zz").await;
    // A proxy that is not there fails both attempts, naming it.
    let mut t = target(&sim, &vm, &cluster, &[Transport::V4Token]);
    t.proxy = ProxySetting::Url("http://127.0.0.1:9".into());
    let e = Console::connect(&t, deadline(10))
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("v4 token"), "{e}");
}
