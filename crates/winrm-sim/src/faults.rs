//! Faults to inject, one-shot or repeated, so clients can be tested against a host that
//! misbehaves: a SOAP fault, a dropped connection, an oversized reply, an HTTP error status,
//! or a garbage NTLM challenge.

use serde::{Deserialize, Serialize};

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// Reply with a SOAP fault (HTTP 500) carrying this WSManFault code and text.
    SoapFault {
        /// WSManFault code.
        code: u32,
        /// Fault text.
        message: String,
    },
    /// Close the connection without replying (a host that went away mid-command).
    DropConnection,
    /// Reply 200 with a well-formed envelope padded to this many bytes.
    HugeReply {
        /// Body size.
        bytes: usize,
    },
    /// Reply with this HTTP status and an empty body.
    HttpStatus {
        /// The status.
        status: u16,
    },
    /// Answer the NTLM negotiate with a challenge that is not an NTLM message.
    GarbageNtlmChallenge,
}

/// A fault and when it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// Which operation triggers it (`Create`, `Command`, `Receive`, `Send`, `Signal`, `Delete`);
    /// none: any. Ignored by `garbage_ntlm_challenge`.
    #[serde(default)]
    pub on: Option<String>,
    /// Only for commands whose line contains this text (Command, Receive, Send, Signal).
    #[serde(default)]
    pub command_contains: Option<String>,
    /// How many times it fires (default 1).
    #[serde(default = "one")]
    pub times: u32,
    /// What happens.
    #[serde(flatten)]
    pub kind: FaultKind,
}

fn one() -> u32 {
    1
}
