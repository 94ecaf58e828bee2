//! Helpers shared by the console tests: a simulator with a VM, a target for it, what its
//! console recorded, and small fake servers.

#![allow(dead_code)]

use std::time::Duration;

use prism::{Auth, Scheme, TlsOptions};
use prism_sim::inventory::defaults as d;
use prism_sim::{SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};
use tokio::time::Instant;
use vnc_console::{ConsoleTarget, ProxySetting, Transport};

pub fn init() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()))
        .with_test_writer()
        .try_init();
}

pub async fn sim(tls: bool, console_password: Option<&str>) -> SimHandle {
    init();
    let mut cfg = SimConfig::default_for_tests();
    cfg.tls = tls;
    cfg.console_password = console_password.map(String::from);
    Simulator::start(cfg).await.expect("simulator starts")
}

fn http(sim: &SimHandle) -> reqwest::Client {
    let mut b = reqwest::Client::builder();
    if let Some(pem) = sim.ca_pem() {
        let config = prism::tls::client_config(&TlsOptions {
            ca_bundle_pem: Some(pem.into_bytes()),
            danger_accept_invalid_certs: false,
        })
        .unwrap();
        b = b.tls_backend_preconfigured(config);
    }
    b.build().unwrap()
}

/// Creates a VM (powered on or off) and waits until it exists; returns its and its cluster's
/// UUID.
pub async fn vm(sim: &SimHandle, name: &str, on: bool) -> (String, String) {
    let c = http(sim);
    let body = json!({"metadata": {"kind": "vm"}, "spec": {"name": name,
        "cluster_reference": {"kind": "cluster", "uuid": d::CLUSTER_1_UUID},
        "resources": {"power_state": if on { "ON" } else { "OFF" },
            "disk_list": [{"disk_size_mib": 1024}],
            "nic_list": [{"subnet_reference": {"kind": "subnet", "uuid": d::SUBNET_DUP_1_UUID}}]}}});
    let r: Value = c
        .post(format!("{}/api/nutanix/v3/vms", sim.base_url()))
        .basic_auth("admin", Some("secret"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let uuid = r["metadata"]["uuid"].as_str().expect("vm uuid").to_string();
    for _ in 0..200 {
        let v: Value = c
            .get(format!("{}/api/nutanix/v3/vms/{uuid}", sim.base_url()))
            .basic_auth("admin", Some("secret"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["status"]["state"] == "COMPLETE" {
            return (uuid, d::CLUSTER_1_UUID.to_string());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("VM {uuid} never became COMPLETE");
}

/// A target for the simulator's VM, trusting its CA, without proxies.
pub fn target(sim: &SimHandle, vm: &str, cluster: &str, transports: &[Transport]) -> ConsoleTarget {
    let addr = sim.addr();
    let mut t = ConsoleTarget::new(
        addr.ip().to_string(),
        addr.port(),
        Auth::basic("admin", "secret"),
        vm,
        Some(cluster.to_string()),
    );
    t.scheme = if sim.ca_pem().is_some() {
        Scheme::Https
    } else {
        Scheme::Http
    };
    t.tls.ca_bundle_pem = sim.ca_pem().map(String::into_bytes);
    t.proxy = ProxySetting::Direct;
    t.transports = transports.to_vec();
    t
}

/// What the simulator recorded for the VM's console.
pub fn console_state(sim: &SimHandle, vm: &str) -> Value {
    let state = sim.state_json();
    state["vms"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["uuid"] == vm)
        .map(|v| v["console"].clone())
        .unwrap_or(Value::Null)
}

/// Waits until the recorded typed text is `want` (the server records asynchronously).
pub async fn wait_typed(sim: &SimHandle, vm: &str, want: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..250 {
        last = console_state(sim, vm);
        if last["typed"] == want {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("console of {vm} recorded {last}, wanted typed {want:?}");
}

pub fn deadline(secs: u64) -> Instant {
    Instant::now() + Duration::from_secs(secs)
}

/// Types `text` as Packer's VNC driver does: Shift around upper-case letters and shifted
/// symbols, each key down then up.
pub async fn type_text(console: &vnc_console::Console, text: &str) {
    use vnc_console::rfb::keysym;
    for ch in text.chars() {
        let shifted = ch.is_ascii_uppercase() || "~!@#$%^&*()_+{}|:\"<>?".contains(ch);
        if shifted {
            console.key(keysym::SHIFT_L, true).await.unwrap();
        }
        let k = if ch == '\n' {
            keysym::RETURN
        } else {
            ch as u32
        };
        console.key(k, true).await.unwrap();
        console.key(k, false).await.unwrap();
        if shifted {
            console.key(keysym::SHIFT_L, false).await.unwrap();
        }
    }
}

/// The path of `binary`, installing Debian's `package` when it is missing. Panics when it
/// cannot be installed: a test that needs a real peer never skips.
pub fn ensure_apt(binary: &str, package: &str) -> std::path::PathBuf {
    let find = || {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(binary))
                .find(|p| p.is_file())
        })
    };
    if let Some(p) = find() {
        return p;
    }
    let run = |args: &[&str]| {
        let status = std::process::Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "apt-get {args:?} failed ({status:?}); {package} is needed for this test"
        );
    };
    run(&["update", "-qq"]);
    run(&["install", "-y", "-qq", "--no-install-recommends", package]);
    find().unwrap_or_else(|| panic!("{binary} is still missing after installing {package}"))
}
