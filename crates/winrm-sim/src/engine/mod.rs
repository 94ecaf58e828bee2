//! The simulated Windows machine and the interpreters that "run" commands on it.
//!
//! Nothing Windows-only runs: command lines are parsed by a small cmd.exe interpreter and a
//! PowerShell-subset interpreter that know the statements Packer's provisioners and WinRM
//! clients send (echo and Write-Output, exit codes, environment variables, running uploaded
//! `.ps1`/`.bat` files, sleeping, restarts) and recognise the known transfer scripts (Packer's
//! winrmcp chunks and restore script, Packer's download script, ours). Anything else is
//! recorded as "not interpreted" and succeeds with no output (`unknown_exit_code`).

pub(crate) mod cmd;
pub(crate) mod expr;
pub(crate) mod known;
pub(crate) mod power;
pub(crate) mod ps;
pub(crate) mod text;
pub mod vfs;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use vfs::Vfs;

/// What the machine is doing about restarts.
#[derive(Debug, Clone, Default)]
pub(crate) struct RestartState {
    /// A restart is scheduled this long after it was asked for (`shutdown /r /t N`).
    pub pending: Option<tokio::time::Instant>,
    /// The machine is down until then.
    pub down_until: Option<tokio::time::Instant>,
    /// The pending event is a power-off (`shutdown /s`, sysprep `/shutdown`), not a restart.
    pub pending_off: bool,
    /// Completed restarts.
    pub count: u64,
    /// Completed power-offs (the machine comes back after the downtime, as if powered on again).
    pub power_offs: u64,
}

/// The simulated machine: files, machine-wide environment, name, restart state.
#[derive(Debug)]
pub(crate) struct Machine {
    pub vfs: Vfs,
    pub env: BTreeMap<String, String>,
    pub hostname: String,
    pub restart: RestartState,
    /// How long a restart keeps the machine unreachable.
    pub downtime: Duration,
    /// Exit code of statements nobody interprets.
    pub unknown_exit_code: i64,
    /// Every sysprep run, oldest first.
    pub sysprep: Vec<power::SysprepRun>,
}

impl Machine {
    pub(crate) fn new(
        hostname: &str,
        user: &str,
        downtime: Duration,
        unknown_exit_code: i64,
    ) -> Self {
        let profile = format!("C:\\Users\\{user}");
        let temp = format!("{profile}\\AppData\\Local\\Temp");
        let env = [
            ("COMPUTERNAME", hostname.to_string()),
            ("USERNAME", user.to_string()),
            ("USERPROFILE", profile.clone()),
            ("TEMP", temp.clone()),
            ("TMP", temp),
            ("SYSTEMROOT", "C:\\Windows".into()),
            ("WINDIR", "C:\\Windows".into()),
            ("SYSTEMDRIVE", "C:".into()),
            ("PROGRAMDATA", "C:\\ProgramData".into()),
            ("PROGRAMFILES", "C:\\Program Files".into()),
            ("PUBLIC", "C:\\Users\\Public".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        Self {
            vfs: Vfs::with_defaults(user),
            env,
            hostname: hostname.to_string(),
            restart: RestartState::default(),
            downtime,
            unknown_exit_code,
            sysprep: Vec::new(),
        }
    }
}

/// Output and exit status of one running command, shared with the Receive handler.
#[derive(Debug, Default)]
pub(crate) struct ProcessIo {
    pub queue: Mutex<VecDeque<(bool, Vec<u8>)>>,
    pub done: Mutex<Option<i64>>,
    pub notify: Notify,
}

impl ProcessIo {
    fn push(&self, stderr: bool, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if let Ok(mut q) = self.queue.lock() {
            q.push_back((stderr, data.to_vec()));
        }
        self.notify.notify_waiters();
    }

    pub(crate) fn finish(&self, code: i64) {
        if let Ok(mut d) = self.done.lock() {
            d.get_or_insert(code);
        }
        self.notify.notify_waiters();
    }
}

/// What an interpreter step tells its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Go on; the value is the last exit code.
    Next(i64),
    /// `exit N`: stop the script (or process).
    Exit(i64),
    /// `throw`: an error that a `try` catches.
    Throw(String),
}

/// Everything a record of one command collects while it runs.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Trace {
    /// PowerShell scripts decoded from `-EncodedCommand` (or given with `-Command`).
    pub powershell: Vec<String>,
    /// Script files run (`.ps1`, `.bat`), with their normalised paths.
    pub scripts_run: Vec<String>,
    /// What kind of transfer the command was, if one.
    pub transfer: Option<String>,
    /// Statements the interpreters did not understand (they succeeded with no output).
    pub not_interpreted: Vec<String>,
    /// Bytes the command received on stdin.
    pub stdin_bytes: u64,
}

/// One running command: its I/O, its environment and stdin.
pub(crate) struct Proc {
    pub machine: Arc<Mutex<Machine>>,
    pub io: Arc<ProcessIo>,
    pub stdin: mpsc::UnboundedReceiver<Vec<u8>>,
    pub stdin_buf: Vec<u8>,
    pub stdin_eof: bool,
    pub env: BTreeMap<String, String>,
    pub vars: BTreeMap<String, String>,
    pub cwd: String,
    pub trace: Trace,
    pub depth: u32,
}

impl Proc {
    pub(crate) fn new(
        machine: Arc<Mutex<Machine>>,
        io: Arc<ProcessIo>,
        stdin: mpsc::UnboundedReceiver<Vec<u8>>,
        user: &str,
    ) -> Self {
        let env = machine.lock().map(|m| m.env.clone()).unwrap_or_default();
        Self {
            machine,
            io,
            stdin,
            stdin_buf: Vec::new(),
            stdin_eof: false,
            env,
            vars: BTreeMap::new(),
            cwd: format!("C:\\Users\\{user}"),
            trace: Trace::default(),
            depth: 0,
        }
    }

    pub(crate) fn out(&self, text: &str) {
        self.io.push(false, text.as_bytes());
    }

    pub(crate) fn err(&self, text: &str) {
        self.io.push(true, text.as_bytes());
    }

    pub(crate) fn with_machine<T>(&self, f: impl FnOnce(&mut Machine) -> T) -> Option<T> {
        self.machine.lock().ok().map(|mut m| f(&mut m))
    }

    pub(crate) fn unknown_exit(&self) -> i64 {
        self.with_machine(|m| m.unknown_exit_code).unwrap_or(0)
    }

    pub(crate) fn not_interpreted(&mut self, what: &str) {
        let w = what.trim();
        if !w.is_empty() && self.trace.not_interpreted.len() < 200 {
            self.trace
                .not_interpreted
                .push(w.chars().take(300).collect());
        }
    }

    /// `%NAME%` (cmd) expansion with this process's environment.
    pub(crate) fn expand_percent(&self, s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find('%') {
            out.push_str(rest.get(..start).unwrap_or_default());
            let after = rest.get(start + 1..).unwrap_or_default();
            match after.find('%') {
                Some(end) => {
                    let name = after.get(..end).unwrap_or_default();
                    match self.env.get(&name.to_ascii_uppercase()) {
                        Some(v) if !name.is_empty() => out.push_str(v),
                        _ => {
                            out.push('%');
                            out.push_str(name);
                            out.push('%');
                        }
                    }
                    rest = after.get(end + 1..).unwrap_or_default();
                }
                None => {
                    out.push('%');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    /// Reads one line of stdin (without its newline); `None` at EOF.
    pub(crate) async fn read_line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(pos) = self.stdin_buf.iter().position(|&b| b == b'\n') {
                let mut line: Vec<u8> = self.stdin_buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(line);
            }
            if self.stdin_eof {
                if self.stdin_buf.is_empty() {
                    return None;
                }
                return Some(std::mem::take(&mut self.stdin_buf));
            }
            match self.stdin.recv().await {
                Some(chunk) => {
                    self.trace.stdin_bytes += chunk.len() as u64;
                    self.stdin_buf.extend_from_slice(&chunk);
                }
                None => self.stdin_eof = true,
            }
        }
    }

    /// Schedules a restart `delay` from now (`shutdown /r`, `Restart-Computer`).
    pub(crate) fn schedule_restart(&self, delay: Duration) {
        self.with_machine(|m| {
            m.restart.pending = Some(tokio::time::Instant::now() + delay);
            m.restart.pending_off = false;
        });
    }

    /// Schedules a power-off `delay` from now (see [`power`]).
    pub(crate) fn schedule_power_off(&self, delay: Duration) {
        self.with_machine(|m| {
            m.restart.pending = Some(tokio::time::Instant::now() + delay);
            m.restart.pending_off = true;
        });
    }
}

/// Runs a command line as WinRM's cmd shell would and returns its exit code.
pub(crate) async fn run_command_line(proc: &mut Proc, line: &str) -> i64 {
    match cmd::run_line(proc, line).await {
        Flow::Next(c) | Flow::Exit(c) => c,
        Flow::Throw(msg) => {
            proc.err(&format!("{msg}\r\n"));
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc() -> (Proc, Arc<Mutex<Machine>>, mpsc::UnboundedSender<Vec<u8>>) {
        let machine = Arc::new(Mutex::new(Machine::new(
            "WIN-SIM",
            "Administrator",
            Duration::from_secs(1),
            0,
        )));
        let (tx, rx) = mpsc::unbounded_channel();
        let p = Proc::new(
            machine.clone(),
            Arc::new(ProcessIo::default()),
            rx,
            "Administrator",
        );
        (p, machine, tx)
    }

    fn stdout(p: &Proc) -> String {
        let q = p.io.queue.lock().unwrap();
        q.iter()
            .filter(|(e, _)| !e)
            .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
            .collect()
    }

    #[tokio::test]
    async fn packer_shapes_run_with_their_exit_codes() {
        let (mut p, machine, _tx) = proc();
        machine.lock().unwrap().vfs.write(
            "C:\\Windows\\Temp\\script.bat",
            b"@echo off\r\necho in batch %GREETING%\r\nexit /b 4\r\n".to_vec(),
        );
        let code = run_command_line(
            &mut p,
            r#"set "GREETING=hi" && "c:/Windows/Temp/script.bat""#,
        )
        .await;
        assert_eq!(code, 4);
        assert_eq!(stdout(&p), "in batch hi\r\n");
        let (mut p, _, _tx) = proc();
        assert_eq!(
            run_command_line(&mut p, "echo a || echo b & echo c").await,
            0
        );
        assert_eq!(stdout(&p), "a\r\nc\r\n");
    }

    #[tokio::test]
    async fn a_batch_file_calling_itself_stops() {
        let (mut p, machine, _tx) = proc();
        machine
            .lock()
            .unwrap()
            .vfs
            .write("C:\\loop.bat", b"C:\\loop.bat\r\n".to_vec());
        assert_eq!(run_command_line(&mut p, "C:\\loop.bat").await, 1);
    }

    /// Random command lines from a vocabulary of the interpreters' keywords and punctuation:
    /// nothing panics and everything ends (time is paused, so sleeps cost nothing).
    #[tokio::test(start_paused = true)]
    async fn random_input_never_panics_or_hangs() {
        let vocab = [
            "echo",
            "exit",
            "/b",
            "17",
            "&&",
            "||",
            "&",
            "\"",
            "'",
            "(",
            ")",
            "{",
            "}",
            ";",
            "\n",
            "$",
            "$env:X",
            "=",
            "powershell",
            "-EncodedCommand",
            "-File",
            "-Command",
            "if",
            "else",
            "try",
            "catch",
            "throw",
            "&{",
            ".",
            "C:\\a.ps1",
            "C:\\b.bat",
            "Start-Sleep",
            "99999",
            "timeout",
            "/t",
            "shutdown",
            "/r",
            "/a",
            "-f",
            "{0}",
            "Test-Path",
            "-and",
            "-not",
            "-ne",
            "$null",
            ">>",
            ">",
            "%TEMP%",
            "%",
            "`",
            "Write-Output",
            "set",
            "[Console]::Out.WriteLine(",
            "GetFullPath(",
            "# packer-winrm upload v1",
            "$dest =",
            "AAAA",
            "====",
        ];
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..3000 {
            let (mut p, machine, tx) = proc();
            machine
                .lock()
                .unwrap()
                .vfs
                .write("C:\\a.ps1", b"& 'C:\\a.ps1'".to_vec());
            machine
                .lock()
                .unwrap()
                .vfs
                .write("C:\\b.bat", b"C:\\a.ps1\r\nC:\\b.bat".to_vec());
            drop(tx);
            let mut line = String::new();
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                line.push_str(vocab[(x % vocab.len() as u64) as usize]);
                line.push(' ');
            }
            let r = tokio::time::timeout(
                Duration::from_secs(200_000),
                run_command_line(&mut p, &line),
            )
            .await;
            assert!(r.is_ok(), "hung on {line:?}");
        }
    }
}
