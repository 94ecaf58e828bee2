//! The yamux frame header (hashicorp/yamux `spec.md`): 12 big-endian bytes, pure encode/decode.
//!
//! Public so tests and fuzzers can speak raw yamux to a [`crate::Session`].

use crate::MuxError;

/// Length of every yamux header; only Data frames carry bytes after it.
pub const HEADER_LEN: usize = 12;

/// The only protocol version hashicorp/yamux speaks.
pub const PROTO_VERSION: u8 = 0;

/// GoAway code for a normal "no more new streams".
pub const GO_AWAY_NORMAL: u32 = 0;
/// GoAway code sent when the peer broke the protocol.
pub const GO_AWAY_PROTOCOL_ERROR: u32 = 1;
/// GoAway code for an internal failure.
pub const GO_AWAY_INTERNAL_ERROR: u32 = 2;

/// The four frame kinds; the type byte of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// Stream payload; `length` counts the bytes that follow the header.
    Data,
    /// Stream window credit (`length` = delta) and the carrier of SYN/ACK/FIN/RST.
    WindowUpdate,
    /// Liveness check on stream 0; `length` is an opaque value echoed back.
    Ping,
    /// Session shutdown notice on stream 0; `length` is the code.
    GoAway,
}

impl FrameType {
    /// The wire byte.
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::Data => 0,
            Self::WindowUpdate => 1,
            Self::Ping => 2,
            Self::GoAway => 3,
        }
    }

    /// Parses the wire byte; anything above 3 is invalid.
    pub const fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Data),
            1 => Some(Self::WindowUpdate),
            2 => Some(Self::Ping),
            3 => Some(Self::GoAway),
            _ => None,
        }
    }
}

/// Header flag bits. Unknown bits are kept so a header survives a decode/encode round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u16);

impl Flags {
    /// No flags.
    pub const NONE: Self = Self(0);
    /// Opens a stream, or asks for a ping reply.
    pub const SYN: Self = Self(0x1);
    /// Acknowledges a stream open, or answers a ping.
    pub const ACK: Self = Self(0x2);
    /// Half-closes the sender's direction of a stream.
    pub const FIN: Self = Self(0x4);
    /// Aborts a stream.
    pub const RST: Self = Self(0x8);

    /// Builds flags from raw wire bits.
    pub const fn from_bits(bits: u16) -> Self {
        Self(bits)
    }

    /// The raw wire bits.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Flags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// One decoded yamux header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// What the frame is.
    pub frame_type: FrameType,
    /// SYN/ACK/FIN/RST bits.
    pub flags: Flags,
    /// The stream; 0 for Ping and GoAway.
    pub stream_id: u32,
    /// Payload length (Data), window delta (WindowUpdate), opaque value (Ping) or code (GoAway).
    pub length: u32,
}

impl Header {
    /// A Data header announcing `length` payload bytes.
    pub const fn data(stream_id: u32, flags: Flags, length: u32) -> Self {
        Self {
            frame_type: FrameType::Data,
            flags,
            stream_id,
            length,
        }
    }

    /// A WindowUpdate header granting `delta` more bytes of window.
    pub const fn window_update(stream_id: u32, flags: Flags, delta: u32) -> Self {
        Self {
            frame_type: FrameType::WindowUpdate,
            flags,
            stream_id,
            length: delta,
        }
    }

    /// A Ping (SYN = request, ACK = reply) carrying `opaque`.
    pub const fn ping(flags: Flags, opaque: u32) -> Self {
        Self {
            frame_type: FrameType::Ping,
            flags,
            stream_id: 0,
            length: opaque,
        }
    }

    /// A GoAway with `code`.
    pub const fn go_away(code: u32) -> Self {
        Self {
            frame_type: FrameType::GoAway,
            flags: Flags::NONE,
            stream_id: 0,
            length: code,
        }
    }

    /// The 12 wire bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let [f0, f1] = self.flags.bits().to_be_bytes();
        let [i0, i1, i2, i3] = self.stream_id.to_be_bytes();
        let [l0, l1, l2, l3] = self.length.to_be_bytes();
        let ty = self.frame_type.to_byte();
        [PROTO_VERSION, ty, f0, f1, i0, i1, i2, i3, l0, l1, l2, l3]
    }

    /// Parses 12 wire bytes; a wrong version or unknown type is a protocol error.
    pub fn decode(b: &[u8; HEADER_LEN]) -> Result<Self, MuxError> {
        let [version, ty, f0, f1, i0, i1, i2, i3, l0, l1, l2, l3] = *b;
        if version != PROTO_VERSION {
            return Err(MuxError::InvalidVersion(version));
        }
        let frame_type = FrameType::from_byte(ty).ok_or(MuxError::InvalidType(ty))?;
        Ok(Self {
            frame_type,
            flags: Flags::from_bits(u16::from_be_bytes([f0, f1])),
            stream_id: u32::from_be_bytes([i0, i1, i2, i3]),
            length: u32::from_be_bytes([l0, l1, l2, l3]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> [u8; HEADER_LEN] {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let mut out = [0u8; HEADER_LEN];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    // Byte vectors captured from real Go hashicorp/yamux v0.1.1 (docs/design/plugin-protocol.md,
    // 'Ping and GoAway', 'A captured session start', 'The stream broker').
    #[test]
    fn go_vectors_decode_and_encode() {
        let cases = [
            (
                "00 01 0001 00000001 00000000",
                Header::window_update(1, Flags::SYN, 0),
            ),
            (
                "00 00 0000 00000001 00000004",
                Header::data(1, Flags::NONE, 4),
            ),
            (
                "00 01 0002 00000001 00000000",
                Header::window_update(1, Flags::ACK, 0),
            ),
            (
                "00 01 0004 00000001 00000000",
                Header::window_update(1, Flags::FIN, 0),
            ),
            (
                "00 01 0001 00000002 00000000",
                Header::window_update(2, Flags::SYN, 0),
            ),
            (
                "00 01 0002 00000002 00000000",
                Header::window_update(2, Flags::ACK, 0),
            ),
            (
                "00 00 0000 00000002 00000004",
                Header::data(2, Flags::NONE, 4),
            ),
            ("00 02 0001 00000000 0000002a", Header::ping(Flags::SYN, 42)),
            ("00 02 0002 00000000 0000002a", Header::ping(Flags::ACK, 42)),
        ];
        for (bytes, header) in cases {
            let b = hex(bytes);
            assert_eq!(Header::decode(&b).unwrap(), header, "{bytes}");
            assert_eq!(header.encode(), b, "{bytes}");
        }
    }

    #[test]
    fn go_away_codes() {
        for code in [
            GO_AWAY_NORMAL,
            GO_AWAY_PROTOCOL_ERROR,
            GO_AWAY_INTERNAL_ERROR,
        ] {
            let b = Header::go_away(code).encode();
            assert_eq!(b[..8], [0, 3, 0, 0, 0, 0, 0, 0]);
            assert_eq!(u32::from_be_bytes([b[8], b[9], b[10], b[11]]), code);
        }
    }

    #[test]
    fn round_trip_over_many_headers() {
        let types = [
            FrameType::Data,
            FrameType::WindowUpdate,
            FrameType::Ping,
            FrameType::GoAway,
        ];
        let values = [
            0u32,
            1,
            2,
            255,
            256,
            0x0102_0304,
            262_144,
            u32::MAX - 1,
            u32::MAX,
        ];
        for ty in types {
            for flags in 0u16..=0x1f {
                for &id in &values {
                    for &len in &values {
                        let h = Header {
                            frame_type: ty,
                            flags: Flags::from_bits(flags),
                            stream_id: id,
                            length: len,
                        };
                        assert_eq!(Header::decode(&h.encode()).unwrap(), h);
                    }
                }
            }
        }
    }

    #[test]
    fn rejects_bad_version_and_type() {
        for v in 1..=255u8 {
            let mut b = Header::ping(Flags::SYN, 1).encode();
            b[0] = v;
            assert_eq!(Header::decode(&b), Err(MuxError::InvalidVersion(v)));
        }
        for t in 4..=255u8 {
            let mut b = Header::ping(Flags::SYN, 1).encode();
            b[1] = t;
            assert_eq!(Header::decode(&b), Err(MuxError::InvalidType(t)));
        }
    }

    #[test]
    fn flags_compose() {
        let f = Flags::SYN | Flags::FIN;
        assert!(f.contains(Flags::SYN) && f.contains(Flags::FIN));
        assert!(!f.contains(Flags::ACK) && !f.contains(Flags::RST));
        assert_eq!(f.bits(), 5);
    }
}
