//! File identifiers for the two directory trees of the image: the primary one (ISO 9660
//! level 1, `NAME.EXT;1` in upper-case d-characters, what `genisoimage` writes without `-l`;
//! readers that know Rock Ridge show the real name instead) and the Joliet one (UCS-2
//! big-endian, up to 64 characters, what Windows shows). Each function makes identifiers
//! unique within one directory and sorts them as the standard asks.

use std::cmp::Ordering;
use std::collections::HashSet;

/// Longest Joliet name in UCS-2 units (the Joliet limit that
/// `genisoimage` and `xorriso` keep unless asked for longer names).
pub(crate) const JOLIET_MAX: usize = 64;

/// One entry to name: its real name and whether it is a directory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Named<'a> {
    pub(crate) name: &'a str,
    pub(crate) is_dir: bool,
}

/// Level 1 identifiers for `entries` (same order), unique within the directory.
pub(crate) fn primary_names(entries: &[Named<'_>]) -> Vec<Vec<u8>> {
    let mut used = HashSet::new();
    entries
        .iter()
        .map(|e| {
            let (stem, ext) = primary_parts(e.name, e.is_dir);
            unique(&mut used, |n| primary_ident(&stem, &ext, e.is_dir, n))
        })
        .collect()
}

/// Joliet identifiers (UCS-2 big-endian bytes) for `entries` (same order), unique within the
/// directory.
pub(crate) fn joliet_names(entries: &[Named<'_>]) -> Vec<Vec<u8>> {
    let mut used = HashSet::new();
    entries
        .iter()
        .map(|e| {
            let units = joliet_units(e.name);
            unique(&mut used, |n| joliet_ident(&units, e.is_dir, n))
        })
        .collect()
}

/// The first candidate (`make(0)`, `make(1)`...) not yet used; candidates differ for
/// different `n`, so this ends after at most `used.len() + 1` tries.
fn unique(used: &mut HashSet<Vec<u8>>, make: impl Fn(u32) -> Vec<u8>) -> Vec<u8> {
    let mut n = 0u32;
    loop {
        let candidate = make(n);
        if used.insert(candidate.clone()) {
            return candidate;
        }
        n = n.saturating_add(1);
    }
}

/// d-characters: A-Z 0-9 _ (lower case folded up, anything else becomes `_`).
fn d_chars(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'A'..='Z' | '0'..='9' | '_' => c,
            'a'..='z' => c.to_ascii_uppercase(),
            _ => '_',
        })
        .collect()
}

/// Level 1 stem (≤ 8) and extension (≤ 3); directories have no extension.
fn primary_parts(name: &str, is_dir: bool) -> (String, String) {
    let (stem, ext) = match name.rfind('.') {
        Some(dot) if !is_dir && dot > 0 => (&name[..dot], &name[dot + 1..]),
        _ => (name, ""),
    };
    let mut stem = d_chars(stem);
    if stem.is_empty() {
        stem.push('_');
    }
    let ext: String = d_chars(ext).chars().take(3).collect();
    (stem.chars().take(8).collect(), ext)
}

/// `STEM.EXT;1` (files) or `STEM` (directories); for `n > 0` the stem's tail is replaced
/// by the decimal `n` so the stem stays within 8 characters.
fn primary_ident(stem: &str, ext: &str, is_dir: bool, n: u32) -> Vec<u8> {
    let stem = with_counter(stem.chars().collect(), 8, n);
    let mut out: String = stem.into_iter().collect();
    if !is_dir {
        out.push('.');
        out.push_str(ext);
        out.push_str(";1");
    }
    out.into_bytes()
}

/// Truncates `stem` to leave room for `n`'s digits (when `n > 0`) within `max`, then
/// appends them.
fn with_counter<T: Copy + From<u8>>(mut stem: Vec<T>, max: usize, n: u32) -> Vec<T> {
    if n == 0 {
        stem.truncate(max);
        return stem;
    }
    let digits = n.to_string();
    stem.truncate(max.saturating_sub(digits.len()));
    stem.extend(digits.bytes().map(T::from));
    stem
}

/// The real name as UCS-2 with the characters Joliet forbids (`* / : ; ? \` and controls)
/// and those outside the Basic Multilingual Plane (UCS-2 has no surrogates; xorriso warns
/// about them) replaced by `_`.
fn joliet_units(name: &str) -> Vec<u16> {
    name.chars()
        .map(|c| match c {
            '*' | '/' | ':' | ';' | '?' | '\\' => '_',
            c if (c as u32) < 0x20 || (c as u32) > 0xFFFF => '_',
            c => c,
        })
        .collect::<String>()
        .encode_utf16()
        .collect()
}

/// A Joliet identifier: the name cut to [`JOLIET_MAX`] units keeping a short extension,
/// `_n` before the extension when `n > 0`. No `;1` version, as `xorriso -as genisoimage
/// -joliet` (Packer's first choice of tool) writes them.
fn joliet_ident(units: &[u16], is_dir: bool, n: u32) -> Vec<u8> {
    let dot = units.iter().rposition(|&u| u == u16::from(b'.'));
    let (stem, ext) = match dot {
        // Keep extensions of a sensible length whole; a long tail after a dot is just name.
        Some(d) if !is_dir && d > 0 && units.len() - d <= 16 => (
            units.get(..d).unwrap_or(units),
            units.get(d..).unwrap_or(&[]),
        ),
        _ => (units, &[][..]),
    };
    let room = JOLIET_MAX.saturating_sub(ext.len());
    let suffix: Vec<u16> = if n == 0 {
        Vec::new()
    } else {
        format!("_{n}").encode_utf16().collect()
    };
    let mut stem = stem.to_vec();
    stem.truncate(room.saturating_sub(suffix.len()));
    stem.extend(suffix);
    stem.extend_from_slice(ext);
    stem.iter().flat_map(|u| u.to_be_bytes()).collect()
}

/// ECMA-119 §9.3 order for level 1 identifiers: by name, then extension, each compared as if
/// padded with spaces (so `A` < `A0` < `AB`), version ignored (always 1 here).
pub(crate) fn primary_order(a: &[u8], b: &[u8]) -> Ordering {
    fn split(id: &[u8]) -> (&[u8], &[u8]) {
        let id = id.split(|&c| c == b';').next().unwrap_or(id);
        let mut parts = id.splitn(2, |&c| c == b'.');
        (parts.next().unwrap_or(&[]), parts.next().unwrap_or(&[]))
    }
    let (an, ae) = split(a);
    let (bn, be) = split(b);
    padded_cmp(an, bn).then_with(|| padded_cmp(ae, be))
}

fn padded_cmp(a: &[u8], b: &[u8]) -> Ordering {
    let len = a.len().max(b.len());
    let at = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(b' ');
    (0..len)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prim(names: &[(&str, bool)]) -> Vec<String> {
        let entries: Vec<Named<'_>> = names
            .iter()
            .map(|&(name, is_dir)| Named { name, is_dir })
            .collect();
        primary_names(&entries)
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    }

    fn jol(names: &[(&str, bool)]) -> Vec<String> {
        let entries: Vec<Named<'_>> = names
            .iter()
            .map(|&(name, is_dir)| Named { name, is_dir })
            .collect();
        joliet_names(&entries)
            .into_iter()
            .map(|v| {
                let units: Vec<u16> = v
                    .chunks(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16(&units).unwrap()
            })
            .collect()
    }

    #[test]
    fn primary_names_are_level_1_and_unique() {
        assert_eq!(
            prim(&[
                ("meta-data", false),
                ("user-data", false),
                ("ks.cfg", false),
                ("Autounattend.xml", false),
                ("archive.tar.gz", false),
                (".hidden", false),
                ("drivers", true),
                ("dir.with.dots", true),
            ]),
            [
                "META_DAT.;1",
                "USER_DAT.;1",
                "KS.CFG;1",
                "AUTOUNAT.XML;1",
                "ARCHIVE_.GZ;1",
                "_HIDDEN.;1",
                "DRIVERS",
                "DIR_WITH",
            ]
        );
        assert_eq!(
            prim(&[
                ("meta-data", false),
                ("meta_data", false),
                ("META-DATA", false)
            ]),
            ["META_DAT.;1", "META_DA1.;1", "META_DA2.;1"]
        );
    }

    #[test]
    fn joliet_names_keep_case_and_length_up_to_64() {
        assert_eq!(
            jol(&[
                ("User-Data", false),
                ("My Drivers", true),
                ("a:b?.txt", false)
            ]),
            ["User-Data", "My Drivers", "a_b_.txt"]
        );
        let long = format!("{}.cfg", "x".repeat(100));
        let got = jol(&[(long.as_str(), false), (long.as_str(), false)]);
        assert_eq!(got[0], format!("{}.cfg", "x".repeat(60)));
        assert_eq!(got[1], format!("{}_1.cfg", "x".repeat(58)));
        assert!(got
            .iter()
            .all(|n| n.encode_utf16().count() <= JOLIET_MAX + 2));
        // UCS-2 has no room for characters beyond the BMP.
        assert_eq!(jol(&[("a😀b", true)]), ["a_b"]);
    }

    #[test]
    fn order_follows_ecma_119() {
        let mut ids: Vec<&[u8]> = vec![b"AB.;1", b"A0.;1", b"A.TXT;1", b"A.;1", b"B", b"A_B"];
        ids.sort_by(|a, b| primary_order(a, b));
        assert_eq!(
            ids,
            [&b"A.;1"[..], b"A.TXT;1", b"A0.;1", b"AB.;1", b"A_B", b"B"]
        );
    }
}
