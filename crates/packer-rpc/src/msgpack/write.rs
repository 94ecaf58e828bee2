//! A msgpack writer that encodes Go-typed values the way ugorji v1.2.6 does with `WriteExt: true`.
//!
//! rmp/rmp-serde write a non-negative signed integer with the smallest *unsigned* marker; ugorji
//! writes Go `int`/`int64` values above 127 with int markers (`d1`, `d2`, `d3`) and only Go unsigned
//! types with `cc`..`cf`. Go decodes the two differently into `interface{}` (int64 versus uint64),
//! so we keep the distinction by having separate [`Writer::int`] and [`Writer::uint`] methods.

use chrono::{DateTime, Utc};
use rmpv::Value;

/// A value too large for msgpack's 32-bit length fields.
#[derive(Debug, thiserror::Error)]
#[error("msgpack: a {what} of {len} items/bytes exceeds the 32-bit length limit")]
pub struct EncodeError {
    /// Which kind of item overflowed.
    pub what: &'static str,
    /// Its length.
    pub len: usize,
}

/// An append-only msgpack encoder. Methods never fail; a length that cannot be encoded is
/// remembered and reported by [`Writer::finish`], so callers write straight-line code.
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
    overflow: Option<EncodeError>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded bytes, or the first length overflow.
    pub fn finish(self) -> Result<Vec<u8>, EncodeError> {
        match self.overflow {
            Some(e) => Err(e),
            None => Ok(self.buf),
        }
    }

    /// Go `nil` (nil pointer, slice, map or interface).
    pub fn nil(&mut self) -> &mut Self {
        self.buf.push(0xc0);
        self
    }

    /// Go `bool`.
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.buf.push(if b { 0xc3 } else { 0xc2 });
        self
    }

    /// A Go signed integer (`int`, `int64`, ...): int markers for values outside the fixint range.
    pub fn int(&mut self, i: i64) -> &mut Self {
        if i > i64::from(i8::MAX) {
            if i <= i64::from(i16::MAX) {
                self.buf.push(0xd1);
                self.buf.extend_from_slice(&(i as i16).to_be_bytes());
            } else if i <= i64::from(i32::MAX) {
                self.buf.push(0xd2);
                self.buf.extend_from_slice(&(i as i32).to_be_bytes());
            } else {
                self.buf.push(0xd3);
                self.buf.extend_from_slice(&i.to_be_bytes());
            }
        } else if i >= -32 {
            self.buf.push(i as u8);
        } else if i >= i64::from(i8::MIN) {
            self.buf.push(0xd0);
            self.buf.push(i as u8);
        } else if i >= i64::from(i16::MIN) {
            self.buf.push(0xd1);
            self.buf.extend_from_slice(&(i as i16).to_be_bytes());
        } else if i >= i64::from(i32::MIN) {
            self.buf.push(0xd2);
            self.buf.extend_from_slice(&(i as i32).to_be_bytes());
        } else {
            self.buf.push(0xd3);
            self.buf.extend_from_slice(&i.to_be_bytes());
        }
        self
    }

    /// A Go unsigned integer (`uint32` stream ids, `os.FileMode`, ...).
    pub fn uint(&mut self, u: u64) -> &mut Self {
        if u <= 0x7f {
            self.buf.push(u as u8);
        } else if u <= u64::from(u8::MAX) {
            self.buf.push(0xcc);
            self.buf.push(u as u8);
        } else if u <= u64::from(u16::MAX) {
            self.buf.push(0xcd);
            self.buf.extend_from_slice(&(u as u16).to_be_bytes());
        } else if u <= u64::from(u32::MAX) {
            self.buf.push(0xce);
            self.buf.extend_from_slice(&(u as u32).to_be_bytes());
        } else {
            self.buf.push(0xcf);
            self.buf.extend_from_slice(&u.to_be_bytes());
        }
        self
    }

    /// Go `float64`.
    pub fn f64(&mut self, f: f64) -> &mut Self {
        self.buf.push(0xcb);
        self.buf.extend_from_slice(&f.to_bits().to_be_bytes());
        self
    }

    /// Go `float32`.
    pub fn f32(&mut self, f: f32) -> &mut Self {
        self.buf.push(0xca);
        self.buf.extend_from_slice(&f.to_bits().to_be_bytes());
        self
    }

    /// A Go `string` (str family; str8 is allowed because `WriteExt` is on).
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.str_bytes(s.as_bytes())
    }

    /// A Go `string` given as raw bytes (Go strings need not be UTF-8).
    pub fn str_bytes(&mut self, s: &[u8]) -> &mut Self {
        let len = s.len();
        if len < 32 {
            self.buf.push(0xa0 | len as u8);
        } else {
            self.len_header(len, "string", [0xd9, 0xda, 0xdb]);
        }
        self.buf.extend_from_slice(s);
        self
    }

    /// A non-nil Go `[]byte` (bin family, even when empty).
    pub fn bin(&mut self, b: &[u8]) -> &mut Self {
        self.len_header(b.len(), "byte slice", [0xc4, 0xc5, 0xc6]);
        self.buf.extend_from_slice(b);
        self
    }

    /// The header of an array of `len` elements; the elements follow.
    pub fn array_len(&mut self, len: usize) -> &mut Self {
        if len < 16 {
            self.buf.push(0x90 | len as u8);
        } else {
            self.len_header16(len, "array", [0xdc, 0xdd]);
        }
        self
    }

    /// The header of a map of `len` entries; keys and values follow alternately.
    pub fn map_len(&mut self, len: usize) -> &mut Self {
        if len < 16 {
            self.buf.push(0x80 | len as u8);
        } else {
            self.len_header16(len, "map", [0xde, 0xdf]);
        }
        self
    }

    /// An ext value (fixext for 1/2/4/8/16 bytes, else ext8/16/32), as ugorji's
    /// `encodeExtPreamble` chooses.
    pub fn ext(&mut self, ty: i8, data: &[u8]) -> &mut Self {
        let fixed = match data.len() {
            1 => Some(0xd4),
            2 => Some(0xd5),
            4 => Some(0xd6),
            8 => Some(0xd7),
            16 => Some(0xd8),
            _ => None,
        };
        match fixed {
            Some(m) => self.buf.push(m),
            None => self.len_header(data.len(), "ext", [0xc7, 0xc8, 0xc9]),
        }
        self.buf.push(ty as u8);
        self.buf.extend_from_slice(data);
        self
    }

    /// A Go `time.Time`: nil for `None` (Go's zero time), else the msgpack timestamp ext (-1) in
    /// the 4-, 8- or 12-byte form ugorji's `EncodeTime` picks.
    pub fn time(&mut self, t: Option<DateTime<Utc>>) -> &mut Self {
        let Some(t) = t else {
            return self.nil();
        };
        let sec = t.timestamp();
        let nsec = u64::from(t.timestamp_subsec_nanos());
        if sec >= 0 && (sec >> 34) == 0 {
            let data64 = (nsec << 34) | sec as u64;
            if data64 & 0xffff_ffff_0000_0000 != 0 {
                self.ext(-1, &data64.to_be_bytes())
            } else {
                self.ext(-1, &(data64 as u32).to_be_bytes())
            }
        } else {
            let mut data = [0u8; 12];
            data[..4].copy_from_slice(&(nsec as u32).to_be_bytes());
            data[4..].copy_from_slice(&sec.to_be_bytes());
            self.ext(-1, &data)
        }
    }

    /// A Go `[]string`, or nil when `None`.
    pub fn strings(&mut self, list: Option<&[String]>) -> &mut Self {
        match list {
            None => self.nil(),
            Some(items) => {
                self.array_len(items.len());
                for s in items {
                    self.str(s);
                }
                self
            }
        }
    }

    /// A dynamic (Go `interface{}`) value. Integers that fit `i64` are written as Go signed ints
    /// (what Go itself produces for `int` fields and decodes fixints to); larger ones as uint64.
    pub fn value(&mut self, v: &Value) -> &mut Self {
        match v {
            Value::Nil => self.nil(),
            Value::Boolean(b) => self.bool(*b),
            Value::Integer(i) => match (i.as_i64(), i.as_u64()) {
                (Some(i), _) => self.int(i),
                (None, Some(u)) => self.uint(u),
                // rmpv integers are always one of the two.
                (None, None) => self.nil(),
            },
            Value::F32(f) => self.f32(*f),
            Value::F64(f) => self.f64(*f),
            Value::String(s) => self.str_bytes(s.as_bytes()),
            Value::Binary(b) => self.bin(b),
            Value::Array(items) => {
                self.array_len(items.len());
                for item in items {
                    self.value(item);
                }
                self
            }
            Value::Map(entries) => {
                self.map_len(entries.len());
                for (k, val) in entries {
                    self.value(k);
                    self.value(val);
                }
                self
            }
            Value::Ext(ty, data) => self.ext(*ty, data),
        }
    }

    /// Appends bytes that are already one encoded value (a pre-encoded body).
    pub fn raw(&mut self, encoded: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(encoded);
        self
    }

    fn len_header(&mut self, len: usize, what: &'static str, markers: [u8; 3]) {
        if len <= usize::from(u8::MAX) {
            self.buf.push(markers[0]);
            self.buf.push(len as u8);
        } else {
            self.len_header16(len, what, [markers[1], markers[2]]);
        }
    }

    fn len_header16(&mut self, len: usize, what: &'static str, markers: [u8; 2]) {
        if len <= usize::from(u16::MAX) {
            self.buf.push(markers[0]);
            self.buf.extend_from_slice(&(len as u16).to_be_bytes());
        } else if let Ok(l32) = u32::try_from(len) {
            self.buf.push(markers[1]);
            self.buf.extend_from_slice(&l32.to_be_bytes());
        } else {
            if self.overflow.is_none() {
                self.overflow = Some(EncodeError { what, len });
            }
            // Keep the stream shape plausible; finish() reports the error anyway.
            self.buf.push(markers[1]);
            self.buf.extend_from_slice(&u32::MAX.to_be_bytes());
        }
    }
}

/// Encodes one dynamic value on its own (convenience for bodies).
pub fn encode_value(v: &Value) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::new();
    w.value(v);
    w.finish()
}
