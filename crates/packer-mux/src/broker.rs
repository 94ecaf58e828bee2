//! The SDK's `muxBroker`: numbered sub-streams on top of a yamux session.
//!
//! Dial opens a stream, writes the broker id (4 bytes LE) and expects the same 4 bytes back.
//! An accept loop reads the id of every inbound stream and parks it until `accept(id)` claims it
//! (which writes the ack); streams nobody claims within 5 s are closed, like the SDK's `timeoutWait`.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tracing::{debug, warn};

use crate::{MuxStream, Session, StreamBroker};

/// How long `accept` waits, and how long an unclaimed stream stays parked (SDK: 5 s each).
pub(crate) const ACCEPT_TIMEOUT: Duration = Duration::from_secs(5);

/// One broker id's rendezvous point.
enum Slot {
    /// `accept(id)` is waiting.
    Waiting {
        tx: oneshot::Sender<MuxStream>,
        token: u64,
    },
    /// A stream arrived first.
    Parked { stream: MuxStream, token: u64 },
}

struct BrokerInner {
    session: Session,
    next_id: AtomicU32,
    next_token: AtomicU64,
    slots: Mutex<HashMap<u32, Slot>>,
}

impl BrokerInner {
    fn slots(&self) -> MutexGuard<'_, HashMap<u32, Slot>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes our own `Waiting` entry (not one a later `accept` put there).
    fn forget_waiter(&self, id: u32, token: u64) {
        let mut slots = self.slots();
        if matches!(slots.get(&id), Some(Slot::Waiting { token: t, .. }) if *t == token) {
            slots.remove(&id);
        }
    }

    fn token(&self) -> u64 {
        self.next_token.fetch_add(1, Ordering::Relaxed)
    }

    /// Reads the id an inbound stream names and hands the stream to its acceptor or parks it.
    async fn route(self: Arc<Self>, mut stream: MuxStream) {
        let mut id = [0u8; 4];
        match tokio::time::timeout(ACCEPT_TIMEOUT, stream.read_exact(&mut id)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                debug!(stream = stream.id(), "broker: no id on inbound stream: {e}");
                return;
            }
            Err(_) => {
                debug!(
                    stream = stream.id(),
                    "broker: inbound stream sent no id within 5 s"
                );
                return;
            }
        }
        let id = u32::from_le_bytes(id);
        let mut slots = self.slots();
        let stream = match slots.remove(&id) {
            Some(Slot::Waiting { tx, .. }) => match tx.send(stream) {
                Ok(()) => return,
                Err(stream) => stream, // the acceptor just gave up: park it like any other
            },
            Some(parked @ Slot::Parked { .. }) => {
                slots.insert(id, parked);
                warn!(
                    broker_id = id,
                    "broker: a stream for this id is already parked; closing the new one"
                );
                return;
            }
            None => stream,
        };
        let token = self.token();
        slots.insert(id, Slot::Parked { stream, token });
        drop(slots);
        let inner = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ACCEPT_TIMEOUT).await;
            let mut slots = inner.slots();
            if matches!(slots.get(&id), Some(Slot::Parked { token: t, .. }) if *t == token) {
                // Dropping the stream sends FIN, which the dialer sees as a failed ack read.
                slots.remove(&id);
                debug!(
                    broker_id = id,
                    "broker: nobody accepted the stream within 5 s; closed"
                );
            }
        });
    }
}

/// The plugin-side stream broker: Packer and the plugin exchange broker ids inside RPC messages
/// and meet on sub-streams named by them. Clone it freely; all clones share one accept loop.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<BrokerInner>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("next_id", &self.inner.next_id.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Broker {
    /// Wraps `session` and spawns the accept loop (so it must run inside a Tokio runtime). Use one
    /// broker per session: it takes every inbound stream.
    pub fn new(session: Session) -> Broker {
        let inner = Arc::new(BrokerInner {
            session,
            next_id: AtomicU32::new(0),
            next_token: AtomicU64::new(0),
            slots: Mutex::new(HashMap::new()),
        });
        let looped = inner.clone();
        tokio::spawn(async move {
            while let Some(stream) = looped.session.accept().await {
                tokio::spawn(looped.clone().route(stream));
            }
            // Session over: drop parked streams and fail waiting acceptors.
            looped.slots().clear();
        });
        Broker { inner }
    }

    /// The session underneath, to watch `closed()` or close it.
    pub fn session(&self) -> &Session {
        &self.inner.session
    }

    async fn finish_accept(id: u32, mut stream: MuxStream) -> io::Result<MuxStream> {
        stream.write_all(&id.to_le_bytes()).await?;
        stream.flush().await?;
        Ok(stream)
    }

    fn timeout_error(id: u32) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("timeout waiting for accept of broker id {id}"),
        )
    }
}

#[async_trait::async_trait]
impl StreamBroker for Broker {
    type Stream = MuxStream;

    fn next_id(&self) -> u32 {
        self.inner
            .next_id
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
    }

    async fn dial(&self, id: u32) -> io::Result<MuxStream> {
        let mut stream = self.inner.session.open().await?;
        stream.write_all(&id.to_le_bytes()).await?;
        stream.flush().await?;
        let mut ack = [0u8; 4];
        stream.read_exact(&mut ack).await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("broker dial of id {id}: no ack from the peer: {e}"),
            )
        })?;
        let ack = u32::from_le_bytes(ack);
        if ack != id {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad ack: {ack} (expected {id})"),
            ));
        }
        Ok(stream)
    }

    async fn accept(&self, id: u32) -> io::Result<MuxStream> {
        let inner = &self.inner;
        let claimed = {
            let mut slots = inner.slots();
            match slots.remove(&id) {
                Some(Slot::Parked { stream, .. }) => Ok(stream),
                Some(Slot::Waiting { tx, token }) if !tx.is_closed() => {
                    slots.insert(id, Slot::Waiting { tx, token });
                    return Err(io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("broker id {id} is already being accepted"),
                    ));
                }
                // Nothing yet, or a waiter whose accept was cancelled.
                _ => {
                    let token = inner.token();
                    let (tx, rx) = oneshot::channel();
                    slots.insert(id, Slot::Waiting { tx, token });
                    Err((token, rx))
                }
            }
        };
        let (token, rx) = match claimed {
            Ok(stream) => return Self::finish_accept(id, stream).await,
            Err(waiting) => waiting,
        };
        let mut rx = rx;
        let outcome = tokio::select! {
            r = tokio::time::timeout(ACCEPT_TIMEOUT, &mut rx) => match r {
                Ok(Ok(stream)) => Some(Ok(stream)),
                Ok(Err(_)) => None,
                Err(_) => Some(Err(())),
            },
            () = inner.session.closed() => None,
        };
        match outcome {
            Some(Ok(stream)) => return Self::finish_accept(id, stream).await,
            None => {
                inner.forget_waiter(id, token);
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    format!("broker accept of id {id}: the session is closed"),
                ));
            }
            Some(Err(())) => inner.forget_waiter(id, token),
        }
        // A stream may have been handed over in the same instant the timer fired.
        match rx.try_recv() {
            Ok(stream) => Self::finish_accept(id, stream).await,
            Err(_) => Err(Self::timeout_error(id)),
        }
    }
}
