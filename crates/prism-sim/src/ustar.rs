//! The bytes of an OVA file: a POSIX ustar archive described as a list of segments (header
//! blocks, small in-memory files, generated disk stand-ins, zero padding) instead of a buffer,
//! so a file of tens of MiB costs a few KiB of memory and any byte range can be produced on
//! demand for `Range` downloads. Pure: tested without a server.
//!
//! Names that are not ASCII or do not fit the 100-byte ustar `name` field get a POSIX.1-2001
//! `pax` extended header (`path=`) in front of their ustar header, as `pax`/GNU tar write them.

use bytes::{Bytes, BytesMut};
use sha2::{Digest, Sha256};

use crate::transfer::generated;

/// Size of a tar block.
pub(crate) const BLOCK: u64 = 512;
/// Largest member size the 11 octal digits of the ustar `size` field can hold.
const MAX_MEMBER: u64 = 0o77_777_777_777;
/// Bytes produced per step when hashing.
const HASH_CHUNK: usize = 64 * 1024;

/// Why an archive member could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UstarError {
    /// The member is larger than a ustar header can describe.
    #[error("archive member {name} has {size} bytes, more than a ustar header can describe")]
    TooLarge {
        /// The member's name.
        name: String,
        /// Its size.
        size: u64,
    },
    /// The member name is empty.
    #[error("archive member names must not be empty")]
    EmptyName,
}

/// The content of one piece of the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Literal bytes (headers, the OVF descriptor).
    Bytes(Bytes),
    /// `len` bytes of [`generated`] content with this seed, from the start of the content.
    Generated {
        /// Seed of the content.
        seed: u64,
        /// Length in bytes.
        len: u64,
    },
    /// `len` zero bytes (block padding, end-of-archive marker).
    Zeros(u64),
}

impl Segment {
    fn len(&self) -> u64 {
        match self {
            Segment::Bytes(b) => b.len() as u64,
            Segment::Generated { len, .. } | Segment::Zeros(len) => *len,
        }
    }

    /// Appends `n` bytes starting at `offset` within this segment.
    fn append(&self, offset: u64, n: usize, out: &mut BytesMut) {
        match self {
            Segment::Bytes(b) => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
                let end = start.saturating_add(n).min(b.len());
                out.extend_from_slice(b.get(start..end).unwrap_or(&[]));
            }
            Segment::Generated { seed, .. } => out.extend_from_slice(&generated(*seed, offset, n)),
            Segment::Zeros(_) => out.resize(out.len() + n, 0),
        }
    }
}

/// A finished archive: its segments with their start offsets, and its total size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Archive {
    parts: Vec<(u64, Segment)>,
    size: u64,
}

impl Archive {
    /// Total size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Up to `len` bytes from `offset` (fewer at the end of the archive, none past it).
    pub fn read(&self, offset: u64, len: usize) -> Bytes {
        let end = offset.saturating_add(len as u64).min(self.size);
        let mut out =
            BytesMut::with_capacity(usize::try_from(end.saturating_sub(offset)).unwrap_or(0));
        let mut pos = offset;
        // The first part that contains `pos`: the last one starting at or before it.
        let first = self
            .parts
            .partition_point(|(start, _)| *start <= pos)
            .saturating_sub(1);
        for (start, seg) in self.parts.iter().skip(first) {
            if pos >= end {
                break;
            }
            let seg_end = start.saturating_add(seg.len());
            if seg_end <= pos {
                continue;
            }
            let n = seg_end.min(end) - pos;
            seg.append(pos.saturating_sub(*start), n as usize, &mut out);
            pos += n;
        }
        out.freeze()
    }

    /// Lowercase hex SHA-256 of the whole archive, produced chunk by chunk.
    pub fn sha256(&self) -> String {
        let mut h = Sha256::new();
        let mut pos = 0;
        while pos < self.size {
            let chunk = self.read(pos, HASH_CHUNK);
            if chunk.is_empty() {
                break;
            }
            h.update(&chunk);
            pos += chunk.len() as u64;
        }
        hex::encode(h.finalize())
    }
}

/// Builds an [`Archive`] member by member.
#[derive(Debug, Default)]
pub(crate) struct Builder {
    parts: Vec<(u64, Segment)>,
    pos: u64,
    pax_count: u32,
}

impl Builder {
    fn push(&mut self, seg: Segment) {
        let len = seg.len();
        if len > 0 {
            self.parts.push((self.pos, seg));
            self.pos = self.pos.saturating_add(len);
        }
    }

    fn pad(&mut self, len: u64) {
        let rem = len % BLOCK;
        if rem != 0 {
            self.push(Segment::Zeros(BLOCK - rem));
        }
    }

    /// Adds a regular file (mode 0644, owner root) named `name` with `content`.
    pub fn add_file(&mut self, name: &str, mtime: u64, content: Segment) -> Result<(), UstarError> {
        if name.is_empty() {
            return Err(UstarError::EmptyName);
        }
        let size = content.len();
        if size > MAX_MEMBER {
            return Err(UstarError::TooLarge {
                name: name.to_string(),
                size,
            });
        }
        let fits = name.is_ascii() && name.len() <= 100 && !name.bytes().any(|b| b == 0);
        let short = if fits {
            name.to_string()
        } else {
            self.pax_count += 1;
            let record = pax_record("path", name);
            let pax_name = format!("PaxHeaders/{}", self.pax_count);
            let len = record.len() as u64;
            self.push(Segment::Bytes(Bytes::from(
                header(&pax_name, len, mtime, b'x').to_vec(),
            )));
            self.push(Segment::Bytes(Bytes::from(record)));
            self.pad(len);
            ascii_fallback(name)
        };
        self.push(Segment::Bytes(Bytes::from(
            header(&short, size, mtime, b'0').to_vec(),
        )));
        self.push(content);
        self.pad(size);
        Ok(())
    }

    /// Ends the archive with two zero blocks.
    pub fn finish(mut self) -> Archive {
        self.push(Segment::Zeros(2 * BLOCK));
        Archive {
            parts: self.parts,
            size: self.pos,
        }
    }
}

/// One pax extended-header record, `"<len> <key>=<value>\n"`, where `<len>` counts the whole
/// record including its own digits.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    format!("{len} {key}={value}\n").into_bytes()
}

/// The name written in the ustar header when the real one travels in a pax header: ASCII
/// only, at most 100 bytes, keeping the end (the extension) of the name.
fn ascii_fallback(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if c.is_ascii() && c != '\0' { c } else { '_' })
        .collect();
    let skip = ascii.len().saturating_sub(100);
    ascii.get(skip..).unwrap_or("").to_string()
}

/// Writes `value` as zero-padded octal filling `field` except its last byte (a NUL).
fn octal(field: &mut [u8], value: u64) {
    let width = field.len().saturating_sub(1);
    let text = format!("{value:0width$o}");
    for (dst, src) in field.iter_mut().zip(text.bytes().chain(std::iter::once(0))) {
        *dst = src;
    }
}

/// A ustar header block; `name` must be ASCII and at most 100 bytes (checked by the caller).
fn header(name: &str, size: u64, mtime: u64, typeflag: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    let put = |h: &mut [u8; 512], at: usize, bytes: &[u8], width: usize| {
        for (i, b) in bytes.iter().take(width).enumerate() {
            if let Some(slot) = h.get_mut(at + i) {
                *slot = *b;
            }
        }
    };
    put(&mut h, 0, name.as_bytes(), 100);
    if let Some(f) = h.get_mut(100..108) {
        octal(f, 0o644);
    }
    if let Some(f) = h.get_mut(108..116) {
        octal(f, 0);
    }
    if let Some(f) = h.get_mut(116..124) {
        octal(f, 0);
    }
    if let Some(f) = h.get_mut(124..136) {
        octal(f, size);
    }
    if let Some(f) = h.get_mut(136..148) {
        octal(f, mtime.min(MAX_MEMBER));
    }
    put(&mut h, 148, b"        ", 8);
    put(&mut h, 156, &[typeflag], 1);
    put(&mut h, 257, b"ustar\0", 6);
    put(&mut h, 263, b"00", 2);
    put(&mut h, 265, b"root", 32);
    put(&mut h, 297, b"root", 32);
    if let Some(f) = h.get_mut(329..337) {
        octal(f, 0);
    }
    if let Some(f) = h.get_mut(337..345) {
        octal(f, 0);
    }
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    put(&mut h, 148, text.as_bytes(), 8);
    h
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn members(a: &Archive) -> Vec<(String, Vec<u8>)> {
        let bytes = a.read(0, a.size() as usize);
        assert_eq!(bytes.len() as u64, a.size());
        let mut ar = tar::Archive::new(bytes.as_ref());
        ar.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let name = e.path().unwrap().to_string_lossy().into_owned();
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                (name, data)
            })
            .collect()
    }

    #[test]
    fn the_tar_crate_reads_back_every_member() {
        let mut b = Builder::default();
        b.add_file(
            "a.ovf",
            1_700_000_000,
            Segment::Bytes(Bytes::from_static(b"<x/>")),
        )
        .unwrap();
        b.add_file(
            "a-disk1.vmdk",
            1_700_000_000,
            Segment::Generated {
                seed: 7,
                len: 70_000,
            },
        )
        .unwrap();
        b.add_file("empty", 0, Segment::Bytes(Bytes::new()))
            .unwrap();
        let a = b.finish();
        assert_eq!(a.size() % BLOCK, 0);
        let m = members(&a);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0], ("a.ovf".to_string(), b"<x/>".to_vec()));
        assert_eq!(m[1].0, "a-disk1.vmdk");
        assert_eq!(m[1].1, generated(7, 0, 70_000).to_vec());
        assert_eq!(m[2], ("empty".to_string(), Vec::new()));
        // Header fields as `tar` sees them.
        let bytes = a.read(0, a.size() as usize);
        let mut ar = tar::Archive::new(bytes.as_ref());
        let first = ar.entries().unwrap().next().unwrap().unwrap();
        let h = first.header();
        assert!(h.as_ustar().is_some());
        assert_eq!(h.mode().unwrap(), 0o644);
        assert_eq!(h.mtime().unwrap(), 1_700_000_000);
        assert_eq!(h.entry_type(), tar::EntryType::Regular);
        // The stored checksum is the one `tar` computes.
        assert_eq!(h.cksum().unwrap(), {
            let mut raw = *h.as_bytes();
            raw[148..156].copy_from_slice(b"        ");
            raw.iter().map(|b| u32::from(*b)).sum::<u32>()
        });
    }

    #[test]
    fn long_and_non_ascii_names_travel_in_pax_headers() {
        let long = format!("{}-disk1.qcow2", "n".repeat(120));
        let utf8 = "Überprüfung-ВМ.ovf";
        let mut b = Builder::default();
        b.add_file(&long, 5, Segment::Zeros(3)).unwrap();
        b.add_file(utf8, 5, Segment::Bytes(Bytes::from_static(b"x")))
            .unwrap();
        let a = b.finish();
        let m = members(&a);
        assert_eq!(m[0].0, long);
        assert_eq!(m[0].1, vec![0, 0, 0]);
        assert_eq!(m[1].0, utf8);
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        for v in ["", "a", &"b".repeat(85), &"c".repeat(86), &"d".repeat(990)] {
            let r = pax_record("path", v);
            let text = String::from_utf8(r.clone()).unwrap();
            let (n, _) = text.split_once(' ').unwrap();
            assert_eq!(n.parse::<usize>().unwrap(), r.len(), "{text}");
            assert!(text.ends_with(&format!("path={v}\n")));
        }
    }

    #[test]
    fn ranges_agree_with_the_whole_and_stop_at_the_end() {
        let mut b = Builder::default();
        b.add_file("x.ovf", 0, Segment::Bytes(Bytes::from(vec![9u8; 700])))
            .unwrap();
        b.add_file("d", 0, Segment::Generated { seed: 3, len: 5000 })
            .unwrap();
        let a = b.finish();
        let whole = a.read(0, a.size() as usize);
        for (off, len) in [
            (0, 1),
            (511, 2),
            (512, 700),
            (1000, 4000),
            (a.size() - 5, 100),
        ] {
            let got = a.read(off, len);
            let end = (off as usize + len).min(whole.len());
            assert_eq!(got, whole.slice(off as usize..end), "{off}+{len}");
        }
        assert!(a.read(a.size(), 10).is_empty());
        assert!(a.read(u64::MAX, 10).is_empty());
        assert_eq!(a.sha256(), hex::encode(Sha256::digest(&whole)));
    }

    #[test]
    fn bad_members_are_errors() {
        let mut b = Builder::default();
        assert_eq!(
            b.add_file("", 0, Segment::Zeros(1)),
            Err(UstarError::EmptyName)
        );
        assert!(matches!(
            b.add_file("big", 0, Segment::Zeros(MAX_MEMBER + 1)),
            Err(UstarError::TooLarge { .. })
        ));
    }
}
