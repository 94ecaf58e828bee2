//! Helpers shared by the integration tests: output capture, deterministic data, hashing.
#![allow(dead_code)]

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use sha2::{Digest, Sha256};
use ssh_communicator::{BoxWriter, RemoteCommand, SshCommunicator};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Logs to the test output when RUST_LOG is set.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A writer whose bytes can be read afterwards.
#[derive(Clone, Default)]
pub struct Shared(pub Arc<Mutex<Vec<u8>>>);

impl Shared {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
    pub fn writer(&self) -> BoxWriter {
        Box::new(self.clone())
    }
}

impl AsyncWrite for Shared {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(b);
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Result of [`run`].
pub struct Output {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command to completion (with a generous hang guard).
pub async fn run(comm: &SshCommunicator, command: &str) -> Output {
    run_with_stdin(comm, command, None).await
}

pub async fn run_with_stdin(
    comm: &SshCommunicator,
    command: &str,
    stdin: Option<ssh_communicator::BoxReader>,
) -> Output {
    let out = Shared::default();
    let err = Shared::default();
    let rx = comm
        .start(RemoteCommand {
            command: command.into(),
            stdin,
            stdout: Some(out.writer()),
            stderr: Some(err.writer()),
        })
        .await
        .expect("start");
    let code = tokio::time::timeout(Duration::from_secs(120), rx)
        .await
        .expect("command hung")
        .expect("exit status");
    Output {
        code,
        stdout: out.text(),
        stderr: err.text(),
    }
}

/// A deterministic pseudo-random byte stream of a given length (xorshift64*), generated on
/// the fly so that hundreds of MiB never sit in memory.
pub struct Pattern {
    state: u64,
    remaining: u64,
}

impl Pattern {
    pub fn new(seed: u64, len: u64) -> Self {
        Self {
            state: seed | 1,
            remaining: len,
        }
    }

    fn fill(&mut self, out: &mut [u8]) {
        for chunk in out.chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let v = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    /// SHA-256 of the whole stream, computed by generating it again.
    pub fn sha256(seed: u64, len: u64) -> String {
        let mut p = Pattern::new(seed, len);
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        while p.remaining > 0 {
            let n = buf.len().min(p.remaining as usize);
            p.fill(&mut buf[..n]);
            p.remaining -= n as u64;
            h.update(&buf[..n]);
        }
        hex::encode(h.finalize())
    }
}

impl AsyncRead for Pattern {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.remaining) as usize;
        // Whole 8-byte steps keep the stream independent of read sizes.
        let n = if n < self.remaining as usize {
            n - n % 8
        } else {
            n
        };
        if n == 0 && self.remaining > 0 {
            // Caller buffer smaller than 8 bytes: give a partial word (stream stays valid only
            // for callers with big buffers, which is all of ours).
            let mut word = [0u8; 8];
            self.fill(&mut word);
            let k = buf.remaining().min(self.remaining as usize);
            buf.put_slice(&word[..k]);
            self.remaining -= k as u64;
            return Poll::Ready(Ok(()));
        }
        let mut tmp = vec![0u8; n];
        self.fill(&mut tmp);
        buf.put_slice(&tmp);
        self.remaining -= n as u64;
        Poll::Ready(Ok(()))
    }
}

/// A writer that only hashes and counts.
#[derive(Clone, Default)]
pub struct HashSink(pub Arc<Mutex<(Sha256, u64)>>);

impl HashSink {
    pub fn hex(&self) -> String {
        hex::encode(self.0.lock().unwrap().0.clone().finalize())
    }
    pub fn len(&self) -> u64 {
        self.0.lock().unwrap().1
    }
}

impl AsyncWrite for HashSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        b: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut g = self.0.lock().unwrap();
        g.0.update(b);
        g.1 += b.len() as u64;
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// `sha256sum` of a remote file.
pub async fn remote_sha256(comm: &SshCommunicator, path: &str) -> String {
    let out = run(comm, &format!("sha256sum '{path}'")).await;
    assert_eq!(out.code, 0, "sha256sum failed: {}", out.stderr);
    out.stdout
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Peak resident memory of this process (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
