//! Direct tests of the pure session core: frames in, bytes out, no runtime.

use super::*;
use crate::frame::GO_AWAY_PROTOCOL_ERROR;
use std::io;
use std::task::Waker;

fn cx() -> Context<'static> {
    Context::from_waker(Waker::noop())
}

/// Everything the core wants to send right now, as raw bytes (one writer batch at a time).
fn drain(core: &mut Core) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        let mut out = Vec::new();
        let state = core.poll_transmit(&cx(), &mut out);
        all.extend_from_slice(&out);
        if state != Poll::Ready(Transmit::Frames) {
            return all;
        }
    }
}

/// Splits raw output into (header, payload) pairs.
fn frames(bytes: &[u8]) -> Vec<(Header, Vec<u8>)> {
    let mut v = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let hdr: [u8; 12] = rest[..12].try_into().unwrap();
        let h = Header::decode(&hdr).unwrap();
        rest = &rest[12..];
        let n = if h.frame_type == FrameType::Data {
            h.length as usize
        } else {
            0
        };
        v.push((h, rest[..n].to_vec()));
        rest = &rest[n..];
    }
    v
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn syn(id: u32) -> Header {
    Header::window_update(id, Flags::SYN, 0)
}

fn data(core: &mut Core, id: u32, bytes: &[u8]) {
    core.on_frame(
        Header::data(id, Flags::NONE, bytes.len() as u32),
        Bytes::copy_from_slice(bytes),
    );
}

fn read(core: &mut Core, id: u32, n: usize) -> Poll<io::Result<Vec<u8>>> {
    let mut buf = vec![0u8; n];
    core.poll_read(id, &cx(), &mut buf)
        .map(|r| r.map(|k| buf[..k].to_vec()))
}

/// A server core with one accepted inbound stream 1.
fn server_with_stream() -> Core {
    let mut core = Core::new(Mode::Server);
    core.on_frame(syn(1), Bytes::new());
    assert_eq!(core.poll_accept(&cx()), Poll::Ready(Some(1)));
    drain(&mut core);
    core
}

#[test]
fn accept_acks_immediately_with_the_go_bytes() {
    // plugin-protocol.md, 'A captured session start': Packer opens stream 1 and sends broker id 0;
    // the plugin ACKs.
    let mut core = Core::new(Mode::Server);
    core.on_frame(syn(1), Bytes::new());
    data(&mut core, 1, &[0, 0, 0, 0]);
    assert!(drain(&mut core).is_empty(), "nothing is sent before accept");
    assert_eq!(core.poll_accept(&cx()), Poll::Ready(Some(1)));
    assert_eq!(drain(&mut core), hex("00 01 0002 00000001 00000000"));
}

/// Reads up to `n` bytes, requiring the read to complete successfully.
fn read_ok(core: &mut Core, id: u32, n: usize) -> Vec<u8> {
    match read(core, id, n) {
        Poll::Ready(Ok(v)) => v,
        Poll::Ready(Err(e)) => panic!("read failed: {e}"),
        Poll::Pending => panic!("read would block"),
    }
}

fn read_err(core: &mut Core, id: u32) -> io::ErrorKind {
    match read(core, id, 16) {
        Poll::Ready(Err(e)) => e.kind(),
        other => panic!("expected a read error, got {other:?}"),
    }
}

fn write(core: &mut Core, id: u32, bytes: &[u8]) -> Poll<io::Result<usize>> {
    core.poll_write(id, &cx(), bytes)
}

fn go_away_sent(core: &mut Core) -> bool {
    drain(core) == Header::go_away(GO_AWAY_PROTOCOL_ERROR).encode().to_vec()
}

#[test]
fn syn_on_a_data_frame_opens_a_stream() {
    let mut core = Core::new(Mode::Server);
    core.on_frame(Header::data(3, Flags::SYN, 2), Bytes::from_static(b"hi"));
    assert_eq!(core.poll_accept(&cx()), Poll::Ready(Some(3)));
    assert_eq!(read_ok(&mut core, 3, 10), b"hi");
}

#[test]
fn open_sends_syn_with_our_parity() {
    // plugin-protocol.md, 'The stream broker': the plugin (server) opens yamux stream 2 with
    // WindowUpdate SYN, delta 0.
    let mut server = Core::new(Mode::Server);
    assert_eq!(server.poll_open(&cx()), Poll::Ready(Ok(2)));
    assert_eq!(drain(&mut server), hex("00 01 0001 00000002 00000000"));
    assert_eq!(server.poll_open(&cx()), Poll::Ready(Ok(4)));
    let mut client = Core::new(Mode::Client);
    assert_eq!(client.poll_open(&cx()), Poll::Ready(Ok(1)));
    assert_eq!(client.poll_open(&cx()), Poll::Ready(Ok(3)));
    assert_eq!(
        drain(&mut client),
        hex("00 01 0001 00000001 00000000 00 01 0001 00000003 00000000")
    );
}

#[test]
fn duplicate_stream_is_a_protocol_error() {
    let mut core = server_with_stream();
    core.on_frame(syn(1), Bytes::new());
    assert_eq!(core.close_reason(), Some(&MuxError::DuplicateStream(1)));
    assert!(go_away_sent(&mut core));
    assert_eq!(
        core.poll_transmit(&cx(), &mut Vec::new()),
        Poll::Ready(Transmit::Closed)
    );
}

#[test]
fn peer_opening_our_parity_is_a_protocol_error() {
    for (mode, id) in [(Mode::Server, 2), (Mode::Server, 0), (Mode::Client, 1)] {
        let mut core = Core::new(mode);
        core.on_frame(syn(id), Bytes::new());
        assert_eq!(core.close_reason(), Some(&MuxError::BadStreamId(id)));
        assert!(go_away_sent(&mut core));
    }
}

#[test]
fn window_exceeded_is_a_protocol_error() {
    let mut core = server_with_stream();
    // A Go peer may send the whole 256 KiB window in one frame.
    data(&mut core, 1, &vec![7u8; MAX_WINDOW as usize]);
    assert!(core.close_reason().is_none());
    data(&mut core, 1, &[1]);
    assert!(matches!(
        core.close_reason(),
        Some(MuxError::WindowExceeded {
            stream: 1,
            length: 1,
            window: 0
        })
    ));
    assert!(go_away_sent(&mut core));
}

#[test]
fn credit_returns_once_half_the_window_is_consumed() {
    let mut core = server_with_stream();
    data(&mut core, 1, &vec![1u8; MAX_WINDOW as usize]);
    assert_eq!(read_ok(&mut core, 1, 128 * 1024 - 1).len(), 128 * 1024 - 1);
    assert!(
        drain(&mut core).is_empty(),
        "less than half consumed: no update yet"
    );
    assert_eq!(read_ok(&mut core, 1, 1).len(), 1);
    assert_eq!(
        drain(&mut core),
        Header::window_update(1, Flags::NONE, 128 * 1024).encode()
    );
    // The peer may now send exactly 128 KiB more, not one byte beyond.
    data(&mut core, 1, &vec![2u8; 128 * 1024]);
    assert!(core.close_reason().is_none());
}

#[test]
fn backlog_overflow_resets_the_extra_stream() {
    let mut core = Core::new(Mode::Server);
    for i in 0..ACCEPT_BACKLOG as u32 {
        core.on_frame(syn(2 * i + 1), Bytes::new());
    }
    assert!(drain(&mut core).is_empty());
    let extra = 2 * ACCEPT_BACKLOG as u32 + 1;
    core.on_frame(syn(extra), Bytes::new());
    assert_eq!(
        drain(&mut core),
        Header::window_update(extra, Flags::RST, 0).encode()
    );
    // Data for the refused stream is dropped, the session lives on.
    data(&mut core, extra, b"late");
    assert!(core.close_reason().is_none());
    // Accepting one makes room for the next.
    assert_eq!(core.poll_accept(&cx()), Poll::Ready(Some(1)));
    core.on_frame(syn(extra + 2), Bytes::new());
    assert_eq!(core.close_reason(), None);
    let sent = frames(&drain(&mut core));
    assert!(sent.iter().all(|(h, _)| !h.flags.contains(Flags::RST)));
}

#[test]
fn ping_is_answered_even_with_unread_data() {
    let mut core = server_with_stream();
    data(&mut core, 1, &vec![0u8; MAX_WINDOW as usize]);
    core.on_frame(Header::ping(Flags::SYN, 0xdead_beef), Bytes::new());
    assert_eq!(drain(&mut core), hex("00 02 0002 00000000 deadbeef"));
}

#[test]
fn our_ping_completes_on_the_ack() {
    let mut core = Core::new(Mode::Server);
    let id = core.start_ping().unwrap();
    assert_eq!(drain(&mut core), Header::ping(Flags::SYN, id).encode());
    assert_eq!(core.poll_ping(id, &cx()), Poll::Pending);
    core.on_frame(Header::ping(Flags::ACK, id + 1), Bytes::new());
    assert_eq!(
        core.poll_ping(id, &cx()),
        Poll::Pending,
        "another id's answer"
    );
    core.on_frame(Header::ping(Flags::ACK, id), Bytes::new());
    assert_eq!(core.poll_ping(id, &cx()), Poll::Ready(Ok(())));
}

#[test]
fn go_away_normal_stops_new_streams_only() {
    let mut core = server_with_stream();
    core.on_frame(Header::go_away(0), Bytes::new());
    assert_eq!(
        core.poll_open(&cx()),
        Poll::Ready(Err(MuxError::RemoteGoAwayNormal))
    );
    data(&mut core, 1, b"still here");
    assert_eq!(read_ok(&mut core, 1, 64), b"still here");
    assert!(matches!(write(&mut core, 1, b"x"), Poll::Ready(Ok(1))));
}

#[test]
fn go_away_error_ends_the_session_without_answering() {
    for code in [1, 2, 77] {
        let mut core = server_with_stream();
        core.on_frame(Header::go_away(code), Bytes::new());
        assert_eq!(core.close_reason(), Some(&MuxError::RemoteGoAway(code)));
        assert_eq!(read_err(&mut core, 1), io::ErrorKind::ConnectionAborted);
        assert!(drain(&mut core).is_empty(), "no GoAway is sent back");
        assert_eq!(core.poll_accept(&cx()), Poll::Ready(None));
    }
}

fn written(p: Poll<io::Result<usize>>) -> usize {
    match p {
        Poll::Ready(Ok(n)) => n,
        other => panic!("write did not complete: {other:?}"),
    }
}

#[test]
fn writes_never_exceed_the_peer_window() {
    let mut core = server_with_stream();
    let big = vec![9u8; 300 * 1024];
    assert_eq!(written(write(&mut core, 1, &big)), MAX_WINDOW as usize);
    assert!(
        write(&mut core, 1, &big).is_pending(),
        "window full: the writer must wait"
    );
    let sent = frames(&drain(&mut core));
    let total: usize = sent
        .iter()
        .map(|(h, p)| {
            assert_eq!(h.frame_type, FrameType::Data);
            assert_eq!(h.flags, Flags::NONE);
            assert!(p.len() <= MAX_DATA_CHUNK);
            p.len()
        })
        .sum();
    assert_eq!(total, MAX_WINDOW as usize);
    assert!(
        write(&mut core, 1, &big).is_pending(),
        "nothing credited yet"
    );
    core.on_frame(Header::window_update(1, Flags::NONE, 100), Bytes::new());
    assert_eq!(written(write(&mut core, 1, &big)), 100);
    let sent = frames(&drain(&mut core));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.len(), 100);
}

#[test]
fn fin_follows_the_buffered_data() {
    let mut core = server_with_stream();
    assert_eq!(written(write(&mut core, 1, &[5u8; 40_000])), 40_000);
    assert!(core.poll_shutdown(1, &cx()).is_pending());
    let sent = frames(&drain(&mut core));
    let (last, body) = sent.split_last().unwrap();
    assert_eq!(last.0, Header::window_update(1, Flags::FIN, 0));
    assert_eq!(body.iter().map(|(_, p)| p.len()).sum::<usize>(), 40_000);
    assert!(matches!(core.poll_shutdown(1, &cx()), Poll::Ready(Ok(()))));
    match write(&mut core, 1, b"more") {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::BrokenPipe),
        other => panic!("write after shutdown: {other:?}"),
    }
}

#[test]
fn fin_waits_for_window_when_data_is_stuck() {
    let mut core = server_with_stream();
    assert_eq!(
        written(write(&mut core, 1, &vec![1u8; MAX_WINDOW as usize])),
        MAX_WINDOW as usize
    );
    drain(&mut core);
    // The peer credited 10 bytes; we buffer 20 and shut down: FIN must wait for the last 10.
    core.on_frame(Header::window_update(1, Flags::NONE, 10), Bytes::new());
    assert_eq!(written(write(&mut core, 1, &[2u8; 20])), 10);
    core.on_frame(Header::window_update(1, Flags::NONE, 10), Bytes::new());
    assert_eq!(written(write(&mut core, 1, &[2u8; 10])), 10);
    let _ = core.poll_shutdown(1, &cx());
    let sent = frames(&drain(&mut core));
    assert_eq!(sent.iter().map(|(_, p)| p.len()).sum::<usize>(), 20);
    assert_eq!(
        sent.last().unwrap().0,
        Header::window_update(1, Flags::FIN, 0)
    );
}

#[test]
fn remote_fin_is_eof_after_the_data_and_writes_continue() {
    let mut core = server_with_stream();
    core.on_frame(Header::data(1, Flags::FIN, 3), Bytes::from_static(b"end"));
    assert_eq!(read_ok(&mut core, 1, 2), b"en");
    assert_eq!(read_ok(&mut core, 1, 2), b"d");
    assert_eq!(read_ok(&mut core, 1, 2), b"");
    assert_eq!(written(write(&mut core, 1, b"reply")), 5);
    let sent = frames(&drain(&mut core));
    assert_eq!(
        sent,
        vec![(Header::data(1, Flags::NONE, 5), b"reply".to_vec())]
    );
}

#[test]
fn rst_fails_reads_and_writes() {
    let mut core = server_with_stream();
    data(&mut core, 1, b"unread");
    core.on_frame(Header::window_update(1, Flags::RST, 0), Bytes::new());
    assert_eq!(read_err(&mut core, 1), io::ErrorKind::ConnectionReset);
    match write(&mut core, 1, b"x") {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
        other => panic!("write after RST: {other:?}"),
    }
    core.detach(1);
    assert!(drain(&mut core).is_empty(), "no FIN for a reset stream");
    assert_eq!(core.stream_count(), 0);
}

#[test]
fn drop_sends_fin_and_forgets_the_stream_after_the_peer_fin() {
    let mut core = server_with_stream();
    data(&mut core, 1, &vec![0u8; 200 * 1024]);
    core.detach(1);
    let sent = frames(&drain(&mut core));
    // Unread data is dropped and its credit returned, then FIN.
    assert_eq!(
        sent,
        vec![
            (Header::window_update(1, Flags::NONE, 200 * 1024), vec![]),
            (Header::window_update(1, Flags::FIN, 0), vec![]),
        ]
    );
    assert_eq!(core.stream_count(), 1, "kept until the peer finishes");
    core.on_frame(Header::window_update(1, Flags::FIN, 0), Bytes::new());
    assert_eq!(core.stream_count(), 0);
}

#[test]
fn control_frames_go_before_data_and_streams_take_turns() {
    let mut core = Core::new(Mode::Server);
    for id in [1, 3] {
        core.on_frame(syn(id), Bytes::new());
        let _ = core.poll_accept(&cx());
    }
    drain(&mut core);
    assert_eq!(written(write(&mut core, 1, &[1u8; 48 * 1024])), 48 * 1024);
    assert_eq!(written(write(&mut core, 3, &[3u8; 48 * 1024])), 48 * 1024);
    core.on_frame(Header::ping(Flags::SYN, 5), Bytes::new());
    let sent = frames(&drain(&mut core));
    assert_eq!(sent[0].0, Header::ping(Flags::ACK, 5));
    let order: Vec<u32> = sent[1..].iter().map(|(h, _)| h.stream_id).collect();
    assert_eq!(order, vec![1, 3, 1, 3, 1, 3]);
}

#[test]
fn frames_for_unknown_streams_are_ignored() {
    let mut core = Core::new(Mode::Server);
    data(&mut core, 9, b"stale");
    core.on_frame(Header::window_update(9, Flags::NONE, 10), Bytes::new());
    core.on_frame(Header::window_update(9, Flags::FIN, 0), Bytes::new());
    assert!(core.close_reason().is_none());
    assert!(drain(&mut core).is_empty());
}

#[test]
fn window_overflow_is_a_protocol_error() {
    let mut core = server_with_stream();
    core.on_frame(
        Header::window_update(1, Flags::NONE, u32::MAX),
        Bytes::new(),
    );
    assert!(matches!(
        core.close_reason(),
        Some(MuxError::WindowOverflow { stream: 1, .. })
    ));
    assert!(go_away_sent(&mut core));
}

#[test]
fn unacked_opens_are_limited_like_go() {
    let mut core = Core::new(Mode::Client);
    for _ in 0..MAX_UNACKED_OPENS {
        assert!(matches!(core.poll_open(&cx()), Poll::Ready(Ok(_))));
    }
    assert!(core.poll_open(&cx()).is_pending());
    core.on_frame(Header::window_update(1, Flags::ACK, 0), Bytes::new());
    assert!(matches!(core.poll_open(&cx()), Poll::Ready(Ok(_))));
}

#[test]
fn local_close_fails_everything_without_a_go_away() {
    let mut core = server_with_stream();
    core.close_local();
    assert_eq!(read_err(&mut core, 1), io::ErrorKind::NotConnected);
    assert_eq!(core.poll_accept(&cx()), Poll::Ready(None));
    assert_eq!(
        core.poll_open(&cx()),
        Poll::Ready(Err(MuxError::LocalClose))
    );
    assert_eq!(
        core.poll_transmit(&cx(), &mut Vec::new()),
        Poll::Ready(Transmit::Closed)
    );
}

#[test]
fn buffered_data_and_fin_survive_the_session_end() {
    let mut core = server_with_stream();
    core.on_frame(Header::data(1, Flags::FIN, 2), Bytes::from_static(b"ok"));
    core.fail(MuxError::PeerClosed);
    assert_eq!(read_ok(&mut core, 1, 8), b"ok");
    assert_eq!(read_ok(&mut core, 1, 8), b"");
}

#[test]
fn unsent_data_is_not_reported_flushed_after_the_session_ends() {
    let mut core = server_with_stream();
    assert_eq!(written(write(&mut core, 1, b"lost")), 4);
    assert!(core.poll_flush(1, &cx()).is_pending());
    core.fail(MuxError::PeerClosed);
    match core.poll_flush(1, &cx()) {
        Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionAborted),
        other => panic!("flush after session end: {other:?}"),
    }
}

mod limits;
