//! Uploads one local file with the communicator and prints the throughput; driven by
//! scripts/bench-ssh-upload.sh next to plain `scp` against the same sshd.
//!
//! usage: upload_bench <host> <port> <user> <private-key> <scp|sftp> <local-file> <remote-path>

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Instant;

use ssh_communicator::{
    CancellationToken, FileInfo, FileTransferMethod, PrivateKeySource, SshCommunicator, SshConfig,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port, user, key, method, local, remote] = args.as_slice() else {
        return Err(
            "usage: upload_bench <host> <port> <user> <key> <scp|sftp> <local> <remote>".into(),
        );
    };
    let cfg = SshConfig {
        host: host.clone(),
        port: port.parse()?,
        username: user.clone(),
        private_keys: vec![PrivateKeySource::File(key.into())],
        file_transfer_method: FileTransferMethod::parse(method)?,
        disable_agent_forwarding: true,
        ..SshConfig::default()
    };
    let comm = SshCommunicator::connect(cfg, CancellationToken::new()).await?;
    let file = tokio::fs::File::open(local).await?;
    let len = file.metadata().await?.len();
    let start = Instant::now();
    comm.upload(
        remote,
        Box::new(file),
        Some(FileInfo {
            name: "bench".into(),
            size: i64::try_from(len)?,
            mode: 0o644,
            mod_time: None,
        }),
    )
    .await?;
    let secs = start.elapsed().as_secs_f64();
    let mib = len as f64 / (1024.0 * 1024.0);
    println!(
        "{method}: {mib:.0} MiB in {secs:.2} s = {:.1} MiB/s",
        mib / secs
    );
    comm.close().await;
    Ok(())
}
