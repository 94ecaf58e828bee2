//! `interop-plugin`: a test-only Packer plugin serving [`InteropBuilder`] through packer-rpc, for
//! the Go harness in tests/interop (the real packer-plugin-sdk client). Never shipped.
//!
//! ```text
//! interop-plugin describe
//! interop-plugin start builder [--protobuf] interop     (needs Packer's magic cookie)
//! ```

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "interop/builder.rs"]
mod builder;
#[path = "interop/local_comm.rs"]
mod local_comm;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use packer_mux::handshake::{cookie_present, MANUAL_START_MESSAGE};
use packer_rpc::SpecEncoding;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // Like the SDK: every --protobuf token is removed, wherever it is.
    let protobuf = args.iter().any(|a| a == "--protobuf");
    args.retain(|a| a != "--protobuf");

    match args.first().map(String::as_str) {
        Some("describe") => describe(),
        Some("start") => {
            if args.len() != 3 {
                eprintln!(
                    "start takes two arguments, for example 'start builder example-builder'. Found: {:?}",
                    args.get(1..).unwrap_or_default()
                );
                return ExitCode::FAILURE;
            }
            if args[1] != "builder" {
                eprintln!("Unknown plugin type: {}", args[1]);
                return ExitCode::FAILURE;
            }
            if args[2] != "interop" {
                eprintln!(
                    "unknown builder {:?}: this plugin only has \"interop\"",
                    args[2]
                );
                return ExitCode::FAILURE;
            }
            if !cookie_present() {
                eprintln!("{MANUAL_START_MESSAGE}");
                return ExitCode::FAILURE;
            }
            let encoding = if protobuf {
                SpecEncoding::Protobuf
            } else {
                SpecEncoding::Gob
            };
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("cannot start the async runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            let builder = Arc::new(builder::InteropBuilder::default());
            match runtime.block_on(packer_rpc::serve_builder(builder, encoding)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("interop-plugin: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("usage: interop-plugin describe | start builder [--protobuf] interop");
            ExitCode::FAILURE
        }
    }
}

/// Prints the SDK's `describe` JSON: compact, fields in the SDK's order, one trailing newline.
fn describe() -> ExitCode {
    let line = r#"{"version":"0.0.1","sdk_version":"0.6.10","api_version":"x5.0","builders":["interop"],"post_processors":[],"provisioners":[],"datasources":[],"protocol_version":"v2"}"#;
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
