//! Pure request logic of the boot-time HTTP server: cleaning the URL path, `Range`
//! parsing, content types, "did you mean" suggestions and the directory listing. No I/O,
//! so every rule is tested directly.

use percent_encoding::percent_decode_str;

/// A request path made safe to look up: percent-decoded, `.` and empty segments dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CleanPath {
    /// Segments below the root, none of them `..`, `.` or empty.
    pub(crate) segments: Vec<String>,
    /// `/` followed by the segments joined with `/` (the form `http_content` keys take).
    pub(crate) key: String,
    /// Whether the raw path ended with `/` (directories are served at `dir/`).
    pub(crate) trailing_slash: bool,
}

/// Why a request path is refused with 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadPath {
    /// A `..` segment (before or after decoding): never walk out of the served tree.
    Traversal,
    /// Not UTF-8 after decoding, or a NUL byte.
    Invalid,
}

/// Cleans the raw (still percent-encoded) path of a request.
pub(crate) fn clean_path(raw: &str) -> Result<CleanPath, BadPath> {
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| BadPath::Invalid)?;
    if decoded.contains('\0') {
        return Err(BadPath::Invalid);
    }
    let mut segments = Vec::new();
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(BadPath::Traversal),
            s => segments.push(s.to_owned()),
        }
    }
    let key = format!("/{}", segments.join("/"));
    Ok(CleanPath {
        segments,
        key,
        trailing_slash: decoded.ends_with('/'),
    })
}

/// An `http_content` key in the form [`clean_path`] gives (`/a/b`); Packer's keys start
/// with `/`, a key without it is taken as if it had one.
pub(crate) fn content_key(key: &str) -> String {
    let segments: Vec<&str> = key
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .collect();
    format!("/{}", segments.join("/"))
}

/// What a `Range` header asks of a body of `size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Range {
    /// No usable single range: send everything with 200 (several ranges, or a header we
    /// do not understand, are ignored as RFC 9110 §14.2 allows).
    Full,
    /// Send bytes `start..=end` with 206.
    Part { start: u64, end: u64 },
    /// 416: the range starts beyond the end.
    Unsatisfiable,
}

/// Parses one `bytes=` range (RFC 9110 §14.1.2).
pub(crate) fn parse_range(header: Option<&str>, size: u64) -> Range {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Range::Full;
    };
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |s: &str| -> Option<u64> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            s.parse().ok()
        }
    };
    if first.is_empty() {
        // `-N`: the last N bytes.
        return match number(last) {
            None => Range::Full,
            Some(0) => Range::Unsatisfiable,
            Some(_) if size == 0 => Range::Unsatisfiable,
            Some(n) => Range::Part {
                start: size.saturating_sub(n),
                end: size - 1,
            },
        };
    }
    let Some(start) = number(first) else {
        return Range::Full;
    };
    // `a-` runs to the end.
    let last = if last.is_empty() {
        None
    } else {
        match number(last) {
            Some(l) => Some(l),
            None => return Range::Full,
        }
    };
    if start >= size {
        return Range::Unsatisfiable;
    }
    let end = last.map_or(size - 1, |l| l.min(size - 1));
    if end < start {
        Range::Full
    } else {
        Range::Part { start, end }
    }
}

/// The `Content-Type` Go's file server would send: by extension for the types Go knows
/// without a system table, otherwise sniffed from the first bytes (HTML, XML, text, or
/// binary).
pub(crate) fn content_type(name: &str, head: &[u8]) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let by_ext = match ext.as_deref() {
        Some("htm" | "html") => Some("text/html; charset=utf-8"),
        Some("css") => Some("text/css; charset=utf-8"),
        Some("js" | "mjs") => Some("text/javascript; charset=utf-8"),
        Some("json") => Some("application/json"),
        Some("xml") => Some("text/xml; charset=utf-8"),
        Some("pdf") => Some("application/pdf"),
        Some("png") => Some("image/png"),
        Some("gif") => Some("image/gif"),
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        Some("svg") => Some("image/svg+xml"),
        Some("webp") => Some("image/webp"),
        Some("avif") => Some("image/avif"),
        Some("wasm") => Some("application/wasm"),
        _ => None,
    };
    by_ext.unwrap_or_else(|| sniff(head))
}

fn sniff(head: &[u8]) -> &'static str {
    let head = head.get(..512).unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !matches!(b, b'\t' | b'\n' | 0x0C | b'\r' | b' '))
        .unwrap_or(head.len());
    let lower: Vec<u8> = head
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take(14)
        .map(u8::to_ascii_lowercase)
        .collect();
    if lower.starts_with(b"<!doctype html") || lower.starts_with(b"<html") {
        return "text/html; charset=utf-8";
    }
    if lower.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    // Go's rule: text unless a byte is a control character other than \t \n \f \r and ESC.
    let binary = head.iter().any(|&b| {
        b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b)
    });
    if binary {
        "application/octet-stream"
    } else {
        "text/plain; charset=utf-8"
    }
}

/// The first key within edit distance 2 of `path` (the threshold Packer's `didyoumean`
/// uses for its `http_content` 404 message).
pub(crate) fn suggestion<'a>(
    path: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    keys.into_iter().find(|k| levenshtein(path, k) < 3)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row.first().copied().unwrap_or(0);
        if let Some(first) = row.first_mut() {
            *first = i + 1;
        }
        for (j, cb) in b.iter().enumerate() {
            let above = row.get(j + 1).copied().unwrap_or(0);
            let left = row.get(j).copied().unwrap_or(0);
            let cost = usize::from(ca != *cb);
            let value = (above + 1).min(left + 1).min(diagonal + cost);
            diagonal = above;
            if let Some(cell) = row.get_mut(j + 1) {
                *cell = value;
            }
        }
    }
    row.last().copied().unwrap_or(0)
}

/// An HTML directory listing like Go's `http.FileServer` (sorted names, `/` after
/// directories), for installers that browse `http_directory`.
pub(crate) fn listing(entries: &[(String, bool)]) -> String {
    let mut out = String::from(
        "<!doctype html>\n<meta name=\"viewport\" content=\"width=device-width\">\n<pre>\n",
    );
    for (name, is_dir) in entries {
        let shown = if *is_dir {
            format!("{name}/")
        } else {
            name.clone()
        };
        let href = percent_encoding::utf8_percent_encode(&shown, HREF).to_string();
        out.push_str(&format!("<a href=\"{href}\">{}</a>\n", html_escape(&shown)));
    }
    out.push_str("</pre>\n");
    out
}

/// Characters escaped in listing links: controls, space and what HTML or URLs give meaning.
const HREF: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'\'')
    .add(b'&')
    .add(b':');

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_and_traversal_refused() {
        let p = clean_path("/ks/./rhel%209.cfg").unwrap();
        assert_eq!(p.segments, ["ks", "rhel 9.cfg"]);
        assert_eq!(p.key, "/ks/rhel 9.cfg");
        assert!(!p.trailing_slash);
        assert!(clean_path("//dir//").unwrap().trailing_slash);
        assert_eq!(clean_path("/").unwrap().key, "/");
        assert_eq!(clean_path("/../etc/passwd"), Err(BadPath::Traversal));
        assert_eq!(clean_path("/a/%2e%2e/%2e%2e/x"), Err(BadPath::Traversal));
        assert_eq!(clean_path("/a/..%2f..%2fx"), Err(BadPath::Traversal));
        assert_eq!(clean_path("/a%00"), Err(BadPath::Invalid));
        assert_eq!(clean_path("/%ff"), Err(BadPath::Invalid));
        assert_eq!(content_key("preseed.cfg"), "/preseed.cfg");
        assert_eq!(content_key("/a//b"), "/a/b");
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        assert_eq!(parse_range(None, 10), Range::Full);
        assert_eq!(
            parse_range(Some("bytes=0-4"), 10),
            Range::Part { start: 0, end: 4 }
        );
        assert_eq!(
            parse_range(Some("bytes=5-"), 10),
            Range::Part { start: 5, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-3"), 10),
            Range::Part { start: 7, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-30"), 10),
            Range::Part { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=2-100"), 10),
            Range::Part { start: 2, end: 9 }
        );
        assert_eq!(parse_range(Some("bytes=10-"), 10), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 10), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,3-4"), 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=5-2"), 10), Range::Full);
        assert_eq!(parse_range(Some("items=0-1"), 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=x-1"), 10), Range::Full);
        assert_eq!(parse_range(Some("bytes=0-0"), 0), Range::Unsatisfiable);
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a.JSON", b""), "application/json");
        assert_eq!(
            content_type("ks.cfg", b"text\n"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type("blob", &[0, 1, 2]), "application/octet-stream");
        assert_eq!(
            content_type("index", b"  <!DOCTYPE html><p>"),
            "text/html; charset=utf-8"
        );
        assert_eq!(
            content_type("unattend", b"<?xml version"),
            "text/xml; charset=utf-8"
        );
    }

    #[test]
    fn suggestions_within_two_edits() {
        let keys = ["/preseed.cfg", "/user-data"];
        assert_eq!(suggestion("/preseed.cf", keys), Some("/preseed.cfg"));
        assert_eq!(suggestion("/usr-dta", keys), Some("/user-data"));
        assert_eq!(suggestion("/other", keys), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
    }

    #[test]
    fn listing_escapes_names() {
        let html = listing(&[("a b&c".into(), false), ("sub".into(), true)]);
        assert!(
            html.contains("<a href=\"a%20b%26c\">a b&amp;c</a>\n"),
            "{html}"
        );
        assert!(html.contains("<a href=\"sub/\">sub/</a>\n"));
    }
}
