//! Waiting for Prism tasks: deadline, backoff, progress, cancellation, every terminal state.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::backoff::{next_poll_delay, next_task_poll, ProgressSample};
use crate::client::PrismClient;
use crate::error::PrismError;
use crate::models::{Task, TaskProgress, TaskStatus};

/// Receives every change of a polled task (status, percentage or message).
pub type ProgressFn = dyn Fn(&TaskProgress) + Send + Sync;

/// How an operation that returns a task waits for it.
#[derive(Clone)]
pub struct Wait {
    /// Maximum time to wait for the task.
    pub timeout: Duration,
    /// Fires to abandon the wait (the task itself keeps running in Prism).
    pub cancel: CancellationToken,
    /// Optional progress reporting.
    pub progress: Option<Arc<ProgressFn>>,
}

impl Wait {
    /// Waits up to `timeout`, with a fresh (never-firing) cancel token and no progress.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            cancel: CancellationToken::new(),
            progress: None,
        }
    }

    /// Uses the build's cancel token.
    pub fn with_cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// Reports progress to `f`.
    pub fn with_progress(mut self, f: impl Fn(&TaskProgress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }
}

impl Default for Wait {
    /// Ten minutes, the Go plugin's v3 task limit.
    fn default() -> Self {
        Self::new(Duration::from_secs(600))
    }
}

impl std::fmt::Debug for Wait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wait")
            .field("timeout", &self.timeout)
            .field("cancelled", &self.cancel.is_cancelled())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// Decides what one poll result means: `Ok(true)` finished, `Ok(false)` keep polling, `Err` a
/// terminal failure. Every state Prism documents is handled; an unknown one is an error rather
/// than something to poll until the deadline.
pub fn judge(task: &Task, task_uuid: &str, purpose: &str) -> Result<bool, PrismError> {
    match &task.status {
        TaskStatus::Succeeded => Ok(true),
        TaskStatus::Queued | TaskStatus::Running | TaskStatus::Suspended => Ok(false),
        TaskStatus::Failed
        | TaskStatus::Aborted
        | TaskStatus::Cancelled
        | TaskStatus::InvalidUuid => Err(PrismError::TaskFailed {
            task_uuid: task_uuid.to_string(),
            purpose: purpose.to_string(),
            status: task.status.clone(),
            error_detail: task.error_detail.clone(),
        }),
        TaskStatus::Other(status) => Err(PrismError::UnknownTaskStatus {
            task_uuid: task_uuid.to_string(),
            purpose: purpose.to_string(),
            status: status.clone(),
        }),
    }
}

/// `now + timeout`, saturating at about a century instead of panicking on overflow.
pub fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

impl PrismClient {
    /// `GET /tasks/{uuid}` (retried like any GET).
    pub async fn get_task(&self, task_uuid: &str) -> Result<Task, PrismError> {
        self.get_json(&format!("get task {task_uuid}"), &["tasks", task_uuid])
            .await
    }

    /// Polls a task until it ends, `deadline` passes, or `cancel` fires.
    ///
    /// Polling starts at `PollPolicy::initial` and grows by its factor to its cap; once Prism
    /// reports progress, polls aim at the predicted end instead ([`next_task_poll`]). SUCCEEDED
    /// returns the task; FAILED, ABORTED, CANCELLED and INVALID_UUID return
    /// [`PrismError::TaskFailed`] quoting `error_detail`; a state this client does not know
    /// returns [`PrismError::UnknownTaskStatus`] instead of polling until the deadline.
    /// `purpose` names what the task was for in every error and progress report.
    pub async fn wait_task(
        &self,
        task_uuid: &str,
        purpose: &str,
        deadline: Instant,
        progress: Option<&ProgressFn>,
        cancel: &CancellationToken,
    ) -> Result<Task, PrismError> {
        let started = Instant::now();
        let policy = self.inner.config.poll.clone();
        let mut backoff = next_poll_delay(&policy, policy.initial);
        let mut last: Option<TaskProgress> = None;
        // Only reads that show progress measure the task's pace: a QUEUED task at 0% says
        // nothing about its speed, and the time it spent queued would skew the estimate.
        let mut previous_sample: Option<ProgressSample> = None;
        let cancelled = || PrismError::Cancelled {
            op: format!("wait for task {task_uuid} ({purpose})"),
        };
        let timed_out = |last: &Option<TaskProgress>| PrismError::TaskTimeout {
            task_uuid: task_uuid.to_string(),
            purpose: purpose.to_string(),
            waited: started.elapsed(),
            last_status: last
                .as_ref()
                .map(|p| p.status.to_string())
                .unwrap_or_else(|| "unknown (never read)".to_string()),
            last_message: last.as_ref().and_then(|p| p.progress_message.clone()),
        };
        // A task read straight after its request is always still queued: the first read waits
        // one step, which spares a request per task at the cost of one short sleep.
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return Err(cancelled()),
            _ = tokio::time::sleep_until(deadline_after(policy.initial).min(deadline)) => {}
        }
        loop {
            let task = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(cancelled()),
                _ = tokio::time::sleep_until(deadline) => return Err(timed_out(&last)),
                task = self.get_task(task_uuid) => task?,
            };
            let now = TaskProgress {
                task_uuid: task_uuid.to_string(),
                purpose: purpose.to_string(),
                status: task.status.clone(),
                percentage_complete: task.percentage_complete,
                progress_message: task.progress_message.clone(),
            };
            if last.as_ref() != Some(&now) {
                tracing::debug!(task = task_uuid, purpose, status = %now.status,
                    percent = ?now.percentage_complete, message = ?now.progress_message, "task progress");
                if let Some(report) = progress {
                    report(&now);
                }
                last = Some(now);
            }
            if judge(&task, task_uuid, purpose)? {
                return Ok(task);
            }
            let sample = task.percentage_complete.map(|percent| ProgressSample {
                at: started.elapsed(),
                percent,
            });
            let delay = next_task_poll(&policy, backoff, previous_sample, sample);
            if sample.is_some_and(|s| s.percent > 0) {
                previous_sample = sample;
            }
            let wake = deadline_after(delay).min(deadline);
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return Err(cancelled()),
                _ = tokio::time::sleep_until(wake) => {}
            }
            backoff = next_poll_delay(&policy, backoff);
        }
    }

    /// Waits for a task with a [`Wait`]'s timeout, token and progress.
    pub async fn wait_task_with(
        &self,
        task_uuid: &str,
        purpose: &str,
        wait: &Wait,
    ) -> Result<Task, PrismError> {
        let deadline = deadline_after(wait.timeout);
        self.wait_task(
            task_uuid,
            purpose,
            deadline,
            wait.progress.as_deref(),
            &wait.cancel,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(status: &str, detail: Option<&str>) -> Task {
        serde_json::from_value(serde_json::json!({
            "uuid": "t-1", "status": status, "error_detail": detail
        }))
        .unwrap()
    }

    #[test]
    fn every_documented_state_is_classified() {
        assert!(judge(&task("SUCCEEDED", None), "t-1", "p").unwrap());
        assert!(!judge(&task("QUEUED", None), "t-1", "p").unwrap());
        assert!(!judge(&task("RUNNING", None), "t-1", "p").unwrap());
        assert!(!judge(&task("SUSPENDED", None), "t-1", "p").unwrap());
        for state in ["FAILED", "ABORTED", "CANCELLED", "INVALID_UUID"] {
            match judge(
                &task(state, Some("INTERNAL_ERROR: boom")),
                "t-1",
                "create VM 'x'",
            ) {
                Err(PrismError::TaskFailed {
                    status,
                    error_detail,
                    purpose,
                    ..
                }) => {
                    assert_eq!(status.as_str(), state);
                    assert_eq!(error_detail.as_deref(), Some("INTERNAL_ERROR: boom"));
                    assert_eq!(purpose, "create VM 'x'");
                }
                other => panic!("{state}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_state_is_an_error_not_a_hang() {
        match judge(&task("PAUSED_FOREVER", None), "t-1", "p") {
            Err(PrismError::UnknownTaskStatus { status, .. }) => {
                assert_eq!(status, "PAUSED_FOREVER")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn failure_message_quotes_prism() {
        let e = judge(
            &task("FAILED", Some("RESOURCE_SHORTAGE: Not enough resources")),
            "t-9",
            "create VM 'b'",
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("t-9")
                && text.contains("create VM 'b'")
                && text.contains("RESOURCE_SHORTAGE: Not enough resources"),
            "{text}"
        );
    }
}
