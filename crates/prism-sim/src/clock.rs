//! Time as the simulator sees it. The state model never reads the OS clock itself: every
//! operation receives "now" from a [`Clock`], so tests can drive task lifecycles step by step
//! with a [`ManualClock`] instead of sleeping.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A monotonic source of "time since the simulator started", shared by the HTTP layer.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Time elapsed since this clock's epoch.
    fn elapsed(&self) -> Duration;
}

/// The real clock used by `run_cli` and by default.
#[derive(Debug, Clone)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }

    /// The same, already wrapped for [`crate::SimConfig::clock`].
    pub fn shared() -> Arc<dyn Clock> {
        Arc::new(Self::new())
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}

/// A clock that only moves when told to, so tests can observe QUEUED/RUNNING/SUCCEEDED
/// deterministically. Clone it before handing it to the config to keep a handle.
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    now: Arc<Mutex<Duration>>,
}

impl ManualClock {
    /// A clock standing at its epoch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now = now.saturating_add(by);
    }

    /// Sets the clock to an absolute offset from its epoch (it may go backwards: use with care).
    pub fn set(&self, to: Duration) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn elapsed(&self) -> Duration {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new();
        assert_eq!(c.elapsed(), Duration::ZERO);
        c.advance(Duration::from_millis(250));
        let shared: Arc<dyn Clock> = Arc::new(c.clone());
        assert_eq!(shared.elapsed(), Duration::from_millis(250));
        c.set(Duration::from_secs(3));
        assert_eq!(shared.elapsed(), Duration::from_secs(3));
        c.advance(Duration::MAX);
        assert_eq!(shared.elapsed(), Duration::MAX);
    }
}
