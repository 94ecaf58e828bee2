//! Parsing the subset of Go's text/template syntax that Packer templates use: text, `{{ ... }}`
//! actions with `{{-`/`-}}` trim markers and `{{/* comments */}}`, pipelines (`a | b`), function
//! calls, string/raw-string/integer/bool literals, parenthesised pipelines and `.Field` references.
//! Control structures (`if`, `range`, ...) and variables (`$x`) are rejected with a clear message.

use super::TemplateError;

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// Literal text, already trimmed by neighbouring trim markers; `at` is its byte offset in the
    /// template (the text is a contiguous piece of it).
    Text { text: String, at: usize },
    /// An action; `source` is its exact original text (`{{ .HTTPIP }}`), kept so that an action that
    /// needs build-time data can be passed through unrendered; `at` is where it starts.
    Action {
        pipeline: Pipeline,
        source: String,
        at: usize,
    },
}

/// `cmd | cmd | ...`
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pipeline(pub Vec<Command>);

/// One command of a pipeline: a function name with arguments, or a single operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    /// `name arg...`
    Call { name: String, args: Vec<Operand> },
    /// A lone operand such as `"text"` or `.HTTPIP`.
    Operand(Operand),
}

/// An argument or a lone operand.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Str(String),
    Int(i64),
    Bool(bool),
    /// `.A` or `.A.B` (build-time data).
    Field(Vec<String>),
    /// `.` itself.
    Dot,
    /// `( pipeline )`
    Paren(Pipeline),
    /// A function name used as an argument; Go calls it with no arguments.
    Func(String),
}

impl Pipeline {
    /// Whether any part refers to build-time data (`.Field` or `.`).
    pub(crate) fn uses_data(&self) -> bool {
        self.0.iter().any(|c| match c {
            Command::Call { args, .. } => args.iter().any(Operand::uses_data),
            Command::Operand(o) => o.uses_data(),
        })
    }
}

impl Operand {
    fn uses_data(&self) -> bool {
        match self {
            Operand::Field(_) | Operand::Dot => true,
            Operand::Paren(p) => p.uses_data(),
            _ => false,
        }
    }
}

/// Go's trim markers need white space next to the dash: `{{- x -}}`, not `{{-3}}`.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Parses `src`; `known` says whether a function name exists (Go rejects unknown names at parse time).
pub(crate) fn parse(src: &str, known: &dyn Fn(&str) -> bool) -> Result<Vec<Node>, TemplateError> {
    let mut nodes = Vec::new();
    let mut rest = src;
    let mut trim_next_text = false;
    loop {
        let at = src.len() - rest.len();
        let Some(open) = rest.find("{{") else {
            push_text(&mut nodes, rest, at, trim_next_text, false);
            break;
        };
        let (text, from_open) = rest.split_at(open);
        let after_open = &from_open[2..];
        let trim_left = after_open.starts_with('-') && after_open[1..].starts_with(is_space);
        push_text(&mut nodes, text, at, trim_next_text, trim_left);
        let inner_start = if trim_left {
            &after_open[2..]
        } else {
            after_open
        };
        let (action, consumed, trim_right) = lex_action(inner_start, known)?;
        let inner_len = from_open.len() - inner_start.len() + consumed;
        let source = &from_open[..inner_len];
        if let Some(pipeline) = action {
            nodes.push(Node::Action {
                pipeline,
                source: source.to_string(),
                at: at + open,
            });
        }
        trim_next_text = trim_right;
        rest = &from_open[inner_len..];
    }
    Ok(nodes)
}

fn push_text(nodes: &mut Vec<Node>, text: &str, at: usize, trim_start: bool, trim_end: bool) {
    let mut t = text;
    if trim_start {
        t = t.trim_start_matches(is_space);
    }
    let at = at + (text.len() - t.len());
    if trim_end {
        t = t.trim_end_matches(is_space);
    }
    if !t.is_empty() {
        nodes.push(Node::Text {
            text: t.to_string(),
            at,
        });
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Int(i64),
    Field(Vec<String>),
    Dot,
    Pipe,
    Open,
    Close,
}

/// Lexes one action body starting right after `{{` (and its trim marker). Returns the pipeline
/// (None for a comment), the number of bytes consumed including the closing `}}`, and whether the
/// closing delimiter carried a trim marker.
fn lex_action(
    s: &str,
    known: &dyn Fn(&str) -> bool,
) -> Result<(Option<Pipeline>, usize, bool), TemplateError> {
    // Comments: {{/* ... */}} with optional trim markers around.
    let lead = s.len() - s.trim_start_matches(is_space).len();
    if s[lead..].starts_with("/*") {
        let body = &s[lead + 2..];
        let Some(end) = body.find("*/") else {
            return Err(TemplateError::new("unclosed comment"));
        };
        let after = &body[end + 2..];
        let (close_len, trim) = if after.starts_with(" -}}") {
            (4, true)
        } else if after.starts_with("}}") {
            (2, false)
        } else {
            return Err(TemplateError::new("comment ends before closing delimiter"));
        };
        let consumed = s.len() - after.len() + close_len;
        return Ok((None, consumed, trim));
    }

    let mut tokens = Vec::new();
    let mut chars = s.char_indices().peekable();
    let unclosed = |tokens: &[Token]| -> TemplateError {
        for t in tokens {
            if let Token::Ident(name) = t {
                if let Err(e) = check_ident(name, known) {
                    return e;
                }
            }
        }
        TemplateError::new("unclosed action")
    };
    loop {
        let Some(&(i, c)) = chars.peek() else {
            return Err(unclosed(&tokens));
        };
        // Closing delimiter, with or without trim marker.
        if s[i..].starts_with("}}") {
            let pipeline = build_pipeline(&tokens, known)?;
            return Ok((Some(pipeline), i + 2, false));
        }
        if is_space(c) {
            let rest = &s[i..];
            let ws = rest.len() - rest.trim_start_matches(is_space).len();
            if rest[ws..].starts_with("-}}") {
                let pipeline = build_pipeline(&tokens, known)?;
                return Ok((Some(pipeline), i + ws + 3, true));
            }
            chars.next();
            continue;
        }
        match c {
            '|' => {
                chars.next();
                tokens.push(Token::Pipe);
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut raw = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => {
                            let Some((_, e)) = chars.next() else { break };
                            raw.push('\\');
                            raw.push(e);
                        }
                        '\n' => break,
                        c => raw.push(c),
                    }
                }
                if !closed {
                    return Err(TemplateError::new("unterminated quoted string"));
                }
                tokens.push(Token::Str(unescape(&raw)?));
            }
            '`' => {
                chars.next();
                let mut text = String::new();
                let mut closed = false;
                for (_, c) in chars.by_ref() {
                    if c == '`' {
                        closed = true;
                        break;
                    }
                    text.push(c);
                }
                if !closed {
                    return Err(TemplateError::new("unterminated raw quoted string"));
                }
                tokens.push(Token::Str(text));
            }
            '.' => {
                chars.next();
                let mut path = Vec::new();
                let mut name = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                        chars.next();
                    } else if c == '.' && !name.is_empty() {
                        path.push(std::mem::take(&mut name));
                        chars.next();
                    } else {
                        break;
                    }
                }
                if name.is_empty() && path.is_empty() {
                    tokens.push(Token::Dot);
                } else {
                    if name.is_empty() {
                        return Err(TemplateError::new("bad field reference"));
                    }
                    path.push(name);
                    tokens.push(Token::Field(path));
                }
            }
            '$' => {
                return Err(TemplateError::new(
                    "template variables ($x) are not supported",
                ))
            }
            '\'' => return Err(TemplateError::new("character constants are not supported")),
            c if c == '-' || c == '+' || c.is_ascii_digit() => {
                let mut text = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '-' || c == '+' || c == '.' || c == '_' {
                        text.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                let n = text.parse::<i64>().map_err(|_| {
                    TemplateError::new(format!(
                        "unsupported number {text:?} (only integers are supported)"
                    ))
                })?;
                tokens.push(Token::Int(n));
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut name = String::new();
                while let Some(&(_, c)) = chars.peek() {
                    if c.is_alphanumeric() || c == '_' {
                        name.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Ident(name));
            }
            c => return Err(TemplateError::new(format!("unexpected {c:?} in action"))),
        }
    }
}

const CONTROL_WORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue", "nil",
];

fn check_ident(name: &str, known: &dyn Fn(&str) -> bool) -> Result<(), TemplateError> {
    if name == "true" || name == "false" {
        return Ok(());
    }
    if CONTROL_WORDS.contains(&name) {
        return Err(TemplateError::new(format!(
            "{name:?} is not supported in Packer templates rendered by this plugin"
        )));
    }
    if !known(name) {
        return Err(TemplateError::new(format!("function {name:?} not defined")));
    }
    Ok(())
}

fn build_pipeline(
    tokens: &[Token],
    known: &dyn Fn(&str) -> bool,
) -> Result<Pipeline, TemplateError> {
    for t in tokens {
        if let Token::Ident(name) = t {
            check_ident(name, known)?;
        }
    }
    let mut pos = 0;
    let p = pipeline(tokens, &mut pos)?;
    if pos != tokens.len() {
        return Err(TemplateError::new("unexpected \")\" in action"));
    }
    if p.0.is_empty() {
        return Err(TemplateError::new("missing value for command"));
    }
    Ok(p)
}

fn pipeline(tokens: &[Token], pos: &mut usize) -> Result<Pipeline, TemplateError> {
    let mut commands = Vec::new();
    loop {
        let mut words = Vec::new();
        while let Some(t) = tokens.get(*pos) {
            match t {
                Token::Pipe | Token::Close => break,
                Token::Open => {
                    *pos += 1;
                    let inner = pipeline(tokens, pos)?;
                    if tokens.get(*pos) != Some(&Token::Close) {
                        return Err(TemplateError::new("unclosed left paren"));
                    }
                    if inner.0.is_empty() {
                        return Err(TemplateError::new(
                            "missing value for parenthesized pipeline",
                        ));
                    }
                    *pos += 1;
                    words.push(Operand::Paren(inner));
                }
                Token::Ident(name) => {
                    *pos += 1;
                    words.push(match name.as_str() {
                        "true" => Operand::Bool(true),
                        "false" => Operand::Bool(false),
                        _ => Operand::Func(name.clone()),
                    });
                }
                Token::Str(s) => {
                    *pos += 1;
                    words.push(Operand::Str(s.clone()));
                }
                Token::Int(n) => {
                    *pos += 1;
                    words.push(Operand::Int(*n));
                }
                Token::Field(path) => {
                    *pos += 1;
                    words.push(Operand::Field(path.clone()));
                }
                Token::Dot => {
                    *pos += 1;
                    words.push(Operand::Dot);
                }
            }
        }
        let mut words = words.into_iter();
        match words.next() {
            None => {
                if !commands.is_empty() || tokens.get(*pos) == Some(&Token::Pipe) {
                    return Err(TemplateError::new("missing command in pipeline"));
                }
            }
            Some(Operand::Func(name)) => commands.push(Command::Call {
                name,
                args: words.collect(),
            }),
            Some(first) => {
                if words.next().is_some() {
                    return Err(TemplateError::new("can't give argument to non-function"));
                }
                commands.push(Command::Operand(first));
            }
        }
        if tokens.get(*pos) == Some(&Token::Pipe) {
            *pos += 1;
            continue;
        }
        return Ok(Pipeline(commands));
    }
}

/// Go's `strconv.Unquote` for the escapes a double-quoted template string may carry.
fn unescape(raw: &str) -> Result<String, TemplateError> {
    let bad = || TemplateError::new(format!("invalid syntax in quoted string \"{raw}\""));
    let mut out = String::new();
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next().ok_or_else(bad)?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' | 'u' | 'U' => {
                let len = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(len).collect();
                if hex.len() != len {
                    return Err(bad());
                }
                let code = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
                if e == 'x' {
                    // \xNN is a byte; only ASCII bytes make sense in a UTF-8 string.
                    let b = u8::try_from(code).map_err(|_| bad())?;
                    if !b.is_ascii() {
                        return Err(TemplateError::new(
                            "\\x escapes above 0x7f are not supported",
                        ));
                    }
                    out.push(char::from(b));
                } else {
                    out.push(char::from_u32(code).ok_or_else(bad)?);
                }
            }
            '0'..='7' => {
                let rest: String = chars.by_ref().take(2).collect();
                let code = u32::from_str_radix(&format!("{e}{rest}"), 8).map_err(|_| bad())?;
                let b = u8::try_from(code).map_err(|_| bad())?;
                if !b.is_ascii() {
                    return Err(TemplateError::new(
                        "octal escapes above 0177 are not supported",
                    ));
                }
                out.push(char::from(b));
            }
            _ => return Err(bad()),
        }
    }
    Ok(out)
}
