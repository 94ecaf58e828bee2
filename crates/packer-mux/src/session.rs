//! The thin tokio driver around [`crate::core::Core`]: one reader task, one writer task.
//!
//! The reader only decodes frames and hands them to the core, which appends to bounded per-stream
//! buffers, so it never waits for a slow stream consumer and pings are always answered; it only
//! pauses while the core's control queue is full, that is while the connection itself does not
//! take our frames. The writer owns the write half and sends whatever the core queues; a write
//! stuck for 10 s ends the session.

use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::Notify;
use tracing::debug;

use crate::core::{Core, Transmit, MAX_WINDOW, TRANSMIT_BUDGET};
use crate::frame::{FrameType, Header, HEADER_LEN};
use crate::{MuxError, MuxStream};

/// A frame write that takes longer than this ends the session (Go's `ConnectionWriteTimeout`).
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a ping waits for its answer (Go uses the same bound).
const PING_TIMEOUT: Duration = WRITE_TIMEOUT;

/// Which end of the yamux connection we are; it fixes the parity of the stream ids we open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Opens odd ids; Packer's role.
    Client,
    /// Opens even ids; the plugin's role.
    Server,
}

/// The state shared by the session handle, its streams and the two driver tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    core: Mutex<Core>,
    /// Signalled when the session ends (waiters deregister when dropped, unlike a waker list).
    ended: Notify,
}

impl Shared {
    /// Locks the core; a poisoned lock is still usable because the core never panics midway.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the core and tells `closed()` waiters if the session ended meanwhile.
    fn update(&self, f: impl FnOnce(&mut Core)) {
        let ended = {
            let mut core = self.lock();
            f(&mut core);
            core.is_closed()
        };
        if ended {
            self.ended.notify_waiters();
        }
    }

    async fn closed(&self) {
        loop {
            let notified = self.ended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().is_closed() {
                return;
            }
            notified.await;
        }
    }
}

/// A yamux session over one connection. Cheap to clone: every clone drives the same session.
#[derive(Debug, Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

impl Session {
    /// Starts a session over `io` and spawns its reader and writer tasks, so it must be called
    /// inside a Tokio runtime.
    pub fn new<T>(io: T, mode: Mode) -> Session
    where
        T: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let shared = Arc::new(Shared {
            core: Mutex::new(Core::new(mode)),
            ended: Notify::new(),
        });
        let (rd, wr) = tokio::io::split(io);
        tokio::spawn(read_loop(rd, shared.clone()));
        tokio::spawn(write_loop(wr, shared.clone()));
        Session { shared }
    }

    /// Opens a new stream (WindowUpdate with SYN, delta 0). Fails once the session has ended or
    /// the peer sent GoAway.
    pub async fn open(&self) -> std::io::Result<MuxStream> {
        let id = poll_fn(|cx| self.shared.lock().poll_open(cx))
            .await
            .map_err(|e| e.to_io())?;
        Ok(MuxStream::new(id, self.shared.clone()))
    }

    /// Waits for the next stream the peer opens and ACKs it at once. `None` once the session is
    /// closed. Keep calling it (the [`crate::Broker`] does): a Go peer closes the whole session
    /// when a stream it opened stays un-ACKed for 75 s.
    pub async fn accept(&self) -> Option<MuxStream> {
        let id = poll_fn(|cx| self.shared.lock().poll_accept(cx)).await?;
        Some(MuxStream::new(id, self.shared.clone()))
    }

    /// Sends a ping and waits (at most 10 s) for the peer's answer.
    pub async fn ping(&self) -> std::io::Result<()> {
        let id = self.shared.lock().start_ping().map_err(|e| e.to_io())?;
        let answer = tokio::time::timeout(
            PING_TIMEOUT,
            poll_fn(|cx| self.shared.lock().poll_ping(id, cx)),
        )
        .await;
        match answer {
            Ok(r) => r.map_err(|e| e.to_io()),
            Err(_) => {
                self.shared.lock().cancel_ping(id);
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("yamux ping {id} got no answer within {PING_TIMEOUT:?}"),
                ))
            }
        }
    }

    /// Ends the session now, like Go's `Session.Close`: no GoAway, the connection is dropped, and
    /// every stream operation fails from then on.
    pub fn close(&self) {
        self.shared.update(Core::close_local);
    }

    /// Resolves when the session has ended, for whatever reason.
    pub async fn closed(&self) {
        self.shared.closed().await
    }

    /// Why the session ended, once it has; for logs.
    pub fn close_reason(&self) -> Option<MuxError> {
        self.shared.lock().close_reason().cloned()
    }
}

/// Reads one frame; `Ok(None)` on a clean EOF between frames.
async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R) -> Result<Option<(Header, Bytes)>, MuxError> {
    let mut hdr = [0u8; HEADER_LEN];
    let first = rd.read(&mut hdr).await?;
    if first == 0 {
        return Ok(None);
    }
    if let Some(rest) = hdr.get_mut(first..) {
        rd.read_exact(rest).await?;
    }
    let header = Header::decode(&hdr)?;
    if header.frame_type != FrameType::Data || header.length == 0 {
        return Ok(Some((header, Bytes::new())));
    }
    if header.length > MAX_WINDOW {
        // No window we ever grant is this large, so the frame is a violation whatever the stream.
        return Err(MuxError::WindowExceeded {
            stream: header.stream_id,
            length: header.length,
            window: MAX_WINDOW,
        });
    }
    let len = usize::try_from(header.length).unwrap_or(0);
    let mut payload = vec![0u8; len];
    rd.read_exact(&mut payload).await?;
    Ok(Some((header, Bytes::from(payload))))
}

async fn read_loop<R: AsyncRead + Unpin>(rd: R, shared: Arc<Shared>) {
    let mut rd = BufReader::with_capacity(64 * 1024, rd);
    let end = loop {
        // Backpressure for control frames: wait while our answers pile up unsent.
        poll_fn(|cx| shared.lock().poll_frame_room(cx)).await;
        let frame = tokio::select! {
            biased;
            () = shared.closed() => return,
            frame = read_frame(&mut rd) => frame,
        };
        match frame {
            Ok(Some((hdr, payload))) => shared.update(|core| core.on_frame(hdr, payload)),
            Ok(None) => break MuxError::PeerClosed,
            Err(e) => break e,
        }
    };
    shared.update(|core| core.fail(end));
}

async fn write_loop<W: AsyncWrite + Unpin>(mut wr: W, shared: Arc<Shared>) {
    let mut out = Vec::with_capacity(TRANSMIT_BUDGET + 32 * 1024);
    loop {
        out.clear();
        let next = poll_fn(|cx| shared.lock().poll_transmit(cx, &mut out)).await;
        if !out.is_empty() {
            let write = async {
                wr.write_all(&out).await?;
                wr.flush().await
            };
            match tokio::time::timeout(WRITE_TIMEOUT, write).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    shared.update(|core| core.fail(e.into()));
                    break;
                }
                Err(_) => {
                    let timeout = MuxError::WriteTimeout(WRITE_TIMEOUT.as_secs());
                    shared.update(|core| core.fail(timeout));
                    break;
                }
            }
        }
        if next != Transmit::Frames {
            break;
        }
    }
    if tokio::time::timeout(WRITE_TIMEOUT, wr.shutdown())
        .await
        .is_err()
    {
        debug!("yamux connection shutdown timed out");
    }
}
