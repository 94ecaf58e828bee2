//! The ledger on disk. A plugin killed mid-build (OOM killer, `kill -9`, a CI runner torn down)
//! cannot clean up, and Packer then says only "unexpected EOF". So the ledger is also written to
//! a small JSON file, before every create request and after every change; a build that ends
//! normally removes it (or leaves only what it could not delete). The next build on the machine
//! reads the files of runs whose process is gone, names what they left, and removes their
//! partial downloads (`.part` files), which are never anyone's output.
//!
//! Files live in `$PACKER_PLUGIN_NUTANIX_STATE_DIR`, else `$XDG_STATE_HOME/packer-plugin-nutanix/runs`,
//! else `~/.local/state/packer-plugin-nutanix/runs`. See docs/design/cleanup.md.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ledger::{Entry, Kind, Stage};

/// Format version of the file.
const VERSION: u32 = 1;

/// Where journals are kept, unless a test says otherwise.
pub(crate) fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PACKER_PLUGIN_NUTANIX_STATE_DIR") {
        return Some(PathBuf::from(d));
    }
    let base = match std::env::var_os("XDG_STATE_HOME") {
        Some(x) if !x.is_empty() => PathBuf::from(x),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".local/state"),
    };
    Some(base.join("packer-plugin-nutanix/runs"))
}

/// Which build a journal belongs to, and where its resources live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RunInfo {
    /// Our own id for the run (the file name).
    pub(crate) id: String,
    /// `PACKER_RUN_UUID`, when Packer set it.
    pub(crate) packer_run_uuid: String,
    /// The build's name in the template (`source "nutanix" "<name>"`).
    pub(crate) build_name: String,
    /// The plugin process.
    pub(crate) pid: u32,
    /// That process's start time (Linux clock ticks since boot), so a reused pid is not
    /// mistaken for the run.
    pub(crate) pid_start: Option<u64>,
    /// When the build started (RFC 3339).
    pub(crate) started_at: String,
    /// Prism Central's address, `host:port`.
    pub(crate) prism: String,
}

/// The file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// Format version.
    pub(crate) version: u32,
    /// The run.
    pub(crate) run: RunInfo,
    /// False while the build runs; true once it ended and these are what it could not remove.
    pub(crate) finished: bool,
    /// The ledger, oldest first.
    pub(crate) entries: Vec<Entry>,
}

/// This run's journal file.
#[derive(Debug)]
pub(crate) struct Journal {
    path: PathBuf,
    run: RunInfo,
}

impl Journal {
    /// A journal for this process's build in `dir` (created on first write).
    pub(crate) fn new(dir: &Path, packer_run_uuid: &str, build_name: &str, prism: String) -> Self {
        let id = uuid::Uuid::new_v4().to_string();
        let pid = std::process::id();
        let run = RunInfo {
            id: id.clone(),
            packer_run_uuid: packer_run_uuid.to_string(),
            build_name: build_name.to_string(),
            pid,
            pid_start: process_start(pid),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            prism,
        };
        Self {
            path: dir.join(format!("{id}.json")),
            run,
        }
    }

    /// Writes the ledger (atomically: a temporary file renamed over the old one). Removes the
    /// file instead when a finished run left nothing.
    pub(crate) fn write(&self, entries: &[Entry], finished: bool) {
        if finished && entries.is_empty() {
            self.remove();
            return;
        }
        let record = Record {
            version: VERSION,
            run: self.run.clone(),
            finished,
            entries: entries.iter().map(absolute).collect(),
        };
        if let Err(e) = write_atomically(&self.path, &record) {
            tracing::warn!(path = %self.path.display(), error = %e,
                "cannot write the build journal; a killed build could not be traced");
        }
    }

    /// Removes the file.
    pub(crate) fn remove(&self) {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove the build journal")
            }
        }
    }
}

fn write_atomically(path: &Path, record: &Record) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    let bytes = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Local file entries hold the path as the template gave it; the journal needs it absolute, for
/// a later run started elsewhere.
fn absolute(e: &Entry) -> Entry {
    let mut e = e.clone();
    if e.kind == Kind::LocalFile && Path::new(&e.id).is_relative() {
        if let Ok(cwd) = std::env::current_dir() {
            e.id = cwd.join(&e.id).display().to_string();
        }
    }
    e
}

/// What an earlier run left, read from its journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leftover {
    /// The journal file.
    pub(crate) path: PathBuf,
    /// Its content.
    pub(crate) record: Record,
    /// Partial downloads of that run, removed now.
    pub(crate) removed_parts: Vec<PathBuf>,
}

/// Reads the journals in `dir` of runs whose process is gone, removes their `.part` files
/// (dropping the file entries that never completed), and returns what is left to name.
/// Unreadable files are skipped with a log line: this is advice, never a reason to fail a build.
pub(crate) fn leftovers(dir: &Path) -> Vec<Leftover> {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for item in listing.flatten() {
        let path = item.path();
        if path.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        let record: Record = match std::fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
        {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "skipping an unreadable build journal");
                continue;
            }
        };
        if !record.finished && is_running(record.run.pid, record.run.pid_start) {
            continue;
        }
        found.push(sweep_parts(path, record));
    }
    found.sort_by(|a, b| a.record.run.started_at.cmp(&b.record.run.started_at));
    found
}

/// Removes the `.part` file of every download that never completed, and rewrites (or removes)
/// the journal without those entries.
fn sweep_parts(path: PathBuf, mut record: Record) -> Leftover {
    let mut removed_parts = Vec::new();
    let mut kept = Vec::new();
    for e in record.entries.drain(..) {
        if e.kind != Kind::LocalFile || e.stage == Stage::Ready {
            kept.push(e);
            continue;
        }
        let mut part = PathBuf::from(&e.id).into_os_string();
        part.push(".part");
        let part = PathBuf::from(part);
        match std::fs::remove_file(&part) {
            Ok(()) => removed_parts.push(part),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                tracing::warn!(path = %part.display(), error = %err, "cannot remove a partial download");
                kept.push(e);
            }
        }
    }
    record.entries = kept;
    if record.entries.is_empty() {
        let _ = std::fs::remove_file(&path);
    } else if !removed_parts.is_empty() {
        let _ = write_atomically(&path, &record);
    }
    Leftover {
        path,
        record,
        removed_parts,
    }
}

/// Whether process `pid` still runs and is the one that started the run.
fn is_running(pid: u32, start: Option<u64>) -> bool {
    #[cfg(target_os = "linux")]
    {
        match (process_start(pid), start) {
            (None, _) => false,
            (Some(now), Some(then)) => now == then,
            (Some(_), None) => true,
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        // No /proc: `kill -0` only asks whether the process exists.
        let _ = start;
        std::process::Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, start);
        false
    }
}

/// A live process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); none
/// for a process that does not exist or has exited (a zombie waiting for its parent, which a
/// killed plugin can be for a while).
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    let rest = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = rest.split_whitespace();
    if matches!(fields.next(), Some("Z" | "X" | "x")) {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_entry(path: &Path, stage: Stage) -> Entry {
        let mut e = Entry::requested(Kind::LocalFile, path.display().to_string(), "image 'x'");
        e.stage = stage;
        e
    }

    #[test]
    fn a_zombie_is_not_running() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        // Not reaped yet: a zombie once it has exited.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
        {
            assert!(std::time::Instant::now() < deadline, "true never exited");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!is_running(pid, None));
        child.wait().unwrap();
    }

    #[test]
    fn our_own_process_is_running_and_a_reused_pid_is_not() {
        let pid = std::process::id();
        let start = process_start(pid);
        assert!(start.is_some());
        assert!(is_running(pid, start));
        assert!(!is_running(pid, start.map(|s| s + 1)));
        assert!(!is_running(u32::MAX - 1, None));
    }

    #[test]
    fn a_dead_runs_parts_are_removed_and_the_rest_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir_all(&out).unwrap();
        let partial = out.join("a.img");
        std::fs::write(out.join("a.img.part"), b"half").unwrap();
        let done = out.join("b.img");
        std::fs::write(&done, b"whole").unwrap();
        let runs = dir.path().join("runs");
        let journal = Journal::new(&runs, "pr-1", "centos", "pc:9440".into());
        let vm = Entry::requested(Kind::Vm, "vm-uuid", "Packer-X");
        journal.write(
            &[
                vm.clone(),
                file_entry(&partial, Stage::Accepted),
                file_entry(&done, Stage::Ready),
            ],
            false,
        );
        // Rewrite it as a run of a process that no longer exists.
        let path = runs.join(format!("{}.json", journal.run.id));
        let mut record: Record = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        record.run.pid = u32::MAX - 1;
        std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();

        let found = leftovers(&runs);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].removed_parts, vec![out.join("a.img.part")]);
        assert!(!out.join("a.img.part").exists());
        assert!(done.exists(), "a completed file is named, never removed");
        let ids: Vec<&str> = found[0]
            .record
            .entries
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        assert_eq!(ids, ["vm-uuid", done.to_str().unwrap()]);
        // The journal now holds only what is still left.
        let again = leftovers(&runs);
        assert_eq!(again[0].record.entries.len(), 2);
        assert!(again[0].removed_parts.is_empty());
    }

    #[test]
    fn a_live_runs_journal_is_not_a_leftover_and_a_clean_end_removes_it() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path(), "", "b", "pc:9440".into());
        journal.write(&[Entry::requested(Kind::Vm, "v", "vm")], false);
        assert!(leftovers(dir.path()).is_empty());
        journal.write(&[], true);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_finished_run_that_left_something_is_named_even_while_its_pid_lives() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::new(dir.path(), "", "b", "pc:9440".into());
        journal.write(&[Entry::requested(Kind::Vm, "v", "vm")], true);
        assert_eq!(leftovers(dir.path()).len(), 1);
    }

    #[test]
    fn garbage_files_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.json"), b"{not json").unwrap();
        assert!(leftovers(dir.path()).is_empty());
    }
}
