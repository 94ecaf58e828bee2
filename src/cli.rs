//! Command-line entry points. `describe` stays free of any runtime set-up because Packer runs it for
//! every installed plugin on every command, so its latency is paid by every user all the time.

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

/// The packer-plugin-sdk release whose wire behaviour we match; `describe` reports it.
const SDK_VERSION: &str = "0.6.10";
/// The plugin API version Packer checks against the installed file name (`_x5.0_`).
const API_VERSION: &str = "x5.0";
/// Packer maps this builder name to the bare plugin name, so templates say `source "nutanix" ...`.
const DEFAULT_PLUGIN_NAME: &str = "-packer-default-plugin-name-";
/// The name Packer passes to `start builder` for our only builder.
const BUILDER_NAME: &str = DEFAULT_PLUGIN_NAME;

#[derive(Parser, Debug)]
#[command(
    name = "packer-plugin-nutanix",
    version,
    about = "Packer builder for Nutanix Prism Central (v3 API)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the plugin description Packer reads at start-up (one JSON line).
    Describe,
    /// Serve a component to Packer (Packer runs this; it is not for people).
    Start {
        /// Component kind: only `builder` is provided.
        kind: String,
        /// Component name as printed by `describe` (Packer passes `-packer-default-plugin-name-`).
        #[arg(allow_hyphen_values = true)]
        name: String,
    },
    /// Run a local Prism Central v3 simulator to build against (and, with `--winrm-listen`, a
    /// WinRM test server playing the Windows VM).
    Simulator(Box<SimulatorArgs>),
}

/// The simulator's options: Prism Central's, plus the WinRM test server's (`--winrm-*`).
#[derive(clap::Args, Debug)]
struct SimulatorArgs {
    #[command(flatten)]
    prism: prism_sim::SimArgs,
    #[command(flatten)]
    winrm: winrm_sim::WinRmSimArgs,
}

/// Parses the command line (with every `--protobuf` token removed, wherever it stands, as the SDK
/// does) and runs the chosen command.
pub fn main() -> ExitCode {
    let mut use_protobuf = false;
    let args: Vec<std::ffi::OsString> = std::env::args_os()
        .filter(|a| {
            let is_flag = a == "--protobuf";
            use_protobuf |= is_flag;
            !is_flag
        })
        .collect();
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Describe => describe(),
        Command::Start { kind, name } => start(&kind, &name, use_protobuf),
        Command::Simulator(args) => simulator(*args),
    }
}

/// Prints the description in the exact shape the SDK's `Set.description` writes.
fn describe() -> ExitCode {
    let description = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "sdk_version": SDK_VERSION,
        "api_version": API_VERSION,
        "builders": [DEFAULT_PLUGIN_NAME],
        "post_processors": [],
        "provisioners": [],
        "datasources": [],
        "protocol_version": "v2",
    });
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{description}")
        .and_then(|_| out.flush())
        .is_err()
    {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

fn start(kind: &str, name: &str, use_protobuf: bool) -> ExitCode {
    if !packer_mux::handshake::cookie_present() {
        eprintln!("{}", packer_mux::handshake::MANUAL_START_MESSAGE);
        return ExitCode::from(1);
    }
    init_logging();
    match kind {
        "builder" => {}
        "post-processor" | "provisioner" | "datasource" => {
            eprintln!("packer-plugin-nutanix provides no {kind} (asked for {name:?})");
            return ExitCode::from(1);
        }
        other => {
            eprintln!("Unknown plugin type: {other}");
            return ExitCode::from(1);
        }
    }
    if name != BUILDER_NAME && name != "nutanix" {
        eprintln!("packer-plugin-nutanix has no builder named {name:?}");
        return ExitCode::from(1);
    }
    let encoding = if use_protobuf {
        packer_rpc::SpecEncoding::Protobuf
    } else {
        packer_rpc::SpecEncoding::Gob
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let builder = Arc::new(nutanix_builder::NutanixBuilder::new());
    match runtime.block_on(packer_rpc::serve_builder(builder, encoding)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("plugin server failed: {e}");
            ExitCode::from(1)
        }
    }
}

fn simulator(args: SimulatorArgs) -> ExitCode {
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(async {
        // The WinRM server answers for the simulated Windows VM: give it the VM's IP
        // (`--vm-ip`) so Packer's winrm_host finds it.
        let winrm = match winrm_sim::start_from_args(&args.winrm).await {
            Ok(h) => h,
            Err(e) => return Err(e.to_string()),
        };
        if let Some(addr) = args.winrm.winrm_listen.or(args.winrm.winrm_tls_listen) {
            if addr.ip() != args.prism.vm_ip && !addr.ip().is_unspecified() {
                tracing::warn!(winrm = %addr, vm_ip = %args.prism.vm_ip, "the WinRM server does not listen on the VM's IP (--vm-ip)");
            }
        }
        let vm_ip = args.prism.vm_ip;
        let power_offs = winrm.as_ref().map(winrm_sim::SimHandle::power_offs);
        prism_sim::run_cli_with(args.prism, |prism| {
            if let Some(offs) = power_offs {
                link_guest_power(offs, prism.guest_power(), vm_ip);
            }
        })
        .await
        .map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simulator: {e}");
            ExitCode::from(1)
        }
    }
}

/// The simulated Windows guest turning itself off (sysprep `/shutdown`, `shutdown /s`) powers
/// off the VM that reports its address, as on AHV, so a build's `shutdown_command` ends with
/// the VM OFF instead of a forced power-off after `shutdown_timeout`.
fn link_guest_power(
    mut offs: tokio::sync::watch::Receiver<u64>,
    power: prism_sim::GuestPower,
    vm_ip: std::net::IpAddr,
) {
    tokio::spawn(async move {
        while offs.changed().await.is_ok() {
            let vms = power.shut_down(Some(vm_ip));
            tracing::info!(
                ?vms,
                "the WinRM guest shut itself down: VM(s) reporting {vm_ip} are OFF"
            );
        }
    });
}

/// Logs go to stderr, where Packer shows them under `PACKER_LOG=1`; stdout is the handshake's.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PACKER_PLUGIN_NUTANIX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| RedactingStderr)
        .with_ansi(false)
        .try_init();
}

/// stderr for log lines, without the template's secrets (`nutanix_config::filter_logs`): the
/// formatter writes each event in one call, so a secret is never split across writes.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        match std::str::from_utf8(buf) {
            Ok(text) => err.write_all(nutanix_config::redact_log(text).as_bytes())?,
            Err(_) => err.write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
