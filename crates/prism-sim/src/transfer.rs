//! Image bytes: the deterministic content served for images whose bytes were not kept, and
//! HTTP `Range` parsing for downloads. Both pure, so they are tested without a server.

use bytes::Bytes;

/// Size of the blocks the generated content is made of.
const BLOCK: u64 = 64 * 1024;

/// Seed of an image's generated content, derived from its UUID.
pub(crate) fn seed_for(uuid: &str) -> u64 {
    uuid::Uuid::try_parse(uuid)
        .map(|u| u.as_u64_pair().0 ^ u.as_u64_pair().1)
        .unwrap_or(0x5eed)
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `len` bytes of the generated content starting at `offset`: byte `i` depends only on the seed
/// and `i`, so ranges of the same image agree with a full download.
pub(crate) fn generated(seed: u64, offset: u64, len: usize) -> Bytes {
    let mut out = Vec::with_capacity(len);
    let mut pos = offset;
    let end = offset.saturating_add(len as u64);
    while pos < end {
        let word_index = pos / 8;
        let word = splitmix(seed ^ splitmix(word_index)).to_le_bytes();
        let start = (pos % 8) as usize;
        let take = ((end - pos) as usize).min(8 - start);
        out.extend_from_slice(word.get(start..start + take).unwrap_or(&[]));
        pos += take as u64;
    }
    Bytes::from(out)
}

/// The next chunk length when streaming `remaining` bytes.
pub(crate) fn chunk_len(remaining: u64) -> usize {
    remaining.min(BLOCK) as usize
}

/// A parsed `Range` header against a body of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeReq {
    /// No (usable) Range header: the whole body.
    Full,
    /// Bytes `start..=end`.
    Partial { start: u64, end: u64 },
    /// The range lies outside the body (416).
    Unsatisfiable,
}

/// Parses a single-range `bytes=` header; multi-range and malformed headers are ignored (served
/// in full), as RFC 9110 allows.
pub(crate) fn parse_range(header: Option<&str>, size: u64) -> RangeReq {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeReq::Full;
    };
    if spec.contains(',') {
        return RangeReq::Full;
    }
    let Some((a, b)) = spec.split_once('-') else {
        return RangeReq::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.is_empty(), b.is_empty()) {
        (true, true) => RangeReq::Full,
        (true, false) => match b.parse::<u64>() {
            Ok(0) => RangeReq::Unsatisfiable,
            Ok(_) if size == 0 => RangeReq::Unsatisfiable,
            Ok(n) => RangeReq::Partial {
                start: size.saturating_sub(n),
                end: size - 1,
            },
            Err(_) => RangeReq::Full,
        },
        (false, _) => {
            let Ok(start) = a.parse::<u64>() else {
                return RangeReq::Full;
            };
            let end = if b.is_empty() {
                size.saturating_sub(1)
            } else {
                match b.parse::<u64>() {
                    Ok(e) if e >= start => e.min(size.saturating_sub(1)),
                    _ => return RangeReq::Full,
                }
            };
            if start >= size {
                RangeReq::Unsatisfiable
            } else {
                RangeReq::Partial { start, end }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_content_is_deterministic_and_offset_consistent() {
        let s = seed_for("c3b5e0a2-2222-4e1f-9d4b-000000000001");
        let whole = generated(s, 0, 1000);
        assert_eq!(whole.len(), 1000);
        assert_eq!(whole, generated(s, 0, 1000));
        for (off, len) in [(0, 1), (3, 17), (8, 8), (999, 1), (123, 500)] {
            assert_eq!(
                generated(s, off, len),
                whole.slice(off as usize..off as usize + len),
                "{off}+{len}"
            );
        }
        assert_ne!(
            whole,
            generated(seed_for("c3b5e0a2-2222-4e1f-9d4b-000000000002"), 0, 1000)
        );
        assert!(generated(s, u64::MAX - 3, 10).len() <= 10);
        // not a constant pattern
        assert!(whole.iter().collect::<std::collections::HashSet<_>>().len() > 100);
    }

    #[test]
    fn ranges() {
        use RangeReq::*;
        assert_eq!(parse_range(None, 10), Full);
        assert_eq!(
            parse_range(Some("bytes=0-4"), 10),
            Partial { start: 0, end: 4 }
        );
        assert_eq!(
            parse_range(Some("bytes=5-"), 10),
            Partial { start: 5, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-3"), 10),
            Partial { start: 7, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-30"), 10),
            Partial { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=8-100"), 10),
            Partial { start: 8, end: 9 }
        );
        assert_eq!(parse_range(Some("bytes=10-"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-"), 0), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Full);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), Full);
        assert_eq!(
            parse_range(Some("bytes=99999999999999999999999-"), 10),
            Full
        );
    }
}
