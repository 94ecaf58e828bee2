//! The server's state: the machine, open shells and their commands, the record of every
//! command, counters, and injected faults. `snapshot` renders it as JSON for tests and users.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::{self, vfs, Machine, Proc, ProcessIo, Trace};
use crate::faults::{Fault, FaultKind};

/// A running or finished command in a shell.
pub(crate) struct CommandEntry {
    pub io: Arc<ProcessIo>,
    pub stdin: Option<mpsc::UnboundedSender<Vec<u8>>>,
    pub task: JoinHandle<()>,
    pub record: usize,
}

/// An open shell.
pub(crate) struct Shell {
    pub owner: String,
    pub commands: BTreeMap<String, CommandEntry>,
}

/// What the JSON state shows of one command.
#[derive(Debug, Clone, Serialize)]
pub struct CommandRecord {
    /// CommandId.
    pub id: String,
    /// ShellId.
    pub shell_id: String,
    /// The command line as received.
    pub command: String,
    /// Arguments, if the client sent any separately.
    pub arguments: Vec<String>,
    /// Exit code once finished.
    pub exit_code: Option<i64>,
    /// First 4 KiB of stdout.
    pub stdout: String,
    /// First 4 KiB of stderr.
    pub stderr: String,
    /// Terminated by a Signal before it finished.
    pub terminated: bool,
    /// Start time (RFC 3339).
    pub started_at: String,
    /// What the interpreters saw.
    #[serde(flatten)]
    pub trace: Trace,
}

/// Everything the server keeps.
pub(crate) struct State {
    pub machine: Arc<Mutex<Machine>>,
    pub shells: Mutex<BTreeMap<String, Shell>>,
    pub records: Mutex<Vec<CommandRecord>>,
    pub counters: Mutex<BTreeMap<String, u64>>,
    pub faults: Mutex<Vec<Fault>>,
    pub user: String,
    pub max_shells_per_user: usize,
    /// Completed power-offs, for whoever plays the hypervisor (see `SimHandle::power_offs`).
    pub power_offs: tokio::sync::watch::Sender<u64>,
}

const MAX_RECORDS: usize = 20_000;
const PREVIEW: usize = 4096;

impl State {
    pub(crate) fn new(machine: Machine, user: &str, faults: Vec<Fault>) -> Self {
        Self {
            machine: Arc::new(Mutex::new(machine)),
            shells: Mutex::new(BTreeMap::new()),
            records: Mutex::new(Vec::new()),
            counters: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(faults),
            user: user.to_string(),
            max_shells_per_user: 30,
            power_offs: tokio::sync::watch::Sender::new(0),
        }
    }

    pub(crate) fn count(&self, what: &str) {
        if let Ok(mut c) = self.counters.lock() {
            *c.entry(what.to_string()).or_default() += 1;
        }
    }

    pub(crate) fn hostname(&self) -> String {
        self.machine
            .lock()
            .map(|m| m.hostname.clone())
            .unwrap_or_default()
    }

    /// Takes the first matching fault (decrementing its count).
    pub(crate) fn take_fault(&self, op: &str, command: Option<&str>) -> Option<FaultKind> {
        let mut faults = self.faults.lock().ok()?;
        let idx = faults.iter().position(|f| {
            !matches!(f.kind, FaultKind::GarbageNtlmChallenge)
                && f.on.as_deref().is_none_or(|o| o.eq_ignore_ascii_case(op))
                && f.command_contains
                    .as_deref()
                    .is_none_or(|c| command.is_some_and(|line| line.contains(c)))
        })?;
        let f = faults.get_mut(idx)?;
        let kind = f.kind.clone();
        f.times = f.times.saturating_sub(1);
        if f.times == 0 {
            faults.remove(idx);
        }
        Some(kind)
    }

    /// Takes a garbage-NTLM fault if one is armed.
    pub(crate) fn take_ntlm_fault(&self) -> bool {
        let Ok(mut faults) = self.faults.lock() else {
            return false;
        };
        let Some(idx) = faults
            .iter()
            .position(|f| matches!(f.kind, FaultKind::GarbageNtlmChallenge))
        else {
            return false;
        };
        if let Some(f) = faults.get_mut(idx) {
            f.times = f.times.saturating_sub(1);
            if f.times == 0 {
                faults.remove(idx);
            }
        }
        true
    }

    /// The command line of a command, for fault matching.
    pub(crate) fn command_line(&self, record: usize) -> Option<String> {
        self.records
            .lock()
            .ok()?
            .get(record)
            .map(|r| r.command.clone())
    }

    /// Starts `command` in `shell_id`; returns its id.
    pub(crate) fn start_command(
        self: &Arc<Self>,
        shell_id: &str,
        command: String,
        arguments: Vec<String>,
    ) -> Option<String> {
        let id = uuid::Uuid::new_v4().to_string().to_uppercase();
        let io = Arc::new(ProcessIo::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let record = {
            let mut records = self.records.lock().ok()?;
            if records.len() >= MAX_RECORDS {
                records.remove(0);
            }
            records.push(CommandRecord {
                id: id.clone(),
                shell_id: shell_id.to_string(),
                command: command.clone(),
                arguments: arguments.clone(),
                exit_code: None,
                stdout: String::new(),
                stderr: String::new(),
                terminated: false,
                started_at: chrono::Utc::now().to_rfc3339(),
                trace: Trace::default(),
            });
            records.len() - 1
        };
        let mut shells = self.shells.lock().ok()?;
        let shell = shells.get_mut(shell_id)?;
        let state = Arc::clone(self);
        let task_io = io.clone();
        let user = self.user.clone();
        let line = if arguments.is_empty() {
            command
        } else {
            format!("{command} {}", arguments.join(" "))
        };
        let task = tokio::spawn(async move {
            let mut proc = Proc::new(state.machine.clone(), task_io.clone(), rx, &user);
            let code = engine::run_command_line(&mut proc, &line).await;
            state.finish_record(record, code, proc.trace);
            task_io.finish(code);
        });
        shell.commands.insert(
            id.clone(),
            CommandEntry {
                io,
                stdin: Some(tx),
                task,
                record,
            },
        );
        Some(id)
    }

    fn finish_record(&self, record: usize, code: i64, trace: Trace) {
        if let Ok(mut records) = self.records.lock() {
            if let Some(r) = records.get_mut(record) {
                r.exit_code = Some(code);
                r.trace = trace;
            }
        }
    }

    /// Appends delivered output to the record's previews.
    pub(crate) fn note_output(&self, record: usize, chunks: &[(bool, Vec<u8>)]) {
        if let Ok(mut records) = self.records.lock() {
            if let Some(r) = records.get_mut(record) {
                for (stderr, data) in chunks {
                    let target = if *stderr {
                        &mut r.stderr
                    } else {
                        &mut r.stdout
                    };
                    if target.len() < PREVIEW {
                        let room = PREVIEW - target.len();
                        let text = String::from_utf8_lossy(data);
                        target.extend(text.chars().take(room));
                    }
                }
            }
        }
    }

    pub(crate) fn mark_terminated(&self, record: usize) {
        if let Ok(mut records) = self.records.lock() {
            if let Some(r) = records.get_mut(record) {
                if r.exit_code.is_none() {
                    r.terminated = true;
                }
            }
        }
    }

    /// Forgets every shell (a restart): running commands are killed.
    pub(crate) fn drop_all_shells(&self) {
        if let Ok(mut shells) = self.shells.lock() {
            for (_, shell) in std::mem::take(&mut *shells) {
                for (_, c) in shell.commands {
                    c.task.abort();
                    self.mark_terminated(c.record);
                }
            }
        }
    }

    /// The JSON view.
    pub(crate) fn snapshot(&self) -> serde_json::Value {
        let (hostname, restarts, power_offs, sysprep, down, files) = self
            .machine
            .lock()
            .map(|m| {
                let files: Vec<serde_json::Value> = m
                    .vfs
                    .files()
                    .map(|f| {
                        serde_json::json!({
                            "path": f.path,
                            "size": f.data.len(),
                            "sha256": vfs::sha256_hex(&f.data),
                        })
                    })
                    .collect();
                let down = m
                    .restart
                    .down_until
                    .is_some_and(|t| t > tokio::time::Instant::now());
                let sysprep = serde_json::to_value(&m.sysprep).unwrap_or_default();
                (
                    m.hostname.clone(),
                    m.restart.count,
                    m.restart.power_offs,
                    sysprep,
                    down,
                    files,
                )
            })
            .unwrap_or_default();
        let shells: Vec<serde_json::Value> = self
            .shells
            .lock()
            .map(|s| {
                s.iter()
                    .map(|(id, sh)| serde_json::json!({"id": id, "owner": sh.owner, "commands": sh.commands.len()}))
                    .collect()
            })
            .unwrap_or_default();
        let commands = self
            .records
            .lock()
            .map(|r| serde_json::to_value(&*r).unwrap_or_default())
            .unwrap_or_default();
        let counters = self
            .counters
            .lock()
            .map(|c| serde_json::to_value(&*c).unwrap_or_default())
            .unwrap_or_default();
        let faults = self
            .faults
            .lock()
            .map(|f| serde_json::to_value(&*f).unwrap_or_default())
            .unwrap_or_default();
        serde_json::json!({
            "hostname": hostname,
            "restarts": restarts,
            "power_offs": power_offs,
            "sysprep": sysprep,
            "down": down,
            "open_shells": shells,
            "commands": commands,
            "files": files,
            "counters": counters,
            "faults": faults,
        })
    }

    /// Restart bookkeeping, called periodically: a due restart takes the machine down; the end
    /// of downtime brings it back. Returns true while down.
    pub(crate) fn tick(&self) -> bool {
        let now = tokio::time::Instant::now();
        let mut went_down = None;
        let down = self
            .machine
            .lock()
            .map(|mut m| {
                if let Some(at) = m.restart.pending {
                    if at <= now {
                        m.restart.pending = None;
                        m.restart.down_until = Some(now + m.downtime);
                        if std::mem::take(&mut m.restart.pending_off) {
                            m.restart.power_offs += 1;
                            went_down = Some(("power-off", m.restart.power_offs));
                        } else {
                            m.restart.count += 1;
                            went_down = Some(("restart", m.restart.count));
                        }
                    }
                }
                match m.restart.down_until {
                    Some(t) if t > now => true,
                    Some(_) => {
                        m.restart.down_until = None;
                        false
                    }
                    None => false,
                }
            })
            .unwrap_or(false);
        if let Some((what, n)) = went_down {
            tracing::info!(target: "winrm_sim", "simulated {what}: the machine is down");
            self.drop_all_shells();
            if what == "power-off" {
                self.power_offs.send_replace(n);
            }
        }
        down
    }
}

/// How long a Receive may wait when the client asks for longer (a safety cap).
pub(crate) const MAX_RECEIVE_WAIT: Duration = Duration::from_secs(600);
