//! Proxies: HTTP endpoints go through `HTTP_PROXY` (absolute-form requests), HTTPS endpoints
//! through `HTTPS_PROXY` (a CONNECT tunnel), user info becomes Proxy-Authorization, and
//! `winrm_no_proxy` bypasses both. One test function, since it sets process-wide variables.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use winrm_communicator::{WinRmCommunicator, WinRmConfig};
use winrm_sim::SimConfig;

/// A proxy that records request heads and pipes bytes: CONNECT opens a tunnel to its target;
/// anything else is forwarded, head included, to `plain_target`.
async fn proxy(plain_target: String) -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let count = Arc::new(AtomicUsize::new(0));
    let heads = Arc::new(Mutex::new(Vec::new()));
    let (c, h) = (count.clone(), heads.clone());
    tokio::spawn(async move {
        loop {
            let (mut client, _) = l.accept().await.unwrap();
            c.fetch_add(1, Ordering::SeqCst);
            let h = h.clone();
            let plain_target = plain_target.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut b = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut b).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(b[0]);
                }
                let text = String::from_utf8_lossy(&head).into_owned();
                h.lock().unwrap().push(text.clone());
                let mut upstream = if let Some(rest) = text.strip_prefix("CONNECT ") {
                    let target = rest.split_whitespace().next().unwrap().to_string();
                    let up = TcpStream::connect(target).await.unwrap();
                    client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .await
                        .unwrap();
                    up
                } else {
                    let mut up = TcpStream::connect(&plain_target).await.unwrap();
                    up.write_all(&head).await.unwrap();
                    up
                };
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, count, heads)
}

#[tokio::test]
async fn proxies_from_the_environment_unless_winrm_no_proxy() {
    let sim = winrm_sim::start(SimConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        tls_listen: Some("127.0.0.1:0".parse().unwrap()),
        password: "P".into(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let http = sim.http_addr.unwrap();
    let https = sim.https_addr.unwrap();
    let (paddr, pcount, pheads) = proxy(http.to_string()).await;
    std::env::set_var("HTTP_PROXY", format!("http://pu:pp@{paddr}"));
    std::env::set_var("HTTPS_PROXY", format!("http://{paddr}"));
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");

    let base = WinRmConfig {
        host: "127.0.0.1".into(),
        username: "Administrator".into(),
        password: "P".into(),
        timeout: Duration::from_secs(10),
        ..WinRmConfig::default()
    };
    // Plain HTTP through the proxy, absolute-form, with Proxy-Authorization.
    let comm = WinRmCommunicator::new(WinRmConfig {
        port: http.port(),
        ..base.clone()
    })
    .unwrap();
    assert_eq!(
        comm.run("echo via-proxy").await.unwrap().1,
        b"via-proxy\r\n"
    );
    assert!(pcount.load(Ordering::SeqCst) >= 1);
    let head = pheads.lock().unwrap()[0].clone();
    assert!(
        head.starts_with(&format!(
            "POST http://127.0.0.1:{}/wsman HTTP/1.1",
            http.port()
        )),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains(
            "proxy-authorization: basic cHU6cHA="
                .to_ascii_lowercase()
                .as_str()
        ),
        "{head}"
    );

    // HTTPS through a CONNECT tunnel.
    let before = pcount.load(Ordering::SeqCst);
    let comm = WinRmCommunicator::new(WinRmConfig {
        port: https.port(),
        use_ssl: true,
        insecure: true,
        ..base.clone()
    })
    .unwrap();
    assert_eq!(comm.run("echo tunnelled").await.unwrap().0, 0);
    assert!(pcount.load(Ordering::SeqCst) > before);
    assert!(pheads
        .lock()
        .unwrap()
        .iter()
        .any(|h| h.starts_with(&format!("CONNECT 127.0.0.1:{} ", https.port()))));

    // winrm_no_proxy: straight to the host.
    let before = pcount.load(Ordering::SeqCst);
    let comm = WinRmCommunicator::new(WinRmConfig {
        port: http.port(),
        no_proxy: true,
        ..base.clone()
    })
    .unwrap();
    assert_eq!(comm.run("echo direct").await.unwrap().0, 0);
    // NO_PROXY from the environment too.
    std::env::set_var("NO_PROXY", "127.0.0.1");
    let comm = WinRmCommunicator::new(WinRmConfig {
        port: http.port(),
        ..base
    })
    .unwrap();
    assert_eq!(comm.run("echo direct-too").await.unwrap().0, 0);
    assert_eq!(
        pcount.load(Ordering::SeqCst),
        before,
        "the proxy was used despite winrm_no_proxy/NO_PROXY"
    );
    std::env::remove_var("HTTP_PROXY");
    std::env::remove_var("HTTPS_PROXY");
    std::env::remove_var("NO_PROXY");
}
