//! Gob's primitive encodings (unsigned and signed integers, byte strings, length-prefixed messages)
//! and a bounds-checked reader for them. Shared by the encoder and the decoder so both agree on the
//! exact bytes (`encoding/gob` doc.go, "Types and Values").

use crate::gob_decode::GobError;

/// Appends a gob unsigned integer: values below 0x80 are one byte; larger ones are the byte
/// `256 - n` followed by the `n` big-endian bytes of the value without leading zeros.
pub(crate) fn put_uint(out: &mut Vec<u8>, n: u64) {
    if n < 0x80 {
        out.push(n as u8);
        return;
    }
    let bytes = n.to_be_bytes();
    let skip = (n.leading_zeros() / 8) as usize;
    let significant = bytes.get(skip..).unwrap_or(&bytes);
    // 1..=8 significant bytes, so the count byte is 0xf8..=0xff.
    out.push((significant.len() as u8).wrapping_neg());
    out.extend_from_slice(significant);
}

/// Appends a gob signed integer (zig-zag folded into an unsigned one, sign in the low bit).
pub(crate) fn put_int(out: &mut Vec<u8>, i: i64) {
    put_uint(out, zigzag(i));
}

/// Folds a signed integer the way gob does: `i << 1` for `i >= 0`, `(!i << 1) | 1` otherwise.
pub(crate) fn zigzag(i: i64) -> u64 {
    if i < 0 {
        ((!i as u64) << 1) | 1
    } else {
        (i as u64) << 1
    }
}

/// Unfolds [`zigzag`].
pub(crate) fn unzigzag(u: u64) -> i64 {
    let half = (u >> 1) as i64;
    if u & 1 == 1 {
        !half
    } else {
        half
    }
}

/// Appends a gob string or byte slice: its length as an unsigned integer, then the bytes.
pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Appends one gob message: the body's length as an unsigned integer, then the body.
pub(crate) fn put_message(out: &mut Vec<u8>, body: &[u8]) {
    put_bytes(out, body);
}

/// A cursor over bytes that never indexes out of bounds: every read checks what is left and
/// reports [`GobError::UnexpectedEnd`] naming what it was reading.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.rest.len()
    }

    /// Whether everything has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Takes the next `n` bytes.
    pub(crate) fn take(&mut self, n: u64, what: &'static str) -> Result<&'a [u8], GobError> {
        let n = usize::try_from(n).map_err(|_| GobError::UnexpectedEnd { what })?;
        match self.rest.split_at_checked(n) {
            Some((head, tail)) => {
                self.rest = tail;
                Ok(head)
            }
            None => Err(GobError::UnexpectedEnd { what }),
        }
    }

    /// Reads a gob unsigned integer. Like Go's decoder it accepts non-minimal forms (a count byte
    /// of 0xf8..=0xff followed by that many bytes) and rejects counts above eight bytes.
    pub(crate) fn uint(&mut self, what: &'static str) -> Result<u64, GobError> {
        let first = self.take(1, what)?;
        let b = first
            .first()
            .copied()
            .ok_or(GobError::UnexpectedEnd { what })?;
        if b < 0x80 {
            return Ok(u64::from(b));
        }
        let n = b.wrapping_neg();
        if n > 8 {
            return Err(GobError::BadUint { what });
        }
        let bytes = self.take(u64::from(n), what)?;
        Ok(bytes.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// Reads a gob signed integer.
    pub(crate) fn int(&mut self, what: &'static str) -> Result<i64, GobError> {
        self.uint(what).map(unzigzag)
    }

    /// Reads a length-prefixed byte string whose length must fit in what is left.
    pub(crate) fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], GobError> {
        let n = self.uint(what)?;
        self.take(n, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uint_bytes(n: u64) -> Vec<u8> {
        let mut v = Vec::new();
        put_uint(&mut v, n);
        v
    }

    // Examples from encoding/gob's doc.go ("Types and Values").
    #[test]
    fn uint_matches_go_doc_examples() {
        assert_eq!(uint_bytes(7), [0x07]);
        assert_eq!(uint_bytes(256), [0xfe, 0x01, 0x00]);
        assert_eq!(uint_bytes(0x7f), [0x7f]);
        assert_eq!(uint_bytes(0x80), [0xff, 0x80]);
        assert_eq!(
            uint_bytes(u64::MAX),
            [0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn int_zigzag_matches_go_doc_examples() {
        // doc.go: -129 is sent as 0xFE 0x01 0x01 (^(-129) << 1 | 1 = 257).
        let mut v = Vec::new();
        put_int(&mut v, -129);
        assert_eq!(v, [0xfe, 0x01, 0x01]);
        for i in [0i64, 1, -1, 63, -64, 64, i64::MAX, i64::MIN, 2_300_218] {
            assert_eq!(unzigzag(zigzag(i)), i);
        }
    }

    #[test]
    fn reader_rejects_truncation_and_long_counts() {
        assert!(matches!(
            Reader::new(&[0xfe, 0x01]).uint("x"),
            Err(GobError::UnexpectedEnd { .. })
        ));
        assert!(matches!(
            Reader::new(&[0xf7, 0, 0, 0, 0, 0, 0, 0, 0, 0]).uint("x"),
            Err(GobError::BadUint { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x05, b'a']).bytes("x"),
            Err(GobError::UnexpectedEnd { .. })
        ));
        let mut r = Reader::new(&[0xfe, 0x01, 0x00, 0x03]);
        assert_eq!(r.uint("x").unwrap(), 256);
        assert_eq!(r.uint("x").unwrap(), 3);
        assert!(r.is_empty());
    }
}
