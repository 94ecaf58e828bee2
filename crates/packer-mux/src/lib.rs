//! Packer's plugin transport, plugin side: the handshake, hashicorp/yamux multiplexing, and the
//! packer-plugin-sdk stream broker that names sub-streams with 32-bit ids.
//!
//! Everything above this crate (net/rpc, services) sees only [`StreamBroker`]: numbered byte streams.
//!
//! # Layers, bottom up
//!
//! - [`handshake`]: the magic cookie, the one-connection listener (unix socket, or TCP on Windows),
//!   the `5|0|unix|/path` stdout line, and ignoring SIGINT/SIGTERM.
//! - [`frame`]: the 12-byte yamux header, a pure codec.
//! - `core` (private): the whole yamux session as a plain state machine (streams, windows,
//!   backlog, pings, GoAway) with hashicorp/yamux v0.1.1 semantics. No I/O, no clock: frames go
//!   in through `on_frame`, bytes to send come out of `poll_transmit`; unit-tested directly.
//! - [`Session`] / [`MuxStream`]: the thin tokio driver, one reader task that never waits for a
//!   slow consumer (it only appends to window-bounded buffers; it pauses only while our control
//!   frames cannot be written) and one writer task that owns the write half, with Go's 10 s write
//!   timeout. Streams are tokio `AsyncRead + AsyncWrite`. Every queue is bounded:
//!   docs/design/backpressure.md.
//! - [`Broker`]: the SDK's `muxBroker` over a session (4-byte little-endian id, echoed as ack;
//!   5 s accept window), implementing [`StreamBroker`].

#![warn(missing_docs)]

mod broker;
mod core;
mod error;
pub mod frame;
pub mod handshake;
mod session;
mod stream;
mod stream_state;

pub use broker::Broker;
pub use error::MuxError;
pub use handshake::HandshakeError;
pub use session::{Mode, Session};
pub use stream::MuxStream;

use tokio::io::{AsyncRead, AsyncWrite};

/// A numbered-stream broker as the SDK's `muxBroker` defines it: the side that allocates an id
/// accepts it, the other side dials it. The seam between transport and RPC, so the RPC layer can be
/// tested over in-memory pipes and the yamux implementation can be swapped.
#[async_trait::async_trait]
pub trait StreamBroker: Clone + Send + Sync + 'static {
    /// One multiplexed byte stream.
    type Stream: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// Allocates a fresh id (1, 2, 3, ...) that the peer may dial once we accept it.
    fn next_id(&self) -> u32;

    /// Opens a stream to an id the peer allocated and is accepting.
    async fn dial(&self, id: u32) -> std::io::Result<Self::Stream>;

    /// Waits (at most 5 s, like the SDK) for the peer to dial an id we allocated.
    async fn accept(&self, id: u32) -> std::io::Result<Self::Stream>;
}
