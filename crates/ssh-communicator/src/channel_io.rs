//! Reading one session channel: the request reply, stdout, stderr and how the command ended.
//!
//! A single reader ([`pump`]) sees every channel message in order, so the exit status that
//! follows EOF is never lost (russh's own `AsyncRead` adapter stops at EOF). How the end maps to
//! Packer's exit code is the pure [`exit_code`].

use std::pin::Pin;
use std::task::{Context, Poll};

use russh::{ChannelMsg, ChannelReadHalf, Sig};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tracing::debug;

/// Packer's `packersdk.CmdDisconnect`: the exit status reported when the connection dropped
/// before the remote command reported how it ended.
pub const CMD_DISCONNECT: i64 = 2_300_218;

/// How the server answered the request (exec, subsystem) that started the channel's work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestReply {
    /// `SSH_MSG_CHANNEL_SUCCESS`.
    Accepted,
    /// `SSH_MSG_CHANNEL_FAILURE`.
    Rejected,
    /// The channel or the connection closed first.
    Closed,
}

/// What the server said about the end of the remote process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ExitInfo {
    /// `exit-status`.
    pub(crate) status: Option<u32>,
    /// `exit-signal` name without the `SIG` prefix ("TERM", "KILL"...).
    pub(crate) signal: Option<String>,
    /// `exit-signal` error message.
    pub(crate) message: String,
}

/// The exit code Packer's Go communicator reports (x/crypto/ssh `Session.Wait` plus
/// `comm.Start`): the status if one came; else 128 + the signal number for the signals Go knows
/// (128 for others); else [`CMD_DISCONNECT`].
pub(crate) fn exit_code(info: &ExitInfo) -> i64 {
    if let Some(status) = info.status {
        return i64::from(status);
    }
    match &info.signal {
        Some(name) => 128 + go_signal_number(name).unwrap_or(0),
        None => CMD_DISCONNECT,
    }
}

/// The signal table of x/crypto/ssh (`signals` in session.go): only these add their number.
fn go_signal_number(name: &str) -> Option<i64> {
    Some(match name {
        "ABRT" => 6,
        "ALRM" => 14,
        "FPE" => 8,
        "HUP" => 1,
        "ILL" => 4,
        "INT" => 2,
        "KILL" => 9,
        "PIPE" => 13,
        "QUIT" => 3,
        "SEGV" => 11,
        "TERM" => 15,
        _ => return None,
    })
}

fn signal_name(sig: &Sig) -> String {
    match sig {
        Sig::ABRT => "ABRT".into(),
        Sig::ALRM => "ALRM".into(),
        Sig::FPE => "FPE".into(),
        Sig::HUP => "HUP".into(),
        Sig::ILL => "ILL".into(),
        Sig::INT => "INT".into(),
        Sig::KILL => "KILL".into(),
        Sig::PIPE => "PIPE".into(),
        Sig::QUIT => "QUIT".into(),
        Sig::SEGV => "SEGV".into(),
        Sig::TERM => "TERM".into(),
        Sig::USR1 => "USR1".into(),
        Sig::Custom(name) => name.clone(),
    }
}

/// Reads the channel to its end: reports the first request reply through `started`, copies
/// data to `stdout` and extended data type 1 to `stderr`, and returns how the process ended.
///
/// A failing writer is dropped from then on and its output discarded, so a consumer that went
/// away never stalls the connection. Writers are flushed, not shut down.
pub(crate) async fn pump<O, E>(
    read: &mut ChannelReadHalf,
    mut started: Option<oneshot::Sender<RequestReply>>,
    stdout: &mut O,
    stderr: &mut E,
) -> ExitInfo
where
    O: AsyncWrite + Unpin + ?Sized,
    E: AsyncWrite + Unpin + ?Sized,
{
    let mut info = ExitInfo::default();
    let mut out_ok = true;
    let mut err_ok = true;
    while let Some(msg) = read.wait().await {
        match msg {
            ChannelMsg::Success => {
                if let Some(tx) = started.take() {
                    let _ = tx.send(RequestReply::Accepted);
                }
            }
            ChannelMsg::Failure => {
                if let Some(tx) = started.take() {
                    let _ = tx.send(RequestReply::Rejected);
                }
            }
            ChannelMsg::Data { data } if out_ok && !data.is_empty() => {
                if let Err(e) = stdout.write_all(&data).await {
                    debug!(target: "ssh", error = %e, "stdout consumer failed; discarding output");
                    out_ok = false;
                }
            }
            ChannelMsg::ExtendedData { data, ext } if ext == 1 && err_ok && !data.is_empty() => {
                if let Err(e) = stderr.write_all(&data).await {
                    debug!(target: "ssh", error = %e, "stderr consumer failed; discarding output");
                    err_ok = false;
                }
            }
            ChannelMsg::ExitStatus { exit_status } => info.status = Some(exit_status),
            ChannelMsg::ExitSignal {
                signal_name: sig,
                error_message,
                ..
            } => {
                info.signal = Some(signal_name(&sig));
                info.message = error_message;
            }
            ChannelMsg::Close => break,
            _ => {}
        }
    }
    if let Some(tx) = started.take() {
        let _ = tx.send(RequestReply::Closed);
    }
    if out_ok {
        let _ = stdout.flush().await;
    }
    if err_ok {
        let _ = stderr.flush().await;
    }
    info
}

/// Keeps the last `cap` bytes written: remote stderr for error messages, bounded whatever the
/// remote prints.
#[derive(Debug, Default)]
pub(crate) struct Tail {
    buf: Vec<u8>,
    cap: usize,
}

impl Tail {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap,
        }
    }

    /// The kept bytes as text, trimmed.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).trim().to_string()
    }
}

impl AsyncWrite for Tail {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let cap = self.cap;
        let keep_from = data.len().saturating_sub(cap);
        self.buf
            .extend_from_slice(data.get(keep_from..).unwrap_or_default());
        let excess = self.buf.len().saturating_sub(cap);
        if excess > 0 {
            self.buf.drain(..excess);
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(status: Option<u32>, signal: Option<&str>) -> ExitInfo {
        ExitInfo {
            status,
            signal: signal.map(String::from),
            message: String::new(),
        }
    }

    #[test]
    fn status_wins() {
        assert_eq!(exit_code(&info(Some(0), None)), 0);
        assert_eq!(exit_code(&info(Some(255), Some("TERM"))), 255);
        assert_eq!(exit_code(&info(Some(u32::MAX), None)), i64::from(u32::MAX));
    }

    #[test]
    fn signals_follow_go_table() {
        assert_eq!(exit_code(&info(None, Some("KILL"))), 137);
        assert_eq!(exit_code(&info(None, Some("TERM"))), 143);
        assert_eq!(exit_code(&info(None, Some("SEGV"))), 139);
        // Go's table has no USR1: plain 128.
        assert_eq!(exit_code(&info(None, Some("USR1"))), 128);
        assert_eq!(exit_code(&info(None, Some("WINCH"))), 128);
    }

    #[test]
    fn nothing_means_disconnect() {
        assert_eq!(exit_code(&ExitInfo::default()), 2_300_218);
    }

    #[tokio::test]
    async fn tail_keeps_the_last_bytes() {
        let mut t = Tail::new(5);
        t.write_all(b"hello ").await.unwrap();
        t.write_all(b"world").await.unwrap();
        assert_eq!(t.text(), "world");
        t.write_all(b"0123456789").await.unwrap();
        assert_eq!(t.text(), "56789");
    }
}
