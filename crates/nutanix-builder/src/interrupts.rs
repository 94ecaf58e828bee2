//! The second Ctrl-C. A terminal's Ctrl-C reaches Packer and this plugin together (one process
//! group). Packer turns the first into a Cancel call and ignores the rest, waiting for `Run` to
//! return; so only the plugin can honour a second one, by abandoning cleanup and naming what it
//! leaves behind.
//!
//! The rule ([`StopRule`]) is pure, so it is tested as a table; [`watch`] feeds it the signals.

use std::time::{Duration, Instant};

use packer_rpc::CancellationToken;

/// A signal this close to the cancel is the same Ctrl-C that caused it (Packer's Cancel call
/// and our own copy of the signal race each other).
const SAME_KEYPRESS: Duration = Duration::from_secs(1);

/// Decides when interrupts mean "stop cleaning up".
#[derive(Debug, Default, Clone)]
pub(crate) struct StopRule {
    /// Interrupts received so far.
    count: u32,
    /// When the build learnt it was cancelled.
    cancelled_at: Option<Instant>,
}

impl StopRule {
    /// Packer cancelled the build at `now`.
    pub(crate) fn cancelled(&mut self, now: Instant) {
        self.cancelled_at.get_or_insert(now);
    }

    /// An interrupt arrived at `now`; true when cleanup should be abandoned: the second
    /// interrupt, or a first one that comes well after Packer's cancel (we missed the first
    /// Ctrl-C, e.g. when it was sent to Packer's process alone).
    pub(crate) fn interrupted(&mut self, now: Instant) -> bool {
        self.count += 1;
        if self.count >= 2 {
            return true;
        }
        self.cancelled_at
            .is_some_and(|at| now.saturating_duration_since(at) > SAME_KEYPRESS)
    }
}

/// A token that fires when cleanup should be abandoned, watching SIGINT and SIGTERM for the
/// life of the build. Without signal support the token never fires (cleanup still has its
/// deadline).
pub(crate) fn watch(cancel: CancellationToken) -> CancellationToken {
    let stop = CancellationToken::new();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (int, term) = match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(i), Ok(t)) => (i, t),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "cannot watch interrupts; a second Ctrl-C will not stop cleanup");
                return stop;
            }
        };
        let fire = stop.clone();
        tokio::spawn(async move {
            let (mut int, mut term) = (int, term);
            let mut rule = StopRule::default();
            loop {
                tokio::select! {
                    _ = fire.cancelled() => return,
                    _ = cancel.cancelled(), if rule.cancelled_at.is_none() => {
                        rule.cancelled(Instant::now());
                        continue;
                    }
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
                if cancel.is_cancelled() {
                    rule.cancelled(Instant::now());
                }
                if rule.interrupted(Instant::now()) {
                    tracing::info!("second interrupt: abandoning cleanup");
                    fire.cancel();
                    return;
                }
            }
        });
    }
    #[cfg(not(unix))]
    drop(cancel);
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_second_interrupt_stops() {
        let t0 = Instant::now();
        let mut r = StopRule::default();
        r.cancelled(t0);
        assert!(!r.interrupted(t0), "the Ctrl-C that cancelled");
        assert!(r.interrupted(t0 + Duration::from_millis(300)));
    }

    #[test]
    fn a_lone_interrupt_long_after_the_cancel_stops() {
        let t0 = Instant::now();
        let mut r = StopRule::default();
        r.cancelled(t0);
        assert!(r.interrupted(t0 + Duration::from_secs(5)));
    }

    #[test]
    fn a_lone_interrupt_without_a_cancel_does_not_stop() {
        let mut r = StopRule::default();
        assert!(!r.interrupted(Instant::now()));
    }

    #[test]
    fn the_signal_may_come_before_packers_cancel() {
        let t0 = Instant::now();
        let mut r = StopRule::default();
        assert!(!r.interrupted(t0));
        r.cancelled(t0 + Duration::from_millis(20));
        assert!(r.interrupted(t0 + Duration::from_secs(3)));
    }
}
