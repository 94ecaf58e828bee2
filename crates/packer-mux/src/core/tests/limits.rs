//! The core's bounds on what a session queues (docs/design/backpressure.md).

use super::*;

/// A server core with inbound streams 1, 3, ... (`n` of them), all accepted.
fn server_with_streams(n: u32) -> Core {
    let mut core = Core::new(Mode::Server);
    for i in 0..n {
        core.on_frame(syn(2 * i + 1), Bytes::new());
        assert_eq!(core.poll_accept(&cx()), Poll::Ready(Some(2 * i + 1)));
    }
    drain(&mut core);
    core
}

fn credit(core: &mut Core, id: u32, delta: u32) {
    core.on_frame(Header::window_update(id, Flags::NONE, delta), Bytes::new());
}

#[test]
fn a_huge_window_does_not_grow_the_send_buffer() {
    let mut core = server_with_stream();
    credit(&mut core, 1, u32::MAX - MAX_WINDOW);
    let big = vec![1u8; 4 * MAX_STREAM_SEND_BUFFER];
    assert_eq!(written(write(&mut core, 1, &big)), MAX_STREAM_SEND_BUFFER);
    assert!(write(&mut core, 1, &big).is_pending());
    assert_eq!(core.send_queued(), MAX_STREAM_SEND_BUFFER);
    // One writer batch makes room for as much again.
    let mut out = Vec::new();
    assert_eq!(
        core.poll_transmit(&cx(), &mut out),
        Poll::Ready(Transmit::Frames)
    );
    let sent: usize = frames(&out).iter().map(|(_, p)| p.len()).sum();
    assert_eq!(written(write(&mut core, 1, &big)), sent);
}

#[test]
fn a_stream_without_credit_holds_no_send_buffer() {
    let mut core = server_with_stream();
    let big = vec![1u8; 2 * MAX_WINDOW as usize];
    assert_eq!(written(write(&mut core, 1, &big)), MAX_WINDOW as usize);
    drain(&mut core);
    assert!(write(&mut core, 1, &big).is_pending());
    assert_eq!(core.send_queued(), 0);
}

#[test]
fn the_session_send_budget_makes_writers_wait_for_the_connection() {
    let per_stream = MAX_STREAM_SEND_BUFFER;
    let full = (MAX_SESSION_SEND_BUFFER / per_stream) as u32;
    let mut core = server_with_streams(full + 1);
    let chunk = vec![3u8; per_stream];
    for i in 0..full {
        assert_eq!(written(write(&mut core, 2 * i + 1, &chunk)), per_stream);
    }
    assert_eq!(core.send_queued(), MAX_SESSION_SEND_BUFFER);
    let last = 2 * full + 1;
    assert!(
        write(&mut core, last, &chunk).is_pending(),
        "the session budget is spent: even a stream with credit waits"
    );
    let mut out = Vec::new();
    assert_eq!(
        core.poll_transmit(&cx(), &mut out),
        Poll::Ready(Transmit::Frames)
    );
    let sent: usize = frames(&out).iter().map(|(_, p)| p.len()).sum();
    assert!(sent > 0);
    assert_eq!(written(write(&mut core, last, &chunk)), sent);
    assert_eq!(core.send_queued(), MAX_SESSION_SEND_BUFFER);
}

#[test]
fn a_reset_stream_gives_its_send_budget_back() {
    let mut core = server_with_stream();
    assert_eq!(written(write(&mut core, 1, &[1u8; 1000])), 1000);
    core.on_frame(Header::window_update(1, Flags::RST, 0), Bytes::new());
    assert_eq!(core.send_queued(), 0);
}

#[test]
fn a_full_control_queue_pauses_frame_input_until_the_writer_drains() {
    let mut core = Core::new(Mode::Server);
    for i in 0..MAX_CONTROL_QUEUE as u32 {
        assert_eq!(core.poll_frame_room(&cx()), Poll::Ready(()));
        core.on_frame(Header::ping(Flags::SYN, i), Bytes::new());
    }
    assert_eq!(core.poll_frame_room(&cx()), Poll::Pending);
    let answers = frames(&drain(&mut core));
    assert_eq!(answers.len(), MAX_CONTROL_QUEUE);
    assert_eq!(core.poll_frame_room(&cx()), Poll::Ready(()));
}

#[test]
fn streams_beyond_the_cap_are_refused() {
    let mut core = server_with_streams(MAX_STREAMS as u32);
    let extra = 2 * MAX_STREAMS as u32 + 1;
    core.on_frame(syn(extra), Bytes::new());
    assert_eq!(
        drain(&mut core),
        Header::window_update(extra, Flags::RST, 0).encode()
    );
    assert!(core.close_reason().is_none());
    assert_eq!(
        core.poll_open(&cx()),
        Poll::Ready(Err(MuxError::TooManyStreams(MAX_STREAMS)))
    );
    // A finished stream makes room again.
    core.on_frame(Header::window_update(1, Flags::RST, 0), Bytes::new());
    core.detach(1);
    assert_eq!(core.stream_count(), MAX_STREAMS - 1);
    assert!(matches!(core.poll_open(&cx()), Poll::Ready(Ok(_))));
}
