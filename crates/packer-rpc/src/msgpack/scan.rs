//! Finding the end of one msgpack value in a growing buffer, then decoding it.
//!
//! net/rpc's GoRpc codec writes a header value and a body value back to back with no envelope, so
//! the only message boundary is the end of a value. [`ScanState`] walks markers with a counter of
//! values still owed (no recursion, no allocation) and resumes where it stopped when more bytes
//! arrive, so a value split over many frames is scanned once in total.

use super::MsgpackError;

/// The largest single value we accept from a peer. Packer's largest messages (Prepare configs,
/// ConfigSpec) are tens of KiB; file contents never travel inside RPC values.
pub const MAX_VALUE_LEN: usize = 64 * 1024 * 1024;

/// rmpv's recursion budget: it spends two units per array or map level, so this allows about 255
/// levels of nesting, far beyond any Packer message, while bounding stack use.
pub const MAX_DEPTH: usize = 512;

/// Resumable scan position inside the value at the start of a buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanState {
    /// Offset of the next marker to read.
    pos: usize,
    /// Values still to be read before the top-level value is complete.
    owed: u64,
    /// Whether the top-level value has been counted in `owed`.
    started: bool,
}

/// What follows a marker byte.
#[derive(Clone, Copy)]
enum Shape {
    /// `n` more bytes of payload, no length field.
    Fixed(u64),
    /// A big-endian length field of `width` bytes, then that many bytes (str, bin).
    Sized(usize),
    /// A length field, then a type byte and that many bytes (ext8/16/32).
    Ext(usize),
    /// `n` nested values, no length field (fixarray, fixmap).
    FixNested(u64),
    /// A length field counting array elements.
    Array(usize),
    /// A length field counting map entries (two values each).
    Map(usize),
}

fn shape(m: u8) -> Option<Shape> {
    use Shape::*;
    Some(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Fixed(0),
        0x80..=0x8f => FixNested(2 * u64::from(m & 0x0f)),
        0x90..=0x9f => FixNested(u64::from(m & 0x0f)),
        0xa0..=0xbf => Fixed(u64::from(m & 0x1f)),
        0xc1 => return None,
        0xc4 | 0xd9 => Sized(1),
        0xc5 | 0xda => Sized(2),
        0xc6 | 0xdb => Sized(4),
        0xc7 => Ext(1),
        0xc8 => Ext(2),
        0xc9 => Ext(4),
        0xcc | 0xd0 => Fixed(1),
        0xcd | 0xd1 => Fixed(2),
        0xca | 0xce | 0xd2 => Fixed(4),
        0xcb | 0xcf | 0xd3 => Fixed(8),
        // fixext 1/2/4/8/16: a type byte, then the data.
        0xd4 => Fixed(2),
        0xd5 => Fixed(3),
        0xd6 => Fixed(5),
        0xd7 => Fixed(9),
        0xd8 => Fixed(17),
        0xdc => Array(2),
        0xdd => Array(4),
        0xde => Map(2),
        0xdf => Map(4),
    })
}

/// Reads a big-endian length field of `width` bytes at `buf[at..]`, or `None` if not all there.
fn length_field(buf: &[u8], at: usize, width: usize) -> Option<u64> {
    let bytes = buf.get(at..at.checked_add(width)?)?;
    Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

impl ScanState {
    /// Continues scanning `buf`, which must start with the same bytes as on earlier calls.
    /// Returns the length of the complete first value, or `None` when more bytes are needed.
    /// Values claiming more than `max_len` bytes (counting at least one byte per owed element) are
    /// rejected as soon as the claim is read.
    pub fn scan(&mut self, buf: &[u8], max_len: usize) -> Result<Option<usize>, MsgpackError> {
        if !self.started {
            self.owed = 1;
            self.started = true;
        }
        while self.owed > 0 {
            let Some(&marker) = buf.get(self.pos) else {
                return Ok(None);
            };
            let Some(shape) = shape(marker) else {
                return Err(MsgpackError::ReservedMarker { offset: self.pos });
            };
            let body = self.pos + 1;
            // (bytes after the marker, nested values owed)
            let (skip, nested) = match shape {
                Shape::Fixed(n) => (n, 0),
                Shape::FixNested(n) => (0, n),
                Shape::Sized(w) => match length_field(buf, body, w) {
                    Some(len) => (w as u64 + len, 0),
                    None => return Ok(None),
                },
                Shape::Ext(w) => match length_field(buf, body, w) {
                    Some(len) => (w as u64 + 1 + len, 0),
                    None => return Ok(None),
                },
                Shape::Array(w) => match length_field(buf, body, w) {
                    Some(n) => (w as u64, n),
                    None => return Ok(None),
                },
                Shape::Map(w) => match length_field(buf, body, w) {
                    Some(n) => (w as u64, 2 * n),
                    None => return Ok(None),
                },
            };
            let end = body as u64 + skip;
            let owed_after = self.owed - 1 + nested;
            // Every owed value needs at least one more byte: reject impossible claims early.
            let least = end.saturating_add(owed_after);
            if least > max_len as u64 {
                return Err(MsgpackError::TooLarge {
                    len: least,
                    max: max_len,
                });
            }
            let end = end as usize; // end <= max_len, so it fits
            if buf.len() < end {
                return Ok(None);
            }
            self.pos = end;
            self.owed = owed_after;
        }
        Ok(Some(self.pos))
    }
}

/// Decodes the complete value at the start of `buf` (as found by [`ScanState::scan`]) with a depth
/// limit, returning it and the number of bytes it used.
pub fn decode_value(buf: &[u8]) -> Result<(rmpv::Value, usize), MsgpackError> {
    let mut rd = buf;
    let value =
        rmpv::decode::read_value_with_max_depth(&mut rd, MAX_DEPTH).map_err(|e| match e {
            rmpv::decode::Error::DepthLimitExceeded => MsgpackError::TooDeep { max: MAX_DEPTH / 2 },
            other => MsgpackError::Decode(other.to_string()),
        })?;
    Ok((value, buf.len() - rd.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::util::hex;

    fn scan_all(buf: &[u8]) -> Result<Option<usize>, MsgpackError> {
        ScanState::default().scan(buf, MAX_VALUE_LEN)
    }

    #[test]
    fn scans_captured_request_header_and_stops_before_body() {
        // docs/design/plugin-protocol.md, 'Captured headers': Builder.ConfigSpec request header
        // followed by its nil body.
        let msg =
            hex("82ad536572766963654d6574686f64b24275696c6465722e436f6e66696753706563a353657100c0");
        assert_eq!(scan_all(&msg).unwrap(), Some(msg.len() - 1));
        assert_eq!(scan_all(&msg[msg.len() - 1..]).unwrap(), Some(1));
    }

    #[test]
    fn every_prefix_is_incomplete_and_resumes() {
        let msg = hex("83ad536572766963654d6574686f64ab4275696c6465722e52756ea353657101a54572726f72a4626f6f6d");
        for cut in 0..msg.len() {
            assert_eq!(scan_all(&msg[..cut]).unwrap(), None, "prefix {cut}");
        }
        // Feeding one byte at a time through one state gives the same answer.
        let mut st = ScanState::default();
        for cut in 0..msg.len() {
            assert_eq!(st.scan(&msg[..cut], MAX_VALUE_LEN).unwrap(), None);
        }
        assert_eq!(st.scan(&msg, MAX_VALUE_LEN).unwrap(), Some(msg.len()));
    }

    #[test]
    fn sizes_every_marker_family() {
        let cases: &[(&str, usize)] = &[
            ("c0", 1),
            ("cc80", 2),
            ("cd0100", 3),
            ("d1ff00", 3),
            ("ce00000001", 5),
            ("cf0000000000000001", 9),
            ("ca3f800000", 5),
            ("cb3ff0000000000000", 9),
            ("c40201ff", 4),
            ("c5000101", 4),
            ("c60000000101", 6),
            ("d90141", 3),
            ("dc0001c0", 4),
            ("dd00000001c0", 6),
            ("de0001a141c0", 6),
            ("df00000001a141c0", 8),
            ("d4ff01", 3),
            ("d6ff00000001", 6),
            ("d7ff0000000000000001", 10),
            ("c70cff000000000000000000000001", 15),
            ("9192c0c0", 4),
            ("e0", 1),
        ];
        for (h, len) in cases {
            let mut bytes = hex(h);
            bytes.extend_from_slice(&[0xc0, 0xc0]); // trailing bytes must not be counted
            assert_eq!(scan_all(&bytes).unwrap(), Some(*len), "{h}");
        }
    }

    #[test]
    fn rejects_reserved_marker_and_oversized_claims() {
        assert!(matches!(
            scan_all(&[0x91, 0xc1]),
            Err(MsgpackError::ReservedMarker { offset: 1 })
        ));
        assert!(matches!(
            scan_all(&hex("c6ffffffff")),
            Err(MsgpackError::TooLarge { .. })
        ));
        assert!(matches!(
            scan_all(&hex("ddffffffff")),
            Err(MsgpackError::TooLarge { .. })
        ));
        assert!(matches!(
            scan_all(&hex("dfffffffff")),
            Err(MsgpackError::TooLarge { .. })
        ));
        assert!(matches!(
            ScanState::default().scan(&hex("c4ff"), 100),
            Err(MsgpackError::TooLarge { .. })
        ));
    }

    #[test]
    fn decode_bounds_depth_without_overflowing_the_stack() {
        let mut deep = vec![0x91u8; 100_000];
        deep.push(0xc0);
        assert_eq!(scan_all(&deep).unwrap(), Some(deep.len()));
        assert!(matches!(
            decode_value(&deep),
            Err(MsgpackError::TooDeep { .. })
        ));
        let mut ok = vec![0x91u8; 200];
        ok.push(0xc0);
        assert!(decode_value(&ok).is_ok());
    }
}
