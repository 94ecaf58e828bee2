//! Errors, each naming the operation and the root cause; none ever carries the password.

use std::time::Duration;

use crate::ntlm::NtlmError;
use crate::wsman::response::ReplyError;

/// Everything that can go wrong talking WinRM.
#[derive(Debug, thiserror::Error)]
pub enum WinRmError {
    /// A bad option value (Packer's message where it has one).
    #[error("{0}")]
    Config(String),
    /// TCP connect, TLS handshake or proxy tunnel failed.
    #[error("connecting to {addr}: {reason}")]
    Connect {
        /// `host:port` dialled (or the proxy).
        addr: String,
        /// Root cause.
        reason: String,
    },
    /// The server refused our credentials.
    #[error("WinRM authentication failed for user {user:?} ({scheme}): HTTP 401 from {endpoint}; check winrm_username/winrm_password{hint}")]
    Unauthorized {
        /// The user name tried.
        user: String,
        /// `Basic` or `NTLM`.
        scheme: &'static str,
        /// The endpoint URL.
        endpoint: String,
        /// A hint about what the server offered, if it differs.
        hint: String,
    },
    /// The NTLM handshake broke (garbage challenge, unsupported flags).
    #[error("NTLM handshake with {endpoint}: {source}")]
    Ntlm {
        /// The endpoint URL.
        endpoint: String,
        /// What was wrong with the server's message.
        source: NtlmError,
    },
    /// An HTTP-level failure: connection dropped, unexpected status, body too large.
    #[error("WinRM {operation} on {endpoint}: {reason}")]
    Http {
        /// The WS-Man operation (Create, Command, Receive...).
        operation: &'static str,
        /// The endpoint URL.
        endpoint: String,
        /// Root cause.
        reason: String,
    },
    /// The server answered, but with a fault or something unusable.
    #[error("WinRM {operation} on {endpoint}: {source}")]
    Reply {
        /// The WS-Man operation.
        operation: &'static str,
        /// The endpoint URL.
        endpoint: String,
        /// The fault or parse error.
        source: Box<ReplyError>,
    },
    /// `connect` ran out of `winrm_timeout`.
    #[error("timeout waiting for WinRM on {endpoint} after {after:?}; last error: {last}")]
    Timeout {
        /// The endpoint URL.
        endpoint: String,
        /// `winrm_timeout`.
        after: Duration,
        /// The last attempt's error.
        last: String,
    },
    /// The build was cancelled.
    #[error("cancelled while waiting for WinRM")]
    Cancelled,
    /// A file transfer failed on the remote side or locally.
    #[error("{0}")]
    Transfer(String),
    /// Reading or writing a local file.
    #[error("{what} {path}: {source}")]
    Io {
        /// What we were doing.
        what: &'static str,
        /// The local path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
}

impl WinRmError {
    /// True for failures of the connection itself (worth a fresh connection or a retry later),
    /// false for answers the server gave on purpose.
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Http { .. })
    }
}
