//! Go net/rpc framing in ugorji's GoRpc codec: pure encoding and incremental decoding.
//!
//! A request is two msgpack values back to back, `rpc.Request{ServiceMethod, Seq}` then the
//! argument; a response is `rpc.Response{ServiceMethod, Seq, Error}` then the reply. There is no
//! length prefix and no envelope (docs/design/plugin-protocol.md, 'Framing'). Every message carries
//! a body: nil (`c0`) for "no value" and an empty map (`80`, Go's `invalidRequest`) on errors.

use bytes::{Buf, BytesMut};
use rmpv::Value;

use crate::msgpack::{self, view, MsgpackError, ScanState, Writer};

/// The body Go sends for "no value" (`new(interface{})`, a nil reply).
pub const NIL_BODY: &[u8] = &[0xc0];

/// The body Go's server sends with every error response: `invalidRequest = struct{}{}`.
pub const ERROR_BODY: &[u8] = &[0x80];

/// `rpc.Request`, the header of every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHeader {
    /// `"Service.Method"`; the service part may itself contain dots (`Uisrc12abcd.Add`).
    pub service_method: String,
    /// Per-connection call number chosen by the client, echoed in the response.
    pub seq: u64,
}

/// `rpc.Response`, the header of every reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeader {
    /// Echo of the request's `ServiceMethod`.
    pub service_method: String,
    /// Echo of the request's `Seq`.
    pub seq: u64,
    /// Empty on success; otherwise the server's error text (Go's `err.Error()`).
    pub error: String,
}

/// Why a net/rpc message could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not msgpack (or exceed our limits).
    #[error("net/rpc stream: {0}")]
    Msgpack(#[from] MsgpackError),
    /// A header value is not an `rpc.Request`/`rpc.Response`.
    #[error("net/rpc {what} header: {source}")]
    BadHeader {
        /// `request` or `response`.
        what: &'static str,
        /// The field at fault.
        source: view::ViewError,
    },
    /// The stream ended in the middle of a value or between a header and its body.
    #[error("net/rpc stream ended inside a message ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes of the incomplete value.
        buffered: usize,
    },
    /// A body could not be encoded (a length beyond msgpack's 32-bit limit).
    #[error("net/rpc encode: {0}")]
    Encode(#[from] msgpack::EncodeError),
}

/// Encodes a whole request: header, then `body` (one already-encoded value).
pub fn encode_request(h: &RequestHeader, body: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.map_len(2).str("ServiceMethod").str(&h.service_method);
    w.str("Seq").uint(h.seq);
    w.raw(body);
    w.finish().unwrap_or_default()
}

/// Encodes a whole response: header, then `body` (one already-encoded value).
pub fn encode_response(h: &ResponseHeader, body: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.map_len(3).str("ServiceMethod").str(&h.service_method);
    w.str("Seq").uint(h.seq);
    w.str("Error").str(&h.error);
    w.raw(body);
    w.finish().unwrap_or_default()
}

/// Reads an `rpc.Request` header value.
pub fn decode_request_header(v: &Value) -> Result<RequestHeader, CodecError> {
    let bad = |source| CodecError::BadHeader {
        what: "request",
        source,
    };
    let f = view::Fields::new("Request", v, &["ServiceMethod", "Seq"]).map_err(bad)?;
    Ok(RequestHeader {
        service_method: f.string("ServiceMethod").map_err(bad)?,
        seq: seq(&f).map_err(bad)?,
    })
}

/// Reads an `rpc.Response` header value.
pub fn decode_response_header(v: &Value) -> Result<ResponseHeader, CodecError> {
    let bad = |source| CodecError::BadHeader {
        what: "response",
        source,
    };
    let f = view::Fields::new("Response", v, &["ServiceMethod", "Seq", "Error"]).map_err(bad)?;
    Ok(ResponseHeader {
        service_method: f.string("ServiceMethod").map_err(bad)?,
        seq: seq(&f).map_err(bad)?,
        error: f.string("Error").map_err(bad)?,
    })
}

fn seq(f: &view::Fields<'_>) -> Result<u64, view::ViewError> {
    match f.get("Seq") {
        Value::Nil => Ok(0),
        Value::Integer(i) => i.as_u64().ok_or_else(|| view::ViewError {
            field: "Seq".into(),
            expected: "uint64",
            found: "negative integer".into(),
        }),
        other => Err(view::ViewError {
            field: "Seq".into(),
            expected: "uint64",
            found: view::describe(other),
        }),
    }
}

/// Splits `"Service.Method"` at the last dot, as net/rpc does, or `None` when there is no dot.
pub fn split_service_method(s: &str) -> Option<(&str, &str)> {
    s.rsplit_once('.')
}

/// Go's exact error texts for requests the server cannot route (net/rpc `readRequestHeader`).
pub mod go_errors {
    /// No dot in `ServiceMethod`.
    pub fn ill_formed(service_method: &str) -> String {
        format!("rpc: service/method request ill-formed: {service_method}")
    }
    /// No service registered under the part before the last dot.
    pub fn no_service(service_method: &str) -> String {
        format!("rpc: can't find service {service_method}")
    }
    /// The service has no such method.
    pub fn no_method(service_method: &str) -> String {
        format!("rpc: can't find method {service_method}")
    }
}

/// Incremental decoder from a byte stream to msgpack values: feed bytes as they arrive, take
/// values as they complete. Pure: no I/O.
#[derive(Debug, Default)]
pub struct ValueDecoder {
    buf: BytesMut,
    scan: ScanState,
}

impl ValueDecoder {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends bytes read from the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The buffer to read into directly (avoids a copy); only append to it (the scan resumes
    /// where it stopped), then call [`ValueDecoder::next_value`].
    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes buffered but not yet returned as a value.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete value, `Ok(None)` when more bytes are needed, or an error for bytes that
    /// can never become a valid value (the stream is then unusable).
    pub fn next_value(&mut self) -> Result<Option<Value>, CodecError> {
        let Some(len) = self.scan.scan(&self.buf, msgpack::MAX_VALUE_LEN)? else {
            return Ok(None);
        };
        let bytes = self.buf.get(..len).unwrap_or(&[]);
        let (value, used) = msgpack::decode_value(bytes)?;
        if used != len {
            return Err(MsgpackError::Decode(format!(
                "value length mismatch: scanned {len} bytes, decoded {used}"
            ))
            .into());
        }
        self.buf.advance(len);
        self.scan = ScanState::default();
        Ok(Some(value))
    }

    /// Called at end of stream: an error if a value was cut short.
    pub fn finish(&self) -> Result<(), CodecError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(CodecError::Truncated {
                buffered: self.buf.len(),
            })
        }
    }
}
