//! 256 MiB through scp and sftp, both ways, with SHA-256 compared and bounded memory.
//!
//! Not ignored: even a debug build moves 256 MiB in a few seconds here (russh's dependencies
//! build with opt-level 1 and AES-GCM runs in `ring`). The 16 MiB variant is in `transfer.rs`.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::time::Instant;

use common::{remote_sha256, HashSink, Pattern};
use ssh_communicator::testing::Sshd;
use ssh_communicator::{
    CancellationToken, FileInfo, FileTransferMethod, SshCommunicator, SshConfig,
};

const LEN: u64 = 256 * 1024 * 1024;

async fn round_trip(method: FileTransferMethod, seed: u64) {
    common::init_logs();
    let sshd = Sshd::start().unwrap();
    let cfg = SshConfig {
        file_transfer_method: method,
        ..sshd.config().unwrap()
    };
    let comm = SshCommunicator::connect(cfg, CancellationToken::new())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let remote = dir.path().join("big.bin");
    let remote = remote.to_str().unwrap();
    let before = common::peak_rss_kib();

    let t = Instant::now();
    comm.upload(
        remote,
        Box::new(Pattern::new(seed, LEN)),
        Some(FileInfo {
            name: "big.bin".into(),
            size: LEN as i64,
            mode: 0o644,
            mod_time: None,
        }),
    )
    .await
    .unwrap();
    let up = t.elapsed();
    assert_eq!(
        remote_sha256(&comm, remote).await,
        Pattern::sha256(seed, LEN)
    );

    let sink = HashSink::default();
    let t = Instant::now();
    comm.download(remote, Box::new(sink.clone())).await.unwrap();
    let down = t.elapsed();
    assert_eq!(sink.len(), LEN);
    assert_eq!(sink.hex(), Pattern::sha256(seed, LEN));

    let after = common::peak_rss_kib();
    let mib = LEN as f64 / (1024.0 * 1024.0);
    eprintln!(
        "{method:?}: upload {:.1} MiB/s, download {:.1} MiB/s, peak RSS {} -> {} KiB",
        mib / up.as_secs_f64(),
        mib / down.as_secs_f64(),
        before,
        after
    );
    // Streaming: the process never comes near holding the file (256 MiB) in memory.
    assert!(
        after < 160 * 1024,
        "peak RSS {after} KiB: the transfer is not streaming"
    );
}

#[tokio::test]
async fn scp_256_mib() {
    round_trip(FileTransferMethod::Scp, 1).await;
}

#[tokio::test]
async fn sftp_256_mib() {
    round_trip(FileTransferMethod::Sftp, 2).await;
}
