//! Packer's plugin transport, plugin side: the handshake, hashicorp/yamux multiplexing, and the
//! packer-plugin-sdk stream broker that names sub-streams with 32-bit ids.
//!
//! Everything above this crate (net/rpc, services) sees only [`StreamBroker`]: numbered byte streams.

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
