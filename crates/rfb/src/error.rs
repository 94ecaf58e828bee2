//! The one error type of the RFB cores. Each variant says who is at fault: the peer's bytes
//! (`NotRfb`, `Malformed`, `UnknownVersion`, ...), the peer's decision (`Refused`,
//! `AuthFailed`), a mismatch of abilities (`NoCommonSecurity`, `PasswordRequired`), or the
//! caller (`NotReady`).

use thiserror::Error;

/// What went wrong in an RFB exchange.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RfbError {
    /// The peer's first 12 bytes are not an RFB ProtocolVersion message.
    #[error("the peer is not an RFB (VNC) server or client: its first bytes are {got}")]
    NotRfb {
        /// The bytes, escaped.
        got: String,
    },
    /// A well-formed ProtocolVersion naming a version this implementation cannot speak.
    #[error(
        "the peer speaks RFB {major}.{minor}, which we do not know (we speak 3.3, 3.7 and 3.8)"
    )]
    UnknownVersion {
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// The connection ended while we were waiting for `during`.
    #[error("the connection closed during {during}")]
    Closed {
        /// The handshake stage or message being read.
        during: &'static str,
    },
    /// The server refused the connection before authentication and said why.
    #[error("the server refused the connection: {reason}")]
    Refused {
        /// The server's reason string.
        reason: String,
    },
    /// The server offers only security types we do not implement.
    #[error("the server offers security types {offered:?}; we support None (1) and VNC authentication (2)")]
    NoCommonSecurity {
        /// The types it offered.
        offered: Vec<u32>,
    },
    /// The server only offers VNC authentication and no password was configured.
    #[error("the server requires a VNC password and none was given")]
    PasswordRequired,
    /// The server rejected the security handshake (a wrong VNC password, usually).
    #[error("{} was rejected by the server{}", security_name(*security), reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    AuthFailed {
        /// The security type used.
        security: u8,
        /// The server's reason (RFB 3.8 sends one).
        reason: Option<String>,
    },
    /// Bytes that break the protocol's framing.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// The message or field.
        what: &'static str,
        /// What is wrong with it.
        detail: String,
    },
    /// A length field larger than we accept.
    #[error("{what} is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// Its announced length.
        len: u64,
        /// Our limit.
        max: u64,
    },
    /// A server message type we cannot frame (so the stream cannot be followed past it).
    #[error(
        "the server sent message type {0}, which RFB 3.8 does not define and we did not ask for"
    )]
    UnknownServerMessage(u8),
    /// A client message type we cannot frame.
    #[error("the client sent message type {0}, which RFB 3.8 does not define")]
    UnknownClientMessage(u8),
    /// A rectangle encoding we did not ask for, whose length we cannot know.
    #[error("the server sent a rectangle in encoding {0}, which we did not ask for")]
    UnexpectedEncoding(i32),
    /// A key or other message was submitted before the handshake finished, or after a failure.
    #[error("the RFB session is not ready for {0} (handshake not finished or session failed)")]
    NotReady(&'static str),
}

fn security_name(security: u8) -> &'static str {
    match security {
        crate::SECURITY_VNC => "VNC authentication (is the VNC password right?)",
        crate::SECURITY_NONE => "security type None",
        _ => "the security handshake",
    }
}
