//! Crate tests that need more than one module: golden bytes, the RPC drivers, Prepare decoding and
//! the services end to end over the in-memory broker.

mod backpressure;
mod e2e;
mod golden;
mod prepare;
mod rpc;
pub(crate) mod util;
mod yamux_peer;
