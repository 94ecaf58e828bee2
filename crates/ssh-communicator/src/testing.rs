//! A throw-away OpenSSH server on a loopback port, for this crate's tests and the plugin's
//! end-to-end tests (feature `testing`).
//!
//! [`Sshd::start`] generates a host key, a user CA and an `authorized_keys` file in a temporary
//! directory, writes an `sshd_config` (127.0.0.1 only, `StrictModes no`, `internal-sftp`,
//! `PermitRootLogin yes`) and runs `/usr/sbin/sshd -D -e -f <config>` until the value is dropped.
//! Keys are made with `ssh-keygen` on demand ([`Sshd::user_key`]) and authorized for every user.
//! Password and keyboard-interactive tests need a real account with a password:
//! [`password_user`] creates one (`packer-ssh-test`) when running as root.
//!
//! Everything here may block (it runs `ssh-keygen`, waits for the port): call it from tests only.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::config::{PrivateKeySource, SshConfig};

/// The account [`password_user`] creates.
pub const PASSWORD_USER: &str = "packer-ssh-test";
/// Its password (a test-only account on a test machine, reachable only through loopback sshds).
pub const PASSWORD_USER_PASSWORD: &str = "Packer-ssh-test-1";

/// Why the harness could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// A required program is missing.
    #[error("{0} not found: install openssh-server / openssh-client")]
    Missing(&'static str),
    /// A command failed.
    #[error("{cmd} failed: {detail}")]
    Command {
        /// The command line.
        cmd: String,
        /// Its stderr or the spawn error.
        detail: String,
    },
    /// File I/O in the temporary directory failed.
    #[error("harness I/O: {0}")]
    Io(#[from] std::io::Error),
    /// sshd exited or never listened.
    #[error("sshd did not start: {0}")]
    NotListening(String),
}

/// Options for [`Sshd::start_with`].
#[derive(Debug, Clone)]
pub struct SshdOptions {
    /// Port to listen on (`None` = a free one).
    pub port: Option<u16>,
    /// `UsePAM` (needed for keyboard-interactive on Linux).
    pub use_pam: bool,
    /// `PasswordAuthentication`.
    pub password_authentication: bool,
    /// `KbdInteractiveAuthentication`.
    pub kbd_interactive_authentication: bool,
    /// Extra `sshd_config` lines.
    pub extra: Vec<String>,
}

impl Default for SshdOptions {
    fn default() -> Self {
        Self {
            port: None,
            use_pam: false,
            password_authentication: true,
            kbd_interactive_authentication: false,
            extra: Vec::new(),
        }
    }
}

/// A running loopback sshd; killed (with every session process) on drop.
#[derive(Debug)]
pub struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

/// A port nobody listens on right now (bind to 0, read it, release it).
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The user the tests run as (keys are authorized for every user).
pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| run("id", &["-un"]).ok().map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "root".into())
}

/// Whether the process runs as root (needed for password users and `PermitRootLogin`).
pub fn is_root() -> bool {
    run("id", &["-u"]).map(|s| s.trim() == "0").unwrap_or(false)
}

fn run(cmd: &str, args: &[&str]) -> Result<String, HarnessError> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| HarnessError::Command {
            cmd: format!("{cmd} {}", args.join(" ")),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(HarnessError::Command {
            cmd: format!("{cmd} {}", args.join(" ")),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Generates an unencrypted key of `kind` (`ed25519`, `rsa`, `ecdsa`) at `path` (+ `.pub`).
pub fn keygen(kind: &str, path: &Path) -> Result<(), HarnessError> {
    let mut args = vec!["-q", "-t", kind, "-N", "", "-C", "packer-test", "-f"];
    let p = path.to_string_lossy().into_owned();
    args.push(&p);
    if kind == "rsa" {
        args.extend(["-b", "3072"]);
    }
    run("ssh-keygen", &args).map(drop)
}

/// Creates [`PASSWORD_USER`] with [`PASSWORD_USER_PASSWORD`] if running as root; `None` (with
/// the reason) otherwise. Idempotent and safe to call from parallel tests.
pub fn password_user() -> Result<(String, String), String> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    if !is_root() {
        return Err("not running as root: cannot create a user with a password".into());
    }
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    if run("id", &[PASSWORD_USER]).is_err() {
        if let Err(e) = run("useradd", &["-m", "-s", "/bin/sh", PASSWORD_USER]) {
            // Another process may have created it meanwhile.
            if run("id", &[PASSWORD_USER]).is_err() {
                return Err(format!("useradd failed: {e}"));
            }
        }
    }
    let mut child = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("chpasswd: {e}"))?;
    if let Some(stdin) = child.stdin.as_mut() {
        writeln!(stdin, "{PASSWORD_USER}:{PASSWORD_USER_PASSWORD}").map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "chpasswd: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((PASSWORD_USER.into(), PASSWORD_USER_PASSWORD.into()))
}

impl Sshd {
    /// Starts an sshd with the default options (password and key auth, no PAM).
    pub fn start() -> Result<Self, HarnessError> {
        Self::start_with(SshdOptions::default())
    }

    /// Starts an sshd and waits until it accepts TCP connections.
    pub fn start_with(opts: SshdOptions) -> Result<Self, HarnessError> {
        let sshd = Path::new("/usr/sbin/sshd");
        if !sshd.exists() {
            return Err(HarnessError::Missing("/usr/sbin/sshd"));
        }
        let dir = tempfile::Builder::new().prefix("packer-sshd").tempdir()?;
        set_mode(dir.path(), 0o755)?;
        if is_root() {
            // sshd insists on its privilege separation directory.
            std::fs::create_dir_all("/run/sshd")?;
        }
        let host_key = dir.path().join("host_ed25519");
        keygen("ed25519", &host_key)?;
        let ca = dir.path().join("user_ca");
        keygen("ed25519", &ca)?;
        let authorized = dir.path().join("authorized_keys");
        std::fs::write(&authorized, "")?;
        set_mode(&authorized, 0o644)?;
        let port = match opts.port {
            Some(p) => p,
            None => free_port()?,
        };
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
             TrustedUserCAKeys {}.pub\nUsePAM {}\nPasswordAuthentication {}\n\
             KbdInteractiveAuthentication {}\nPubkeyAuthentication yes\nStrictModes no\n\
             PidFile {}\nPermitRootLogin yes\nSubsystem sftp internal-sftp\nLogLevel VERBOSE\n\
             AllowTcpForwarding yes\nAllowAgentForwarding yes\nMaxStartups 100\nMaxSessions 64\n",
            host_key.display(),
            authorized.display(),
            ca.display(),
            yes_no(opts.use_pam),
            yes_no(opts.password_authentication),
            yes_no(opts.kbd_interactive_authentication),
            dir.path().join("sshd.pid").display(),
        );
        for line in &opts.extra {
            config.push_str(line);
            config.push('\n');
        }
        let config_path = dir.path().join("sshd_config");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(dir.path().join("sshd.log"))?;
        let child = Command::new(sshd)
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .map_err(|e| HarnessError::Command {
                cmd: "sshd".into(),
                detail: e.to_string(),
            })?;
        let mut me = Self {
            dir,
            port,
            child: Some(child),
        };
        me.wait_listening()?;
        Ok(me)
    }

    fn wait_listening(&mut self) -> Result<(), HarnessError> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(HarnessError::NotListening(format!(
                        "exited with {status}: {}",
                        self.log()
                    )));
                }
            }
            if Instant::now() > deadline {
                return Err(HarnessError::NotListening(format!(
                    "port {} not open after 15s: {}",
                    self.port,
                    self.log()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The temporary directory holding keys, config and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// What sshd logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Adds a public key line to `authorized_keys`.
    pub fn authorize(&self, public_key_line: &str) -> Result<(), HarnessError> {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("authorized_keys"))?;
        writeln!(f, "{}", public_key_line.trim())?;
        Ok(())
    }

    /// A key of `kind` (`ed25519`, `rsa`, `ecdsa`), generated once and authorized; returns the
    /// private key path.
    pub fn user_key(&self, kind: &str) -> Result<PathBuf, HarnessError> {
        let path = self.dir.path().join(format!("id_{kind}"));
        if !path.exists() {
            keygen(kind, &path)?;
            let public = std::fs::read_to_string(path.with_extension("pub"))?;
            self.authorize(&public)?;
        }
        Ok(path)
    }

    /// A key that is NOT in `authorized_keys`, with a certificate for `principal` signed by the
    /// CA sshd trusts; returns `(private key, certificate)`.
    pub fn certified_key(&self, principal: &str) -> Result<(PathBuf, PathBuf), HarnessError> {
        let path = self.dir.path().join(format!("id_cert_{principal}"));
        if !path.exists() {
            keygen("ed25519", &path)?;
            let ca = self.dir.path().join("user_ca");
            let ca_s = ca.to_string_lossy().into_owned();
            let pub_s = path.with_extension("pub").to_string_lossy().into_owned();
            run(
                "ssh-keygen",
                &[
                    "-q",
                    "-s",
                    &ca_s,
                    "-I",
                    "packer-test",
                    "-n",
                    principal,
                    "-V",
                    "-5m:+1h",
                    &pub_s,
                ],
            )?;
        }
        let cert = PathBuf::from(format!("{}-cert.pub", path.display()));
        Ok((path, cert))
    }

    /// A communicator configuration for this server: current user, the ed25519 key, short
    /// retry intervals suited to tests.
    pub fn config(&self) -> Result<SshConfig, HarnessError> {
        let key = self.user_key("ed25519")?;
        Ok(SshConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            username: current_user(),
            private_keys: vec![PrivateKeySource::File(key)],
            timeout: Duration::from_secs(30),
            retry_interval: Duration::from_millis(200),
            disable_agent_forwarding: true,
            ..SshConfig::default()
        })
    }

    /// Kills sshd and every process it started (the per-connection sshd processes call
    /// `setsid`, so a process-group kill would miss them): connections drop at once.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let mut pids = descendants(child.id());
            pids.push(child.id());
            let args: Vec<String> = std::iter::once("-9".to_string())
                .chain(pids.iter().map(u32::to_string))
                .collect();
            let _ = Command::new("kill")
                .args(&args)
                .stderr(Stdio::null())
                .status();
            let _ = child.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// All descendants of `root`, from /proc (Linux).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                continue;
            };
            // "pid (comm) state ppid ...": comm may contain spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (pid, ppid) in &parent_of {
            if *ppid == p && !found.contains(pid) {
                found.push(*pid);
                frontier.push(*pid);
            }
        }
    }
    found
}

fn set_mode(path: &Path, mode: u32) -> Result<(), HarnessError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

/// An `ssh-agent` on a private socket, killed on drop.
#[derive(Debug)]
pub struct SshAgent {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl SshAgent {
    /// Starts `ssh-agent -D -a <socket>` and waits for the socket.
    pub fn start() -> Result<Self, HarnessError> {
        let dir = tempfile::Builder::new().prefix("packer-agent").tempdir()?;
        let socket = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|_| HarnessError::Missing("ssh-agent"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            if Instant::now() > deadline {
                return Err(HarnessError::NotListening("ssh-agent socket".into()));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(Self {
            child,
            socket,
            _dir: dir,
        })
    }

    /// The agent's socket (what `SSH_AUTH_SOCK` would hold).
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `ssh-add <key>`.
    pub fn add(&self, key: &Path) -> Result<(), HarnessError> {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdin(Stdio::null())
            .output()?;
        if !out.status.success() {
            return Err(HarnessError::Command {
                cmd: "ssh-add".into(),
                detail: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(())
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
