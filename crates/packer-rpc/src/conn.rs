//! The thin async half of the codec: read values from a stream, write whole messages from a queue.
//!
//! Writes go through one task per connection fed by a channel, so a message is queued atomically
//! (a caller that is cancelled mid-call can never leave half a message on the stream) and replies
//! finishing concurrently never interleave. The channel itself is unbounded; what bounds it is the
//! server's [`ReplyBudget`](crate::budget::ReplyBudget), whose tickets travel with the replies and
//! are released once a reply is written, and, for the client, its callers each awaiting a reply.

use rmpv::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::budget::CallTicket;
use crate::codec::{CodecError, ValueDecoder};

/// Reads msgpack values from a byte stream.
pub(crate) struct ValueReader<R> {
    rd: R,
    dec: ValueDecoder,
}

/// Why reading stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

impl<R: AsyncRead + Unpin> ValueReader<R> {
    pub(crate) fn new(rd: R) -> Self {
        Self {
            rd,
            dec: ValueDecoder::new(),
        }
    }

    /// The next value; `Ok(None)` on a clean end of stream (between values).
    pub(crate) async fn next(&mut self) -> Result<Option<Value>, ReadError> {
        loop {
            if let Some(v) = self.dec.next_value()? {
                return Ok(Some(v));
            }
            let buf = self.dec.buffer_mut();
            buf.reserve(16 * 1024);
            let n = self.rd.read_buf(buf).await?;
            if n == 0 {
                self.dec.finish()?;
                return Ok(None);
            }
        }
    }

    /// The next value, where the end of stream is an error (a body after its header).
    pub(crate) async fn next_required(&mut self) -> Result<Value, ReadError> {
        match self.next().await? {
            Some(v) => Ok(v),
            None => Err(CodecError::Truncated { buffered: 0 }.into()),
        }
    }
}

/// One whole encoded message and, for a reply, its call's share of the stream's budget, released
/// when the message has been written (or dropped unwritten).
pub(crate) struct Outgoing {
    pub(crate) bytes: Vec<u8>,
    pub(crate) ticket: Option<CallTicket>,
}

/// Queue of whole encoded messages for one connection's writer task.
pub(crate) type Outbox = mpsc::UnboundedSender<Outgoing>;

/// Spawns the writer task: writes each queued message and flushes; when every sender is gone,
/// shuts the write side down (yamux FIN) and ends. A write error ends it early, after which
/// queued messages are dropped (releasing their tickets) and senders see a closed channel.
pub(crate) fn spawn_writer<W>(
    mut wr: W,
    what: &'static str,
) -> (Outbox, tokio::task::JoinHandle<()>)
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let task = tokio::spawn(async move {
        while let Some(Outgoing { bytes, ticket }) = rx.recv().await {
            let res = async {
                wr.write_all(&bytes).await?;
                wr.flush().await
            }
            .await;
            drop(ticket); // written: the server may read another request
            if let Err(e) = res {
                tracing::debug!(conn = what, error = %e, "rpc write failed; dropping connection");
                rx.close();
                return;
            }
        }
        if let Err(e) = wr.shutdown().await {
            tracing::debug!(conn = what, error = %e, "rpc stream shutdown failed");
        }
    });
    (tx, task)
}
