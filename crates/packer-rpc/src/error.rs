//! Errors of the RPC layer, and the one place that turns them into net/rpc error strings.

use crate::codec::CodecError;

/// A call we made that did not produce a reply value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcError {
    /// The peer's server answered with an error string (Go's `rpc.ServerError`); shown verbatim,
    /// since it is usually a message for the user (e.g. Packer's `Ui.Ask` "interrupted").
    #[error("{message}")]
    Remote {
        /// The `Error` field of the response header.
        message: String,
    },
    /// The connection ended (or failed) before the reply arrived.
    #[error("rpc connection {conn} closed before {method} replied: {reason}")]
    Closed {
        /// Which connection (e.g. `Ui/Hook stream 1`).
        conn: String,
        /// The call that was pending.
        method: String,
        /// Why the connection ended.
        reason: String,
    },
    /// The reply arrived but is not the Go type the method returns.
    #[error("bad reply to {method}: {reason}")]
    BadReply {
        /// The call.
        method: String,
        /// What was wrong with the reply.
        reason: String,
    },
    /// The arguments could not be encoded.
    #[error("cannot encode arguments of {method}: {reason}")]
    Encode {
        /// The call.
        method: String,
        /// Why.
        reason: String,
    },
    /// A sub-stream could not be opened through the broker.
    #[error("broker stream {id}: {reason}")]
    Stream {
        /// The broker id.
        id: u32,
        /// Why.
        reason: String,
    },
}

/// Why serving a connection stopped early (a clean end of stream is not an error).
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The peer sent bytes that are not a net/rpc request stream.
    #[error("rpc: server cannot decode request: {0}")]
    Codec(#[from] CodecError),
    /// Reading the stream failed.
    #[error("rpc stream read failed: {0}")]
    Io(#[from] std::io::Error),
    /// The transport (listener, handshake, yamux, broker) failed.
    #[error("plugin transport: {0}")]
    Transport(String),
}
