//! Packer's WinRM communicator, in Rust.
//!
//! Provisioners (`powershell`, `windows-shell`, `file`, `windows-restart`) reach a Windows
//! machine through a communicator; this crate implements the WinRM one with the option set
//! Packer users write (`winrm_*` keys) and the behaviour of Packer's Go communicator: one cmd
//! shell per command (created, used, terminated with a signal and deleted), output streamed as
//! it comes, Receive timeouts retried, a connect loop bounded by `winrm_timeout`, Basic or
//! NTLMv2 over HTTP or HTTPS, and the environment's proxy unless `winrm_no_proxy`.
//!
//! # Layout
//! - [`wsman`] and [`ntlm`]: sans-IO protocol code (envelopes in and out, NTLM messages).
//! - `transport`, `stream`, `tls`, `proxy`: the thin HTTP driver over our own connections.
//! - `session`: WS-Man operations and the life of one command.
//! - `transfer` and [`powershell`]: uploads through a PowerShell process's stdin (one Send
//!   envelope per ~82 KiB instead of one command per 6 KB), downloads as base64 lines.
//! - [`WinRmCommunicator`]: what the builder calls.
//!
//! Not implemented: message encryption over HTTP (Packer's client has none either; the host
//! needs `AllowUnencrypted` for HTTP), Kerberos, client certificates, `DownloadDir` (Packer
//! refuses it too).

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod communicator;
mod config;
mod error;
pub mod ntlm;
pub mod powershell;
mod proxy;
#[cfg(feature = "rpc")]
mod rpc;
mod session;
mod stream;
mod tls;
mod transfer;
mod transport;
pub mod wsman;

pub use communicator::{FileInfo, RemoteCommand, WinRmCommunicator};
pub use config::WinRmConfig;
pub use error::WinRmError;
pub use tokio_util::sync::CancellationToken;

/// A byte source handed to the communicator (stdin, upload data).
pub type BoxReader = Box<dyn tokio::io::AsyncRead + Send + Unpin>;
/// A byte sink handed to the communicator (stdout, stderr, download target).
pub type BoxWriter = Box<dyn tokio::io::AsyncWrite + Send + Unpin>;

/// Packer's exit status for "the connection to the machine dropped" (`packer.CmdDisconnect`).
pub const CMD_DISCONNECT: i64 = 2_300_218;
