//! The console's error type. Messages name what was being attempted (which transport, which
//! URL; never a token or password) and the root cause.

use std::fmt;
use std::time::Duration;

use thiserror::Error;

/// One way of reaching a console that was tried and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// What was tried, e.g. `v3 websocket at wss://pc:9440/vnc/vm/…/proxy?proxyClusterUuid=…`.
    pub what: String,
    /// Why it failed.
    pub cause: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.cause)
    }
}

/// Why the console could not be opened or used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsoleError {
    /// The target cannot work (bad endpoint, CA bundle, header, proxy URL...).
    #[error("console configuration: {0}")]
    Config(String),
    /// Every transport was tried; each attempt says why it failed.
    #[error("could not open the VM console; {}", list(.0))]
    AllAttemptsFailed(Vec<Attempt>),
    /// A network step failed.
    #[error("{what}: {message}")]
    Io {
        /// The step.
        what: String,
        /// The OS or TLS error.
        message: String,
    },
    /// A step did not finish before the deadline.
    #[error("{what}: no answer within {:.1} s", .after.as_secs_f64())]
    Timeout {
        /// The step.
        what: String,
        /// The time it had.
        after: Duration,
    },
    /// Prism answered an HTTP call with something other than success.
    #[error("{what}: {message}")]
    Http {
        /// The call.
        what: String,
        /// Status and Prism's message, or why the answer was unusable.
        message: String,
    },
    /// The websocket broke its protocol or the upgrade was refused.
    #[error("websocket: {0}")]
    Websocket(String),
    /// The RFB exchange failed.
    #[error("RFB: {0}")]
    Rfb(#[from] rfb::RfbError),
    /// The open console was closed (by the server, the network, or [`crate::Console::close`]).
    #[error("the VM console connection is closed: {0}")]
    Closed(String),
}

fn list(attempts: &[Attempt]) -> String {
    if attempts.is_empty() {
        return "no transport was tried".into();
    }
    attempts
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; then ")
}

impl ConsoleError {
    /// The same error with `secret` (and its URL-encoded forms) replaced, for errors that may
    /// quote a server's answer to a request that carried it.
    pub(crate) fn redact(self, secret: &str) -> Self {
        if secret.is_empty() {
            return self;
        }
        let forms: Vec<String> = vec![
            secret.to_string(),
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        ];
        let clean = |mut t: String| {
            for f in &forms {
                t = t.replace(f.as_str(), "<redacted>");
            }
            t
        };
        match self {
            ConsoleError::Config(m) => ConsoleError::Config(clean(m)),
            ConsoleError::AllAttemptsFailed(list) => ConsoleError::AllAttemptsFailed(
                list.into_iter()
                    .map(|a| Attempt {
                        what: clean(a.what),
                        cause: clean(a.cause),
                    })
                    .collect(),
            ),
            ConsoleError::Io { what, message } => ConsoleError::Io {
                what: clean(what),
                message: clean(message),
            },
            ConsoleError::Timeout { what, after } => ConsoleError::Timeout {
                what: clean(what),
                after,
            },
            ConsoleError::Http { what, message } => ConsoleError::Http {
                what: clean(what),
                message: clean(message),
            },
            ConsoleError::Websocket(m) => ConsoleError::Websocket(clean(m)),
            ConsoleError::Closed(m) => ConsoleError::Closed(clean(m)),
            e @ ConsoleError::Rfb(_) => e,
        }
    }

    pub(crate) fn io(what: impl Into<String>, e: &std::io::Error) -> Self {
        ConsoleError::Io {
            what: what.into(),
            message: e.to_string(),
        }
    }
}

impl From<rfb::ws::WsError> for ConsoleError {
    fn from(e: rfb::ws::WsError) -> Self {
        ConsoleError::Websocket(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_covers_encoded_forms() {
        let e = ConsoleError::Websocket(
            "refused: GET /x?VmConsoleToken=a%2Bb%3D and a+b= and a%2Bb%3D".into(),
        )
        .redact("a+b=");
        let text = e.to_string();
        assert!(!text.contains("a+b") && !text.contains("a%2Bb"), "{text}");
        assert_eq!(text.matches("<redacted>").count(), 3, "{text}");
    }
}
