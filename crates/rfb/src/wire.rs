//! Reading fixed-size fields from the front of a byte buffer without indexing.

/// Big-endian u16 at `at`, if the buffer is long enough.
pub(crate) fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Big-endian u32 at `at`, if the buffer is long enough.
pub(crate) fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    Some(u32::from_be_bytes(a))
}

/// Byte at `at`.
pub(crate) fn u8_at(buf: &[u8], at: usize) -> Option<u8> {
    buf.get(at).copied()
}

/// Escapes bytes for an error message (printable ASCII as is, the rest as `\xNN`), at most
/// `max` input bytes.
pub(crate) fn escape(bytes: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for b in bytes.iter().take(max) {
        match b {
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(char::from(*b)),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    if bytes.len() > max {
        s.push('…');
    }
    s
}

/// A byte sequence as text for reasons and names: UTF-8 where valid, lossy otherwise.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
