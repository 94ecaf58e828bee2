//! A VM's VNC console, for typing a `boot_command`.
//!
//! [`Console::connect`] reaches a Prism Central VM's console through the transports Prism
//! offers, in the order [`ConsoleTarget::transports`] gives (by default the v4 console token,
//! then the v3 session cookie), with the build's TLS trust (`prism::tls`), proxies from the
//! environment (HTTP CONNECT), and never following a redirect. [`Console::connect_tcp`] speaks
//! RFB straight to a VNC server. Either way the RFB client is the sans-IO core of the `rfb`
//! crate, driven by one small task ([`console`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), vnc_console::ConsoleError> {
//! use std::time::Duration;
//! use vnc_console::{Console, ConsoleTarget};
//! let target = ConsoleTarget::new(
//!     "pc.example.com", 9440,
//!     prism::Auth::basic("admin", "secret"),
//!     "6f1e2d3c-0000-4000-8000-00000000abcd", Some("0005f2c1-0000-4000-8000-000000000001".into()),
//! );
//! let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
//! let console = Console::connect(&target, deadline).await?;
//! console.key(rfb::keysym::RETURN, true).await?;
//! console.key(rfb::keysym::RETURN, false).await?;
//! console.close().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod console;
mod error;
pub mod link;
mod net;
pub mod proxy;
mod rest;
mod target;
mod v3;
mod v4;

pub use console::Console;
pub use error::{Attempt, ConsoleError};
pub use rfb;
pub use rfb::client::{ClientConfig, ServerInfo};
pub use target::{ConsoleTarget, ProxySetting, Transport};
pub use v3::SESSION_COOKIES;
pub use v4::VMM_VERSIONS;
