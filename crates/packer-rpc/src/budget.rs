//! Per-stream backpressure for the net/rpc server (docs/design/backpressure.md).
//!
//! The server reads a request only while the stream has room: fewer than
//! [`MAX_CALLS_PER_STREAM`] calls read whose replies are not yet written, and fewer than
//! [`MAX_QUEUED_REPLY_BYTES`] of encoded replies waiting for the stream. A peer that stops granting
//! window credit therefore stops our reading too: its requests wait in its own yamux window,
//! not in our memory.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Calls read from one stream but not yet answered on the wire, at most: running calls plus
/// replies waiting for the stream. Far above what Packer keeps in flight (Run plus Cancel on the
/// root stream, a few Communicator/Ui calls on a hook stream).
pub const MAX_CALLS_PER_STREAM: usize = 64;

/// Encoded reply bytes waiting for one stream, beyond which no further request is read. A reply
/// is always queued whole, so the bytes held can exceed this by the replies of calls that were
/// already running when the mark was crossed.
pub const MAX_QUEUED_REPLY_BYTES: usize = 1024 * 1024;

/// What one stream's calls hold right now. Pure bookkeeping.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Load {
    /// Calls read and not yet answered on the wire.
    pub(crate) calls: usize,
    /// Bytes of encoded replies queued and not yet written.
    pub(crate) reply_bytes: usize,
}

impl Load {
    /// Whether another request may be read.
    pub(crate) fn has_room(&self) -> bool {
        self.calls < MAX_CALLS_PER_STREAM && self.reply_bytes < MAX_QUEUED_REPLY_BYTES
    }
}

/// One stream's [`Load`], shared by the reader (which waits for room) and the calls and the
/// writer (which release it).
#[derive(Debug, Default)]
pub(crate) struct ReplyBudget {
    load: Mutex<Load>,
    room: Notify,
}

impl ReplyBudget {
    pub(crate) fn new() -> Arc<Self> {
        Arc::default()
    }

    fn lock(&self) -> MutexGuard<'_, Load> {
        // Every update is a pair of integer writes; a poisoned lock still holds a valid Load.
        self.load.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until another request may be read and counts its call. The returned ticket
    /// follows the call to the writer and releases its share when dropped.
    pub(crate) async fn admit(self: &Arc<Self>) -> CallTicket {
        loop {
            // `notify_one` keeps a permit when nobody waits, so a release between the check and
            // the await is not lost.
            let room = self.room.notified();
            {
                let mut load = self.lock();
                if load.has_room() {
                    load.calls += 1;
                    return CallTicket {
                        budget: self.clone(),
                        reply_bytes: 0,
                    };
                }
            }
            room.await;
        }
    }

    /// The current load, for tests and logs.
    #[cfg(test)]
    pub(crate) fn load(&self) -> Load {
        *self.lock()
    }
}

/// One admitted call's share of its stream's budget, held until its reply is written (or
/// dropped with the connection).
#[derive(Debug)]
pub(crate) struct CallTicket {
    budget: Arc<ReplyBudget>,
    reply_bytes: usize,
}

impl CallTicket {
    /// Counts a reply of `len` bytes as queued for the stream.
    pub(crate) fn reply_queued(&mut self, len: usize) {
        self.budget.lock().reply_bytes += len;
        self.reply_bytes += len;
    }
}

impl Drop for CallTicket {
    fn drop(&mut self) {
        {
            let mut load = self.budget.lock();
            load.calls = load.calls.saturating_sub(1);
            load.reply_bytes = load.reply_bytes.saturating_sub(self.reply_bytes);
        }
        self.budget.room.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn admission_stops_at_the_call_bound_and_resumes_on_release() {
        let budget = ReplyBudget::new();
        let mut tickets = Vec::new();
        for _ in 0..MAX_CALLS_PER_STREAM {
            tickets.push(budget.admit().await);
        }
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.admit().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(tickets.pop());
        let t = tokio::time::timeout(std::time::Duration::from_secs(60), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(budget.load().calls, MAX_CALLS_PER_STREAM);
        drop(t);
        drop(tickets);
        assert_eq!(budget.load(), Load::default());
    }

    #[tokio::test]
    async fn queued_reply_bytes_stop_admission_until_written() {
        let budget = ReplyBudget::new();
        let mut big = budget.admit().await;
        big.reply_queued(MAX_QUEUED_REPLY_BYTES);
        assert!(!budget.load().has_room());
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.admit().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(big); // written
        let t = tokio::time::timeout(std::time::Duration::from_secs(60), waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            budget.load(),
            Load {
                calls: 1,
                reply_bytes: 0
            }
        );
        drop(t);
    }
}
