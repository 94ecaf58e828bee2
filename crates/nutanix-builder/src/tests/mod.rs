//! Whole builds against the in-process simulator, without Packer: every step, the ledger's
//! policies, faults at each step, and cancellation. (tests/e2e_build.rs runs the same kind of
//! builds through real Packer.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use packer_rpc::CancellationToken;
use prism_sim::inventory::defaults;
use prism_sim::{Fault, SimConfig, SimHandle, Simulator};
use serde_json::{json, Value};

mod boot;
mod builds;
mod defects;
mod failures;

use super::artifact::NutanixArtifact;
use crate::context::Hooks;
use crate::plan::BuildPlan;
use crate::run::{execute, Ends};
use crate::ui::testing::RecordingConsole;

/// Records hook runs; fails `packer_provision` when told to.
#[derive(Default)]
struct FakeHooks {
    runs: Mutex<Vec<(String, packer_rpc::HookData)>>,
    fetched: Mutex<Vec<String>>,
    fail_provision: Option<String>,
}

#[async_trait]
impl Hooks for FakeHooks {
    async fn run(
        &self,
        name: &str,
        data: packer_rpc::HookData,
        _comm: Arc<dyn packer_rpc::Communicator>,
    ) -> Result<(), String> {
        // Like a provisioner that fetches from the build's HTTP server.
        if let Some(rmpv::Value::String(addr)) = data.get("PackerHTTPAddr") {
            let addr = addr.as_str().unwrap_or_default().to_string();
            if !addr.starts_with("ERR_") {
                let body = http_get(&addr, "/ks.cfg").await;
                self.fetched.lock().unwrap().push(body);
            }
        }
        self.runs.lock().unwrap().push((name.to_string(), data));
        match (&self.fail_provision, name) {
            (Some(m), "packer_provision") => Err(m.clone()),
            _ => Ok(()),
        }
    }
}

/// A bare HTTP/1.0 GET, returning the whole response.
async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

struct Harness {
    sim: SimHandle,
    console: RecordingConsole,
    hooks: Arc<FakeHooks>,
    inventory_images: Vec<String>,
    dir: tempfile::TempDir,
}

/// A small disk image, so exports stay small.
const SMALL_IMAGE: &str = "small-disk.qcow2";
const SMALL_IMAGE_UUID: &str = "c3b5e0a2-2222-4e1f-9d4b-0000000000aa";

fn sim_config() -> SimConfig {
    let mut cfg = SimConfig::default_for_tests();
    cfg.task_duration = Duration::from_millis(20);
    cfg.ip_delay = Duration::from_millis(20);
    cfg.inventory.images.push(prism_sim::inventory::ImageDef {
        name: SMALL_IMAGE.into(),
        uuid: SMALL_IMAGE_UUID.into(),
        image_type: "DISK_IMAGE".into(),
        size_bytes: 1 << 20,
        source_uri: None,
        description: String::new(),
        cluster_uuids: vec![defaults::CLUSTER_1_UUID.into()],
        sha256: None,
    });
    cfg
}

async fn harness(cfg: SimConfig) -> Harness {
    let inventory_images = cfg
        .inventory
        .images
        .iter()
        .map(|i| i.uuid.clone())
        .collect();
    Harness {
        sim: Simulator::start(cfg).await.unwrap(),
        console: RecordingConsole::default(),
        hooks: Arc::new(FakeHooks::default()),
        inventory_images,
        dir: tempfile::tempdir().unwrap(),
    }
}

/// A template: a small image disk, communicator none, plus `extra`.
fn template(extra: Value) -> Value {
    let mut body = json!({
        "nutanix_endpoint": "unused.example", "nutanix_username": "admin",
        "nutanix_password": "secret", "cluster_name": defaults::CLUSTER_1_NAME,
        "communicator": "none", "vm_name": "pkr-test", "image_name": "pkr-image",
        "vm_disks": [{"image_type": "DISK_IMAGE", "source_image_name": SMALL_IMAGE}],
        "vm_nics": [{"subnet_name": defaults::SUBNET_IPAM_NAME}],
        "ip_settle_timeout": "0s", "shutdown_timeout": "30s",
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

/// A build's ends with only Packer's cancel in play.
fn ends(cancel: CancellationToken) -> Ends {
    Ends {
        cancel,
        stop_cleanup: CancellationToken::new(),
        cleanup_deadline: Duration::from_secs(900),
        journal_dir: None,
    }
}

/// The plan Prepare makes of a configuration.
fn plan(cfg: nutanix_config::Config) -> BuildPlan {
    BuildPlan::new(cfg, None).unwrap_or_else(|e| panic!("{e}"))
}

impl Harness {
    fn config(&self, body: Value, on_error: &str) -> nutanix_config::Config {
        let packer = packer_schema::PackerVars {
            on_error: on_error.to_string(),
            build_name: "test".into(),
            ..Default::default()
        };
        nutanix_config::prepare(&packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer,
            configs: vec![body],
        })
        .unwrap_or_else(|e| panic!("template: {e}"))
        .config
    }

    fn client(&self) -> prism::PrismClient {
        let auth = prism::Auth::basic("admin", "secret");
        let mut c = prism::ClientConfig::from_base_url(&self.sim.base_url(), auth).unwrap();
        c.retry.initial_delay = Duration::from_millis(10);
        prism::PrismClient::new(c).unwrap()
    }

    async fn build_with(
        &self,
        body: Value,
        on_error: &str,
        cancel: CancellationToken,
    ) -> Result<Option<Arc<NutanixArtifact>>, String> {
        let cfg = self.config(body, on_error);
        execute(
            plan(cfg),
            self.client(),
            Arc::new(self.console.clone()),
            self.hooks.clone(),
            ends(cancel),
            "run-uuid".into(),
        )
        .await
    }

    async fn build(&self, body: Value) -> Result<Option<Arc<NutanixArtifact>>, String> {
        self.build_with(body, "", CancellationToken::new()).await
    }

    fn state(&self) -> Value {
        self.sim.state_json()
    }

    fn vms(&self) -> Vec<Value> {
        self.state()["vms"].as_array().cloned().unwrap_or_default()
    }

    /// Images the build created (not in the inventory).
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

    fn assert_nothing_leaked(&self) {
        let vms = self.vms();
        let images = self.new_images();
        assert!(
            vms.is_empty() && images.is_empty(),
            "leaked:\nvms: {vms:#?}\nimages: {images:#?}\n--- output\n{}",
            self.console.text()
        );
    }
}

fn fault(v: Value) -> Vec<Fault> {
    Fault::from_value(v).unwrap()
}
