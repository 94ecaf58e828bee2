//! Remote path handling: Go's `path.Clean/Dir/Base/Join` (the Go communicator splits and joins
//! remote paths with them, so destinations land where Packer users expect), and quoting paths
//! for the remote shell that runs `scp`.

/// Go's `path.Clean`: lexical normalisation of a slash-separated path.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Dir`: everything but the last element, cleaned.
pub(crate) fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(path.get(..=i).unwrap_or("/")),
        None => ".".into(),
    }
}

/// Go's `path.Base`: the last element, trailing slashes removed.
pub(crate) fn base(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed.get(i + 1..).unwrap_or(trimmed).to_string(),
        None => trimmed.to_string(),
    }
}

/// Go's `path.Join` of two elements.
pub(crate) fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => clean(&format!("{a}/{b}")),
    }
}

/// Quotes a path for the POSIX shell that runs `scp` on the remote side.
///
/// Plain paths pass unchanged (so `~/x` and `$HOME/x` expand as with the Go communicator);
/// anything else is double-quoted with `\`, `"`, `` ` `` escaped, which keeps `$VAR` expansion
/// (as Go's `strconv.Quote` for downloads did) and protects spaces and other metacharacters.
/// A leading `~` or `~user` stays outside the quotes so it still expands.
pub(crate) fn shell_quote(path: &str) -> String {
    fn plain(c: char) -> bool {
        c.is_ascii_alphanumeric() || "_@%+=:,./~-$".contains(c)
    }
    if !path.is_empty() && path.chars().all(plain) {
        return path.to_string();
    }
    let (tilde, rest) = match path.strip_prefix('~') {
        Some(after) => {
            let end = after.find('/').unwrap_or(after.len());
            let user = after.get(..end).unwrap_or_default();
            if user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
            {
                path.split_at(1 + end)
            } else {
                ("", path)
            }
        }
        None => ("", path),
    };
    let mut out = String::with_capacity(path.len() + 2);
    out.push_str(tilde);
    out.push('"');
    for c in rest.chars() {
        if matches!(c, '\\' | '"' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values are the examples in Go's documentation of the `path` package.
    #[test]
    fn clean_matches_go_examples() {
        for (input, want) in [
            ("a/c", "a/c"),
            ("a//c", "a/c"),
            ("a/c/.", "a/c"),
            ("a/c/b/..", "a/c"),
            ("/../a/c", "/a/c"),
            ("/../a/b/../././/c", "/a/c"),
            ("", "."),
            ("../../x", "../../x"),
            ("/", "/"),
        ] {
            assert_eq!(clean(input), want, "Clean({input:?})");
        }
    }

    #[test]
    fn dir_matches_go_examples() {
        for (input, want) in [
            ("/a/b/c", "/a/b"),
            ("a/b/c", "a/b"),
            ("/a/", "/a"),
            ("a/", "a"),
            ("/", "/"),
            ("", "."),
            ("file", "."),
        ] {
            assert_eq!(dir(input), want, "Dir({input:?})");
        }
    }

    #[test]
    fn base_matches_go_examples() {
        for (input, want) in [
            ("/a/b", "b"),
            ("/", "/"),
            ("", "."),
            ("a/b/", "b"),
            ("x", "x"),
        ] {
            assert_eq!(base(input), want, "Base({input:?})");
        }
    }

    #[test]
    fn join_matches_go_examples() {
        assert_eq!(join("a", "b/c"), "a/b/c");
        assert_eq!(join("a/b", "../../../xyz"), "../xyz");
        assert_eq!(join("", ""), "");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("/tmp/dst", "."), "/tmp/dst");
    }

    #[test]
    fn quoting_keeps_plain_paths_and_expansions() {
        assert_eq!(shell_quote("/tmp/x"), "/tmp/x");
        assert_eq!(shell_quote("~/dir"), "~/dir");
        assert_eq!(shell_quote("$HOME/x"), "$HOME/x");
        assert_eq!(shell_quote("/tmp/with space"), "\"/tmp/with space\"");
        assert_eq!(shell_quote("~/with space"), "~\"/with space\"");
        assert_eq!(shell_quote("~bob/a b"), "~bob\"/a b\"");
        assert_eq!(shell_quote("a\"b`c\\d;e"), "\"a\\\"b\\`c\\\\d;e\"");
        assert_eq!(shell_quote(""), "\"\"");
    }
}
