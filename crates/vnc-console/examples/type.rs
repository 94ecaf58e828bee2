//! Types text into a Prism Central VM's console: a manual check of the console transports
//! against a real Prism Central or the simulator (`scripts/demo-console.sh` uses it).
//!
//! `cargo run -p vnc-console --example type -- https://HOST:9440 VM_UUID CLUSTER_UUID 'text\n'`
//! Credentials come from NUTANIX_USERNAME / NUTANIX_PASSWORD (default admin / secret);
//! NUTANIX_INSECURE=1 accepts any certificate, NUTANIX_CA_BUNDLE=FILE trusts that CA.
//! CONSOLE_TRANSPORT=v3 or v4 tries only that transport (default: v4, then v3).
//! `\n` in the text is Enter; upper-case letters and shifted symbols are typed with Shift.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use vnc_console::rfb::keysym;
use vnc_console::{Console, ConsoleTarget, Transport};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, vm, cluster, text] = args.as_slice() else {
        return Err("usage: type BASE_URL VM_UUID CLUSTER_UUID TEXT".into());
    };
    let url = url::Url::parse(base)?;
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let mut target = ConsoleTarget::new(
        url.host_str().ok_or("no host")?,
        url.port_or_known_default().unwrap_or(9440),
        prism::Auth::basic(
            &env("NUTANIX_USERNAME", "admin"),
            env("NUTANIX_PASSWORD", "secret"),
        ),
        vm,
        Some(cluster.clone()),
    );
    if url.scheme() == "http" {
        target.scheme = prism::Scheme::Http;
    }
    target.tls.danger_accept_invalid_certs = env("NUTANIX_INSECURE", "") == "1";
    if let Ok(path) = std::env::var("NUTANIX_CA_BUNDLE") {
        target.tls.ca_bundle_pem = Some(std::fs::read(path)?);
    }
    match env("CONSOLE_TRANSPORT", "").as_str() {
        "v3" => target.transports = vec![Transport::V3Cookie],
        "v4" => target.transports = vec![Transport::V4Token],
        "" => {}
        other => return Err(format!("CONSOLE_TRANSPORT={other}: use v3 or v4").into()),
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let console = Console::connect(&target, deadline).await?;
    eprintln!(
        "connected via {} to {:?}",
        console.via(),
        console.info().name
    );
    let text = text.replace("\\n", "\n");
    for ch in text.chars() {
        let shifted = ch.is_ascii_uppercase() || "~!@#$%^&*()_+{}|:\"<>?".contains(ch);
        let key = if ch == '\n' {
            keysym::RETURN
        } else {
            ch as u32
        };
        if shifted {
            console.key(keysym::SHIFT_L, true).await?;
        }
        console.key(key, true).await?;
        console.key(key, false).await?;
        if shifted {
            console.key(keysym::SHIFT_L, false).await?;
        }
    }
    console.close().await?;
    Ok(())
}
