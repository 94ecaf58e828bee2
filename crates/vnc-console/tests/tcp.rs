//! RFB straight over TCP against small fake servers that misbehave: each failure must be a
//! clear error within seconds, never a hang or a panic.

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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use vnc_console::{ClientConfig, Console};

/// A one-connection server running `script` on the accepted socket.
async fn fake<F, Fut>(script: F) -> String
where
    F: FnOnce(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    init();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        if let Ok((s, _)) = l.accept().await {
            script(s).await;
        }
    });
    addr
}

async fn connect_err(addr: &str, secs: u64) -> (String, Duration) {
    let started = Instant::now();
    let e = Console::connect_tcp(addr, ClientConfig::default(), deadline(secs))
        .await
        .unwrap_err();
    (e.to_string(), started.elapsed())
}

#[tokio::test]
async fn closing_mid_handshake() {
    let addr = fake(|mut s| async move {
        let _ = s.write_all(b"RFB 003.008\n").await;
        let mut v = [0u8; 12];
        let _ = s.read_exact(&mut v).await;
        let _ = s.write_all(&[2, 1]).await; // a count of two types, then only one
    })
    .await;
    let (e, took) = connect_err(&addr, 10).await;
    assert!(e.contains("closed during security negotiation"), "{e}");
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn an_unknown_version_and_a_non_vnc_server() {
    let addr = fake(|mut s| async move {
        let _ = s.write_all(b"RFB 002.002\n").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (e, took) = connect_err(&addr, 10).await;
    assert!(e.contains("RFB 2.2, which we do not know"), "{e}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    let addr = fake(|mut s| async move {
        let _ = s.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let (e, _) = connect_err(&addr, 10).await;
    assert!(e.contains("not an RFB (VNC) server"), "{e}");
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let addr = fake(|s| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(s);
    })
    .await;
    let (e, took) = connect_err(&addr, 2).await;
    assert!(
        e.contains("RFB handshake") && e.contains("no answer within"),
        "{e}"
    );
    assert!(took < Duration::from_secs(4), "{took:?}");
}

#[tokio::test]
async fn a_server_that_drops_the_session_fails_later_keys() {
    let addr = fake(|mut s| async move {
        let _ = s.write_all(b"RFB 003.008\n").await;
        let mut b = [0u8; 12];
        let _ = s.read_exact(&mut b).await;
        let _ = s.write_all(&[1, 1]).await;
        let mut c = [0u8; 1];
        let _ = s.read_exact(&mut c).await;
        let _ = s.write_all(&[0, 0, 0, 0]).await;
        let _ = s.read_exact(&mut c).await;
        let mut init = vec![0, 8, 0, 8];
        init.extend_from_slice(&vnc_console::rfb::PixelFormat::RGB888.encode());
        init.extend_from_slice(&[0, 0, 0, 0]);
        let _ = s.write_all(&init).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Then the server goes away.
    })
    .await;
    let console = Console::connect_tcp(&addr, ClientConfig::default(), deadline(10))
        .await
        .unwrap();
    let mut last = Ok(());
    for _ in 0..50 {
        last = console.key(0x61, true).await;
        if last.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let e = last.unwrap_err().to_string();
    assert!(e.contains("closed"), "{e}");
}
