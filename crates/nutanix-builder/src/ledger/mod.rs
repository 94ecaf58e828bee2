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

mod cleanup;
mod prism_remover;
mod rules;

use std::fmt;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::journal::Journal;

pub(crate) use cleanup::{CleanupReport, Remover};
pub(crate) use prism_remover::PrismRemover;
pub(crate) use rules::{Outcome, Policy};

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

    fn named(kind: Kind, id: &str, stage: Stage) -> Entry {
        let mut e = Entry::requested(kind, id, id);
        e.stage = stage;
        e
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
}
