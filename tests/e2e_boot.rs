//! `boot_command` in whole `packer build`s with real Packer (1.16 over protobuf, 1.11 over gob)
//! and our installed plugin against the Prism simulator over HTTPS. The simulator's VM consoles
//! record every key event, so the tests compare what the VM received with the key events
//! Packer's own VNC driver sends for the same command (the `boot-command` crate's events, which
//! its golden vectors prove equal to packer-plugin-sdk's), check that the HTTP address typed is
//! the one the build served, interrupt builds with Ctrl-C while they wait and while they type,
//! fail the console, and build examples/ubuntu-autoinstall-iso.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use common::*;
use prism_sim::inventory::{defaults, ImageDef};
use prism_sim::{Fault, SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};

/// A hang guard, not a performance claim: a build that takes this long is stuck.
const HANG_GUARD: Duration = Duration::from_secs(300);

/// The boot command of tests/e2e/boot.pkr.hcl, with `{IP}`, `{PORT}` and `{NAME}` where the
/// template has `{{ .HTTPIP }}`, `{{ .HTTPPort }}` and `{{ .Name }}` (HCL's `\"` and `\\` undone).
const COMMAND: &str = concat!(
    "<esc><wait>",
    "<tab><leftCtrlOn>a<leftCtrlOff><bs><del><f2>",
    "linux /casper/vmlinuz --- autoinstall \"ds=nocloud-net;s=http://{IP}:{PORT}/\"",
    " inst.ks=http://{IP}:{PORT}/ks.cfg hostname={NAME}",
    " Install_As ROOT ~!@#$%^&*()_+{}|:<>? `-=[]\\;',./ é",
    "<leftAltOn><f4><leftAltOff><rightShiftOn>q<rightShiftOff>",
    "<up><down><left><right><home><end><pageUp><pageDown><insert><f12>",
    "<wait300ms><spacebar><enter>",
);

/// What the simulator shows as `typed` for [`COMMAND`], written out by hand: the keys as text,
/// Packer's names for the special ones, held modifiers as `On`/`Off`, Shift not shown.
const TYPED: &str = concat!(
    "<esc>",
    "<tab><leftCtrlOn>a<leftCtrlOff><bs><del><f2>",
    "linux /casper/vmlinuz --- autoinstall \"ds=nocloud-net;s=http://{IP}:{PORT}/\"",
    " inst.ks=http://{IP}:{PORT}/ks.cfg hostname={NAME}",
    " Install_As ROOT ~!@#$%^&*()_+{}|:<>? `-=[]\\;',./ é",
    // Shift, left or right, is not shown: the keysym of the letter already says which it is.
    "<leftAltOn><f4><leftAltOff>q",
    "<up><down><left><right><home><end><pageUp><pageDown><insert><f12>",
    " <enter>",
);

struct Env {
    sim: SimHandle,
    dir: tempfile::TempDir,
    ca: PathBuf,
    inventory_images: Vec<String>,
}

async fn env(mut cfg: SimConfig) -> Env {
    cfg.tls = true;
    let inventory_images = cfg
        .inventory
        .images
        .iter()
        .map(|i| i.uuid.clone())
        .collect();
    let sim = Simulator::start(cfg).await.expect("simulator");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("sim-ca.pem");
    std::fs::write(&ca, sim.ca_pem().expect("TLS simulator")).unwrap();
    Env {
        sim,
        dir,
        ca,
        inventory_images,
    }
}

fn packer_111() -> PackerUnderTest {
    packers()
        .into_iter()
        .find(|p| p.label.contains("1.11"))
        .expect("packer 1.11")
}

impl Env {
    /// `packer build` of tests/e2e/boot.pkr.hcl against the simulator, in its own process
    /// group (as a terminal runs it, so Ctrl-C reaches Packer's child through the group).
    fn command(
        &self,
        packer: &PackerUnderTest,
        installed: &InstalledPlugin,
        vars: &[(&str, String)],
        envs: &[(&str, &str)],
    ) -> tokio::process::Command {
        let mut cmd = installed.packer(packer);
        cmd.current_dir(self.dir.path())
            .args(["build", "-color=false"])
            .args(["-var", "endpoint=127.0.0.1"])
            .arg("-var")
            .arg(format!("port={}", self.sim.addr().port()))
            .arg("-var")
            .arg(format!("ca_cert={}", self.ca.display()));
        for (k, v) in vars {
            cmd.arg("-var").arg(format!("{k}={v}"));
        }
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.arg(repo_root().join("tests/e2e/boot.pkr.hcl"));
        spawnable(cmd)
    }

    fn state(&self) -> Value {
        self.sim.state_json()
    }

    fn vms(&self) -> Vec<Value> {
        self.state()["vms"].as_array().cloned().unwrap_or_default()
    }

    fn new_images(&self) -> Vec<Value> {
        self.state()["images"]
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
            .collect()
    }

    /// The console record of the VM named `name` (kept by the simulator after the VM is gone).
    fn console(&self, name: &str) -> Option<Value> {
        self.state()["consoles"]
            .as_array()?
            .iter()
            .find(|c| c["vm_name"] == name)
            .cloned()
    }

    fn assert_nothing_leaked(&self, out: &Output) {
        let (vms, images) = (self.vms(), self.new_images());
        assert!(
            vms.is_empty() && images.is_empty(),
            "leaked:\nvms: {vms:#?}\nimages: {images:#?}\n{}",
            text(out)
        );
    }

    fn add_fault(&self, v: Value) {
        self.sim.add_faults(Fault::from_value(v).unwrap()).unwrap();
    }

    /// Polls the simulator until `cond` holds; returns what it held on.
    async fn wait_for<T>(&self, what: &str, cond: impl Fn(&Env) -> Option<T>) -> T {
        tokio::time::timeout(HANG_GUARD, async {
            loop {
                if let Some(t) = cond(self) {
                    return t;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the build never reached: {what}\n{:#}", self.state()))
    }

    /// Polls until the console of `name` has no open session; its final record.
    async fn released(&self, name: &str) -> Value {
        self.wait_for("console released", |e| {
            e.console(name).filter(|c| c["open"] == 0)
        })
        .await
    }
}

/// A prepared `std` command as a killable, piped tokio command in its own process group.
fn spawnable(mut cmd: std::process::Command) -> tokio::process::Command {
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut cmd = tokio::process::Command::from(cmd);
    cmd.kill_on_drop(true)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

async fn finish(child: tokio::process::Child) -> Output {
    tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("packer build hung")
        .expect("packer build")
}

/// Ctrl-C in a terminal: SIGINT to Packer's whole process group.
fn ctrl_c(child: &tokio::process::Child) {
    let pid = child.id().expect("packer pid");
    let status = std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The key events Packer's VNC driver sends for `command`, an already rendered boot command.
fn golden(command: &str) -> Vec<(u64, bool)> {
    let parsed = boot_command::parse(command).unwrap();
    boot_command::events(&parsed, Duration::ZERO)
        .filter_map(|e| match e {
            boot_command::Event::KeyDown(k) => Some((u64::from(k), true)),
            boot_command::Event::KeyUp(k) => Some((u64::from(k), false)),
            _ => None,
        })
        .collect()
}

fn keys(record: &Value) -> Vec<(u64, bool)> {
    record["key_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["keysym"].as_u64().unwrap(), k["down"].as_bool().unwrap()))
        .collect()
}

fn fill(template: &str, ip: &str, port: u16, name: &str) -> String {
    template
        .replace("{IP}", ip)
        .replace("{PORT}", &port.to_string())
        .replace("{NAME}", name)
}

/// A bare HTTP/1.0 GET: status line and body.
async fn http_get(host_port: &str, path: &str) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(host_port).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {host_port}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

/// Every key pressed was released.
fn assert_all_released(k: &[(u64, bool)]) {
    for (keysym, _) in k {
        let downs = k.iter().filter(|e| **e == (*keysym, true)).count();
        let ups = k.iter().filter(|e| **e == (*keysym, false)).count();
        assert_eq!(downs, ups, "keysym {keysym:#x} left pressed: {k:?}");
    }
}

/// The whole boot command with one Packer: waits `boot_wait`, types exactly Packer's key events
/// with `PACKER_KEY_INTERVAL` between them, and the address it typed serves the build's files.
async fn golden_build(packer: PackerUnderTest) {
    const INTERVAL_MS: u64 = 7;
    let env = env(SimConfig::default_for_tests()).await;
    let installed = InstalledPlugin::install(&packer);
    let gate = env.dir.path().join("gate");
    let vars = [
        ("boot_wait", "2s".to_string()),
        ("gate", gate.display().to_string()),
    ];
    let interval = INTERVAL_MS.to_string() + "ms";
    let child = env
        .command(
            &packer,
            &installed,
            &vars,
            &[("PACKER_KEY_INTERVAL", &interval)],
        )
        .spawn()
        .unwrap();

    // boot_wait: from the VM's appearance to the console's first connection.
    let vm_seen = env
        .wait_for("VM created", |e| (!e.vms().is_empty()).then(Instant::now))
        .await;
    let connected = env
        .wait_for("console connected", |e| {
            e.console("e2e-boot")
                .filter(|c| c["connections"] != 0)
                .map(|_| Instant::now())
        })
        .await;
    let waited = connected - vm_seen;

    // Typing done and the console closed; the build now waits at the gate with its HTTP
    // server still up. Fetch the kickstart from the address the VM was told.
    let record = env
        .wait_for("boot command typed", |e| {
            e.console("e2e-boot").filter(|c| {
                c["open"] == 0 && c["typed"].as_str().unwrap_or("").ends_with(" <enter>")
            })
        })
        .await;
    let typed = record["typed"].as_str().unwrap().to_string();
    let typed_addr = typed
        .split("inst.ks=http://")
        .nth(1)
        .and_then(|s| s.split("/ks.cfg").next())
        .unwrap_or_else(|| panic!("no kickstart URL typed: {typed}"))
        .to_string();
    let (status, body) = http_get(&typed_addr, "/ks.cfg").await;
    std::fs::write(&gate, "").unwrap();
    let out = finish(child).await;
    let all = text(&out);
    assert!(
        out.status.success(),
        "{}: build failed:\n{all}",
        packer.label
    );
    assert!(
        status.ends_with(" 200 OK"),
        "{}: {typed_addr}: {status}",
        packer.label
    );
    assert_eq!(
        body,
        std::fs::read_to_string(repo_root().join("tests/e2e/boot-http/ks.cfg")).unwrap()
    );
    assert!(
        all.contains(&format!("the VM reaches it as http://{typed_addr}/")),
        "{}: the build served another address than {typed_addr}:\n{all}",
        packer.label
    );

    let (ip, port) = typed_addr.rsplit_once(':').unwrap();
    let port: u16 = port.parse().unwrap();
    assert_eq!(
        keys(&record),
        golden(&fill(COMMAND, ip, port, "e2e-boot")),
        "{}: the VM received other keys than Packer sends",
        packer.label
    );
    assert_eq!(typed, fill(TYPED, ip, port, "e2e-boot"), "{}", packer.label);
    assert_all_released(&keys(&record));
    assert_eq!(record["connections"], 1, "{record:#}");
    assert_eq!(record["connections_by_transport"]["v4-token"], 1);

    // Timing, as lower bounds only (sleeps can only make things later): boot_wait, and the key
    // interval after each of the n events plus the command's 1 s and 300 ms waits.
    assert!(
        waited >= Duration::from_millis(1990),
        "{}: the console was reached {waited:?} after the VM appeared; boot_wait is 2s",
        packer.label
    );
    let at: Vec<u64> = record["key_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["at_ms"].as_u64().unwrap())
        .collect();
    let n = at.len() as u64;
    let span = at[at.len() - 1] - at[0];
    let least = (n - 1) * INTERVAL_MS + 1000 + 300;
    assert!(
        span + 5 >= least,
        "{}: {n} key events arrived within {span} ms; the pauses alone take {least} ms",
        packer.label
    );

    assert!(env.vms().is_empty(), "{all}");
    let images = env.new_images();
    assert_eq!(images.len(), 1, "{images:#?}");
    for line in [
        "==> nutanix.boot: Waiting 2s for boot...",
        "==> nutanix.boot: Connecting to the console of VM 'e2e-boot'...",
        "==> nutanix.boot: Typing the boot command...",
    ] {
        assert!(
            all.contains(line),
            "{}: missing {line:?}:\n{all}",
            packer.label
        );
    }
    println!(
        "{}: {n} key events typed in {span} ms (at least {least} ms of pauses); \
         boot_wait observed {waited:?}",
        packer.label
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_command_types_packers_keys_packer_1_16_protobuf() {
    golden_build(packer_116_protobuf()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boot_command_types_packers_keys_packer_1_11() {
    golden_build(packer_111()).await;
}

/// `PACKER_KEY_INTERVAL` reaches the plugin through Packer and sets the pause after each key
/// event: at 150 ms, above the 100 ms default, the keys cannot arrive sooner than 150 ms apart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packer_key_interval_sets_the_pause_between_keys() {
    let packer = packer_116_protobuf();
    let env = env(SimConfig::default_for_tests()).await;
    let installed = InstalledPlugin::install(&packer);
    let vars = [("filler", "1".to_string())];
    let child = env
        .command(
            &packer,
            &installed,
            &vars,
            &[("PACKER_KEY_INTERVAL", "150ms")],
        )
        .spawn()
        .unwrap();
    let out = finish(child).await;
    assert!(out.status.success(), "{}", text(&out));
    let record = env.released("e2e-boot").await;
    assert_eq!(record["typed"], "yyyyyyyyyy<enter>");
    let at: Vec<u64> = record["key_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["at_ms"].as_u64().unwrap())
        .collect();
    // Shift down, 10 letters down and up, Shift up, Enter down and up.
    assert_eq!(at.len(), 24);
    let span = at[23] - at[0];
    assert!(span + 5 >= 23 * 150, "24 key events within {span} ms");
    println!("PACKER_KEY_INTERVAL=150ms: 24 key events over {span} ms");
}

/// Collects a child's output while it runs, so a test can act on what the build has said.
fn collect(
    pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> (
    std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::AsyncReadExt;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let task = tokio::spawn(async move {
        let mut pipe = pipe;
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (seen, task)
}

/// Starts a build, presses Ctrl-C once `cond` holds for the simulator's state and what Packer
/// has printed so far, and checks that the build ends cancelled with nothing left; returns the
/// output, the console record, and the time from Ctrl-C to Packer's exit.
async fn interrupted(
    vars: Vec<(&str, String)>,
    cond: impl Fn(&Env, &str) -> Option<()>,
) -> (Env, Output, Option<Value>, Duration) {
    let packer = packer_116_protobuf();
    let env = env(SimConfig::default_for_tests()).await;
    let installed = InstalledPlugin::install(&packer);
    let mut child = env
        .command(&packer, &installed, &vars, &[])
        .spawn()
        .unwrap();
    let (stdout, out_task) = collect(child.stdout.take().unwrap());
    let (stderr, err_task) = collect(child.stderr.take().unwrap());
    env.wait_for("the point to interrupt", |e| {
        let printed = String::from_utf8_lossy(&stdout.lock().unwrap()).into_owned();
        cond(e, &printed)
    })
    .await;
    let pressed = Instant::now();
    ctrl_c(&child);
    let status = tokio::time::timeout(HANG_GUARD, child.wait())
        .await
        .expect("packer did not exit after Ctrl-C")
        .unwrap();
    let took = pressed.elapsed();
    out_task.await.unwrap();
    err_task.await.unwrap();
    let out = Output {
        status,
        stdout: stdout.lock().unwrap().clone(),
        stderr: stderr.lock().unwrap().clone(),
    };
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("Build cancelled: cleaning up"), "{all}");
    assert!(
        all.contains("Cleanly cancelled builds after being interrupted"),
        "{all}"
    );
    env.assert_nothing_leaked(&out);
    let record = env.console("e2e-boot");
    (env, out, record, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_boot_wait_cancels_and_cleans_up() {
    let (_env, out, record, took) = interrupted(vec![("boot_wait", "10m".into())], |e, printed| {
        (printed.contains("Waiting 10m for boot...") && !e.vms().is_empty()).then_some(())
    })
    .await;
    let all = text(&out);
    assert!(!all.contains("Connecting to the console"), "{all}");
    // The console was never opened.
    assert!(record.is_none(), "{record:#?}");
    println!("Ctrl-C during boot_wait: packer exited {took:?} after SIGINT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_while_typing_cancels_releases_the_keys_and_cleans_up() {
    let vars = vec![
        ("filler", "300".to_string()),
        ("boot_key_interval", "20ms".to_string()),
    ];
    let (env, out, _, took) = interrupted(vars, |e, _| {
        e.console("e2e-boot")
            .filter(|c| c["key_events"].as_array().is_some_and(|k| k.len() >= 20))
            .map(|_| ())
    })
    .await;
    let all = text(&out);
    assert!(all.contains("Typing the boot command..."), "{all}");
    let record = env.released("e2e-boot").await;
    let k = keys(&record);
    // Stopped part-way (3000 letters are 6002 events), Shift released, nothing held.
    assert!(k.len() < 6002, "typing went on: {} events", k.len());
    assert!(!record["typed"].as_str().unwrap().contains("<enter>"));
    assert_all_released(&k);
    assert_eq!(k.last(), Some(&(0xffe1, false)), "Shift_L released last");
    assert_eq!(record["open"], 0);
    println!(
        "Ctrl-C while typing: packer exited {took:?} after SIGINT, {} key events sent",
        k.len()
    );
}

/// A build whose console fails with `action` on every attempt must fail naming the console.
async fn failing_console(action: Value) -> (String, Duration) {
    let packer = packer_116_protobuf();
    let env = env(SimConfig::default_for_tests()).await;
    env.add_fault(json!({"match": {"path": "/vnc/"}, "action": action, "count": 0}));
    let installed = InstalledPlugin::install(&packer);
    let child = env.command(&packer, &installed, &[], &[]).spawn().unwrap();
    let connecting = env
        .wait_for("VM created", |e| (!e.vms().is_empty()).then(Instant::now))
        .await;
    let out = finish(child).await;
    let took = connecting.elapsed();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    let port = env.sim.addr().port();
    for words in [
        "Build 'nutanix.boot' errored after".to_string(),
        format!(
            "typing the boot command: could not open the VM console; v4 token websocket at \
             wss://127.0.0.1:{port}/vnc/vm/"
        ),
        format!("; then v3 websocket at wss://127.0.0.1:{port}/vnc/vm/"),
    ] {
        assert!(all.contains(&words), "missing {words:?}:\n{all}");
    }
    // The console token never shows.
    assert!(!all.contains("VmConsoleToken="), "{all}");
    env.assert_nothing_leaked(&out);
    (all, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_closing_mid_handshake_fails_the_build() {
    let (all, took) = failing_console(json!({"type": "console_close_mid_handshake"})).await;
    // Both transports tried, each closed by the server.
    assert!(
        all.matches("closed during the RFB version exchange")
            .count()
            >= 2,
        "{all}"
    );
    println!("console closing mid-handshake: the build ended {took:?} after the VM appeared");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_console_websocket_that_never_answers_fails_the_build() {
    let (all, took) = failing_console(json!({"type": "console_hang"})).await;
    assert!(
        all.contains("websocket upgrade: no answer within 10.0 s"),
        "{all}"
    );
    println!("console websocket never answering: the build ended {took:?} after the VM appeared");
}

/// examples/ubuntu-autoinstall-iso, built against the simulator: a copy of the example plus a
/// build of its source that only points it at the simulator (its CA, no communicator since no
/// installer really runs, a gate to fetch the autoinstall files while the build runs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ubuntu_autoinstall_example_types_its_boot_command() {
    const ISO: &str = "ubuntu-24.04.2-live-server-amd64.iso";
    let packer = packer_116_protobuf();
    let mut cfg = SimConfig::default_for_tests();
    cfg.inventory.images.push(ImageDef {
        name: ISO.into(),
        uuid: "c3b5e0a2-2222-4e1f-9d4b-0000000000b1".into(),
        image_type: "ISO_IMAGE".into(),
        size_bytes: 3_213_064_192,
        source_uri: None,
        description: String::new(),
        cluster_uuids: vec![defaults::CLUSTER_1_UUID.into()],
        sha256: None,
    });
    let env = env(cfg).await;
    let example = repo_root().join("examples/ubuntu-autoinstall-iso");
    let work = env.dir.path().join("example");
    copy_dir(&example, &work);
    let gate = env.dir.path().join("gate");
    std::fs::write(
        work.join("simulator.pkr.hcl"),
        format!(
            r#"build {{
  name = "simulator"
  source "source.nutanix.ubuntu" {{
    name            = "sim"
    nutanix_ca_cert = "{ca}"
    communicator    = "none"
  }}
  provisioner "shell-local" {{
    inline = ["while [ ! -e '{gate}' ]; do sleep 0.1; done"]
  }}
}}
"#,
            ca = env.ca.display(),
            gate = gate.display()
        ),
    )
    .unwrap();
    let installed = InstalledPlugin::install(&packer);
    let mut cmd = installed.packer(&packer);
    cmd.current_dir(&work)
        .env("NUTANIX_PASSWORD", "secret")
        .env("PACKER_KEY_INTERVAL", "2ms")
        .args(["build", "-color=false", "-only=simulator.nutanix.sim"])
        .args(["-var", "nutanix_endpoint=127.0.0.1"])
        .arg("-var")
        .arg(format!("nutanix_port={}", env.sim.addr().port()))
        .args([
            "-var",
            &format!("cluster_name={}", defaults::CLUSTER_1_NAME),
        ])
        .args([
            "-var",
            &format!("subnet_name={}", defaults::SUBNET_IPAM_NAME),
        ])
        .arg(".");
    let child = spawnable(cmd).spawn().unwrap();
    let record = env
        .wait_for("boot command typed", |e| {
            e.state()["consoles"]
                .as_array()
                .and_then(|c| c.first().cloned())
                .filter(|c| c["open"] == 0 && c["typed"].as_str().unwrap_or("").ends_with("<f10>"))
        })
        .await;
    let typed = record["typed"].as_str().unwrap().to_string();
    let addr = typed
        .split("s=http://")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .unwrap_or_else(|| panic!("no seed URL typed: {typed}"))
        .to_string();
    // cloud-init's nocloud-net source fetches these two from the seed URL.
    let user_data = http_get(&addr, "/user-data").await;
    let meta_data = http_get(&addr, "/meta-data").await;
    std::fs::write(&gate, "").unwrap();
    let out = finish(child).await;
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(user_data.0.ends_with(" 200 OK"), "{}", user_data.0);
    assert_eq!(
        user_data.1,
        std::fs::read_to_string(example.join("http/user-data")).unwrap()
    );
    assert!(meta_data.0.ends_with(" 200 OK"), "{}", meta_data.0);
    assert!(
        all.contains(&format!("the VM reaches it as http://{addr}/")),
        "{all}"
    );

    // The keys are what Packer types for the example's own command.
    let (ip, port) = addr.rsplit_once(':').unwrap();
    let command = example_boot_command(&example.join("build.pkr.hcl"))
        .replace("{{ .HTTPIP }}", ip)
        .replace("{{ .HTTPPort }}", port);
    assert_eq!(keys(&record), golden(&command), "{typed}");
    assert!(
        typed.starts_with("e<down><down><down><end> autoinstall"),
        "{typed}"
    );
    assert!(env.vms().is_empty(), "{all}");
    assert_eq!(env.new_images().len(), 1, "{all}");
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

/// The example's `boot_command` elements, joined (as Packer joins them), from its HCL.
fn example_boot_command(path: &Path) -> String {
    let body: hcl::Body = hcl::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let source = body
        .blocks()
        .find(|b| b.identifier() == "source")
        .expect("a source block");
    let attr = source
        .body()
        .attributes()
        .find(|a| a.key() == "boot_command")
        .expect("boot_command");
    match attr.expr() {
        hcl::Expression::Array(items) => items
            .iter()
            .map(|e| match e {
                hcl::Expression::String(s) => s.clone(),
                other => panic!("boot_command element is not a literal string: {other:?}"),
            })
            .collect(),
        other => panic!("boot_command is not a literal list: {other:?}"),
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
