//! The cleanup ledger: the one list of everything the build created, and the rules that decide,
//! at the end, what is deleted and what is kept.
//!
//! An entry is written BEFORE its create request is sent (the build picks the UUID and sends it
//! in `metadata.uuid`), so no interleaving of cancel, timeout or lost connection can leave an
//! entity the ledger does not know. Cleanup walks the entries newest first, on success, failure
//! and cancel alike, deletes what the rules say, awaits each deletion, and reports what it kept
//! and what it could not remove, with UUIDs.
//!
//! The rules ([`decide`]) are a pure function of the entry, the outcome and the user's options,
//! so they are tested as a table; the walk itself talks to Prism through [`Remover`].

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use packer_rpc::CancellationToken;
use serde::{Deserialize, Serialize};

use crate::journal::Journal;

use crate::ui::Reporter;

/// What kind of thing an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    /// The build VM.
    Vm,
    /// An image the build uploaded or had Prism download for a disk.
    SourceImage,
    /// The image holding the cd_files/cd_content ISO.
    CdImage,
    /// An image made from a VM disk: the build's output.
    OutputImage,
    /// An exported file in output_directory.
    LocalFile,
    /// A Prism Central VM template made from the VM (`template { create = true }`).
    Template,
    /// An OVA of the VM stored on Prism Central (`ova { create = true }`).
    Ova,
}

/// How far the creation got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    /// The create request is about to be (or was) sent; Prism has not confirmed it.
    Requested,
    /// Prism accepted the create; its task may still be running.
    Accepted,
    /// The entity is complete and usable (task done, upload or download finished).
    Ready,
}

/// One thing the build created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Kind.
    pub(crate) kind: Kind,
    /// UUID (Prism entities) or path (local files).
    pub(crate) id: String,
    /// Name, for messages.
    pub(crate) name: String,
    /// How far the creation got.
    pub(crate) stage: Stage,
    /// Source images: `source_image_delete`; output images: `image_delete`.
    pub(crate) delete_after: bool,
    /// CD image: still attached to the VM as a CD-ROM.
    pub(crate) attached: bool,
    /// Set while Prism, not the build, picks the UUID (templates, OVAs): how cleanup finds it.
    pub(crate) pending: Option<Pending>,
}

/// How cleanup finds an output whose UUID Prism assigns, if the build stops before the build
/// learnt it: wait for the creating task, then look the output up by name and source VM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Pending {
    /// The creating task, once Prism accepted the request.
    pub(crate) task_uuid: Option<String>,
    /// The build VM the output is made from.
    pub(crate) vm_uuid: String,
    /// Ids of same-named outputs that existed before the request (never ours to delete).
    pub(crate) known_before: Vec<String>,
}

impl Entry {
    /// A new entry in stage [`Stage::Requested`].
    pub(crate) fn requested(kind: Kind, id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind,
            id: id.into(),
            name: name.into(),
            stage: Stage::Requested,
            delete_after: false,
            attached: false,
            pending: None,
        }
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = kind_word(self.kind);
        if self.kind == Kind::LocalFile {
            return write!(f, "{what} {}", self.id);
        }
        if self.pending.is_some() {
            return write!(f, "{what} '{}' (being created)", self.name);
        }
        write!(f, "{what} '{}' ({})", self.name, self.id)
    }
}

/// How the build ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Every step succeeded.
    Succeeded,
    /// A step failed.
    Failed,
    /// Packer cancelled the build.
    Cancelled,
}

/// The user's options that decide what survives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Policy {
    /// `vm_retain`: keep the VM after a successful build.
    pub(crate) vm_retain: bool,
    /// `vm_force_delete`: delete the VM even when the build did not succeed.
    pub(crate) vm_force_delete: bool,
    /// `-on-error=abort` (or `ask` answered "abort", or `run-cleanup-provisioner`): after a
    /// failure or cancel, keep everything for inspection, as Packer's own runner does.
    pub(crate) keep_on_error: bool,
}

/// Why something is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeepReason {
    /// `vm_retain = true` on a successful build.
    VmRetain,
    /// `-on-error` asked for no cleanup.
    OnError,
    /// The CD image is still a CD-ROM of the VM being kept.
    AttachedToKeptVm,
    /// A finished source image without `source_image_delete`: reusable by the next build.
    Reusable,
    /// A build output (image without `image_delete`, exported file).
    Output,
}

impl fmt::Display for KeepReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeepReason::VmRetain => "vm_retain = true",
            KeepReason::OnError => "-on-error asked to keep everything for inspection",
            KeepReason::AttachedToKeptVm => "still a CD-ROM of the kept VM",
            KeepReason::Reusable => {
                "kept for reuse by later builds (source_image_delete = true deletes it)"
            }
            KeepReason::Output => "build output",
        })
    }
}

/// What cleanup does with one entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Disposition {
    /// Delete it and wait for the deletion.
    Delete,
    /// Leave it.
    Keep(KeepReason),
}

/// The rules. `vm_kept` says whether the VM itself is being kept (it decides the CD image).
pub(crate) fn decide(e: &Entry, outcome: Outcome, p: Policy, vm_kept: bool) -> Disposition {
    use Disposition::{Delete, Keep};
    let succeeded = outcome == Outcome::Succeeded;
    if e.kind == Kind::Vm {
        return match (succeeded, p.vm_retain, p.vm_force_delete, p.keep_on_error) {
            (true, true, _, _) => Keep(KeepReason::VmRetain),
            (true, false, _, _) => Delete,
            (false, _, true, _) => Delete,
            (false, _, false, true) => Keep(KeepReason::OnError),
            (false, _, false, false) => Delete,
        };
    }
    if !succeeded && p.keep_on_error {
        return Keep(KeepReason::OnError);
    }
    match e.kind {
        Kind::Vm => Delete, // handled above
        Kind::SourceImage => {
            // A half-made image (upload dropped, download failed) is garbage whatever the options.
            if e.stage != Stage::Ready || e.delete_after {
                Delete
            } else {
                Keep(KeepReason::Reusable)
            }
        }
        Kind::CdImage => {
            if vm_kept && e.attached {
                Keep(KeepReason::AttachedToKeptVm)
            } else {
                Delete
            }
        }
        // A failed build leaves no half-made images.
        Kind::OutputImage if !succeeded || e.delete_after => Delete,
        Kind::OutputImage => Keep(KeepReason::Output),
        Kind::Template | Kind::Ova if !succeeded => Delete,
        Kind::Template | Kind::Ova => Keep(KeepReason::Output),
        Kind::LocalFile if !succeeded => Delete,
        Kind::LocalFile => Keep(KeepReason::Output),
    }
}

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

/// The ledger itself. Shared by steps running concurrently, hence the lock (held only to copy
/// and to write the journal, so the file never runs behind a create request).
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    entries: Mutex<Vec<Entry>>,
    journal: Option<Journal>,
}

impl Ledger {
    /// A ledger that also keeps its entries in `journal`.
    pub(crate) fn journaled(journal: Journal) -> Self {
        Self {
            entries: Mutex::default(),
            journal: Some(journal),
        }
    }

    /// Changes the entries, then writes the journal.
    fn with<R>(&self, f: impl FnOnce(&mut Vec<Entry>) -> R) -> R {
        let mut guard = match self.entries.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let r = f(&mut guard);
        if let Some(j) = &self.journal {
            j.write(&guard, false);
        }
        r
    }

    /// The build is over: the journal keeps only what cleanup left behind (`report`), or goes.
    pub(crate) fn close(&self, report: &CleanupReport) {
        if let Some(j) = &self.journal {
            j.write(&report.leftovers(), true);
        }
    }

    /// Records an entry (normally in stage Requested, before the create is sent).
    pub(crate) fn record(&self, entry: Entry) {
        tracing::debug!(entry = %entry, "ledger: recorded");
        self.with(|v| v.push(entry));
    }

    /// Moves an entry to a later stage.
    pub(crate) fn advance(&self, id: &str, stage: Stage) {
        self.with(|v| {
            if let Some(e) = v.iter_mut().find(|e| e.id == id) {
                e.stage = stage;
            }
        });
    }

    /// Forgets an entry Prism provably never created (it rejected the request).
    pub(crate) fn forget(&self, id: &str) {
        self.with(|v| v.retain(|e| e.id != id));
    }

    /// Records an output whose UUID Prism will pick, before its create request is sent;
    /// returns the placeholder id it is known by until [`Ledger::identify`].
    pub(crate) fn record_pending(
        &self,
        kind: Kind,
        name: &str,
        vm_uuid: &str,
        known_before: Vec<String>,
    ) -> String {
        let id = format!("pending-{}", uuid::Uuid::new_v4());
        let mut entry = Entry::requested(kind, &id, name);
        entry.pending = Some(Pending {
            task_uuid: None,
            vm_uuid: vm_uuid.to_string(),
            known_before,
        });
        self.record(entry);
        id
    }

    /// Notes the task creating a pending entry.
    pub(crate) fn set_task(&self, id: &str, task_uuid: &str) {
        self.with(|v| {
            if let Some(p) = v
                .iter_mut()
                .find(|e| e.id == id)
                .and_then(|e| e.pending.as_mut())
            {
                p.task_uuid = Some(task_uuid.to_string());
            }
        });
    }

    /// A pending entry's output was found: from now on it is known by Prism's UUID.
    pub(crate) fn identify(&self, id: &str, uuid: &str) {
        self.with(|v| {
            if let Some(e) = v.iter_mut().find(|e| e.id == id) {
                e.id = uuid.to_string();
                e.pending = None;
                e.stage = Stage::Ready;
            }
        });
    }

    /// The CD image is no longer a CD-ROM of the VM.
    pub(crate) fn detach(&self, id: &str) {
        self.with(|v| {
            if let Some(e) = v.iter_mut().find(|e| e.id == id) {
                e.attached = false;
            }
        });
    }

    /// A copy of the entries, oldest first.
    pub(crate) fn entries(&self) -> Vec<Entry> {
        match self.entries.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

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

/// The real remover: Prism deletions awaited with a deadline, and local files.
pub(crate) struct PrismRemover {
    /// The build's client.
    pub(crate) client: prism::PrismClient,
    /// Longest wait for one deletion task.
    pub(crate) timeout: Duration,
}

#[async_trait]
impl Remover for PrismRemover {
    async fn remove(&self, entry: &Entry) -> Result<(), String> {
        // A fresh token: cleanup runs after a cancel too, and must not be cancelled by it.
        let wait = prism::Wait::new(self.timeout);
        if let Some(pending) = &entry.pending {
            return self.remove_pending(entry, pending, &wait).await;
        }
        let result = match entry.kind {
            Kind::Vm => self.client.delete_vm(&entry.id, &wait).await,
            Kind::SourceImage | Kind::CdImage | Kind::OutputImage => {
                self.client.delete_image(&entry.id, &wait).await
            }
            Kind::Template => self.client.delete_template(&entry.id, &wait).await,
            Kind::Ova => self.client.delete_ova(&entry.id, &wait).await,
            Kind::LocalFile => {
                return match tokio::fs::remove_file(&entry.id).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        result.map_err(|e| e.to_string())
    }
}

impl PrismRemover {
    /// An output whose UUID the build never learnt: let its task end (so nothing appears after
    /// cleanup), then delete whatever it made, found by name and, for OVAs, by source VM.
    async fn remove_pending(
        &self,
        entry: &Entry,
        pending: &Pending,
        wait: &prism::Wait,
    ) -> Result<(), String> {
        if let Some(task) = &pending.task_uuid {
            let purpose = format!("creating {} '{}'", kind_word(entry.kind), entry.name);
            match self.client.wait_task_with(task, &purpose, wait).await {
                Ok(_) | Err(prism::PrismError::TaskFailed { .. }) => {}
                Err(e) => return Err(format!("its creation task {task} did not end: {e}")),
            }
        }
        let made: Vec<String> = match entry.kind {
            Kind::Template => self
                .client
                .templates_named(&entry.name)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|t| t.ext_id)
                .filter(|id| !pending.known_before.contains(id))
                .collect(),
            Kind::Ova => self
                .client
                .ovas_named(&entry.name)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|o| o.parent_vm_uuid.as_deref() == Some(pending.vm_uuid.as_str()))
                .map(|o| o.uuid)
                .filter(|id| !pending.known_before.contains(id))
                .collect(),
            _ => Vec::new(),
        };
        for id in made {
            let result = match entry.kind {
                Kind::Template => self.client.delete_template(&id, wait).await,
                _ => self.client.delete_ova(&id, wait).await,
            };
            result.map_err(|e| format!("{id}: {e}"))?;
        }
        Ok(())
    }
}

/// How messages name an entry kind.
fn kind_word(kind: Kind) -> &'static str {
    match kind {
        Kind::Vm => "VM",
        Kind::SourceImage => "source image",
        Kind::CdImage => "CD image",
        Kind::OutputImage => "image",
        Kind::LocalFile => "file",
        Kind::Template => "VM template",
        Kind::Ova => "OVA",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use Disposition::{Delete, Keep};
    use Outcome::{Cancelled, Failed, Succeeded};

    fn entry(kind: Kind, stage: Stage, delete_after: bool, attached: bool) -> Entry {
        Entry {
            kind,
            id: format!("{kind:?}"),
            name: "x".into(),
            stage,
            delete_after,
            attached,
            pending: None,
        }
    }

    fn vm() -> Entry {
        entry(Kind::Vm, Stage::Ready, false, false)
    }

    const CLEANUP: Policy = Policy {
        vm_retain: false,
        vm_force_delete: false,
        keep_on_error: false,
    };

    #[test]
    fn vm_policy_table() {
        // (outcome, vm_retain, vm_force_delete, keep_on_error) -> disposition
        let table = [
            (Succeeded, false, false, false, Delete),
            (Succeeded, true, false, false, Keep(KeepReason::VmRetain)),
            (Succeeded, true, true, false, Keep(KeepReason::VmRetain)),
            (Succeeded, false, false, true, Delete),
            (Failed, false, false, false, Delete),
            (Failed, true, false, false, Delete),
            (Failed, false, false, true, Keep(KeepReason::OnError)),
            (Failed, true, false, true, Keep(KeepReason::OnError)),
            (Failed, false, true, true, Delete),
            (Failed, true, true, false, Delete),
            (Cancelled, false, false, false, Delete),
            (Cancelled, false, false, true, Keep(KeepReason::OnError)),
            (Cancelled, false, true, true, Delete),
        ];
        for (outcome, vm_retain, vm_force_delete, keep_on_error, want) in table {
            let p = Policy {
                vm_retain,
                vm_force_delete,
                keep_on_error,
            };
            assert_eq!(
                decide(&vm(), outcome, p, false),
                want,
                "{outcome:?} retain={vm_retain} force={vm_force_delete} keep_on_error={keep_on_error}"
            );
        }
    }

    #[test]
    fn source_images_are_kept_only_when_complete_and_not_marked() {
        let ready = entry(Kind::SourceImage, Stage::Ready, false, false);
        let marked = entry(Kind::SourceImage, Stage::Ready, true, false);
        let half = entry(Kind::SourceImage, Stage::Accepted, false, false);
        for outcome in [Succeeded, Failed, Cancelled] {
            assert_eq!(
                decide(&ready, outcome, CLEANUP, false),
                Keep(KeepReason::Reusable)
            );
            assert_eq!(decide(&marked, outcome, CLEANUP, false), Delete);
            assert_eq!(decide(&half, outcome, CLEANUP, false), Delete);
        }
        let abort = Policy {
            keep_on_error: true,
            ..CLEANUP
        };
        assert_eq!(
            decide(&half, Failed, abort, true),
            Keep(KeepReason::OnError)
        );
        // keep_on_error never applies to a successful build.
        assert_eq!(decide(&half, Succeeded, abort, false), Delete);
    }

    #[test]
    fn cd_image_follows_the_vm_only_while_attached() {
        let attached = entry(Kind::CdImage, Stage::Ready, false, true);
        let detached = entry(Kind::CdImage, Stage::Ready, false, false);
        assert_eq!(decide(&attached, Succeeded, CLEANUP, false), Delete);
        assert_eq!(
            decide(&attached, Succeeded, CLEANUP, true),
            Keep(KeepReason::AttachedToKeptVm)
        );
        assert_eq!(decide(&detached, Succeeded, CLEANUP, true), Delete);
    }

    #[test]
    fn outputs_survive_only_a_successful_build() {
        let image = entry(Kind::OutputImage, Stage::Ready, false, false);
        let deleted_after_export = entry(Kind::OutputImage, Stage::Ready, true, false);
        let file = entry(Kind::LocalFile, Stage::Ready, false, false);
        assert_eq!(
            decide(&image, Succeeded, CLEANUP, false),
            Keep(KeepReason::Output)
        );
        assert_eq!(
            decide(&deleted_after_export, Succeeded, CLEANUP, false),
            Delete
        );
        assert_eq!(
            decide(&file, Succeeded, CLEANUP, false),
            Keep(KeepReason::Output)
        );
        for outcome in [Failed, Cancelled] {
            assert_eq!(decide(&image, outcome, CLEANUP, false), Delete);
            assert_eq!(decide(&file, outcome, CLEANUP, false), Delete);
        }
    }

    #[test]
    fn templates_and_ovas_are_outputs_like_images() {
        let abort = Policy {
            keep_on_error: true,
            ..CLEANUP
        };
        for kind in [Kind::Template, Kind::Ova] {
            let e = entry(kind, Stage::Ready, false, false);
            assert_eq!(
                decide(&e, Succeeded, CLEANUP, false),
                Keep(KeepReason::Output)
            );
            for outcome in [Failed, Cancelled] {
                assert_eq!(decide(&e, outcome, CLEANUP, false), Delete, "{kind:?}");
                assert_eq!(decide(&e, outcome, abort, false), Keep(KeepReason::OnError));
            }
        }
    }

    #[test]
    fn a_pending_output_is_renamed_once_prism_names_it() {
        let ledger = Ledger::default();
        let mut e = Entry::requested(Kind::Template, "pending-1", "golden");
        e.pending = Some(Pending {
            vm_uuid: "vm".into(),
            ..Pending::default()
        });
        ledger.record(e);
        assert_eq!(
            ledger.entries()[0].to_string(),
            "VM template 'golden' (being created)"
        );
        ledger.set_task("pending-1", "task-1");
        assert_eq!(
            ledger.entries()[0]
                .pending
                .as_ref()
                .and_then(|p| p.task_uuid.as_deref()),
            Some("task-1")
        );
        ledger.identify("pending-1", "ext-9");
        let e = &ledger.entries()[0];
        assert_eq!(
            (e.id.as_str(), e.stage, e.pending.is_none()),
            ("ext-9", Stage::Ready, true)
        );
        assert_eq!(e.to_string(), "VM template 'golden' (ext-9)");
    }

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

    #[test]
    fn forget_advance_and_detach_update_entries() {
        let ledger = Ledger::default();
        let mut cd = named(Kind::CdImage, "cd", Stage::Requested);
        cd.attached = true;
        ledger.record(cd);
        ledger.record(named(Kind::Vm, "vm", Stage::Requested));
        ledger.advance("cd", Stage::Ready);
        ledger.detach("cd");
        ledger.forget("vm");
        let entries = ledger.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].stage, Stage::Ready);
        assert!(!entries[0].attached);
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
