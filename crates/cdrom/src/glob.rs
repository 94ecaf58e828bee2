//! `cd_files` globbing with the semantics of Go's `filepath.Match` and `filepath.Glob` on Unix,
//! which is what Packer applies to `cd_files`: `*` (any run of characters within one path
//! component, dot files included), `?` (one character), `[...]` / `[^...]` classes with
//! ranges, `\` escapes. There is no `**`: two stars are one star.

use std::fs;
use std::path::{Path, PathBuf};

/// Go triggers globbing for an entry only when it contains one of these.
pub(crate) fn is_glob(entry: &str) -> bool {
    entry.contains(['*', '?', '['])
}

/// Within a glob, a component with one of these must be matched against directory
/// entries (on Unix Go counts `\` too).
fn has_magic(component: &str) -> bool {
    component.contains(['*', '?', '[', '\\'])
}

/// Why a pattern is malformed (Go reports all of these as `ErrBadPattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadPattern(pub(crate) &'static str);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Star,
    AnyChar,
    Literal(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// One path component of a glob, parsed once and matched against many names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    tokens: Vec<Token>,
}

impl Pattern {
    /// Parses a component, rejecting what Go's `Match` rejects anywhere in the pattern.
    pub(crate) fn parse(pattern: &str) -> Result<Self, BadPattern> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    if tokens.last() != Some(&Token::Star) {
                        tokens.push(Token::Star);
                    }
                }
                '?' => tokens.push(Token::AnyChar),
                '\\' => match chars.next() {
                    Some(escaped) => tokens.push(Token::Literal(escaped)),
                    None => return Err(BadPattern("trailing backslash")),
                },
                '[' => {
                    let negated = chars.next_if_eq(&'^').is_some();
                    let mut ranges = Vec::new();
                    loop {
                        if !ranges.is_empty() && chars.next_if_eq(&']').is_some() {
                            break;
                        }
                        let lo = class_char(&mut chars)?;
                        let hi = if chars.next_if_eq(&'-').is_some() {
                            class_char(&mut chars)?
                        } else {
                            lo
                        };
                        // Go accepts a reversed range; it just matches nothing.
                        ranges.push((lo, hi));
                    }
                    tokens.push(Token::Class { negated, ranges });
                }
                other => tokens.push(Token::Literal(other)),
            }
        }
        Ok(Self { tokens })
    }

    /// Whether the whole of `name` matches (classic wildcard backtracking: every token but
    /// `*` consumes exactly one character, so remembering the last star is enough).
    pub(crate) fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let (mut t, mut n) = (0usize, 0usize);
        let mut last_star: Option<(usize, usize)> = None;
        loop {
            match self.tokens.get(t) {
                Some(Token::Star) => {
                    last_star = Some((t, n));
                    t += 1;
                    continue;
                }
                Some(token) => {
                    if let Some(&c) = name.get(n) {
                        if token_matches(token, c) {
                            t += 1;
                            n += 1;
                            continue;
                        }
                    }
                }
                None if n == name.len() => return true,
                None => {}
            }
            // Mismatch: let the last star swallow one more character, if it can.
            match last_star {
                Some((star_t, star_n)) if star_n < name.len() && name.get(star_n) != Some(&'/') => {
                    last_star = Some((star_t, star_n + 1));
                    t = star_t + 1;
                    n = star_n + 1;
                }
                _ => return false,
            }
        }
    }
}

fn token_matches(token: &Token, c: char) -> bool {
    match token {
        Token::Star => true,
        Token::AnyChar => c != '/',
        Token::Literal(l) => *l == c,
        Token::Class { negated, ranges } => {
            ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
        }
    }
}

/// One character of a class, with Go's rules: `\` escapes, a bare `-` or `]` is an error,
/// and so is the end of the pattern.
fn class_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<char, BadPattern> {
    match chars.next() {
        None => Err(BadPattern("unclosed character class")),
        Some('-') | Some(']') => Err(BadPattern("unescaped '-' or ']' in character class")),
        Some('\\') => chars
            .next()
            .ok_or(BadPattern("trailing backslash in character class")),
        Some(c) => Ok(c),
    }
}

/// Expands `pattern` the way Go's `filepath.Glob` does, relative paths against `base`: each
/// component with magic is matched against the names in the directories found so far (sorted
/// byte-wise, unreadable directories contributing nothing), literal components are joined as
/// they are, and only paths that exist are returned.
pub(crate) fn glob(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, BadPattern> {
    let mut current = vec![if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        base.to_path_buf()
    }];
    let components: Vec<&str> = pattern
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    // Validate everything first, as Go does, so a bad pattern is an error even when an earlier
    // component already matched nothing.
    let parsed = components
        .iter()
        .map(|c| {
            if has_magic(c) {
                Pattern::parse(c).map(Some)
            } else {
                Ok(None)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;

    for (component, pattern) in components.iter().zip(parsed) {
        let mut next = Vec::new();
        for dir in &current {
            match &pattern {
                None => next.push(dir.join(component)),
                Some(pattern) => {
                    let Ok(entries) = fs::read_dir(dir) else {
                        continue;
                    };
                    let mut names: Vec<String> = entries
                        .filter_map(|e| e.ok())
                        .filter_map(|e| e.file_name().into_string().ok())
                        .filter(|name| pattern.matches(name))
                        .collect();
                    names.sort();
                    next.extend(names.into_iter().map(|name| dir.join(name)));
                }
            }
        }
        current = next;
    }
    current.retain(|p| fs::symlink_metadata(p).is_ok());
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each row of `tests/vectors/go-filepath-match.tsv` was produced by Go's
    /// `filepath.Match` (see `tests/vectors/gen_match.go`): pattern, name, and `true`, `false`
    /// or `bad`. Names never contain `/` here because our components never do.
    ///
    /// One deliberate difference: Go notices a malformed part of a pattern only when a name
    /// gets that far (`a*[` is "no match" for `b`), we reject a malformed pattern for every
    /// name. So where Go says `bad` for some name, we must say `bad` for all of them.
    #[test]
    fn matches_like_go_filepath_match() {
        let table = include_str!("../tests/vectors/go-filepath-match.tsv");
        let rows: Vec<(String, String, &str)> = table
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|line| {
                let cols: Vec<&str> = line.split('\t').collect();
                assert_eq!(cols.len(), 3, "malformed vector line {line:?}");
                (unescape(cols[0]), unescape(cols[1]), cols[2])
            })
            .collect();
        assert!(rows.len() > 1000, "the vector file looks truncated");
        let malformed: std::collections::BTreeSet<&str> = rows
            .iter()
            .filter(|r| r.2 == "bad")
            .map(|r| r.0.as_str())
            .collect();
        for (pattern, name, go) in &rows {
            let ours = match Pattern::parse(pattern) {
                Err(_) => "bad",
                Ok(p) if p.matches(name) => "true",
                Ok(_) => "false",
            };
            let expected = if malformed.contains(pattern.as_str()) {
                "bad"
            } else {
                go
            };
            assert_eq!(
                ours, expected,
                "pattern {pattern:?} name {name:?} (Go: {go})"
            );
        }
    }

    /// The vector file escapes tab, newline and backslash as Go's strconv.Quote would not
    /// survive a TSV; only `\\t` `\\n` `\\\\` are used.
    fn unescape(s: &str) -> String {
        let mut out = String::new();
        let mut chars = s.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('t') => out.push('\t'),
                    Some('n') => out.push('\n'),
                    Some('\\') => out.push('\\'),
                    Some(other) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    #[test]
    fn glob_walks_components_sorted_and_skips_missing() {
        let dir = tempfile::tempdir().unwrap();
        for p in [
            "a/x.cfg",
            "a/y.cfg",
            "b/z.cfg",
            "b/w.txt",
            "c.cfg",
            ".hidden.cfg",
        ] {
            let path = dir.path().join(p);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, p).unwrap();
        }
        let rel = |v: Vec<PathBuf>| -> Vec<String> {
            v.iter()
                .map(|p| p.strip_prefix(dir.path()).unwrap().display().to_string())
                .collect()
        };
        assert_eq!(
            rel(glob(dir.path(), "*/*.cfg").unwrap()),
            ["a/x.cfg", "a/y.cfg", "b/z.cfg"]
        );
        // Go's `*` matches a leading dot too.
        assert_eq!(
            rel(glob(dir.path(), "*.cfg").unwrap()),
            [".hidden.cfg", "c.cfg"]
        );
        assert!(glob(dir.path(), "nope/*.cfg").unwrap().is_empty());
        assert!(glob(dir.path(), "a/*.iso").unwrap().is_empty());
        assert_eq!(rel(glob(dir.path(), "a/x.cf?").unwrap()), ["a/x.cfg"]);
        assert_eq!(
            glob(dir.path(), "a/[").unwrap_err(),
            BadPattern("unclosed character class")
        );
        // Absolute patterns ignore the base.
        let abs = format!("{}/b/*", dir.path().display());
        assert_eq!(
            rel(glob(Path::new("/nonexistent"), &abs).unwrap()),
            ["b/w.txt", "b/z.cfg"]
        );
    }
}
