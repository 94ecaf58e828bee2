//! WS-Man operations over the transport, and the life of one command: start, stream stdin and
//! output, then always Signal terminate and Delete the shell (Windows allows 30 shells per user,
//! so a leaked shell is a later failure).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::{debug, trace, warn};

use crate::error::WinRmError;
use crate::transport::Transport;
use crate::wsman::envelope::{self, HeaderParams, Request};
use crate::wsman::response::{self, ReplyError};
use crate::{BoxReader, BoxWriter};

/// The endpoint plus the header values every request repeats.
pub(crate) struct Session {
    pub transport: Arc<Transport>,
    pub params: HeaderParams,
}

impl Session {
    fn reply_error(&self, operation: &'static str, source: ReplyError) -> WinRmError {
        WinRmError::Reply {
            operation,
            endpoint: self.transport.endpoint().to_string(),
            source: Box::new(source),
        }
    }

    async fn call(
        &self,
        operation: &'static str,
        request: &Request<'_>,
    ) -> Result<String, WinRmError> {
        let (xml, id) = envelope::build(request, &self.params);
        trace!(target: "winrm", operation, message_id = %id, bytes = xml.len(), "WS-Man request");
        Ok(self.transport.post(operation, xml).await?.body)
    }

    /// Creates a cmd shell and returns its id.
    pub(crate) async fn create_shell(&self) -> Result<String, WinRmError> {
        let body = self.call("Create shell", &Request::CreateShell).await?;
        response::parse_shell_created(&body).map_err(|e| self.reply_error("Create shell", e))
    }

    /// Starts `command` in `shell`.
    pub(crate) async fn start(
        &self,
        shell: &str,
        command: &str,
        console_stdin: bool,
    ) -> Result<String, WinRmError> {
        let body = self
            .call(
                "Command",
                &Request::Command {
                    shell,
                    command,
                    arguments: &[],
                    console_stdin,
                },
            )
            .await?;
        response::parse_command_started(&body).map_err(|e| self.reply_error("Command", e))
    }

    /// One Receive; a timeout fault (no output within OperationTimeout) is an empty reply.
    pub(crate) async fn receive(
        &self,
        shell: &str,
        command: &str,
    ) -> Result<response::Received, WinRmError> {
        let body = self
            .call("Receive", &Request::Receive { shell, command })
            .await?;
        match response::parse_received(&body) {
            Ok(r) => Ok(r),
            Err(ReplyError::Fault(f)) if f.is_operation_timeout() => {
                trace!(target: "winrm", "Receive timed out with no output; asking again");
                Ok(response::Received::default())
            }
            Err(e) => Err(self.reply_error("Receive", e)),
        }
    }

    /// Sends stdin bytes (`end` closes stdin).
    pub(crate) async fn send(
        &self,
        shell: &str,
        command: &str,
        data: &[u8],
        end: bool,
    ) -> Result<(), WinRmError> {
        let body = self
            .call(
                "Send",
                &Request::Send {
                    shell,
                    command,
                    data,
                    end,
                },
            )
            .await?;
        response::parse_ack(&body).map_err(|e| self.reply_error("Send", e))
    }

    async fn signal(&self, shell: &str, command: &str) -> Result<(), WinRmError> {
        let body = self
            .call("Signal", &Request::Signal { shell, command })
            .await?;
        response::parse_ack(&body).map_err(|e| self.reply_error("Signal", e))
    }

    /// Deletes `shell`.
    pub(crate) async fn delete_shell(&self, shell: &str) -> Result<(), WinRmError> {
        let body = self
            .call("Delete shell", &Request::DeleteShell { shell })
            .await?;
        response::parse_ack(&body).map_err(|e| self.reply_error("Delete shell", e))
    }

    /// Largest raw stdin chunk per Send.
    pub(crate) fn max_send_chunk(&self) -> usize {
        envelope::max_send_chunk(self.params.max_envelope)
    }
}

/// A started command (its shell is ours alone).
pub(crate) struct Started {
    pub session: Arc<Session>,
    pub shell: String,
    pub command: String,
}

/// Creates a shell and starts `command` in it; on failure the shell is deleted.
pub(crate) async fn start(
    session: Arc<Session>,
    command: &str,
    console_stdin: bool,
) -> Result<Started, WinRmError> {
    let shell = session.create_shell().await?;
    match session.start(&shell, command, console_stdin).await {
        Ok(id) => Ok(Started {
            session,
            shell,
            command: id,
        }),
        Err(e) => {
            if let Err(del) = session.delete_shell(&shell).await {
                debug!(target: "winrm", error = %del, "deleting the shell of a command that did not start");
            }
            Err(e)
        }
    }
}

/// Where output goes; a writer that failed (Packer stopped reading) is dropped, output continues.
pub(crate) struct Sink(Option<BoxWriter>);

impl Sink {
    pub(crate) fn new(w: Option<BoxWriter>) -> Self {
        Self(w)
    }

    async fn write(&mut self, data: &[u8]) {
        if let Some(w) = self.0.as_mut() {
            if let Err(e) = w.write_all(data).await {
                debug!(target: "winrm", error = %e, "output reader went away; discarding the rest");
                self.0 = None;
            }
        }
    }

    pub(crate) async fn close(&mut self) {
        if let Some(mut w) = self.0.take() {
            let _ = w.flush().await;
            let _ = w.shutdown().await;
        }
    }
}

/// Anything that wants output chunks as they come (a [`Sink`] pair, or a transfer's decoder).
pub(crate) trait Output: Send {
    /// A chunk of stdout (`stderr` false) or stderr.
    fn chunk(&mut self, stderr: bool, data: &[u8]) -> impl std::future::Future<Output = ()> + Send;
}

/// stdout and stderr sinks.
pub(crate) struct Sinks {
    pub stdout: Sink,
    pub stderr: Sink,
}

impl Output for Sinks {
    async fn chunk(&mut self, stderr: bool, data: &[u8]) {
        if stderr {
            self.stderr.write(data).await;
        } else {
            self.stdout.write(data).await;
        }
    }
}

/// How a command ended.
pub(crate) struct Finished {
    /// Its exit code.
    pub exit: i64,
    /// Bytes of stdin sent, when stdin was given and fully sent before the command ended.
    pub fed: Option<u64>,
}

impl Started {
    /// Streams stdin and output until the command is Done, then cleans up. Returns the exit
    /// code, or the error that cut the command off (a failed stdin Send ends it too).
    pub(crate) async fn finish<O: Output>(
        self,
        stdin: Option<StdinSource>,
        output: &mut O,
    ) -> Result<Finished, WinRmError> {
        let mut feeder = stdin.map(|src| {
            let session = self.session.clone();
            let shell = self.shell.clone();
            let command = self.command.clone();
            tokio::spawn(async move { src.feed(&session, &shell, &command).await })
        });
        let mut fed = None;
        let result = 'outer: loop {
            // The in-flight Receive must survive the feeder finishing: its reply may already
            // carry output the server will not send again.
            let receive = self.session.receive(&self.shell, &self.command);
            tokio::pin!(receive);
            let received = loop {
                let Some(f) = feeder.as_mut() else {
                    break (&mut receive).await;
                };
                tokio::select! {
                    r = &mut receive => break r,
                    joined = f => {
                        feeder = None;
                        match joined {
                            Ok(Ok(n)) => fed = Some(n),
                            Ok(Err(e)) => break 'outer Err(e),
                            Err(e) => break 'outer Err(WinRmError::Transfer(format!("sending stdin: {e}"))),
                        }
                    }
                }
            };
            match received {
                Err(e) => break Err(e),
                Ok(r) => {
                    for c in &r.chunks {
                        output.chunk(c.stderr, &c.data).await;
                    }
                    if let Some(exit) = r.done {
                        break Ok(exit);
                    }
                }
            }
        };
        if let Some(mut f) = feeder {
            if result.is_ok() {
                // The command ended; its last Send may still be awaiting its reply.
                match tokio::time::timeout(Duration::from_secs(30), &mut f).await {
                    Ok(Ok(Ok(n))) => fed = Some(n),
                    Ok(Ok(Err(e))) => {
                        debug!(target: "winrm", error = %e, "stdin was cut short by the command's end")
                    }
                    _ => f.abort(),
                }
            } else {
                f.abort();
            }
        }
        self.cleanup(result.is_ok()).await;
        result.map(|exit| Finished { exit, fed })
    }

    /// Signal terminate and Delete, best effort (after a dropped connection they may fail too).
    async fn cleanup(&self, log_failures: bool) {
        if let Err(e) = self.session.signal(&self.shell, &self.command).await {
            if log_failures {
                warn!(target: "winrm", error = %e, "terminating a finished command failed");
            }
        }
        if let Err(e) = self.session.delete_shell(&self.shell).await {
            if log_failures {
                warn!(target: "winrm", error = %e, "deleting the command's shell failed");
            }
        }
    }
}

/// Where stdin comes from.
pub(crate) enum StdinSource {
    /// Bytes as they are, chunked to the envelope limit.
    Raw(BoxReader),
    /// Bytes turned into base64 lines (what our upload script reads).
    Base64Lines(BoxReader),
}

impl StdinSource {
    async fn feed(self, session: &Session, shell: &str, command: &str) -> Result<u64, WinRmError> {
        let max = session.max_send_chunk();
        let mut total = 0u64;
        match self {
            Self::Raw(mut r) => {
                let mut buf = vec![0u8; max];
                loop {
                    let n = read_full(&mut r, &mut buf).await?;
                    let data = buf.get(..n).unwrap_or_default();
                    let end = n < buf.len();
                    session.send(shell, command, data, end).await?;
                    total += n as u64;
                    if end {
                        return Ok(total);
                    }
                }
            }
            Self::Base64Lines(mut r) => {
                use base64::Engine as _;
                // One line per Send: raw block whose base64 plus newline fills the chunk.
                let block = max.saturating_sub(2) / 4 * 3;
                let mut buf = vec![0u8; block.max(3)];
                let mut line = String::with_capacity(max);
                loop {
                    let n = read_full(&mut r, &mut buf).await?;
                    line.clear();
                    base64::engine::general_purpose::STANDARD
                        .encode_string(buf.get(..n).unwrap_or_default(), &mut line);
                    let end = n < buf.len();
                    if n > 0 {
                        line.push('\n');
                    }
                    session.send(shell, command, line.as_bytes(), end).await?;
                    total += n as u64;
                    if end {
                        return Ok(total);
                    }
                }
            }
        }
    }
}

/// Fills `buf` unless EOF comes first; returns the bytes read.
async fn read_full(r: &mut BoxReader, buf: &mut [u8]) -> Result<usize, WinRmError> {
    let mut filled = 0;
    while filled < buf.len() {
        let slot = buf.get_mut(filled..).unwrap_or_default();
        let n = r.read(slot).await.map_err(|e| WinRmError::Io {
            what: "reading data to send",
            path: "stdin".into(),
            source: e,
        })?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}
