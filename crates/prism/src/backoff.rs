//! Pure schedules for retries and task polling. Randomness and time come in as arguments, so
//! the arithmetic is tested without sleeping.

use std::time::Duration;

use crate::config::{PollPolicy, RetryPolicy};

/// Delay before retry number `retry` (1 = first retry), with "equal jitter": half the
/// exponential delay is fixed, the other half scaled by `jitter` in `[0, 1)`. The fixed half
/// keeps retries from bunching at zero; the random half spreads concurrent clients apart.
pub fn retry_delay(policy: &RetryPolicy, retry: u32, jitter: f64) -> Duration {
    let exponent = retry.saturating_sub(1).min(64) as i32;
    let base = policy.initial_delay.as_secs_f64() * policy.multiplier.max(1.0).powi(exponent);
    let capped = base.min(policy.max_delay.as_secs_f64()).max(0.0);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    Duration::try_from_secs_f64(capped / 2.0 + capped / 2.0 * jitter).unwrap_or(policy.max_delay)
}

/// Parses a `Retry-After` header: delta-seconds, or an HTTP date relative to `now`.
/// Returns `None` when the value is neither (the caller then uses its own backoff).
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.with_timezone(&chrono::Utc) - now;
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

/// The delay after a poll that waited `previous`: grows by the policy's factor up to its cap.
pub fn next_poll_delay(policy: &PollPolicy, previous: Duration) -> Duration {
    let grown = previous.as_secs_f64() * policy.multiplier.max(1.0);
    Duration::try_from_secs_f64(grown.min(policy.max.as_secs_f64()).max(0.0)).unwrap_or(policy.max)
}

/// One read of a running task: when (since the wait began) and how far along Prism said it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProgressSample {
    /// Time since the wait began.
    pub at: Duration,
    /// `percentage_complete`.
    pub percent: i64,
}

/// The delay before the next poll of a task that is still running.
///
/// Blind geometric backoff makes a one-second task cost about ten polls. Prism reports
/// `percentage_complete`, so once a read shows progress since `previous` (the last read that
/// showed any), the task's own pace predicts when it ends and the next poll aims just past that
/// moment (10% + 20 ms late, so it usually finds the
/// task done). A stalled or erratic task is polled on the `backoff` step exactly as without a
/// prediction; a prediction may be shorter than that step (the step has grown while the task sat
/// queued, and waiting it out would cost most of a step per task) but never shorter than
/// `policy.initial`, and never longer than `policy.eta_cap`, so a wrong prediction costs bounded
/// latency.
pub fn next_task_poll(
    policy: &PollPolicy,
    backoff: Duration,
    previous: Option<ProgressSample>,
    current: Option<ProgressSample>,
) -> Duration {
    let (Some(prev), Some(cur)) = (previous, current) else {
        return backoff;
    };
    if !(1..100).contains(&cur.percent) || cur.percent <= prev.percent || cur.at <= prev.at {
        return backoff;
    }
    let gained = (cur.percent - prev.percent) as f64;
    let per_second = gained / (cur.at - prev.at).as_secs_f64();
    let remaining = (100 - cur.percent) as f64 / per_second;
    let aimed = remaining * 1.1 + 0.02;
    let floor = policy.initial.as_secs_f64();
    let cap = policy.eta_cap.as_secs_f64().max(floor);
    if !aimed.is_finite() {
        return backoff;
    }
    Duration::try_from_secs_f64(aimed.clamp(floor, cap)).unwrap_or(backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn retry_delay_doubles_and_caps() {
        let p = policy();
        assert_eq!(retry_delay(&p, 1, 1.0), Duration::from_millis(100));
        assert_eq!(retry_delay(&p, 2, 1.0), Duration::from_millis(200));
        assert_eq!(retry_delay(&p, 3, 1.0), Duration::from_millis(400));
        assert_eq!(retry_delay(&p, 10, 1.0), Duration::from_secs(1));
        assert_eq!(retry_delay(&p, u32::MAX, 1.0), Duration::from_secs(1));
    }

    #[test]
    fn retry_delay_jitter_stays_in_upper_half() {
        let p = policy();
        assert_eq!(retry_delay(&p, 2, 0.0), Duration::from_millis(100));
        assert_eq!(retry_delay(&p, 2, 0.5), Duration::from_millis(150));
        // Bad jitter values are clamped, never panic.
        assert_eq!(retry_delay(&p, 2, f64::NAN), Duration::from_millis(100));
        assert_eq!(retry_delay(&p, 2, 7.0), Duration::from_millis(200));
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn extreme_policies_do_not_panic() {
        let p = RetryPolicy {
            initial_delay: Duration::MAX,
            multiplier: f64::INFINITY,
            max_delay: Duration::MAX,
            ..policy()
        };
        assert!(retry_delay(&p, 1000, 1.0) > Duration::from_secs(1));
        let poll = PollPolicy {
            initial: Duration::MAX,
            multiplier: f64::NAN,
            max: Duration::MAX,
            eta_cap: Duration::MAX,
        };
        assert!(next_poll_delay(&poll, Duration::MAX) > Duration::from_secs(1));
    }

    #[test]
    fn poll_delay_doubles_from_fifty_ms_to_two_seconds() {
        let p = PollPolicy::default();
        let mut d = p.initial;
        let mut seen = vec![d];
        for _ in 0..20 {
            d = next_poll_delay(&p, d);
            seen.push(d);
        }
        assert_eq!(seen[0], Duration::from_millis(50));
        assert_eq!(seen[1], Duration::from_millis(100));
        assert_eq!(seen[2], Duration::from_millis(200));
        assert_eq!(*seen.last().unwrap(), Duration::from_secs(2));
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
    }

    fn sample(ms: u64, percent: i64) -> Option<ProgressSample> {
        Some(ProgressSample {
            at: Duration::from_millis(ms),
            percent,
        })
    }

    #[test]
    fn task_poll_without_two_progress_reads_is_the_backoff_step() {
        let p = PollPolicy::default();
        let step = Duration::from_millis(30);
        assert_eq!(next_task_poll(&p, step, None, sample(20, 11)), step);
        assert_eq!(next_task_poll(&p, step, sample(20, 11), None), step);
    }

    #[test]
    fn task_poll_aims_just_past_the_predicted_end() {
        let p = PollPolicy::default();
        // 3% in 30 ms: 86% left takes 860 ms; aimed 10% + 20 ms later.
        let d = next_task_poll(
            &p,
            Duration::from_millis(30),
            sample(20, 11),
            sample(50, 14),
        );
        assert!(
            (Duration::from_millis(960)..=Duration::from_millis(970)).contains(&d),
            "{d:?}"
        );
    }

    #[test]
    fn task_poll_may_beat_the_backoff_but_not_the_initial_step_nor_the_cap() {
        let p = PollPolicy::default();
        // 60% in 800 ms: 20% left takes ~267 ms, sooner than the grown 1600 ms step.
        let step = Duration::from_millis(1600);
        let d = next_task_poll(&p, step, sample(750, 20), sample(1550, 80));
        assert!(
            (Duration::from_millis(300)..=Duration::from_millis(320)).contains(&d),
            "{d:?}"
        );
        // Nearly done: the prediction is shorter than the first step, so that step wins.
        assert_eq!(
            next_task_poll(&p, step, sample(0, 10), sample(1000, 99)),
            p.initial
        );
        // Very slow: 1% per minute would mean waiting over an hour; the cap wins.
        let slow = next_task_poll(
            &p,
            Duration::from_millis(20),
            sample(0, 10),
            sample(60_000, 11),
        );
        assert_eq!(slow, p.eta_cap);
    }

    #[test]
    fn task_poll_ignores_stalled_backwards_or_finished_progress() {
        let p = PollPolicy::default();
        let step = Duration::from_millis(45);
        assert_eq!(
            next_task_poll(&p, step, sample(20, 40), sample(50, 40)),
            step
        );
        assert_eq!(
            next_task_poll(&p, step, sample(20, 40), sample(50, 30)),
            step
        );
        assert_eq!(
            next_task_poll(&p, step, sample(20, 40), sample(50, 100)),
            step
        );
        assert_eq!(
            next_task_poll(&p, step, sample(50, 40), sample(50, 60)),
            step
        );
    }
}
