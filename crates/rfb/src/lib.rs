//! Sans-IO protocol cores for a VM's VNC console: bytes in, events and bytes out, no sockets,
//! no clock, no randomness of their own (callers pass challenges and mask keys in).
//!
//! * [`client`]: an RFB client (protocol versions 3.3, 3.7 and 3.8; security types None and VNC
//!   authentication) that completes the handshake, then sends key events and keeps decoding
//!   whatever the server sends (framebuffer updates, colour maps, bells, cut text) so a chatty
//!   server never wedges it.
//! * [`server`]: an RFB server that serves the same subset and reports every key event; the
//!   Prism Central simulator runs one per console connection.
//! * [`ws`]: the RFC 6455 frame codec and handshake checks, because Prism Central carries RFB
//!   inside a websocket and RFB must be read as one byte stream across frames.
//! * [`keysym`]: X11 keysym names, so recorded key events read as text.
//!
//! Every malformed input is a typed error ([`RfbError`], [`ws::WsError`]); nothing here panics
//! on peer bytes.

#![warn(missing_docs)]

pub mod auth;
pub mod client;
mod error;
pub mod keysym;
pub mod pixel;
pub mod server;
pub mod version;
mod wire;
pub mod ws;

pub use client::{Client, ClientConfig, Event, ServerInfo};
pub use error::RfbError;
pub use pixel::PixelFormat;
pub use server::{Server, ServerConfig, ServerEvent};
pub use version::Version;

/// RFB security type 1: no authentication.
pub const SECURITY_NONE: u8 = 1;
/// RFB security type 2: VNC authentication (DES challenge-response).
pub const SECURITY_VNC: u8 = 2;
