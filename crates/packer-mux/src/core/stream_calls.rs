//! The application's stream calls on the core: read, write, flush, shut down, drop.

use std::io;
use std::task::{Context, Poll};

use crate::frame::{Flags, Header};
use crate::stream_state::LocalFin;

use super::{Core, MAX_SESSION_SEND_BUFFER, MAX_STREAM_SEND_BUFFER};

impl Core {
    fn gone(id: u32) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotConnected,
            format!("yamux stream {id} is no longer known to the session"),
        )
    }

    fn reset_error(id: u32) -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionReset,
            format!("yamux stream {id} was reset by the peer"),
        )
    }

    /// Reads buffered bytes; EOF (`Ok(0)`) after the peer's FIN; an error after RST or session end.
    pub(crate) fn poll_read(
        &mut self,
        id: u32,
        cx: &Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let Some(s) = self.streams.get_mut(&id) else {
            return Poll::Ready(Err(Self::gone(id)));
        };
        if s.reset {
            return Poll::Ready(Err(Self::reset_error(id)));
        }
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if s.recv_len > 0 {
            let n = s.take_recv(out);
            if self.closed.is_none() && !s.reset {
                if let Some(delta) = s.take_credit() {
                    self.push_control(Header::window_update(id, Flags::NONE, delta));
                }
            }
            return Poll::Ready(Ok(n));
        }
        if s.remote_fin {
            return Poll::Ready(Ok(0));
        }
        if let Some(e) = &self.closed {
            return Poll::Ready(Err(e.to_io()));
        }
        s.read_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Accepts as many bytes as the peer's window and the send buffers leave room for; waits when
    /// there is none.
    pub(crate) fn poll_write(
        &mut self,
        id: u32,
        cx: &Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let Some(s) = self.streams.get_mut(&id) else {
            return Poll::Ready(Err(Self::gone(id)));
        };
        if s.reset {
            return Poll::Ready(Err(Self::reset_error(id)));
        }
        if let Some(e) = &self.closed {
            return Poll::Ready(Err(e.to_io()));
        }
        if s.fin != LocalFin::Open {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("yamux stream {id} was already shut down for writing"),
            )));
        }
        if data.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Only bytes the window already allows are queued, so a stream the peer gives no credit
        // holds nothing here; the session budget only waits for the connection itself.
        let window = usize::try_from(s.send_window)
            .unwrap_or(usize::MAX)
            .min(MAX_STREAM_SEND_BUFFER);
        let room = window.saturating_sub(s.send.len());
        if room == 0 {
            s.write_waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let session_room = MAX_SESSION_SEND_BUFFER.saturating_sub(self.send_queued);
        if session_room == 0 {
            self.send_room.register(cx);
            return Poll::Pending;
        }
        let n = room.min(session_room).min(data.len());
        if let Some(chunk) = data.get(..n) {
            s.send.extend_from_slice(chunk);
            self.send_queued += chunk.len();
        }
        self.schedule(id);
        Poll::Ready(Ok(n))
    }

    /// Resolves once everything written has been handed to the connection writer.
    pub(crate) fn poll_flush(&mut self, id: u32, cx: &Context<'_>) -> Poll<io::Result<()>> {
        let Some(s) = self.streams.get_mut(&id) else {
            return Poll::Ready(Err(Self::gone(id)));
        };
        if s.reset {
            return Poll::Ready(Err(Self::reset_error(id)));
        }
        // Checked first: a session end discards unsent bytes, which must not look flushed.
        if let Some(e) = &self.closed {
            return Poll::Ready(Err(e.to_io()));
        }
        if s.send.is_empty() {
            return Poll::Ready(Ok(()));
        }
        s.write_waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Half-closes our direction: FIN goes out after the buffered data; resolves once it has.
    pub(crate) fn poll_shutdown(&mut self, id: u32, cx: &Context<'_>) -> Poll<io::Result<()>> {
        let Some(s) = self.streams.get_mut(&id) else {
            return Poll::Ready(Err(Self::gone(id)));
        };
        if s.reset || s.fin == LocalFin::Sent {
            return Poll::Ready(Ok(()));
        }
        if let Some(e) = &self.closed {
            return Poll::Ready(Err(e.to_io()));
        }
        s.write_waker = Some(cx.waker().clone());
        if s.fin == LocalFin::Open {
            s.fin = LocalFin::Pending;
            self.schedule(id);
        }
        Poll::Pending
    }

    /// The application dropped its handle: send FIN if not done yet, drop unread data (and give
    /// its credit back), and forget the stream once both sides are finished.
    pub(crate) fn detach(&mut self, id: u32) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.detached = true;
        s.read_waker = None;
        s.write_waker = None;
        s.discard_recv();
        let mut schedule = false;
        if self.closed.is_none() && !s.reset {
            if let Some(delta) = s.take_credit() {
                self.control
                    .push_back(Header::window_update(id, Flags::NONE, delta));
            }
            if s.fin == LocalFin::Open {
                s.fin = LocalFin::Pending;
                schedule = true;
            }
        }
        if schedule {
            self.schedule(id);
        } else {
            self.wake_writer_task();
        }
        self.maybe_remove(id);
    }
}
