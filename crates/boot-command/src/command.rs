//! The typed form of a boot command: what [`crate::parse`] produces and the drivers consume.

use std::fmt;
use std::time::Duration;

use crate::keys::{has_latin1_keysym, SpecialKey};

/// Byte offsets `start..end` into the parsed text, for messages that point at the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// The text this span covers in `src` (empty if `src` is not the text it came from).
    pub fn text(self, src: &str) -> &str {
        src.get(self.start..self.end).unwrap_or("")
    }
}

/// A key that can be pressed, held or released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    /// A character typed as itself (`a`, `A`, `界`), including one held with `<aOn>`.
    Char(char),
    /// A named key (`<enter>`, `<leftShiftOn>`).
    Special(SpecialKey),
}

/// What to do with a key: the language's plain form, `On` and `Off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAction {
    /// Press and release (`a`, `<enter>`).
    Press,
    /// Press and hold (`<leftCtrlOn>`, `<aOn>`).
    On,
    /// Release (`<leftCtrlOff>`, `<aOff>`).
    Off,
}

/// One thing the command does, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Press, hold or release a key.
    Key {
        /// Which key.
        key: Key,
        /// Press, hold or release.
        action: KeyAction,
    },
    /// Pause typing (`<wait>`, `<wait5>`, `<wait1m30s>`); always longer than zero.
    Wait(Duration),
}

/// An action and where it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    /// What to do.
    pub action: Action,
    /// Where in the parsed text.
    pub span: Span,
}

/// A parsed boot command: every step valid, nothing left to check before typing it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command {
    pub(crate) steps: Vec<Step>,
}

impl Command {
    /// The steps in typing order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Whether there is nothing to type or wait for.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The sum of every `<wait>`, so a caller can tell the user how long typing pauses in total.
    pub fn total_wait(&self) -> Duration {
        self.steps
            .iter()
            .filter_map(|s| match s.action {
                Action::Wait(d) => Some(d),
                Action::Key { .. } => None,
            })
            .fold(Duration::ZERO, Duration::saturating_add)
    }

    /// Characters that Packer sends as a keysym no keyboard produces: control characters (a
    /// newline is keysym 0x0A, not Return) and anything outside Latin-1 (`界` goes out as 0x754C,
    /// while X11's keysym for it would be 0x100754C). VNC servers usually drop them; a caller can
    /// warn about each.
    pub fn chars_without_keysym(&self) -> impl Iterator<Item = (Span, char)> + '_ {
        self.steps.iter().filter_map(|s| match s.action {
            Action::Key {
                key: Key::Char(c), ..
            } if !has_latin1_keysym(c) => Some((s.span, c)),
            _ => None,
        })
    }
}

/// A line and column (both from 1; columns count characters) in a multi-line text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    /// Line, from 1.
    pub line: usize,
    /// Character in the line, from 1.
    pub column: usize,
}

impl Position {
    /// The position of byte `offset` in `src` (clamped to the text, and to a character boundary).
    pub fn of(src: &str, offset: usize) -> Position {
        let mut offset = offset.min(src.len());
        while !src.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = src.get(..offset).unwrap_or("");
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before.get(line_start..).unwrap_or("").chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}
