//! scp and sftp transfers against a real OpenSSH server (its `scp` binary and `internal-sftp`).

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{remote_sha256, run, HashSink, Pattern, Shared};
use ssh_communicator::testing::Sshd;
use ssh_communicator::{
    CancellationToken, FileInfo, FileTransferMethod, SshCommunicator, SshConfig, SshError,
};

const METHODS: [FileTransferMethod; 2] = [FileTransferMethod::Scp, FileTransferMethod::Sftp];
const MIB: u64 = 1024 * 1024;

async fn connect(sshd: &Sshd, method: FileTransferMethod) -> SshCommunicator {
    let cfg = SshConfig {
        file_transfer_method: method,
        ..sshd.config().unwrap()
    };
    SshCommunicator::connect(cfg, CancellationToken::new())
        .await
        .unwrap()
}

fn info(mode: u32, size: u64) -> Option<FileInfo> {
    Some(FileInfo {
        name: "f".into(),
        size: size as i64,
        mode,
        mod_time: None,
    })
}

async fn remote_mode(comm: &SshCommunicator, path: &str) -> String {
    run(comm, &format!("stat -c %a '{path}'"))
        .await
        .stdout
        .trim()
        .to_string()
}

#[tokio::test]
async fn upload_and_download_16_mib() {
    common::init_logs();
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let len = 16 * MIB + 3;
    for (i, method) in METHODS.into_iter().enumerate() {
        let comm = connect(&sshd, method).await;
        let seed = 42 + i as u64;
        let remote = dir.path().join(format!("up-{method:?}.bin"));
        let remote = remote.to_str().unwrap();
        comm.upload(remote, Box::new(Pattern::new(seed, len)), info(0o640, len))
            .await
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        assert_eq!(
            remote_sha256(&comm, remote).await,
            Pattern::sha256(seed, len),
            "{method:?}"
        );
        assert_eq!(remote_mode(&comm, remote).await, "640", "{method:?}");

        let sink = HashSink::default();
        comm.download(remote, Box::new(sink.clone())).await.unwrap();
        assert_eq!(sink.len(), len, "{method:?}");
        assert_eq!(sink.hex(), Pattern::sha256(seed, len), "{method:?}");
    }
}

#[tokio::test]
async fn upload_without_file_info_uses_0644() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for method in METHODS {
        let comm = connect(&sshd, method).await;
        let remote = dir.path().join(format!("noinfo-{method:?}"));
        let remote = remote.to_str().unwrap();
        comm.upload(remote, Box::new(&b"no size known"[..]), None)
            .await
            .unwrap();
        assert_eq!(std::fs::read(remote).unwrap(), b"no size known");
        // scp: Packer's 0644. sftp: the server default (0666 & ~umask = 0644 here).
        assert_eq!(remote_mode(&comm, remote).await, "644", "{method:?}");
        // A directory's FileInfo is not a regular file: treated as unknown too.
        let remote2 = format!("{remote}-dirinfo");
        let dir_mode = (1 << 31) | 0o700;
        comm.upload(&remote2, Box::new(&b"x"[..]), info(dir_mode, 1))
            .await
            .unwrap();
        assert_eq!(std::fs::read(&remote2).unwrap(), b"x");
    }
}

#[tokio::test]
async fn paths_with_spaces_and_quotes() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let weird = dir
        .path()
        .join("a dir with 'quotes' & (parens); \"double\"");
    std::fs::create_dir(&weird).unwrap();
    for method in METHODS {
        let comm = connect(&sshd, method).await;
        let remote = weird.join(format!("file {method:?}.txt"));
        let remote = remote.to_str().unwrap();
        comm.upload(remote, Box::new(&b"spaced"[..]), info(0o600, 6))
            .await
            .unwrap();
        assert_eq!(std::fs::read(remote).unwrap(), b"spaced", "{method:?}");
        let out = Shared::default();
        comm.download(remote, out.writer()).await.unwrap();
        assert_eq!(out.bytes(), b"spaced", "{method:?}");
    }
}

#[tokio::test]
async fn upload_data_shorter_than_announced_is_an_error() {
    let sshd = Sshd::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let comm = connect(&sshd, FileTransferMethod::Scp).await;
    let remote = dir.path().join("short");
    let err = comm
        .upload(
            remote.to_str().unwrap(),
            Box::new(&b"abc"[..]),
            info(0o644, 10),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("3 of 10"), "{err}");
    // The connection is still usable afterwards.
    assert_eq!(run(&comm, "echo ok").await.stdout, "ok\n");
}

#[tokio::test]
async fn missing_files_and_directories_are_clear_errors() {
    let sshd = Sshd::start().unwrap();
    for method in METHODS {
        let comm = connect(&sshd, method).await;
        let err = comm
            .download("/nonexistent/file", Box::new(Shared::default()))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("No such file") || text.contains("no such file"),
            "{method:?}: {text}"
        );
        let err = comm
            .upload(
                "/nonexistent-dir/sub/x",
                Box::new(&b"x"[..]),
                info(0o644, 1),
            )
            .await
            .unwrap_err();
        assert!(!err.to_string().is_empty(), "{method:?}");
        if method == FileTransferMethod::Scp {
            let err = comm
                .download("/tmp", Box::new(Shared::default()))
                .await
                .unwrap_err();
            assert!(matches!(err, SshError::Scp(_)), "{err}");
        }
    }
}

fn make_tree(root: &Path) {
    std::fs::create_dir_all(root.join("sub/deep")).unwrap();
    std::fs::create_dir_all(root.join("cache")).unwrap();
    std::fs::write(root.join("top.txt"), "top").unwrap();
    std::fs::write(root.join("run.sh"), "#!/bin/sh\necho hi\n").unwrap();
    std::fs::set_permissions(root.join("run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(root.join("noise.log"), "log").unwrap();
    std::fs::write(root.join("sub/inner.txt"), "inner").unwrap();
    std::fs::write(root.join("sub/deep/leaf.txt"), "leaf").unwrap();
    std::fs::write(root.join("sub/deep/leaf.log"), "leaflog").unwrap();
    std::fs::write(root.join("cache/blob"), "blob").unwrap();
    std::fs::set_permissions(root.join("sub"), std::fs::Permissions::from_mode(0o750)).unwrap();
}

/// Every path under `root`, relative, with "/" after directories.
fn listing(root: &Path) -> BTreeSet<String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(base)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            if e.file_type().unwrap().is_dir() {
                out.insert(format!("{rel}/"));
                walk(base, &e.path(), out);
            } else {
                out.insert(rel);
            }
        }
    }
    let mut out = BTreeSet::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn upload_dir_trailing_slash_and_excludes() {
    common::init_logs();
    let sshd = Sshd::start().unwrap();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("src");
    make_tree(&src);
    let remote_root = tempfile::tempdir().unwrap();
    for method in METHODS {
        let comm = connect(&sshd, method).await;

        // "src" (no slash): the directory itself lands in dst.
        let dst = remote_root.path().join(format!("{method:?}-itself"));
        std::fs::create_dir(&dst).unwrap();
        comm.upload_dir(dst.to_str().unwrap(), src.to_str().unwrap(), &[])
            .await
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        assert_eq!(
            listing(&dst),
            set(&[
                "src/",
                "src/cache/",
                "src/cache/blob",
                "src/noise.log",
                "src/run.sh",
                "src/sub/",
                "src/sub/deep/",
                "src/sub/deep/leaf.log",
                "src/sub/deep/leaf.txt",
                "src/sub/inner.txt",
                "src/top.txt"
            ]),
            "{method:?}"
        );
        assert_eq!(
            std::fs::read(dst.join("src/sub/deep/leaf.txt")).unwrap(),
            b"leaf"
        );
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dst.join("src/run.sh")), 0o755, "{method:?}");
        assert_eq!(mode(&dst.join("src/sub")), 0o750, "{method:?}");

        // "src/" (slash): only the contents, with excludes relative to src.
        let dst = remote_root.path().join(format!("{method:?}-contents"));
        std::fs::create_dir(&dst).unwrap();
        let src_slash = format!("{}/", src.display());
        comm.upload_dir(
            dst.to_str().unwrap(),
            &src_slash,
            &["*.log".into(), "cache".into(), "sub/deep/*.log".into()],
        )
        .await
        .unwrap();
        assert_eq!(
            listing(&dst),
            set(&[
                "run.sh",
                "sub/",
                "sub/deep/",
                "sub/deep/leaf.txt",
                "sub/inner.txt",
                "top.txt"
            ]),
            "{method:?}"
        );
    }
}

#[tokio::test]
async fn download_dir_with_excludes() {
    let sshd = Sshd::start().unwrap();
    let remote = tempfile::tempdir().unwrap();
    let src = remote.path().join("tree");
    make_tree(&src);
    for method in METHODS {
        // download_dir always uses scp, as the Go communicator does.
        let comm = connect(&sshd, method).await;
        let local = tempfile::tempdir().unwrap();
        comm.download_dir(src.to_str().unwrap(), local.path().to_str().unwrap(), &[])
            .await
            .unwrap();
        assert_eq!(listing(&local.path().join("tree")), listing(&src));
        assert_eq!(
            std::fs::read(local.path().join("tree/sub/deep/leaf.log")).unwrap(),
            b"leaflog"
        );
        let mode = std::fs::metadata(local.path().join("tree/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);

        let local = tempfile::tempdir().unwrap();
        comm.download_dir(
            src.to_str().unwrap(),
            local.path().to_str().unwrap(),
            &["**/*.log".into(), "cache".into()],
        )
        .await
        .unwrap();
        assert_eq!(
            listing(&local.path().join("tree")),
            set(&[
                "run.sh",
                "sub/",
                "sub/deep/",
                "sub/deep/leaf.txt",
                "sub/inner.txt",
                "top.txt"
            ])
        );
    }
}

#[tokio::test]
async fn scp_missing_on_the_remote_side_is_named() {
    let sshd = Sshd::start_with(ssh_communicator::testing::SshdOptions {
        // Commands run with an empty PATH: `scp` is not found (exit 127).
        extra: vec!["SetEnv PATH=/nonexistent".into()],
        ..Default::default()
    })
    .unwrap();
    let comm = connect(&sshd, FileTransferMethod::Scp).await;
    let dir = tempfile::tempdir().unwrap();
    let err = comm
        .upload(
            dir.path().join("x").to_str().unwrap(),
            Box::new(&b"x"[..]),
            info(0o644, 1),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("SCP failed to start"), "{err}");
}
