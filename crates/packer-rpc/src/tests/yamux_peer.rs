//! A raw yamux client for tests: frames are built and parsed here byte by byte (not with
//! packer-mux's codec), and the peer decides itself when to grant window credit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};
use tokio::sync::Notify;

pub(crate) const DATA: u8 = 0;
pub(crate) const WINDOW_UPDATE: u8 = 1;
pub(crate) const PING: u8 = 2;
pub(crate) const GO_AWAY: u8 = 3;
pub(crate) const SYN: u16 = 1;
pub(crate) const ACK: u16 = 2;
pub(crate) const RST: u16 = 8;
/// Every yamux stream starts with this much window each way.
pub(crate) const INITIAL_WINDOW: u64 = 256 * 1024;
/// Largest Data frame this peer sends.
const MAX_FRAME: usize = 16 * 1024;

pub(crate) fn header(ty: u8, flags: u16, id: u32, len: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[1] = ty;
    h[2..4].copy_from_slice(&flags.to_be_bytes());
    h[4..8].copy_from_slice(&id.to_be_bytes());
    h[8..12].copy_from_slice(&len.to_be_bytes());
    h
}

/// What the peer knows about one stream.
#[derive(Debug)]
pub(crate) struct PeerStream {
    /// Bytes we may still send (the other side's credit).
    pub(crate) send_window: u64,
    /// Total credit the other side granted after the initial window.
    pub(crate) credit_granted: u64,
    /// Data received and not yet taken by the test.
    pub(crate) inbox: Vec<u8>,
    /// Total Data bytes received.
    pub(crate) received: u64,
    /// Received bytes we have not credited back.
    pub(crate) uncredited: u64,
    pub(crate) reset: bool,
}

impl Default for PeerStream {
    fn default() -> Self {
        Self {
            send_window: INITIAL_WINDOW,
            credit_granted: 0,
            inbox: Vec::new(),
            received: 0,
            uncredited: 0,
            reset: false,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct PeerState {
    pub(crate) streams: HashMap<u32, PeerStream>,
    pub(crate) go_away: Option<u32>,
    pub(crate) eof: bool,
}

/// The client end of a yamux connection, driven by the test.
#[derive(Clone)]
pub(crate) struct RawClient {
    wr: Arc<tokio::sync::Mutex<WriteHalf<DuplexStream>>>,
    pub(crate) state: Arc<Mutex<PeerState>>,
    /// Signalled after every frame the reader handled.
    pub(crate) changed: Arc<Notify>,
}

impl RawClient {
    /// Starts the frame reader on `io`.
    pub(crate) fn new(io: DuplexStream) -> Self {
        let (rd, wr) = tokio::io::split(io);
        let client = Self {
            wr: Arc::new(tokio::sync::Mutex::new(wr)),
            state: Arc::default(),
            changed: Arc::new(Notify::new()),
        };
        tokio::spawn(client.clone().read_frames(rd));
        client
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, PeerState> {
        self.state.lock().unwrap()
    }

    pub(crate) async fn send(&self, bytes: &[u8]) {
        let mut wr = self.wr.lock().await;
        wr.write_all(bytes).await.unwrap();
    }

    /// Opens stream `id` (odd: we are the client).
    pub(crate) async fn open(&self, id: u32) {
        self.lock().streams.insert(id, PeerStream::default());
        self.send(&header(WINDOW_UPDATE, SYN, id, 0)).await;
    }

    /// Sends as much of `bytes` as the window allows right now, in frames of at most 16 KiB;
    /// returns how many bytes went out.
    pub(crate) async fn send_within_window(&self, id: u32, bytes: &[u8]) -> usize {
        let room = {
            let mut st = self.lock();
            let s = st.streams.get_mut(&id).unwrap();
            let n = bytes.len().min(s.send_window as usize);
            s.send_window -= n as u64;
            n
        };
        let mut out = Vec::with_capacity(room + room / MAX_FRAME * 12 + 12);
        for chunk in bytes[..room].chunks(MAX_FRAME) {
            out.extend_from_slice(&header(DATA, 0, id, chunk.len() as u32));
            out.extend_from_slice(chunk);
        }
        self.send(&out).await;
        room
    }

    /// Takes the bytes received on `id` so far and, with `credit`, grants the window back for
    /// everything received (what a reading Go peer does).
    pub(crate) async fn take_inbox(&self, id: u32, credit: bool) -> Vec<u8> {
        let (bytes, delta) = {
            let mut st = self.lock();
            let s = st.streams.get_mut(&id).unwrap();
            let delta = if credit {
                std::mem::take(&mut s.uncredited)
            } else {
                0
            };
            (std::mem::take(&mut s.inbox), delta)
        };
        if delta > 0 {
            self.send(&header(WINDOW_UPDATE, 0, id, delta as u32)).await;
        }
        bytes
    }

    async fn read_frames(self, mut rd: ReadHalf<DuplexStream>) {
        loop {
            let mut h = [0u8; 12];
            if rd.read_exact(&mut h).await.is_err() {
                self.lock().eof = true;
                self.changed.notify_waiters();
                return;
            }
            assert_eq!(h[0], 0, "yamux version");
            let ty = h[1];
            let flags = u16::from_be_bytes([h[2], h[3]]);
            let id = u32::from_be_bytes([h[4], h[5], h[6], h[7]]);
            let len = u32::from_be_bytes([h[8], h[9], h[10], h[11]]);
            let mut payload = vec![0u8; if ty == DATA { len as usize } else { 0 }];
            if rd.read_exact(&mut payload).await.is_err() {
                self.lock().eof = true;
                self.changed.notify_waiters();
                return;
            }
            let mut reply = None;
            {
                let mut st = self.lock();
                match ty {
                    PING if flags & SYN != 0 => reply = Some(header(PING, ACK, 0, len)),
                    GO_AWAY => st.go_away = Some(len),
                    DATA | WINDOW_UPDATE => {
                        let s = st.streams.entry(id).or_default();
                        if flags & RST != 0 {
                            s.reset = true;
                        }
                        if ty == WINDOW_UPDATE {
                            s.send_window += u64::from(len);
                            s.credit_granted += u64::from(len);
                        } else {
                            s.inbox.extend_from_slice(&payload);
                            s.received += u64::from(len);
                            s.uncredited += u64::from(len);
                        }
                    }
                    _ => {}
                }
            }
            if let Some(frame) = reply {
                self.send(&frame).await;
            }
            self.changed.notify_waiters();
        }
    }
}

impl RawClient {
    /// Waits until `cond` holds (`true`) or until nothing happened for `quiet` (`false`). Under
    /// a paused Tokio clock, `quiet` only elapses once every task is idle, so `false` means the
    /// whole system has settled.
    pub(crate) async fn wait_until(
        &self,
        quiet: std::time::Duration,
        mut cond: impl FnMut(&PeerState) -> bool,
    ) -> bool {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if cond(&self.lock()) {
                return true;
            }
            if tokio::time::timeout(quiet, changed).await.is_err() {
                return cond(&self.lock());
            }
        }
    }
}
