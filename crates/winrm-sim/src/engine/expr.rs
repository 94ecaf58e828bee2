//! PowerShell expressions and conditions, as far as provisioner scripts use them: quoted
//! strings with `$env:`/`$var` expansion, numbers, `-f` formatting, the host name, and
//! conditions built from `Test-Path`, comparisons, `-and`/`-or`/`-not`.

use super::ps::path_arg;
use super::text::{balanced, split_top, unquote, words};
use super::Proc;

/// Evaluates a condition: `-and`/`-or`, `-not`/`!`, comparisons, `Test-Path`, `$true`/`$false`.
pub(crate) fn condition(proc: &Proc, cond: &str) -> bool {
    let c = cond.trim();
    let lower = c.to_ascii_lowercase();
    if let Some(i) = find_op(&lower, " -or ") {
        return condition(proc, c.get(..i).unwrap_or_default())
            || condition(proc, c.get(i + 5..).unwrap_or_default());
    }
    if let Some(i) = find_op(&lower, " -and ") {
        return condition(proc, c.get(..i).unwrap_or_default())
            && condition(proc, c.get(i + 6..).unwrap_or_default());
    }
    if let Some(rest) = lower
        .strip_prefix("-not ")
        .map(|_| c.get(5..).unwrap_or_default())
    {
        return !condition(proc, rest);
    }
    if let Some(rest) = c.strip_prefix('!') {
        return !condition(proc, rest);
    }
    if c.starts_with('(') && balanced(c, '(', ')').is_some_and(|(_, r)| r.trim().is_empty()) {
        let inner = balanced(c, '(', ')').map(|(i, _)| i).unwrap_or_default();
        return condition(proc, &inner);
    }
    for (op, f) in [
        (
            " -ne ",
            (|a: &str, b: &str| a != b) as fn(&str, &str) -> bool,
        ),
        (" -eq ", |a, b| a == b),
    ] {
        if let Some(i) = find_op(&lower, op) {
            let a = eval(proc, c.get(..i).unwrap_or_default());
            let b = eval(proc, c.get(i + op.len()..).unwrap_or_default());
            return f(&a.to_ascii_lowercase(), &b.to_ascii_lowercase());
        }
    }
    for (op, f) in [
        (" -gt ", (|a: f64, b: f64| a > b) as fn(f64, f64) -> bool),
        (" -lt ", |a, b| a < b),
        (" -ge ", |a, b| a >= b),
        (" -le ", |a, b| a <= b),
    ] {
        if let Some(i) = find_op(&lower, op) {
            let a = eval(proc, c.get(..i).unwrap_or_default())
                .parse::<f64>()
                .unwrap_or(0.0);
            let b = eval(proc, c.get(i + op.len()..).unwrap_or_default())
                .parse::<f64>()
                .unwrap_or(0.0);
            return f(a, b);
        }
    }
    if lower.starts_with("test-path") {
        let args: Vec<String> = words(c, true).into_iter().skip(1).collect();
        if args
            .iter()
            .any(|a| unquote(a).to_ascii_lowercase().starts_with("variable:"))
        {
            let name = args
                .iter()
                .find_map(|a| {
                    unquote(a)
                        .to_ascii_lowercase()
                        .rsplit(':')
                        .next()
                        .map(str::to_string)
                })
                .unwrap_or_default();
            return name == "progresspreference" || proc.vars.contains_key(&name);
        }
        let Some(p) = path_arg(proc, &args) else {
            return false;
        };
        let container = args.windows(2).any(|w| {
            w.first()
                .is_some_and(|a| a.eq_ignore_ascii_case("-pathtype"))
                && w.get(1)
                    .is_some_and(|v| unquote(v).eq_ignore_ascii_case("container"))
        });
        let leaf = args.windows(2).any(|w| {
            w.first()
                .is_some_and(|a| a.eq_ignore_ascii_case("-pathtype"))
                && w.get(1)
                    .is_some_and(|v| unquote(v).eq_ignore_ascii_case("leaf"))
        });
        return proc
            .with_machine(|m| {
                if container {
                    m.vfs.is_dir(&p)
                } else if leaf {
                    m.vfs.get(&p).is_some()
                } else {
                    m.vfs.exists(&p)
                }
            })
            .unwrap_or(false);
    }
    let v = eval(proc, c);
    !(v.is_empty() || v == "0" || v.eq_ignore_ascii_case("false"))
}

/// Finds a top-level operator (outside quotes and parentheses).
fn find_op(lower: &str, op: &str) -> Option<usize> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in lower.char_indices() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 && lower.get(i..).is_some_and(|r| r.starts_with(op)) => return Some(i),
            _ => {}
        }
    }
    None
}

/// Evaluates an expression to text: quoted strings (with `$env:`/`$var` expansion in double
/// quotes), numbers, variables, `"{0}" -f x`, `[System.Net.Dns]::GetHostName()`, `$(...)`.
pub(crate) fn eval(proc: &Proc, expr: &str) -> String {
    let e = expr.trim();
    if e.starts_with('(') && balanced(e, '(', ')').is_some_and(|(_, r)| r.trim().is_empty()) {
        let inner = balanced(e, '(', ')').map(|(i, _)| i).unwrap_or_default();
        return eval(proc, &inner);
    }
    if let Some(i) = find_op(&e.to_ascii_lowercase(), " -f ") {
        let fmt = eval(proc, e.get(..i).unwrap_or_default());
        let args: Vec<String> = split_top(e.get(i + 4..).unwrap_or_default(), &[","], true)
            .iter()
            .map(|(a, _)| eval(proc, a))
            .collect();
        let mut out = fmt;
        for (n, a) in args.iter().enumerate() {
            out = out.replace(&format!("{{{n}}}"), a);
        }
        return out;
    }
    let lower = e.to_ascii_lowercase();
    if lower == "[system.net.dns]::gethostname()"
        || lower == "$env:computername"
        || lower == "hostname"
    {
        return proc
            .with_machine(|m| m.hostname.clone())
            .unwrap_or_default();
    }
    if lower == "$null" {
        return String::new();
    }
    if lower == "$true" {
        return "True".into();
    }
    if lower == "$false" {
        return "False".into();
    }
    if let Some(inner) = e.strip_prefix("$(").and_then(|r| r.strip_suffix(')')) {
        return eval(proc, inner);
    }
    if let Some(s) = e.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return s.replace("''", "'");
    }
    if let Some(s) = e.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return expand(proc, s);
    }
    if e.starts_with('$') {
        return variable(proc, e.trim_start_matches('$'));
    }
    e.to_string()
}

fn variable(proc: &Proc, name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if let Some(env) = lower.strip_prefix("env:") {
        if env == "computername" {
            return proc
                .with_machine(|m| m.hostname.clone())
                .unwrap_or_default();
        }
        return proc
            .env
            .get(&env.to_ascii_uppercase())
            .cloned()
            .unwrap_or_default();
    }
    proc.vars.get(&lower).cloned().unwrap_or_default()
}

/// Double-quoted string expansion: backtick escapes, `$env:NAME`, `$name`.
fn expand(proc: &Proc, s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        match c {
            '`' => {
                match chars.get(i + 1) {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some(&n) => out.push(n),
                    None => {}
                }
                i += 2;
            }
            '$' => {
                let mut j = i + 1;
                let mut name = String::new();
                while let Some(&n) = chars.get(j) {
                    if n.is_ascii_alphanumeric()
                        || n == '_'
                        || (n == ':' && name.eq_ignore_ascii_case("env"))
                    {
                        name.push(n);
                        j += 1;
                    } else {
                        break;
                    }
                }
                if name.is_empty() {
                    out.push('$');
                    i += 1;
                } else {
                    out.push_str(&variable(proc, &name));
                    i = j;
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}
