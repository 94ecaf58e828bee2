//! A raw yamux peer for tests: writes and reads frames as plain bytes, independently of the crate's
//! own codec, so byte-level expectations come from the spec and the Go captures.
#![allow(dead_code)]

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

pub const DATA: u8 = 0;
pub const WINDOW_UPDATE: u8 = 1;
pub const PING: u8 = 2;
pub const GO_AWAY: u8 = 3;
pub const SYN: u16 = 1;
pub const ACK: u16 = 2;
pub const FIN: u16 = 4;
pub const RST: u16 = 8;

/// Guard against hangs only; never a performance assertion.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

pub fn header(ty: u8, flags: u16, id: u32, len: u32) -> Vec<u8> {
    let mut v = vec![0, ty];
    v.extend_from_slice(&flags.to_be_bytes());
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v
}

pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub ty: u8,
    pub flags: u16,
    pub id: u32,
    pub len: u32,
    pub payload: Vec<u8>,
}

impl RawFrame {
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = header(self.ty, self.flags, self.id, self.len);
        v.extend_from_slice(&self.payload);
        v
    }
}

/// One end of a duplex pipe spoken to in raw frames.
pub struct RawPeer {
    pub io: DuplexStream,
}

impl RawPeer {
    pub async fn send(&mut self, bytes: &[u8]) {
        self.io.write_all(bytes).await.unwrap();
    }

    pub async fn send_frame(&mut self, ty: u8, flags: u16, id: u32, len: u32, payload: &[u8]) {
        let mut v = header(ty, flags, id, len);
        v.extend_from_slice(payload);
        self.send(&v).await;
    }

    /// The next frame, or `None` at EOF.
    pub async fn recv(&mut self) -> Option<RawFrame> {
        tokio::time::timeout(HANG_GUARD, self.recv_inner())
            .await
            .expect("raw peer: no frame (hang guard)")
    }

    async fn recv_inner(&mut self) -> Option<RawFrame> {
        let mut h = [0u8; 12];
        if self.io.read_exact(&mut h).await.is_err() {
            return None;
        }
        assert_eq!(h[0], 0, "version byte");
        let ty = h[1];
        let flags = u16::from_be_bytes([h[2], h[3]]);
        let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
        let len = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
        let mut payload = vec![0u8; if ty == DATA { len as usize } else { 0 }];
        self.io.read_exact(&mut payload).await.unwrap();
        Some(RawFrame {
            ty,
            flags,
            id,
            len,
            payload,
        })
    }

    /// The next frame's exact bytes.
    pub async fn recv_bytes(&mut self) -> Vec<u8> {
        self.recv().await.expect("raw peer: EOF").bytes()
    }

    /// Skips frames until one matches.
    pub async fn recv_until(&mut self, f: impl Fn(&RawFrame) -> bool) -> RawFrame {
        loop {
            let fr = self
                .recv()
                .await
                .expect("raw peer: EOF before the expected frame");
            if f(&fr) {
                return fr;
            }
        }
    }
}
