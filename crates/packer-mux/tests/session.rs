//! A client-mode Session against a server-mode Session over in-memory pipes, and a server-mode
//! Session against a raw byte-level peer.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;
use std::io::ErrorKind;
use std::sync::{Arc, Mutex};

use common::*;
use packer_mux::{Mode, MuxError, Session};
use tokio::io::{duplex, AsyncReadExt, AsyncWriteExt};

const WINDOW: i64 = 256 * 1024;

fn pair() -> (Session, Session) {
    let (a, b) = duplex(64 * 1024);
    (Session::new(a, Mode::Client), Session::new(b, Mode::Server))
}

fn raw_server() -> (RawPeer, Session) {
    let (a, b) = duplex(1024 * 1024);
    (RawPeer { io: a }, Session::new(b, Mode::Server))
}

async fn guard<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, f)
        .await
        .expect("hang guard")
}

#[tokio::test]
async fn open_and_accept_both_ways_with_id_parity() {
    let (client, server) = pair();
    let mut c1 = client.open().await.unwrap();
    let mut c3 = client.open().await.unwrap();
    assert_eq!((c1.id(), c3.id()), (1, 3));
    c1.write_all(b"one").await.unwrap();
    c3.write_all(b"three").await.unwrap();
    let mut s1 = guard(server.accept()).await.unwrap();
    let mut s3 = guard(server.accept()).await.unwrap();
    assert_eq!((s1.id(), s3.id()), (1, 3));
    let mut buf = [0u8; 5];
    s1.read_exact(&mut buf[..3]).await.unwrap();
    assert_eq!(&buf[..3], b"one");
    s3.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"three");

    let mut s2 = server.open().await.unwrap();
    let s4 = server.open().await.unwrap();
    assert_eq!((s2.id(), s4.id()), (2, 4));
    s2.write_all(b"even").await.unwrap();
    let mut c2 = guard(client.accept()).await.unwrap();
    assert_eq!(c2.id(), 2);
    let mut got = [0u8; 4];
    c2.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"even");
    assert_eq!(guard(client.accept()).await.unwrap().id(), 4);
}

#[tokio::test]
async fn half_close_lets_the_other_side_answer() {
    let (client, server) = pair();
    let mut c = client.open().await.unwrap();
    c.write_all(b"request").await.unwrap();
    c.shutdown().await.unwrap();
    let mut s = guard(server.accept()).await.unwrap();
    let mut req = Vec::new();
    guard(s.read_to_end(&mut req)).await.unwrap();
    assert_eq!(req, b"request");
    s.write_all(b"response").await.unwrap();
    s.shutdown().await.unwrap();
    let mut resp = Vec::new();
    guard(c.read_to_end(&mut resp)).await.unwrap();
    assert_eq!(resp, b"response");
    assert_eq!(
        c.write_all(b"late").await.unwrap_err().kind(),
        ErrorKind::BrokenPipe
    );
}

#[tokio::test]
async fn dropping_a_stream_sends_fin() {
    let (client, server) = pair();
    let mut c = client.open().await.unwrap();
    c.write_all(b"bye").await.unwrap();
    drop(c);
    let mut s = guard(server.accept()).await.unwrap();
    let mut got = Vec::new();
    guard(s.read_to_end(&mut got)).await.unwrap();
    assert_eq!(got, b"bye");
}

fn byte_at(i: usize) -> u8 {
    (i as u8).wrapping_mul(31) ^ ((i >> 9) as u8)
}

/// Forwards frames from `from` to `to`, calling `seen` on each header before forwarding it.
async fn relay(
    mut from: tokio::io::ReadHalf<tokio::io::DuplexStream>,
    mut to: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    seen: impl Fn(u8, u32, u32),
) {
    loop {
        let mut h = [0u8; 12];
        if from.read_exact(&mut h).await.is_err() {
            return;
        }
        let ty = h[1];
        let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let len = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
        let mut payload = vec![0u8; if ty == DATA { len as usize } else { 0 }];
        if from.read_exact(&mut payload).await.is_err() {
            return;
        }
        seen(ty, id, len);
        if to.write_all(&h).await.is_err() || to.write_all(&payload).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_mib_to_a_slow_reader_never_exceeds_the_window() {
    const TOTAL: usize = 64 * 1024 * 1024;
    // client <-> [relay counting bytes in flight per stream] <-> server
    let (c_io, relay_c) = duplex(128 * 1024);
    let (relay_s, s_io) = duplex(128 * 1024);
    let (rc_r, rc_w) = tokio::io::split(relay_c);
    let (rs_r, rs_w) = tokio::io::split(relay_s);
    let in_flight: Arc<Mutex<(HashMap<u32, i64>, i64)>> = Arc::default();
    let data_seen = in_flight.clone();
    tokio::spawn(relay(rc_r, rs_w, move |ty, id, len| {
        if ty == DATA {
            let mut g = data_seen.lock().unwrap();
            let v = g.0.entry(id).or_insert(0);
            *v += i64::from(len);
            let v = *v;
            g.1 = g.1.max(v);
        }
    }));
    let credit_seen = in_flight.clone();
    tokio::spawn(relay(rs_r, rc_w, move |ty, id, len| {
        if ty == WINDOW_UPDATE {
            // Counted before the sender can see the credit.
            *credit_seen.lock().unwrap().0.entry(id).or_insert(0) -= i64::from(len);
        }
    }));
    let client = Session::new(c_io, Mode::Client);
    let server = Session::new(s_io, Mode::Server);

    let writer = tokio::spawn(async move {
        let mut s = client.open().await.unwrap();
        let chunk: Vec<u8> = (0..1024 * 1024).map(byte_at).collect();
        // Offsets are multiples of 1 MiB, and byte_at repeats every 2^17 bytes (u8 wrap, >>9).
        for _ in 0..TOTAL / chunk.len() {
            s.write_all(&chunk).await.unwrap();
        }
        s.shutdown().await.unwrap();
        client
    });
    let mut s = guard(server.accept()).await.unwrap();
    let mut buf = vec![0u8; 7 * 1024];
    let mut off = 0usize;
    let mut since_pause = 0usize;
    loop {
        let n = guard(s.read(&mut buf)).await.unwrap();
        if n == 0 {
            break;
        }
        for (k, b) in buf[..n].iter().enumerate() {
            assert_eq!(*b, byte_at((off + k) % (1024 * 1024)), "byte {}", off + k);
        }
        off += n;
        since_pause += n;
        if since_pause >= 512 * 1024 {
            since_pause = 0;
            tokio::time::sleep(std::time::Duration::from_millis(2)).await; // a slow consumer
        }
    }
    assert_eq!(off, TOTAL);
    let _client = guard(writer).await.unwrap();
    let max = in_flight.lock().unwrap().1;
    assert!(
        max <= WINDOW,
        "sender had {max} bytes in flight (window {WINDOW})"
    );
    assert!(
        max > WINDOW / 2,
        "the window was barely used ({max}); the test proves nothing"
    );
}

#[tokio::test]
async fn ping_is_answered_while_a_consumer_is_stalled() {
    let (client, server) = pair();
    let mut c = client.open().await.unwrap();
    c.write_all(&vec![1u8; 256 * 1024]).await.unwrap();
    let _stalled = guard(server.accept()).await.unwrap(); // never read
    for _ in 0..3 {
        guard(client.ping()).await.unwrap();
    }
    assert!(guard(server.ping()).await.is_ok());
}

#[tokio::test]
async fn raw_ping_gets_the_same_opaque_value_back() {
    let (mut peer, _server) = raw_server();
    // A stalled stream first: SYN + a full window nobody reads.
    peer.send_frame(WINDOW_UPDATE, SYN, 1, 0, &[]).await;
    peer.send_frame(DATA, 0, 1, 256 * 1024, &vec![0u8; 256 * 1024])
        .await;
    peer.send(&hex("00 02 0001 00000000 0badcafe")).await;
    assert_eq!(peer.recv_bytes().await, hex("00 02 0002 00000000 0badcafe"));
}

#[tokio::test]
async fn rst_from_the_peer_fails_reads_and_writes() {
    let (mut peer, server) = raw_server();
    peer.send_frame(WINDOW_UPDATE, SYN, 1, 0, &[]).await;
    let mut s = guard(server.accept()).await.unwrap();
    assert_eq!(peer.recv_bytes().await, header(WINDOW_UPDATE, ACK, 1, 0));
    let pending_read = tokio::spawn(async move {
        let mut b = [0u8; 8];
        let e = s.read(&mut b).await.unwrap_err();
        (e.kind(), s)
    });
    tokio::task::yield_now().await;
    peer.send_frame(WINDOW_UPDATE, RST, 1, 0, &[]).await;
    let (kind, mut s) = guard(pending_read).await.unwrap();
    assert_eq!(kind, ErrorKind::ConnectionReset);
    assert_eq!(
        s.write(b"x").await.unwrap_err().kind(),
        ErrorKind::ConnectionReset
    );
}

#[tokio::test]
async fn go_away_normal_refuses_new_streams_but_keeps_old_ones() {
    let (mut peer, server) = raw_server();
    peer.send_frame(WINDOW_UPDATE, SYN, 1, 0, &[]).await;
    let mut s = guard(server.accept()).await.unwrap();
    peer.recv().await.unwrap();
    peer.send_frame(GO_AWAY, 0, 0, 0, &[]).await;
    peer.send_frame(DATA, 0, 1, 2, b"ok").await;
    let mut b = [0u8; 2];
    guard(s.read_exact(&mut b)).await.unwrap();
    assert_eq!(&b, b"ok");
    let e = server.open().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
    s.write_all(b"still").await.unwrap();
    let fr = peer.recv().await.unwrap();
    assert_eq!((fr.ty, fr.id, fr.payload), (DATA, 1, b"still".to_vec()));
}

#[tokio::test]
async fn go_away_error_ends_the_session() {
    let (mut peer, server) = raw_server();
    peer.send_frame(WINDOW_UPDATE, SYN, 1, 0, &[]).await;
    let mut s = guard(server.accept()).await.unwrap();
    peer.recv().await.unwrap();
    peer.send_frame(GO_AWAY, 0, 0, 1, &[]).await;
    guard(server.closed()).await;
    assert_eq!(server.close_reason(), Some(MuxError::RemoteGoAway(1)));
    let mut b = [0u8; 1];
    assert_eq!(
        s.read(&mut b).await.unwrap_err().kind(),
        ErrorKind::ConnectionAborted
    );
    assert!(server.accept().await.is_none());
    assert_eq!(
        peer.recv().await,
        None,
        "connection closed without a GoAway back"
    );
}

#[tokio::test]
async fn peer_exceeding_the_window_gets_go_away_protocol_error() {
    let (mut peer, server) = raw_server();
    peer.send_frame(WINDOW_UPDATE, SYN, 1, 0, &[]).await;
    // A whole window in one frame is legal (Go does it) ...
    peer.send_frame(DATA, 0, 1, 256 * 1024, &vec![3u8; 256 * 1024])
        .await;
    // ... one byte more is not.
    peer.send_frame(DATA, 0, 1, 1, &[4]).await;
    let go_away = peer.recv_until(|f| f.ty == GO_AWAY).await;
    assert_eq!(go_away.bytes(), hex("00 03 0000 00000000 00000001"));
    assert_eq!(peer.recv().await, None);
    guard(server.closed()).await;
    assert!(matches!(
        server.close_reason(),
        Some(MuxError::WindowExceeded { stream: 1, .. })
    ));
}

#[tokio::test]
async fn invalid_version_or_type_gets_go_away_without_panic() {
    for bad in [
        hex("01 00 0000 00000001 00000000"),
        hex("00 07 0000 00000001 00000000"),
    ] {
        let (mut peer, server) = raw_server();
        peer.send(&bad).await;
        assert_eq!(peer.recv_bytes().await, hex("00 03 0000 00000000 00000001"));
        assert_eq!(peer.recv().await, None);
        guard(server.closed()).await;
    }
}

#[tokio::test]
async fn more_than_256_pending_streams_are_reset() {
    let (mut peer, server) = raw_server();
    for i in 0..257u32 {
        peer.send_frame(WINDOW_UPDATE, SYN, 2 * i + 1, 0, &[]).await;
    }
    assert_eq!(peer.recv_bytes().await, header(WINDOW_UPDATE, RST, 513, 0));
    // The session survives and the first stream is still there to accept.
    let first = guard(server.accept()).await.unwrap();
    assert_eq!(first.id(), 1);
    assert_eq!(peer.recv_bytes().await, header(WINDOW_UPDATE, ACK, 1, 0));
}

#[tokio::test]
async fn connection_loss_wakes_every_waiter() {
    let (peer, server) = raw_server();
    let mut peer = peer;
    peer.send_frame(WINDOW_UPDATE, SYN, 1, 0, &[]).await;
    let mut s = guard(server.accept()).await.unwrap();
    let reader = tokio::spawn(async move {
        let mut b = [0u8; 4];
        s.read(&mut b).await.map_err(|e| e.kind())
    });
    let acceptor = tokio::spawn({
        let server = server.clone();
        async move { server.accept().await.is_none() }
    });
    tokio::task::yield_now().await;
    drop(peer);
    assert_eq!(
        guard(reader).await.unwrap(),
        Err(ErrorKind::ConnectionAborted)
    );
    assert!(guard(acceptor).await.unwrap());
    guard(server.closed()).await;
    assert_eq!(server.close_reason(), Some(MuxError::PeerClosed));
    assert!(server.open().await.is_err());
}

#[tokio::test]
async fn local_close_ends_the_session_for_both_sides() {
    let (client, server) = pair();
    let mut c = client.open().await.unwrap();
    c.write_all(b"x").await.unwrap();
    let mut s = guard(server.accept()).await.unwrap();
    server.close();
    guard(server.closed()).await;
    guard(client.closed()).await;
    assert_eq!(client.close_reason(), Some(MuxError::PeerClosed));
    let mut b = [0u8; 8];
    // The byte that arrived before the close is still readable, then the error.
    assert_eq!(s.read(&mut b).await.unwrap(), 1);
    assert!(s.read(&mut b).await.is_err());
}

#[tokio::test]
async fn a_write_stuck_for_ten_seconds_ends_the_session() {
    // Real time (tokio's test-util clock is not enabled in this workspace): takes ~10 s.
    let (peer_end, ours) = duplex(1024);
    let server = Session::new(ours, Mode::Server);
    let mut s = server.open().await.unwrap();
    // Fits the window, so write_all returns; the writer task then blocks on the unread pipe.
    s.write_all(&vec![0u8; 200 * 1024]).await.unwrap();
    let started = std::time::Instant::now();
    guard(server.closed()).await;
    assert_eq!(server.close_reason(), Some(MuxError::WriteTimeout(10)));
    assert!(started.elapsed() >= std::time::Duration::from_secs(9));
    drop(peer_end);
}

#[tokio::test]
async fn a_stream_without_credit_does_not_hold_up_the_others() {
    const TOTAL: usize = 1024 * 1024; // four windows
    let (mut peer, server) = raw_server();
    peer.send_frame(WINDOW_UPDATE, SYN, 1, 0, &[]).await;
    peer.send_frame(WINDOW_UPDATE, SYN, 3, 0, &[]).await;
    let mut stalled = guard(server.accept()).await.unwrap();
    let mut flowing = guard(server.accept()).await.unwrap();
    let stalled_writer =
        tokio::spawn(async move { stalled.write_all(&vec![1u8; TOTAL]).await.map(|_| stalled) });
    let writer = tokio::spawn(async move {
        flowing.write_all(&vec![3u8; TOTAL]).await.unwrap();
        flowing.shutdown().await.unwrap();
        flowing
    });
    // Credit stream 3 as its data arrives; never credit stream 1.
    let (mut got1, mut got3) = (0usize, 0usize);
    loop {
        let f = peer.recv().await.expect("raw peer: EOF");
        if f.ty == DATA && f.id == 1 {
            got1 += f.payload.len();
        }
        if f.ty == DATA && f.id == 3 {
            got3 += f.payload.len();
            peer.send_frame(WINDOW_UPDATE, 0, 3, f.len, &[]).await;
        }
        if f.id == 3 && f.flags & FIN != 0 {
            break;
        }
    }
    assert_eq!(got3, TOTAL);
    assert!(
        got1 <= WINDOW as usize,
        "stream 1 sent {got1} bytes without credit"
    );
    let _flowing = guard(writer).await.unwrap();
    assert!(!stalled_writer.is_finished(), "stream 1 has no credit");
    stalled_writer.abort();
}
