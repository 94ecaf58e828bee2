//! The simulator's RFB server against a real RFB client: vncdotool (PyPI, installed into a
//! venv under ~/.cache by the test when missing). vncdotool speaks plain TCP, so a small relay
//! opens the VM's console websocket with our transport (`Console::open_link`) and moves bytes.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vnc_console::link::Link;
use vnc_console::{Console, ConsoleTarget, Transport};

const VNCDOTOOL: &str = "vncdotool==1.4.2";

/// `vncdo` from a venv under ~/.cache, created when missing; panics when it cannot be.
fn vncdo() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).expect("HOME");
    let venv = home.join(".cache/packer-plugin-nutanix/vncdotool-venv");
    let bin = venv.join("bin/vncdo");
    let ok = |c: &mut Command| matches!(c.status(), Ok(s) if s.success());
    let installed = bin.is_file()
        && ok(Command::new(venv.join("bin/pip"))
            .args(["show", "-q", "vncdotool"])
            .stdout(std::process::Stdio::null()));
    if !installed {
        assert!(
            ok(Command::new("python3").arg("-m").arg("venv").arg(&venv)),
            "python3 -m venv {} failed",
            venv.display()
        );
        assert!(
            ok(Command::new(venv.join("bin/pip")).args(["install", "-q", VNCDOTOOL])),
            "pip install {VNCDOTOOL} failed"
        );
    }
    assert!(bin.is_file(), "{} missing after install", bin.display());
    bin
}

/// Relays one TCP client to the VM's console websocket.
async fn relay(mut tcp: TcpStream, mut link: Link) {
    let mut from_tcp = vec![0u8; 64 * 1024];
    let mut from_ws = vec![0u8; 64 * 1024];
    if let Ok(first) = link.decode(&[]) {
        let _ = tcp.write_all(&first.data).await;
    }
    loop {
        tokio::select! {
            n = tcp.read(&mut from_tcp) => {
                let n = n.unwrap_or(0);
                if n == 0 {
                    link.close().await;
                    return;
                }
                let frame = link.frame(&from_tcp[..n]);
                if link.write_all(&frame).await.is_err() {
                    return;
                }
            }
            n = link.read(&mut from_ws) => {
                let n = n.unwrap_or(0);
                if n == 0 {
                    return;
                }
                let Ok(inbound) = link.decode(&from_ws[..n]) else { return };
                if tcp.write_all(&inbound.data).await.is_err()
                    || link.write_all(&inbound.reply).await.is_err()
                    || inbound.closed.is_some()
                {
                    return;
                }
            }
        }
    }
}

async fn start_relay(target: ConsoleTarget) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = l.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                match Console::open_link(&target, deadline(20)).await {
                    Ok(link) => relay(tcp, link).await,
                    Err(e) => panic!("relay could not open the console: {e}"),
                }
            });
        }
    });
    port
}

/// Runs vncdo against the relay; returns (success, stderr).
async fn run_vncdo(port: u16, password: Option<&str>, actions: &[&str]) -> (bool, String) {
    let bin = vncdo();
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("-s").arg(format!("127.0.0.1::{port}"));
    if let Some(p) = password {
        cmd.arg("-p").arg(p);
    }
    cmd.args(actions).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .expect("vncdo finishes within 60 s")
        .expect("vncdo runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn vncdotool_types_into_a_simulated_vm_over_both_transports() {
    let sim = sim(true, None).await;
    let (vm, cluster) = vm(&sim, "vncdo-vm", true).await;
    let port = start_relay(target(&sim, &vm, &cluster, &[Transport::V3Cookie])).await;
    let (ok, err) = run_vncdo(
        port,
        None,
        &["type", "Hello World", "key", "enter", "key", "ctrl-c"],
    )
    .await;
    assert!(ok, "vncdo failed: {err}");
    let state = wait_typed(&sim, &vm, "Hello World<enter><leftCtrlOn>c<leftCtrlOff>").await;
    assert_eq!(state["connections_by_transport"]["v3-cookie"], 1);

    let port = start_relay(target(&sim, &vm, &cluster, &[Transport::V4Token])).await;
    let (ok, err) = run_vncdo(port, None, &["key", "f2"]).await;
    assert!(ok, "vncdo failed: {err}");
    let state = wait_typed(
        &sim,
        &vm,
        "Hello World<enter><leftCtrlOn>c<leftCtrlOff><f2>",
    )
    .await;
    assert_eq!(state["connections_by_transport"]["v4-token"], 1);
}

#[tokio::test]
async fn vncdotool_with_the_console_password() {
    let sim = sim(false, Some("pa55word")).await;
    let (vm, cluster) = vm(&sim, "locked-vncdo", true).await;
    let port = start_relay(target(&sim, &vm, &cluster, &[Transport::V3Cookie])).await;
    let (ok, err) = run_vncdo(port, Some("pa55word"), &["type", "ok"]).await;
    assert!(ok, "vncdo failed: {err}");
    wait_typed(&sim, &vm, "ok").await;
    let (ok, _) = run_vncdo(port, Some("wrong"), &["type", "no"]).await;
    assert!(!ok, "vncdo with a wrong password succeeded");
    let state = console_state(&sim, &vm);
    assert_eq!(state["auth_failures"], 1, "{state}");
    assert_eq!(state["typed"], "ok");
}
