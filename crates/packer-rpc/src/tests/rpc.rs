//! The net/rpc drivers over raw in-memory pipes: Go's error replies, concurrency, ordering,
//! stream end, malformed input.

use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rmpv::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::Notify;

use super::util::{decode, hex, to_hex};
use crate::client::Client;
use crate::codec::{self, RequestHeader, ResponseHeader, ValueDecoder, ERROR_BODY, NIL_BODY};
use crate::error::{RpcError, ServeError};
use crate::msgpack::Writer;
use crate::server::{serve, CallError, Registry, Service};

/// Echo (returns its argument), Slow (waits for `release`), Fail (returns an error).
struct TestService {
    release: Arc<Notify>,
}

#[async_trait::async_trait]
impl Service for TestService {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        match method {
            "Echo" => {
                let mut w = Writer::new();
                w.value(&args);
                Ok(w.finish().unwrap())
            }
            "Slow" => {
                self.release.notified().await;
                Ok(b"\xa4slow".to_vec())
            }
            "Fail" => Err(CallError::Failed("it failed".into())),
            "Panic" => panic!("handler bug"),
            _ => Err(CallError::NoMethod),
        }
    }
}

fn start_server() -> (
    DuplexStream,
    Arc<Notify>,
    tokio::task::JoinHandle<Result<(), ServeError>>,
) {
    let (peer, ours) = tokio::io::duplex(64 * 1024);
    let release = Arc::new(Notify::new());
    let registry = Registry::new();
    registry.register(
        "Test",
        Arc::new(TestService {
            release: release.clone(),
        }),
    );
    registry.register(
        "Ui.dotted",
        Arc::new(TestService {
            release: release.clone(),
        }),
    );
    let task = tokio::spawn(async move { serve(ours, registry, "test").await });
    (peer, release, task)
}

fn request(method: &str, seq: u64, body: &[u8]) -> Vec<u8> {
    codec::encode_request(
        &RequestHeader {
            service_method: method.into(),
            seq,
        },
        body,
    )
}

async fn next_value(rd: &mut DuplexStream, dec: &mut ValueDecoder) -> Value {
    loop {
        if let Some(v) = dec.next_value().unwrap() {
            return v;
        }
        let mut buf = [0u8; 4096];
        let n = rd.read(&mut buf).await.unwrap();
        assert!(n > 0, "stream ended while a response was expected");
        dec.feed(&buf[..n]);
    }
}

/// Reads one response (header + body) from a raw stream.
async fn read_response(rd: &mut DuplexStream, dec: &mut ValueDecoder) -> (ResponseHeader, Value) {
    let h = next_value(rd, dec).await;
    let h = codec::decode_response_header(&h).unwrap();
    let b = next_value(rd, dec).await;
    (h, b)
}

#[tokio::test]
async fn unknown_method_body_is_consumed_and_the_stream_stays_in_step() {
    let (mut peer, _release, _task) = start_server();
    // An unknown method with a non-trivial body, then a valid call.
    peer.write_all(&request("Test.Nope", 3, &hex("81a17892c0c3")))
        .await
        .unwrap();
    peer.write_all(&request("Test.Echo", 4, &hex("a26869")))
        .await
        .unwrap();
    let mut dec = ValueDecoder::new();
    let mut got = [
        read_response(&mut peer, &mut dec).await,
        read_response(&mut peer, &mut dec).await,
    ];
    got.sort_by_key(|(h, _)| h.seq);
    assert_eq!(got[0].0.error, "rpc: can't find method Test.Nope");
    assert_eq!(got[0].1, Value::Map(vec![]));
    assert_eq!(
        (got[1].0.error.as_str(), &got[1].1),
        ("", &Value::from("hi"))
    );
}

#[tokio::test]
async fn unknown_method_reply_bytes_match_go() {
    // docs/design/plugin-protocol.md, 'Captured headers': the error response to Builder.Nope seq
    // 3, byte for byte.
    let (peer, ours) = tokio::io::duplex(4096);
    let registry = Registry::new();
    registry.register(
        "Builder",
        Arc::new(TestService {
            release: Arc::new(Notify::new()),
        }),
    );
    let task = tokio::spawn(serve(ours, registry, "t"));
    let (mut rd, mut wr) = tokio::io::split(peer);
    wr.write_all(&request("Builder.Nope", 3, NIL_BODY))
        .await
        .unwrap();
    wr.shutdown().await.unwrap();
    let mut out = Vec::new();
    rd.read_to_end(&mut out).await.unwrap();
    assert_eq!(
        to_hex(&out),
        "83ad536572766963654d6574686f64ac4275696c6465722e4e6f7065a353657103a54572726f72d923\
         7270633a2063616e27742066696e64206d6574686f64204275696c6465722e4e6f706580"
            .replace(' ', "")
    );
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn unknown_service_and_ill_formed_names_get_gos_texts() {
    let (mut peer, _release, _task) = start_server();
    peer.write_all(&request("Nope.Echo", 0, NIL_BODY))
        .await
        .unwrap();
    peer.write_all(&request("NoDotAtAll", 1, &hex("93010203")))
        .await
        .unwrap();
    peer.write_all(&request("Ui.dotted.Echo", 2, &hex("a178")))
        .await
        .unwrap();
    peer.write_all(&request("Test.Fail", 3, NIL_BODY))
        .await
        .unwrap();
    let mut dec = ValueDecoder::new();
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(read_response(&mut peer, &mut dec).await);
    }
    got.sort_by_key(|(h, _)| h.seq);
    assert_eq!(got[0].0.error, "rpc: can't find service Nope.Echo");
    assert_eq!(got[0].1, Value::Map(vec![]));
    assert_eq!(
        got[1].0.error,
        "rpc: service/method request ill-formed: NoDotAtAll"
    );
    // Split at the LAST dot: service "Ui.dotted", method "Echo".
    assert_eq!(
        (got[2].0.error.as_str(), &got[2].1),
        ("", &Value::from("x"))
    );
    assert_eq!(got[3].0.error, "it failed");
    assert_eq!(got[3].0.service_method, "Test.Fail");
}

#[tokio::test]
async fn replies_go_out_in_completion_order() {
    let (mut peer, release, _task) = start_server();
    peer.write_all(&request("Test.Slow", 0, NIL_BODY))
        .await
        .unwrap();
    peer.write_all(&request("Test.Echo", 1, &hex("01")))
        .await
        .unwrap();
    let mut dec = ValueDecoder::new();
    let (first, _) = read_response(&mut peer, &mut dec).await;
    assert_eq!(first.seq, 1, "the fast call must not wait for the slow one");
    release.notify_one();
    let (second, body) = read_response(&mut peer, &mut dec).await;
    assert_eq!(second.seq, 0);
    assert_eq!(body, Value::from("slow"));
}

#[tokio::test]
async fn end_of_stream_waits_for_calls_in_flight_then_closes() {
    let (peer, release, task) = start_server();
    let (mut rd, mut wr) = tokio::io::split(peer);
    wr.write_all(&request("Test.Slow", 7, NIL_BODY))
        .await
        .unwrap();
    wr.shutdown().await.unwrap();
    // Give the server time to see EOF, then let the call finish.
    tokio::task::yield_now().await;
    release.notify_one();
    let mut out = Vec::new();
    rd.read_to_end(&mut out).await.unwrap(); // ends: the server closed after replying
    let mut dec = ValueDecoder::new();
    dec.feed(&out);
    let h = codec::decode_response_header(&dec.next_value().unwrap().unwrap()).unwrap();
    assert_eq!((h.seq, h.error.as_str()), (7, ""));
    assert_eq!(dec.next_value().unwrap(), Some(Value::from("slow")));
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_panicking_handler_still_gets_an_error_reply() {
    let (mut peer, _release, _task) = start_server();
    peer.write_all(&request("Test.Panic", 0, NIL_BODY))
        .await
        .unwrap();
    let mut dec = ValueDecoder::new();
    let (h, body) = read_response(&mut peer, &mut dec).await;
    assert!(h.error.contains("Test.Panic"), "{}", h.error);
    assert_eq!(body, Value::Map(vec![]));
}

async fn serve_bytes(input: Vec<u8>) -> Result<(), ServeError> {
    let (peer, release, task) = start_server();
    release.notify_waiters();
    let (mut rd, mut wr) = tokio::io::split(peer);
    let reader = tokio::spawn(async move {
        let mut sink = Vec::new();
        let _ = rd.read_to_end(&mut sink).await;
    });
    let _ = wr.write_all(&input).await;
    let _ = wr.shutdown().await;
    let result = task.await.unwrap();
    reader.await.unwrap();
    result
}

#[tokio::test]
async fn malformed_and_truncated_streams_end_with_an_error() {
    // A header that is not a map.
    assert!(matches!(
        serve_bytes(hex("2a c0")).await,
        Err(ServeError::Codec(_))
    ));
    // A header whose ServiceMethod is a number.
    assert!(matches!(
        serve_bytes(hex("82ad536572766963654d6574686f6401a353657100c0")).await,
        Err(ServeError::Codec(_))
    ));
    // The reserved marker.
    assert!(matches!(
        serve_bytes(hex("c1")).await,
        Err(ServeError::Codec(_))
    ));
    // Cut inside the header, and between header and body.
    let full = request("Test.Echo", 0, NIL_BODY);
    assert!(matches!(
        serve_bytes(full[..10].to_vec()).await,
        Err(ServeError::Codec(_))
    ));
    assert!(matches!(
        serve_bytes(full[..full.len() - 1].to_vec()).await,
        Err(ServeError::Codec(_))
    ));
    // A length claim beyond the limit fails at once instead of buffering.
    assert!(matches!(
        serve_bytes(hex("c6ffffffff")).await,
        Err(ServeError::Codec(_))
    ));
    // A clean stream ends cleanly.
    assert!(serve_bytes(full).await.is_ok());
}

#[tokio::test]
async fn random_bytes_never_panic_the_server() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    let valid = request("Test.Echo", 1, &hex("82a161c3a162cb3ff8000000000000"));
    for round in 0..300 {
        let input: Vec<u8> = if round % 2 == 0 {
            let len = rng.random_range(0..256);
            (0..len).map(|_| rng.random()).collect()
        } else {
            // Mutations of a valid request hit deeper code paths.
            let mut v = valid.repeat(2);
            for _ in 0..rng.random_range(1..6) {
                let i = rng.random_range(0..v.len());
                v[i] = rng.random();
            }
            v.truncate(rng.random_range(0..=v.len()));
            v
        };
        let _ = serve_bytes(input).await; // Ok or Err, never a panic or a hang
    }
}

#[test]
fn random_bytes_never_panic_the_decoder() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    for _ in 0..20_000 {
        let len = rng.random_range(0..64);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        let mut dec = ValueDecoder::new();
        // Feed in random pieces.
        let mut at = 0;
        while at < bytes.len() {
            let end = rng.random_range(at + 1..=bytes.len());
            dec.feed(&bytes[at..end]);
            at = end;
            while let Ok(Some(v)) = dec.next_value() {
                let _ = codec::decode_request_header(&v);
                let _ = crate::services::prepare::decode_prepare_args(&v);
            }
        }
        let _ = dec.finish();
    }
}

/// A raw peer that answers requests in the order given by `order` (indices into the requests).
#[tokio::test]
async fn client_matches_out_of_order_replies_by_seq() {
    let (ours, mut peer) = tokio::io::duplex(64 * 1024);
    let client = Client::new(ours, "test");
    let c1 = client.clone();
    let c2 = client.clone();
    let a = tokio::spawn(async move { c1.call("Svc.A", &hex("a161")).await });
    // Make sure A is sent first so it gets Seq 0.
    let mut dec = ValueDecoder::new();
    let mut reqs = Vec::new();
    let mut b = None;
    while reqs.len() < 2 {
        if let Some(h) = dec.next_value().unwrap() {
            let h = codec::decode_request_header(&h).unwrap();
            let body = loop {
                if let Some(v) = dec.next_value().unwrap() {
                    break v;
                }
                let mut buf = [0u8; 1024];
                let n = peer.read(&mut buf).await.unwrap();
                dec.feed(&buf[..n]);
            };
            reqs.push((h, body));
            if b.is_none() {
                let c2 = c2.clone();
                b = Some(tokio::spawn(
                    async move { c2.call("Svc.B", &hex("a162")).await },
                ));
            }
            continue;
        }
        let mut buf = [0u8; 1024];
        let n = peer.read(&mut buf).await.unwrap();
        dec.feed(&buf[..n]);
    }
    assert_eq!(
        (reqs[0].0.seq, reqs[0].0.service_method.as_str()),
        (0, "Svc.A")
    );
    assert_eq!(
        (reqs[1].0.seq, reqs[1].0.service_method.as_str()),
        (1, "Svc.B")
    );
    // Reply to B first, then A with an error.
    let reply = |seq, error: &str, body: &[u8]| {
        codec::encode_response(
            &ResponseHeader {
                service_method: "x".into(),
                seq,
                error: error.into(),
            },
            body,
        )
    };
    peer.write_all(&reply(1, "", &hex("a3626262")))
        .await
        .unwrap();
    peer.write_all(&reply(0, "boom", ERROR_BODY)).await.unwrap();
    let b = b.unwrap().await.unwrap().unwrap();
    assert_eq!(b, Value::from("bbb"));
    match a.await.unwrap() {
        Err(RpcError::Remote { message }) => assert_eq!(message, "boom"),
        other => panic!("expected the server error, got {other:?}"),
    }
}

#[tokio::test]
async fn client_fails_pending_calls_when_the_stream_ends() {
    let (ours, mut peer) = tokio::io::duplex(4096);
    let client = Client::new(ours, "test");
    let c = client.clone();
    let call = tokio::spawn(async move { c.call("Svc.Wait", NIL_BODY).await });
    let mut buf = [0u8; 64];
    let _ = peer.read(&mut buf).await.unwrap(); // the request arrived
    drop(peer);
    assert!(matches!(call.await.unwrap(), Err(RpcError::Closed { .. })));
    // Later calls fail at once.
    assert!(matches!(
        client.call("Svc.X", NIL_BODY).await,
        Err(RpcError::Closed { .. })
    ));
}

#[tokio::test]
async fn client_close_sends_eof_after_queued_calls() {
    let (ours, mut peer) = tokio::io::duplex(4096);
    let client = Client::new(ours, "test");
    let c = client.clone();
    let pending = tokio::spawn(async move { c.call("Svc.Last", NIL_BODY).await });
    tokio::task::yield_now().await;
    client.close();
    let mut out = Vec::new();
    // read_to_end returns: the write side was closed after the queued request.
    let (mut rd, mut wr) = tokio::io::split(&mut peer);
    rd.read_to_end(&mut out).await.unwrap();
    let mut dec = ValueDecoder::new();
    dec.feed(&out);
    let h = codec::decode_request_header(&dec.next_value().unwrap().unwrap()).unwrap();
    assert_eq!(h.service_method, "Svc.Last");
    // The reply to a call made before close still arrives.
    wr.write_all(&codec::encode_response(
        &ResponseHeader {
            service_method: h.service_method,
            seq: h.seq,
            error: String::new(),
        },
        NIL_BODY,
    ))
    .await
    .unwrap();
    assert_eq!(pending.await.unwrap().unwrap(), Value::Nil);
    assert!(client.call("Svc.After", NIL_BODY).await.is_err());
    let _ = decode(NIL_BODY);
}
