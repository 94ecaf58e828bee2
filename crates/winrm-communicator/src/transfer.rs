//! File transfers built on commands: upload through a PowerShell process's stdin, download as
//! base64 lines on its stdout, directories as one upload per file.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use tokio::io::AsyncWriteExt;
use tracing::{debug, info};

use crate::communicator::{Collect, FileInfo};
use crate::error::WinRmError;
use crate::powershell::{self, UPLOAD_DONE_PREFIX};
use crate::session::{self, Output, Session, StdinSource};
use crate::{BoxReader, BoxWriter};

/// `dst`, with the source's base name appended when it names a directory (ends in `\` or `/`).
pub(crate) fn resolve_destination(
    dst: &str,
    info: Option<&FileInfo>,
) -> Result<String, WinRmError> {
    if dst.ends_with('\\') || dst.ends_with('/') {
        match info {
            Some(fi) if !fi.name.is_empty() => Ok(format!("{dst}{}", fi.name)),
            _ => Err(WinRmError::Transfer(
                "Was unable to infer file basename for upload.".into(),
            )),
        }
    } else {
        Ok(dst.to_string())
    }
}

fn remote_error(what: &str, path: &str, exit: i64, stderr: &[u8]) -> WinRmError {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    WinRmError::Transfer(format!(
        "{what} {path}: the remote script exited with {exit}{}",
        if text.is_empty() {
            String::new()
        } else {
            format!(": {text}")
        }
    ))
}

/// Uploads `data` to `dst`; checks the byte count the remote side reports.
pub(crate) async fn upload(
    session: &std::sync::Arc<Session>,
    dst: &str,
    data: BoxReader,
) -> Result<u64, WinRmError> {
    info!(target: "winrm", %dst, "uploading file");
    let command = powershell::encoded_command(&powershell::upload_script(dst));
    // A pipe for stdin (not a console): long lines, no echo, no line editing.
    let started = session::start(session.clone(), &command, false).await?;
    let mut out = Collect::new(64 * 1024);
    let finished = started
        .finish(Some(StdinSource::Base64Lines(data)), &mut out)
        .await?;
    if finished.exit != 0 {
        return Err(remote_error("upload to", dst, finished.exit, &out.stderr));
    }
    let sent = finished.fed.ok_or_else(|| {
        WinRmError::Transfer(format!(
            "upload to {dst}: the remote script ended before reading all the data"
        ))
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let written = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(UPLOAD_DONE_PREFIX))
        .and_then(|n| n.trim().parse::<u64>().ok());
    match written {
        Some(n) if n == sent => {
            debug!(target: "winrm", %dst, bytes = n, "upload complete");
            Ok(n)
        }
        Some(n) => Err(WinRmError::Transfer(format!(
            "upload to {dst}: sent {sent} bytes but the machine wrote {n}"
        ))),
        None => Err(WinRmError::Transfer(format!(
            "upload to {dst}: the remote script did not report what it wrote (stdout {:?})",
            stdout.trim()
        ))),
    }
}

/// Decodes base64 lines from stdout into the writer as they arrive.
struct Decoder {
    out: BoxWriter,
    pending: Vec<u8>,
    written: u64,
    error: Option<String>,
    stderr: Vec<u8>,
}

impl Decoder {
    async fn line(&mut self, line: &[u8]) {
        let trimmed: Vec<u8> = line
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if trimmed.is_empty() || self.error.is_some() {
            return;
        }
        match base64::engine::general_purpose::STANDARD.decode(&trimmed) {
            Ok(bytes) => {
                if let Err(e) = self.out.write_all(&bytes).await {
                    self.error = Some(format!("writing the downloaded data: {e}"));
                } else {
                    self.written += bytes.len() as u64;
                }
            }
            Err(e) => self.error = Some(format!("the machine sent a line that is not base64: {e}")),
        }
    }
}

impl Output for Decoder {
    async fn chunk(&mut self, stderr: bool, data: &[u8]) {
        if stderr {
            let room = (64 * 1024usize).saturating_sub(self.stderr.len());
            self.stderr
                .extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
            return;
        }
        self.pending.extend_from_slice(data);
        while let Some(pos) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            self.line(&line).await;
        }
    }
}

/// Streams the remote file `src` into `out`.
pub(crate) async fn download(
    session: &std::sync::Arc<Session>,
    src: &str,
    out: BoxWriter,
) -> Result<u64, WinRmError> {
    info!(target: "winrm", %src, "downloading file");
    let command = powershell::encoded_command(&powershell::download_script(src));
    let started = session::start(session.clone(), &command, true).await?;
    let mut dec = Decoder {
        out,
        pending: Vec::new(),
        written: 0,
        error: None,
        stderr: Vec::new(),
    };
    let finished = started.finish(None, &mut dec).await?;
    let rest = std::mem::take(&mut dec.pending);
    dec.line(&rest).await;
    let _ = dec.out.flush().await;
    let _ = dec.out.shutdown().await;
    if finished.exit != 0 {
        return Err(remote_error("download of", src, finished.exit, &dec.stderr));
    }
    if let Some(e) = dec.error {
        return Err(WinRmError::Transfer(format!("download of {src}: {e}")));
    }
    Ok(dec.written)
}

/// Every regular file under `root`, as (local path, path relative to root), sorted.
fn walk(root: &Path) -> Result<Vec<(PathBuf, PathBuf)>, WinRmError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| WinRmError::Io {
            what: "reading the directory",
            path,
            source,
        }
    };
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let entry = entry.map_err(io(&dir))?;
            let path = entry.path();
            // Follow symlinks like Go's os.Stat in filepath.Walk's callers do for files.
            let meta = std::fs::metadata(&path).map_err(io(&path))?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() && entry.file_name() != ".DS_Store" {
                let rel = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
                out.push((path, rel));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Uploads a local directory (or a single file) the way Packer's `UploadDir` does.
pub(crate) async fn upload_dir(
    session: &std::sync::Arc<Session>,
    dst: &str,
    src: &str,
) -> Result<(), WinRmError> {
    let local = Path::new(src);
    let dst = dst.trim_end_matches(['\\', '/']);
    let base = if src.ends_with('/') {
        dst.to_string()
    } else {
        let name = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{dst}\\{name}")
    };
    let meta = std::fs::metadata(local).map_err(|source| WinRmError::Io {
        what: "reading",
        path: src.to_string(),
        source,
    })?;
    let files = if meta.is_dir() {
        let root = local.to_path_buf();
        tokio::task::spawn_blocking(move || walk(&root))
            .await
            .map_err(|e| WinRmError::Transfer(format!("listing {src}: {e}")))??
    } else {
        vec![(local.to_path_buf(), PathBuf::new())]
    };
    info!(target: "winrm", %src, dst = %base, files = files.len(), "uploading directory");
    for (path, rel) in files {
        let mut remote = base.clone();
        for part in rel.components() {
            remote.push('\\');
            remote.push_str(&part.as_os_str().to_string_lossy());
        }
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|source| WinRmError::Io {
                what: "opening",
                path: path.display().to_string(),
                source,
            })?;
        upload(session, &remote, Box::new(file)).await?;
    }
    Ok(())
}
