//! Replays tests/vectors/vnc.json, written by packer-plugin-sdk's own bootcommand package (see
//! tests/interop/bootcommand_test.go, which also fails when this file and Go disagree): for every
//! command, our parser and VNC driver must produce Packer's key events and pauses, event for event,
//! and must reject exactly the commands Packer rejects.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use boot_command::vnc::key_interval;
use boot_command::{events, parse, parse_go_duration, testing, Action, Event, SpecialKey};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/vnc.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The events as the Go recorder writes them: pauses and waits merged into the gaps between key
/// events (a VNC server sees only the gaps), zero gaps left out.
fn render(events: impl Iterator<Item = Event>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut gap = Duration::ZERO;
    let flush = |out: &mut Vec<String>, gap: &mut Duration| {
        if !gap.is_zero() {
            out.push(format!("wait:{}", gap.as_nanos()));
            *gap = Duration::ZERO;
        }
    };
    for e in events {
        match e {
            Event::KeyDown(k) => {
                flush(&mut out, &mut gap);
                out.push(format!("down:{k:x}"));
            }
            Event::KeyUp(k) => {
                flush(&mut out, &mut gap);
                out.push(format!("up:{k:x}"));
            }
            Event::Pause(d) | Event::Wait(d) => gap += d,
        }
    }
    flush(&mut out, &mut gap);
    out.join(" ")
}

#[test]
fn every_command_types_as_packer_types_it() {
    let v = vectors();
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() > 150, "only {} cases", cases.len());
    let (mut typed, mut rejected) = (0, 0);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let command: String = case["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let configured = case["key_interval"]
            .as_str()
            .map(|s| parse_go_duration(s).unwrap())
            .and_then(|n| u64::try_from(n).ok())
            .map(Duration::from_nanos);
        let interval = key_interval(configured, case["env"].as_str());
        let parsed = parse(&command);
        match (case["events"].as_str(), case["error"].as_str()) {
            (events_want, None) => {
                let cmd = parsed.unwrap_or_else(|e| {
                    panic!("{name}: Packer types {command:?}, we reject it: {e}")
                });
                let waits: Vec<u128> = cmd
                    .steps()
                    .iter()
                    .filter_map(|s| match s.action {
                        Action::Wait(d) => Some(d.as_nanos()),
                        Action::Key { .. } => None,
                    })
                    .collect();
                let want_waits: Vec<u128> = case["waits"]
                    .as_array()
                    .map(|w| w.iter().map(|n| u128::from(n.as_u64().unwrap())).collect())
                    .unwrap_or_default();
                assert_eq!(waits, want_waits, "{name}: {command:?}");
                match events_want {
                    Some(want) => {
                        assert_eq!(render(events(&cmd, interval)), want, "{name}: {command:?}")
                    }
                    // Waits too long for Go's fake clock: only the exact waits are compared.
                    None => assert!(case["untimed"].is_string(), "{name}: no events"),
                }
                typed += 1;
            }
            (None, Some(go)) => {
                assert!(
                    parsed.is_err(),
                    "{name}: Packer rejects {command:?} ({go}), we accept it"
                );
                rejected += 1;
            }
            _ => panic!("{name}: malformed vector {case}"),
        }
    }
    assert!(
        typed > 100 && rejected >= 10,
        "{typed} typed, {rejected} rejected"
    );
}

#[test]
fn the_corpus_covers_every_named_key() {
    let v = vectors();
    let all: String = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["command"].as_array().unwrap().iter())
        .map(|p| p.as_str().unwrap().to_lowercase())
        .collect();
    for k in SpecialKey::ALL {
        let name = k.name().to_lowercase();
        for form in [
            format!("<{name}>"),
            format!("<{name}on>"),
            format!("<{name}off>"),
        ] {
            assert!(all.contains(&form), "no vector for {form}");
        }
    }
}

#[test]
fn shift_follows_go_unicode_is_upper_for_every_code_point() {
    let v = vectors();
    let ranges: Vec<(u32, u32)> = v["go_is_upper"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_u64().unwrap() as u32, r[1].as_u64().unwrap() as u32))
        .collect();
    assert!(ranges.len() > 500);
    let go = |c: u32| ranges.iter().any(|&(a, b)| a <= c && c <= b);
    for c in (0..=0x10FFFF).filter_map(char::from_u32) {
        assert_eq!(
            testing::go_is_upper(c),
            go(u32::from(c)),
            "U+{:04X}",
            u32::from(c)
        );
    }
}

#[test]
fn key_names_ignore_case_as_go_lowers() {
    let v = vectors();
    let table: Vec<(char, u8)> = v["go_lower_to_ascii"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                char::from_u32(r[0].as_u64().unwrap() as u32).unwrap(),
                r[1].as_u64().unwrap() as u8,
            )
        })
        .collect();
    for c in (0x80..=0x10FFFF).filter_map(char::from_u32) {
        let go = table.iter().find(|(x, _)| *x == c).map(|(_, l)| *l);
        assert_eq!(testing::go_lower_ascii(c), go, "U+{:04X}", u32::from(c));
    }
    for c in (0..0x80u8).map(char::from) {
        assert_eq!(
            testing::go_lower_ascii(c),
            Some(c.to_ascii_lowercase() as u8)
        );
    }
}
