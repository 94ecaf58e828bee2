//! The yamux session as a plain state machine, hashicorp/yamux v0.1.1 semantics, no I/O and no clock.
//!
//! Inputs: [`Core::on_frame`] (a decoded frame from the socket, once [`Core::poll_frame_room`]
//! allows), the application's stream calls (`poll_read`, `poll_write`, ... in `stream_calls`),
//! [`Core::fail`] / [`Core::close_local`]. Output: [`Core::poll_transmit`] fills a byte buffer with
//! the next frames, control frames first, then one Data chunk per stream in round-robin. The async
//! driver in `session.rs` only moves bytes.
//!
//! Every queue is bounded (docs/design/backpressure.md): received bytes per stream by the window we
//! grant, bytes to send per stream by [`MAX_STREAM_SEND_BUFFER`] and per session by
//! [`MAX_SESSION_SEND_BUFFER`], control frames by [`MAX_CONTROL_QUEUE`] (the reader pauses), and
//! streams by [`MAX_STREAMS`].

use std::collections::{HashMap, VecDeque};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, Bytes};
use tracing::{debug, warn};

use crate::frame::{Flags, FrameType, Header, GO_AWAY_NORMAL, GO_AWAY_PROTOCOL_ERROR};
use crate::stream_state::{LocalFin, StreamState};
use crate::{Mode, MuxError};

/// Per-stream window each way (hashicorp `initialStreamWindow`); we never advertise more, so no
/// correct peer sends a Data frame larger than this.
pub(crate) const MAX_WINDOW: u32 = 256 * 1024;
/// Inbound streams waiting for `accept` before further SYNs are refused with RST (Go `AcceptBacklog`).
pub(crate) const ACCEPT_BACKLOG: usize = 256;
/// Streams we opened and the peer has not ACKed yet before `open` waits (Go's `synCh` size).
pub(crate) const MAX_UNACKED_OPENS: usize = 256;
/// Largest Data frame we send: small enough that streams interleave fairly.
pub(crate) const MAX_DATA_CHUNK: usize = 16 * 1024;
/// How many bytes one `poll_transmit` call gathers before handing them to the socket.
pub(crate) const TRANSMIT_BUDGET: usize = 64 * 1024;
/// Bytes one stream may hold for sending, however much window the peer grants (a peer may grant
/// up to 4 GiB); writers wait beyond it.
pub(crate) const MAX_STREAM_SEND_BUFFER: usize = MAX_WINDOW as usize;
/// Bytes all streams together may hold for sending while the connection is slow; writers of
/// every stream wait beyond it. Only bytes the peer's window already allows are queued, so a
/// stream without credit holds none of this budget.
pub(crate) const MAX_SESSION_SEND_BUFFER: usize = 4 * 1024 * 1024;
/// Control frames (ping answers, credit, refusals) queued for a connection we cannot write to
/// fast enough, beyond which we stop reading the peer's frames until the writer catches up.
pub(crate) const MAX_CONTROL_QUEUE: usize = 1024;
/// Streams the session keeps at once (open, half-closed, or waiting in the backlog). Beyond it,
/// the peer's new streams are refused with RST and ours fail to open. Each stream can hold at most
/// one window of received data, so this caps what a session buffers for unread streams.
pub(crate) const MAX_STREAMS: usize = 512;

/// What the writer should do after `poll_transmit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transmit {
    /// Write the buffer and ask again.
    Frames,
    /// Write the buffer (a final GoAway), then shut the connection down.
    Final,
    /// The session is over; shut the connection down.
    Closed,
}

/// A set of tasks waiting for the same event.
#[derive(Debug, Default)]
struct Wakers(Vec<Waker>);

impl Wakers {
    fn register(&mut self, cx: &Context<'_>) {
        if !self.0.iter().any(|w| w.will_wake(cx.waker())) {
            self.0.push(cx.waker().clone());
        }
    }

    fn wake_all(&mut self) {
        for w in self.0.drain(..) {
            w.wake();
        }
    }
}

/// A ping we sent and its waiting task.
#[derive(Debug, Default)]
struct PendingPing {
    answered: bool,
    waker: Option<Waker>,
}

/// The whole session state. See the module doc for the input/output contract.
#[derive(Debug)]
pub(crate) struct Core {
    mode: Mode,
    next_id: u32,
    streams: HashMap<u32, StreamState>,
    /// Inbound streams not yet handed to `accept`, oldest first.
    backlog: VecDeque<u32>,
    unacked_opens: usize,
    remote_go_away: bool,
    /// Header-only frames, sent before any Data.
    control: VecDeque<Header>,
    /// Streams with Data or a FIN to send, in round-robin order.
    ready: VecDeque<u32>,
    closed: Option<MuxError>,
    /// The GoAway to flush before hanging up on a protocol violation.
    final_frame: Option<Header>,
    pings: HashMap<u32, PendingPing>,
    next_ping: u32,
    writer: Option<Waker>,
    accepters: Wakers,
    openers: Wakers,
    /// Total bytes in the streams' send buffers (at most [`MAX_SESSION_SEND_BUFFER`]).
    send_queued: usize,
    /// Writers waiting for room in the session's send budget.
    send_room: Wakers,
    /// The frame reader, paused while the control queue is full.
    frame_reader: Option<Waker>,
}

impl Core {
    /// A session with no streams; `mode` decides the parity of the ids we open.
    pub(crate) fn new(mode: Mode) -> Self {
        Self {
            mode,
            next_id: match mode {
                Mode::Client => 1,
                Mode::Server => 2,
            },
            streams: HashMap::new(),
            backlog: VecDeque::new(),
            unacked_opens: 0,
            remote_go_away: false,
            control: VecDeque::new(),
            ready: VecDeque::new(),
            closed: None,
            final_frame: None,
            pings: HashMap::new(),
            next_ping: 0,
            writer: None,
            accepters: Wakers::default(),
            openers: Wakers::default(),
            send_queued: 0,
            send_room: Wakers::default(),
            frame_reader: None,
        }
    }

    /// Why the session ended, once it has.
    pub(crate) fn close_reason(&self) -> Option<&MuxError> {
        self.closed.as_ref()
    }

    // ----- inputs from the socket ---------------------------------------------------------------

    /// Ready when the reader may hand in another frame: not while [`MAX_CONTROL_QUEUE`] control
    /// frames wait for the writer (a peer flooding pings or refused SYNs while not reading our
    /// answers would otherwise grow the queue without end). Ready once the session has ended.
    pub(crate) fn poll_frame_room(&mut self, cx: &Context<'_>) -> Poll<()> {
        if self.closed.is_some() || self.control.len() < MAX_CONTROL_QUEUE {
            Poll::Ready(())
        } else {
            self.frame_reader = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    /// Applies one frame read from the socket (`payload` is empty except for Data). A protocol
    /// violation ends the session with GoAway(protocol error).
    pub(crate) fn on_frame(&mut self, hdr: Header, payload: Bytes) {
        if self.closed.is_some() {
            return;
        }
        if let Err(e) = self.handle_frame(hdr, payload) {
            self.fail(e);
        }
    }

    fn handle_frame(&mut self, hdr: Header, payload: Bytes) -> Result<(), MuxError> {
        match hdr.frame_type {
            FrameType::Ping => {
                self.handle_ping(hdr);
                Ok(())
            }
            FrameType::GoAway => self.handle_go_away(hdr.length),
            FrameType::Data | FrameType::WindowUpdate => self.handle_stream_frame(hdr, payload),
        }
    }

    fn handle_ping(&mut self, hdr: Header) {
        if hdr.flags.contains(Flags::SYN) {
            self.push_control(Header::ping(Flags::ACK, hdr.length));
        } else if let Some(p) = self.pings.get_mut(&hdr.length) {
            p.answered = true;
            if let Some(w) = p.waker.take() {
                w.wake();
            }
        }
    }

    fn handle_go_away(&mut self, code: u32) -> Result<(), MuxError> {
        if code == GO_AWAY_NORMAL {
            debug!("yamux peer sent GoAway(normal): no new streams");
            self.remote_go_away = true;
            self.openers.wake_all();
            Ok(())
        } else {
            Err(MuxError::RemoteGoAway(code))
        }
    }

    fn handle_stream_frame(&mut self, hdr: Header, payload: Bytes) -> Result<(), MuxError> {
        let id = hdr.stream_id;
        if hdr.flags.contains(Flags::SYN) && !self.incoming_stream(id)? {
            return Ok(());
        }
        let Some(s) = self.streams.get_mut(&id) else {
            // Most likely a stream we already finished or refused; Go drops these too.
            debug!(stream = id, ?hdr, "yamux frame for unknown stream ignored");
            return Ok(());
        };
        if hdr.flags.contains(Flags::ACK) && s.local && !s.syn_acked {
            s.syn_acked = true;
            self.unacked_opens = self.unacked_opens.saturating_sub(1);
            self.openers.wake_all();
        }
        let Some(s) = self.streams.get_mut(&id) else {
            return Ok(());
        };
        match hdr.frame_type {
            FrameType::WindowUpdate => {
                s.send_window =
                    s.send_window
                        .checked_add(hdr.length)
                        .ok_or(MuxError::WindowOverflow {
                            stream: id,
                            delta: hdr.length,
                        })?;
                s.wake_writer();
                let wants_tx = !s.send.is_empty() || s.fin == LocalFin::Pending;
                if wants_tx {
                    self.schedule(id);
                }
            }
            _ => {
                let length = hdr.length;
                if length > s.recv_window {
                    return Err(MuxError::WindowExceeded {
                        stream: id,
                        length,
                        window: s.recv_window,
                    });
                }
                s.recv_window -= length;
                if !payload.is_empty() {
                    if s.detached || s.reset || s.fully_closed() {
                        // Nobody will read it: drop it and hand the credit straight back.
                        if let Some(delta) = s.take_credit() {
                            self.push_control(Header::window_update(id, Flags::NONE, delta));
                        }
                    } else {
                        s.recv_len += payload.len();
                        s.recv.push_back(payload);
                        s.wake_reader();
                    }
                }
            }
        }
        if let Some(s) = self.streams.get_mut(&id) {
            if hdr.flags.contains(Flags::FIN) && !s.remote_fin {
                s.remote_fin = true;
                s.wake_reader();
            }
            if hdr.flags.contains(Flags::RST) && !s.reset {
                s.reset = true;
                s.discard_recv();
                self.send_queued = self.send_queued.saturating_sub(s.send.len());
                s.send.clear();
                self.send_room.wake_all();
                s.wake_reader();
                s.wake_writer();
                if s.local && !s.syn_acked {
                    s.syn_acked = true;
                    self.unacked_opens = self.unacked_opens.saturating_sub(1);
                    self.openers.wake_all();
                }
            }
        }
        self.maybe_remove(id);
        Ok(())
    }

    /// Registers a stream the peer opened. `Ok(false)` means it was refused with RST.
    fn incoming_stream(&mut self, id: u32) -> Result<bool, MuxError> {
        let peer_parity = match self.mode {
            Mode::Client => 0, // a server peer opens even ids
            Mode::Server => 1,
        };
        if id == 0 || id % 2 != peer_parity {
            return Err(MuxError::BadStreamId(id));
        }
        if self.streams.contains_key(&id) {
            return Err(MuxError::DuplicateStream(id));
        }
        if self.backlog.len() >= ACCEPT_BACKLOG {
            warn!(
                stream = id,
                "yamux accept backlog of {ACCEPT_BACKLOG} exceeded, resetting stream"
            );
            self.push_control(Header::window_update(id, Flags::RST, 0));
            return Ok(false);
        }
        if self.streams.len() >= MAX_STREAMS {
            warn!(
                stream = id,
                "yamux session already has {MAX_STREAMS} streams, resetting stream"
            );
            self.push_control(Header::window_update(id, Flags::RST, 0));
            return Ok(false);
        }
        self.streams.insert(id, StreamState::new(false));
        self.backlog.push_back(id);
        self.accepters.wake_all();
        Ok(true)
    }

    // ----- session-level calls ------------------------------------------------------------------

    /// Ends the session because of `err`; a protocol violation by the peer is answered with
    /// GoAway(protocol error) first. Every waiting task wakes.
    pub(crate) fn fail(&mut self, err: MuxError) {
        if self.closed.is_some() {
            return;
        }
        if err.is_protocol_violation() {
            warn!("{err}; sending GoAway(protocol error)");
            self.final_frame = Some(Header::go_away(GO_AWAY_PROTOCOL_ERROR));
        } else {
            debug!("yamux session ended: {err}");
        }
        self.shut(err);
    }

    /// Ends the session at our request. Like Go's `Session.Close`, no GoAway is sent.
    pub(crate) fn close_local(&mut self) {
        if self.closed.is_none() {
            debug!("yamux session closed locally");
            self.shut(MuxError::LocalClose);
        }
    }

    fn shut(&mut self, err: MuxError) {
        self.closed = Some(err);
        self.control.clear();
        self.ready.clear();
        for s in self.streams.values_mut() {
            s.send.clear();
            s.wake_reader();
            s.wake_writer();
        }
        self.send_queued = 0;
        self.send_room.wake_all();
        if let Some(w) = self.frame_reader.take() {
            w.wake();
        }
        for p in self.pings.values_mut() {
            if let Some(w) = p.waker.take() {
                w.wake();
            }
        }
        self.streams.retain(|_, s| !s.detached);
        self.accepters.wake_all();
        self.openers.wake_all();
        self.wake_writer_task();
    }

    /// Whether the session has ended.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.is_some()
    }

    /// Opens a stream: allocates the next id of our parity and queues WindowUpdate(SYN, 0).
    pub(crate) fn poll_open(&mut self, cx: &Context<'_>) -> Poll<Result<u32, MuxError>> {
        if let Some(e) = &self.closed {
            return Poll::Ready(Err(e.clone()));
        }
        if self.remote_go_away {
            return Poll::Ready(Err(MuxError::RemoteGoAwayNormal));
        }
        if self.unacked_opens >= MAX_UNACKED_OPENS {
            self.openers.register(cx);
            return Poll::Pending;
        }
        if self.streams.len() >= MAX_STREAMS {
            return Poll::Ready(Err(MuxError::TooManyStreams(MAX_STREAMS)));
        }
        let id = self.next_id;
        if id >= u32::MAX - 1 {
            return Poll::Ready(Err(MuxError::StreamsExhausted));
        }
        self.next_id += 2;
        self.streams.insert(id, StreamState::new(true));
        self.unacked_opens += 1;
        self.push_control(Header::window_update(id, Flags::SYN, 0));
        Poll::Ready(Ok(id))
    }

    /// Hands out the oldest inbound stream and ACKs it at once (WindowUpdate(ACK)), as Go's
    /// `AcceptStream` does. `None` once the session has ended.
    pub(crate) fn poll_accept(&mut self, cx: &Context<'_>) -> Poll<Option<u32>> {
        if self.closed.is_some() {
            return Poll::Ready(None);
        }
        let Some(id) = self.backlog.pop_front() else {
            self.accepters.register(cx);
            return Poll::Pending;
        };
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.reset {
                let delta = s.take_credit().unwrap_or(0);
                self.push_control(Header::window_update(id, Flags::ACK, delta));
            }
        }
        Poll::Ready(Some(id))
    }

    /// Sends Ping(SYN) with a fresh opaque value; follow with [`Core::poll_ping`].
    pub(crate) fn start_ping(&mut self) -> Result<u32, MuxError> {
        if let Some(e) = &self.closed {
            return Err(e.clone());
        }
        let id = self.next_ping;
        self.next_ping = self.next_ping.wrapping_add(1);
        self.pings.insert(id, PendingPing::default());
        self.push_control(Header::ping(Flags::SYN, id));
        Ok(id)
    }

    /// Resolves when the peer answered ping `id`.
    pub(crate) fn poll_ping(&mut self, id: u32, cx: &Context<'_>) -> Poll<Result<(), MuxError>> {
        let answered = self.pings.get(&id).is_some_and(|p| p.answered);
        if answered {
            self.pings.remove(&id);
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = &self.closed {
            self.pings.remove(&id);
            return Poll::Ready(Err(e.clone()));
        }
        match self.pings.get_mut(&id) {
            Some(p) => {
                p.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            None => Poll::Ready(Err(MuxError::LocalClose)),
        }
    }

    /// Forgets a ping nobody waits for any more.
    pub(crate) fn cancel_ping(&mut self, id: u32) {
        self.pings.remove(&id);
    }

    // ----- output to the socket -----------------------------------------------------------------

    /// Appends the next frames to `out`: all control frames, then Data chunks (at most
    /// [`MAX_DATA_CHUNK`] each, never beyond the peer's window) from ready streams in turn, until
    /// about [`TRANSMIT_BUDGET`] bytes. Pending when there is nothing to send.
    pub(crate) fn poll_transmit(&mut self, cx: &Context<'_>, out: &mut Vec<u8>) -> Poll<Transmit> {
        if self.closed.is_some() {
            if let Some(h) = self.final_frame.take() {
                out.extend_from_slice(&h.encode());
                return Poll::Ready(Transmit::Final);
            }
            return Poll::Ready(Transmit::Closed);
        }
        while let Some(h) = self.control.pop_front() {
            out.extend_from_slice(&h.encode());
        }
        if let Some(w) = self.frame_reader.take() {
            w.wake();
        }
        while out.len() < TRANSMIT_BUDGET {
            let Some(id) = self.ready.pop_front() else {
                break;
            };
            self.transmit_stream(id, out);
        }
        if out.is_empty() {
            self.writer = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(Transmit::Frames)
        }
    }

    fn transmit_stream(&mut self, id: u32, out: &mut Vec<u8>) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.scheduled = false;
        if s.reset {
            return;
        }
        let window = usize::try_from(s.send_window).unwrap_or(usize::MAX);
        let chunk = s.send.len().min(MAX_DATA_CHUNK).min(window);
        if chunk > 0 {
            let len = u32::try_from(chunk).unwrap_or(0);
            out.extend_from_slice(&Header::data(id, Flags::NONE, len).encode());
            if let Some(bytes) = s.send.get(..chunk) {
                out.extend_from_slice(bytes);
            }
            s.send.advance(chunk);
            s.send_window -= len;
            s.wake_writer();
            self.send_queued = self.send_queued.saturating_sub(chunk);
            self.send_room.wake_all();
        }
        if s.send.is_empty() {
            if s.fin == LocalFin::Pending {
                out.extend_from_slice(&Header::window_update(id, Flags::FIN, 0).encode());
                s.fin = LocalFin::Sent;
                s.wake_writer();
                self.maybe_remove(id);
            }
        } else if s.send_window > 0 {
            s.scheduled = true;
            self.ready.push_back(id);
        }
    }

    // ----- helpers ------------------------------------------------------------------------------

    fn push_control(&mut self, h: Header) {
        self.control.push_back(h);
        self.wake_writer_task();
    }

    fn schedule(&mut self, id: u32) {
        if let Some(s) = self.streams.get_mut(&id) {
            if !s.scheduled {
                s.scheduled = true;
                self.ready.push_back(id);
            }
        }
        self.wake_writer_task();
    }

    fn wake_writer_task(&mut self) {
        if let Some(w) = self.writer.take() {
            w.wake();
        }
    }

    fn maybe_remove(&mut self, id: u32) {
        let Some(s) = self.streams.get(&id) else {
            return;
        };
        let finished = s.reset || s.fully_closed() || self.closed.is_some();
        if s.detached && finished {
            if s.local && !s.syn_acked {
                self.unacked_opens = self.unacked_opens.saturating_sub(1);
                self.openers.wake_all();
            }
            self.streams.remove(&id);
        }
    }

    #[cfg(test)]
    pub(crate) fn stream_count(&self) -> usize {
        self.streams.len()
    }

    /// Bytes queued for sending over all streams.
    #[cfg(test)]
    pub(crate) fn send_queued(&self) -> usize {
        self.send_queued
    }
}

mod stream_calls;
#[cfg(test)]
mod tests;
