//! The application's handle on one yamux stream: tokio `AsyncRead` + `AsyncWrite`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::session::Shared;

/// One multiplexed byte stream. `shutdown` sends FIN (half-close: reads go on until the peer's FIN,
/// which reads as EOF); dropping without `shutdown` sends FIN too, so no stream is left half-open.
/// After the peer's RST, reads and writes fail with `ConnectionReset`.
#[derive(Debug)]
pub struct MuxStream {
    id: u32,
    shared: Arc<Shared>,
}

impl MuxStream {
    pub(crate) fn new(id: u32, shared: Arc<Shared>) -> Self {
        Self { id, shared }
    }

    /// The yamux stream id (odd if the client opened it, even if the server did); for logs.
    pub fn id(&self) -> u32 {
        self.id
    }
}

impl AsyncRead for MuxStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let dst = buf.initialize_unfilled();
        match self.shared.lock().poll_read(self.id, cx, dst) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for MuxStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.shared.lock().poll_write(self.id, cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.shared.lock().poll_flush(self.id, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.shared.lock().poll_shutdown(self.id, cx)
    }
}

impl Drop for MuxStream {
    fn drop(&mut self) {
        self.shared.lock().detach(self.id);
    }
}
