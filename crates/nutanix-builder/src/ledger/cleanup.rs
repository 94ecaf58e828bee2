//! The walk: entries newest first, each deletion awaited (a Prism task, or a local file), the
//! whole bounded by a deadline and a second Ctrl-C, and what was kept, deleted, or left named.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use packer_rpc::CancellationToken;

use super::rules::{decide, Disposition, KeepReason, Outcome, Policy};
use super::{Entry, Kind, Ledger, Stage};
use crate::ui::Reporter;

/// Deletes one entry for real (and waits for Prism to finish deleting it).
#[async_trait]
pub(crate) trait Remover: Send + Sync {
    /// Deletes the entry; an entity that is already gone counts as deleted.
    async fn remove(&self, entry: &Entry) -> Result<(), String>;
}

/// What cleanup did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CleanupReport {
    /// Deleted entries, in deletion order.
    pub(crate) deleted: Vec<Entry>,
    /// Kept entries and why.
    pub(crate) kept: Vec<(Entry, KeepReason)>,
    /// Entries that could not be deleted, and Prism's (or the OS's) reason.
    pub(crate) failed: Vec<(Entry, String)>,
    /// The deletion cleanup was waiting for when it was stopped.
    pub(crate) in_flight: Option<Entry>,
    /// Entries cleanup would have deleted but never started on, because it was stopped.
    pub(crate) left: Vec<Entry>,
}

impl CleanupReport {
    /// What is still on Prism or disk and should not be: failed, interrupted and never-started
    /// deletions, oldest first.
    pub(crate) fn leftovers(&self) -> Vec<Entry> {
        let mut v: Vec<Entry> = self.failed.iter().map(|(e, _)| e.clone()).collect();
        v.extend(self.in_flight.iter().cloned());
        v.extend(self.left.iter().cloned());
        v.reverse();
        v
    }
}

impl Ledger {
    /// Deletes (or keeps) every entry, newest first, and says so through `out`. Entries it
    /// handled are removed from the ledger, so running it twice is harmless.
    ///
    /// Cleanup ends by `deadline` at the latest, or as soon as `stop` fires (a second Ctrl-C):
    /// then the deletion in flight and every deletion not yet started are reported as left in
    /// place, with names and UUIDs, and stay in the ledger.
    pub(crate) async fn cleanup(
        &self,
        outcome: Outcome,
        policy: Policy,
        remover: &dyn Remover,
        out: &Reporter,
        stop: &CancellationToken,
        deadline: Duration,
    ) -> CleanupReport {
        let entries = self.entries();
        let vm_kept = entries.iter().any(|e| {
            e.kind == Kind::Vm && decide(e, outcome, policy, false) != Disposition::Delete
        });
        let ends_at = tokio::time::Instant::now() + deadline;
        let mut report = CleanupReport::default();
        let mut ended: Option<Interruption> = None;
        for entry in entries.iter().rev() {
            let disposition = decide(entry, outcome, policy, vm_kept);
            if ended.is_some() {
                if disposition == Disposition::Delete {
                    report.left.push(entry.clone());
                }
                continue;
            }
            match disposition {
                Disposition::Keep(reason) => {
                    if reason != KeepReason::Output {
                        out.message(format!("Keeping {entry}: {reason}")).await;
                    }
                    report.kept.push((entry.clone(), reason));
                }
                Disposition::Delete => {
                    if entry.pending.is_some() {
                        out.message(format!(
                            "Deleting {entry} once Prism has finished making it..."
                        ))
                        .await;
                    } else if entry.stage == Stage::Requested {
                        out.message(format!("Making sure {entry} does not exist..."))
                            .await;
                    } else {
                        out.message(format!("Deleting {entry}...")).await;
                    }
                    match remove_within(remover, entry, out, stop, ends_at).await {
                        Ok(Ok(())) => report.deleted.push(entry.clone()),
                        Ok(Err(reason)) => {
                            out.error(format!("Could not delete {entry}: {reason}"))
                                .await;
                            report.failed.push((entry.clone(), reason));
                        }
                        Err(why) => {
                            ended = Some(why);
                            report.in_flight = Some(entry.clone());
                            continue;
                        }
                    }
                }
            }
            self.with(|v| v.retain(|e| e.id != entry.id));
        }
        if let Some(why) = ended {
            let mut list: Vec<String> = Vec::new();
            if let Some(e) = &report.in_flight {
                list.push(format!(
                    "{e} (its deletion was requested and may still finish)"
                ));
            }
            list.extend(report.left.iter().map(|e| e.to_string()));
            out.error(format!(
                "Cleanup stopped {why}. Left in place, delete by hand: {}",
                list.join("; ")
            ))
            .await;
        }
        if !report.failed.is_empty() {
            let list: Vec<String> = report.failed.iter().map(|(e, _)| e.to_string()).collect();
            out.error(format!(
                "Cleanup could not remove {} item(s); delete them by hand: {}",
                list.len(),
                list.join(", ")
            ))
            .await;
        }
        report
    }
}

/// Why cleanup ended before its work was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interruption {
    /// A second Ctrl-C.
    Stopped,
    /// The cleanup deadline passed.
    Deadline(Duration),
}

impl fmt::Display for Interruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Interruption::Stopped => f.write_str("by a second interrupt"),
            Interruption::Deadline(d) => {
                write!(f, "after {} (its deadline)", humantime::format_duration(*d))
            }
        }
    }
}

/// How long a deletion may run before the user is told a second Ctrl-C stops waiting.
const STILL_WAITING: Duration = Duration::from_secs(15);

/// One removal, raced against `stop` and the cleanup deadline; says once, after a while, that a
/// second Ctrl-C stops waiting.
async fn remove_within(
    remover: &dyn Remover,
    entry: &Entry,
    out: &Reporter,
    stop: &CancellationToken,
    ends_at: tokio::time::Instant,
) -> Result<Result<(), String>, Interruption> {
    let removal = remover.remove(entry);
    tokio::pin!(removal);
    let started = tokio::time::Instant::now();
    let notice = tokio::time::sleep(STILL_WAITING);
    tokio::pin!(notice);
    let mut noticed = false;
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => return Err(Interruption::Stopped),
            _ = tokio::time::sleep_until(ends_at) => {
                return Err(Interruption::Deadline(ends_at.saturating_duration_since(started)));
            }
            r = &mut removal => return Ok(r),
            _ = &mut notice, if !noticed => {
                noticed = true;
                out.message(format!(
                    "Still waiting for Prism to delete {entry}; press Ctrl-C again to stop waiting and leave it"
                ))
                .await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    use Outcome::{Cancelled, Failed, Succeeded};

    const CLEANUP: Policy = Policy {
        vm_retain: false,
        vm_force_delete: false,
        keep_on_error: false,
    };

    /// Records deletions; fails the ids it is told to.
    #[derive(Default)]
    struct FakeRemover {
        removed: Mutex<Vec<String>>,
        fail: Vec<String>,
        /// Ids whose deletion never ends (a delete queued behind a hung create).
        hang: Vec<String>,
    }

    #[async_trait]
    impl Remover for FakeRemover {
        async fn remove(&self, entry: &Entry) -> Result<(), String> {
            if self.fail.contains(&entry.id) {
                return Err("INVALID_ARGUMENT: in use".into());
            }
            if self.hang.contains(&entry.id) {
                std::future::pending::<()>().await;
            }
            self.removed.lock().unwrap().push(entry.id.clone());
            Ok(())
        }
    }

    fn reporter() -> (Reporter, crate::ui::testing::RecordingConsole) {
        let console = crate::ui::testing::RecordingConsole::default();
        (
            Reporter::new(Arc::new(console.clone()), Vec::new()),
            console,
        )
    }

    const LONG: Duration = Duration::from_secs(600);

    fn never() -> CancellationToken {
        CancellationToken::new()
    }

    fn named(kind: Kind, id: &str, stage: Stage) -> Entry {
        Entry {
            id: id.into(),
            ..Entry::requested(kind, id, id)
        }
        .with_stage(stage)
    }

    impl Entry {
        fn with_stage(mut self, stage: Stage) -> Self {
            self.stage = stage;
            self
        }
    }

    #[tokio::test]
    async fn cleanup_walks_newest_first_and_reports_failures_with_uuids() {
        let ledger = Ledger::default();
        ledger.record(named(Kind::SourceImage, "src", Stage::Accepted));
        let mut cd = named(Kind::CdImage, "cd", Stage::Ready);
        cd.attached = true;
        ledger.record(cd);
        ledger.record(named(Kind::Vm, "vm", Stage::Ready));
        ledger.record(named(Kind::OutputImage, "img", Stage::Accepted));
        let remover = FakeRemover {
            fail: vec!["cd".into()],
            ..FakeRemover::default()
        };
        let (out, console) = reporter();
        let report = ledger
            .cleanup(Failed, CLEANUP, &remover, &out, &never(), LONG)
            .await;
        assert_eq!(*remover.removed.lock().unwrap(), vec!["img", "vm", "src"]);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].0.id, "cd");
        let text = console.text();
        assert!(
            text.contains("Could not delete CD image 'cd' (cd): INVALID_ARGUMENT: in use"),
            "{text}"
        );
        assert!(
            text.contains("delete them by hand: CD image 'cd' (cd)"),
            "{text}"
        );
        // Everything was handled: a second run does nothing.
        assert!(ledger.entries().is_empty());
    }

    #[tokio::test]
    async fn retained_vm_keeps_its_attached_cd_and_says_why() {
        let ledger = Ledger::default();
        let mut cd = named(Kind::CdImage, "cd", Stage::Ready);
        cd.attached = true;
        ledger.record(cd);
        ledger.record(named(Kind::Vm, "vm", Stage::Ready));
        ledger.record(named(Kind::OutputImage, "img", Stage::Ready));
        let remover = FakeRemover::default();
        let (out, console) = reporter();
        let policy = Policy {
            vm_retain: true,
            ..CLEANUP
        };
        let report = ledger
            .cleanup(Succeeded, policy, &remover, &out, &never(), LONG)
            .await;
        assert!(remover.removed.lock().unwrap().is_empty());
        assert_eq!(report.kept.len(), 3);
        let text = console.text();
        assert!(
            text.contains("Keeping VM 'vm' (vm): vm_retain = true"),
            "{text}"
        );
        assert!(
            text.contains("Keeping CD image 'cd' (cd): still a CD-ROM of the kept VM"),
            "{text}"
        );
        // Build outputs are not announced as "kept": they are the artifact.
        assert!(!text.contains("Keeping image"), "{text}");
    }

    #[tokio::test]
    async fn unconfirmed_creates_are_checked_not_assumed() {
        let ledger = Ledger::default();
        ledger.record(named(Kind::Vm, "vm", Stage::Requested));
        let remover = FakeRemover::default();
        let (out, console) = reporter();
        ledger
            .cleanup(Cancelled, CLEANUP, &remover, &out, &never(), LONG)
            .await;
        assert_eq!(*remover.removed.lock().unwrap(), vec!["vm"]);
        assert!(console
            .text()
            .contains("Making sure VM 'vm' (vm) does not exist"));
    }

    /// The defect: a deletion queued behind a hung create waited forever and a second Ctrl-C
    /// did nothing. Now the stop token ends cleanup at once and names what is left.
    #[tokio::test]
    async fn a_second_interrupt_abandons_a_hung_deletion_and_names_what_is_left() {
        let ledger = Ledger::default();
        ledger.record(named(Kind::SourceImage, "src", Stage::Accepted));
        ledger.record(named(Kind::CdImage, "cd", Stage::Ready));
        ledger.record(named(Kind::Vm, "vm", Stage::Accepted));
        let remover = FakeRemover {
            hang: vec!["vm".into()],
            ..FakeRemover::default()
        };
        let (out, console) = reporter();
        let stop = CancellationToken::new();
        let fire = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            fire.cancel();
        });
        let report = tokio::time::timeout(
            Duration::from_secs(30),
            ledger.cleanup(Cancelled, CLEANUP, &remover, &out, &stop, LONG),
        )
        .await
        .expect("cleanup must end when stopped");
        assert!(remover.removed.lock().unwrap().is_empty());
        assert_eq!(report.in_flight.as_ref().map(|e| e.id.as_str()), Some("vm"));
        let left: Vec<&str> = report.left.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(left, ["cd", "src"]);
        let text = console.text();
        assert!(
            text.contains("Cleanup stopped by a second interrupt. Left in place, delete by hand: VM 'vm' (vm) (its deletion was requested and may still finish); CD image 'cd' (cd); source image 'src' (src)"),
            "{text}"
        );
        // What is left stays in the ledger (for the crash-safe journal).
        assert_eq!(ledger.entries().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn cleanup_ends_at_its_deadline_and_says_so() {
        let ledger = Ledger::default();
        ledger.record(named(Kind::OutputImage, "img", Stage::Ready));
        ledger.record(named(Kind::Vm, "vm", Stage::Accepted));
        let remover = FakeRemover {
            hang: vec!["vm".into()],
            ..FakeRemover::default()
        };
        let (out, console) = reporter();
        let report = ledger
            .cleanup(
                Failed,
                CLEANUP,
                &remover,
                &out,
                &never(),
                Duration::from_secs(60),
            )
            .await;
        assert_eq!(report.in_flight.as_ref().map(|e| e.id.as_str()), Some("vm"));
        let text = console.text();
        assert!(
            text.contains("Still waiting for Prism to delete VM 'vm' (vm); press Ctrl-C again"),
            "{text}"
        );
        assert!(
            text.contains("Cleanup stopped after 1m (its deadline)"),
            "{text}"
        );
        assert!(text.contains("image 'img' (img)"), "{text}");
    }
}
