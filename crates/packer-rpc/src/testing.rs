//! An in-memory [`StreamBroker`] pair for tests: each side allocates its own ids, accepts the ids it
//! allocated, dials the peer's, with the SDK broker's 5 s accept window. Not built into the binary.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use packer_mux::StreamBroker;
use tokio::io::DuplexStream;
use tokio::sync::oneshot;

/// The SDK broker's accept window.
const ACCEPT_WINDOW: Duration = Duration::from_secs(5);

/// Per-pipe buffer; small enough that large transfers exercise back-pressure.
const PIPE_BUFFER: usize = 64 * 1024;

type Delivery = (DuplexStream, oneshot::Sender<()>);

enum Slot {
    /// A dialed stream nobody has accepted yet, with the dialer's ack.
    Parked(Delivery),
    /// An acceptor waiting for the stream.
    Waiting(oneshot::Sender<Delivery>),
}

#[derive(Default)]
struct Side {
    next_id: AtomicU32,
    slots: Mutex<HashMap<u32, Slot>>,
}

impl Side {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Slot>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn deliver(&self, id: u32, delivery: Delivery) {
        let mut slots = self.slots();
        match slots.remove(&id) {
            Some(Slot::Waiting(tx)) => {
                if let Err(delivery) = tx.send(delivery) {
                    slots.insert(id, Slot::Parked(delivery));
                }
            }
            _ => {
                slots.insert(id, Slot::Parked(delivery));
            }
        }
    }
}

/// One end of an in-memory broker connection.
#[derive(Clone)]
pub struct MemBroker {
    me: Arc<Side>,
    peer: Arc<Side>,
}

impl MemBroker {
    /// Two connected ends: give one to the plugin side, drive the other as Packer would.
    pub fn pair() -> (MemBroker, MemBroker) {
        let a = Arc::new(Side::default());
        let b = Arc::new(Side::default());
        (
            MemBroker {
                me: a.clone(),
                peer: b.clone(),
            },
            MemBroker { me: b, peer: a },
        )
    }
}

#[async_trait::async_trait]
impl StreamBroker for MemBroker {
    type Stream = DuplexStream;

    fn next_id(&self) -> u32 {
        self.me
            .next_id
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_add(1)
    }

    async fn dial(&self, id: u32) -> io::Result<DuplexStream> {
        let (ours, theirs) = tokio::io::duplex(PIPE_BUFFER);
        let (ack_tx, ack_rx) = oneshot::channel();
        self.peer.deliver(id, (theirs, ack_tx));
        match tokio::time::timeout(ACCEPT_WINDOW, ack_rx).await {
            Ok(Ok(())) => Ok(ours),
            _ => {
                let mut slots = self.peer.slots();
                if let Some(Slot::Parked(_)) = slots.get(&id) {
                    slots.remove(&id);
                }
                Err(io::Error::new(
                    io::ErrorKind::ConnectionRefused,
                    format!("in-memory broker: nobody accepted stream {id}"),
                ))
            }
        }
    }

    async fn accept(&self, id: u32) -> io::Result<DuplexStream> {
        let rx = {
            let mut slots = self.me.slots();
            if let Some(Slot::Parked((stream, ack))) = slots.remove(&id) {
                let _ = ack.send(());
                return Ok(stream);
            }
            let (tx, rx) = oneshot::channel();
            slots.insert(id, Slot::Waiting(tx));
            rx
        };
        match tokio::time::timeout(ACCEPT_WINDOW, rx).await {
            Ok(Ok((stream, ack))) => {
                let _ = ack.send(());
                Ok(stream)
            }
            _ => {
                let mut slots = self.me.slots();
                if let Some(Slot::Waiting(_)) = slots.get(&id) {
                    slots.remove(&id);
                }
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "timeout waiting for accept",
                ))
            }
        }
    }
}
