//! Backpressure from a peer that stops reading: a raw yamux client pipelines calls on one stream
//! of our real yamux session without granting window credit. The server must stop consuming
//! requests once replies cannot be written, so what it holds stays under the server's bounds;
//! a stalled stream must not hold up another stream; once credit flows, every reply arrives in
//! order.
//!
//! The clock is paused: the "quiet" timeouts only elapse once every task is idle, so "the peer
//! got no more credit" is decided by the system settling, not by wall-clock timing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use packer_mux::{Mode, Session};
use rmpv::Value;

use super::yamux_peer::RawClient;
use crate::codec::{self, RequestHeader, ResponseHeader, ValueDecoder, NIL_BODY};
use crate::msgpack::Writer;
use crate::server::{
    serve, CallError, Registry, Service, MAX_CALLS_PER_STREAM, MAX_QUEUED_REPLY_BYTES,
};

/// Idle time (virtual, paused clock) after which the system counts as settled.
const QUIET: Duration = Duration::from_secs(30);

/// `Blob.Get` returns the same `len`-byte bin every time and counts its calls.
struct Blob {
    calls: AtomicU64,
    reply: Vec<u8>,
}

#[async_trait::async_trait]
impl Service for Blob {
    async fn call(&self, method: &str, _args: Value) -> Result<Vec<u8>, CallError> {
        match method {
            "Get" => {
                self.calls.fetch_add(1, Ordering::SeqCst);
                Ok(self.reply.clone())
            }
            _ => Err(CallError::NoMethod),
        }
    }
}

fn blob(len: usize) -> Arc<Blob> {
    let mut w = Writer::new();
    w.bin(&vec![0x5a; len]);
    Arc::new(Blob {
        calls: AtomicU64::new(0),
        reply: w.finish().unwrap(),
    })
}

/// Our session (server mode, every stream served with `Blob`) and the raw peer on its other end.
fn start(service: Arc<Blob>) -> (RawClient, Session) {
    let (peer_io, our_io) = tokio::io::duplex(256 * 1024);
    let session = Session::new(our_io, Mode::Server);
    let registry = Registry::new();
    registry.register("Blob", service);
    let accepting = session.clone();
    tokio::spawn(async move {
        while let Some(stream) = accepting.accept().await {
            let registry = registry.clone();
            tokio::spawn(async move {
                let _ = serve(stream, registry, "test stream").await;
            });
        }
    });
    (RawClient::new(peer_io), session)
}

/// `n` pipelined calls, each with an `arg_len`-byte argument (nil for 0).
fn requests(n: u64, arg_len: usize) -> Vec<u8> {
    let arg = if arg_len == 0 {
        NIL_BODY.to_vec()
    } else {
        let mut w = Writer::new();
        w.bin(&vec![7; arg_len]);
        w.finish().unwrap()
    };
    let mut all = Vec::new();
    for seq in 0..n {
        all.extend_from_slice(&codec::encode_request(
            &RequestHeader {
                service_method: "Blob.Get".into(),
                seq,
            },
            &arg,
        ));
    }
    all
}

/// The exact reply bytes for call `seq`.
fn reply_len(service: &Blob, seq: u64) -> u64 {
    let h = ResponseHeader {
        service_method: "Blob.Get".into(),
        seq,
        error: String::new(),
    };
    codec::encode_response(&h, &service.reply).len() as u64
}

/// Replies parsed from a stream, checked to come in call order.
#[derive(Default)]
struct Replies {
    dec: ValueDecoder,
    header: Option<ResponseHeader>,
    count: u64,
}

impl Replies {
    fn absorb(&mut self, bytes: &[u8], want_body: &Value) {
        self.dec.feed(bytes);
        while let Some(v) = self.dec.next_value().unwrap() {
            match self.header.take() {
                None => self.header = Some(codec::decode_response_header(&v).unwrap()),
                Some(h) => {
                    assert_eq!(h.seq, self.count, "replies out of order");
                    assert_eq!(h.error, "");
                    assert_eq!(&v, want_body, "reply {}", h.seq);
                    self.count += 1;
                }
            }
        }
    }
}

/// Sends `bytes` on `id` as far as credit allows; returns how many went out before the peer's
/// window stayed at zero with the system settled (or all of them).
async fn pipeline_until_stalled(peer: &RawClient, id: u32, bytes: &[u8]) -> usize {
    let mut sent = 0;
    while sent < bytes.len() {
        sent += peer.send_within_window(id, &bytes[sent..]).await;
        let credited = peer
            .wait_until(QUIET, |st| st.streams[&id].send_window > 0)
            .await;
        if !credited {
            break;
        }
    }
    sent
}

/// The stalled-stream scenario: `calls` pipelined calls with `arg_len`-byte arguments and
/// `len`-byte replies, far more than one window of requests. Checks the bounds at the stall, that
/// another stream still works, then lets credit flow and checks that every reply arrives in order.
async fn stalled_then_drained(calls: u64, arg_len: usize, len: usize) {
    let service = blob(len);
    let want_body = super::util::decode(&service.reply);
    let (peer, _session) = start(service.clone());
    let reqs = requests(calls, arg_len);
    peer.open(1).await;

    let sent = pipeline_until_stalled(&peer, 1, &reqs).await;
    // Let the server finish whatever it can still do.
    peer.wait_until(QUIET, |_| false).await;
    let ran = service.calls.load(Ordering::SeqCst);
    let mut replies = Replies::default();
    let inbox = peer.take_inbox(1, false).await;
    let received = inbox.len() as u64;
    replies.absorb(&inbox, &want_body);
    let produced: u64 = (0..ran).map(|seq| reply_len(&service, seq)).sum();
    let unwritten_bytes = produced - received;
    let unwritten_replies = ran - replies.count;
    eprintln!(
        "reply {len} B: sent {sent} of {} request bytes; {ran} calls ran, {} replies received, \
         {unwritten_replies} replies / {unwritten_bytes} bytes held by the server",
        reqs.len(),
        replies.count
    );
    assert!(
        sent < reqs.len(),
        "the server kept consuming requests although no reply could be written"
    );
    assert!(
        unwritten_replies <= MAX_CALLS_PER_STREAM as u64,
        "{unwritten_replies} replies held, bound {MAX_CALLS_PER_STREAM}"
    );
    let one_reply = reply_len(&service, calls);
    assert!(
        unwritten_bytes <= MAX_QUEUED_REPLY_BYTES as u64 + one_reply,
        "{unwritten_bytes} reply bytes held, bound {MAX_QUEUED_REPLY_BYTES} + one reply"
    );

    // Another stream of the same session still gets answers.
    peer.open(3).await;
    let one = requests(1, arg_len);
    assert_eq!(peer.send_within_window(3, &one).await, one.len());
    let want = reply_len(&service, 0);
    let answered = peer
        .wait_until(QUIET, |st| st.streams[&3].received >= want)
        .await;
    assert!(answered, "a stalled stream held up another stream");
    let mut other = Replies::default();
    other.absorb(&peer.take_inbox(3, true).await, &want_body);
    assert_eq!(other.count, 1);

    // A slow reader that does grant credit gets every reply, in call order.
    let mut sent = sent;
    while replies.count < calls {
        replies.absorb(&peer.take_inbox(1, true).await, &want_body);
        if sent < reqs.len() {
            sent += peer.send_within_window(1, &reqs[sent..]).await;
        }
        tokio::time::sleep(Duration::from_millis(1)).await; // a slow consumer
        let more = peer
            .wait_until(QUIET, |st| {
                let s = &st.streams[&1];
                !s.inbox.is_empty() || (sent < reqs.len() && s.send_window > 0)
            })
            .await;
        assert!(
            more || replies.count == calls,
            "stuck with credit flowing: {} of {calls} replies, {sent} request bytes sent",
            replies.count
        );
    }
    assert_eq!(service.calls.load(Ordering::SeqCst), calls + 1);
}

#[tokio::test(start_paused = true)]
async fn large_replies_stop_request_reading_at_the_byte_bound() {
    // 30 KiB is about what Builder.ConfigSpec answers; 1 KiB arguments fill the window in 256
    // calls, so 1,000 calls are plenty to stall (and cheap to drain afterwards).
    stalled_then_drained(1_000, 1024, 30 * 1024).await;
}

#[tokio::test(start_paused = true)]
async fn small_replies_stop_request_reading_at_the_call_bound() {
    // As in the issue: 20,000 tiny calls (about 600 KB of requests, over twice the window).
    stalled_then_drained(20_000, 0, 1).await;
}
