//! A communicator for the interop tests: commands run with `sh -c` on this machine and files move
//! on the local disk. Test-only; never part of the shipped binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use packer_rpc::{BoxReader, BoxWriter, Communicator, FileInfo, RemoteCommand};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;

/// Runs everything locally.
pub struct LocalCommunicator;

#[async_trait::async_trait]
impl Communicator for LocalCommunicator {
    async fn start(&self, cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, String> {
        let piped = |present: bool| {
            if present {
                Stdio::piped()
            } else {
                Stdio::null()
            }
        };
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&cmd.command)
            .stdin(piped(cmd.stdin.is_some()))
            .stdout(piped(cmd.stdout.is_some()))
            .stderr(piped(cmd.stderr.is_some()))
            .kill_on_drop(false)
            .spawn()
            .map_err(|e| format!("starting sh -c {:?}: {e}", cmd.command))?;
        let mut copies = Vec::new();
        if let (Some(mut from), Some(mut to)) = (cmd.stdin, child.stdin.take()) {
            copies.push(tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from, &mut to).await;
                let _ = to.shutdown().await; // EOF for the command
            }));
        }
        if let (Some(mut from), Some(mut to)) = (child.stdout.take(), cmd.stdout) {
            copies.push(tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from, &mut to).await;
                let _ = to.shutdown().await;
            }));
        }
        if let (Some(mut from), Some(mut to)) = (child.stderr.take(), cmd.stderr) {
            copies.push(tokio::spawn(async move {
                let _ = tokio::io::copy(&mut from, &mut to).await;
                let _ = to.shutdown().await;
            }));
        }
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let status = match child.wait().await {
                Ok(s) => exit_code(s),
                Err(_) => 1,
            };
            for c in copies {
                let _ = c.await;
            }
            let _ = tx.send(status);
        });
        Ok(rx)
    }

    async fn upload(
        &self,
        dst: &str,
        mut data: BoxReader,
        _info: Option<FileInfo>,
    ) -> Result<(), String> {
        let mut file = tokio::fs::File::create(dst)
            .await
            .map_err(|e| format!("creating {dst}: {e}"))?;
        tokio::io::copy(&mut data, &mut file)
            .await
            .map_err(|e| format!("writing {dst}: {e}"))?;
        file.flush()
            .await
            .map_err(|e| format!("writing {dst}: {e}"))
    }

    async fn upload_dir(&self, dst: &str, src: &str, exclude: &[String]) -> Result<(), String> {
        copy_tree_blocking(dst, src, exclude).await
    }

    async fn download(&self, src: &str, mut out: BoxWriter) -> Result<(), String> {
        let mut file = tokio::fs::File::open(src)
            .await
            .map_err(|e| format!("opening {src}: {e}"))?;
        tokio::io::copy(&mut file, &mut out)
            .await
            .map_err(|e| format!("reading {src}: {e}"))?;
        out.shutdown()
            .await
            .map_err(|e| format!("sending {src}: {e}"))
    }

    async fn download_dir(&self, src: &str, dst: &str, exclude: &[String]) -> Result<(), String> {
        copy_tree_blocking(dst, src, exclude).await
    }
}

#[cfg(unix)]
fn exit_code(s: std::process::ExitStatus) -> i64 {
    use std::os::unix::process::ExitStatusExt;
    match (s.code(), s.signal()) {
        (Some(c), _) => i64::from(c),
        (None, Some(sig)) => 128 + i64::from(sig),
        (None, None) => 1,
    }
}

#[cfg(not(unix))]
fn exit_code(s: std::process::ExitStatus) -> i64 {
    s.code().map_or(1, i64::from)
}

async fn copy_tree_blocking(dst: &str, src: &str, exclude: &[String]) -> Result<(), String> {
    let (dst, src, exclude) = (dst.to_string(), src.to_string(), exclude.to_vec());
    tokio::task::spawn_blocking(move || copy_tree(&dst, &src, &exclude))
        .await
        .map_err(|e| format!("copy task failed: {e}"))?
}

/// Copies `src` into `dst` (its contents when `src` ends with '/'), leaving out entries whose
/// base name matches an exclude pattern (`*` and `?` wildcards), as Packer's file provisioner.
fn copy_tree(dst: &str, src: &str, exclude: &[String]) -> Result<(), String> {
    let root = PathBuf::from(src.trim_end_matches('/'));
    let mut dst = PathBuf::from(dst);
    if !src.ends_with('/') {
        if let Some(base) = root.file_name() {
            dst.push(base);
        }
    }
    let meta = std::fs::metadata(&root).map_err(|e| format!("{}: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", root.display()));
    }
    copy_dir(&root, &dst, exclude)
}

fn copy_dir(from: &Path, to: &Path, exclude: &[String]) -> Result<(), String> {
    std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", from.display()))?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if exclude.iter().any(|pat| glob_match(pat, &name_str)) {
            continue;
        }
        let path = entry.path();
        let target = to.join(&name);
        let kind = entry
            .file_type()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if kind.is_dir() {
            copy_dir(&path, &target, exclude)?;
        } else {
            std::fs::copy(&path, &target)
                .map_err(|e| format!("{} -> {}: {e}", path.display(), target.display()))?;
        }
    }
    Ok(())
}

/// Shell-style match of `*` (any run) and `?` (one character).
fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ni < n.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some(pi);
                mark = ni;
                pi += 1;
            }
            Some(&c) if c == '?' || Some(&c) == n.get(ni) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some(s) => {
                    pi = s + 1;
                    mark += 1;
                    ni = mark;
                }
                None => return false,
            },
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}
