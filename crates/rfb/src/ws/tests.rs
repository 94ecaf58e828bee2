use rand::{Rng, SeedableRng};

use super::*;

fn decode_all(role: Role, bytes: &[u8], splits: &[usize]) -> Result<Vec<WsEvent>, WsError> {
    let mut d = Decoder::new(role);
    let mut at = 0;
    let mut events = Vec::new();
    for &s in splits.iter().chain(std::iter::once(&bytes.len())) {
        let end = s.clamp(at, bytes.len());
        d.feed(bytes.get(at..end).unwrap_or_default())?;
        at = end;
        while let Some(e) = d.poll_event() {
            events.push(e);
        }
    }
    Ok(events)
}

/// Joins consecutive Data events (how they were split does not matter to RFB).
fn joined(events: Vec<WsEvent>) -> Vec<WsEvent> {
    let mut out: Vec<WsEvent> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (Some(WsEvent::Data(a)), WsEvent::Data(b)) => a.extend_from_slice(&b),
            (_, e) => out.push(e),
        }
    }
    out
}

#[test]
fn rfc_6455_examples_decode() {
    // §5.7: unmasked "Hello", masked "Hello", fragmented "Hel"+"lo", ping "Hello".
    let server_to_client = [
        &[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f][..],
        &[0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f],
        &[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f],
    ]
    .concat();
    let ev = joined(decode_all(Role::Client, &server_to_client, &[]).unwrap());
    assert_eq!(
        ev,
        vec![
            WsEvent::Data(b"HelloHello".to_vec()),
            WsEvent::Ping(b"Hello".to_vec())
        ]
    );
    let masked = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    assert_eq!(
        decode_all(Role::Server, &masked, &[]).unwrap(),
        vec![WsEvent::Data(b"Hello".to_vec())]
    );
    assert_eq!(
        encode(Opcode::Text, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d])),
        masked.to_vec()
    );
}

#[test]
fn random_splits_and_sizes_round_trip() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for round in 0..200 {
        let mut wire = Vec::new();
        let mut want = Vec::new();
        for _ in 0..rng.random_range(1..6) {
            let len = match rng.random_range(0..3) {
                0 => rng.random_range(0..126),
                1 => rng.random_range(126..70_000),
                _ => rng.random_range(0..10),
            };
            let payload: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let op = if rng.random() {
                Opcode::Binary
            } else {
                Opcode::Text
            };
            let (role, mask) = if round % 2 == 0 {
                (Role::Server, Some(rng.random()))
            } else {
                (Role::Client, None)
            };
            let _ = role;
            wire.extend(encode(op, &payload, mask));
            want.extend(payload);
        }
        let role = if round % 2 == 0 {
            Role::Server
        } else {
            Role::Client
        };
        let mut splits: Vec<usize> = (0..rng.random_range(0..20))
            .map(|_| rng.random_range(0..=wire.len()))
            .collect();
        splits.sort_unstable();
        let ev = joined(decode_all(role, &wire, &splits).unwrap());
        let got = match ev.as_slice() {
            [] => Vec::new(),
            [WsEvent::Data(d)] => d.clone(),
            other => panic!("unexpected events {other:?}"),
        };
        assert_eq!(got, want, "round {round}");
    }
}

#[test]
fn close_and_ping_and_violations() {
    let close = encode(Opcode::Close, &close_payload(1000, "bye"), None);
    let ev = decode_all(
        Role::Client,
        &[close, vec![0x82, 0x01, 0x00]].concat(),
        &[1],
    )
    .unwrap();
    assert_eq!(
        ev,
        vec![WsEvent::Close {
            code: Some(1000),
            reason: "bye".into()
        }]
    );
    for (bytes, role, needle) in [
        (&[0xc2u8, 0x00][..], Role::Client, "reserved bits"),
        (&[0x83, 0x00], Role::Client, "reserved opcode 3"),
        (&[0x82, 0x80, 0, 0, 0, 0], Role::Client, "is masked"),
        (&[0x82, 0x00], Role::Server, "not masked"),
        (&[0x09, 0x00], Role::Client, "control frame"),
        (&[0x89, 0x7e, 0x00, 0x80], Role::Client, "control frame"),
        (&[0x80, 0x00], Role::Client, "continuation"),
        (
            &[0x02, 0x00, 0x02, 0x00],
            Role::Client,
            "inside a fragmented",
        ),
        (
            &[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0],
            Role::Client,
            "most significant",
        ),
    ] {
        let e = decode_all(role, bytes, &[]).unwrap_err().to_string();
        assert!(e.contains(needle), "{bytes:x?}: {e}");
    }
    // A ping interleaved with a fragmented message is allowed.
    let wire = [&[0x02, 0x01, b'a'][..], &[0x89, 0x00], &[0x80, 0x01, b'b']].concat();
    assert_eq!(
        decode_all(Role::Client, &wire, &[]).unwrap(),
        vec![
            WsEvent::Data(b"a".to_vec()),
            WsEvent::Ping(vec![]),
            WsEvent::Data(b"b".to_vec())
        ]
    );
    assert_eq!(close_payload(1000, &"x".repeat(300)).len(), MAX_CONTROL);
}
