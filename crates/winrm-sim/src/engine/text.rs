//! Small lexing helpers shared by the cmd.exe and PowerShell interpreters.

/// Splits `s` at top-level occurrences of any separator in `seps` (outside quotes, braces,
/// parentheses and brackets). `ps` selects PowerShell quoting (backtick escapes in `"..."`,
/// doubled quotes) over cmd's (quotes only).
pub(crate) fn split_top(s: &str, seps: &[&str], ps: bool) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0usize;
    'outer: while let Some(&c) = chars.get(i) {
        if let Some(q) = quote {
            cur.push(c);
            if ps && q == '"' && c == '`' {
                if let Some(&n) = chars.get(i + 1) {
                    cur.push(n);
                    i += 2;
                    continue;
                }
            }
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '"' | '\'' if ps || c == '"' => quote = Some(c),
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => depth -= 1,
            '#' if ps
                && depth == 0
                && (cur.trim().is_empty() || cur.ends_with(char::is_whitespace)) =>
            {
                // A comment runs to the end of the line.
                while let Some(&n) = chars.get(i) {
                    if n == '\n' {
                        break;
                    }
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        if depth <= 0 {
            for sep in seps {
                let sep_chars: Vec<char> = sep.chars().collect();
                let end = i + sep_chars.len();
                if chars.get(i..end) == Some(sep_chars.as_slice()) {
                    out.push((std::mem::take(&mut cur), Some((*sep).to_string())));
                    i = end;
                    continue 'outer;
                }
            }
        }
        cur.push(c);
        i += 1;
    }
    out.push((cur, None));
    out
}

/// Splits a command into words at whitespace outside quotes; quotes are kept on the words.
pub(crate) fn words(s: &str, ps: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0i32;
    for c in s.chars() {
        if let Some(q) = quote {
            cur.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' => quote = Some('"'),
            '\'' if ps => quote = Some('\''),
            '(' | '{' if ps => depth += 1,
            ')' | '}' if ps => depth -= 1,
            c if c.is_whitespace() && depth <= 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Removes one pair of surrounding quotes (`"x"` or `'x'`).
pub(crate) fn unquote(s: &str) -> &str {
    let t = s.trim();
    for q in ['"', '\''] {
        if let Some(inner) = t.strip_prefix(q).and_then(|r| r.strip_suffix(q)) {
            return inner;
        }
    }
    t
}

/// The text inside the first balanced `open`...`close` pair at or after `from`, and the index
/// just past it.
pub(crate) fn balanced(s: &str, open: char, close: char) -> Option<(String, String)> {
    let start = s.find(open)?;
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices().skip_while(|(i, _)| *i < start) {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    let inner = s.get(start + open.len_utf8()..i)?.to_string();
                    let rest = s.get(i + close.len_utf8()..)?.to_string();
                    return Some((inner, rest));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_respects_quotes_and_blocks() {
        let parts = split_top("a; b 'x;y'; if (1) { c; d }\ne # f; g", &[";", "\n"], true);
        let texts: Vec<&str> = parts.iter().map(|(t, _)| t.trim()).collect();
        assert_eq!(texts, vec!["a", "b 'x;y'", "if (1) { c; d }", "e"]);
        let cmd = split_top(
            r#"set "A=1&2" && "c:/x.bat" & echo"#,
            &["&&", "||", "&"],
            false,
        );
        assert_eq!(cmd.len(), 3);
        assert_eq!(cmd[0].0.trim(), r#"set "A=1&2""#);
        assert_eq!(cmd[0].1.as_deref(), Some("&&"));
    }

    #[test]
    fn balanced_blocks() {
        let (inner, rest) = balanced("if (a (b)) { x } else { y }", '(', ')').unwrap();
        assert_eq!(inner, "a (b)");
        assert_eq!(rest.trim(), "{ x } else { y }");
        assert!(balanced("if (a", '(', ')').is_none());
    }

    #[test]
    fn words_keep_quotes() {
        assert_eq!(
            words(r#"echo "a b" c"#, false),
            vec!["echo", "\"a b\"", "c"]
        );
        assert_eq!(
            words("& 'x y' (1 + 2)", true),
            vec!["&", "'x y'", "(1 + 2)"]
        );
    }
}
