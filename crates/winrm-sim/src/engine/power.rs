//! The machine turning itself off: `shutdown /s`, `Stop-Computer`, and sysprep, which Windows
//! templates run as their `shutdown_command` to generalize the image
//! (`sysprep.exe /generalize /oobe /shutdown /quiet`). A power-off takes the machine down like
//! a restart does and counts in `power_offs`, which the plugin's `simulator` passes on to the
//! Prism simulator so the VM shows OFF, as a guest-initiated shutdown would.

use std::time::Duration;

use super::text::{unquote, words};
use super::Proc;

/// One sysprep run, as `/_sim/state` shows it under `sysprep`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SysprepRun {
    /// The arguments as given.
    pub arguments: String,
    /// `/generalize`: the image is made machine-neutral (what a template build wants).
    pub generalize: bool,
    /// `/oobe`: the next boot runs Windows Welcome.
    pub oobe: bool,
    /// `/audit`: the next boot goes to audit mode instead.
    pub audit: bool,
    /// What sysprep does when it is done: "shutdown", "reboot" or "quit".
    pub then: String,
    /// `/quiet`.
    pub quiet: bool,
    /// `/mode:vm`.
    pub mode_vm: bool,
    /// `/unattend:FILE`, if given.
    pub unattend: Option<String>,
}

/// Whether a command word names sysprep (`sysprep`, `sysprep.exe`, with or without a path).
pub(crate) fn is_sysprep(word: &str) -> bool {
    let w = unquote(word).to_ascii_lowercase().replace('/', "\\");
    let name = w.rsplit('\\').next().unwrap_or(&w);
    matches!(name, "sysprep" | "sysprep.exe")
}

/// How long after a power-off or restart is asked for the machine goes away.
///
/// GUESS: real sysprep takes seconds to minutes to generalize before it shuts down, and the
/// WinRM command usually never reports an exit status because the machine goes first; here
/// the command exits 0 and the machine goes half a second later, so clients see both kinds of
/// end (an exit status, then a dropped connection) in one run.
const GOING_DOWN: Duration = Duration::from_millis(500);

/// `sysprep.exe ARGS`: records the run and powers off (`/shutdown`), restarts (`/reboot`) or
/// does nothing more (`/quit`, the default). Returns the exit code.
pub(crate) fn sysprep(proc: &mut Proc, args: &str) -> i64 {
    let mut run = SysprepRun {
        arguments: args.trim().to_string(),
        then: "quit".into(),
        ..SysprepRun::default()
    };
    for w in words(args, false) {
        let flag = unquote(&w).to_ascii_lowercase().replacen('-', "/", 1);
        match flag.as_str() {
            "/generalize" => run.generalize = true,
            "/oobe" => run.oobe = true,
            "/audit" => run.audit = true,
            "/shutdown" => run.then = "shutdown".into(),
            "/reboot" => run.then = "reboot".into(),
            "/quit" => run.then = "quit".into(),
            "/quiet" => run.quiet = true,
            "/mode:vm" => run.mode_vm = true,
            f if f.starts_with("/unattend:") => {
                // The file name as given, not lowercased.
                let given = unquote(&w);
                let file = given.get("/unattend:".len()..).unwrap_or_default();
                run.unattend = Some(unquote(file).to_string());
            }
            _ => proc.not_interpreted(&format!("sysprep {w}")),
        }
    }
    if run.oobe && run.audit {
        proc.err("Sysprep: /oobe and /audit cannot be used together.\r\n");
        return 87; // ERROR_INVALID_PARAMETER
    }
    match run.then.as_str() {
        "shutdown" => proc.schedule_power_off(GOING_DOWN),
        "reboot" => proc.schedule_restart(GOING_DOWN),
        _ => {}
    }
    proc.with_machine(|m| m.sysprep.push(run));
    0
}

/// `shutdown /s` and `Stop-Computer`: powers off after `delay` (at least [`GOING_DOWN`]).
pub(crate) fn power_off(proc: &Proc, delay: Duration) {
    proc.schedule_power_off(GOING_DOWN.max(delay));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{run_command_line, Machine, ProcessIo};
    use std::sync::{Arc, Mutex};

    fn machine() -> Arc<Mutex<Machine>> {
        Arc::new(Mutex::new(Machine::new(
            "WIN-SIM",
            "Administrator",
            Duration::from_secs(1),
            0,
        )))
    }

    async fn run(m: &Arc<Mutex<Machine>>, line: &str) -> i64 {
        let (_tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut p = Proc::new(
            m.clone(),
            Arc::new(ProcessIo::default()),
            rx,
            "Administrator",
        );
        run_command_line(&mut p, line).await
    }

    #[tokio::test]
    async fn sysprep_generalize_shutdown_is_recorded_and_powers_off() {
        let m = machine();
        let code = run(
            &m,
            r"C:\Windows\System32\Sysprep\sysprep.exe /generalize /oobe /shutdown /quiet /unattend:C:\unattend.xml",
        )
        .await;
        assert_eq!(code, 0);
        let g = m.lock().unwrap();
        assert_eq!(g.sysprep.len(), 1);
        let run = &g.sysprep[0];
        assert!(run.generalize && run.oobe && run.quiet && !run.audit);
        assert_eq!(run.then, "shutdown");
        assert_eq!(run.unattend.as_deref(), Some("C:\\unattend.xml"));
        assert!(g.restart.pending.is_some() && g.restart.pending_off);
    }

    #[tokio::test]
    async fn shutdown_s_powers_off_and_r_restarts() {
        let m = machine();
        assert_eq!(run(&m, "shutdown /s /t 0").await, 0);
        assert!(m.lock().unwrap().restart.pending_off);
        let m = machine();
        assert_eq!(run(&m, "shutdown /r /t 0").await, 0);
        assert!(!m.lock().unwrap().restart.pending_off);
        let m = machine();
        assert_eq!(run(&m, "sysprep.exe /oobe /audit").await, 87);
        assert!(m.lock().unwrap().restart.pending.is_none());
    }

    #[test]
    fn sysprep_is_recognised_with_or_without_a_path() {
        assert!(is_sysprep("C:\\Windows\\System32\\Sysprep\\sysprep.exe"));
        assert!(is_sysprep("\"c:/windows/system32/sysprep/Sysprep.exe\""));
        assert!(is_sysprep("sysprep"));
        assert!(!is_sysprep("sysprep.bat"));
        assert!(!is_sysprep("C:\\sysprep\\other.exe"));
    }
}
