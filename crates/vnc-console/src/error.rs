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
