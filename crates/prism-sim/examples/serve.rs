//! Runs the simulator from the command line with the same flags as
//! `packer-plugin-nutanix simulator` (handy before the main binary wires the subcommand):
//! `cargo run -p prism-sim --example serve -- --self-signed-tls --listen 127.0.0.1:9440`.
//! Logs go to stderr; set RUST_LOG=debug to see every request.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use clap::Parser;

#[derive(Parser)]
#[command(about = "Prism Central v3 simulator")]
struct Cli {
    #[command(flatten)]
    sim: prism_sim::SimArgs,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Err(e) = prism_sim::run_cli(cli.sim).await {
        eprintln!("prism simulator: {e}");
        std::process::exit(1);
    }
}
