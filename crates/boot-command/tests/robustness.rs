//! No input makes the parser or the driver panic or misbehave: many pseudo-random commands built
//! from the grammar's own pieces (so that near-misses of every rule come up), plus arbitrary
//! characters. Deterministic, so a failure is reproducible from the printed input.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use boot_command::{events, parse, Event, Position};

/// xorshift64*: small, seedable, good enough to spread inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const PIECES: &[&str] = &[
    "<",
    ">",
    "<<",
    ">>",
    "wait",
    "WAIT",
    "On",
    "off",
    "ON",
    "0",
    "1",
    "5",
    "9",
    "00",
    "-",
    "+",
    ".",
    "s",
    "m",
    "h",
    "ms",
    "ns",
    "us",
    "µs",
    "μs",
    "d",
    "enter",
    "left",
    "Shift",
    "Alt",
    "f1",
    "f10",
    "f13",
    "page",
    "Up",
    "İ",
    "K",
    "ſ",
    "界",
    "😀",
    "\n",
    "\t",
    "\0",
    "a",
    "A",
    " ",
    "~",
    "99999999999999999999",
    "9223372036854775807",
    "2562047h47m16.854775808",
    "<wait",
    "<wait-",
    "<wait0",
    "<enter>",
    "<leftShiftOn>",
    "<aOn>",
    "<spacebar>",
    "<menu",
];

fn arbitrary(rng: &mut Rng) -> String {
    let n = rng.below(24);
    let mut s = String::new();
    for _ in 0..n {
        if rng.below(8) == 0 {
            // Any scalar value, including the rare ones.
            let c = char::from_u32((rng.next() % 0x11_0000) as u32).unwrap_or('\u{FFFD}');
            s.push(c);
        } else {
            s.push_str(PIECES[rng.below(PIECES.len())]);
        }
    }
    s
}

fn check(input: &str) {
    match parse(input) {
        Ok(cmd) => {
            // The steps tile the input exactly: nothing skipped, nothing read twice.
            let mut at = 0;
            for step in cmd.steps() {
                assert_eq!(step.span.start, at, "{input:?}");
                assert!(step.span.end > at, "{input:?}");
                at = step.span.end;
            }
            assert_eq!(at, input.len(), "{input:?}");
            let mut n = 0usize;
            for e in events(&cmd, Duration::from_millis(1)) {
                if let Event::Wait(d) = e {
                    assert!(!d.is_zero(), "{input:?}");
                }
                n += 1;
            }
            assert!(n <= 8 * cmd.steps().len(), "{input:?}");
            let _ = cmd.chars_without_keysym().count();
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "{input:?}");
            for e in &errors.0 {
                assert!(
                    e.span.start <= e.span.end && e.span.end <= input.len(),
                    "{input:?}"
                );
                assert_eq!(e.position, Position::of(input, e.span.start), "{input:?}");
                assert!(!e.to_string().is_empty());
            }
        }
    }
}

#[test]
fn random_commands_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..50_000 {
        check(&arbitrary(&mut rng));
    }
}

#[test]
fn every_prefix_of_tricky_commands() {
    for s in [
        "<wait1m30s><leftShiftOn>A<leftShiftOff><İnsertOn><wait99999999999999999999x>",
        "<<On><>Off><f10><f1on><wait0><wait-1s><wait1.5s>界😀\n",
    ] {
        for (i, _) in s.char_indices() {
            check(&s[..i]);
            check(&s[i..]);
        }
    }
}

#[test]
fn huge_inputs_are_linear() {
    // Long runs of what makes a backtracking parser slow: many `<wait` and digits.
    let s = "<wait".repeat(20_000) + &"9".repeat(100_000) + &"<".repeat(50_000);
    check(&s);
}
