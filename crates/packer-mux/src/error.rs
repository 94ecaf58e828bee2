//! Why a yamux session or stream stopped working, as one value every waiting task can share.

use std::io;

/// The reason a yamux session ended or refused an operation. `Clone` because one session end must
/// be reported to every stream, reader and writer waiting on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MuxError {
    /// The peer sent a header whose version byte is not 0.
    #[error("yamux protocol error: invalid frame version {0} (expected 0)")]
    InvalidVersion(u8),
    /// The peer sent a header whose type byte is not Data, WindowUpdate, Ping or GoAway.
    #[error("yamux protocol error: invalid frame type {0}")]
    InvalidType(u8),
    /// The peer sent more Data on a stream than the window we granted.
    #[error("yamux protocol error: stream {stream} received {length} bytes with only {window} bytes of window left")]
    WindowExceeded {
        /// The stream the Data frame named.
        stream: u32,
        /// The frame's payload length.
        length: u32,
        /// The receive window that remained.
        window: u32,
    },
    /// The peer granted so much window that our counter would overflow.
    #[error("yamux protocol error: window update of {delta} overflows the send window of stream {stream}")]
    WindowOverflow {
        /// The stream the WindowUpdate named.
        stream: u32,
        /// The delta it carried.
        delta: u32,
    },
    /// The peer opened a stream id that is already open.
    #[error("yamux protocol error: duplicate stream id {0}")]
    DuplicateStream(u32),
    /// The peer opened a stream id that belongs to our side's numbering (or id 0).
    #[error("yamux protocol error: peer opened stream id {0}, which is not in its id space")]
    BadStreamId(u32),
    /// The peer sent GoAway with an error code (1 = protocol error, 2 = internal error).
    #[error("yamux peer sent GoAway with error code {0}")]
    RemoteGoAway(u32),
    /// The peer sent GoAway(normal) earlier, so it accepts no new streams.
    #[error("yamux peer sent GoAway: it accepts no new streams")]
    RemoteGoAwayNormal,
    /// A frame could not be written to the connection within the write timeout.
    #[error("yamux connection write timed out after {0} s")]
    WriteTimeout(u64),
    /// The connection failed while reading or writing.
    #[error("yamux connection I/O error ({kind:?}): {message}")]
    Io {
        /// The kind of the underlying I/O error.
        kind: io::ErrorKind,
        /// Its text.
        message: String,
    },
    /// The connection ended in the middle of a frame.
    #[error("yamux connection ended in the middle of a frame")]
    TruncatedFrame,
    /// The peer closed the connection.
    #[error("yamux connection closed by the peer")]
    PeerClosed,
    /// Our side closed the session.
    #[error("yamux session closed locally")]
    LocalClose,
    /// All stream ids of our parity have been used.
    #[error("yamux stream ids exhausted")]
    StreamsExhausted,
    /// The session already keeps its maximum number of streams; one must finish first.
    #[error("yamux session already has {0} streams open")]
    TooManyStreams(usize),
}

impl MuxError {
    /// Whether the peer broke the protocol, in which case we answer GoAway(protocol error) before
    /// hanging up, as hashicorp/yamux does.
    pub(crate) fn is_protocol_violation(&self) -> bool {
        matches!(
            self,
            Self::InvalidVersion(_)
                | Self::InvalidType(_)
                | Self::WindowExceeded { .. }
                | Self::WindowOverflow { .. }
                | Self::DuplicateStream(_)
                | Self::BadStreamId(_)
        )
    }

    /// The I/O error a stream operation reports when the session has ended for this reason.
    pub(crate) fn to_io(&self) -> io::Error {
        let kind = match self {
            Self::RemoteGoAwayNormal => io::ErrorKind::ConnectionRefused,
            Self::StreamsExhausted | Self::TooManyStreams(_) => io::ErrorKind::Other,
            Self::LocalClose => io::ErrorKind::NotConnected,
            _ => io::ErrorKind::ConnectionAborted,
        };
        io::Error::new(kind, self.clone())
    }
}

impl From<io::Error> for MuxError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return Self::TruncatedFrame;
        }
        Self::Io {
            kind: e.kind(),
            message: e.to_string(),
        }
    }
}
