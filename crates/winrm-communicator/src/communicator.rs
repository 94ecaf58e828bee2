//! [`WinRmCommunicator`]: connect (with retries while Windows boots), run commands, move files.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::WinRmConfig;
use crate::error::WinRmError;
use crate::powershell;
use crate::session::{self, Output, Session, Sink, Sinks, StdinSource};
use crate::transport::Transport;
use crate::wsman::envelope::HeaderParams;
use crate::{BoxReader, BoxWriter, CMD_DISCONNECT};

/// A command to run: Packer's `RemoteCmd`. Missing streams mean "no input" / "discard".
pub struct RemoteCommand {
    /// The command line, run by cmd.exe (as WinRM's cmd shell does).
    pub command: String,
    /// Sent to the command's stdin until EOF.
    pub stdin: Option<BoxReader>,
    /// Receives stdout; shut down when the command ends.
    pub stdout: Option<BoxWriter>,
    /// Receives stderr; shut down when the command ends.
    pub stderr: Option<BoxWriter>,
}

impl fmt::Debug for RemoteCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteCommand")
            .field("command", &self.command)
            .field("stdin", &self.stdin.is_some())
            .finish()
    }
}

/// What Packer knows of an uploaded file; only the name is used (for `dst` ending in `\`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Base name of the source file.
    pub name: String,
    /// Size in bytes (negative: unknown).
    pub size: i64,
}

/// Packer's WinRM communicator. Every command gets its own shell (created, used, terminated and
/// deleted), so concurrent commands and a machine restart between commands just work.
pub struct WinRmCommunicator {
    cfg: WinRmConfig,
    session: Arc<Session>,
}

impl fmt::Debug for WinRmCommunicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WinRmCommunicator")
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// The text Packer's connect check prints (and looks for).
const CONNECTED: &str = "WinRM connected.";

impl WinRmCommunicator {
    /// Prepares a communicator without contacting the machine.
    pub fn new(cfg: WinRmConfig) -> Result<Self, WinRmError> {
        cfg.validate()?;
        let transport = Transport::new(&cfg)?;
        let session = Arc::new(Session {
            transport,
            params: HeaderParams {
                to: cfg.endpoint(),
                max_envelope: cfg.max_envelope,
                operation_timeout: cfg.operation_timeout,
                locale: "en-US".into(),
            },
        });
        Ok(Self { cfg, session })
    }

    /// Connects like Packer's `StepConnectWinRM`: until `winrm_timeout` runs out, try to open
    /// (and close) a shell, then run a PowerShell echo and expect its text back; pause
    /// `retry_interval` between attempts. Cancelling `cancel` stops at once.
    pub async fn connect(cfg: WinRmConfig, cancel: CancellationToken) -> Result<Self, WinRmError> {
        let comm = Self::new(cfg)?;
        let deadline = tokio::time::Instant::now() + comm.cfg.timeout;
        let mut last: Option<WinRmError> = None;
        loop {
            info!(target: "winrm", endpoint = %comm.cfg.endpoint(), user = %comm.cfg.username, "attempting WinRM connection");
            let attempt = tokio::select! {
                r = comm.check() => r,
                () = cancel.cancelled() => return Err(WinRmError::Cancelled),
                () = tokio::time::sleep_until(deadline) => Err(comm.timeout_error(last.take())),
            };
            match attempt {
                Ok(()) => {
                    info!(target: "winrm", "connected to WinRM");
                    return Ok(comm);
                }
                Err(e @ WinRmError::Timeout { .. }) => return Err(e),
                Err(e) => {
                    match &e {
                        WinRmError::Unauthorized { .. } => {
                            warn!(target: "winrm", error = %e, "WinRM refused the credentials; retrying (Windows may not have set the password yet)")
                        }
                        _ => debug!(target: "winrm", error = %e, "WinRM not available yet"),
                    }
                    last = Some(e);
                }
            }
            comm.session.transport.reset().await;
            tokio::select! {
                () = tokio::time::sleep(comm.cfg.retry_interval) => {}
                () = cancel.cancelled() => return Err(WinRmError::Cancelled),
                () = tokio::time::sleep_until(deadline) => return Err(comm.timeout_error(last)),
            }
        }
    }

    fn timeout_error(&self, last: Option<WinRmError>) -> WinRmError {
        WinRmError::Timeout {
            endpoint: self.cfg.endpoint(),
            after: self.cfg.timeout,
            last: last.map_or_else(|| "no attempt finished".into(), |e| e.to_string()),
        }
    }

    /// One connection check: a shell opens and closes, and PowerShell answers.
    async fn check(&self) -> Result<(), WinRmError> {
        let shell = self.session.create_shell().await?;
        self.session.delete_shell(&shell).await?;
        let script = format!(
            "if (Test-Path variable:global:ProgressPreference){{$ProgressPreference='SilentlyContinue'}}; echo \"{CONNECTED}\""
        );
        let (code, stdout, stderr) = self.run(&powershell::encoded_command(&script)).await?;
        if String::from_utf8_lossy(&stdout).contains(CONNECTED) {
            Ok(())
        } else {
            Err(WinRmError::Transfer(format!(
                "the connection check printed {:?} (exit {code}, stderr {:?}), not {CONNECTED:?}",
                String::from_utf8_lossy(&stdout),
                String::from_utf8_lossy(&stderr)
            )))
        }
    }

    /// The options in use.
    pub fn config(&self) -> &WinRmConfig {
        &self.cfg
    }

    /// Starts `cmd` and returns once it runs; the receiver yields its exit code, or
    /// [`CMD_DISCONNECT`] when the connection broke before it finished (a restart, say).
    pub async fn start(&self, cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, WinRmError> {
        info!(target: "winrm", command = %cmd.command, "starting remote command");
        let started = session::start(self.session.clone(), &cmd.command, true).await?;
        let (tx, rx) = oneshot::channel();
        let stdin = cmd.stdin.map(StdinSource::Raw);
        let mut sinks = Sinks {
            stdout: Sink::new(cmd.stdout),
            stderr: Sink::new(cmd.stderr),
        };
        let line = cmd.command;
        tokio::spawn(async move {
            let status = match started.finish(stdin, &mut sinks).await {
                Ok(f) => {
                    info!(target: "winrm", command = %line, exit = f.exit, "remote command exited");
                    f.exit
                }
                Err(e) => {
                    warn!(target: "winrm", command = %line, error = %e, "lost the remote command; reporting a disconnect");
                    CMD_DISCONNECT
                }
            };
            sinks.stdout.close().await;
            sinks.stderr.close().await;
            let _ = tx.send(status);
        });
        Ok(rx)
    }

    /// Runs `command` to completion and returns (exit code, stdout, stderr), each output
    /// capped at 1 MiB.
    pub async fn run(&self, command: &str) -> Result<(i64, Vec<u8>, Vec<u8>), WinRmError> {
        let started = session::start(self.session.clone(), command, true).await?;
        let mut out = Collect::new(1024 * 1024);
        let f = started.finish(None, &mut out).await?;
        Ok((f.exit, out.stdout, out.stderr))
    }

    /// Writes `data` to the file `dst` on the machine (creating its directory); a `dst` ending
    /// in `\` or `/` gets the source's base name from `info`. Returns the bytes written.
    ///
    /// The bytes travel as base64 lines on the stdin of one PowerShell process, one line per
    /// Send envelope sized to MaxEnvelopeSize, instead of Packer's one `echo` command per 6 KB.
    pub async fn upload(
        &self,
        dst: &str,
        data: BoxReader,
        info: Option<&FileInfo>,
    ) -> Result<u64, WinRmError> {
        let dst = crate::transfer::resolve_destination(dst, info)?;
        crate::transfer::upload(&self.session, &dst, data).await
    }

    /// Copies the local directory `src` to `dst`: like Packer, `src` without a trailing `/`
    /// lands in `dst\<name of src>`, with one; its contents land in `dst`. `exclude` is ignored,
    /// as Packer's WinRM communicator ignores it.
    pub async fn upload_dir(
        &self,
        dst: &str,
        src: &str,
        exclude: &[String],
    ) -> Result<(), WinRmError> {
        if !exclude.is_empty() {
            debug!(target: "winrm", ?exclude, "exclude patterns are ignored for WinRM uploads (as in Packer)");
        }
        crate::transfer::upload_dir(&self.session, dst, src).await
    }

    /// Streams the file `src` on the machine into `out`; returns the bytes written.
    pub async fn download(&self, src: &str, out: BoxWriter) -> Result<u64, WinRmError> {
        crate::transfer::download(&self.session, src, out).await
    }

    /// Not supported, as in Packer's WinRM communicator.
    pub async fn download_dir(
        &self,
        _src: &str,
        _dst: &str,
        _exclude: &[String],
    ) -> Result<(), WinRmError> {
        Err(WinRmError::Transfer(
            "WinRM doesn't support download dir.".into(),
        ))
    }

    /// Forgets pooled connections (the next request dials afresh).
    pub async fn reset_connections(&self) {
        self.session.transport.reset().await;
    }

    /// How long connection attempts wait between tries.
    pub fn retry_interval(&self) -> Duration {
        self.cfg.retry_interval
    }
}

/// Buffers output up to a cap (the rest is dropped).
pub(crate) struct Collect {
    cap: usize,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Collect {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }
}

impl Output for Collect {
    async fn chunk(&mut self, stderr: bool, data: &[u8]) {
        let buf = if stderr {
            &mut self.stderr
        } else {
            &mut self.stdout
        };
        let room = self.cap.saturating_sub(buf.len());
        buf.extend_from_slice(data.get(..room.min(data.len())).unwrap_or_default());
    }
}
