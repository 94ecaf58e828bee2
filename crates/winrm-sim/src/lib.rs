//! A WinRM (WS-Management) test server for our tests and for users' template CI.
//!
//! It answers the Windows Remote Shell operations (Create, Command, Receive, Send, Signal,
//! Delete) over HTTP and HTTPS with Basic and NTLMv2 authentication, and "runs" commands on a
//! simulated machine without anything Windows-only: a small cmd.exe interpreter and a
//! PowerShell subset (see [`engine`]) record every command, decode `-EncodedCommand`, reassemble
//! uploads (Packer's winrmcp chunks and ours), serve downloads, keep environment variables,
//! honour exit codes and simulate restarts. Everything it saw is in `GET /_sim/state` (JSON).
//!
//! Start it with [`start`], the `winrm-sim` binary, or `packer-plugin-nutanix simulator
//! --winrm-listen ADDR` (which puts it at the simulated VM's address).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod auth;
pub mod engine;
mod faults;
mod ops;
mod server;
mod state;
mod tls;
mod wsman;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

pub use engine::power::SysprepRun;
pub use faults::{Fault, FaultKind};
pub use state::CommandRecord;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// Binding a listener failed.
    #[error("winrm-sim: cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Generating the TLS identity failed.
    #[error("winrm-sim TLS: {0}")]
    Tls(String),
    /// Nothing to listen on.
    #[error("winrm-sim: give an HTTP and/or an HTTPS listen address")]
    NoListener,
}

/// How to run the server.
#[derive(Clone)]
pub struct SimConfig {
    /// Plain HTTP listener (WinRM's port is 5985); port 0 picks one.
    pub listen: Option<SocketAddr>,
    /// HTTPS listener (5986) with a generated certificate.
    pub tls_listen: Option<SocketAddr>,
    /// The account accepted (`user` or `DOMAIN\user`).
    pub username: String,
    /// Its password.
    pub password: String,
    /// Accept Basic authentication.
    pub basic: bool,
    /// Accept NTLM (Negotiate) authentication.
    pub ntlm: bool,
    /// The machine's name (NTLM target, `hostname`, `$env:COMPUTERNAME`).
    pub hostname: String,
    /// How long a restart keeps the machine unreachable.
    pub restart_downtime: Duration,
    /// Exit code of commands the interpreters do not understand.
    pub unknown_exit_code: i64,
    /// Largest request body accepted (Windows' MaxEnvelopeSizekb defaults to 500 KiB).
    pub max_request: usize,
    /// Faults armed from the start.
    pub faults: Vec<Fault>,
}

impl std::fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimConfig")
            .field("listen", &self.listen)
            .field("tls_listen", &self.tls_listen)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("basic", &self.basic)
            .field("ntlm", &self.ntlm)
            .field("hostname", &self.hostname)
            .finish_non_exhaustive()
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 5985))),
            tls_listen: None,
            username: "Administrator".into(),
            password: "Packer-Build-2022!".into(),
            basic: true,
            ntlm: true,
            hostname: "WIN-SIM".into(),
            restart_downtime: Duration::from_secs(3),
            unknown_exit_code: 0,
            max_request: 500 * 1024,
            faults: Vec::new(),
        }
    }
}

/// A running server.
pub struct SimHandle {
    /// The HTTP address, if listening.
    pub http_addr: Option<SocketAddr>,
    /// The HTTPS address, if listening.
    pub https_addr: Option<SocketAddr>,
    /// PEM of the CA that signed the HTTPS certificate.
    pub ca_pem: Option<String>,
    state: Arc<state::State>,
    stop: CancellationToken,
}

impl SimHandle {
    /// Everything recorded, as served at `GET /_sim/state`.
    pub fn state_json(&self) -> serde_json::Value {
        self.state.snapshot()
    }

    /// The bytes of a file on the simulated machine.
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        let p = engine::vfs::normalize(path, "C:\\");
        self.state
            .machine
            .lock()
            .ok()?
            .vfs
            .get(&p)
            .map(|f| f.data.clone())
    }

    /// Puts a file on the simulated machine (for downloads and scripts to find).
    pub fn put_file(&self, path: &str, data: Vec<u8>) {
        let p = engine::vfs::normalize(path, "C:\\");
        if let Ok(mut m) = self.state.machine.lock() {
            m.vfs.write(&p, data);
        }
    }

    /// Arms a fault.
    pub fn inject(&self, fault: Fault) {
        if let Ok(mut f) = self.state.faults.lock() {
            f.push(fault);
        }
    }

    /// Every command recorded so far.
    pub fn commands(&self) -> Vec<CommandRecord> {
        self.state
            .records
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// The number of completed power-offs (`shutdown /s`, `Stop-Computer`, sysprep
    /// `/shutdown`), changing each time the simulated machine turns itself off: whoever plays
    /// the hypervisor (the plugin's `simulator`, tests) powers the VM off when it changes.
    pub fn power_offs(&self) -> tokio::sync::watch::Receiver<u64> {
        self.state.power_offs.subscribe()
    }

    /// Open shells right now.
    pub fn open_shells(&self) -> usize {
        self.state.shells.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Stops listening.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Binds the listeners and serves in the background (on the current tokio runtime).
pub async fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
    if cfg.listen.is_none() && cfg.tls_listen.is_none() {
        return Err(SimError::NoListener);
    }
    let (user, _) = winrm_communicator::ntlm::split_user(&cfg.username);
    let machine = engine::Machine::new(
        &cfg.hostname,
        user,
        cfg.restart_downtime,
        cfg.unknown_exit_code,
    );
    let state = Arc::new(state::State::new(machine, user, cfg.faults.clone()));
    let front = Arc::new(server::Front {
        state: state.clone(),
        username: cfg.username.clone(),
        password: cfg.password.clone(),
        basic: cfg.basic,
        ntlm: cfg.ntlm,
        max_request: cfg.max_request,
    });
    let stop = CancellationToken::new();
    let mut http_addr = None;
    let mut https_addr = None;
    let mut ca_pem = None;
    if let Some(addr) = cfg.listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        http_addr = l.local_addr().ok();
        tokio::spawn(server::serve(l, None, front.clone(), stop.clone()));
    }
    if let Some(addr) = cfg.tls_listen {
        let (acceptor, pem) = tls::generate(&cfg.hostname)?;
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| SimError::Bind { addr, source })?;
        https_addr = l.local_addr().ok();
        ca_pem = Some(pem);
        tokio::spawn(server::serve(
            l,
            Some(acceptor),
            front.clone(),
            stop.clone(),
        ));
    }
    let ticker_state = state.clone();
    let ticker_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(100)) => { ticker_state.tick(); }
                () = ticker_stop.cancelled() => return,
            }
        }
    });
    Ok(SimHandle {
        http_addr,
        https_addr,
        ca_pem,
        state,
        stop,
    })
}

/// Command-line options (the `winrm-sim` binary; the plugin's `simulator` reuses them).
#[derive(Debug, Clone, clap::Args)]
pub struct WinRmSimArgs {
    /// HTTP listen address (WinRM's port is 5985).
    #[arg(long = "winrm-listen")]
    pub winrm_listen: Option<SocketAddr>,
    /// HTTPS listen address (5986), with a generated certificate (its CA is printed to stderr).
    #[arg(long = "winrm-tls-listen")]
    pub winrm_tls_listen: Option<SocketAddr>,
    /// Account accepted by the WinRM server.
    #[arg(long = "winrm-username", default_value = "Administrator")]
    pub winrm_username: String,
    /// Its password.
    #[arg(
        long = "winrm-password",
        default_value = "Packer-Build-2022!",
        env = "WINRM_SIM_PASSWORD",
        hide_env_values = true
    )]
    pub winrm_password: String,
    /// Refuse Basic authentication (NTLM only, like a default Windows host).
    #[arg(long = "winrm-no-basic")]
    pub winrm_no_basic: bool,
    /// Refuse NTLM authentication.
    #[arg(long = "winrm-no-ntlm")]
    pub winrm_no_ntlm: bool,
    /// The simulated machine's name.
    #[arg(long = "winrm-hostname", default_value = "WIN-SIM")]
    pub winrm_hostname: String,
    /// Seconds a simulated restart keeps the machine unreachable.
    #[arg(long = "winrm-restart-downtime-secs", default_value_t = 3)]
    pub winrm_restart_downtime_secs: u64,
    /// Exit code for commands the simulator does not interpret.
    #[arg(long = "winrm-unknown-exit-code", default_value_t = 0)]
    pub winrm_unknown_exit_code: i64,
}

impl WinRmSimArgs {
    /// The configuration these options describe (`None` when no listener was asked for).
    pub fn config(&self) -> Option<SimConfig> {
        if self.winrm_listen.is_none() && self.winrm_tls_listen.is_none() {
            return None;
        }
        Some(SimConfig {
            listen: self.winrm_listen,
            tls_listen: self.winrm_tls_listen,
            username: self.winrm_username.clone(),
            password: self.winrm_password.clone(),
            basic: !self.winrm_no_basic,
            ntlm: !self.winrm_no_ntlm,
            hostname: self.winrm_hostname.clone(),
            restart_downtime: Duration::from_secs(self.winrm_restart_downtime_secs),
            unknown_exit_code: self.winrm_unknown_exit_code,
            ..SimConfig::default()
        })
    }
}

/// Starts the server for command-line use and logs where it listens.
pub async fn start_from_args(args: &WinRmSimArgs) -> Result<Option<SimHandle>, SimError> {
    let Some(cfg) = args.config() else {
        return Ok(None);
    };
    let handle = start(cfg).await?;
    if let Some(a) = handle.http_addr {
        tracing::info!(
            "WinRM simulator listening on http://{a}/wsman (state: http://{a}/_sim/state)"
        );
    }
    if let Some(a) = handle.https_addr {
        tracing::info!("WinRM simulator listening on https://{a}/wsman");
    }
    if let Some(pem) = &handle.ca_pem {
        eprintln!("WinRM simulator CA certificate:\n{pem}");
    }
    Ok(Some(handle))
}
