//! Go `net/rpc` over msgpack, and the services of Packer's plugin protocol that a builder plugin
//! serves or calls: `Builder` (served on broker stream 0), `Ui` and `Hook` (Packer's, called during
//! Run), `Communicator` and a forwarding `Ui` (served on each hook stream), `Artifact` (served
//! after a successful Run).
//!
//! # Layout
//! - [`msgpack`]: pure msgpack pieces, byte-exact with ugorji v1.2.6 (`WriteExt: true`).
//! - [`codec`]: pure net/rpc framing: headers, bodies, incremental value decoding.
//! - [`client`] / [`server`]: the small async drivers (concurrent calls, replies by `Seq`).
//! - [`services`]: one module per Packer interface, with the traits a builder implements.
//! - [`serve_builder`]: the whole `start builder` flow on top of `packer-mux`.
//!
//! Everything on the wire follows docs/design/plugin-protocol.md ('net/rpc over msgpack',
//! 'Services'), checked against the packer-plugin-sdk v0.6.10 sources. Nothing here writes to
//! stdout except the handshake line.

#![warn(missing_docs)]

pub mod client;
pub mod codec;
mod conn;
mod error;
pub mod msgpack;
pub mod server;
pub mod services;

mod broker;
mod budget;
mod serve;

#[cfg(test)]
pub(crate) mod testing;

#[cfg(test)]
mod tests;

// Lets the interop example's modules (compiled into the tests too) say `packer_rpc::`.
#[cfg(test)]
extern crate self as packer_rpc;

pub use error::{RpcError, ServeError};
pub use serve::{serve_builder, serve_builder_on};
pub use services::artifact::Artifact;
pub use services::builder::{Builder, PrepareOutcome, RunContext, SpecEncoding};
pub use services::communicator::{
    BoxReader, BoxWriter, Communicator, FileInfo, RemoteCommand, CMD_DISCONNECT,
};
pub use services::hook::{Hook, HookData};
pub use services::ui::{Progress, Ui};

/// Re-exported so builders name the same cancellation type the RunContext carries.
pub use tokio_util::sync::CancellationToken;
