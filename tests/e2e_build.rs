//! Whole `packer build`s with real Packer and our installed plugin against the Prism simulator
//! (HTTPS with its own CA, so the plugin's real TLS path is used): the happy path with
//! communicator "none" on Packer 1.16 and 1.11, a fault at each step, and SIGINT during waits.
//! After each build `/_sim/state` must hold exactly the expected images and no VM.

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
use std::time::Duration;

use common::*;
use prism_sim::{Fault, SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};

/// A hang guard, not a performance claim: a build that takes this long is stuck.
const HANG_GUARD: Duration = Duration::from_secs(300);

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

fn packer_116() -> PackerUnderTest {
    packers().into_iter().next().expect("packer 1.16")
}

fn packer_116_gob() -> PackerUnderTest {
    packers()
        .into_iter()
        .find(|p| p.label.contains("1.16") && p.env.contains(&("PACKER_FORCE_GOB", "1")))
        .expect("packer 1.16 gob")
}

fn packer_111() -> PackerUnderTest {
    packers()
        .into_iter()
        .find(|p| p.label.contains("1.11"))
        .expect("packer 1.11")
}

fn template(name: &str) -> PathBuf {
    repo_root().join("tests/e2e").join(name)
}

impl Env {
    fn out_dir(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// `packer build` with the simulator's address; extra `-var`s appended.
    fn command(
        &self,
        packer: &PackerUnderTest,
        installed: &InstalledPlugin,
        template: &Path,
        vars: &[(&str, String)],
        extra_args: &[&str],
    ) -> tokio::process::Command {
        let mut cmd = installed.packer(packer);
        cmd.current_dir(self.dir.path())
            .arg("build")
            .arg("-color=false")
            .args(extra_args)
            .arg("-var")
            .arg("endpoint=127.0.0.1")
            .arg("-var")
            .arg(format!("port={}", self.sim.addr().port()))
            .arg("-var")
            .arg(format!("ca_cert={}", self.ca.display()))
            .arg("-var")
            .arg(format!("output_directory={}", self.out_dir().display()));
        for (k, v) in vars {
            cmd.arg("-var").arg(format!("{k}={v}"));
        }
        cmd.arg(template);
        // Its own process group, as a terminal gives it: Ctrl-C reaches Packer's panicwrap child
        // through the group (SIGINT to the parent alone is ignored by panicwrap).
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.kill_on_drop(true)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd
    }

    async fn run(
        &self,
        packer: &PackerUnderTest,
        template: &Path,
        vars: &[(&str, String)],
        extra_args: &[&str],
    ) -> Output {
        let installed = InstalledPlugin::install(packer);
        let child = self
            .command(packer, &installed, template, vars, extra_args)
            .spawn()
            .expect("spawn packer");
        tokio::time::timeout(HANG_GUARD, child.wait_with_output())
            .await
            .expect("packer build hung")
            .expect("packer build")
    }

    fn state(&self) -> Value {
        self.sim.state_json()
    }

    fn vms(&self) -> Vec<Value> {
        self.state()["vms"].as_array().cloned().unwrap_or_default()
    }

    /// Images the build left behind (not in the inventory).
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

    /// OVAs or VM templates on the simulator.
    fn entities(&self, kind: &str) -> Vec<Value> {
        self.state()[kind].as_array().cloned().unwrap_or_default()
    }

    fn assert_nothing_leaked(&self, out: &Output) {
        let (vms, images) = (self.vms(), self.new_images());
        let (ovas, templates) = (self.entities("ovas"), self.entities("templates"));
        assert!(
            vms.is_empty() && images.is_empty() && ovas.is_empty() && templates.is_empty(),
            "leaked:\nvms: {vms:#?}\nimages: {images:#?}\novas: {ovas:#?}\ntemplates: {templates:#?}\n{}",
            text(out)
        );
    }

    fn add_fault(&self, v: Value) {
        self.sim.add_faults(Fault::from_value(v).unwrap()).unwrap();
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The happy path (a) with one Packer: every expected image exists, nothing else does, the
/// artifact lines name every image UUID, and the exported files are there.
async fn happy_path_none(packer: PackerUnderTest) {
    let env = env(SimConfig::default_for_tests()).await;
    let out = env.run(&packer, &template("none.pkr.hcl"), &[], &[]).await;
    let all = text(&out);
    assert!(
        out.status.success(),
        "{}: build failed:\n{all}",
        packer.label
    );

    assert!(env.vms().is_empty(), "{}: VM left:\n{all}", packer.label);
    let images = env.new_images();
    let mut names: Vec<&str> = images.iter().filter_map(|i| i["name"].as_str()).collect();
    names.sort();
    // Three data disks, three images; the uploaded source image (source_image_delete) and the
    // CD image are gone.
    assert_eq!(
        names,
        vec!["e2e-golden", "e2e-golden-disk2", "e2e-golden-disk3"],
        "{}:\n{all}",
        packer.label
    );
    let s = stdout(&out);
    let artifacts = s
        .split("The artifacts of successful builds are:")
        .nth(1)
        .unwrap_or_else(|| panic!("{}: no artifact section:\n{all}", packer.label));
    for image in &images {
        let uuid = image["uuid"].as_str().unwrap();
        let name = image["name"].as_str().unwrap();
        assert!(
            artifacts.contains(&format!("image '{name}' ({uuid})")),
            "{}: artifact does not name {name} {uuid}:\n{artifacts}",
            packer.label
        );
        assert_eq!(image["state"], "COMPLETE");
    }
    for (name, size) in [
        ("e2e-golden.img", 1 << 20),
        ("e2e-golden-disk2.img", 1 << 20),
        ("e2e-golden-disk3.img", 1 << 30),
    ] {
        let meta = std::fs::metadata(env.out_dir().join(name))
            .unwrap_or_else(|e| panic!("{}: {name}: {e}\n{all}", packer.label));
        assert_eq!(meta.len(), size, "{}: {name}", packer.label);
    }
    // Every step said what it did, and the provisioner saw our hook data.
    for line in [
        "==> nutanix.none: Resolving cluster, subnets, project, GPUs and categories...",
        "==> nutanix.none: Creating CD disk (label OEMDRV)...",
        "==> nutanix.none: Creating VM 'e2e-none' on cluster PE-Cluster-1...",
        "==> nutanix.none: Creating 3 image(s) from the disks of VM 'e2e-none'...",
        "==> nutanix.none: Exporting 3 image(s)",
        "==> nutanix.none: Cleaning up...",
        "on cluster PE-Cluster-1 over none",
    ] {
        assert!(
            s.contains(line),
            "{}: missing {line:?}:\n{all}",
            packer.label
        );
    }
    println!("{}: {}", packer.label, s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_none_packer_1_16() {
    happy_path_none(packer_116()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_none_packer_1_11() {
    happy_path_none(packer_111()).await;
}

/// A failure test: `fault` injected, the build must fail naming `cause`, and leave nothing.
async fn failing_build(sim: SimConfig, fault: Option<Value>, vars: &[(&str, String)], cause: &str) {
    let packer = packer_116();
    let env = env(sim).await;
    if let Some(f) = fault {
        env.add_fault(f);
    }
    let out = env.run(&packer, &template("none.pkr.hcl"), vars, &[]).await;
    let all = text(&out);
    assert!(!out.status.success(), "build should fail:\n{all}");
    assert!(
        all.contains(cause),
        "the failure should name {cause:?}:\n{all}"
    );
    assert!(all.contains("Build 'nutanix.none' errored"), "{all}");
    env.assert_nothing_leaked(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_create_failure_is_reported_and_nothing_leaks() {
    failing_build(
        SimConfig::default_for_tests(),
        Some(json!({"match": {"method": "POST", "path": "/api/nutanix/v3/vms"},
            "action": {"type": "task_fail", "message": "RESOURCE_SHORTAGE: injected by the e2e test"}})),
        &[],
        "RESOURCE_SHORTAGE: injected by the e2e test",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_task_failure_is_reported_and_nothing_leaks() {
    let packer = packer_116();
    let env = env(SimConfig::default_for_tests()).await;
    let installed = InstalledPlugin::install(&packer);
    let child = env
        .command(&packer, &installed, &template("none.pkr.hcl"), &[], &[])
        .spawn()
        .unwrap();
    // Arm the fault once the VM exists: the only image creates after that are the snapshots.
    wait_for(&env, |s| s["vms"].as_array().is_some_and(|v| !v.is_empty())).await;
    env.add_fault(json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
        "action": {"type": "task_fail", "message": "INTERNAL_ERROR: injected snapshot failure"}, "count": 0}));
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("packer build hung")
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("injected snapshot failure"), "{all}");
    env.assert_nothing_leaked(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_upload_is_reported_and_nothing_leaks() {
    failing_build(
        SimConfig::default_for_tests(),
        Some(
            json!({"match": {"method": "PUT", "path_regex": "/images/.*/file$"},
            "action": {"type": "drop"}, "count": 0}),
        ),
        &[],
        "uploading",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_that_never_comes_is_reported_and_nothing_leaks() {
    let mut sim = SimConfig::default_for_tests();
    sim.vm_ip = None;
    let packer = packer_116();
    let env = env(sim).await;
    let out = env
        .run(
            &packer,
            &template("ssh.pkr.hcl"),
            &ssh_vars(22, "", "2s"),
            &[],
        )
        .await;
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains("no usable IP address for VM 'e2e-ssh' within ip_wait_timeout (2s)"),
        "{all}"
    );
    env.assert_nothing_leaked(&out);
}

/// Polls the simulator until `cond` holds (the build reached the point a test waits for).
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

/// Starts a build, sends SIGINT to Packer once `cond` holds, and checks that the build ends
/// cancelled with nothing left.
async fn interrupted_build(
    env: Env,
    template_name: &str,
    vars: Vec<(&str, String)>,
    cond: impl Fn(&Value) -> bool,
    then_wait: Duration,
) {
    let packer = packer_116();
    let installed = InstalledPlugin::install(&packer);
    let child = env
        .command(&packer, &installed, &template(template_name), &vars, &[])
        .spawn()
        .unwrap();
    wait_for(&env, cond).await;
    tokio::time::sleep(then_wait).await;
    // What Ctrl-C in a terminal does: SIGINT to Packer's whole process group.
    let pid = child.id().expect("packer pid");
    let status = std::process::Command::new("kill")
        .args(["-INT", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(status.success());
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("packer did not exit after SIGINT")
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("Build cancelled: cleaning up"), "{all}");
    assert!(
        all.contains("Cleanly cancelled builds after being interrupted"),
        "{all}"
    );
    env.assert_nothing_leaked(&out);
    println!("{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_the_ip_wait_cancels_and_cleans_up() {
    let mut sim = SimConfig::default_for_tests();
    sim.vm_ip = None;
    let env = env(sim).await;
    let vars = ssh_vars(22, "", "30m");
    // The VM exists and is on: the build is waiting for its address.
    interrupted_build(
        env,
        "ssh.pkr.hcl",
        vars,
        |s| {
            s["vms"].as_array().is_some_and(|v| {
                v.iter()
                    .any(|vm| vm["power_state"] == "ON" && vm["state"] == "COMPLETE")
            })
        },
        Duration::ZERO,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_task_wait_cancels_and_cleans_up() {
    let mut sim = SimConfig::default_for_tests();
    // Slow tasks: the build will be waiting on the VM create task when interrupted.
    sim.task_duration = Duration::from_secs(3);
    let env = env(sim).await;
    interrupted_build(
        env,
        "none.pkr.hcl",
        vec![],
        |s| {
            s["vms"].as_array().is_some_and(|v| {
                v.iter().any(|vm| {
                    vm["tasks_in_flight"]
                        .as_array()
                        .is_some_and(|t| !t.is_empty())
                })
            })
        },
        Duration::ZERO,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_an_upload_cancels_and_cleans_up() {
    let env = env(SimConfig::default_for_tests()).await;
    // Uploads stall for a minute: the build will be in the middle of one when interrupted.
    env.add_fault(
        json!({"match": {"method": "PUT", "path_regex": "/images/.*/file$"},
        "action": {"type": "latency", "ms": 60000}, "count": 0}),
    );
    interrupted_build(
        env,
        "none.pkr.hcl",
        vec![],
        |s| {
            s["tasks"].as_array().is_some_and(|t| {
                t.iter().any(|t| {
                    t["operation_type"] == "create_image_intentful" && t["status"] == "SUCCEEDED"
                })
            })
        },
        // The PUT follows the create task at once; give it a moment to be on the wire.
        Duration::from_millis(300),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_waiting_for_ssh_cancels_and_cleans_up() {
    let env = env(SimConfig::default_for_tests()).await;
    // Nothing listens on this port: the build keeps retrying SSH until interrupted.
    let port = ssh_communicator::testing::free_port().unwrap();
    interrupted_build(
        env,
        "ssh.pkr.hcl",
        ssh_vars(port, "", "5m"),
        |s| {
            s["vms"]
                .as_array()
                .is_some_and(|v| v.iter().any(|vm| !vm["ip"].is_null()))
        },
        // ip_settle_timeout is 1s; then the SSH attempts start.
        Duration::from_millis(1500),
    )
    .await;
}

/// Variables of ssh.pkr.hcl.
fn ssh_vars(port: u16, key: &str, ip_wait: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ssh_port", port.to_string()),
        ("ssh_key", key.to_string()),
        ("ssh_user", ssh_communicator::testing::current_user()),
        ("ip_wait_timeout", ip_wait.to_string()),
    ]
}

/// (b): SSH to a throw-away loopback sshd, file and shell provisioners, a `shutdown_command`
/// that leaves the "VM" running (so the power-off fallback runs), an image made.
async fn ssh_build(packer: PackerUnderTest) {
    let sshd = ssh_communicator::testing::Sshd::start().expect("sshd");
    let key = sshd.user_key("ed25519").unwrap();
    let work = tempfile::tempdir().unwrap();
    let env = env(SimConfig::default_for_tests()).await;
    let mut vars = ssh_vars(sshd.port(), &key.display().to_string(), "5m");
    vars.push(("work_dir", work.path().display().to_string()));
    let out = env.run(&packer, &template("ssh.pkr.hcl"), &vars, &[]).await;
    let all = text(&out);
    assert!(
        out.status.success(),
        "{}: build failed:\n{all}\n--- sshd\n{}",
        packer.label,
        sshd.log()
    );
    // The file provisioner uploaded, the shell provisioner ran, the shutdown command ran.
    assert_eq!(
        std::fs::read_to_string(work.path().join("seen.txt")).unwrap(),
        "hello from packer"
    );
    assert!(std::fs::read_to_string(work.path().join("shutdown.txt"))
        .unwrap()
        .contains("shutdown requested"));
    let vm_uuid_line = format!("on host 127.0.0.1 port {} vm ", sshd.port());
    assert!(
        all.contains(&vm_uuid_line),
        "hook data not seen by the provisioner:\n{all}"
    );
    for line in [
        "Waiting for SSH to become available on 127.0.0.1:",
        "Connected to SSH!",
        "Gracefully halting VM 'e2e-ssh' with shutdown_command...",
        "is still on after shutdown_timeout (2s); powering it off",
    ] {
        assert!(all.contains(line), "missing {line:?}:\n{all}");
    }
    assert!(env.vms().is_empty(), "{all}");
    let images = env.new_images();
    assert_eq!(images.len(), 1, "{images:#?}");
    assert_eq!(images[0]["name"], "e2e-ssh-image");
    println!("{}: {}", packer.label, stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_build_runs_provisioners_and_the_shutdown_command() {
    ssh_build(packer_116()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_build_runs_provisioners_packer_1_16_gob() {
    ssh_build(packer_116_gob()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_build_runs_provisioners_packer_1_11() {
    ssh_build(packer_111()).await;
}

/// A Prism client for the simulator, to read back what the build sent.
fn sim_client(env: &Env) -> prism::PrismClient {
    let auth = prism::Auth::Basic {
        username: "admin".into(),
        password: prism::Secret::new("secret"),
    };
    let mut cfg = prism::ClientConfig::new("127.0.0.1", env.sim.addr().port(), auth);
    cfg.tls = prism::TlsOptions {
        ca_bundle_pem: Some(std::fs::read(&env.ca).unwrap()),
        danger_accept_invalid_certs: false,
    };
    cfg.use_env_proxy = false;
    prism::PrismClient::new(cfg).unwrap()
}

/// The cloud-init user_data of the build's VM, as the simulator received it.
async fn vm_user_data(env: &Env) -> String {
    use base64::Engine;
    wait_for(env, |s| s["vms"].as_array().is_some_and(|v| !v.is_empty())).await;
    let uuid = env.vms()[0]["uuid"].as_str().unwrap().to_string();
    let vm = serde_json::to_value(sim_client(env).get_vm(&uuid).await.unwrap()).unwrap();
    let b64 = vm["spec"]["resources"]["guest_customization"]["cloud_init"]["user_data"]
        .as_str()
        .unwrap_or_else(|| panic!("no cloud-init user_data in the VM spec: {vm:#}"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

/// The double-quoted list items of a cloud-config (the plugin quotes the keys it adds).
fn quoted_items(user_data: &str) -> Vec<String> {
    user_data
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- \"")?.strip_suffix('"'))
        .map(str::to_string)
        .collect()
}

/// No password, no key: the plugin generates a key pair of `key_type` ("" = Packer's default,
/// rsa) and sends its public key in user_data. The test plays cloud-init: it authorizes the key
/// it finds there on the loopback sshd, and the build must then log in with it. The provisioners
/// save the hook data's keys, which must be the same pair.
async fn ssh_build_with_a_temporary_key(
    packer: PackerUnderTest,
    key_type: &str,
    with_user_data: bool,
) {
    let sshd = ssh_communicator::testing::Sshd::start().expect("sshd");
    let work = tempfile::tempdir().unwrap();
    let env = env(SimConfig::default_for_tests()).await;
    let vars = vec![
        ("ssh_port", sshd.port().to_string()),
        ("ssh_user", ssh_communicator::testing::current_user()),
        ("work_dir", work.path().display().to_string()),
        ("key_type", key_type.to_string()),
        ("with_user_data", with_user_data.to_string()),
    ];
    let installed = InstalledPlugin::install(&packer);
    let child = env
        .command(
            &packer,
            &installed,
            &template("ssh-temp-key.pkr.hcl"),
            &vars,
            &[],
        )
        .spawn()
        .expect("spawn packer");

    let user_data = vm_user_data(&env).await;
    let keys = quoted_items(&user_data);
    let algorithm = match key_type {
        "" | "rsa" => "ssh-rsa ",
        "ed25519" => "ssh-ed25519 ",
        "ecdsa" => "ecdsa-sha2-nistp521 ",
        other => panic!("no expectation for {other}"),
    };
    let key = keys
        .first()
        .unwrap_or_else(|| panic!("no key added to user_data:\n{user_data}"))
        .clone();
    assert!(key.starts_with(algorithm), "{key}");
    assert!(user_data.starts_with("#cloud-config\n"), "{user_data}");
    if with_user_data {
        // Top level and the ssh_username entry of users:, the template's content kept.
        assert_eq!(keys, vec![key.clone(), key.clone()], "{user_data}");
        for kept in [
            "# Written by the e2e template: the plugin must keep all of this.",
            "  - ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTemplateKey e2e@template",
            "package_upgrade: no",
            "    shell: /bin/bash",
        ] {
            assert!(user_data.contains(kept), "{kept:?} lost:\n{user_data}");
        }
    } else {
        assert_eq!(keys, vec![key.clone()], "{user_data}");
    }
    sshd.authorize(&key).unwrap();

    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("packer build hung")
        .expect("packer build");
    let all = text(&out);
    assert!(
        out.status.success(),
        "{}: build failed:\n{all}\n--- sshd\n{}",
        packer.label,
        sshd.log()
    );
    let kind = if key_type.is_empty() { "rsa" } else { key_type };
    for line in [
        format!("Creating temporary {kind} SSH key for instance..."),
        "Connected to SSH!".to_string(),
        "connected with the temporary key as".to_string(),
    ] {
        assert!(
            all.contains(&line),
            "{}: missing {line:?}:\n{all}",
            packer.label
        );
    }
    assert!(
        sshd.log().contains("Accepted publickey for"),
        "{}",
        sshd.log()
    );
    // Hook data: SSHPublicKey is the authorized_keys line, SSHPrivateKey its private half.
    let public = std::fs::read_to_string(work.path().join("public_key")).unwrap();
    assert_eq!(public, format!("{key}\n"));
    let private_path = work.path().join("private_key");
    let private = std::fs::read_to_string(&private_path).unwrap();
    std::fs::set_permissions(
        &private_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let derived = std::process::Command::new("ssh-keygen")
        .arg("-y")
        .arg("-f")
        .arg(&private_path)
        .output()
        .unwrap();
    assert!(derived.status.success(), "{}", text(&derived));
    let derived = String::from_utf8_lossy(&derived.stdout);
    let fields = |s: &str| s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    assert_eq!(fields(&derived), fields(&key));
    // The private key never reaches Packer's output.
    let body = private.lines().nth(1).expect("a PEM body");
    assert!(!all.contains(body), "private key printed:\n{all}");
    assert!(env.vms().is_empty(), "{all}");
    println!("{}: {}", packer.label, stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_temporary_rsa_key_reaches_cloud_init_and_logs_in() {
    ssh_build_with_a_temporary_key(packer_116(), "", true).await;
}

/// A temporary key cannot go into a shell-script user_data: the build says so before creating
/// anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_temporary_key_refuses_script_user_data_up_front() {
    let env = env(SimConfig::default_for_tests()).await;
    let vars = [
        ("ssh_port", "22".to_string()),
        ("ssh_user", "ubuntu".to_string()),
        ("work_dir", "/tmp".to_string()),
        ("user_data", "#!/bin/sh\necho hello\n".to_string()),
    ];
    let out = env
        .run(&packer_116(), &template("ssh-temp-key.pkr.hcl"), &vars, &[])
        .await;
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    for part in [
        "this template cannot be built (nothing was created)",
        "user_data is a shell script",
        "set ssh_password, ssh_private_key_file or ssh_agent_auth",
    ] {
        assert!(all.contains(part), "missing {part:?}:\n{all}");
    }
    assert!(!all.contains("Creating temporary"), "{all}");
    env.assert_nothing_leaked(&out);
    assert!(
        env.sim
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.starts_with("/_sim")),
        "the build changed something: {:?}",
        env.sim.requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_temporary_ed25519_key_without_user_data_packer_1_11() {
    ssh_build_with_a_temporary_key(packer_111(), "ed25519", false).await;
}

/// A failing provisioner fails the build with its exit code, runs the error-cleanup provisioner,
/// and leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_failing_provisioner_fails_the_build_and_cleans_up() {
    let sshd = ssh_communicator::testing::Sshd::start().expect("sshd");
    let key = sshd.user_key("ed25519").unwrap();
    let work = tempfile::tempdir().unwrap();
    let env = env(SimConfig::default_for_tests()).await;
    let mut vars = ssh_vars(sshd.port(), &key.display().to_string(), "5m");
    vars.push(("work_dir", work.path().display().to_string()));
    vars.push(("exit_code", "3".into()));
    let out = env
        .run(&packer_116(), &template("ssh.pkr.hcl"), &vars, &[])
        .await;
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("non-zero exit status: 3"), "{all}");
    assert!(all.contains("error-cleanup-provisioner ran"), "{all}");
    assert!(
        !work.path().join("shutdown.txt").exists(),
        "shut down after a failure:\n{all}"
    );
    env.assert_nothing_leaked(&out);
}

/// (c) A VM template and an exported OVA, no images: both exist afterwards, nothing else does, the
/// OVA file is the tar Prism served (checksum as Prism reports it), and the artifact names both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_and_ova_are_created_and_the_ova_exported() {
    template_and_ova(packer_116()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_and_ova_are_created_and_the_ova_exported_packer_1_11() {
    template_and_ova(packer_111()).await;
}

async fn template_and_ova(packer: PackerUnderTest) {
    let env = env(SimConfig::default_for_tests()).await;
    let out = env
        .run(&packer, &template("outputs.pkr.hcl"), &[], &[])
        .await;
    let all = text(&out);
    assert!(out.status.success(), "build failed:\n{all}");
    assert!(env.vms().is_empty(), "VM left:\n{all}");
    assert!(
        env.new_images().is_empty(),
        "image_skip, yet images:\n{all}"
    );
    let templates = env.entities("templates");
    let ovas = env.entities("ovas");
    assert_eq!(templates.len(), 1, "{templates:#?}\n{all}");
    assert_eq!(ovas.len(), 1, "{ovas:#?}\n{all}");
    let (template, ova) = (&templates[0], &ovas[0]);
    assert_eq!(template["name"], "e2e-template");
    assert_eq!(template["description"], "golden template from packer");
    assert_eq!(ova["name"], "e2e-ova");
    assert_eq!(ova["disk_format"], "QCOW2");

    let file = env.out_dir().join("e2e-ova.ova");
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}\n{all}", file.display()));
    assert_eq!(Some(bytes.len() as u64), ova["size_bytes"].as_u64());
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };
    assert_eq!(Some(digest.as_str()), ova["sha256"].as_str());
    // A ustar archive whose first member is the OVF descriptor.
    assert_eq!(
        bytes.get(257..262),
        Some(&b"ustar"[..]),
        "not a tar archive"
    );
    let first_name = String::from_utf8_lossy(&bytes[..100]);
    assert!(
        first_name.trim_end_matches('\0').ends_with(".ovf"),
        "{first_name}"
    );

    let s = stdout(&out);
    let artifacts = s
        .split("The artifacts of successful builds are:")
        .nth(1)
        .unwrap_or_else(|| panic!("no artifact section:\n{all}"));
    let template_id = template["ext_id"].as_str().unwrap();
    let ova_uuid = ova["uuid"].as_str().unwrap();
    for line in [
        format!("VM template 'e2e-template' ({template_id})"),
        format!("OVA 'e2e-ova' ({ova_uuid}) on Prism Central"),
        format!("file {}", file.display()),
    ] {
        assert!(artifacts.contains(&line), "missing {line:?}:\n{artifacts}");
    }
    for line in [
        "==> nutanix.outputs: Creating VM template 'e2e-template' from VM 'e2e-outputs'...",
        "==> nutanix.outputs: Creating OVA 'e2e-ova' (QCOW2 disks) from VM 'e2e-outputs'...",
        "==> nutanix.outputs: Exporting OVA 'e2e-ova'",
        "(size and SHA_256 verified)",
    ] {
        assert!(s.contains(line), "missing {line:?}:\n{all}");
    }
    println!("{s}");
}

/// The OVA download keeps failing: the build fails naming it, and the template, the OVA and the
/// partial file are all removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_ova_download_removes_the_template_the_ova_and_the_file() {
    let packer = packer_116();
    let env = env(SimConfig::default_for_tests()).await;
    env.add_fault(json!({"match": {"method": "GET", "path_regex": "^/api/nutanix/v3/ovas/[^/]+/file$"},
        "action": {"type": "status", "status": 500, "message": "injected OVA read failure"}, "count": 0}));
    let out = env
        .run(&packer, &template("outputs.pkr.hcl"), &[], &[])
        .await;
    let all = text(&out);
    assert!(!out.status.success(), "build should fail:\n{all}");
    assert!(all.contains("injected OVA read failure"), "{all}");
    assert!(all.contains("Step \"export OVA\" failed"), "{all}");
    env.assert_nothing_leaked(&out);
    let left: Vec<_> = std::fs::read_dir(env.out_dir())
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "files left: {left:?}");
}

/// A template task that fails: the build says why, and nothing is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_task_failure_is_reported_and_nothing_leaks() {
    let packer = packer_116();
    let env = env(SimConfig::default_for_tests()).await;
    env.add_fault(
        json!({"match": {"method": "POST", "path": "/api/vmm/v4.0/content/templates"},
        "action": {"type": "task_fail", "message": "INTERNAL_ERROR: injected template failure"}}),
    );
    let out = env
        .run(&packer, &template("outputs.pkr.hcl"), &[], &[])
        .await;
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(all.contains("injected template failure"), "{all}");
    env.assert_nothing_leaked(&out);
}

/// SIGINT while Prism packs the OVA: the build waits for nothing more than the task's end,
/// then deletes the OVA it made and the template made before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_while_the_ova_is_packed_cancels_and_cleans_up() {
    let mut sim = SimConfig::default_for_tests();
    sim.task_duration = Duration::from_secs(2);
    let env = env(sim).await;
    interrupted_build(
        env,
        "outputs.pkr.hcl",
        vec![],
        |s| {
            s["tasks"].as_array().is_some_and(|t| {
                t.iter().any(|task| {
                    task["operation_type"]
                        .as_str()
                        .is_some_and(|op| op.to_ascii_lowercase().contains("export"))
                        && task["status"] != "SUCCEEDED"
                })
            })
        },
        Duration::from_millis(200),
    )
    .await;
}

/// The process group Packer runs in (its own, see [`Env::command`]).
fn signal_group(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Defect: with the VM's create task hung, Ctrl-C made cleanup wait forever for a deletion Prism
/// queued behind that task, and a second Ctrl-C did nothing. Now the second one ends the build
/// within seconds, naming what is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigint_ends_a_cleanup_stuck_behind_a_hung_task_naming_what_is_left() {
    let packer = packer_116();
    let env = env(SimConfig::default_for_tests()).await;
    env.add_fault(
        json!({"match": {"method": "POST", "path": "/api/nutanix/v3/vms"},
        "action": {"type": "task_hang"}}),
    );
    let installed = InstalledPlugin::install(&packer);
    let child = env
        .command(&packer, &installed, &template("none.pkr.hcl"), &[], &[])
        .spawn()
        .unwrap();
    let pid = child.id().expect("packer pid");
    wait_for(&env, |s| s["vms"].as_array().is_some_and(|v| !v.is_empty())).await;
    signal_group(pid, "-INT");
    // Cleanup is now waiting for a VM deletion that cannot start.
    wait_for(&env, |s| {
        s["tasks"].as_array().is_some_and(|t| {
            t.iter().any(|t| {
                t["operation_type"]
                    .as_str()
                    .is_some_and(|o| o.contains("delete"))
            })
        })
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = std::time::Instant::now();
    signal_group(pid, "-INT");
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("packer did not exit after the second SIGINT")
        .unwrap();
    let took = second.elapsed();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(took < Duration::from_secs(20), "took {took:?}:\n{all}");
    let vms = env.vms();
    let uuid = vms[0]["uuid"].as_str().unwrap();
    assert!(
        all.contains("Cleanup stopped by a second interrupt. Left in place, delete by hand:")
            && all.contains(&format!(
                "VM 'e2e-none' ({uuid}) (its deletion was requested"
            )),
        "{all}"
    );
    println!("second SIGINT to exit: {took:?}\n{all}");
}

/// Defect: a Ctrl-C after the images were made (here: while the successful build deletes its
/// VM) ended with Packer's "context canceled", no artifact, and the images and exported files
/// left with no word. Now the build ends cancelled and removes them, saying so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigint_after_the_images_exist_removes_them_and_says_so() {
    let packer = packer_116();
    let env = env(SimConfig::default_for_tests()).await;
    env.add_fault(json!({"match": {"method": "DELETE", "path_regex": "/vms/"},
        "action": {"type": "latency", "ms": 4000}}));
    let installed = InstalledPlugin::install(&packer);
    let child = env
        .command(&packer, &installed, &template("none.pkr.hcl"), &[], &[])
        .spawn()
        .unwrap();
    let pid = child.id().expect("packer pid");
    let last = env.out_dir().join("e2e-golden-disk3.img");
    tokio::time::timeout(HANG_GUARD, async {
        while !last.exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the export never finished");
    tokio::time::sleep(Duration::from_millis(800)).await;
    signal_group(pid, "-INT");
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("packer did not exit after SIGINT")
        .unwrap();
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(!all.contains("context canceled"), "{all}");
    assert!(all.contains("Build cancelled: cleaning up"), "{all}");
    for name in ["e2e-golden", "e2e-golden-disk2", "e2e-golden-disk3"] {
        assert!(all.contains(&format!("Deleting image '{name}'")), "{all}");
        let file = env.out_dir().join(format!("{name}.img"));
        assert!(all.contains(&file.display().to_string()), "{all}");
        assert!(!file.exists(), "{}", file.display());
    }
    env.assert_nothing_leaked(&out);
}

/// Defect: a plugin killed mid-build left a `.part` file and nothing to find its resources by.
/// Now the next build on the machine removes the partial download and names what the dead run
/// left (VM, images) with their UUIDs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_build_after_a_killed_plugin_names_its_leftovers_and_removes_the_part_file() {
    let packer = packer_116();
    let env = env(SimConfig::default_for_tests()).await;
    let installed = InstalledPlugin::install(&packer);
    // A large last disk, so its export is still running when the plugin is killed.
    let vars = [("empty_disk_gb", "16".to_string())];
    let child = env
        .command(&packer, &installed, &template("none.pkr.hcl"), &vars, &[])
        .spawn()
        .unwrap();
    let pid = child.id().expect("packer pid");
    let part = env.out_dir().join("e2e-golden-disk3.img.part");
    tokio::time::timeout(HANG_GUARD, async {
        while std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the last export never started");
    let killed = std::process::Command::new("pkill")
        .args([
            "-KILL",
            "-g",
            &pid.to_string(),
            "-f",
            "packer-plugin-nutanix",
        ])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("packer did not exit after the plugin was killed")
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    assert!(part.exists(), "the kill should leave the partial download");
    let journals = installed
        .home
        .path()
        .join(".local/state/packer-plugin-nutanix/runs");
    let listed: Vec<_> = std::fs::read_dir(&journals)
        .unwrap_or_else(|e| panic!("{}: {e}", journals.display()))
        .flatten()
        .map(|f| f.path())
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let vm_uuid = env.vms()[0]["uuid"].as_str().unwrap().to_string();
    let images: Vec<(String, String)> = env
        .new_images()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["uuid"].as_str().unwrap().to_string(),
            )
        })
        .collect();

    // The next build, on the same machine (same HOME), without exports.
    let child = env
        .command(
            &packer,
            &installed,
            &template("none.pkr.hcl"),
            &[("vm_name", "e2e-after".to_string())],
            &["-force"],
        )
        .spawn()
        .unwrap();
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("the next build hung")
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(!part.exists(), "{all}");
    assert!(
        all.contains(&format!("Removed {}", part.display())),
        "{all}"
    );
    assert!(
        all.contains(
            "was stopped before it could clean up (the plugin process ended) and may have left:"
        ),
        "{all}"
    );
    assert!(all.contains(&format!("VM 'e2e-none' ({vm_uuid})")), "{all}");
    for (name, uuid) in images.iter().filter(|(n, _)| n.starts_with("e2e-golden")) {
        assert!(all.contains(&format!("'{name}' ({uuid})")), "{all}");
    }
}
