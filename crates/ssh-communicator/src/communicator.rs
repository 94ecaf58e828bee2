//! [`SshCommunicator`]: the async driver that ties connection, commands and transfers together
//! with the shapes of Packer's `Communicator` interface.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelWriteHalf, Pty};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::{oneshot, Mutex, RwLock};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::channel_io::{exit_code, pump, ExitInfo, RequestReply, Tail};
use crate::config::{FileTransferMethod, SshConfig};
use crate::error::SshError;
use crate::retry::{Next, RetryState};
use crate::scp::{self, ScpError};
use crate::session::{classify, establish, request_agent_forwarding, ConnectPlan, Connection};
use crate::tree::{self, Excludes};
use crate::{rpath, sftp};

/// A byte source handed to the communicator (stdin, upload data).
pub type BoxReader = Box<dyn AsyncRead + Send + Unpin>;
/// A byte sink handed to the communicator (stdout, stderr, download target).
pub type BoxWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// A command to run remotely: Packer's `RemoteCmd`. Missing stdin means "empty input";
/// missing stdout/stderr means "discard".
pub struct RemoteCommand {
    /// Shell command line, run by the user's login shell on the remote side.
    pub command: String,
    /// Fed to the command; EOF is sent to the remote side when it ends.
    pub stdin: Option<BoxReader>,
    /// Receives the command's standard output; shut down when the command ends.
    pub stdout: Option<BoxWriter>,
    /// Receives the command's standard error; shut down when the command ends.
    pub stderr: Option<BoxWriter>,
}

impl fmt::Debug for RemoteCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteCommand")
            .field("command", &self.command)
            .field("stdin", &self.stdin.is_some())
            .field("stdout", &self.stdout.is_some())
            .field("stderr", &self.stderr.is_some())
            .finish()
    }
}

/// What Packer knows about an uploaded file (`rpc.fileInfo`): Go `os.FileMode` bits in `mode`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Base name of the source file.
    pub name: String,
    /// Size in bytes (negative = unknown).
    pub size: i64,
    /// Go `os.FileMode`: permission bits plus type bits in the high bits.
    pub mode: u32,
    /// Modification time, if known (not sent: the Go communicator does not preserve it either).
    pub mod_time: Option<SystemTime>,
}

/// Go's `os.ModeType`: Dir | Symlink | NamedPipe | Socket | Device | CharDevice | Irregular.
const GO_MODE_TYPE: u32 =
    (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19);

impl FileInfo {
    /// `(permission bits, size)` when this describes a regular file of known size; otherwise the
    /// Go communicator ignores it (mode 0644, size measured by spooling to a temporary file).
    pub(crate) fn regular(&self) -> Option<(u32, u64)> {
        if self.mode & GO_MODE_TYPE != 0 {
            return None;
        }
        let size = u64::try_from(self.size).ok()?;
        Some((self.mode & 0o777, size))
    }
}

/// The pty Packer requests with `ssh_pty`: xterm, 80x40, no echo, 14400 baud.
const PTY_MODES: [(Pty, u32); 3] = [
    (Pty::ECHO, 0),
    (Pty::TTY_OP_ISPEED, 14400),
    (Pty::TTY_OP_OSPEED, 14400),
];
/// Bytes of remote stderr kept for scp error messages.
const STDERR_TAIL: usize = 8 * 1024;
/// Buffer between the channel reader and the scp protocol code.
const SCP_PIPE: usize = 256 * 1024;
/// How long to wait for a failed scp to report its exit status before giving up on it.
const SCP_FAILURE_GRACE: Duration = Duration::from_secs(10);

/// Packer's SSH communicator: connect once (with retries while the VM boots), then run
/// commands and move files over that connection, reconnecting once if it broke in between.
pub struct SshCommunicator {
    cfg: SshConfig,
    plan: ConnectPlan,
    conn: RwLock<Arc<Connection>>,
    reconnect_lock: Mutex<()>,
}

impl fmt::Debug for SshCommunicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshCommunicator")
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// Retries `establish` until it succeeds, the handshake-attempt budget is spent, the deadline
/// passes or `cancel` fires (Packer's `waitForSSH`).
async fn connect_with_retries(
    plan: &ConnectPlan,
    cfg: &SshConfig,
    cancel: &CancellationToken,
) -> Result<Connection, SshError> {
    let deadline = (!cfg.timeout.is_zero()).then(|| tokio::time::Instant::now() + cfg.timeout);
    let expired = || async move {
        match deadline {
            Some(d) => tokio::time::sleep_until(d).await,
            None => std::future::pending().await,
        }
    };
    let timeout_error = |last: &Option<SshError>| SshError::Timeout {
        addr: plan.addr.clone(),
        after: cfg.timeout,
        last: last
            .as_ref()
            .map_or_else(|| "no attempt finished".to_string(), ToString::to_string),
    };
    let mut retry = RetryState::new(cfg.handshake_attempts, cfg.retry_interval);
    let mut last: Option<SshError> = None;
    loop {
        info!(target: "ssh", addr = %plan.addr, "attempting SSH connection");
        let outcome = tokio::select! {
            r = establish(plan) => r,
            () = cancel.cancelled() => return Err(SshError::Cancelled),
            () = expired() => return Err(timeout_error(&last)),
        };
        let err = match outcome {
            Ok(conn) => return Ok(conn),
            Err(e) => e,
        };
        let kind = classify(&err);
        debug!(target: "ssh", error = %err, ?kind, attempts = retry.attempts() + 1, "SSH connection attempt failed");
        match retry.after_failure(kind) {
            Next::GiveUp => return Err(err),
            Next::RetryAfter(delay) => {
                last = Some(err);
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = cancel.cancelled() => return Err(SshError::Cancelled),
                    () = expired() => return Err(timeout_error(&last)),
                }
            }
        }
    }
}

/// Waits for the reply to a `want_reply` channel request sent before any other.
async fn expect_reply(channel: &mut Channel<Msg>, what: &str) -> Result<(), SshError> {
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Success => return Ok(()),
            ChannelMsg::Failure => return Err(SshError::RequestRejected(what.to_string())),
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    Err(SshError::Channel(format!(
        "the channel closed before the server answered the {what} request"
    )))
}

fn channel_err(what: &str) -> impl Fn(russh::Error) -> SshError + '_ {
    move |e| SshError::Channel(format!("{what}: {e}"))
}

/// An scp process running on the remote side, with our ends of its stdin and stdout.
struct ScpRun {
    writer: Box<dyn AsyncWrite + Send + Unpin>,
    reader: BufReader<DuplexStream>,
    write: Arc<ChannelWriteHalf<Msg>>,
    pump: JoinHandle<(ExitInfo, Tail)>,
}

impl ScpRun {
    /// Ends the session and merges the protocol outcome with scp's exit status.
    async fn finish<T>(self, outcome: Result<T, SshError>) -> Result<T, SshError> {
        let ScpRun {
            writer,
            reader,
            write,
            pump,
        } = self;
        drop(writer);
        drop(reader);
        let (info, tail) = if outcome.is_ok() {
            let _ = write.eof().await;
            pump.await.unwrap_or_default()
        } else {
            let _ = write.eof().await;
            let _ = write.close().await;
            match tokio::time::timeout(SCP_FAILURE_GRACE, pump).await {
                Ok(joined) => joined.unwrap_or_default(),
                Err(_) => (ExitInfo::default(), Tail::new(0)),
            }
        };
        debug!(target: "ssh", status = ?info.status, stderr = %tail.text(), "scp finished");
        let exit = match (info.status, &info.signal) {
            (Some(0), _) => None,
            (Some(127), _) => Some(ScpError::NotInstalled),
            (Some(status), _) => Some(ScpError::Exit {
                status,
                stderr: tail.text(),
            }),
            (None, Some(_)) => Some(ScpError::Exit {
                status: u32::try_from(exit_code(&info)).unwrap_or(128),
                stderr: tail.text(),
            }),
            (None, None) => Some(ScpError::Disconnected),
        };
        match (outcome, exit) {
            (Ok(v), None) => Ok(v),
            (Ok(_), Some(e)) => Err(e.into()),
            // The remote's own explanation beats "the stream ended early".
            (Err(SshError::Scp(ScpError::UnexpectedEof | ScpError::Io(_))), Some(e)) => {
                Err(e.into())
            }
            (Err(e), _) => Err(e),
        }
    }
}

impl SshCommunicator {
    /// Connects, retrying while the machine boots (see [`SshConfig`] for the knobs), and honours
    /// `pause_before_connecting` the way Packer does: connect, pause, connect again.
    pub async fn connect(cfg: SshConfig, cancel: CancellationToken) -> Result<Self, SshError> {
        let plan = ConnectPlan::new(&cfg, SystemTime::now())?;
        let mut conn = connect_with_retries(&plan, &cfg, &cancel).await?;
        if !cfg.pause_before_connecting.is_zero() {
            info!(target: "ssh", pause = ?cfg.pause_before_connecting, "pausing before connecting");
            drop(conn);
            tokio::select! {
                () = tokio::time::sleep(cfg.pause_before_connecting) => {}
                () = cancel.cancelled() => return Err(SshError::Cancelled),
            }
            conn = connect_with_retries(&plan, &cfg, &cancel).await?;
        }
        if plan.agent_forward.is_some() {
            request_agent_forwarding(&conn).await;
        }
        Ok(Self {
            cfg,
            plan,
            conn: RwLock::new(Arc::new(conn)),
            reconnect_lock: Mutex::new(()),
        })
    }

    /// The configuration this communicator was built from.
    pub fn config(&self) -> &SshConfig {
        &self.cfg
    }

    /// Says goodbye to the server; later calls will reconnect.
    pub async fn close(&self) {
        let conn = self.conn.read().await.clone();
        let _ = conn
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }

    async fn reconnect(&self, failed: &Arc<Connection>) -> Result<Arc<Connection>, SshError> {
        let _guard = self.reconnect_lock.lock().await;
        let current = self.conn.read().await.clone();
        if !Arc::ptr_eq(&current, failed) {
            return Ok(current);
        }
        warn!(target: "ssh", addr = %self.plan.addr, "reconnecting to SSH");
        let fresh = Arc::new(establish(&self.plan).await?);
        if self.plan.agent_forward.is_some() {
            request_agent_forwarding(&fresh).await;
        }
        *self.conn.write().await = fresh.clone();
        Ok(fresh)
    }

    /// A new session channel; on failure, reconnect once and retry (Go's `newSession`).
    async fn open_channel(&self) -> Result<Channel<Msg>, SshError> {
        let conn = self.conn.read().await.clone();
        match conn.handle.channel_open_session().await {
            Ok(channel) => return Ok(channel),
            Err(e) => {
                warn!(target: "ssh", error = %e, "ssh session open error, attempting reconnect")
            }
        }
        let conn = self.reconnect(&conn).await?;
        conn.handle
            .channel_open_session()
            .await
            .map_err(channel_err("opening a session"))
    }

    /// Starts `cmd` and returns once the server accepted it; the receiver yields the exit status
    /// (Packer's conventions: 128+signal, or 2300218 when the connection dropped first). Output
    /// writers are flushed and shut down before the status is sent.
    pub async fn start(&self, cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, SshError> {
        let mut channel = self.open_channel().await?;
        if self.cfg.pty {
            channel
                .request_pty(true, "xterm", 80, 40, 0, 0, &PTY_MODES)
                .await
                .map_err(channel_err("requesting a pty"))?;
            expect_reply(&mut channel, "pty").await?;
        }
        debug!(target: "ssh", command = %cmd.command, "starting remote command");
        // Go sends the command with a trailing newline (`session.Start(cmd.Command + "\n")`).
        channel
            .exec(true, format!("{}\n", cmd.command))
            .await
            .map_err(channel_err("sending exec"))?;
        let (mut read, write) = channel.split();
        let write = Arc::new(write);
        let (started_tx, started_rx) = oneshot::channel();
        let (go_tx, go_rx) = oneshot::channel::<()>();
        let (exit_tx, exit_rx) = oneshot::channel();
        let stdin_task = tokio::spawn(feed_stdin(write.clone(), cmd.stdin, go_rx));
        let mut stdout = cmd.stdout.unwrap_or_else(|| Box::new(tokio::io::sink()));
        let mut stderr = cmd.stderr.unwrap_or_else(|| Box::new(tokio::io::sink()));
        let command = cmd.command;
        tokio::spawn(async move {
            let info = pump(&mut read, Some(started_tx), &mut stdout, &mut stderr).await;
            stdin_task.abort();
            let _ = stdout.shutdown().await;
            let _ = stderr.shutdown().await;
            let code = exit_code(&info);
            if info.status.is_none() && info.signal.is_none() {
                warn!(target: "ssh", %command, "remote command exited without exit status or exit signal");
            } else if code != 0 {
                info!(target: "ssh", %command, code, signal = ?info.signal, "remote command exited non-zero");
            }
            let _ = exit_tx.send(code);
        });
        match started_rx.await {
            Ok(RequestReply::Accepted) => {
                let _ = go_tx.send(());
                Ok(exit_rx)
            }
            Ok(RequestReply::Rejected) => {
                let _ = write.close().await;
                Err(SshError::RequestRejected("exec".into()))
            }
            Ok(RequestReply::Closed) | Err(_) => Err(SshError::Channel(
                "the connection closed before the command started".into(),
            )),
        }
    }

    async fn sftp(&self) -> Result<russh_sftp::client::SftpSession, SshError> {
        let mut channel = self.open_channel().await?;
        channel
            .request_subsystem(true, "sftp")
            .await
            .map_err(channel_err("requesting the sftp subsystem"))?;
        expect_reply(&mut channel, "sftp subsystem").await?;
        let config = russh_sftp::client::Config {
            request_timeout_secs: 120,
            ..Default::default()
        };
        russh_sftp::client::SftpSession::new_with_config(channel.into_stream(), config)
            .await
            .map_err(|e| SshError::Sftp {
                op: "start",
                path: String::new(),
                reason: e.to_string(),
            })
    }

    async fn scp_start(&self, command: String) -> Result<ScpRun, SshError> {
        let channel = self.open_channel().await?;
        debug!(target: "ssh", %command, "starting remote scp");
        channel
            .exec(true, command)
            .await
            .map_err(channel_err("starting scp"))?;
        let (mut read, write) = channel.split();
        let write = Arc::new(write);
        let (pipe_in, pipe_out) = tokio::io::duplex(SCP_PIPE);
        let (started_tx, started_rx) = oneshot::channel();
        let pump = tokio::spawn(async move {
            let mut stdout = pipe_in;
            let mut tail = Tail::new(STDERR_TAIL);
            let info = pump(&mut read, Some(started_tx), &mut stdout, &mut tail).await;
            (info, tail)
        });
        match started_rx.await {
            Ok(RequestReply::Accepted) => Ok(ScpRun {
                writer: Box::new(write.make_writer()),
                reader: BufReader::with_capacity(scp::COPY_BUF, pipe_out),
                write,
                pump,
            }),
            Ok(RequestReply::Rejected) => {
                let _ = write.close().await;
                Err(SshError::RequestRejected("exec scp".into()))
            }
            Ok(RequestReply::Closed) | Err(_) => Err(ScpError::Disconnected.into()),
        }
    }

    /// Writes `data` to the remote file `dst`. With scp the size must be known up front: from
    /// `info` for a regular file, otherwise the data is spooled to a local temporary file first
    /// (Packer does the same); sftp streams directly.
    pub async fn upload(
        &self,
        dst: &str,
        mut data: BoxReader,
        info: Option<FileInfo>,
    ) -> Result<(), SshError> {
        let regular = info.as_ref().and_then(FileInfo::regular);
        debug!(target: "ssh", %dst, ?regular, "upload");
        match self.cfg.file_transfer_method {
            FileTransferMethod::Sftp => {
                let sftp = self.sftp().await?;
                let result =
                    sftp::upload(&sftp, dst, &mut data, regular.map(|(mode, _)| mode)).await;
                let _ = sftp.close().await;
                result.map(drop)
            }
            FileTransferMethod::Scp => {
                let (mode, size, mut source, _spool) = match regular {
                    Some((mode, size)) => (mode, size, data, None),
                    None => {
                        let (file, size, spool) = spool(&mut data).await?;
                        (0o644, size, Box::new(file) as BoxReader, Some(spool))
                    }
                };
                let target_dir = rpath::dir(dst);
                let name = rpath::base(dst);
                let mut run = self
                    .scp_start(format!("scp -vt {}", rpath::shell_quote(&target_dir)))
                    .await?;
                let outcome = scp::send_file(
                    &mut run.writer,
                    &mut run.reader,
                    &name,
                    mode,
                    size,
                    &mut source,
                )
                .await;
                run.finish(outcome).await
            }
        }
    }

    /// Uploads the local directory `src` into the remote directory `dst` (trailing-slash rule and
    /// excludes as described in [`crate::tree`]).
    pub async fn upload_dir(
        &self,
        dst: &str,
        src: &str,
        exclude: &[String],
    ) -> Result<(), SshError> {
        let excludes = Excludes::new(exclude)?;
        let src_owned = src.to_string();
        let plan = tokio::task::spawn_blocking(move || tree::plan(&src_owned, &excludes))
            .await
            .map_err(|e| SshError::Channel(format!("directory walk task failed: {e}")))??;
        debug!(target: "ssh", %src, %dst, entries = plan.len(), "upload dir");
        match self.cfg.file_transfer_method {
            FileTransferMethod::Sftp => {
                let sftp = self.sftp().await?;
                let result = sftp::upload_tree(&sftp, dst, &plan).await;
                let _ = sftp.close().await;
                result
            }
            FileTransferMethod::Scp => {
                let mut run = self
                    .scp_start(format!("scp -rvt {}", rpath::shell_quote(dst)))
                    .await?;
                let outcome = scp::send_tree(&mut run.writer, &mut run.reader, &plan).await;
                run.finish(outcome).await
            }
        }
    }

    /// Streams the remote file `src` into `out`, then shuts `out` down.
    pub async fn download(&self, src: &str, mut out: BoxWriter) -> Result<(), SshError> {
        debug!(target: "ssh", %src, "download");
        let result = match self.cfg.file_transfer_method {
            FileTransferMethod::Sftp => {
                let sftp = self.sftp().await?;
                let result = sftp::download(&sftp, src, &mut out).await;
                let _ = sftp.close().await;
                result.map(drop)
            }
            FileTransferMethod::Scp => {
                let mut run = self
                    .scp_start(format!("scp -vf {}", rpath::shell_quote(src)))
                    .await?;
                let outcome = scp::receive_file(&mut run.writer, &mut run.reader, &mut out).await;
                run.finish(outcome).await.map(drop)
            }
        };
        let closed = out.shutdown().await.map_err(|source| SshError::Stream {
            what: "closing the download target",
            source,
        });
        result.and(closed)
    }

    /// Downloads the remote directory `src` into the local directory `dst` (creating
    /// `dst/<name of src>`), skipping excluded paths. Always scp, as in the Go communicator.
    pub async fn download_dir(
        &self,
        src: &str,
        dst: &str,
        exclude: &[String],
    ) -> Result<(), SshError> {
        let excludes = Excludes::new(exclude)?;
        debug!(target: "ssh", %src, %dst, "download dir");
        let mut run = self
            .scp_start(format!("scp -vrf {}", rpath::shell_quote(src)))
            .await?;
        let outcome = scp::receive_tree(
            &mut run.writer,
            &mut run.reader,
            std::path::Path::new(dst),
            &excludes,
        )
        .await;
        run.finish(outcome).await
    }
}

/// Feeds the command's stdin once the exec was accepted, then sends EOF (Go sends EOF at once
/// when there is no stdin).
async fn feed_stdin(
    write: Arc<ChannelWriteHalf<Msg>>,
    stdin: Option<BoxReader>,
    go: oneshot::Receiver<()>,
) {
    if go.await.is_err() {
        return;
    }
    if let Some(mut reader) = stdin {
        let mut writer = write.make_writer();
        if let Err(e) = tokio::io::copy(&mut reader, &mut writer).await {
            debug!(target: "ssh", error = %e, "stdin copy ended with an error");
        }
    }
    let _ = write.eof().await;
}

/// Copies a stream of unknown length to a temporary file (in `TMPDIR`, deleted on drop) to
/// learn its size, and returns it rewound.
async fn spool(
    data: &mut BoxReader,
) -> Result<(tokio::fs::File, u64, tempfile::TempPath), SshError> {
    let named = tempfile::Builder::new()
        .prefix("packer-upload")
        .tempfile()
        .map_err(|source| SshError::LocalIo {
            op: "create temporary file for upload",
            path: std::env::temp_dir(),
            source,
        })?;
    let (file, path) = named.into_parts();
    let local = |op, source| SshError::LocalIo {
        op,
        path: path.to_path_buf(),
        source,
    };
    let mut file = tokio::fs::File::from_std(file);
    let size = tokio::io::copy(data, &mut file).await.map_err(|e| {
        local(
            "copy upload data into temporary file (check TMPDIR has space)",
            e,
        )
    })?;
    file.flush()
        .await
        .map_err(|e| local("flush temporary file", e))?;
    use tokio::io::AsyncSeekExt;
    file.rewind()
        .await
        .map_err(|e| local("rewind temporary file", e))?;
    Ok((file, size, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_info_regular_follows_go_mode_bits() {
        let fi = |mode, size| FileInfo {
            name: "f".into(),
            size,
            mode,
            mod_time: None,
        };
        assert_eq!(fi(0o644, 10).regular(), Some((0o644, 10)));
        // setuid (1<<23) is not a type bit, but Perm() drops it.
        assert_eq!(fi((1 << 23) | 0o755, 1).regular(), Some((0o755, 1)));
        assert_eq!(fi((1 << 31) | 0o755, 0).regular(), None, "directory");
        assert_eq!(fi((1 << 27) | 0o777, 0).regular(), None, "symlink");
        assert_eq!(fi(0o644, -1).regular(), None, "unknown size");
    }

    #[tokio::test]
    async fn spool_measures_and_rewinds() {
        let mut data: BoxReader = Box::new(&b"0123456789"[..]);
        let (mut file, size, path) = spool(&mut data).await.unwrap();
        assert_eq!(size, 10);
        let mut back = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut file, &mut back)
            .await
            .unwrap();
        assert_eq!(back, b"0123456789");
        let p = path.to_path_buf();
        drop(path);
        assert!(!p.exists(), "the spool file is removed");
    }
}
