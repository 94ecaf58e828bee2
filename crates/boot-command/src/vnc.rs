//! What Packer's VNC driver sends for a parsed command: X11 key events and pauses, as a pure
//! iterator (no I/O, no clock), so that the exact sequence can be compared with Packer's.
//!
//! The driver has no memory of held keys: a character that needs Shift is always wrapped in
//! Shift_L down/up, even inside `<leftShiftOn>...<leftShiftOff>`, which therefore releases the
//! held Shift (Packer does the same). After every key event, down or up, it pauses for the key
//! interval. `boot_keygroup_interval` plays no part over VNC.

use std::time::Duration;

use crate::command::{Action, Command, Key, KeyAction, Step};
use crate::duration::parse_go_duration;
use crate::keys::{char_keysym, needs_shift, SHIFT_KEYSYM};

/// The pause after each key event when neither `boot_key_interval` nor the environment sets one.
pub const DEFAULT_KEY_INTERVAL: Duration = Duration::from_millis(100);

/// The environment variable Packer reads for the pause between key events.
pub const KEY_INTERVAL_ENV: &str = "PACKER_KEY_INTERVAL";

/// The pause after each key event, chosen as Packer's VNC driver chooses it: `boot_key_interval`
/// when it is longer than zero, otherwise `PACKER_KEY_INTERVAL` when it parses as a Go duration
/// (a negative one means no pause), otherwise 100 ms. Pass the variable's value in, so this
/// stays pure: `key_interval(cfg, std::env::var(KEY_INTERVAL_ENV).ok().as_deref())`.
pub fn key_interval(configured: Option<Duration>, env: Option<&str>) -> Duration {
    if let Some(d) = configured.filter(|d| !d.is_zero()) {
        return d;
    }
    match env.map(parse_go_duration) {
        Some(Ok(n)) => Duration::from_nanos(u64::try_from(n).unwrap_or(0)),
        _ => DEFAULT_KEY_INTERVAL,
    }
}

/// One thing to do at the VNC connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// RFB KeyEvent with down-flag set.
    KeyDown(u32),
    /// RFB KeyEvent with down-flag clear.
    KeyUp(u32),
    /// The key interval after a key event.
    Pause(Duration),
    /// A `<wait>` written in the command.
    Wait(Duration),
}

/// The events for `command` with `interval` after each key event, in order. Zero-length pauses
/// are left out.
pub fn events(command: &Command, interval: Duration) -> Events<'_> {
    Events {
        steps: command.steps().iter(),
        interval,
        current: StepEvents::default(),
    }
}

/// Iterator returned by [`events`].
#[derive(Debug, Clone)]
pub struct Events<'a> {
    steps: std::slice::Iter<'a, Step>,
    interval: Duration,
    current: StepEvents,
}

impl Iterator for Events<'_> {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.current.next() {
                return Some(e);
            }
            self.current = StepEvents::of(self.steps.next()?, self.interval);
        }
    }
}

/// The most events one step produces: Shift down, key down, key up, Shift up, each with a pause.
const MAX_PER_STEP: usize = 8;

/// The events of one step, in a fixed buffer so the iterator never allocates.
#[derive(Debug, Clone, Default)]
struct StepEvents {
    items: [Option<Event>; MAX_PER_STEP],
    len: usize,
    next: usize,
}

impl StepEvents {
    fn of(step: &Step, interval: Duration) -> StepEvents {
        let mut out = StepEvents::default();
        match step.action {
            Action::Wait(d) => out.push(Event::Wait(d)),
            Action::Key {
                key: Key::Special(k),
                action,
            } => {
                let sym = k.keysym();
                if action != KeyAction::Off {
                    out.key(sym, true, interval);
                }
                if action != KeyAction::On {
                    out.key(sym, false, interval);
                }
            }
            Action::Key {
                key: Key::Char(c),
                action,
            } => {
                let (sym, shift) = (char_keysym(c), needs_shift(c));
                if action != KeyAction::Off {
                    if shift {
                        out.key(SHIFT_KEYSYM, true, interval);
                    }
                    out.key(sym, true, interval);
                }
                if action != KeyAction::On {
                    out.key(sym, false, interval);
                    if shift {
                        out.key(SHIFT_KEYSYM, false, interval);
                    }
                }
            }
        }
        out
    }

    fn push(&mut self, e: Event) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(e);
            self.len += 1;
        }
    }

    fn key(&mut self, keysym: u32, down: bool, interval: Duration) {
        self.push(if down {
            Event::KeyDown(keysym)
        } else {
            Event::KeyUp(keysym)
        });
        if !interval.is_zero() {
            self.push(Event::Pause(interval));
        }
    }
}

impl Iterator for StepEvents {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        let e = self.items.get_mut(self.next)?.take()?;
        self.next += 1;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    #[test]
    fn shift_wraps_each_character() {
        let cmd = parse("<leftShiftOn>A<leftShiftOff>").unwrap();
        let got: Vec<Event> = events(&cmd, Duration::ZERO).collect();
        use Event::*;
        assert_eq!(
            got,
            [
                KeyDown(0xFFE1),
                KeyDown(0xFFE1),
                KeyDown(0x41),
                KeyUp(0x41),
                KeyUp(0xFFE1),
                KeyUp(0xFFE1),
            ]
        );
    }

    #[test]
    fn pauses_follow_every_key_event() {
        let ms = Duration::from_millis;
        let cmd = parse("a<wait>").unwrap();
        let got: Vec<Event> = events(&cmd, ms(5)).collect();
        use Event::*;
        assert_eq!(
            got,
            [
                KeyDown(0x61),
                Pause(ms(5)),
                KeyUp(0x61),
                Pause(ms(5)),
                Wait(ms(1000))
            ]
        );
    }

    #[test]
    fn interval_choice() {
        let ms = Duration::from_millis;
        assert_eq!(key_interval(None, None), ms(100));
        assert_eq!(key_interval(Some(ms(7)), Some("1s")), ms(7));
        assert_eq!(key_interval(Some(Duration::ZERO), Some("1s")), ms(1000));
        assert_eq!(key_interval(None, Some("-1s")), Duration::ZERO);
        assert_eq!(key_interval(None, Some("50")), ms(100));
    }
}
