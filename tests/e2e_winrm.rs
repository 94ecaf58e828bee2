//! Windows builds over WinRM with real Packer 1.16 and 1.11 and our installed plugin, against the
//! Prism simulator (HTTPS, its own CA) and the WinRM test server standing in for the guest
//! (tests/e2e/winrm.pkr.hcl, shaped like examples/windows-winrm):
//!
//! - three WinRM modes (Basic/HTTP, NTLM/HTTP, Basic/HTTPS) on both Packer releases: powershell
//!   and windows-shell scripts arrive decoded, a 3 MiB file arrives with the same sha256, the
//!   shutdown_command (sysprep /generalize /oobe /shutdown) runs over WinRM and the guest turns
//!   its VM off, one image is left and nothing else;
//! - the VM is created with sysprep install type FRESH and our unattend file, the CD carries the
//!   example's autounattend.xml with its VirtIO driver paths;
//! - the simulated Windows VM reports a link-local (APIPA) address before and beside its real
//!   one: the build says it skips it and connects to the real one;
//! - `winrm_host` is used instead of the VM's address (the VM never reports one);
//! - a provisioner exiting 17 fails the build naming exit code 17, and nothing leaks;
//! - a distinctive winrm_password never shows in Packer's output or PACKER_LOG=1 logs;
//! - examples/windows-winrm itself builds against `packer-plugin-nutanix simulator`.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use base64::Engine;
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A hang guard, not a performance claim: a build that takes this long is stuck.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// Distinctive, so that any occurrence in output or logs is a leak.
const PASSWORD: &str = "Zq7-WinRM-Leak-Canary-93";

/// How the build reaches the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    BasicHttp,
    NtlmHttp,
    BasicHttps,
}

/// The Prism simulator, the WinRM server for its VM, and a work directory.
struct Env {
    prism: prism_sim::SimHandle,
    winrm: winrm_sim::SimHandle,
    dir: tempfile::TempDir,
    ca: PathBuf,
    uploads: PathBuf,
    payload: Vec<u8>,
    inventory_images: Vec<String>,
}

/// `ntlm_only`: the WinRM server refuses Basic (so an NTLM build proves it used NTLM).
async fn env(mut cfg: prism_sim::SimConfig, ntlm_only: bool) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    cfg.tls = true;
    cfg.upload_dir = Some(uploads.clone());
    let inventory_images = cfg
        .inventory
        .images
        .iter()
        .map(|i| i.uuid.clone())
        .collect();
    let prism = prism_sim::Simulator::start(cfg).await.expect("simulator");
    let ca = dir.path().join("sim-ca.pem");
    std::fs::write(&ca, prism.ca_pem().expect("TLS simulator")).unwrap();
    let winrm = winrm_sim::start(winrm_sim::SimConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        tls_listen: Some("127.0.0.1:0".parse().unwrap()),
        password: PASSWORD.into(),
        basic: !ntlm_only,
        restart_downtime: Duration::from_secs(2),
        ..winrm_sim::SimConfig::default()
    })
    .await
    .expect("WinRM simulator");
    link_guest_power(&prism, &winrm, None);
    let payload: Vec<u8> = (0..3 * 1024 * 1024 + 7)
        .map(|i: usize| (i * 131 + i / 1009) as u8)
        .collect();
    std::fs::write(dir.path().join("payload.bin"), &payload).unwrap();
    Env {
        prism,
        winrm,
        dir,
        ca,
        uploads,
        payload,
        inventory_images,
    }
}

/// What `packer-plugin-nutanix simulator` does: the guest turning itself off (sysprep
/// /shutdown) powers off the VM reporting `ip` (any VM when None).
fn link_guest_power(
    prism: &prism_sim::SimHandle,
    winrm: &winrm_sim::SimHandle,
    ip: Option<std::net::IpAddr>,
) {
    let mut offs = winrm.power_offs();
    let power = prism.guest_power();
    tokio::spawn(async move {
        while offs.changed().await.is_ok() {
            power.shut_down(ip);
        }
    });
}

fn packer_111() -> PackerUnderTest {
    packers()
        .into_iter()
        .find(|p| p.label.contains("1.11"))
        .expect("packer 1.11")
}

impl Env {
    fn winrm_port(&self, mode: Mode) -> u16 {
        let addr = match mode {
            Mode::BasicHttps => self.winrm.https_addr,
            Mode::BasicHttp | Mode::NtlmHttp => self.winrm.http_addr,
        };
        addr.unwrap().port()
    }

    /// `packer build` of tests/e2e/winrm.pkr.hcl in `mode`, extra `-var`s appended.
    fn command(
        &self,
        packer: &PackerUnderTest,
        installed: &InstalledPlugin,
        mode: Mode,
        vars: &[(&str, String)],
    ) -> std::process::Command {
        let mut cmd = installed.packer(packer);
        cmd.current_dir(self.dir.path())
            .args(["build", "-color=false"]);
        let mut all = vec![
            ("endpoint", "127.0.0.1".to_string()),
            ("port", self.prism.addr().port().to_string()),
            ("ca_cert", self.ca.display().to_string()),
            ("winrm_port", self.winrm_port(mode).to_string()),
            ("winrm_password", PASSWORD.to_string()),
            ("winrm_use_ssl", (mode == Mode::BasicHttps).to_string()),
            ("winrm_use_ntlm", (mode == Mode::NtlmHttp).to_string()),
            (
                "payload",
                self.dir.path().join("payload.bin").display().to_string(),
            ),
        ];
        all.extend(vars.iter().cloned());
        for (k, v) in all {
            cmd.arg("-var").arg(format!("{k}={v}"));
        }
        cmd.arg(repo_root().join("tests/e2e/winrm.pkr.hcl"));
        cmd
    }

    fn state(&self) -> Value {
        self.prism.state_json()
    }

    fn vms(&self) -> Vec<Value> {
        self.state()["vms"].as_array().cloned().unwrap_or_default()
    }

    /// Images the build left behind (not in the inventory), by name.
    fn new_image_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.state()["images"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|i| {
                !self
                    .inventory_images
                    .iter()
                    .any(|u| Some(u.as_str()) == i["uuid"].as_str())
            })
            .filter_map(|i| i["name"].as_str().map(str::to_string))
            .collect();
        names.sort();
        names
    }

    /// No VM, and exactly `images` beyond the inventory (/_sim/state).
    fn assert_left_only(&self, images: &[&str], all: &str) {
        let vms = self.vms();
        assert!(vms.is_empty(), "VM left: {vms:#?}\n{all}");
        assert_eq!(self.new_image_names(), images, "{all}");
        for kind in ["ovas", "templates"] {
            let left = self.state()[kind].as_array().cloned().unwrap_or_default();
            assert!(left.is_empty(), "{kind} left: {left:#?}\n{all}");
        }
    }

    /// Every recorded WinRM command.
    fn commands(&self) -> Vec<winrm_sim::CommandRecord> {
        self.winrm.commands()
    }
}

/// Polls the Prism simulator until `cond` holds.
async fn wait_for(env: &Env, cond: impl Fn(&Value) -> bool) {
    tokio::time::timeout(HANG_GUARD, async {
        loop {
            if cond(&env.state()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the build never reached the expected state");
}

/// What the build sent Prism while the VM exists: the VM's sysprep customization and the bytes
/// of the CD the plugin made (kept in the simulator's upload directory until it is deleted).
struct Sent {
    install_type: String,
    unattend: String,
    cd: Vec<u8>,
}

async fn capture_while_the_vm_exists(env: &Env) -> Sent {
    wait_for(env, |s| s["vms"].as_array().is_some_and(|v| !v.is_empty())).await;
    let uuid = env.vms()[0]["uuid"].as_str().unwrap().to_string();
    let auth = prism::Auth::Basic {
        username: "admin".into(),
        password: prism::Secret::new("secret"),
    };
    let mut cfg = prism::ClientConfig::new("127.0.0.1", env.prism.addr().port(), auth);
    cfg.tls = prism::TlsOptions {
        ca_bundle_pem: Some(std::fs::read(&env.ca).unwrap()),
        danger_accept_invalid_certs: false,
    };
    cfg.use_env_proxy = false;
    let client = prism::PrismClient::new(cfg).unwrap();
    let vm = serde_json::to_value(client.get_vm(&uuid).await.unwrap()).unwrap();
    let sysprep = &vm["spec"]["resources"]["guest_customization"]["sysprep"];
    let unattend = base64::engine::general_purpose::STANDARD
        .decode(sysprep["unattend_xml"].as_str().unwrap_or_default())
        .unwrap_or_default();
    // The CD is the one uploaded image: the others are the inventory's ISOs.
    let cd = std::fs::read_dir(&env.uploads)
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .find(|bytes| contains(bytes, b"autounattend") || contains(bytes, b"AUTOUNAT"))
        .unwrap_or_default();
    Sent {
        install_type: sysprep["install_type"].as_str().unwrap_or("").to_string(),
        unattend: String::from_utf8_lossy(&unattend).into_owned(),
        cd,
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn run(cmd: std::process::Command) -> Output {
    run_packer(cmd, HANG_GUARD).await
}

/// The whole Windows build in one mode with one Packer.
async fn windows_build(packer: PackerUnderTest, mode: Mode) {
    let mut sim = prism_sim::SimConfig::default_for_tests();
    // Two seconds with only the link-local address, then both.
    sim.ip_delay = Duration::from_secs(2);
    let env = env(sim, mode == Mode::NtlmHttp).await;
    let installed = InstalledPlugin::install(&packer);
    let cmd = env.command(&packer, &installed, mode, &[]);
    let build = tokio::spawn(run(cmd));
    let sent = capture_while_the_vm_exists(&env).await;
    let out = build.await.unwrap();
    let all = text(&out);
    let label = format!("{} {mode:?}", packer.label);
    assert!(out.status.success(), "{label}: build failed:\n{all}");

    // Windows guest customization: sysprep, install type FRESH, our unattend file.
    assert_eq!(sent.install_type, "FRESH", "{label}");
    let ours = std::fs::read_to_string(repo_root().join("tests/e2e/winrm-sysprep.xml")).unwrap();
    assert_eq!(sent.unattend, ours, "{label}");
    // The CD carries the example's answer file, rendered, with its VirtIO driver paths.
    for needle in [
        "<DriverPaths>".to_string(),
        "<Path>E:\\</Path>".to_string(),
        format!("<Value>{PASSWORD}</Value>"),
    ] {
        assert!(
            contains(&sent.cd, needle.as_bytes()),
            "{label}: the CD lacks {needle:?} ({} bytes)",
            sent.cd.len()
        );
    }

    // The link-local address was seen and skipped; WinRM went to the real one.
    let port = env.winrm_port(mode);
    for line in [
        "Prism reports 169.254.".to_string(),
        "not used (link-local: an APIPA address Windows gives itself while DHCP has not answered)"
            .to_string(),
        "VM 'e2e-windows' has IP address 127.0.0.1".to_string(),
        format!("Waiting for WinRM to become available on 127.0.0.1:{port}"),
        "Connected to WinRM!".to_string(),
        format!("ps says hello-from-nutanix on host 127.0.0.1 port {port} as Administrator"),
        "script sees yes".to_string(),
        "shell says batch-value".to_string(),
        "last step exits 0".to_string(),
        "Gracefully halting VM 'e2e-windows' with shutdown_command...".to_string(),
        "VM 'e2e-windows' is off".to_string(),
    ] {
        assert!(all.contains(&line), "{label}: missing {line:?}:\n{all}");
    }
    assert!(
        !all.contains("Waiting for WinRM to become available on 169.254"),
        "{label}: {all}"
    );
    // The guest turned its VM off: no forced power-off after shutdown_timeout.
    assert!(!all.contains("still on after shutdown_timeout"), "{all}");

    // The upload arrived whole, through our stdin path.
    let stored = env
        .winrm
        .file("C:\\Windows\\Temp\\payload.bin")
        .unwrap_or_else(|| panic!("{label}: payload not uploaded"));
    assert_eq!(
        hex::encode(Sha256::digest(&stored)),
        hex::encode(Sha256::digest(&env.payload)),
        "{label}"
    );
    let commands = env.commands();
    assert!(
        commands.iter().any(|c| c.trace.transfer.as_deref()
            == Some("upload C:\\Windows\\Temp\\payload.bin")
            && c.trace.stdin_bytes > env.payload.len() as u64),
        "{label}: the payload did not travel on stdin"
    );
    // PowerShell arrived as scripts the server decoded and ran.
    assert!(
        commands.iter().any(|c| c
            .trace
            .scripts_run
            .iter()
            .any(|s| s.to_ascii_lowercase().ends_with(".ps1"))),
        "{label}: no PowerShell script ran"
    );
    // sysprep ran as the shutdown_command, generalizing.
    let st = env.winrm.state_json();
    let sysprep = st["sysprep"].as_array().cloned().unwrap_or_default();
    assert_eq!(sysprep.len(), 1, "{label}: {sysprep:#?}");
    assert_eq!(sysprep[0]["generalize"], true, "{label}");
    assert_eq!(sysprep[0]["oobe"], true, "{label}");
    assert_eq!(sysprep[0]["then"], "shutdown", "{label}");
    assert_eq!(st["power_offs"], 1, "{label}");
    if mode == Mode::NtlmHttp {
        assert!(
            st["counters"]["auth_ntlm_ok"].as_u64().unwrap_or(0) >= 1,
            "{st:#}"
        );
    }
    assert!(
        !all.contains(PASSWORD),
        "{label}: the password leaked:\n{all}"
    );
    env.assert_left_only(&["e2e-windows-golden"], &all);
    println!("{label}:\n{}", String::from_utf8_lossy(&out.stdout));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_basic_http_packer_1_16() {
    windows_build(packer_116_protobuf(), Mode::BasicHttp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_ntlm_http_packer_1_16() {
    windows_build(packer_116_protobuf(), Mode::NtlmHttp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_basic_https_packer_1_16() {
    windows_build(packer_116_protobuf(), Mode::BasicHttps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_basic_http_packer_1_11() {
    windows_build(packer_111(), Mode::BasicHttp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_ntlm_http_packer_1_11() {
    windows_build(packer_111(), Mode::NtlmHttp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_basic_https_packer_1_11() {
    windows_build(packer_111(), Mode::BasicHttps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provisioner_exiting_17_fails_the_build_and_nothing_leaks() {
    let packer = packer_116_protobuf();
    let env = env(prism_sim::SimConfig::default_for_tests(), false).await;
    let installed = InstalledPlugin::install(&packer);
    let cmd = env.command(
        &packer,
        &installed,
        Mode::BasicHttp,
        &[("exit_code", "17".into())],
    );
    let out = run(cmd).await;
    let all = text(&out);
    assert!(!out.status.success(), "the build passed:\n{all}");
    assert!(all.contains("last step exits 17"), "{all}");
    assert!(
        all.contains("non-zero exit status: 17"),
        "the failure does not name exit code 17:\n{all}"
    );
    assert!(all.contains("Build 'nutanix.windows' errored"), "{all}");
    // The script's exit code is what the server recorded.
    assert!(
        env.commands().iter().any(|c| c.exit_code == Some(17)),
        "no command exited 17"
    );
    // Provisioning failed: sysprep never ran, and everything was removed.
    assert!(env.winrm.state_json()["sysprep"]
        .as_array()
        .is_some_and(Vec::is_empty));
    assert!(!all.contains(PASSWORD), "the password leaked:\n{all}");
    env.assert_left_only(&[], &all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn winrm_host_is_used_instead_of_the_vm_address() {
    let packer = packer_116_protobuf();
    let mut sim = prism_sim::SimConfig::default_for_tests();
    // The VM never reports an address: with winrm_host the build must not wait for one.
    sim.vm_ip = None;
    let env = env(sim, false).await;
    let installed = InstalledPlugin::install(&packer);
    let cmd = env.command(
        &packer,
        &installed,
        Mode::BasicHttp,
        &[("winrm_host", "127.0.0.1".into())],
    );
    let out = run(cmd).await;
    let all = text(&out);
    assert!(out.status.success(), "build failed:\n{all}");
    let port = env.winrm_port(Mode::BasicHttp);
    for line in [
        format!("Waiting for WinRM to become available on 127.0.0.1:{port}"),
        format!("ps says hello-from-nutanix on host 127.0.0.1 port {port}"),
        "VM 'e2e-windows' is off".to_string(),
    ] {
        assert!(all.contains(&line), "missing {line:?}:\n{all}");
    }
    assert!(!all.contains("Waiting for an IP address"), "{all}");
    env.assert_left_only(&["e2e-windows-golden"], &all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_winrm_password_never_reaches_output_or_logs() {
    let packer = packer_116_protobuf();
    let env = env(prism_sim::SimConfig::default_for_tests(), true).await;
    let installed = InstalledPlugin::install(&packer);
    let log = env.dir.path().join("packer.log");
    let mut cmd = env.command(&packer, &installed, Mode::NtlmHttp, &[]);
    cmd.env("PACKER_LOG", "1").env("PACKER_LOG_PATH", &log);
    // The plugin's own debug logging too.
    cmd.env("PACKER_PLUGIN_NUTANIX_LOG", "debug");
    let out = run(cmd).await;
    let all = text(&out);
    assert!(out.status.success(), "build failed:\n{all}");
    let logged = std::fs::read_to_string(&log).unwrap();
    // The log is the real thing: it has the plugin's and the communicator's lines.
    for line in ["packer-plugin-nutanix", "Connected to WinRM!", "powershell"] {
        assert!(
            logged.contains(line),
            "PACKER_LOG lacks {line:?}:\n{logged}"
        );
    }
    for (what, text) in [("output", &all), ("PACKER_LOG", &logged)] {
        assert!(
            !text.contains(PASSWORD),
            "the password is in the {what}:\n{}",
            text.lines()
                .filter(|l| l.contains(PASSWORD))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    // Nor its base64 (Basic authorization headers, encoded commands).
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("Administrator:{PASSWORD}"));
    assert!(!logged.contains(&b64), "a Basic header was logged");
}

/// The example itself, with the documented `-var-file`, against `packer-plugin-nutanix
/// simulator --self-signed-tls --winrm-listen` as a user would run it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_windows_winrm_example_builds_against_the_simulator() {
    let packer = packer_116_protobuf();
    let installed = InstalledPlugin::install(&packer);
    let dir = tempfile::tempdir().unwrap();
    let prism_port = free_port();
    // The example connects to WinRM's default port 5985 at the VM's address: give the
    // simulated VM a loopback address of its own so that port is free there.
    let vm_ip = free_loopback_for(5985);
    let mut sim = tokio::process::Command::new(plugin_binary());
    sim.args(["simulator", "--self-signed-tls", "--task-duration-ms", "50"])
        .arg("--listen")
        .arg(format!("127.0.0.1:{prism_port}"))
        .arg("--vm-ip")
        .arg(vm_ip.to_string())
        .arg("--winrm-listen")
        .arg(format!("{vm_ip}:5985"))
        .arg("--winrm-restart-downtime-secs")
        .arg("2")
        .stdout(std::process::Stdio::null())
        // A file, not a pipe nobody reads: the simulator logs every request.
        .stderr(std::fs::File::create(dir.path().join("simulator.log")).unwrap())
        .kill_on_drop(true);
    let mut sim = sim.spawn().expect("start the simulator");
    wait_listening("127.0.0.1".parse().unwrap(), prism_port).await;
    wait_listening(vm_ip, 5985).await;
    let example = repo_root().join("examples/windows-winrm");
    let mut cmd = installed.packer(&packer);
    cmd.current_dir(dir.path())
        .args(["build", "-color=false"])
        .arg(format!(
            "-var-file={}",
            example.join("simulator.pkrvars.hcl").display()
        ))
        .arg("-var")
        .arg(format!("nutanix_port={prism_port}"))
        .arg(&example);
    let out = run(cmd).await;
    let _ = sim.start_kill();
    let all = text(&out);
    let sim_log = std::fs::read_to_string(dir.path().join("simulator.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "the example failed:\n{all}\n--- simulator\n{sim_log}"
    );
    // The simulator passed the guest's sysprep power-off on to the VM.
    assert!(
        sim_log.contains("the WinRM guest shut itself down"),
        "{sim_log}"
    );
    for line in [
        "Connected to WinRM!",
        "Gracefully halting VM",
        "is off",
        "Creating 1 image(s)",
    ] {
        assert!(all.contains(line), "missing {line:?}:\n{all}");
    }
    assert!(!all.contains("still on after shutdown_timeout"), "{all}");
    let _ = sim.wait().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback address (127.0.x.y) on which `port` is free.
fn free_loopback_for(port: u16) -> std::net::IpAddr {
    let seed = std::process::id();
    (0..200u32)
        .map(|i| {
            let n = seed.wrapping_add(i.wrapping_mul(7919));
            std::net::IpAddr::from([127, 0, (n % 200 + 20) as u8, (n / 200 % 250 + 2) as u8])
        })
        .find(|ip| std::net::TcpListener::bind((*ip, port)).is_ok())
        .expect("a free loopback address")
}

async fn wait_listening(ip: std::net::IpAddr, port: u16) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while tokio::net::TcpStream::connect((ip, port)).await.is_err() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("nothing listens on {ip}:{port}"));
}
