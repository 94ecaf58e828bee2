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

mod defects;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_build_images_every_data_disk_and_leaves_only_the_outputs() {
    let h = harness(sim_config()).await;
    let out = h.dir.path().join("out");
    let ks = h.dir.path().join("ks.cfg");
    std::fs::write(&ks, "text\n").unwrap();
    let artifact = h
        .build(template(json!({
            "vm_disks": [
                {"image_type": "DISK_IMAGE", "source_image_name": SMALL_IMAGE},
                {"image_type": "DISK_IMAGE", "source_image_uuid": SMALL_IMAGE_UUID},
                {"image_type": "ISO_IMAGE", "source_image_name": defaults::IMAGE_ISO_NAME},
            ],
            "cd_files": [ks.display().to_string()], "cd_label": "OEMDRV",
            "vm_categories": [{"key": "Environment", "value": "Dev"}],
            "image_categories": [{"key": "OSType", "value": "ubuntu-22.04"}],
            "image_export": true, "output_directory": out.display().to_string(),
        })))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", h.console.text()))
        .expect("an artifact");
    let text = h.console.text();
    // Two data disks, two images; no VM, no CD image, no other image left behind.
    assert_eq!(artifact.images.len(), 2, "{text}");
    assert!(h.vms().is_empty(), "{text}");
    let left = h.new_images();
    let left_names: Vec<&str> = left.iter().filter_map(|i| i["name"].as_str()).collect();
    assert_eq!(left_names.len(), 2, "{left:#?}");
    assert!(left_names.contains(&"pkr-image") && left_names.contains(&"pkr-image-disk2"));
    for i in &left {
        assert_eq!(i["state"], "COMPLETE", "{i}");
    }
    let id = packer_rpc::Artifact::id(artifact.as_ref());
    for i in &left {
        assert!(id.contains(i["uuid"].as_str().unwrap()), "{id}");
    }
    // Exported files: the disk size, and named after the images.
    for name in ["pkr-image.img", "pkr-image-disk2.img"] {
        let meta = std::fs::metadata(out.join(name)).unwrap();
        assert_eq!(meta.len(), 1 << 20, "{name}");
    }
    assert_eq!(packer_rpc::Artifact::files(artifact.as_ref()).len(), 2);
    // The steps said what they did.
    for line in [
        "Creating VM 'pkr-test'",
        "Creating CD disk (label OEMDRV)",
        "Creating 2 image(s)",
        "Exporting 2 image(s)",
        "Deleting VM 'pkr-test'",
        "Deleting CD image 'pkr-test-cd.iso'",
    ] {
        assert!(text.contains(line), "missing {line:?}:\n{text}");
    }
    // Provisioners ran once with the VM's UUID as ID.
    let runs = h.hooks.runs.lock().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].0, "packer_provision");
    assert_eq!(runs[0].1["ConnType"], rmpv::Value::from("none"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_create_refused_leaves_nothing() {
    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "POST", "path": "/api/nutanix/v3/vms"},
            "action": {"type": "status", "status": 500, "message": "injected: no capacity"}}),
        ))
        .unwrap();
    let e = h
        .build(template(json!({"cd_content": {"a.txt": "a"}})))
        .await
        .unwrap_err();
    assert!(
        e.contains("creating VM 'pkr-test'") && e.contains("injected: no capacity"),
        "{e}"
    );
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_create_task_failure_deletes_the_failed_vm() {
    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "POST", "path": "/api/nutanix/v3/vms"},
            "action": {"type": "task_fail", "message": "RESOURCE_SHORTAGE: injected"}}),
        ))
        .unwrap();
    let e = h.build(template(json!({}))).await.unwrap_err();
    assert!(e.contains("RESOURCE_SHORTAGE: injected"), "{e}");
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_task_failure_deletes_every_image_and_the_vm() {
    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
            "action": {"type": "task_fail", "message": "INTERNAL_ERROR: injected snapshot failure"}})))
        .unwrap();
    let e = h
        .build(template(json!({"vm_disks": [
            {"image_type": "DISK_IMAGE", "source_image_name": SMALL_IMAGE},
            {"image_type": "DISK", "disk_size_gb": 1}]})))
        .await
        .unwrap_err();
    assert!(e.contains("injected snapshot failure"), "{e}");
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_upload_deletes_the_half_made_image() {
    let h = harness(sim_config()).await;
    let local = h.dir.path().join("local.qcow2");
    std::fs::write(&local, vec![7u8; 4096]).unwrap();
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "PUT", "path_regex": "/images/.*/file$"},
            "action": {"type": "drop"}, "count": 0}),
        ))
        .unwrap();
    let e = h
        .build(template(json!({"vm_disks": [
            {"image_type": "DISK_IMAGE", "source_image_path": local.display().to_string()}]})))
        .await
        .unwrap_err();
    assert!(e.contains("uploading") && e.contains("local.qcow2"), "{e}");
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_that_never_comes_times_out_and_cleans_up() {
    let mut cfg = sim_config();
    cfg.vm_ip = None;
    let h = harness(cfg).await;
    let e = h
        .build(template(json!({
            "communicator": "ssh", "ssh_username": "u", "ssh_password": "ssh-pass-123",
            "ip_wait_timeout": "1s",
        })))
        .await
        .unwrap_err();
    assert!(
        e.contains("no usable IP address for VM 'pkr-test' within ip_wait_timeout (1s)"),
        "{e}"
    );
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_during_a_wait_stops_it_and_cleans_up() {
    let mut cfg = sim_config();
    cfg.vm_ip = None;
    let h = harness(cfg).await;
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let console = h.console.clone();
    let watcher = tokio::spawn(async move {
        // Cancel once the build is waiting for the IP address.
        while !console.text().contains("Waiting for an IP address") {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        trigger.cancel();
    });
    let e = h
        .build_with(
            template(
                json!({"communicator": "ssh", "ssh_username": "u", "ssh_password": "ssh-pass-123"}),
            ),
            "",
            cancel,
        )
        .await
        .unwrap_err();
    watcher.await.unwrap();
    assert_eq!(e, "build cancelled");
    assert!(h.console.text().contains("Build cancelled: cleaning up"));
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_error_abort_keeps_everything_and_lists_it() {
    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
            "action": {"type": "task_fail", "message": "injected"}}),
        ))
        .unwrap();
    let e = h
        .build_with(template(json!({})), "abort", CancellationToken::new())
        .await
        .unwrap_err();
    assert!(e.contains("injected"), "{e}");
    assert_eq!(h.vms().len(), 1);
    let text = h.console.text();
    assert!(text.contains("Keeping VM 'pkr-test'"), "{text}");
    assert!(
        text.contains("-on-error asked to keep everything"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_error_ask_answered_abort_keeps_the_vm() {
    let mut h = harness(sim_config()).await;
    h.console.answer = Some("a".into());
    h.hooks = Arc::new(FakeHooks {
        fail_provision: Some("Script exited with non-zero exit status: 3".into()),
        ..FakeHooks::default()
    });
    let e = h
        .build_with(template(json!({})), "ask", CancellationToken::new())
        .await
        .unwrap_err();
    assert!(e.contains("exit status: 3"), "{e}");
    assert_eq!(h.vms().len(), 1);
    assert!(h.console.text().contains("ask: [c] Clean up and exit"));
    // Aborting skips the cleanup provisioner, as Packer's runner does.
    assert_eq!(h.hooks.runs.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioner_failure_runs_the_cleanup_provisioner_then_cleans_up() {
    let mut h = harness(sim_config()).await;
    h.hooks = Arc::new(FakeHooks {
        fail_provision: Some("Script exited with non-zero exit status: 3".into()),
        ..FakeHooks::default()
    });
    let e = h.build(template(json!({}))).await.unwrap_err();
    assert_eq!(e, "Script exited with non-zero exit status: 3");
    let names: Vec<String> = h
        .hooks
        .runs
        .lock()
        .unwrap()
        .iter()
        .map(|r| r.0.clone())
        .collect();
    assert_eq!(names, vec!["packer_provision", "packer_cleanup_provision"]);
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_retain_keeps_the_vm_and_force_delete_removes_it_on_failure() {
    let h = harness(sim_config()).await;
    let artifact = h
        .build(template(json!({"vm_retain": true, "image_skip": true})))
        .await
        .unwrap()
        .expect("the retained VM is an output");
    assert_eq!(h.vms().len(), 1);
    let vm_uuid = h.vms()[0]["uuid"].as_str().unwrap().to_string();
    assert_eq!(packer_rpc::Artifact::id(artifact.as_ref()), vm_uuid);

    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
            "action": {"type": "task_fail", "message": "injected"}}),
        ))
        .unwrap();
    h.build_with(
        template(json!({"vm_retain": true, "vm_force_delete": true})),
        "abort",
        CancellationToken::new(),
    )
    .await
    .unwrap_err();
    assert!(h.vms().is_empty(), "{}", h.console.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn image_skip_alone_gives_no_artifact_and_image_delete_leaves_no_image() {
    let h = harness(sim_config()).await;
    assert!(h
        .build(template(json!({"image_skip": true})))
        .await
        .unwrap()
        .is_none());
    h.assert_nothing_leaked();

    let h = harness(sim_config()).await;
    let out = h.dir.path().join("exp");
    let artifact = h
        .build(template(json!({
            "image_export": true, "image_delete": true,
            "output_directory": out.display().to_string(),
        })))
        .await
        .unwrap()
        .expect("exported files are an output");
    assert!(artifact.images.is_empty());
    assert_eq!(artifact.files.len(), 1);
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_category_fails_before_anything_is_created() {
    let h = harness(sim_config()).await;
    let e = h
        .build(template(
            json!({"vm_categories": [{"key": "Environment", "value": "Nope"}]}),
        ))
        .await
        .unwrap_err();
    assert!(
        e.contains("category Environment:Nope does not exist"),
        "{e}"
    );
    h.assert_nothing_leaked();
    let posts = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && !r.path.ends_with("/list"))
        .count();
    assert_eq!(posts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_content_is_served_to_provisioners_while_the_build_runs() {
    let h = harness(sim_config()).await;
    h.build(template(json!({
        "http_content": {"/ks.cfg": "kickstart text"},
        "http_bind_address": "127.0.0.1", "http_port_min": 18000, "http_port_max": 18999,
        "image_skip": true,
    })))
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", h.console.text()));
    let (addr, port) = {
        let runs = h.hooks.runs.lock().unwrap();
        let addr = runs[0].1["PackerHTTPAddr"].as_str().unwrap().to_string();
        let port: u16 = runs[0].1["PackerHTTPPort"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        (addr, port)
    };
    assert!((18000..=18999).contains(&port), "{addr}");
    assert_eq!(addr, format!("127.0.0.1:{port}"));
    let fetched = h.hooks.fetched.lock().unwrap().clone();
    assert!(fetched[0].ends_with("kickstart text"), "{fetched:?}");
    // Stopped at the end of the build.
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_mode_pauses_after_every_step() {
    let mut h = harness(sim_config()).await;
    h.console.answer = Some(String::new());
    let mut cfg = h.config(template(json!({"image_skip": true})), "");
    cfg.packer.packer_debug = true;
    // check template, resolve references, source images, create VM, connect, provision, shut down
    let steps = 7;
    execute(
        plan(cfg),
        h.client(),
        Arc::new(h.console.clone()),
        h.hooks.clone(),
        ends(CancellationToken::new()),
        String::new(),
    )
    .await
    .unwrap();
    let text = h.console.text();
    assert_eq!(
        text.matches("ask: Pausing after run of step").count(),
        steps,
        "{text}"
    );
    assert!(
        text.contains("ask: Pausing after run of step 'create VM'"),
        "{text}"
    );
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cleanup_cannot_delete_is_reported_with_its_uuid() {
    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(json!({"match": {"method": "DELETE", "path_regex": "/vms/"},
            "action": {"type": "status", "status": 403, "message": "injected: not allowed"}, "count": 0})))
        .unwrap();
    let artifact = h.build(template(json!({}))).await.unwrap();
    assert!(artifact.is_some());
    let vm = h.vms()[0]["uuid"].as_str().unwrap().to_string();
    let text = h.console.text();
    assert!(
        text.contains(&format!("error: Could not delete VM 'pkr-test' ({vm})"))
            && text.contains("injected: not allowed"),
        "{text}"
    );
    assert!(
        text.contains(&format!("delete them by hand: VM 'pkr-test' ({vm})")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_answer_is_lost_is_still_cleaned_up() {
    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "POST", "path": "/api/nutanix/v3/vms"},
            "action": {"type": "drop"}}),
        ))
        .unwrap();
    let e = h.build(template(json!({}))).await.unwrap_err();
    assert!(e.contains("whether it was created is unknown"), "{e}");
    let text = h.console.text();
    assert!(text.contains("Making sure VM 'pkr-test' ("), "{text}");
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vm_clean_cdrom_lets_a_retained_vm_drop_the_cd_image() {
    let h = harness(sim_config()).await;
    h.build(template(json!({
        "vm_retain": true, "image_skip": true, "vm_clean": {"cdrom": true},
        "cd_content": {"user-data": "#cloud-config"},
    })))
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", h.console.text()));
    assert_eq!(h.vms().len(), 1);
    assert!(h.new_images().is_empty(), "{:#?}", h.new_images());
    let text = h.console.text();
    assert!(text.contains("Removed 1 CD-ROM(s)"), "{text}");
    assert!(
        text.contains("Deleting CD image 'pkr-test-cd.iso'"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifact_state_and_destroy() {
    let h = harness(sim_config()).await;
    let out = h.dir.path().join("x");
    let artifact = h
        .build(template(json!({
            "image_export": true, "output_directory": out.display().to_string(),
        })))
        .await
        .unwrap()
        .unwrap();
    let a: &dyn packer_rpc::Artifact = artifact.as_ref();
    assert_eq!(a.builder_id(), "packer.nutanix");
    let generated = serde_json::to_value(a.state("generated_data")).unwrap();
    let image = h.new_images()[0]["uuid"].as_str().unwrap().to_string();
    assert_eq!(generated["ImageUUID"], image.as_str());
    assert_eq!(generated["SourceImageUUIDs"], SMALL_IMAGE_UUID);
    assert_eq!(generated["ClusterName"], defaults::CLUSTER_1_NAME);
    let hcp = serde_json::to_value(a.state("par.artifact.metadata")).unwrap();
    assert_eq!(hcp[0]["ImageID"], image.as_str());
    assert_eq!(hcp[0]["SourceImageID"], SMALL_IMAGE_UUID);
    assert!(a.state("unknown").is_nil());
    a.destroy().await.unwrap();
    h.assert_nothing_leaked();
    assert!(!out.join("pkr-image.img").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn project_gpu_mac_static_ip_uefi_and_cloud_init_are_accepted_by_prism() {
    let h = harness(sim_config()).await;
    h.build(template(json!({
        "project": defaults::PROJECT_DEV_NAME,
        "gpu": [{"name": defaults::GPU_NAME}],
        "vm_nics": [{"subnet_name": defaults::SUBNET_IPAM_NAME,
                     "mac_address": "50:6b:8d:aa:bb:cc", "ip_address": "10.42.100.77"}],
        "boot_type": "uefi", "serialport": true, "hardware_virtualization": true,
        "vtpm": {"enabled": true}, "os_type": "Linux", "user_data": "#cloud-config\n",
        "image_skip": true,
    })))
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", h.console.text()));
    let text = h.console.text();
    assert!(
        text.contains(&format!(
            "Project: {} ({})",
            defaults::PROJECT_DEV_NAME,
            defaults::PROJECT_DEV_UUID
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("GPU: {}", defaults::GPU_NAME)),
        "{text}"
    );
    h.assert_nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uri_source_images_are_downloaded_once_reused_and_forced() {
    let h = harness(sim_config()).await;
    let disk = |force: bool, delete: bool| {
        template(json!({"image_skip": true, "vm_disks": [{
            "image_type": "DISK_IMAGE", "source_image_uri": defaults::KNOWN_URI,
            "source_image_checksum": defaults::KNOWN_URI_SHA256, "source_image_checksum_type": "sha256",
            "source_image_force": force, "source_image_delete": delete}]}))
    };
    h.build(disk(false, false)).await.unwrap();
    let first = h.new_images();
    assert_eq!(first.len(), 1, "{first:#?}");
    assert!(h.console.text().contains("kept for reuse"));
    h.build(disk(false, false)).await.unwrap();
    assert_eq!(
        h.new_images(),
        first,
        "the second build must reuse the image"
    );
    assert!(h
        .console
        .text()
        .contains("Reusing image 'jammy-server-cloudimg-amd64.img'"));
    h.build(disk(true, true)).await.unwrap();
    // Forced: the old copy is replaced, and source_image_delete removes the new one.
    h.assert_nothing_leaked();
}
