//! Transfers over the `sftp` subsystem (`ssh_file_transfer_method = "sftp"`), following the Go
//! communicator: create + copy + chmod when the mode is known, `mkdir` tolerating existing
//! directories, and the same trailing-slash rule as scp (the plan comes from [`crate::tree`]).

use russh_sftp::client::SftpSession;
use russh_sftp::protocol::FileAttributes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

use crate::error::SshError;
use crate::rpath;
use crate::scp::COPY_BUF;
use crate::tree::TreeEntry;

fn sftp_err(op: &'static str, path: &str, e: impl std::fmt::Display) -> SshError {
    SshError::Sftp {
        op,
        path: path.to_string(),
        reason: e.to_string(),
    }
}

/// Uploads a stream to `path`; `mode` (permission bits) is applied afterwards when given.
pub(crate) async fn upload<S>(
    sftp: &SftpSession,
    path: &str,
    src: &mut S,
    mode: Option<u32>,
) -> Result<u64, SshError>
where
    S: AsyncRead + Unpin + ?Sized,
{
    let mut file = sftp
        .create(path)
        .await
        .map_err(|e| sftp_err("create", path, e))?;
    let mut reader = BufReader::with_capacity(COPY_BUF, src);
    let copied = tokio::io::copy_buf(&mut reader, &mut file)
        .await
        .map_err(|e| sftp_err("write", path, e))?;
    file.shutdown()
        .await
        .map_err(|e| sftp_err("close", path, e))?;
    if let Some(mode) = mode {
        chmod(sftp, path, mode).await?;
    }
    Ok(copied)
}

async fn chmod(sftp: &SftpSession, path: &str, mode: u32) -> Result<(), SshError> {
    let attrs = FileAttributes {
        permissions: Some(mode & 0o7777),
        ..FileAttributes::empty()
    };
    sftp.set_metadata(path, attrs)
        .await
        .map_err(|e| sftp_err("chmod", path, e))
}

/// `mkdir` that accepts an existing directory, then `chmod` (Go's `sftpMkdir`).
async fn mkdir(sftp: &SftpSession, path: &str, mode: u32) -> Result<(), SshError> {
    if let Err(e) = sftp.create_dir(path).await {
        let is_dir = sftp
            .metadata(path)
            .await
            .map(|m| m.is_dir())
            .unwrap_or(false);
        if !is_dir {
            return Err(sftp_err("mkdir", path, e));
        }
    }
    chmod(sftp, path, mode).await
}

/// Replays an upload plan under the remote directory `dst`.
pub(crate) async fn upload_tree(
    sftp: &SftpSession,
    dst: &str,
    plan: &[TreeEntry],
) -> Result<(), SshError> {
    let mut dirs = vec![dst.to_string()];
    for entry in plan {
        let current = dirs.last().cloned().unwrap_or_else(|| dst.to_string());
        match entry {
            TreeEntry::EnterDir { name, mode, .. } => {
                let path = rpath::join(&current, name);
                mkdir(sftp, &path, *mode).await?;
                dirs.push(path);
            }
            TreeEntry::LeaveDir => {
                dirs.pop();
            }
            TreeEntry::File {
                name, path, mode, ..
            } => {
                let remote = rpath::join(&current, name);
                let mut file =
                    tokio::fs::File::open(path)
                        .await
                        .map_err(|source| SshError::LocalIo {
                            op: "open",
                            path: path.clone(),
                            source,
                        })?;
                upload(sftp, &remote, &mut file, Some(*mode)).await?;
            }
        }
    }
    Ok(())
}

/// Streams the remote file at `path` into `out`.
pub(crate) async fn download<O>(
    sftp: &SftpSession,
    path: &str,
    out: &mut O,
) -> Result<u64, SshError>
where
    O: AsyncWrite + Unpin + ?Sized,
{
    let file = sftp
        .open(path)
        .await
        .map_err(|e| sftp_err("open", path, e))?;
    let mut reader = BufReader::with_capacity(COPY_BUF, file);
    tokio::io::copy_buf(&mut reader, out)
        .await
        .map_err(|e| sftp_err("read", path, e))
}
