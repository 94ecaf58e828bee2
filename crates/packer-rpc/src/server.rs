//! The net/rpc server: every request that has to wait runs in its own task and its reply is written
//! when it finishes, so replies go out in completion order (Packer calls `Builder.Cancel` while
//! `Builder.Run` is pending, and provisioners call back into `Ui` during `Hook.Run`). Reading is
//! bounded per stream by [`MAX_CALLS_PER_STREAM`] and [`MAX_QUEUED_REPLY_BYTES`].

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};
use std::task::Poll;

use futures::FutureExt;
use rmpv::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinSet;

use crate::budget::{CallTicket, ReplyBudget};
pub use crate::budget::{MAX_CALLS_PER_STREAM, MAX_QUEUED_REPLY_BYTES};
use crate::codec::{self, go_errors, RequestHeader, ResponseHeader, ERROR_BODY};
use crate::conn::{spawn_writer, Outbox, Outgoing, ReadError, ValueReader};
use crate::error::ServeError;

/// How a method call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The service has no such method (answered with Go's "rpc: can't find method" text).
    NoMethod,
    /// The method returned an error; the text goes to the caller verbatim.
    Failed(String),
}

impl CallError {
    /// A failure whose text is `e`'s display form.
    pub fn failed(e: impl std::fmt::Display) -> Self {
        CallError::Failed(e.to_string())
    }
}

/// One net/rpc service (what Go registers with `RegisterName`): methods by name, arguments as a
/// decoded msgpack value, replies as one encoded msgpack value.
#[async_trait::async_trait]
pub trait Service: Send + Sync + 'static {
    /// Runs `method` with `args`; returns the encoded reply body.
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError>;
}

/// The services of one server, by name. Shared so a service can register more services on its
/// own server while running (the Ui's `NewTrackProgress` registers `Ui<id>`).
#[derive(Clone, Default)]
pub struct Registry(Arc<RwLock<HashMap<String, Arc<dyn Service>>>>);

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the service `name`.
    pub fn register(&self, name: impl Into<String>, service: Arc<dyn Service>) {
        let mut map = self.0.write().unwrap_or_else(|p| p.into_inner());
        map.insert(name.into(), service);
    }

    /// Removes the service `name`, if present.
    pub fn unregister(&self, name: &str) {
        let mut map = self.0.write().unwrap_or_else(|p| p.into_inner());
        map.remove(name);
    }

    fn get(&self, name: &str) -> Option<Arc<dyn Service>> {
        let map = self.0.read().unwrap_or_else(|p| p.into_inner());
        map.get(name).cloned()
    }
}

/// Serves `registry` on `stream` (the side that accepted) until the peer closes its write side,
/// then waits for calls in flight, writes their replies and closes the stream, like Go's
/// `ServeCodec`. A stream that is not net/rpc ends serving with an error (after the same drain).
///
/// Backpressure: a request is read only while the stream has room (fewer than
/// [`MAX_CALLS_PER_STREAM`] calls unanswered on the wire, under [`MAX_QUEUED_REPLY_BYTES`] of
/// queued replies), so a peer that does not take our replies (no yamux credit) stops being read,
/// and its requests wait in its own window instead of our memory. A call that completes without waiting is answered at
/// once, before the next request is read, so such replies keep the order of their requests.
pub async fn serve<S>(stream: S, registry: Registry, name: &str) -> Result<(), ServeError>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (rd, wr) = tokio::io::split(stream);
    let mut reader = ValueReader::new(rd);
    let (outbox, writer) = spawn_writer(wr, "rpc server");
    let budget = ReplyBudget::new();
    let mut calls = JoinSet::new();

    let outcome: Result<(), ServeError> = loop {
        let ticket = budget.admit().await;
        let header = match reader.next().await {
            Ok(Some(v)) => v,
            Ok(None) => break Ok(()),
            Err(e) => break Err(read_error(e)),
        };
        let header = match codec::decode_request_header(&header) {
            Ok(h) => h,
            Err(e) => break Err(e.into()),
        };
        // The body is read even when the call cannot be routed, keeping the stream in step.
        let body = match reader.next_required().await {
            Ok(v) => v,
            Err(e) => break Err(read_error(e)),
        };
        let route = match codec::split_service_method(&header.service_method) {
            None => Err(go_errors::ill_formed(&header.service_method)),
            Some((service, method)) => match registry.get(service) {
                None => Err(go_errors::no_service(&header.service_method)),
                Some(svc) => Ok((svc, method.to_string())),
            },
        };
        let mut reply = Box::pin(answer(route, body, header, name.to_string()));
        match futures::poll!(reply.as_mut()) {
            Poll::Ready(msg) => queue_reply(&outbox, msg, ticket),
            Poll::Pending => {
                let outbox = outbox.clone();
                calls.spawn(async move { queue_reply(&outbox, reply.await, ticket) });
            }
        }
        while calls.try_join_next().is_some() {}
    };

    match &outcome {
        // Packer ends a plugin session by dropping the connection: an I/O end is routine.
        Err(ServeError::Io(e)) => {
            tracing::debug!(conn = %name, error = %e, "rpc server stream ended")
        }
        Err(e) => tracing::warn!(conn = %name, error = %e, "rpc server stopped reading"),
        Ok(()) => {}
    }
    while calls.join_next().await.is_some() {}
    drop(outbox);
    let _ = writer.await;
    outcome
}

/// Runs one call and encodes its response (Go's texts for calls that cannot be routed).
async fn answer(
    route: Result<(Arc<dyn Service>, String), String>,
    body: Value,
    header: RequestHeader,
    conn: String,
) -> Vec<u8> {
    let result = match route {
        Err(text) => Err(text),
        Ok((svc, method)) => {
            let call = AssertUnwindSafe(svc.call(&method, body))
                .catch_unwind()
                .await;
            match call {
                Ok(Ok(reply)) => Ok(reply),
                Ok(Err(CallError::NoMethod)) => Err(go_errors::no_method(&header.service_method)),
                // Go would send an empty error as success; name the problem instead.
                Ok(Err(CallError::Failed(text))) if text.is_empty() => {
                    Err(format!("{} failed", header.service_method))
                }
                Ok(Err(CallError::Failed(text))) => Err(text),
                Err(_) => Err(format!(
                    "{}: internal error (handler panicked)",
                    header.service_method
                )),
            }
        }
    };
    let (error, body) = match result {
        Ok(reply) => (String::new(), reply),
        Err(text) => {
            tracing::debug!(conn = %conn, method = %header.service_method, "rpc call failed");
            (text, ERROR_BODY.to_vec())
        }
    };
    codec::encode_response(
        &ResponseHeader {
            service_method: header.service_method,
            seq: header.seq,
            error,
        },
        &body,
    )
}

/// Hands a reply to the writer; its ticket (and with it the call's share of the budget) goes
/// along and is released once the reply is written, or at once if the writer is gone.
fn queue_reply(outbox: &Outbox, bytes: Vec<u8>, mut ticket: CallTicket) {
    ticket.reply_queued(bytes.len());
    let _ = outbox.send(Outgoing {
        bytes,
        ticket: Some(ticket),
    });
}

fn read_error(e: ReadError) -> ServeError {
    match e {
        ReadError::Codec(c) => ServeError::Codec(c),
        ReadError::Io(io) => ServeError::Io(io),
    }
}
