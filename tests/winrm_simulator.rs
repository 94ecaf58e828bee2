//! `packer-plugin-nutanix simulator --winrm-listen` starts the WinRM test server next to the
//! Prism simulator: it answers WS-Man (a 401 without credentials, offering Negotiate and Basic)
//! and serves its recorded state as JSON.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http(port: u16, request: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[test]
fn simulator_serves_winrm_at_the_vm_address() {
    let (prism, winrm) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_packer-plugin-nutanix"))
        .args([
            "simulator",
            "--listen",
            &format!("127.0.0.1:{prism}"),
            "--vm-ip",
            "127.0.0.1",
        ])
        .args([
            "--winrm-listen",
            &format!("127.0.0.1:{winrm}"),
            "--winrm-password",
            "P-1",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let state = loop {
        if let Some(r) = http(
            winrm,
            "GET /_sim/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ) {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "the WinRM simulator never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let challenge = http(
        winrm,
        "POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml;charset=UTF-8\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(state.starts_with("HTTP/1.1 200"), "{state}");
    assert!(state.contains("\"hostname\": \"WIN-SIM\""), "{state}");
    assert!(challenge.starts_with("HTTP/1.1 401"), "{challenge}");
    let lower = challenge.to_ascii_lowercase();
    assert!(
        lower.contains("www-authenticate: negotiate") && lower.contains("www-authenticate: basic"),
        "{challenge}"
    );
}
