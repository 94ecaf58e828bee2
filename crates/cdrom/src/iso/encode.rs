//! Byte encoders for the ECMA-119 (ISO 9660) structures we write: directory records, path
//! table records, volume descriptors and dates. Plain functions over values; offsets and
//! field widths are the standard's (section numbers in the comments).

use crate::civil::Civil;

/// Logical sector (and block) size of every CD image.
pub(crate) const SECTOR: usize = 2048;

/// Directory record flag: the entry is a directory (§9.1.6).
pub(crate) const FLAG_DIR: u8 = 0x02;
/// Directory record flag: more records of the same file follow (§9.1.6, multi-extent).
pub(crate) const FLAG_MULTI_EXTENT: u8 = 0x80;

/// Largest directory record (its length is one byte).
pub(crate) const MAX_RECORD: usize = 255;

/// A 32-bit number in both byte orders, little-endian first (§7.3.3).
pub(crate) fn both32(v: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&v.to_le_bytes());
    out[4..].copy_from_slice(&v.to_be_bytes());
    out
}

/// A 16-bit number in both byte orders (§7.2.3).
pub(crate) fn both16(v: u16) -> [u8; 4] {
    let mut out = [0u8; 4];
    out[..2].copy_from_slice(&v.to_le_bytes());
    out[2..].copy_from_slice(&v.to_be_bytes());
    out
}

/// The 7-byte recording date of directory records and Rock Ridge TF (§9.1.5): years since
/// 1900 (clamped to 1900..=2155), month, day, hour, minute, second, UTC offset 0.
pub(crate) fn record_date(secs: i64) -> [u8; 7] {
    let c = Civil::from_unix(secs);
    let year = (c.year - 1900).clamp(0, 255) as u8;
    if c.year < 1900 {
        return [0, 1, 1, 0, 0, 0, 0];
    }
    if c.year > 2155 {
        return [255, 12, 31, 23, 59, 59, 0];
    }
    [year, c.month, c.day, c.hour, c.minute, c.second, 0]
}

/// The 17-byte date of volume descriptors (§8.4.26.1): `YYYYMMDDHHMMSScc` digits, UTC.
pub(crate) fn volume_date(secs: i64) -> [u8; 17] {
    let c = Civil::from_unix(secs);
    let text = format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}00",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    );
    let mut out = [0u8; 17];
    for (dst, src) in out.iter_mut().zip(text.bytes()) {
        *dst = src;
    }
    out
}

/// "Not specified" in the 17-byte date format: sixteen `0` digits and offset 0.
pub(crate) const NO_DATE: [u8; 17] = *b"0000000000000000\0";

/// The fixed fields of one directory record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub(crate) ident: &'a [u8],
    pub(crate) extent: u32,
    pub(crate) size: u32,
    pub(crate) date: [u8; 7],
    pub(crate) flags: u8,
}

/// Bytes before the System Use field for an identifier of `ident_len` bytes (§9.1.12: a
/// padding byte follows an even-length identifier).
pub(crate) fn record_base_len(ident_len: usize) -> usize {
    33 + ident_len + usize::from(ident_len.is_multiple_of(2))
}

/// A directory record (§9.1) with `system_use` appended, padded to an even length. Returns
/// `None` if it would not fit the one-byte length.
pub(crate) fn dir_record(r: &Record<'_>, system_use: &[u8]) -> Option<Vec<u8>> {
    let ident_len = u8::try_from(r.ident.len()).ok()?;
    let mut len = record_base_len(r.ident.len()) + system_use.len();
    len += len % 2;
    let len_byte = u8::try_from(len).ok()?;
    let mut out = Vec::with_capacity(len);
    out.push(len_byte);
    out.push(0); // extended attribute record length
    out.extend_from_slice(&both32(r.extent));
    out.extend_from_slice(&both32(r.size));
    out.extend_from_slice(&r.date);
    out.push(r.flags);
    out.push(0); // file unit size (not interleaved)
    out.push(0); // interleave gap size
    out.extend_from_slice(&both16(1)); // volume sequence number
    out.push(ident_len);
    out.extend_from_slice(r.ident);
    if r.ident.len().is_multiple_of(2) {
        out.push(0);
    }
    out.extend_from_slice(system_use);
    out.resize(len, 0);
    Some(out)
}

/// One path table record (§9.4), in little-endian (`big = false`, type L) or big-endian
/// (type M) form.
pub(crate) fn path_record(ident: &[u8], extent: u32, parent: u16, big: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + ident.len() + 1);
    out.push(u8::try_from(ident.len()).unwrap_or(u8::MAX));
    out.push(0);
    if big {
        out.extend_from_slice(&extent.to_be_bytes());
        out.extend_from_slice(&parent.to_be_bytes());
    } else {
        out.extend_from_slice(&extent.to_le_bytes());
        out.extend_from_slice(&parent.to_le_bytes());
    }
    out.extend_from_slice(ident);
    if ident.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Size in bytes of the path table record for an identifier of `len` bytes.
pub(crate) fn path_record_len(len: usize) -> usize {
    8 + len + len % 2
}

/// The values a volume descriptor carries.
#[derive(Debug, Clone)]
pub(crate) struct Volume<'a> {
    /// 1 = primary, 2 = supplementary (Joliet).
    pub(crate) kind: u8,
    /// Already encoded (ASCII or UCS-2), at most 32 bytes.
    pub(crate) volume_id: &'a [u8],
    /// Already encoded, at most 128 bytes.
    pub(crate) application_id: &'a [u8],
    pub(crate) space_sectors: u32,
    pub(crate) path_table_size: u32,
    pub(crate) path_table_l: u32,
    pub(crate) path_table_m: u32,
    /// The 34-byte root directory record.
    pub(crate) root_record: &'a [u8],
    pub(crate) created: i64,
}

/// A primary or supplementary volume descriptor (§8.4, §8.5). Text fields are padded with
/// spaces in the descriptor's own encoding (`0x20`, or `0x00 0x20` for Joliet); a Joliet
/// descriptor carries the UCS-2 level 3 escape sequence `%/E`.
pub(crate) fn volume_descriptor(v: &Volume<'_>) -> Vec<u8> {
    let joliet = v.kind == 2;
    let mut d = vec![0u8; SECTOR];
    let pad_text = |d: &mut [u8], at: usize, width: usize, text: &[u8]| {
        let field = d.get_mut(at..at + width).unwrap_or_default();
        for (i, b) in field.iter_mut().enumerate() {
            *b = match text.get(i) {
                Some(&t) => t,
                None if joliet && i % 2 == 0 => 0x00,
                None => b' ',
            };
        }
    };
    put(&mut d, 0, &[v.kind]);
    put(&mut d, 1, b"CD001");
    put(&mut d, 6, &[1]);
    pad_text(&mut d, 8, 32, b""); // system identifier
    pad_text(&mut d, 40, 32, v.volume_id);
    put(&mut d, 80, &both32(v.space_sectors));
    if joliet {
        put(&mut d, 88, b"%/E");
    }
    put(&mut d, 120, &both16(1)); // volume set size
    put(&mut d, 124, &both16(1)); // volume sequence number
    put(&mut d, 128, &both16(SECTOR as u16));
    put(&mut d, 132, &both32(v.path_table_size));
    put(&mut d, 140, &v.path_table_l.to_le_bytes());
    put(&mut d, 148, &v.path_table_m.to_be_bytes());
    put(&mut d, 156, v.root_record);
    pad_text(&mut d, 190, 128, b""); // volume set
    pad_text(&mut d, 318, 128, b""); // publisher
    pad_text(&mut d, 446, 128, b""); // data preparer
    pad_text(&mut d, 574, 128, v.application_id);
    pad_text(&mut d, 702, 37, b""); // copyright file
    pad_text(&mut d, 739, 37, b""); // abstract file
    pad_text(&mut d, 776, 37, b""); // bibliographic file
    let created = volume_date(v.created);
    put(&mut d, 813, &created);
    put(&mut d, 830, &created);
    put(&mut d, 847, &NO_DATE);
    put(&mut d, 864, &NO_DATE);
    put(&mut d, 881, &[1]); // file structure version
    d
}

/// Writes `bytes` at `at` (a field that does not fit is a layout bug caught by the tests).
fn put(d: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(field) = d.get_mut(at..at + bytes.len()) {
        field.copy_from_slice(bytes);
    }
}

/// The volume descriptor set terminator (§8.3).
pub(crate) fn terminator() -> Vec<u8> {
    let mut d = vec![0u8; SECTOR];
    put(&mut d, 0, &[255]);
    put(&mut d, 1, b"CD001");
    put(&mut d, 6, &[1]);
    d
}

/// Text as UCS-2 big-endian bytes, cut to `max_units`; characters beyond the BMP become `_`.
pub(crate) fn ucs2(text: &str, max_units: usize) -> Vec<u8> {
    text.chars()
        .map(|c| u16::try_from(u32::from(c)).unwrap_or(u16::from(b'_')))
        .take(max_units)
        .flat_map(u16::to_be_bytes)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_endian_numbers() {
        assert_eq!(both32(0x0102_0304), [4, 3, 2, 1, 1, 2, 3, 4]);
        assert_eq!(both16(0x0800), [0, 8, 8, 0]);
    }

    #[test]
    fn dates() {
        // 2000-02-29T12:34:56Z.
        assert_eq!(record_date(951_827_696), [100, 2, 29, 12, 34, 56, 0]);
        assert_eq!(&volume_date(951_827_696)[..16], b"2000022912345600");
        assert_eq!(record_date(i64::MIN), [0, 1, 1, 0, 0, 0, 0]);
        assert_eq!(record_date(i64::MAX)[0], 255);
    }

    #[test]
    fn record_layout_matches_ecma_119() {
        let r = Record {
            ident: &[0],
            extent: 20,
            size: 2048,
            date: [0; 7],
            flags: FLAG_DIR,
        };
        let rec = dir_record(&r, &[]).unwrap();
        // The root record of a volume descriptor is 34 bytes.
        assert_eq!(rec.len(), 34);
        assert_eq!(rec[0], 34);
        assert_eq!(&rec[2..10], &both32(20));
        assert_eq!(rec[25], FLAG_DIR);
        assert_eq!(rec[32], 1);
        // An even identifier gets a padding byte; the total stays even.
        let rec = dir_record(&Record { ident: b"AB", ..r }, &[1, 2, 3]).unwrap();
        assert_eq!(rec.len(), 33 + 2 + 1 + 3 + 1);
        assert_eq!(rec.len() % 2, 0);
        assert!(dir_record(
            &Record {
                ident: &[b'x'; 250],
                ..r
            },
            &[]
        )
        .is_none());
    }

    #[test]
    fn path_records_pad_odd_identifiers() {
        assert_eq!(
            path_record(&[0], 19, 1, false),
            [1, 0, 19, 0, 0, 0, 1, 0, 0, 0]
        );
        assert_eq!(
            path_record(b"AB", 19, 1, true),
            [2, 0, 0, 0, 0, 19, 0, 1, b'A', b'B']
        );
        assert_eq!(path_record_len(1), 10);
        assert_eq!(path_record_len(2), 10);
    }
}
