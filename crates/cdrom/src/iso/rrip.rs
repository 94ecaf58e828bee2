//! Rock Ridge (RRIP 1.09 over SUSP 1.10) System Use entries for the primary tree, so that
//! Linux and xorriso see real names, modes and times, and the placement of those entries in
//! a directory record or, when they do not fit, in a continuation area (`CE`).

use super::encode::{both32, record_base_len, record_date, MAX_RECORD, SECTOR};

/// The extension identifier, descriptor and source of RRIP 1.09 (RRIP §4.3, the texts the
/// specification gives for the `ER` entry).
const ER_ID: &[u8] = b"RRIP_1991A";
const ER_DESCRIPTOR: &[u8] =
    b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
const ER_SOURCE: &[u8] = b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

/// Size of a `CE` entry (SUSP §5.1).
const CE_LEN: usize = 28;
/// Most name bytes one `NM` entry carries (its length byte also counts the 5-byte header).
const NM_CHUNK: usize = 250;

/// POSIX attributes of one entry (`PX`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Posix {
    pub(crate) mode: u32,
    pub(crate) links: u32,
}

/// `S_IFDIR | r-xr-xr-x`: a CD is read-only, owners are root (as `-r` / rational Rock Ridge).
pub(crate) const DIR_MODE: u32 = 0o040_555;
/// `S_IFREG | r--r--r--`.
pub(crate) const FILE_MODE: u32 = 0o100_444;
/// `S_IFREG | r-xr-xr-x`, for local files that had an execute bit.
pub(crate) const EXEC_MODE: u32 = 0o100_555;

/// What one directory record says in Rock Ridge terms.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry<'a> {
    /// The real name (`None` for `.` and `..`).
    pub(crate) name: Option<&'a str>,
    pub(crate) posix: Posix,
    pub(crate) mtime: i64,
    /// The root's `.` record, which starts with `SP` and carries `ER`.
    pub(crate) root_self: bool,
}

/// The SUSP entries for `e`, in order, each a complete entry.
pub(crate) fn entries(e: &Entry<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if e.root_self {
        // SP: check bytes BE EF, no bytes skipped (SUSP §5.3).
        out.push(vec![b'S', b'P', 7, 1, 0xBE, 0xEF, 0]);
    }
    // RR: which RRIP entries follow (RRIP 1.09 §4.1.7): PX, TF, and NM for named entries.
    let rr_flags = 0x01 | 0x80 | if e.name.is_some() { 0x08 } else { 0 };
    out.push(vec![b'R', b'R', 5, 1, rr_flags]);
    let mut px = vec![b'P', b'X', 36, 1];
    px.extend_from_slice(&both32(e.posix.mode));
    px.extend_from_slice(&both32(e.posix.links));
    px.extend_from_slice(&both32(0)); // uid
    px.extend_from_slice(&both32(0)); // gid
    out.push(px);
    // TF with modify, access and attribute-change times, short form (RRIP §4.1.6).
    let date = record_date(e.mtime);
    let mut tf = vec![b'T', b'F', 5 + 3 * 7, 1, 0x0E];
    for _ in 0..3 {
        tf.extend_from_slice(&date);
    }
    out.push(tf);
    if let Some(name) = e.name {
        let bytes = name.as_bytes();
        let chunks: Vec<&[u8]> = bytes.chunks(NM_CHUNK).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let more = i + 1 < chunks.len();
            let mut nm = vec![b'N', b'M', (5 + chunk.len()) as u8, 1, u8::from(more)];
            nm.extend_from_slice(chunk);
            out.push(nm);
        }
    }
    if e.root_self {
        let mut er = vec![
            b'E',
            b'R',
            (8 + ER_ID.len() + ER_DESCRIPTOR.len() + ER_SOURCE.len()) as u8,
            1,
            ER_ID.len() as u8,
            ER_DESCRIPTOR.len() as u8,
            ER_SOURCE.len() as u8,
            1,
        ];
        er.extend_from_slice(ER_ID);
        er.extend_from_slice(ER_DESCRIPTOR);
        er.extend_from_slice(ER_SOURCE);
        out.push(er);
    }
    out
}

/// Continuation areas, packed into whole sectors that follow the directories. Each area
/// stays within one sector, as SUSP requires.
#[derive(Debug, Default)]
pub(crate) struct Continuations {
    /// First sector of the region.
    base: u32,
    bytes: Vec<u8>,
}

impl Continuations {
    /// An empty region starting at sector `base`.
    pub(crate) fn new(base: u32) -> Self {
        Self {
            base,
            bytes: Vec::new(),
        }
    }

    /// Stores `area` (at most one sector) and returns its `CE` entry.
    fn push(&mut self, area: &[u8]) -> Vec<u8> {
        let used_in_sector = self.bytes.len() % SECTOR;
        if used_in_sector != 0 && used_in_sector + area.len() > SECTOR {
            self.bytes
                .resize(self.bytes.len() + SECTOR - used_in_sector, 0);
        }
        let sector = (self.bytes.len() / SECTOR) as u32;
        let offset = (self.bytes.len() % SECTOR) as u32;
        self.bytes.extend_from_slice(area);
        let mut ce = vec![b'C', b'E', CE_LEN as u8, 1];
        ce.extend_from_slice(&both32(self.base + sector));
        ce.extend_from_slice(&both32(offset));
        ce.extend_from_slice(&both32(area.len() as u32));
        ce
    }

    /// Sectors used so far.
    pub(crate) fn sectors(&self) -> u32 {
        self.bytes.len().div_ceil(SECTOR) as u32
    }

    /// The region's bytes, padded to whole sectors.
    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        let len = self.bytes.len().div_ceil(SECTOR) * SECTOR;
        self.bytes.resize(len, 0);
        self.bytes
    }
}

/// The System Use field for a record whose identifier is `ident_len` bytes: all entries if
/// they fit, otherwise those that fit followed by a `CE` pointing at the rest.
pub(crate) fn system_use(ident_len: usize, entries: &[Vec<u8>], ce: &mut Continuations) -> Vec<u8> {
    // Keep the record length even: the last byte may be padding.
    let room = (MAX_RECORD - record_base_len(ident_len)) & !1;
    let total: usize = entries.iter().map(Vec::len).sum();
    if total <= room {
        return entries.concat();
    }
    let mut inline = Vec::new();
    let mut rest = entries.iter();
    for entry in rest.by_ref() {
        if inline.len() + entry.len() + CE_LEN > room {
            let mut area = entry.clone();
            for more in rest.by_ref() {
                area.extend_from_slice(more);
            }
            inline.extend_from_slice(&ce.push(&area));
            return inline;
        }
        inline.extend_from_slice(entry);
    }
    inline
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: Option<&str>, root_self: bool) -> Entry<'_> {
        Entry {
            name,
            posix: Posix {
                mode: FILE_MODE,
                links: 1,
            },
            mtime: 0,
            root_self,
        }
    }

    /// Every SUSP entry is [sig sig len ver ...] with len = its own size.
    fn parse(mut su: &[u8]) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        while su.len() >= 4 {
            let len = su[2] as usize;
            assert!(len >= 4 && len <= su.len(), "bad entry length");
            out.push((String::from_utf8_lossy(&su[..2]).into_owned(), len));
            su = &su[len..];
        }
        out
    }

    #[test]
    fn short_names_fit_in_the_record() {
        let mut ce = Continuations::new(100);
        let su = system_use(14, &entries(&entry(Some("user-data"), false)), &mut ce);
        let sigs: Vec<String> = parse(&su).into_iter().map(|(s, _)| s).collect();
        assert_eq!(sigs, ["RR", "PX", "TF", "NM"]);
        assert_eq!(ce.sectors(), 0);
    }

    #[test]
    fn long_names_and_the_root_go_to_a_continuation_area() {
        let mut ce = Continuations::new(100);
        let name = "n".repeat(255);
        let es = entries(&entry(Some(&name), false));
        // NM is split: 250 bytes then 5, the first flagged CONTINUE.
        let nms: Vec<&Vec<u8>> = es.iter().filter(|e| &e[..2] == b"NM").collect();
        assert_eq!((nms.len(), nms[0][4], nms[1][4]), (2, 1, 0));
        let su = system_use(14, &es, &mut ce);
        let sigs: Vec<String> = parse(&su).into_iter().map(|(s, _)| s).collect();
        assert_eq!(sigs, ["RR", "PX", "TF", "CE"]);
        assert!(14 + 34 + su.len() <= MAX_RECORD);
        // The CE points at sector 100, offset 0, and the area holds both NM entries.
        let ce_entry = &su[su.len() - 28..];
        assert_eq!(&ce_entry[4..12], &both32(100));
        assert_eq!(&ce_entry[12..20], &both32(0));
        assert_eq!(&ce_entry[20..28], &both32(255 + 10));
        let root = system_use(1, &entries(&entry(None, true)), &mut ce);
        let sigs: Vec<String> = parse(&root).into_iter().map(|(s, _)| s).collect();
        assert_eq!(sigs.first().map(String::as_str), Some("SP"));
        assert_eq!(sigs.last().map(String::as_str), Some("CE"));
        let bytes = ce.into_bytes();
        assert_eq!(bytes.len(), SECTOR);
        // ER follows the first area in the same sector.
        assert_eq!(&bytes[265..267], b"ER");
        assert_eq!(&bytes[273..283], ER_ID);
    }

    #[test]
    fn areas_never_straddle_a_sector() {
        let mut ce = Continuations::new(7);
        for _ in 0..8 {
            ce.push(&[1u8; 300]);
        }
        // Six areas fill the first sector to 1800 bytes; the 7th and 8th went to the next
        // sector (8), and the 9th follows them there.
        let e = ce.push(&[2u8; 300]);
        assert_eq!(&e[4..12], &both32(8));
        assert_eq!(&e[12..20], &both32(600));
    }
}
