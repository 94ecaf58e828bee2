//! Packer's boot command language (`boot_command`), exactly as Packer's own VNC driver types it.
//!
//! ```text
//! rendered text ──parse──▶ Command ──vnc::events(interval)──▶ KeyDown/KeyUp/Pause/Wait ──type_events──▶ KeySink
//!                (pure)    (typed steps)        (pure iterator)                          (tokio, feature `tokio`)
//! ```
//!
//! - [`parse`] reads the command after its `{{ .HTTPIP }}`-style templates are rendered (that is
//!   the configuration's job) and the elements of `boot_command` are joined with `""`. It accepts
//!   and rejects exactly what Packer's SDK accepts and rejects, and its errors carry the line,
//!   column and text at fault.
//! - [`vnc::events`] turns a [`Command`] into the key events and pauses Packer's VNC driver would
//!   produce, with [`vnc::key_interval`] choosing the pause as Packer does.
//! - With the `tokio` feature, [`type_events`] sends them to any [`KeySink`] and sleeps, and can be
//!   cancelled.
//!
//! `tests/vectors/vnc.json` holds what Packer's Go code produces for a corpus of commands; the
//! tests replay it event for event (docs/design/boot-command.md).

#![warn(missing_docs)]

mod command;
mod duration;
mod error;
mod keys;
mod parse;
#[cfg(feature = "tokio")]
mod send;
mod upper;
pub mod vnc;

pub use command::{Action, Command, Key, KeyAction, Position, Span, Step};
pub use duration::{parse_go_duration, DurationError};
pub use error::{ParseError, ParseErrorKind, ParseErrors};
pub use keys::{char_keysym, has_latin1_keysym, needs_shift, SpecialKey, SHIFT_KEYSYM};
pub use parse::parse;
#[cfg(feature = "tokio")]
pub use send::{type_events, KeySink, TypeError};
pub use vnc::{events, Event};

/// Checks used by the golden-vector tests; not part of the API.
#[doc(hidden)]
pub mod testing {
    /// Go's `unicode.IsUpper`, as the driver uses it.
    pub fn go_is_upper(c: char) -> bool {
        crate::upper::is_upper(c)
    }

    /// The ASCII letter Go's `unicode.ToLower` gives for `c`, as key names are matched.
    pub fn go_lower_ascii(c: char) -> Option<u8> {
        crate::parse::go_lower_ascii(c)
    }
}
