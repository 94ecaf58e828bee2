//! The communicator's error type: one enum, each variant naming the thing at fault, so the
//! builder can show the user a sentence that says what to fix.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong while connecting, running commands or moving files.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// The configuration is unusable (Packer's own wording where it has one).
    #[error("invalid SSH configuration: {0}")]
    Config(String),
    /// An option this communicator does not implement.
    #[error("{0} is not supported by this SSH communicator")]
    Unsupported(&'static str),
    /// A key, certificate or other local file could not be read.
    #[error("cannot read {what} {path}: {source}")]
    ReadFile {
        /// What the file was meant to be ("private key", "certificate").
        what: &'static str,
        /// The path as configured (after `~` expansion).
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A key or certificate could not be parsed or used.
    #[error("invalid {what}: {reason}")]
    Key {
        /// Which key ("private key /path", "certificate /path", "ssh_private_key").
        what: String,
        /// Why.
        reason: String,
    },
    /// The TCP connection (direct, or to the proxy) failed; retried until the timeout.
    #[error("TCP connection to {addr} failed: {source}")]
    Dial {
        /// The address dialled.
        addr: String,
        /// The OS error.
        source: io::Error,
    },
    /// The proxy refused or broke the tunnel to the target.
    #[error("proxy {proxy} could not reach {target}: {reason}")]
    Proxy {
        /// `host:port` of the proxy.
        proxy: String,
        /// `host:port` of the SSH target.
        target: String,
        /// What the proxy said, or what was malformed.
        reason: String,
    },
    /// Connecting through the bastion failed (its own connection, auth, or the forwarded channel).
    #[error("error connecting to bastion {addr}: {source}")]
    Bastion {
        /// `host:port` of the bastion.
        addr: String,
        /// The underlying failure.
        source: Box<SshError>,
    },
    /// The SSH protocol handshake (version exchange, key exchange) failed.
    #[error("SSH handshake with {addr} failed: {reason}")]
    Handshake {
        /// `host:port` of the server.
        addr: String,
        /// The library's reason.
        reason: String,
    },
    /// The handshake did not finish in time (Packer: "Timeout during SSH handshake").
    #[error("timeout during SSH handshake with {addr} after {after:?}")]
    HandshakeTimeout {
        /// `host:port` of the server.
        addr: String,
        /// The per-attempt limit.
        after: Duration,
    },
    /// Every configured authentication method was refused; counts toward `ssh_handshake_attempts`.
    #[error(
        "unable to authenticate as {user:?} on {addr}: attempted methods [{tried}], no supported methods remain. \
         Check the username, password and keys"
    )]
    Auth {
        /// The user name offered.
        user: String,
        /// `host:port` of the server.
        addr: String,
        /// The methods tried, comma separated.
        tried: String,
    },
    /// `ssh_timeout` elapsed before a connection succeeded.
    #[error("timeout waiting for SSH on {addr} after {after:?} (last error: {last})")]
    Timeout {
        /// `host:port` of the server.
        addr: String,
        /// The configured `ssh_timeout`.
        after: Duration,
        /// The last attempt's failure, or "no attempt finished".
        last: String,
    },
    /// The caller's cancellation token fired.
    #[error("SSH wait cancelled")]
    Cancelled,
    /// The local SSH agent could not be reached or used.
    #[error("SSH agent: {0}")]
    Agent(String),
    /// A channel could not be opened, or the connection broke under it.
    #[error("SSH channel: {0}")]
    Channel(String),
    /// The server answered "failure" to a channel request (exec, pty, subsystem).
    #[error("the SSH server refused the {0} request")]
    RequestRejected(String),
    /// The scp protocol failed.
    #[error(transparent)]
    Scp(#[from] crate::scp::ScpError),
    /// An sftp operation failed.
    #[error("sftp {op} {path}: {reason}")]
    Sftp {
        /// The operation (open, create, write, mkdir, chmod...).
        op: &'static str,
        /// The remote path.
        path: String,
        /// The server's status or the transport error.
        reason: String,
    },
    /// Reading or writing a local file or directory failed.
    #[error("{op} {path}: {source}")]
    LocalIo {
        /// The operation.
        op: &'static str,
        /// The local path.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Reading the caller's data stream or writing to the caller's sink failed.
    #[error("{what}: {source}")]
    Stream {
        /// Which stream.
        what: &'static str,
        /// The I/O error.
        source: io::Error,
    },
}

impl SshError {
    /// True for failures that mean "the credentials were refused": Packer counts only those
    /// toward `ssh_handshake_attempts` (it greps the error text for "authenticate").
    pub fn is_auth_failure(&self) -> bool {
        matches!(self, Self::Auth { .. })
    }
}
