//! Our WinRM test server is faithful to the client nobody here wrote: Packer's own Go WinRM
//! communicator (Packer's built-in `null` builder with `communicator = "winrm"`) runs the
//! `powershell`, `windows-shell`, `file` and `windows-restart` provisioners against it over
//! Basic/HTTP, NTLM/HTTP and Basic/HTTPS, and the server's record shows what arrived.
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

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sha2::{Digest, Sha256};
use winrm_sim::{SimConfig, SimHandle};

const PASSWORD: &str = "Go-Client-Pass-1!";

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
variable "port" { type = number }
variable "ssl" { type = bool }
variable "ntlm" { type = bool }
variable "payload" { type = string }
variable "restart" { type = bool }

source "null" "win" {
  communicator   = "winrm"
  winrm_host     = "127.0.0.1"
  winrm_port     = var.port
  winrm_username = "Administrator"
  winrm_password = "Go-Client-Pass-1!"
  winrm_use_ssl  = var.ssl
  winrm_insecure = true
  winrm_use_ntlm = var.ntlm
  winrm_timeout  = "2m"
}

build {
  sources = ["source.null.win"]

  provisioner "powershell" {
    environment_vars = ["GREETING=hello-from-packer"]
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

async fn run_build(sim: &SimHandle, https: bool, ntlm: bool, payload_len: usize, restart: bool) {
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
    let payload: Vec<u8> = (0..payload_len).map(|i| (i * 7 + i / 251) as u8).collect();
    let payload_path = dir.path().join("payload.bin");
    std::fs::write(&payload_path, &payload).unwrap();
    let addr = if https { sim.https_addr } else { sim.http_addr }.unwrap();
    let packer = packer();
    let dir_path = dir.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(packer)
            .arg("build")
            .arg("-color=false")
            .args(["-var", &format!("port={}", addr.port())])
            .args(["-var", &format!("ssl={https}")])
            .args(["-var", &format!("ntlm={ntlm}")])
            .args(["-var", &format!("restart={restart}")])
            .args(["-var", &format!("payload={}", payload_path.display())])
            .arg(&dir_path)
            .env("CHECKPOINT_DISABLE", "1")
            .env("PACKER_PLUGIN_PATH", dir_path.join("plugins"))
            .env("NO_PROXY", "*")
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
    assert!(text.contains("ps says hello-from-packer"), "{text}");
    assert!(text.contains("script sees yes"), "{text}");
    assert!(text.contains("shell says batch-value"), "{text}");

    // The file arrived byte for byte through winrmcp's chunks and restore script.
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
    // Packer's connect check, decoded from -EncodedCommand.
    assert!(
        commands.iter().any(|c| c
            .trace
            .powershell
            .iter()
            .any(|p| p.contains("WinRM connected."))),
        "no connect check recorded"
    );
    // The inline powershell script ran from its uploaded file and exited 17.
    assert!(
        commands.iter().any(|c| c.exit_code == Some(17)
            && c.trace
                .scripts_run
                .iter()
                .any(|s| s.to_ascii_lowercase().contains("script-"))),
        "no script exiting 17 recorded"
    );
    assert!(
        commands
            .iter()
            .any(|c| c.trace.transfer.as_deref() == Some("winrmcp chunk")),
        "no winrmcp chunk recorded"
    );
    // Every shell Packer opened was closed again.
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
async fn packer_go_winrm_basic_http_with_restart() {
    let sim = sim(Duration::from_secs(12)).await;
    run_build(&sim, false, false, 3 * 1024 * 1024, true).await;
    assert_eq!(sim.state_json()["restarts"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packer_go_winrm_ntlm_http() {
    let sim = sim(Duration::from_secs(2)).await;
    run_build(&sim, false, true, 256 * 1024, false).await;
    let counters = &sim.state_json()["counters"];
    // Go's client completes the handshake once per keep-alive connection, then sends its
    // requests on that connection with no Authorization header (connection-bound auth).
    assert!(
        counters["auth_ntlm_ok"].as_u64().unwrap() >= 1,
        "{counters}"
    );
    assert!(
        counters["Command"].as_u64().unwrap() > counters["auth_ntlm_ok"].as_u64().unwrap(),
        "{counters}"
    );
    assert!(counters.get("auth_basic_ok").is_none(), "{counters}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packer_go_winrm_basic_https() {
    let sim = sim(Duration::from_secs(2)).await;
    run_build(&sim, true, false, 256 * 1024, false).await;
}
