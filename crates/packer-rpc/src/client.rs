//! The net/rpc client: calls with sequence numbers from 0, any number in flight, replies matched by
//! `Seq` in whatever order they come.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use rmpv::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;

use crate::codec::{self, RequestHeader};
use crate::conn::{spawn_writer, Outbox, Outgoing, ValueReader};
use crate::error::RpcError;

type Waiter = oneshot::Sender<Result<Value, RpcError>>;

/// Calls awaiting replies, keyed by `Seq`. Pure bookkeeping, separate from the I/O.
#[derive(Default)]
struct CallTable {
    next_seq: u64,
    pending: HashMap<u64, (String, Waiter)>,
    /// Set once the connection is gone; later calls fail at once with this reason.
    closed: Option<String>,
    /// `None` after [`Client::close`].
    outbox: Option<Outbox>,
}

impl CallTable {
    fn fail_all(&mut self, conn: &str, reason: &str) {
        self.closed.get_or_insert_with(|| reason.to_string());
        for (_, (method, waiter)) in self.pending.drain() {
            let _ = waiter.send(Err(RpcError::Closed {
                conn: conn.to_string(),
                method,
                reason: reason.to_string(),
            }));
        }
    }
}

struct Shared {
    name: String,
    table: Mutex<CallTable>,
}

impl Shared {
    fn table(&self) -> MutexGuard<'_, CallTable> {
        // A poisoned lock only means another thread panicked while holding it; the table itself
        // is always consistent (every mutation is a single insert/remove).
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Closes the write side when the last [`Client`] clone is dropped, so the peer's server sees EOF.
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.table().outbox = None;
    }
}

/// A net/rpc client over one broker stream. Cheap to clone; all clones share the connection.
#[derive(Clone)]
pub struct Client {
    handle: Arc<Handle>,
}

impl Client {
    /// Starts a client on `stream` (the side that dialed). `name` labels logs and errors.
    pub fn new<S>(stream: S, name: impl Into<String>) -> Self
    where
        S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
    {
        let name = name.into();
        let (rd, wr) = tokio::io::split(stream);
        let (outbox, _writer) = spawn_writer(wr, "rpc client");
        let shared = Arc::new(Shared {
            name,
            table: Mutex::new(CallTable {
                outbox: Some(outbox),
                ..CallTable::default()
            }),
        });
        tokio::spawn(read_replies(ValueReader::new(rd), shared.clone()));
        Self {
            handle: Arc::new(Handle { shared }),
        }
    }

    /// Calls `method` ("Service.Method") with `args` (one encoded msgpack value) and returns the
    /// reply value. A server error string becomes [`RpcError::Remote`].
    pub async fn call(&self, method: &str, args: &[u8]) -> Result<Value, RpcError> {
        let shared = &self.handle.shared;
        let rx = {
            let mut t = shared.table();
            let closed = |reason: &str| RpcError::Closed {
                conn: shared.name.clone(),
                method: method.to_string(),
                reason: reason.to_string(),
            };
            if let Some(reason) = &t.closed {
                return Err(closed(reason));
            }
            let Some(outbox) = t.outbox.clone() else {
                return Err(closed("the client was closed"));
            };
            let seq = t.next_seq;
            t.next_seq += 1;
            let (tx, rx) = oneshot::channel();
            t.pending.insert(seq, (method.to_string(), tx));
            let msg = codec::encode_request(
                &RequestHeader {
                    service_method: method.to_string(),
                    seq,
                },
                args,
            );
            let msg = Outgoing {
                bytes: msg,
                ticket: None,
            };
            if outbox.send(msg).is_err() {
                t.pending.remove(&seq);
                return Err(closed("the stream can no longer be written"));
            }
            rx
        };
        match rx.await {
            Ok(result) => result,
            Err(_) => Err(RpcError::Closed {
                conn: shared.name.clone(),
                method: method.to_string(),
                reason: "the reply reader stopped".into(),
            }),
        }
    }

    /// Stops sending: queued calls are written, then the stream's write side is closed. Replies to
    /// calls already sent are still delivered. Like Go's `Client.Close`, later calls fail.
    pub fn close(&self) {
        self.handle.shared.table().outbox = None;
    }

    /// The label given at creation.
    pub fn name(&self) -> &str {
        &self.handle.shared.name
    }
}

async fn read_replies<R: AsyncRead + Unpin>(mut reader: ValueReader<R>, shared: Arc<Shared>) {
    let reason = loop {
        let header = match reader.next().await {
            Ok(Some(v)) => v,
            Ok(None) => break "the stream ended".to_string(),
            Err(e) => break e.to_string(),
        };
        let header = match codec::decode_response_header(&header) {
            Ok(h) => h,
            Err(e) => break e.to_string(),
        };
        let body = match reader.next_required().await {
            Ok(v) => v,
            Err(e) => break e.to_string(),
        };
        let waiter = shared.table().pending.remove(&header.seq);
        match waiter {
            Some((_, waiter)) => {
                let result = if header.error.is_empty() {
                    Ok(body)
                } else {
                    Err(RpcError::Remote {
                        message: header.error,
                    })
                };
                let _ = waiter.send(result);
            }
            None => tracing::debug!(
                conn = %shared.name,
                seq = header.seq,
                "reply for a call nobody is waiting for; discarded"
            ),
        }
    };
    tracing::debug!(conn = %shared.name, %reason, "rpc client connection ended");
    shared.table().fail_all(&shared.name, &reason);
}
