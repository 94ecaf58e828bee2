//! Interop with the real Go hashicorp/yamux v0.1.1 (Packer's yamux), DefaultConfig plus a 1 s
//! keepalive, as the CLIENT against our Session in server mode over a unix socket. The Go side
//! (tests/go-peer/main.go) echoes 32 MiB sent in a single Write, fills a stream nobody reads and
//! pings, keeps its 1 s keepalive running, and accepts two streams we open (a request/answer and
//! an 8 MiB write-only one). Needs `go`; fails when it is missing.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use packer_mux::{Mode, MuxStream, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Builds the Go peer into target/; `None` (with a printed reason) when Go is unavailable.
fn build_go_peer() -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go-peer");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("packer-mux-go-peer");
    let status = std::process::Command::new("go")
        .args(["build", "-o"])
        .arg(&out)
        .arg(".")
        .current_dir(&src)
        .status();
    match status {
        Ok(s) if s.success() => out,
        Ok(s) => panic!("building the Go peer failed: {s}"),
        // A missing peer is a failure, never a skip that counts as a pass.
        Err(e) => panic!("cannot run `go` ({e}): the Go toolchain is needed for this test"),
    }
}

/// The Go peer's byte pattern (`pattern` in main.go).
fn pattern(i: usize) -> u8 {
    (i.wrapping_mul(7) + (i >> 11)) as u8
}

async fn serve_go_stream(mut s: MuxStream) {
    let mut tag = [0u8; 1];
    if s.read_exact(&mut tag).await.is_err() {
        return;
    }
    match tag[0] {
        b'E' => {
            let (mut r, mut w) = tokio::io::split(s);
            tokio::io::copy(&mut r, &mut w).await.unwrap();
            w.shutdown().await.unwrap();
        }
        // A stalled consumer: hold the stream, never read.
        b'S' => tokio::time::sleep(Duration::from_secs(3600)).await,
        other => panic!("unexpected tag {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_go_yamux_client_against_our_server() {
    let peer = tokio::task::spawn_blocking(build_go_peer).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("mux.sock");
    let listener = tokio::net::UnixListener::bind(&sock).unwrap();
    let mut child = tokio::process::Command::new(&peer)
        .arg(&sock)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let (conn, _) = listener.accept().await.unwrap();
    let session = Session::new(conn, Mode::Server);

    let acceptor = session.clone();
    tokio::spawn(async move {
        while let Some(s) = acceptor.accept().await {
            tokio::spawn(serve_go_stream(s));
        }
    });

    // A write-only stream: 8 MiB that Go reads while we never read this stream, so Go's window
    // credit must be processed without any reader on our side.
    let writer = {
        let session = session.clone();
        tokio::spawn(async move {
            let mut s = session.open().await.unwrap();
            let body: Vec<u8> = (0..8usize << 20).map(pattern).collect();
            s.write_all(b"W").await.unwrap();
            s.write_all(&body).await.unwrap();
            s.shutdown().await.unwrap();
            s // kept open (unread) until the end
        })
    };

    // A stream we open: Go reads to EOF and answers.
    let mut ours = session.open().await.unwrap();
    assert_eq!(ours.id() % 2, 0);
    ours.write_all(b"Hhello from rust\n").await.unwrap();
    ours.shutdown().await.unwrap();
    let mut answer = String::new();
    ours.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer, "hello from go\n");
    let _write_only = writer.await.unwrap();

    // Go answers our pings too.
    session.ping().await.unwrap();

    let mut stdout = child.stdout.take().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(120), child.wait())
        .await
        .expect("Go peer did not finish (hang guard)")
        .unwrap();
    let mut out = String::new();
    stdout.read_to_string(&mut out).await.unwrap();
    assert!(
        status.success(),
        "Go peer failed: {status}; stdout {out:?} (its stderr is above)"
    );
    assert_eq!(out.trim(), "OK");
    assert!(
        session.close_reason().is_none()
            || session.close_reason() == Some(packer_mux::MuxError::PeerClosed)
    );
}
