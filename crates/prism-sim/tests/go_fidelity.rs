//! Simulator fidelity: the real Go packer-plugin-nutanix v1.2.1 (its Prism v3 line) runs a
//! whole `packer build` against the simulator over HTTPS: CD upload, VM create with categories,
//! project, cloud-init, IP wait, power-off, one image per disk, cleanup.
//!
//! Opt-in because it needs peers built by `scripts/build-peers.sh packer-1.16 go-nutanix`
//! (into ~/.cache/packer-plugin-nutanix/peers) and xorriso or mkisofs, and takes ~40 s (the Go
//! plugin polls every 5 s): `cargo test -p prism-sim --test go_fidelity -- --ignored`.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

use prism_sim::inventory::defaults as d;
use prism_sim::{SimConfig, Simulator};

fn peer(name: &str) -> PathBuf {
    let dir = std::env::var_os("PEER_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME"))
                .join(".cache/packer-plugin-nutanix/peers")
        });
    let p = dir.join(name);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/build-peers.sh packer-1.16 go-nutanix",
        p.display()
    );
    p
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs Packer 1.16 and the Go plugin v1.2.1 from scripts/build-peers.sh; ~40 s"]
async fn go_plugin_v1_2_1_builds_against_the_simulator() {
    let packer = peer("packer-1.16.0");
    let go_plugin = peer("packer-plugin-nutanix-go-1.2.1");
    let plugins = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let install = Command::new(&packer)
        .args(["plugins", "install", "--path"])
        .arg(&go_plugin)
        .arg("github.com/nutanix-cloud-native/nutanix")
        .env("PACKER_PLUGIN_PATH", plugins.path())
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );

    let mut cfg = SimConfig::default_for_tests();
    cfg.tls = true;
    cfg.task_duration = std::time::Duration::from_millis(200);
    let sim = Simulator::start(cfg).await.unwrap();
    let template = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/go_fidelity/build.pkr.hcl"
    );
    let port = sim.addr().port().to_string();
    // The closure gets the path only: `work` must outlive the build to read its files.
    let work_dir = work.path().to_path_buf();
    let build_dir = work_dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&packer)
            .args([
                "build",
                "-machine-readable",
                "-var",
                &format!("port={port}"),
                template,
            ])
            .current_dir(&build_dir)
            .env("PACKER_PLUGIN_PATH", plugins.path())
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "packer build failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("artifact,0,string,go-fidelity-image"),
        "{stdout}"
    );

    // The Go v3 line does not await its deletes: let the last tasks finish (bounded).
    for _ in 0..100 {
        let done = sim.state_json()["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["status"] == "SUCCEEDED" || t["status"] == "FAILED");
        if done {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let st = sim.state_json();
    assert_eq!(st["vms"], serde_json::json!([]), "the build VM was deleted");
    let images: Vec<(String, u64)> = st["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["size_bytes"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    // The 5 inventory images plus one per SCSI disk; the uploaded CD image was cleaned up.
    assert_eq!(images.len(), 7, "{images:?}");
    assert!(
        images.contains(&("go-fidelity-image".into(), 40 << 30)),
        "{images:?}"
    );
    assert!(
        images.contains(&("go-fidelity-image-disk2".into(), 10 << 30)),
        "{images:?}"
    );
    assert!(images
        .iter()
        .any(|(n, s)| n == d::IMAGE_DISK_NAME && *s == d::IMAGE_DISK_SIZE));
    let tasks = st["tasks"].as_array().unwrap();
    assert!(tasks.iter().all(|t| t["status"] != "FAILED"), "{tasks:?}");
    // The OVA the Go plugin found through /groups and downloaded, and its v4 template.
    let ovas = st["ovas"].as_array().unwrap();
    assert_eq!(ovas.len(), 1, "{ovas:?}");
    assert_eq!(ovas[0]["name"], "go-fidelity-ova");
    let ova_file = std::fs::read(work_dir.join("go-fidelity-ova.ova")).unwrap();
    assert_eq!(Some(ova_file.len() as u64), ovas[0]["size_bytes"].as_u64());
    let templates = st["templates"].as_array().unwrap();
    assert_eq!(templates.len(), 1, "{templates:?}");
    assert_eq!(templates[0]["name"], "go-fidelity-template");
    let reqs = sim.requests();
    assert!(reqs
        .iter()
        .any(|r| r.method == "POST" && r.path.ends_with("/groups")));
    assert!(reqs
        .iter()
        .any(|r| r.method == "PUT" && r.path.ends_with("/file") && r.status == 200));
    assert!(reqs.iter().all(|r| r.status < 400), "{reqs:?}");
    sim.shutdown().await;
}
