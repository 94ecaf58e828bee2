//! The SDK mux broker on top of our sessions: dial/accept, the exact Go frames of
//! docs/design/plugin-protocol.md ('A captured session start', 'The stream broker'),
//! bad acks and the 5 s windows (real time: tokio's paused clock needs the `test-util` feature,
//! which the workspace does not enable).

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use common::*;
use packer_mux::{Broker, Mode, Session, StreamBroker};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

async fn guard<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, f)
        .await
        .expect("hang guard")
}

fn brokers() -> (Broker, Broker) {
    let (a, b) = duplex(64 * 1024);
    (
        Broker::new(Session::new(a, Mode::Client)),
        Broker::new(Session::new(b, Mode::Server)),
    )
}

fn raw_plugin() -> (RawPeer, Broker) {
    let (a, b) = duplex(64 * 1024);
    (
        RawPeer { io: a },
        Broker::new(Session::new(b, Mode::Server)),
    )
}

#[tokio::test]
async fn ids_start_at_one_and_dial_meets_accept() {
    let (packer, plugin) = brokers();
    assert_eq!(plugin.next_id(), 1);
    assert_eq!(plugin.next_id(), 2);
    assert_eq!(packer.next_id(), 1, "each side counts on its own");

    // Accept first, then dial (the SDK's order for published ids).
    let acceptor = tokio::spawn({
        let plugin = plugin.clone();
        async move { plugin.accept(2).await }
    });
    tokio::task::yield_now().await;
    let mut d = guard(packer.dial(2)).await.unwrap();
    let mut a = guard(acceptor).await.unwrap().unwrap();
    d.write_all(b"ping").await.unwrap();
    let mut b = [0u8; 4];
    a.read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"ping");

    // Dial first: the stream is parked until accepted (well within 5 s).
    let dialer = tokio::spawn({
        let plugin = plugin.clone();
        async move { plugin.dial(1).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut a = guard(packer.accept(1)).await.unwrap();
    let mut d = guard(dialer).await.unwrap().unwrap();
    a.write_all(b"pong").await.unwrap();
    d.read_exact(&mut b).await.unwrap();
    assert_eq!(&b, b"pong");
}

#[tokio::test]
async fn packer_dialing_the_root_stream_sees_the_go_frames() {
    // plugin-protocol.md, 'A captured session start': Packer's side played byte by byte.
    let (mut packer, plugin) = raw_plugin();
    packer.send(&hex("00 01 0001 00000001 00000000")).await;
    packer
        .send(&hex("00 00 0000 00000001 00000004 00000000"))
        .await;
    let mut root = guard(plugin.accept(0)).await.unwrap();
    assert_eq!(
        packer.recv_bytes().await,
        hex("00 01 0002 00000001 00000000")
    );
    assert_eq!(
        packer.recv_bytes().await,
        hex("00 00 0000 00000001 00000004 00000000")
    );
    // Packer closes its side; the plugin reads EOF and closes too.
    packer.send(&hex("00 01 0004 00000001 00000000")).await;
    let mut rest = Vec::new();
    guard(root.read_to_end(&mut rest)).await.unwrap();
    assert!(rest.is_empty());
    root.shutdown().await.unwrap();
    assert_eq!(
        packer.recv_bytes().await,
        hex("00 01 0004 00000001 00000000")
    );
}

#[tokio::test]
async fn plugin_dialing_a_packer_id_sends_the_go_frames() {
    // plugin-protocol.md, 'The stream broker': the plugin dials Packer-allocated broker id 1 on
    // yamux stream 2.
    let (mut packer, plugin) = raw_plugin();
    let dialer = tokio::spawn(async move { plugin.dial(1).await });
    assert_eq!(
        packer.recv_bytes().await,
        hex("00 01 0001 00000002 00000000")
    );
    packer.send(&hex("00 01 0002 00000002 00000000")).await;
    assert_eq!(
        packer.recv_bytes().await,
        hex("00 00 0000 00000002 00000004 01000000")
    );
    packer
        .send(&hex("00 00 0000 00000002 00000004 01000000"))
        .await;
    let stream = guard(dialer).await.unwrap().unwrap();
    assert_eq!(stream.id(), 2);
}

#[tokio::test]
async fn a_wrong_ack_fails_the_dial() {
    let (mut packer, plugin) = raw_plugin();
    let dialer = tokio::spawn(async move { plugin.dial(1).await });
    packer.recv().await.unwrap(); // SYN
    packer.recv().await.unwrap(); // id
    packer.send_frame(WINDOW_UPDATE, ACK, 2, 0, &[]).await;
    packer.send_frame(DATA, 0, 2, 4, &2u32.to_le_bytes()).await;
    let err = guard(dialer).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData);
    assert_eq!(err.to_string(), "bad ack: 2 (expected 1)");
}

#[tokio::test]
async fn a_closed_stream_instead_of_an_ack_fails_the_dial() {
    let (mut packer, plugin) = raw_plugin();
    let dialer = tokio::spawn(async move { plugin.dial(3).await });
    packer.recv().await.unwrap();
    packer.recv().await.unwrap();
    packer.send_frame(WINDOW_UPDATE, ACK | FIN, 2, 0, &[]).await;
    let err = guard(dialer).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
}

#[tokio::test]
async fn accept_gives_up_after_five_seconds() {
    let (_packer, plugin) = brokers();
    let started = Instant::now();
    let err = guard(plugin.accept(7)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
    assert!(
        err.to_string().contains("timeout waiting for accept"),
        "{err}"
    );
    assert!(started.elapsed() >= Duration::from_millis(4900));
}

#[tokio::test]
async fn an_unaccepted_stream_is_closed_after_five_seconds() {
    let (mut packer, plugin) = raw_plugin();
    packer.send_frame(WINDOW_UPDATE, SYN, 1, 0, &[]).await;
    packer.send_frame(DATA, 0, 1, 4, &9u32.to_le_bytes()).await;
    assert_eq!(packer.recv_bytes().await, header(WINDOW_UPDATE, ACK, 1, 0));
    let started = Instant::now();
    // No ack, just FIN once the 5 s park expires.
    assert_eq!(packer.recv_bytes().await, header(WINDOW_UPDATE, FIN, 1, 0));
    assert!(started.elapsed() >= Duration::from_millis(4900));
    // The stream is gone: a late accept does not get it.
    let err = guard(plugin.accept(9)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TimedOut);
}

#[tokio::test]
async fn accept_fails_fast_when_the_session_ends() {
    let (packer, plugin) = brokers();
    let acceptor = tokio::spawn({
        let plugin = plugin.clone();
        async move { plugin.accept(4).await }
    });
    tokio::task::yield_now().await;
    packer.session().close();
    let started = Instant::now();
    let err = guard(acceptor).await.unwrap().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotConnected);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "did not wait for the 5 s timeout"
    );
}
