//! RFC 6455 websocket framing as a sans-IO codec, for carrying RFB: [`Decoder`] turns received
//! bytes into [`WsEvent`]s (data payloads are passed on as they arrive, not buffered per frame,
//! so a large frame costs no memory), [`encode`] builds frames. [`handshake`] has the upgrade
//! request and its checks.
//!
//! RFB is a byte stream: frame boundaries mean nothing to it. Text and binary frames are both
//! taken as bytes, and text frames are not checked for UTF-8: the Go VNC client Packer's Go
//! plugin uses sends RFB in text frames, and Prism Central relays them.

pub mod handshake;

use std::collections::VecDeque;

use thiserror::Error;

use crate::wire::{u16_at, u8_at};

/// Longest control frame payload RFC 6455 allows.
pub const MAX_CONTROL: usize = 125;

/// Which end of the connection we are: clients mask their frames, servers must not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We opened the connection.
    Client,
    /// We accepted it.
    Server,
}

/// Frame opcodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// Continues a fragmented message.
    Continuation,
    /// Text data.
    Text,
    /// Binary data.
    Binary,
    /// Closing handshake.
    Close,
    /// Ping.
    Ping,
    /// Pong.
    Pong,
}

impl Opcode {
    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0,
            Opcode::Text => 1,
            Opcode::Binary => 2,
            Opcode::Close => 8,
            Opcode::Ping => 9,
            Opcode::Pong => 10,
        }
    }

    fn from_bits(b: u8) -> Result<Self, WsError> {
        Ok(match b {
            0 => Opcode::Continuation,
            1 => Opcode::Text,
            2 => Opcode::Binary,
            8 => Opcode::Close,
            9 => Opcode::Ping,
            10 => Opcode::Pong,
            other => return Err(WsError::ReservedOpcode(other)),
        })
    }

    fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A websocket protocol violation by the peer, or a failed upgrade.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WsError {
    /// RSV bits set without a negotiated extension.
    #[error("websocket frame with reserved bits set ({0:#04x})")]
    ReservedBits(u8),
    /// An opcode RFC 6455 reserves.
    #[error("websocket frame with reserved opcode {0}")]
    ReservedOpcode(u8),
    /// Masking on the wrong side.
    #[error("websocket frame from the {from} is {}masked", if *masked { "" } else { "not " })]
    Masking {
        /// "server" or "client".
        from: &'static str,
        /// Whether it was masked.
        masked: bool,
    },
    /// A control frame that is fragmented or longer than 125 bytes.
    #[error(
        "websocket control frame of {len} bytes (fin={fin}); RFC 6455 allows 125, unfragmented"
    )]
    BadControl {
        /// Payload length.
        len: u64,
        /// FIN bit.
        fin: bool,
    },
    /// A 64-bit length with its top bit set.
    #[error("websocket frame length {0:#x} has its most significant bit set")]
    BadLength(u64),
    /// Fragmentation out of order.
    #[error("websocket {0}")]
    Fragmentation(&'static str),
    /// A close frame whose payload is one byte.
    #[error("websocket close frame with a 1-byte payload")]
    BadClose,
    /// The upgrade response or request is wrong.
    #[error("websocket handshake: {0}")]
    Handshake(String),
}

/// What the decoder read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// Payload bytes of a text or binary message, in order.
    Data(Vec<u8>),
    /// A ping; answer it with a pong carrying the same payload.
    Ping(Vec<u8>),
    /// A pong.
    Pong(Vec<u8>),
    /// The peer is closing.
    Close {
        /// Status code, when given.
        code: Option<u16>,
        /// Reason text.
        reason: String,
    },
}

#[derive(Debug)]
struct Frame {
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    remaining: u64,
    /// Payload bytes seen so far (for the mask's position).
    offset: u64,
    /// Control frame payload being collected.
    control: Vec<u8>,
}

/// Decodes frames received by `role`.
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    buf: Vec<u8>,
    frame: Option<Frame>,
    /// Inside a fragmented data message.
    fragmented: bool,
    events: VecDeque<WsEvent>,
    closed: bool,
}

impl Decoder {
    /// A decoder for frames arriving at `role`.
    pub fn new(role: Role) -> Self {
        Self {
            role,
            buf: Vec::new(),
            frame: None,
            fragmented: false,
            events: VecDeque::new(),
            closed: false,
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<WsEvent> {
        self.events.pop_front()
    }

    /// Feeds received bytes. An error is final. Bytes after a close frame are ignored.
    pub fn feed(&mut self, input: &[u8]) -> Result<(), WsError> {
        if self.closed {
            return Ok(());
        }
        self.buf.extend_from_slice(input);
        while !self.closed {
            if self.frame.is_none() && !self.header()? {
                break;
            }
            if !self.payload() {
                break;
            }
        }
        Ok(())
    }

    /// Parses a frame header if complete; false when more bytes are needed.
    fn header(&mut self) -> Result<bool, WsError> {
        let (Some(b0), Some(b1)) = (u8_at(&self.buf, 0), u8_at(&self.buf, 1)) else {
            return Ok(false);
        };
        if b0 & 0x70 != 0 {
            return Err(WsError::ReservedBits(b0 & 0x70));
        }
        let fin = b0 & 0x80 != 0;
        let opcode = Opcode::from_bits(b0 & 0x0f)?;
        let masked = b1 & 0x80 != 0;
        let (len, mut at) = match b1 & 0x7f {
            126 => match u16_at(&self.buf, 2) {
                Some(l) => (u64::from(l), 4),
                None => return Ok(false),
            },
            127 => match self.buf.get(2..10) {
                Some(b) => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    (u64::from_be_bytes(a), 10)
                }
                None => return Ok(false),
            },
            l => (u64::from(l), 2),
        };
        let mask = if masked {
            let Some(m) = self.buf.get(at..at + 4) else {
                return Ok(false);
            };
            at += 4;
            let mut k = [0u8; 4];
            k.copy_from_slice(m);
            Some(k)
        } else {
            None
        };
        if len >> 63 != 0 {
            return Err(WsError::BadLength(len));
        }
        match (self.role, masked) {
            (Role::Client, true) => {
                return Err(WsError::Masking {
                    from: "server",
                    masked,
                })
            }
            (Role::Server, false) => {
                return Err(WsError::Masking {
                    from: "client",
                    masked,
                })
            }
            _ => {}
        }
        if opcode.is_control() {
            if !fin || len > MAX_CONTROL as u64 {
                return Err(WsError::BadControl { len, fin });
            }
        } else if opcode == Opcode::Continuation {
            if !self.fragmented {
                return Err(WsError::Fragmentation(
                    "continuation frame without a message to continue",
                ));
            }
            self.fragmented = !fin;
        } else {
            if self.fragmented {
                return Err(WsError::Fragmentation(
                    "new data message inside a fragmented one",
                ));
            }
            self.fragmented = !fin;
        }
        self.buf.drain(..at);
        self.frame = Some(Frame {
            opcode,
            mask,
            remaining: len,
            offset: 0,
            control: Vec::new(),
        });
        Ok(true)
    }

    /// Moves payload bytes of the current frame; true when the frame is complete.
    fn payload(&mut self) -> bool {
        let Some(frame) = self.frame.as_mut() else {
            return false;
        };
        let n = usize::try_from(frame.remaining)
            .unwrap_or(usize::MAX)
            .min(self.buf.len());
        if n > 0 {
            let mut chunk: Vec<u8> = self.buf.drain(..n).collect();
            if let Some(mask) = frame.mask {
                for (i, b) in chunk.iter_mut().enumerate() {
                    let k = mask.get(((frame.offset + i as u64) % 4) as usize).copied();
                    *b ^= k.unwrap_or(0);
                }
            }
            frame.offset += n as u64;
            frame.remaining -= n as u64;
            if frame.opcode.is_control() {
                frame.control.extend_from_slice(&chunk);
            } else if let Some(WsEvent::Data(tail)) = self.events.back_mut() {
                tail.extend_from_slice(&chunk);
            } else {
                self.events.push_back(WsEvent::Data(chunk));
            }
        }
        if frame.remaining > 0 {
            return false;
        }
        let Some(frame) = self.frame.take() else {
            return false;
        };
        match frame.opcode {
            Opcode::Ping => self.events.push_back(WsEvent::Ping(frame.control)),
            Opcode::Pong => self.events.push_back(WsEvent::Pong(frame.control)),
            Opcode::Close => {
                let event = match frame.control.len() {
                    0 => WsEvent::Close {
                        code: None,
                        reason: String::new(),
                    },
                    // One byte cannot hold a status code; report it as a protocol error close.
                    1 => WsEvent::Close {
                        code: Some(1002),
                        reason: WsError::BadClose.to_string(),
                    },
                    _ => WsEvent::Close {
                        code: u16_at(&frame.control, 0),
                        reason: String::from_utf8_lossy(frame.control.get(2..).unwrap_or_default())
                            .into_owned(),
                    },
                };
                self.events.push_back(event);
                self.closed = true;
            }
            Opcode::Continuation | Opcode::Text | Opcode::Binary => {}
        }
        true
    }
}

/// One unfragmented frame. Clients must pass a fresh random `mask`; servers pass None.
pub fn encode(opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode.bits());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mask_bit | n as u8),
        n @ 126..=0xffff => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        Some(m) => {
            out.extend_from_slice(&m);
            out.extend(payload.iter().zip(m.iter().cycle()).map(|(b, k)| b ^ k));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// The payload of a close frame with `code` and a reason (cut to fit a control frame).
pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    let mut r = reason.as_bytes();
    if r.len() > MAX_CONTROL - 2 {
        r = r.get(..MAX_CONTROL - 2).unwrap_or_default();
    }
    p.extend_from_slice(r);
    p
}

#[cfg(test)]
mod tests;
