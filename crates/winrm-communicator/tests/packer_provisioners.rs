//! Real Packer's provisioners through OUR communicator: Packer 1.16 loads the `winrm-test-plugin`
//! binary (a builder that connects `WinRmCommunicator` and hands it to Packer's hook over the
//! plugin RPC, as the nutanix builder will), and runs `powershell` (inline and script),
//! `windows-shell`, `file` (a 3 MiB file and a directory) and `windows-restart` against our
//! WinRM test server. Scripts must arrive decoded, the upload with the same sha256, and a
//! command exiting 17 must return 17.
//!
//! Needs real Packer: $PACKER, else ~/.cache/packer-plugin-nutanix/peers/packer-1.16.0
//! (scripts/build-peers.sh builds it; .ci/run calls that first).

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};
use winrm_sim::{SimConfig, SimHandle};

const PASSWORD: &str = "Ours-Pass-1!";

fn packer() -> PathBuf {
    if let Ok(p) = std::env::var("PACKER") {
        return PathBuf::from(p);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let p = PathBuf::from(home).join(".cache/packer-plugin-nutanix/peers/packer-1.16.0");
    assert!(
        p.exists(),
        "{} is missing: run scripts/build-peers.sh (CI does this in .ci/run)",
        p.display()
    );
    p
}

const TEMPLATE: &str = r#"
packer {
  required_plugins {
    winrmtest = {
      version = ">= 0.0.1"
      source  = "github.com/test/winrmtest"
    }
  }
}

variable "port" { type = number }
variable "ssl" { type = bool }
variable "ntlm" { type = bool }
variable "payload" { type = string }
variable "restart" { type = bool }

source "winrmtest" "win" {
  winrm_host     = "127.0.0.1"
  winrm_port     = var.port
  winrm_username = "Administrator"
  winrm_password = "Ours-Pass-1!"
  winrm_use_ssl  = var.ssl
  winrm_insecure = true
  winrm_use_ntlm = var.ntlm
  winrm_no_proxy = true
  winrm_timeout  = "2m"
}

build {
  sources = ["source.winrmtest.win"]

  provisioner "powershell" {
    environment_vars = ["GREETING=hello-through-rust"]
    inline           = ["Write-Output \"ps says $env:GREETING\"", "exit 17"]
    valid_exit_codes = [17]
  }

  provisioner "powershell" {
    environment_vars = ["FROM_SCRIPT=yes"]
    script           = "${path.root}/script.ps1"
  }

  provisioner "windows-shell" {
    environment_vars = ["SHELLVAR=batch-value"]
    inline           = ["echo shell says %SHELLVAR%", "exit /b 0"]
  }

  provisioner "file" {
    source      = var.payload
    destination = "C:/Windows/Temp/payload.bin"
  }

  provisioner "file" {
    source      = "${path.root}/tree"
    destination = "C:/upload"
  }

  dynamic "provisioner" {
    for_each = var.restart ? ["x"] : []
    labels   = ["windows-restart"]
    content {
      restart_timeout = "2m"
    }
  }
}
"#;

fn install(packer: &Path, plugins: &Path) {
    let out = Command::new(packer)
        .args([
            "plugins",
            "install",
            "--path",
            env!("CARGO_BIN_EXE_winrm-test-plugin"),
            "github.com/test/winrmtest",
        ])
        .env("PACKER_PLUGIN_PATH", plugins)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "packer plugins install failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn run_build(sim: &SimHandle, https: bool, ntlm: bool, restart: bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("build.pkr.hcl"), TEMPLATE).unwrap();
    std::fs::write(
        dir.path().join("script.ps1"),
        "Write-Output \"script sees $env:FROM_SCRIPT\"\r\nexit 0\r\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("tree/sub")).unwrap();
    std::fs::write(dir.path().join("tree/top.txt"), b"top").unwrap();
    std::fs::write(dir.path().join("tree/sub/deep.txt"), b"deep").unwrap();
    let payload: Vec<u8> = (0..3 * 1024 * 1024 + 5)
        .map(|i: usize| (i * 31 + i / 977) as u8)
        .collect();
    let payload_path = dir.path().join("payload.bin");
    std::fs::write(&payload_path, &payload).unwrap();
    let plugins = dir.path().join("plugins");
    let packer = packer();
    install(&packer, &plugins);
    let addr = if https { sim.https_addr } else { sim.http_addr }.unwrap();
    let dir_path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(packer)
            .args(["build", "-color=false"])
            .args(["-var", &format!("port={}", addr.port())])
            .args(["-var", &format!("ssl={https}")])
            .args(["-var", &format!("ntlm={ntlm}")])
            .args(["-var", &format!("restart={restart}")])
            .args(["-var", &format!("payload={}", payload_path.display())])
            .arg(&dir_path)
            .env("CHECKPOINT_DISABLE", "1")
            .env("PACKER_PLUGIN_PATH", &plugins)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "packer build failed (https={https} ntlm={ntlm}):\n{text}"
    );
    assert!(text.contains("ps says hello-through-rust"), "{text}");
    assert!(text.contains("script sees yes"), "{text}");
    assert!(text.contains("shell says batch-value"), "{text}");
    assert!(
        !text.contains(PASSWORD),
        "the password leaked into Packer's output:\n{text}"
    );

    let stored = sim
        .file("C:\\Windows\\Temp\\payload.bin")
        .expect("payload uploaded");
    assert_eq!(Sha256::digest(&stored), Sha256::digest(&payload));
    assert_eq!(sim.file("C:\\upload\\tree\\top.txt").unwrap(), b"top");
    assert_eq!(
        sim.file("C:\\upload\\tree\\sub\\deep.txt").unwrap(),
        b"deep"
    );

    let commands = sim.commands();
    assert!(
        commands.iter().any(|c| c.exit_code == Some(17)
            && c.trace
                .scripts_run
                .iter()
                .any(|s| s.to_ascii_lowercase().contains("script-"))),
        "no script exiting 17 recorded"
    );
    // Every upload went through our stdin path, decoded from -EncodedCommand.
    let uploads: Vec<_> = commands
        .iter()
        .filter(|c| {
            c.trace
                .transfer
                .as_deref()
                .is_some_and(|t| t.starts_with("upload "))
        })
        .collect();
    assert!(uploads.len() >= 5, "{} uploads recorded", uploads.len());
    assert!(uploads.iter().all(|c| c
        .trace
        .powershell
        .iter()
        .any(|p| p.starts_with("# packer-winrm upload v1"))));
    assert!(
        !commands
            .iter()
            .any(|c| c.trace.transfer.as_deref() == Some("winrmcp chunk")),
        "our communicator should not use echo chunks"
    );
    let big = uploads
        .iter()
        .find(|c| c.trace.transfer.as_deref() == Some("upload C:\\Windows\\Temp\\payload.bin"))
        .expect("payload upload recorded");
    assert!(
        big.trace.stdin_bytes > payload.len() as u64,
        "the payload travelled on stdin"
    );
    assert_eq!(sim.open_shells(), 0, "shells left open");
}

async fn sim(downtime: Duration) -> SimHandle {
    winrm_sim::start(SimConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        tls_listen: Some("127.0.0.1:0".parse().unwrap()),
        password: PASSWORD.into(),
        restart_downtime: downtime,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_packer_provisioners_basic_http_with_restart() {
    let sim = sim(Duration::from_secs(12)).await;
    run_build(&sim, false, false, true).await;
    assert_eq!(sim.state_json()["restarts"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_packer_provisioners_ntlm_http() {
    let sim = sim(Duration::from_secs(2)).await;
    run_build(&sim, false, true, false).await;
    assert!(
        sim.state_json()["counters"]["auth_ntlm_ok"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_packer_provisioners_basic_https() {
    let sim = sim(Duration::from_secs(2)).await;
    run_build(&sim, true, false, false).await;
}
