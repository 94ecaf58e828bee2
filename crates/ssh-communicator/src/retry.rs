//! When to try connecting again: Packer's `waitForSSH` loop as a pure state machine.
//!
//! Packer (communicator/step_connect_ssh.go) waits 5 s between attempts, plus 2 s after a failed
//! SSH handshake, and counts only *authentication* failures toward `ssh_handshake_attempts`:
//! refused TCP connections and broken key exchanges happen while the VM boots and are retried
//! until `ssh_timeout`. The caller owns the clock and the deadline.

use std::time::Duration;

/// Extra pause after a failed handshake, so authentication errors do not come back to back.
pub(crate) const HANDSHAKE_PAUSE: Duration = Duration::from_secs(2);

/// How one attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// No transport: TCP refused or unreachable, proxy or bastion failure.
    Dial,
    /// The SSH handshake broke or timed out before authentication finished.
    Handshake,
    /// The server refused our credentials.
    Auth,
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Sleep this long, then try again (if the deadline allows).
    RetryAfter(Duration),
    /// Stop: `ssh_handshake_attempts` authentication failures reached.
    GiveUp,
}

/// Counts attempts across one `connect` call.
#[derive(Debug, Clone)]
pub(crate) struct RetryState {
    max_auth_failures: u32,
    interval: Duration,
    auth_failures: u32,
    attempts: u32,
}

impl RetryState {
    /// `max_auth_failures` 0 means no limit (Packer's behaviour when `ssh_handshake_attempts` is 0).
    pub(crate) fn new(max_auth_failures: u32, interval: Duration) -> Self {
        Self {
            max_auth_failures,
            interval,
            auth_failures: 0,
            attempts: 0,
        }
    }

    /// Records a failed attempt and decides what comes next.
    pub(crate) fn after_failure(&mut self, kind: FailureKind) -> Next {
        self.attempts = self.attempts.saturating_add(1);
        match kind {
            FailureKind::Dial => Next::RetryAfter(self.interval),
            FailureKind::Handshake => {
                Next::RetryAfter(self.interval.saturating_add(HANDSHAKE_PAUSE))
            }
            FailureKind::Auth => {
                self.auth_failures = self.auth_failures.saturating_add(1);
                if self.max_auth_failures > 0 && self.auth_failures >= self.max_auth_failures {
                    Next::GiveUp
                } else {
                    Next::RetryAfter(self.interval.saturating_add(HANDSHAKE_PAUSE))
                }
            }
        }
    }

    /// Attempts that failed so far (for logs).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE: Duration = Duration::from_secs(5);

    #[test]
    fn refused_connections_never_use_up_attempts() {
        let mut s = RetryState::new(1, FIVE);
        for _ in 0..100 {
            assert_eq!(s.after_failure(FailureKind::Dial), Next::RetryAfter(FIVE));
            assert_eq!(
                s.after_failure(FailureKind::Handshake),
                Next::RetryAfter(FIVE + HANDSHAKE_PAUSE)
            );
        }
        assert_eq!(s.attempts(), 200);
        assert_eq!(s.after_failure(FailureKind::Auth), Next::GiveUp);
    }

    #[test]
    fn auth_failures_count_up_to_the_limit() {
        let mut s = RetryState::new(3, FIVE);
        assert_eq!(
            s.after_failure(FailureKind::Auth),
            Next::RetryAfter(FIVE + HANDSHAKE_PAUSE)
        );
        assert_eq!(s.after_failure(FailureKind::Dial), Next::RetryAfter(FIVE));
        assert_eq!(
            s.after_failure(FailureKind::Auth),
            Next::RetryAfter(FIVE + HANDSHAKE_PAUSE)
        );
        assert_eq!(s.after_failure(FailureKind::Auth), Next::GiveUp);
    }

    #[test]
    fn zero_attempts_means_unlimited() {
        let mut s = RetryState::new(0, FIVE);
        for _ in 0..1000 {
            assert!(matches!(
                s.after_failure(FailureKind::Auth),
                Next::RetryAfter(_)
            ));
        }
    }
}
