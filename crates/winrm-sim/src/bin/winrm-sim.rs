//! `winrm-sim`: the WinRM test server on its own, independent of the Packer plugin.
//!
//! ```text
//! winrm-sim --winrm-listen 127.0.0.1:5985 [--winrm-tls-listen 127.0.0.1:5986] [--winrm-password P]
//! ```

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "winrm-sim",
    about = "A WinRM (WS-Management) test server that records what clients run"
)]
struct Cli {
    #[command(flatten)]
    args: winrm_sim::WinRmSimArgs,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WINRM_SIM_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let mut cli = Cli::parse();
    if cli.args.winrm_listen.is_none() && cli.args.winrm_tls_listen.is_none() {
        cli.args.winrm_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 5985)));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("winrm-sim: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match winrm_sim::start_from_args(&cli.args).await {
            Ok(Some(_handle)) => {
                let _ = tokio::signal::ctrl_c().await;
                ExitCode::SUCCESS
            }
            Ok(None) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        }
    })
}
