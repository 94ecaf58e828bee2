//! msgpack as ugorji's `MsgpackHandle{WriteExt: true}` writes and reads it
//! (docs/design/plugin-protocol.md, 'msgpack value rules').
//!
//! Three small jobs, each in its own module:
//! - [`scan`]: find where one value ends in a byte stream without decoding it (values have no length
//!   prefix, span yamux frames, and several share a frame);
//! - [`write`]: encode Go-typed values byte-exactly (signed Go ints use int markers, unsigned ones
//!   uint markers, `[]byte` is bin, `time.Time` is ext -1);
//! - [`view`]: read decoded [`rmpv::Value`]s into Rust values as leniently as ugorji does (any int
//!   marker for any int, str and bin interchangeable, nil is the zero value, missing keys too).

pub mod scan;
pub mod view;
pub mod write;

pub use scan::{decode_value, ScanState, MAX_DEPTH, MAX_VALUE_LEN};
pub use view::ViewError;
pub use write::{EncodeError, Writer};

/// Why bytes could not be read as msgpack.
#[derive(Debug, thiserror::Error)]
pub enum MsgpackError {
    /// The marker byte 0xc1, which msgpack never uses, where a value should start.
    #[error("msgpack: reserved marker 0xc1 at offset {offset}")]
    ReservedMarker {
        /// Offset of the marker from the start of the value.
        offset: usize,
    },
    /// A value declares (or has grown to) more bytes than we accept from a peer.
    #[error("msgpack value larger than the {max}-byte limit (at least {len} bytes)")]
    TooLarge {
        /// Bytes the value needs at least.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The value nests arrays or maps deeper than we accept.
    #[error("msgpack value nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// rmpv rejected a value the scanner had accepted (should not happen; reported, never panicked).
    #[error("msgpack decode failed: {0}")]
    Decode(String),
}
