//! The classic scp protocol (what `scp -t` / `scp -f` speak on the remote side), as Packer's Go
//! communicator drives it.
//!
//! Source side (we upload): send `C<mode> <size> <name>\n`, wait for a 0 byte, send the bytes
//! and a 0 byte, wait for a 0 byte; directories are `D<mode> 0 <name>\n` ... `E\n`, each
//! acknowledged. Sink side (we download): send 0, read a header line (`T` times are
//! acknowledged and ignored), send 0, read the bytes, read the sender's status byte, send 0.
//! A status byte of 1 (warning) or 2 (fatal) is followed by a message line.
//!
//! Header parsing and checks are pure functions; the drivers are generic over any async
//! reader/writer pair so they are tested against scripted peers as well as real `scp`.

use std::path::{Path, PathBuf};

use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt,
};

use crate::error::SshError;
use crate::tree::{Excludes, TreeEntry};

/// Longest header or error line we accept from the remote scp.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// The scp protocol failed.
#[derive(Debug, thiserror::Error)]
pub enum ScpError {
    /// The remote scp reported an error (status byte 1 or 2 and its message).
    #[error("scp on the remote host: {0}")]
    Remote(String),
    /// A status byte other than 0, 1 or 2.
    #[error("scp: unexpected response byte {0:#04x}")]
    UnexpectedResponse(u8),
    /// A header line that does not parse.
    #[error("scp: malformed header {0:?}")]
    BadHeader(String),
    /// A line longer than [`MAX_LINE`].
    #[error("scp: header line longer than {MAX_LINE} bytes")]
    LineTooLong,
    /// The remote sent a file name that could escape the destination directory.
    #[error("scp: refusing unsafe file name {0:?} from the remote host")]
    UnsafeName(String),
    /// `download` of a directory.
    #[error("scp: remote file is a directory")]
    IsDirectory,
    /// The remote stream ended mid-protocol.
    #[error("scp: the remote side ended the transfer early")]
    UnexpectedEof,
    /// The data we were given was shorter than the size announced in the header.
    #[error("scp: the data source ended after {got} of {expected} bytes")]
    ShortSource {
        /// Bytes announced.
        expected: u64,
        /// Bytes supplied.
        got: u64,
    },
    /// A local name cannot be put in a header line.
    #[error("scp: cannot send file name {0:?} (empty, or contains a newline or '/')")]
    BadLocalName(String),
    /// The remote `scp` binary is missing (exit status 127), Packer's wording.
    #[error(
        "SCP failed to start. This usually means that SCP is not properly installed on the remote system."
    )]
    NotInstalled,
    /// The remote scp exited with a failure status.
    #[error("scp exited with status {status}: {stderr}")]
    Exit {
        /// The exit status.
        status: u32,
        /// The end of scp's stderr.
        stderr: String,
    },
    /// The connection dropped before scp reported its exit status.
    #[error("scp: the connection was lost before scp finished")]
    Disconnected,
    /// Writing to or reading from the channel failed.
    #[error("scp: channel I/O: {0}")]
    Io(String),
}

/// A line from the remote source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SourceLine {
    /// `C<mode> <size> <name>`.
    File { mode: u32, size: u64, name: String },
    /// `D<mode> 0 <name>`.
    Dir { mode: u32, name: String },
    /// `E`.
    EndDir,
    /// `T<mtime> 0 <atime> 0` (acknowledged, otherwise ignored).
    Times,
}

/// `C0644 12 name\n` (Go writes `C%04o` of the permission bits).
pub(crate) fn file_header(mode: u32, size: u64, name: &str) -> Result<String, ScpError> {
    check_local_name(name)?;
    Ok(format!("C{:04o} {size} {name}\n", mode & 0o7777))
}

/// `D0755 0 name\n`.
pub(crate) fn dir_header(mode: u32, name: &str) -> Result<String, ScpError> {
    check_local_name(name)?;
    Ok(format!("D{:04o} 0 {name}\n", mode & 0o7777))
}

fn check_local_name(name: &str) -> Result<(), ScpError> {
    if name.is_empty() || name.contains('\n') || name.contains('/') {
        return Err(ScpError::BadLocalName(name.to_string()));
    }
    Ok(())
}

/// Parses a source line (without its `\n`); status lines (1/2) are handled by the caller.
pub(crate) fn parse_source_line(line: &str) -> Result<SourceLine, ScpError> {
    let bad = || ScpError::BadHeader(line.to_string());
    let mut chars = line.chars();
    let kind = chars.next().ok_or_else(bad)?;
    let rest = chars.as_str();
    match kind {
        'E' if rest.is_empty() => Ok(SourceLine::EndDir),
        'T' => {
            let fields: Vec<&str> = rest.split(' ').collect();
            let numeric = fields.len() == 4 && fields.iter().all(|f| f.parse::<u64>().is_ok());
            if numeric {
                Ok(SourceLine::Times)
            } else {
                Err(bad())
            }
        }
        'C' | 'D' => {
            let mut parts = rest.splitn(3, ' ');
            let mode = parts.next().ok_or_else(bad)?;
            let size = parts.next().ok_or_else(bad)?;
            let name = parts.next().ok_or_else(bad)?;
            if mode.is_empty() || mode.len() > 7 {
                return Err(bad());
            }
            let mode = u32::from_str_radix(mode, 8).map_err(|_| bad())?;
            // A leading '-' would parse as negative in Go; u64 refuses it here.
            let size: u64 = size.parse().map_err(|_| bad())?;
            check_remote_name(name)?;
            if kind == 'C' {
                Ok(SourceLine::File {
                    mode,
                    size,
                    name: name.to_string(),
                })
            } else {
                Ok(SourceLine::Dir {
                    mode,
                    name: name.to_string(),
                })
            }
        }
        _ => Err(bad()),
    }
}

/// A name from the remote must be one plain path component (OpenSSH's scp checks the same).
pub(crate) fn check_remote_name(name: &str) -> Result<(), ScpError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(ScpError::UnsafeName(name.to_string()));
    }
    Ok(())
}

fn io_err(e: std::io::Error) -> ScpError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ScpError::UnexpectedEof
    } else {
        ScpError::Io(e.to_string())
    }
}

/// Reads one line (without the `\n`), bounded by [`MAX_LINE`]. `Ok(None)` at a clean EOF.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<Option<String>, ScpError> {
    let mut line = Vec::new();
    loop {
        let buf = r.fill_buf().await.map_err(io_err)?;
        if buf.is_empty() {
            return if line.is_empty() {
                Ok(None)
            } else {
                Err(ScpError::UnexpectedEof)
            };
        }
        let (take, done) = match buf.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        line.extend_from_slice(buf.get(..take).unwrap_or_default());
        r.consume(take);
        if line.len() > MAX_LINE {
            return Err(ScpError::LineTooLong);
        }
        if done {
            line.pop();
            return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
        }
    }
}

/// Reads a status byte: 0 is fine, 1/2 carry a message line.
pub(crate) async fn read_ack<R: AsyncBufRead + Unpin>(r: &mut R) -> Result<(), ScpError> {
    let code = r.read_u8().await.map_err(io_err)?;
    match code {
        0 => Ok(()),
        1 | 2 => {
            let msg = read_line(r).await?.unwrap_or_default();
            Err(ScpError::Remote(msg.trim().to_string()))
        }
        other => Err(ScpError::UnexpectedResponse(other)),
    }
}

async fn send<W: AsyncWrite + Unpin>(w: &mut W, bytes: &[u8]) -> Result<(), ScpError> {
    w.write_all(bytes).await.map_err(io_err)?;
    w.flush().await.map_err(io_err)
}

/// Sends one file: header, exactly `size` bytes of `src`, the 0 byte, with both acks.
pub(crate) async fn send_file<W, R, S>(
    w: &mut W,
    r: &mut R,
    name: &str,
    mode: u32,
    size: u64,
    src: &mut S,
) -> Result<(), SshError>
where
    W: AsyncWrite + Unpin,
    R: AsyncBufRead + Unpin,
    S: AsyncRead + Unpin + ?Sized,
{
    send(w, file_header(mode, size, name)?.as_bytes()).await?;
    read_ack(r).await?;
    let mut limited = tokio::io::BufReader::with_capacity(COPY_BUF, src).take(size);
    let copied = tokio::io::copy_buf(&mut limited, w)
        .await
        .map_err(|source| SshError::Stream {
            what: "reading the upload data",
            source,
        })?;
    if copied < size {
        return Err(ScpError::ShortSource {
            expected: size,
            got: copied,
        }
        .into());
    }
    send(w, &[0]).await?;
    read_ack(r).await?;
    Ok(())
}

/// The copy buffer for file data: large enough for full SSH packets, small enough to be
/// irrelevant next to a 256 MiB file.
pub(crate) const COPY_BUF: usize = 256 * 1024;

/// Replays an upload plan (see [`crate::tree`]) as scp source messages.
pub(crate) async fn send_tree<W, R>(
    w: &mut W,
    r: &mut R,
    plan: &[TreeEntry],
) -> Result<(), SshError>
where
    W: AsyncWrite + Unpin,
    R: AsyncBufRead + Unpin,
{
    for entry in plan {
        match entry {
            TreeEntry::EnterDir { name, mode, .. } => {
                send(w, dir_header(*mode, name)?.as_bytes()).await?;
                read_ack(r).await?;
            }
            TreeEntry::LeaveDir => {
                send(w, b"E\n").await?;
                read_ack(r).await?;
            }
            TreeEntry::File {
                name, path, mode, ..
            } => {
                let mut file = tokio::fs::File::open(path)
                    .await
                    .map_err(|e| local("open", path, e))?;
                let size = file
                    .metadata()
                    .await
                    .map_err(|e| local("stat", path, e))?
                    .len();
                send_file(w, r, name, *mode, size, &mut file).await?;
            }
        }
    }
    Ok(())
}

/// Receives a single file (`scp -f path`) into `out`.
pub(crate) async fn receive_file<W, R, O>(
    w: &mut W,
    r: &mut R,
    out: &mut O,
) -> Result<u64, SshError>
where
    W: AsyncWrite + Unpin,
    R: AsyncBufRead + Unpin,
    O: AsyncWrite + Unpin + ?Sized,
{
    send(w, &[0]).await?;
    loop {
        let size = match next_source_line(r).await? {
            None => return Err(ScpError::UnexpectedEof.into()),
            Some(SourceLine::Times) => {
                send(w, &[0]).await?;
                continue;
            }
            Some(SourceLine::Dir { .. } | SourceLine::EndDir) => {
                return Err(ScpError::IsDirectory.into())
            }
            Some(SourceLine::File { size, .. }) => size,
        };
        send(w, &[0]).await?;
        copy_exact(r, out, size).await?;
        read_ack(r).await?;
        send(w, &[0]).await?;
        return Ok(size);
    }
}

/// Reads the next header, turning status lines into errors. `Ok(None)` at a clean EOF.
async fn next_source_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
) -> Result<Option<SourceLine>, ScpError> {
    let first = {
        let buf = r.fill_buf().await.map_err(io_err)?;
        match buf.first() {
            None => return Ok(None),
            Some(b) => *b,
        }
    };
    if first == 1 || first == 2 {
        r.consume(1);
        let msg = read_line(r).await?.unwrap_or_default();
        return Err(ScpError::Remote(msg.trim().to_string()));
    }
    match read_line(r).await? {
        None => Ok(None),
        Some(line) => parse_source_line(&line).map(Some),
    }
}

async fn copy_exact<R, O>(r: &mut R, out: &mut O, size: u64) -> Result<(), SshError>
where
    R: AsyncBufRead + Unpin,
    O: AsyncWrite + Unpin + ?Sized,
{
    let mut limited = r.take(size);
    let copied = tokio::io::copy_buf(&mut limited, out)
        .await
        .map_err(|source| SshError::Stream {
            what: "writing the downloaded data",
            source,
        })?;
    if copied < size {
        return Err(ScpError::UnexpectedEof.into());
    }
    Ok(())
}

/// Receives a directory tree (`scp -rf src`) under the local directory `dst`, as Go's
/// `DownloadDir`: the remote directory itself becomes `dst/<name>`. Excluded paths (relative to
/// the remote directory) are read and thrown away.
pub(crate) async fn receive_tree<W, R>(
    w: &mut W,
    r: &mut R,
    dst: &Path,
    excludes: &Excludes,
) -> Result<(), SshError>
where
    W: AsyncWrite + Unpin,
    R: AsyncBufRead + Unpin,
{
    // stack[0] is `dst`; then one entry per open remote directory: (local path, relative path,
    // excluded?). The first remote directory is the root and has rel "".
    let mut stack: Vec<(PathBuf, Option<String>, bool)> = vec![(dst.to_path_buf(), None, false)];
    send(w, &[0]).await?;
    loop {
        let line = match next_source_line(r).await? {
            None if stack.len() == 1 => return Ok(()),
            None => return Err(ScpError::UnexpectedEof.into()),
            Some(line) => line,
        };
        let Some((dir, rel, excluded)) = stack.last().cloned() else {
            return Err(ScpError::BadHeader("E without a directory".into()).into());
        };
        match line {
            SourceLine::Times => send(w, &[0]).await?,
            SourceLine::EndDir => {
                if stack.len() == 1 {
                    return Err(ScpError::BadHeader("E without a directory".into()).into());
                }
                stack.pop();
                send(w, &[0]).await?;
            }
            SourceLine::Dir { mode, name } => {
                let child_rel = child(&rel, &name);
                let skip = excluded || excludes.matches(child_rel.as_deref().unwrap_or(""));
                let path = dir.join(&name);
                if !skip {
                    create_dir(&path, mode).await?;
                }
                stack.push((path, child_rel, skip));
                send(w, &[0]).await?;
            }
            SourceLine::File { mode, size, name } => {
                let child_rel = child(&rel, &name);
                let skip = excluded || excludes.matches(child_rel.as_deref().unwrap_or(""));
                send(w, &[0]).await?;
                if skip {
                    copy_exact(r, &mut tokio::io::sink(), size).await?;
                } else {
                    let path = dir.join(&name);
                    let mut file = open_for_write(&path, mode).await?;
                    copy_exact(r, &mut file, size).await?;
                    file.flush().await.map_err(|e| local("write", &path, e))?;
                }
                read_ack(r).await?;
                send(w, &[0]).await?;
            }
        }
    }
}

/// The relative path of `name` inside a directory whose relative path is `parent`
/// (`None` = we are at `dst`, so `name` is the remote root itself).
fn child(parent: &Option<String>, name: &str) -> Option<String> {
    match parent {
        None => Some(String::new()),
        Some(p) if p.is_empty() => Some(name.to_string()),
        Some(p) => Some(format!("{p}/{name}")),
    }
}

async fn create_dir(path: &Path, mode: u32) -> Result<(), SshError> {
    let mut builder = tokio::fs::DirBuilder::new();
    builder.recursive(true).mode(mode & 0o7777);
    builder
        .create(path)
        .await
        .map_err(|e| local("create directory", path, e))
}

async fn open_for_write(path: &Path, mode: u32) -> Result<tokio::fs::File, SshError> {
    tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode & 0o7777)
        .open(path)
        .await
        .map_err(|e| local("create", path, e))
}

fn local(op: &'static str, path: &Path, source: std::io::Error) -> SshError {
    SshError::LocalIo {
        op,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{duplex, BufReader};

    #[test]
    fn headers_match_go_format() {
        assert_eq!(file_header(0o644, 12, "f.txt").unwrap(), "C0644 12 f.txt\n");
        assert_eq!(file_header(0o100755, 0, "x").unwrap(), "C0755 0 x\n");
        assert_eq!(dir_header(0o700, "d").unwrap(), "D0700 0 d\n");
        assert!(file_header(0o644, 1, "a\nb").is_err());
        assert!(dir_header(0o755, "").is_err());
        assert!(file_header(0o644, 1, "a/b").is_err());
    }

    #[test]
    fn source_lines_parse() {
        assert_eq!(
            parse_source_line("C0644 1048576 big.bin").unwrap(),
            SourceLine::File {
                mode: 0o644,
                size: 1_048_576,
                name: "big.bin".into()
            }
        );
        assert_eq!(
            parse_source_line("C0600 3 name with spaces").unwrap(),
            SourceLine::File {
                mode: 0o600,
                size: 3,
                name: "name with spaces".into()
            }
        );
        assert_eq!(
            parse_source_line("D0755 0 dir").unwrap(),
            SourceLine::Dir {
                mode: 0o755,
                name: "dir".into()
            }
        );
        assert_eq!(parse_source_line("E").unwrap(), SourceLine::EndDir);
        assert_eq!(
            parse_source_line("T1700000000 0 1700000001 0").unwrap(),
            SourceLine::Times
        );
    }

    #[test]
    fn malformed_or_hostile_lines_are_errors() {
        for line in [
            "",
            "X",
            "C",
            "C0644",
            "C0644 12",
            "C06x4 1 a",
            "C0644 -5 a",
            "C0644 1 ../etc",
            "C0644 1 a/b",
            "D0755 0 ..",
            "C0644 1 .",
            "T1 2 3",
            "Ex",
            "C12345678 1 a",
            "C0644 99999999999999999999999 a",
        ] {
            assert!(
                parse_source_line(line).is_err(),
                "{line:?} should be rejected"
            );
        }
    }

    #[tokio::test]
    async fn ack_decoding() {
        let mut ok = BufReader::new(&b"\0"[..]);
        assert!(read_ack(&mut ok).await.is_ok());
        let mut err = BufReader::new(&b"\x01scp: /x: Permission denied\n"[..]);
        match read_ack(&mut err).await {
            Err(ScpError::Remote(m)) => assert_eq!(m, "scp: /x: Permission denied"),
            other => panic!("{other:?}"),
        }
        let mut odd = BufReader::new(&b"Z"[..]);
        assert!(matches!(
            read_ack(&mut odd).await,
            Err(ScpError::UnexpectedResponse(b'Z'))
        ));
        let mut empty = BufReader::new(&b""[..]);
        assert!(matches!(
            read_ack(&mut empty).await,
            Err(ScpError::UnexpectedEof)
        ));
    }

    #[tokio::test]
    async fn line_length_is_bounded() {
        let long = vec![b'a'; MAX_LINE + 10];
        let mut r = BufReader::new(&long[..]);
        assert!(matches!(
            read_line(&mut r).await,
            Err(ScpError::LineTooLong)
        ));
    }

    /// Plays an scp sink that acks everything, recording what it got.
    #[tokio::test]
    async fn send_file_wire_bytes() {
        let (mut ours, mut theirs) = duplex(1 << 16);
        let sink = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut byte = [0u8; 1];
            // header
            loop {
                theirs.read_exact(&mut byte).await.unwrap();
                got.push(byte[0]);
                if byte[0] == b'\n' {
                    break;
                }
            }
            theirs.write_all(&[0]).await.unwrap();
            let mut body = [0u8; 6];
            theirs.read_exact(&mut body).await.unwrap();
            got.extend_from_slice(&body);
            theirs.write_all(&[0]).await.unwrap();
            got
        });
        let (rd, mut wr) = tokio::io::split(&mut ours);
        let mut rd = BufReader::new(rd);
        let mut data = &b"hello"[..];
        send_file(&mut wr, &mut rd, "f", 0o600, 5, &mut data)
            .await
            .unwrap();
        assert_eq!(sink.await.unwrap(), b"C0600 5 f\nhello\0");
    }

    #[tokio::test]
    async fn short_source_is_reported() {
        let mut out = Vec::new();
        let mut acks = BufReader::new(&b"\0\0"[..]);
        let mut data = &b"abc"[..];
        let err = send_file(&mut out, &mut acks, "f", 0o644, 10, &mut data)
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            SshError::Scp(ScpError::ShortSource {
                expected: 10,
                got: 3
            })
        ));
    }

    #[tokio::test]
    async fn receive_file_follows_the_sink_protocol() {
        let input = b"T1 0 2 0\nC0644 5 x\nhello\0".to_vec();
        let mut r = BufReader::new(&input[..]);
        let mut acks = Vec::new();
        let mut out = Vec::new();
        let n = receive_file(&mut acks, &mut r, &mut out).await.unwrap();
        assert_eq!(n, 5);
        assert_eq!(out, b"hello");
        // initial, after T, after C, after the data.
        assert_eq!(acks, [0, 0, 0, 0]);
    }

    #[tokio::test]
    async fn receive_file_reports_remote_errors_and_dirs() {
        let mut r = BufReader::new(&b"\x01scp: /nope: No such file or directory\n"[..]);
        let err = receive_file(&mut Vec::new(), &mut r, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("No such file"), "{err}");
        let mut r = BufReader::new(&b"D0755 0 d\n"[..]);
        let err = receive_file(&mut Vec::new(), &mut r, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(err, SshError::Scp(ScpError::IsDirectory)));
        let mut r = BufReader::new(&b"C0644 10 x\nabc"[..]);
        let err = receive_file(&mut Vec::new(), &mut r, &mut Vec::new())
            .await
            .unwrap_err();
        assert!(matches!(err, SshError::Scp(ScpError::UnexpectedEof)));
    }

    #[tokio::test]
    async fn receive_tree_builds_the_tree_and_skips_excludes() {
        let t = tempfile::tempdir().unwrap();
        let input = b"D0755 0 top\nC0640 2 a\nhi\0D0700 0 sub\nC0644 3 b\nabc\0E\nD0755 0 skip\nC0644 1 c\nz\0E\nC0644 4 x.log\nlogs\0E\n".to_vec();
        let mut r = BufReader::new(&input[..]);
        let mut acks = Vec::new();
        let ex = Excludes::new(&["skip".into(), "*.log".into()]).unwrap();
        receive_tree(&mut acks, &mut r, t.path(), &ex)
            .await
            .unwrap();
        let top = t.path().join("top");
        assert_eq!(std::fs::read(top.join("a")).unwrap(), b"hi");
        assert_eq!(std::fs::read(top.join("sub/b")).unwrap(), b"abc");
        assert!(!top.join("skip").exists());
        assert!(!top.join("x.log").exists());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(top.join("a"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode & !0o022, 0o640 & !0o022);
        assert!(acks.iter().all(|b| *b == 0));
    }

    #[tokio::test]
    async fn receive_tree_refuses_traversal() {
        let t = tempfile::tempdir().unwrap();
        let input = b"D0755 0 top\nC0644 2 ../evil\nhi\0E\n".to_vec();
        let mut r = BufReader::new(&input[..]);
        let err = receive_tree(
            &mut Vec::new(),
            &mut r,
            t.path(),
            &Excludes::new(&[]).unwrap(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, SshError::Scp(ScpError::UnsafeName(_))));
        assert!(!t.path().join("evil").exists());
    }
}
