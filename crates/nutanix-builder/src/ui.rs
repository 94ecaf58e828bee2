//! How the build talks to the person running Packer: every line is redacted first, task
//! progress is shown at a bounded rate, and transfers get Packer's progress bar.
//!
//! The build speaks to a [`Console`], not to Packer's `Ui` directly, so the whole build can run in
//! tests without Packer; [`PackerConsole`] is the real one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

/// Packer's terminal, as the build needs it.
#[async_trait]
pub(crate) trait Console: Send + Sync {
    /// A step header (`==> nutanix.x: ...`).
    async fn say(&self, text: &str);
    /// A detail line under a step (`    nutanix.x: ...`).
    async fn message(&self, text: &str);
    /// An error line.
    async fn error(&self, text: &str);
    /// A question; `Err` when Packer cannot ask (non-interactive, interrupted).
    async fn ask(&self, question: &str) -> Result<String, String>;
    /// A progress bar for `total` bytes, fed with increments; `None` when Packer cannot draw one.
    async fn progress(&self, label: &str, total: u64) -> Option<Box<dyn ProgressBar>>;
}

/// One progress bar.
#[async_trait]
pub(crate) trait ProgressBar: Send + Sync {
    /// Advances the bar by `n` bytes.
    async fn add(&self, n: u64);
    /// Finishes the bar.
    async fn close(self: Box<Self>);
}

/// The real console: Packer's `Ui` over the plugin protocol.
pub(crate) struct PackerConsole(pub(crate) packer_rpc::Ui);

#[async_trait]
impl Console for PackerConsole {
    async fn say(&self, text: &str) {
        self.0.say(text).await;
    }
    async fn message(&self, text: &str) {
        self.0.message(text).await;
    }
    async fn error(&self, text: &str) {
        self.0.error(text).await;
    }
    async fn ask(&self, question: &str) -> Result<String, String> {
        self.0.ask(question).await.map_err(|e| e.to_string())
    }
    async fn progress(&self, label: &str, total: u64) -> Option<Box<dyn ProgressBar>> {
        let total = i64::try_from(total).unwrap_or(i64::MAX);
        match self.0.track_progress(label, total).await {
            Ok(p) => Some(Box::new(PackerProgress(p))),
            Err(e) => {
                tracing::warn!(error = %e, "Packer could not start a progress bar");
                None
            }
        }
    }
}

struct PackerProgress(packer_rpc::Progress);

#[async_trait]
impl ProgressBar for PackerProgress {
    async fn add(&self, n: u64) {
        self.0.add(i64::try_from(n).unwrap_or(i64::MAX)).await;
    }
    async fn close(self: Box<Self>) {
        self.0.close().await;
    }
}

/// The build's voice: a [`Console`] plus the secrets that must never reach it.
#[derive(Clone)]
pub(crate) struct Reporter {
    console: Arc<dyn Console>,
    secrets: Arc<Vec<String>>,
}

impl Reporter {
    /// A reporter that scrubs `secrets` from everything it prints.
    pub(crate) fn new(console: Arc<dyn Console>, secrets: Vec<String>) -> Self {
        Self {
            console,
            secrets: Arc::new(secrets),
        }
    }

    /// `text` with every secret replaced by `<sensitive>`.
    pub(crate) fn redact(&self, text: &str) -> String {
        nutanix_config::redact(text, &self.secrets)
    }

    /// A step header.
    pub(crate) async fn say(&self, text: impl AsRef<str>) {
        let text = self.redact(text.as_ref());
        tracing::info!("{text}");
        self.console.say(&text).await;
    }

    /// A detail line.
    pub(crate) async fn message(&self, text: impl AsRef<str>) {
        let text = self.redact(text.as_ref());
        tracing::info!("{text}");
        self.console.message(&text).await;
    }

    /// An error line.
    pub(crate) async fn error(&self, text: impl AsRef<str>) {
        let text = self.redact(text.as_ref());
        tracing::warn!("{text}");
        self.console.error(&text).await;
    }

    /// Asks a question.
    pub(crate) async fn ask(&self, question: &str) -> Result<String, String> {
        self.console.ask(&self.redact(question)).await
    }

    /// Starts a progress bar fed from a [`TransferMeter`]; stop it with [`ProgressPump::finish`].
    pub(crate) async fn transfer(&self, label: &str, total: u64) -> ProgressPump {
        let meter = TransferMeter::default();
        let bar = self.console.progress(&self.redact(label), total).await;
        ProgressPump::start(bar, meter)
    }
}

/// Counts bytes moved by a transfer; shared with the transfer's synchronous progress callback.
#[derive(Clone, Default)]
pub(crate) struct TransferMeter(Arc<AtomicU64>);

impl TransferMeter {
    /// Records that `done` bytes have moved in total (a retry may start over from 0).
    pub(crate) fn set(&self, done: u64) {
        self.0.store(done, Ordering::Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// How often a progress bar is advanced: often enough to look alive, rarely enough that a fast
/// transfer does not turn into a flood of RPC calls.
const BAR_INTERVAL: Duration = Duration::from_millis(250);

/// Feeds a Packer progress bar from a [`TransferMeter`] in the background.
pub(crate) struct ProgressPump {
    meter: TransferMeter,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl ProgressPump {
    fn start(bar: Option<Box<dyn ProgressBar>>, meter: TransferMeter) -> Self {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let reader = meter.clone();
        let task = tokio::spawn(async move {
            let Some(bar) = bar else {
                return;
            };
            let mut shown: u64 = 0;
            loop {
                let stopping = tokio::select! {
                    _ = &mut stopped => true,
                    _ = tokio::time::sleep(BAR_INTERVAL) => false,
                };
                let done = reader.get();
                // The bar only moves forward; a retry restarting at 0 just pauses it.
                if done > shown {
                    bar.add(done - shown).await;
                    shown = done;
                }
                if stopping {
                    break;
                }
            }
            bar.close().await;
        });
        Self { meter, stop, task }
    }

    /// The meter the transfer's progress callback updates.
    pub(crate) fn meter(&self) -> TransferMeter {
        self.meter.clone()
    }

    /// Shows the last count and closes the bar.
    pub(crate) async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Decides when a long wait deserves a line of progress: not before `interval` has passed since
/// the wait began or since the last line, and only when there is something new to say.
#[derive(Debug)]
pub(crate) struct ProgressThrottle {
    interval: Duration,
    last_time: Instant,
    last_text: Option<String>,
}

impl ProgressThrottle {
    /// A throttle whose clock starts at `start`.
    pub(crate) fn new(interval: Duration, start: Instant) -> Self {
        Self {
            interval,
            last_time: start,
            last_text: None,
        }
    }

    /// Offers the current status at `now`; returns it when it should be shown.
    pub(crate) fn offer(&mut self, now: Instant, text: &str) -> Option<String> {
        if now.saturating_duration_since(self.last_time) < self.interval {
            return None;
        }
        if self.last_text.as_deref() == Some(text) {
            return None;
        }
        self.last_time = now;
        self.last_text = Some(text.to_string());
        Some(text.to_string())
    }
}

/// The latest state of a Prism task, as a line a person can read.
pub(crate) fn describe_task(p: &prism::models::TaskProgress) -> String {
    let mut line = format!("{}: {}", p.purpose, p.status);
    if let Some(pct) = p.percentage_complete {
        line.push_str(&format!(" {pct}%"));
    }
    if let Some(msg) = p.progress_message.as_deref().filter(|m| !m.is_empty()) {
        line.push_str(&format!(" ({msg})"));
    }
    line
}

/// How often a long task wait prints its progress.
pub(crate) const TASK_PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// Latest task progress, written by Prism's synchronous callback and read by the printer.
#[derive(Clone, Default)]
pub(crate) struct TaskWatch(Arc<Mutex<Option<String>>>);

impl TaskWatch {
    /// The callback to give Prism's `Wait`.
    pub(crate) fn callback(&self) -> impl Fn(&prism::models::TaskProgress) + Send + Sync + 'static {
        let slot = self.0.clone();
        move |p| {
            let line = describe_task(p);
            match slot.lock() {
                Ok(mut s) => *s = Some(line),
                Err(poisoned) => *poisoned.into_inner() = Some(line),
            }
        }
    }

    fn latest(&self) -> Option<String> {
        match self.0.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl Reporter {
    /// Runs `work` while printing the task progress `watch` collects, at most every
    /// [`TASK_PROGRESS_INTERVAL`], so a long wait shows it is alive and a short one stays quiet.
    pub(crate) async fn with_task_progress<T>(
        &self,
        watch: &TaskWatch,
        work: impl std::future::Future<Output = T>,
    ) -> T {
        let mut throttle = ProgressThrottle::new(TASK_PROGRESS_INTERVAL, Instant::now());
        tokio::pin!(work);
        loop {
            tokio::select! {
                out = &mut work => return out,
                _ = tokio::time::sleep(TASK_PROGRESS_INTERVAL) => {
                    if let Some(line) = watch.latest() {
                        if let Some(line) = throttle.offer(Instant::now(), &line) {
                            self.message(line).await;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A console that records what the build printed, for tests.

    use super::*;

    /// Everything printed, in order, with its kind.
    #[derive(Default, Clone)]
    pub(crate) struct RecordingConsole {
        /// `(kind, text)` with kind `say`, `message`, `error` or `ask`.
        pub(crate) lines: Arc<Mutex<Vec<(&'static str, String)>>>,
        /// The answer to every question.
        pub(crate) answer: Option<String>,
    }

    impl RecordingConsole {
        fn push(&self, kind: &'static str, text: &str) {
            self.lines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((kind, text.to_string()));
        }

        /// Every line, joined.
        pub(crate) fn text(&self) -> String {
            self.lines
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(k, t)| format!("{k}: {t}"))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }

    #[async_trait]
    impl Console for RecordingConsole {
        async fn say(&self, text: &str) {
            self.push("say", text);
        }
        async fn message(&self, text: &str) {
            self.push("message", text);
        }
        async fn error(&self, text: &str) {
            self.push("error", text);
        }
        async fn ask(&self, question: &str) -> Result<String, String> {
            self.push("ask", question);
            self.answer.clone().ok_or_else(|| "no terminal".to_string())
        }
        async fn progress(&self, label: &str, _total: u64) -> Option<Box<dyn ProgressBar>> {
            self.push("progress", label);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_waits_for_the_interval_and_for_news() {
        let t0 = Instant::now();
        let mut t = ProgressThrottle::new(Duration::from_secs(5), t0);
        assert_eq!(t.offer(t0 + Duration::from_secs(1), "a 10%"), None);
        assert_eq!(
            t.offer(t0 + Duration::from_secs(5), "a 10%").as_deref(),
            Some("a 10%")
        );
        // Same text later: nothing new to say.
        assert_eq!(t.offer(t0 + Duration::from_secs(11), "a 10%"), None);
        // New text, but too soon after the last line.
        assert_eq!(t.offer(t0 + Duration::from_secs(7), "a 20%"), None);
        assert_eq!(
            t.offer(t0 + Duration::from_secs(12), "a 20%").as_deref(),
            Some("a 20%")
        );
    }

    #[tokio::test]
    async fn every_line_is_redacted() {
        let console = testing::RecordingConsole::default();
        let r = Reporter::new(Arc::new(console.clone()), vec!["hunter2".into()]);
        r.say("password hunter2 used").await;
        r.error("again: hunter2").await;
        let text = console.text();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("password <sensitive> used"), "{text}");
    }

    #[test]
    fn task_lines_name_purpose_status_and_message() {
        let p = prism::models::TaskProgress {
            task_uuid: "t".into(),
            purpose: "create VM 'x'".into(),
            status: prism::models::TaskStatus::Running,
            percentage_complete: Some(40),
            progress_message: Some("cloning disks".into()),
        };
        assert_eq!(
            describe_task(&p),
            "create VM 'x': RUNNING 40% (cloning disks)"
        );
    }
}
