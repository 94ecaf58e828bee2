//! Per-stream bookkeeping of the yamux core: buffers, windows, close state and the tasks to wake.

use std::collections::VecDeque;
use std::task::Waker;

use bytes::{Buf, Bytes, BytesMut};

use crate::core::MAX_WINDOW;

/// Where our direction of a stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalFin {
    /// We may still write.
    Open,
    /// FIN requested; it goes out once the send buffer has drained.
    Pending,
    /// FIN is on the wire.
    Sent,
}

/// One stream's state. Invariants: `send.len() <= min(send_window, MAX_STREAM_SEND_BUFFER)` (we
/// never accept bytes we could not send, nor more than one window's worth), and `recv_len + recv_window <= MAX_WINDOW` (the peer never has more credit than we gave).
#[derive(Debug)]
pub(crate) struct StreamState {
    /// We opened it (SYN sent by us).
    pub(crate) local: bool,
    /// For streams we opened: the peer's ACK arrived.
    pub(crate) syn_acked: bool,
    /// Received bytes not yet read by the application.
    pub(crate) recv: VecDeque<Bytes>,
    /// Total length of `recv`.
    pub(crate) recv_len: usize,
    /// Bytes the peer may still send before we credit more.
    pub(crate) recv_window: u32,
    /// Bytes written by the application and not yet handed to the writer task.
    pub(crate) send: BytesMut,
    /// Bytes we may still send before the peer credits more.
    pub(crate) send_window: u32,
    /// Our half-close progress.
    pub(crate) fin: LocalFin,
    /// The peer half-closed (FIN received).
    pub(crate) remote_fin: bool,
    /// The stream was reset (RST received).
    pub(crate) reset: bool,
    /// The application dropped its handle.
    pub(crate) detached: bool,
    /// Sits in the writer's round-robin queue.
    pub(crate) scheduled: bool,
    /// Task blocked in read.
    pub(crate) read_waker: Option<Waker>,
    /// Task blocked in write, flush or shutdown.
    pub(crate) write_waker: Option<Waker>,
}

impl StreamState {
    /// A fresh stream with full windows both ways.
    pub(crate) fn new(local: bool) -> Self {
        Self {
            local,
            syn_acked: false,
            recv: VecDeque::new(),
            recv_len: 0,
            recv_window: MAX_WINDOW,
            send: BytesMut::new(),
            send_window: MAX_WINDOW,
            fin: LocalFin::Open,
            remote_fin: false,
            reset: false,
            detached: false,
            scheduled: false,
            read_waker: None,
            write_waker: None,
        }
    }

    /// Copies buffered bytes into `out`, returning how many.
    pub(crate) fn take_recv(&mut self, out: &mut [u8]) -> usize {
        let mut n = 0;
        while n < out.len() {
            let Some(front) = self.recv.front_mut() else {
                break;
            };
            let k = front.len().min(out.len() - n);
            if let (Some(dst), Some(src)) = (out.get_mut(n..n + k), front.get(..k)) {
                dst.copy_from_slice(src);
            }
            front.advance(k);
            n += k;
            if front.is_empty() {
                self.recv.pop_front();
            }
        }
        self.recv_len -= n.min(self.recv_len);
        n
    }

    /// Drops buffered received bytes (the application will never read them).
    pub(crate) fn discard_recv(&mut self) {
        self.recv.clear();
        self.recv_len = 0;
    }

    /// The window credit to return now, if it is worth a frame: like Go, once the application
    /// has consumed at least half the window. Updates `recv_window` when it returns `Some`.
    pub(crate) fn take_credit(&mut self) -> Option<u32> {
        let buffered = u32::try_from(self.recv_len).unwrap_or(MAX_WINDOW);
        let delta = MAX_WINDOW
            .saturating_sub(buffered)
            .saturating_sub(self.recv_window);
        if delta >= MAX_WINDOW / 2 {
            self.recv_window += delta;
            Some(delta)
        } else {
            None
        }
    }

    /// Both directions finished cleanly.
    pub(crate) fn fully_closed(&self) -> bool {
        self.fin == LocalFin::Sent && self.remote_fin
    }

    /// Wakes whoever waits to read.
    pub(crate) fn wake_reader(&mut self) {
        if let Some(w) = self.read_waker.take() {
            w.wake();
        }
    }

    /// Wakes whoever waits to write, flush or shut down.
    pub(crate) fn wake_writer(&mut self) {
        if let Some(w) = self.write_waker.take() {
            w.wake();
        }
    }
}
