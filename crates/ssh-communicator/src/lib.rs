//! Packer's SSH communicator, in Rust.
//!
//! Provisioners (shell, file, ansible...) do all their work through a communicator; this crate
//! implements the SSH one with the option set Packer users write (`ssh_*` keys) and the
//! behaviour of Packer's Go communicator (packer-plugin-sdk `sdk-internals/communicator/ssh`):
//! connection retries while the VM boots, every authentication method, bastions and SOCKS5
//! proxies, commands with Packer's exit-status conventions, and scp or sftp transfers that
//! stream with bounded memory.
//!
//! It does not verify host keys (Packer does not either), does not implement
//! `ssh_local_tunnels`/`ssh_remote_tunnels`, and knows nothing of Packer's RPC: the plugin
//! glues [`SshCommunicator`]'s methods to its `Communicator` trait.

#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod algorithms;
mod auth;
mod channel_io;
mod communicator;
mod config;
mod error;
mod keys;
mod proxy;
mod retry;
mod rpath;
mod scp;
mod session;
mod sftp;
mod tree;

#[cfg(feature = "testing")]
pub mod testing;

pub use channel_io::CMD_DISCONNECT;
pub use communicator::{BoxReader, BoxWriter, FileInfo, RemoteCommand, SshCommunicator};
pub use config::{
    BastionConfig, FileTransferMethod, PrivateKeySource, ProxyConfig, ProxyKind, SshConfig,
};
pub use error::SshError;
pub use keys::{generate_temporary_key_pair, TemporaryKeyPair};
pub use scp::ScpError;
pub use tokio_util::sync::CancellationToken;
