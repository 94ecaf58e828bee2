//! Why a boot command is rejected. Packer rejects exactly these inputs (its parser's action errors
//! and `Validate`); only the words differ, and ours point at the text.

use std::fmt;

use crate::command::{Position, Span};
use crate::duration::DurationError;

/// What is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseErrorKind {
    /// A count of seconds after `<wait` that does not fit in 64 bits. Packer reports it even when
    /// the rest is not a wait (`<wait99999999999999999999x>`), because its parser converts the
    /// number before it knows.
    CountTooLarge,
    /// The text after `<wait` reads as a duration, but Go's `time.ParseDuration` rejects it.
    InvalidDuration(DurationError),
    /// A wait of zero or less (`<wait0s>`, `<wait-1s>`). `wrapped` is set for a count of seconds
    /// so large that Packer's conversion to nanoseconds wraps around to a negative value.
    NotPositive {
        /// The wait in nanoseconds, as Packer computes it.
        nanos: i64,
        /// Whether it is negative only because Packer's multiplication overflowed.
        wrapped: bool,
    },
}

/// One problem, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What is wrong.
    pub kind: ParseErrorKind,
    /// The offending text.
    pub span: Span,
    /// Where the offending text starts.
    pub position: Position,
    /// The offending text itself, for the message.
    pub text: String,
}

impl ParseError {
    /// What is wrong with the offending text, without the position (for callers that report the
    /// position relative to something else, such as one element of `boot_command`).
    pub fn problem(&self) -> String {
        let text = &self.text;
        match &self.kind {
            ParseErrorKind::CountTooLarge => {
                format!("{text} is too large for a number of seconds to wait")
            }
            ParseErrorKind::InvalidDuration(e) => format!("{text:?} is not a valid wait: {e}"),
            ParseErrorKind::NotPositive { wrapped: true, .. } => format!(
                "{text} is too long to wait (Packer's conversion to nanoseconds overflows to a negative wait)"
            ),
            ParseErrorKind::NotPositive { nanos, .. } => format!(
                "{text} must wait longer than zero (got {})",
                signed_nanos(*nanos)
            ),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.problem())
    }
}

impl std::error::Error for ParseError {}

/// Every problem in a command (never empty), in text order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseErrors(pub Vec<ParseError>);

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseErrors {}

fn signed_nanos(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "" };
    format!(
        "{sign}{:?}",
        std::time::Duration::from_nanos(n.unsigned_abs())
    )
}
