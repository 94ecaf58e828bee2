//! The client core against byte vectors and against the server core, fed in random splits.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use rand::{Rng, SeedableRng};
use rfb::client::{Client, ClientConfig, Event};
use rfb::server::{Server, ServerConfig, ServerEvent};
use rfb::{keysym, PixelFormat, RfbError, Version};

const CHALLENGE: [u8; 16] = *b"0123456789abcdef";
/// DES response to CHALLENGE for "secret" (see `auth`'s unit test for where it comes from).
const RESPONSE: [u8; 16] = [
    0x75, 0x24, 0x40, 0xee, 0x2b, 0xfc, 0xc2, 0xa0, 0xd9, 0x01, 0x3f, 0xd2, 0x03, 0x71, 0xe2, 0x3b,
];

fn server_init(name: &str) -> Vec<u8> {
    let mut v = vec![0x02, 0x80, 0x01, 0xe0]; // 640x480
    v.extend_from_slice(&PixelFormat::RGB888.encode());
    v.extend_from_slice(&(name.len() as u32).to_be_bytes());
    v.extend_from_slice(name.as_bytes());
    v
}

fn feed_split(c: &mut Client, bytes: &[u8], rng: &mut impl Rng) -> Result<(), RfbError> {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = rng.random_range(1..=rest.len().min(7));
        let (a, b) = rest.split_at(n);
        c.handle_input(a)?;
        rest = b;
    }
    Ok(())
}

fn password(p: &str) -> ClientConfig {
    ClientConfig {
        password: Some(p.as_bytes().to_vec()),
        ..ClientConfig::default()
    }
}

#[test]
fn rfb_3_8_vnc_auth_byte_for_byte() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut c = Client::new(password("secret"));
    feed_split(&mut c, b"RFB 003.008\n", &mut rng).unwrap();
    assert_eq!(c.take_output(), b"RFB 003.008\n");
    feed_split(&mut c, &[2, 1, 2], &mut rng).unwrap();
    assert_eq!(c.take_output(), [2]);
    feed_split(&mut c, &CHALLENGE, &mut rng).unwrap();
    assert_eq!(c.take_output(), RESPONSE);
    feed_split(&mut c, &[0, 0, 0, 0], &mut rng).unwrap();
    assert_eq!(c.take_output(), [1], "ClientInit, shared");
    assert!(!c.is_ready());
    feed_split(&mut c, &server_init("vm-1"), &mut rng).unwrap();
    let Some(Event::Connected(info)) = c.poll_event() else {
        panic!("not connected")
    };
    assert_eq!(
        (info.width, info.height, info.name.as_str()),
        (640, 480, "vm-1")
    );
    assert_eq!((info.version, info.security), (Version::V3_8, 2));
    // SetEncodings: Raw and CopyRect only.
    assert_eq!(c.take_output(), [2, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1]);
    c.key_event(keysym::RETURN, true).unwrap();
    assert_eq!(c.take_output(), [4, 1, 0, 0, 0, 0, 0xff, 0x0d]);
}

#[test]
fn rfb_3_3_and_3_7_handshakes() {
    // 3.3: the server decides; VNC auth, result without reason.
    let mut c = Client::new(password("secret"));
    c.handle_input(b"RFB 003.003\n").unwrap();
    assert_eq!(c.take_output(), b"RFB 003.003\n");
    c.handle_input(&[0, 0, 0, 2]).unwrap();
    c.handle_input(&CHALLENGE).unwrap();
    assert_eq!(c.take_output(), RESPONSE);
    c.handle_input(&[0, 0, 0, 1]).unwrap_err();
    // 3.7 with None: no SecurityResult.
    let mut c = Client::new(ClientConfig::default());
    c.handle_input(b"RFB 003.007\n").unwrap();
    c.handle_input(&[1, 1]).unwrap();
    assert_eq!(
        c.take_output(),
        [b"RFB 003.007\n".to_vec(), vec![1, 1]].concat()
    );
    c.handle_input(&server_init("")).unwrap();
    assert!(c.is_ready());
    // A server announcing 3.8 talks 3.7 with a client capped at 3.7.
    let mut c = Client::new(ClientConfig {
        max_version: Version::V3_7,
        ..ClientConfig::default()
    });
    c.handle_input(b"RFB 003.008\n").unwrap();
    assert_eq!(c.take_output(), b"RFB 003.007\n");
}

#[test]
fn refusals_and_failures_are_typed() {
    let run = |cfg: ClientConfig, input: &[u8]| {
        let mut c = Client::new(cfg);
        c.handle_input(input).err()
    };
    let refused = [&b"RFB 003.008\n"[..], &[0, 0, 0, 0, 4], b"busy"].concat();
    assert_eq!(
        run(ClientConfig::default(), &refused),
        Some(RfbError::Refused {
            reason: "busy".into()
        })
    );
    let vnc_only = [&b"RFB 003.008\n"[..], &[1, 2]].concat();
    assert_eq!(
        run(ClientConfig::default(), &vnc_only),
        Some(RfbError::PasswordRequired)
    );
    let exotic = [&b"RFB 003.008\n"[..], &[2, 16, 19]].concat();
    assert_eq!(
        run(ClientConfig::default(), &exotic),
        Some(RfbError::NoCommonSecurity {
            offered: vec![16, 19]
        })
    );
    let wrong_password = [
        &b"RFB 003.008\n"[..],
        &[1, 2],
        &CHALLENGE,
        &[0, 0, 0, 1, 0, 0, 0, 21],
        b"Authentication failed",
    ]
    .concat();
    let e = run(password("wrong"), &wrong_password).unwrap();
    assert_eq!(
        e,
        RfbError::AuthFailed {
            security: 2,
            reason: Some("Authentication failed".into())
        }
    );
    assert!(e.to_string().contains("VNC password"), "{e}");
    assert!(matches!(
        run(ClientConfig::default(), b"RFB 002.000\n"),
        Some(RfbError::UnknownVersion { major: 2, minor: 0 })
    ));
    assert!(matches!(
        run(ClientConfig::default(), b"HTTP/1.1 400"),
        Some(RfbError::NotRfb { .. })
    ));
    let huge_name = [
        &b"RFB 003.008\n"[..],
        &[1, 1, 0, 0, 0, 0],
        &[0u8; 20],
        &[0xff; 4],
    ]
    .concat();
    assert!(matches!(
        run(ClientConfig::default(), &huge_name),
        Some(RfbError::TooLarge { .. })
    ));
    // Closing mid-handshake names the stage; an error is sticky.
    let mut c = Client::new(ClientConfig::default());
    c.handle_input(b"RFB 003.0").unwrap();
    let e = c.handle_eof();
    assert!(e.to_string().contains("version"), "{e}");
    assert_eq!(c.handle_input(b"08\n"), Err(e));
    let mut c = Client::new(ClientConfig::default());
    assert_eq!(
        c.key_event(0x61, true),
        Err(RfbError::NotReady("a key event"))
    );
}

fn connected(cfg: ClientConfig) -> Client {
    let mut c = Client::new(cfg);
    c.handle_input(&[&b"RFB 003.008\n"[..], &[1, 1, 0, 0, 0, 0]].concat())
        .unwrap();
    c.handle_input(&server_init("x")).unwrap();
    assert!(matches!(c.poll_event(), Some(Event::Connected(_))));
    c.take_output();
    c
}

#[test]
fn a_chatty_server_never_wedges_the_stream() {
    let mut stream = Vec::new();
    // A framebuffer update: a 300x200 raw rectangle (240000 bytes), a copy-rect, a resize.
    stream.extend_from_slice(&[0, 0, 0, 3]);
    stream.extend_from_slice(&[0, 0, 0, 0, 1, 44, 0, 200, 0, 0, 0, 0]);
    stream.extend(std::iter::repeat_n(0xaa, 300 * 200 * 4));
    stream.extend_from_slice(&[0, 1, 0, 1, 0, 9, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0]);
    stream.extend_from_slice(&[0, 0, 0, 0, 3, 0, 2, 0, 0xff, 0xff, 0xff, 0x21]);
    // A colour map of 2 entries, a bell, cut text, an empty update, then LastRect-terminated.
    stream.extend_from_slice(&[1, 0, 0, 0, 0, 2]);
    stream.extend_from_slice(&[9; 12]);
    stream.push(2);
    stream.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 5]);
    stream.extend_from_slice(b"hello");
    stream.extend_from_slice(&[0, 0, 0, 0]);
    stream.extend_from_slice(&[0, 0, 0xff, 0xff]);
    stream.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x20]);
    stream.push(2);
    for seed in 0..20 {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut c = connected(ClientConfig::default());
        let mut rest = stream.as_slice();
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(50_000));
            let (a, b) = rest.split_at(n);
            c.handle_input(a).unwrap();
            rest = b;
            // Keys can be sent at any point of the stream.
            c.key_event(0x61, true).unwrap();
        }
        let events: Vec<Event> = std::iter::from_fn(|| c.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                Event::DesktopResized {
                    width: 768,
                    height: 512
                },
                Event::FramebufferUpdate { rectangles: 3 },
                Event::ColourMap { first: 0, count: 2 },
                Event::Bell,
                Event::CutText(b"hello".to_vec()),
                Event::FramebufferUpdate { rectangles: 0 },
                Event::FramebufferUpdate { rectangles: 0xffff },
                Event::Bell,
            ],
            "seed {seed}"
        );
    }
    let mut c = connected(ClientConfig::default());
    assert_eq!(c.handle_input(&[7]), Err(RfbError::UnknownServerMessage(7)));
    let mut c = connected(ClientConfig::default());
    assert_eq!(
        c.handle_input(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 7]),
        Err(RfbError::UnexpectedEncoding(7))
    );
}

/// Runs a client and a server core against each other, moving bytes in random splits.
fn pair(
    client: ClientConfig,
    server_password: Option<&str>,
    seed: u64,
) -> (Vec<ServerEvent>, Result<(), RfbError>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut s = Server::new(ServerConfig {
        name: "vm".into(),
        width: 64,
        height: 48,
        password: server_password.map(|p| p.as_bytes().to_vec()),
        banner: Version::V3_8.banner().to_vec(),
        challenge: CHALLENGE,
    });
    let mut c = Client::new(client);
    let mut sent_keys = false;
    for _ in 0..1000 {
        let to_client = s.take_output();
        if !to_client.is_empty() {
            if let Err(e) = feed_split(&mut c, &to_client, &mut rng) {
                return (std::iter::from_fn(|| s.poll_event()).collect(), Err(e));
            }
        }
        if c.is_ready() && !sent_keys {
            for ch in "Ab<".chars() {
                c.key_event(ch as u32, true).unwrap();
                c.key_event(ch as u32, false).unwrap();
            }
            sent_keys = true;
        }
        let to_server = c.take_output();
        if to_client.is_empty() && to_server.is_empty() {
            break;
        }
        let mut rest = to_server.as_slice();
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len());
            let (a, b) = rest.split_at(n);
            s.handle_input(a).unwrap();
            rest = b;
        }
    }
    (std::iter::from_fn(|| s.poll_event()).collect(), Ok(()))
}

#[test]
fn client_and_server_cores_agree_in_every_version() {
    for (seed, version) in [Version::V3_3, Version::V3_7, Version::V3_8]
        .into_iter()
        .cycle()
        .take(30)
        .enumerate()
    {
        for auth in [None, Some("secret")] {
            let cfg = ClientConfig {
                password: auth.map(|p| p.as_bytes().to_vec()),
                max_version: version,
                ..ClientConfig::default()
            };
            let (events, result) = pair(cfg, auth, seed as u64);
            result.unwrap();
            let keys: Vec<(u32, bool)> = events
                .iter()
                .filter_map(|e| match e {
                    ServerEvent::Key { keysym, down } => Some((*keysym, *down)),
                    _ => None,
                })
                .collect();
            assert_eq!(keysym::render(keys), "Ab<", "{version:?} {auth:?}");
            assert!(events.contains(&ServerEvent::Version(version)));
            assert!(events.contains(&ServerEvent::ClientInit { shared: true }));
            assert!(events.contains(&ServerEvent::Encodings(vec![0, 1])));
        }
        let (events, result) = pair(password("wrong"), Some("secret"), seed as u64);
        assert!(events.contains(&ServerEvent::AuthFailed), "{version:?}");
        assert!(
            matches!(result, Err(RfbError::AuthFailed { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn server_core_answers_update_requests_and_rejects_garbage() {
    let mut s = Server::new(ServerConfig {
        name: "vm".into(),
        width: 4,
        height: 2,
        password: None,
        banner: Version::V3_8.banner().to_vec(),
        challenge: CHALLENGE,
    });
    s.take_output();
    s.handle_input(&[&b"RFB 003.008\n"[..], &[1, 1]].concat())
        .unwrap();
    s.take_output();
    // A full update request for more than the screen is clipped to 4x2x4 bytes of black.
    s.handle_input(&[3, 0, 0, 0, 0, 0, 0, 9, 0, 9]).unwrap();
    let out = s.take_output();
    assert_eq!(out.len(), 4 + 12 + 32);
    assert_eq!(
        out.get(..16),
        Some(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 4, 0, 2, 0, 0, 0, 0][..])
    );
    s.handle_input(&[3, 1, 0, 0, 0, 0, 0, 9, 0, 9]).unwrap();
    assert!(
        s.take_output().is_empty(),
        "nothing changes, nothing is sent"
    );
    assert_eq!(s.handle_input(&[9]), Err(RfbError::UnknownClientMessage(9)));
    let mut s = Server::new(ServerConfig {
        name: "vm".into(),
        width: 4,
        height: 2,
        password: None,
        banner: Version::V3_8.banner().to_vec(),
        challenge: CHALLENGE,
    });
    assert!(matches!(
        s.handle_input(b"RFB 004.000\n"),
        Err(RfbError::UnknownVersion { .. })
    ));
}
