//! The boot command language, parsed as Packer's SDK parses it (docs/design/boot-command.md).
//!
//! Packer's grammar is a PEG: at each position it tries, in order, a wait (`<wait>`, `<wait5>`,
//! `<wait1m30s>`), a held or released character (`<aOn>`, `<aOff>`), a named key with an optional
//! `On`/`Off` (`<enter>`, `<leftShiftOn>`), and otherwise takes one character literally. So almost
//! any text is a command: `<foo>`, a lone `<` or `<wait 5>` are typed character by character.
//! What PEG semantics imply, and this parser reproduces:
//!
//! - choices commit: once a key name matches, a failure after it (`<leftx>`) does not try a
//!   shorter name; it falls back to typing `<` and carries on after it;
//! - key names and `On`/`Off` ignore case the way Go's `unicode.ToLower` does (so `İ` matches
//!   `i`); `wait` and the duration units are case-sensitive;
//! - the number after `<wait` is a Go duration (`1m30s`, `1.5s`, `300ms`, no leading zeros) or a
//!   whole count of seconds; `<wait0>` is one second (Packer's grammar turns a bare 0 into the
//!   default), and a count is multiplied into nanoseconds with 64-bit wrap-around, as in Go;
//! - errors that Packer's parser records while converting numbers stay recorded even when the
//!   surrounding wait then fails to match (`<wait99999999999999999999x>` is an error).
//!
//! The parser never panics and runs in linear time (each position does a bounded amount of work
//! apart from scanning one run of digits).

use std::time::Duration;

use crate::command::{Action, Command, Key, KeyAction, Position, Span, Step};
use crate::duration::parse_go_duration;
use crate::error::{ParseError, ParseErrorKind, ParseErrors};
use crate::keys::SpecialKey;

const SECOND_NANOS: i64 = 1_000_000_000;

/// Parses an already rendered boot command (the elements of `boot_command` joined with `""`).
pub fn parse(src: &str) -> Result<Command, ParseErrors> {
    let mut p = Parser {
        src,
        errors: Vec::new(),
    };
    let mut steps = Vec::new();
    let mut at = 0;
    while at < src.len() {
        let (action, end) = match p.wait(at) {
            Some((Some(d), end)) => (Action::Wait(d), end),
            Some((None, end)) => {
                // An invalid wait (already reported): keep going to find every problem.
                at = end;
                continue;
            }
            None => match p.char_toggle(at).or_else(|| p.special(at)) {
                Some((key, action, end)) => (Action::Key { key, action }, end),
                None => match src.get(at..).and_then(|r| r.chars().next()) {
                    Some(c) => (
                        Action::Key {
                            key: Key::Char(c),
                            action: KeyAction::Press,
                        },
                        at + c.len_utf8(),
                    ),
                    None => break,
                },
            },
        };
        steps.push(Step {
            action,
            span: Span { start: at, end },
        });
        at = end;
    }
    if p.errors.is_empty() {
        return Ok(Command { steps });
    }
    // Positions in one pass over the text, however many errors there are.
    p.errors.sort_by_key(|e| e.span.start);
    let (mut pos, mut at) = (Position { line: 1, column: 1 }, 0);
    for e in &mut p.errors {
        for c in src.get(at..e.span.start).unwrap_or("").chars() {
            if c == '\n' {
                pos = Position {
                    line: pos.line + 1,
                    column: 1,
                };
            } else {
                pos.column += 1;
            }
        }
        at = e.span.start.max(at);
        e.position = pos;
    }
    Err(ParseErrors(p.errors))
}

/// A number of seconds after `<wait`, as Packer's grammar yields it.
enum Count {
    /// A lone `0`, which Packer's grammar passes on as text and its wait then treats as absent.
    Zero,
    /// A whole number.
    Seconds(i64),
    /// A whole number that does not fit in an i64 (the error is recorded).
    TooLarge,
}

struct Parser<'a> {
    src: &'a str,
    errors: Vec<ParseError>,
}

impl Parser<'_> {
    fn rest(&self, at: usize) -> &str {
        self.src.get(at..).unwrap_or("")
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    fn error(&mut self, kind: ParseErrorKind, start: usize, end: usize) {
        let span = Span { start, end };
        // Packer's parser converts a number twice when a duration fails and the count form is
        // tried at the same place; report it once.
        if self
            .errors
            .last()
            .is_some_and(|e| e.span == span && e.kind == kind)
        {
            return;
        }
        self.errors.push(ParseError {
            kind,
            span,
            position: Position { line: 1, column: 1 }, // filled in by `parse`
            text: span.text(self.src).to_string(),
        });
    }

    /// `<wait` [duration | count] `>`: `None` when it does not match; `Some((None, end))` for a
    /// wait that matched but is invalid (reported).
    fn wait(&mut self, at: usize) -> Option<(Option<Duration>, usize)> {
        if !self.rest(at).starts_with("<wait") {
            return None;
        }
        let start = at + "<wait".len();
        let mut failed = false;
        let (nanos, wrapped, end) = if let Some(end) = self.duration(start) {
            let text = self.rest(start).get(..end - start).unwrap_or("");
            match parse_go_duration(text) {
                Ok(n) => (n, false, end),
                Err(e) => {
                    self.error(ParseErrorKind::InvalidDuration(e), start, end);
                    failed = true;
                    (0, false, end)
                }
            }
        } else {
            match self.integer(start) {
                Some((Count::Seconds(n), end)) => (
                    n.wrapping_mul(SECOND_NANOS),
                    n.checked_mul(SECOND_NANOS).is_none(),
                    end,
                ),
                Some((Count::TooLarge, end)) => {
                    // Go's ParseInt yields its largest value along with the error.
                    failed = true;
                    (i64::MAX.wrapping_mul(SECOND_NANOS), true, end)
                }
                Some((Count::Zero, end)) => (SECOND_NANOS, false, end),
                None => (SECOND_NANOS, false, start),
            }
        };
        if self.byte(end) != Some(b'>') {
            return None;
        }
        let end = end + 1;
        if failed {
            return Some((None, end));
        }
        if nanos <= 0 {
            self.error(ParseErrorKind::NotPositive { nanos, wrapped }, at, end);
            return Some((None, end));
        }
        Some((Some(Duration::from_nanos(nanos.unsigned_abs())), end))
    }

    /// `(Number TimeUnit)+`; the end of the longest run, if at least one pair matched.
    fn duration(&mut self, mut at: usize) -> Option<usize> {
        let mut matched = None;
        while let Some(end) = self.number(at).and_then(|n| self.time_unit(n)) {
            matched = Some(end);
            at = end;
        }
        matched
    }

    /// `'-'? Integer ('.' Digit+)?`
    fn number(&mut self, at: usize) -> Option<usize> {
        let at = if self.byte(at) == Some(b'-') {
            at + 1
        } else {
            at
        };
        let (_, mut end) = self.integer(at)?;
        if self.byte(end) == Some(b'.') && self.byte(end + 1).is_some_and(|b| b.is_ascii_digit()) {
            end += 1;
            while self.byte(end).is_some_and(|b| b.is_ascii_digit()) {
                end += 1;
            }
        }
        Some(end)
    }

    /// `'0' / [1-9][0-9]*`; converting the second form to an i64 records an error when it does not
    /// fit, whether or not the surrounding rule goes on to match.
    fn integer(&mut self, at: usize) -> Option<(Count, usize)> {
        match self.byte(at)? {
            b'0' => Some((Count::Zero, at + 1)),
            b'1'..=b'9' => {
                let len = self.rest(at).bytes().take_while(u8::is_ascii_digit).count();
                let end = at + len;
                let digits = self.rest(at).get(..len).unwrap_or("");
                match digits.parse::<i64>() {
                    Ok(n) => Some((Count::Seconds(n), end)),
                    Err(_) => {
                        self.error(ParseErrorKind::CountTooLarge, at, end);
                        Some((Count::TooLarge, end))
                    }
                }
            }
            _ => None,
        }
    }

    /// `"ns" / "us" / "µs" / "ms" / "s" / "m" / "h"`, in that order (no Greek mu here, unlike Go's
    /// duration parser).
    fn time_unit(&self, at: usize) -> Option<usize> {
        let rest = self.rest(at);
        ["ns", "us", "\u{b5}s", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u))
            .map(|u| at + u.len())
    }

    /// `<` any-character (`On` | `Off`) `>`
    fn char_toggle(&self, at: usize) -> Option<(Key, KeyAction, usize)> {
        if self.byte(at) != Some(b'<') {
            return None;
        }
        let c = self.rest(at + 1).chars().next()?;
        let (action, end) = self.on_off(at + 1 + c.len_utf8())?;
        (self.byte(end) == Some(b'>')).then_some((Key::Char(c), action, end + 1))
    }

    /// `<` key-name (`On` | `Off`)? `>`, committing to the first name that matches.
    fn special(&self, at: usize) -> Option<(Key, KeyAction, usize)> {
        if self.byte(at) != Some(b'<') {
            return None;
        }
        let (key, end) = SpecialKey::ALL
            .iter()
            .find_map(|k| self.word_ci(at + 1, k.name()).map(|end| (*k, end)))?;
        let (action, end) = self.on_off(end).unwrap_or((KeyAction::Press, end));
        (self.byte(end) == Some(b'>')).then_some((Key::Special(key), action, end + 1))
    }

    fn on_off(&self, at: usize) -> Option<(KeyAction, usize)> {
        self.word_ci(at, "on")
            .map(|end| (KeyAction::On, end))
            .or_else(|| self.word_ci(at, "off").map(|end| (KeyAction::Off, end)))
    }

    /// Matches an ASCII word ignoring case as Packer's parser does: each input character lowered
    /// by Go's `unicode.ToLower` must equal the word's lowered letter.
    fn word_ci(&self, at: usize, word: &str) -> Option<usize> {
        let mut chars = self.rest(at).char_indices();
        for w in word.bytes() {
            let (_, c) = chars.next()?;
            if go_lower_ascii(c) != Some(w.to_ascii_lowercase()) {
                return None;
            }
        }
        Some(at + chars.next().map_or(self.rest(at).len(), |(i, _)| i))
    }
}

/// The ASCII letter Go's `unicode.ToLower` turns `c` into, if any: ASCII itself, plus the two
/// non-ASCII letters whose lower case is ASCII (İ → i, K KELVIN SIGN → k).
pub(crate) fn go_lower_ascii(c: char) -> Option<u8> {
    match c {
        '\u{130}' => Some(b'i'),
        '\u{212A}' => Some(b'k'),
        c if c.is_ascii() => u8::try_from(c).ok().map(|b| b.to_ascii_lowercase()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(src: &str) -> Vec<Action> {
        parse(src)
            .unwrap_or_else(|e| panic!("{src:?}: {e}"))
            .steps()
            .iter()
            .map(|s| s.action)
            .collect()
    }

    fn press(c: char) -> Action {
        Action::Key {
            key: Key::Char(c),
            action: KeyAction::Press,
        }
    }

    fn special(k: SpecialKey, action: KeyAction) -> Action {
        Action::Key {
            key: Key::Special(k),
            action,
        }
    }

    #[test]
    fn forms() {
        assert_eq!(
            steps("<wait><wait5><wait1m30s><wait0>"),
            [1, 5, 90, 1].map(|s| Action::Wait(Duration::from_secs(s)))
        );
        assert_eq!(
            steps("<leftShiftOn>a<LEFTSHIFTOFF><f10><f1on>"),
            [
                special(SpecialKey::LeftShift, KeyAction::On),
                press('a'),
                special(SpecialKey::LeftShift, KeyAction::Off),
                special(SpecialKey::F10, KeyAction::Press),
                special(SpecialKey::F1, KeyAction::On),
            ]
        );
        assert_eq!(
            steps("<bon><<Off>"),
            [
                Action::Key {
                    key: Key::Char('b'),
                    action: KeyAction::On
                },
                Action::Key {
                    key: Key::Char('<'),
                    action: KeyAction::Off
                },
            ]
        );
        assert_eq!(
            steps("<leftx>"),
            "<leftx>".chars().map(press).collect::<Vec<_>>()
        );
        assert_eq!(
            steps("<İnsert>"),
            [special(SpecialKey::Insert, KeyAction::Press)]
        );
        assert!(steps("").is_empty());
    }

    #[test]
    fn errors_point_at_the_text() {
        let e = parse("ab\ncd<wait-1s>").unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].position, Position { line: 2, column: 3 });
        assert_eq!(e.0[0].text, "<wait-1s>");
        assert_eq!(
            e.to_string(),
            "line 2, column 3: <wait-1s> must wait longer than zero (got -1s)"
        );
        let e = parse("<wait99999999999999999999x>").unwrap_err();
        assert_eq!(e.0[0].text, "99999999999999999999");
        assert_eq!(e.0[0].position.column, 6);
        let e = parse("<wait10000000000>").unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        let e = parse("x<wait1h-30m>").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1, column 7: \"1h-30m\" is not a valid wait: unknown unit \"h-\" in duration \"1h-30m\""
        );
    }
}
