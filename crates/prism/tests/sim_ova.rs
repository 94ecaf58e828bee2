//! OVA export and VM templates against the simulator (contract: the OVA/template REST contract
//! shared with crates/prism-sim): the happy paths end to end, errors quoting Prism, and the
//! retry rules applied to the new calls exactly as to the v3 ones.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::Path;
use std::time::Duration;

use prism::models::*;
use prism::{DownloadOptions, NewTemplate, OvaDiskFormat, PrismClient, PrismError, Wait};
use prism_sim::inventory::defaults::*;
use serde_json::{json, Value};
use sha2::Digest;
use support::*;

fn wait() -> Wait {
    Wait::new(Duration::from_secs(60))
}

/// A powered-off VM with one small data disk and a CD-ROM (which an OVA must not contain).
fn vm_input(name: &str) -> VmIntentInput {
    let device = |device_type, adapter, index| {
        Some(DeviceProperties {
            device_type: Some(device_type),
            disk_address: Some(DiskAddress {
                adapter_type: Some(adapter),
                device_index: Some(index),
                ..Default::default()
            }),
            ..Default::default()
        })
    };
    VmIntentInput {
        api_version: None,
        metadata: Metadata::of_kind("vm"),
        spec: VmSpec {
            name: name.into(),
            cluster_reference: Some(Reference::new("cluster", CLUSTER_1_UUID)),
            resources: VmResources {
                num_sockets: Some(1),
                num_vcpus_per_socket: Some(1),
                memory_size_mib: Some(1024),
                power_state: Some(PowerState::Off),
                disk_list: Some(vec![
                    VmDisk {
                        device_properties: device(DeviceType::Disk, AdapterType::Scsi, 0),
                        disk_size_mib: Some(2),
                        ..Default::default()
                    },
                    VmDisk {
                        device_properties: device(DeviceType::Cdrom, AdapterType::Sata, 0),
                        data_source_reference: Some(Reference::new("image", IMAGE_ISO_UUID)),
                        ..Default::default()
                    },
                ]),
                ..Default::default()
            },
            ..Default::default()
        },
    }
}

async fn new_vm(client: &PrismClient, name: &str) -> String {
    client
        .create_vm(&vm_input(name), &wait())
        .await
        .unwrap()
        .uuid()
        .unwrap()
        .to_string()
}

async fn export(client: &PrismClient, vm: &str, name: &str, format: OvaDiskFormat) -> String {
    let task = client.submit_vm_export(vm, name, format).await.unwrap();
    client
        .wait_task_with(&task, &format!("export {name}"), &wait())
        .await
        .unwrap();
    task
}

fn sha256_file(path: &Path) -> String {
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path).unwrap();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hex::encode(hasher.finalize())
}

/// The member names of a POSIX ustar archive (read by hand: 512-byte headers, octal sizes).
fn tar_members(bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = 0usize;
    while at + 512 <= bytes.len() {
        let header = &bytes[at..at + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let field = |range: std::ops::Range<usize>| {
            let raw = &header[range];
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            String::from_utf8_lossy(&raw[..end]).trim().to_string()
        };
        let prefix = field(345..500);
        let name = field(0..100);
        names.push(if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        });
        let size = u64::from_str_radix(&field(124..136), 8).unwrap() as usize;
        at += 512 + size.div_ceil(512) * 512;
    }
    names
}

fn sim_list<'a>(state: &'a Value, key: &str) -> &'a [Value] {
    state[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// OVA

#[tokio::test]
async fn export_find_download_verify_and_delete_an_ova() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "ova-src").await;
    export(c, &vm, "golden-ova", OvaDiskFormat::Vmdk).await;

    let ova = c
        .find_vm_ova("golden-ova", &vm)
        .await
        .unwrap()
        .expect("the OVA exists once its task succeeded");
    assert_eq!(ova.name, "golden-ova");
    assert_eq!(ova.parent_vm_uuid.as_deref(), Some(vm.as_str()));
    let (algorithm, digest) = ova.checksum.clone().expect("Prism reports a checksum");
    assert_eq!(algorithm, ChecksumAlgorithm::Sha256);
    assert_eq!(c.get_ova(&ova.uuid).await.unwrap(), ova);
    assert_eq!(c.ovas_named("golden-ova").await.unwrap(), vec![ova.clone()]);
    assert_eq!(
        c.find_vm_ova("golden-ova", "another-vm").await.unwrap(),
        None
    );

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("golden-ova.ova");
    let report = c
        .download_ova_file(
            &ova.uuid,
            &dest,
            &DownloadOptions {
                verify: ova.checksum.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(report.sha256, digest);
    assert_eq!(
        sha256_file(&dest),
        digest,
        "the file on disk is what was hashed"
    );
    assert_eq!(report.bytes, std::fs::metadata(&dest).unwrap().len());
    if let Some(size) = ova.size_bytes {
        assert_eq!(size, report.bytes);
    }
    assert!(!dir.path().join("golden-ova.ova.part").exists());
    // The archive: the OVF descriptor first, then one VMDK per data disk (not the CD-ROM).
    let members = tar_members(&std::fs::read(&dest).unwrap());
    assert_eq!(members.len(), 2, "{members:?}");
    assert!(members[0].ends_with(".ovf"), "{members:?}");
    assert!(members[1].ends_with(".vmdk"), "{members:?}");

    // The simulator agrees on what exists and on its digest.
    let state = env.state().await;
    let recorded = sim_list(&state, "ovas")
        .iter()
        .find(|o| o["uuid"] == ova.uuid.as_str())
        .expect("in /_sim/state");
    assert_eq!(recorded["sha256"], digest.as_str());

    c.delete_ova(&ova.uuid, &wait()).await.unwrap();
    assert!(c.get_ova(&ova.uuid).await.unwrap_err().is_not_found());
    assert!(c.ovas_named("golden-ova").await.unwrap().is_empty());
    // Repeating a cleanup is harmless.
    c.delete_ova(&ova.uuid, &wait()).await.unwrap();
}

#[tokio::test]
async fn qcow2_export_names_qcow2_disks_and_parent_vm_is_told_apart() {
    let env = start().await;
    let c = &env.client;
    let vm1 = new_vm(c, "qcow-src-1").await;
    let vm2 = new_vm(c, "qcow-src-2").await;
    export(c, &vm1, "same-name", OvaDiskFormat::Qcow2).await;
    export(c, &vm2, "same-name", OvaDiskFormat::Vmdk).await;

    let both = c.ovas_named("same-name").await.unwrap();
    assert_eq!(both.len(), 2);
    let of1 = c.find_vm_ova("same-name", &vm1).await.unwrap().unwrap();
    let of2 = c.find_vm_ova("same-name", &vm2).await.unwrap().unwrap();
    assert_ne!(of1.uuid, of2.uuid);
    assert_eq!(of1.parent_vm_uuid.as_deref(), Some(vm1.as_str()));

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("q.ova");
    c.download_ova_file(&of1.uuid, &dest, &DownloadOptions::default())
        .await
        .unwrap();
    let members = tar_members(&std::fs::read(&dest).unwrap());
    assert!(
        members.iter().skip(1).all(|m| m.ends_with(".qcow2")),
        "{members:?}"
    );
}

#[tokio::test]
async fn ova_lookup_walks_every_page_and_checks_names_exactly() {
    let env = start().await;
    let mut config = config_for(&env.base, "admin", "secret");
    config.page_size = 1;
    let c = PrismClient::new(config).unwrap();
    let vm = new_vm(&c, "paged-src").await;
    for name in ["paged", "paged", "paged", "paged-not"] {
        export(&c, &vm, name, OvaDiskFormat::Vmdk).await;
    }
    let found = c.ovas_named("paged").await.unwrap();
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|o| o.name == "paged"));
    assert!(
        env.count("POST", "/ovas/list").await >= 3,
        "one page per entity"
    );
}

#[tokio::test]
async fn export_errors_quote_prism_and_a_failed_task_leaves_no_ova() {
    let env = start().await;
    let c = &env.client;
    match c
        .submit_vm_export(
            "c3b5e0a2-2222-4e1f-9d4b-0000000000aa",
            "x",
            OvaDiskFormat::Vmdk,
        )
        .await
    {
        Err(e) => assert!(e.is_not_found(), "{e}"),
        Ok(t) => panic!("task {t} for an unknown VM"),
    }
    let vm = new_vm(c, "fail-src").await;
    match c.submit_vm_export(&vm, "", OvaDiskFormat::Vmdk).await {
        Err(e @ PrismError::Api { status: 422, .. }) => {
            assert!(e.to_string().contains("name"), "{e}")
        }
        other => panic!("{other:?}"),
    }

    env.fault(
        json!({"match": {"method": "POST", "path_regex": "/vms/[^/]+/export$"},
        "action": {"type": "task_fail", "message": "INTERNAL_ERROR: export exploded"}, "count": 1}),
    )
    .await;
    let task = c
        .submit_vm_export(&vm, "doomed", OvaDiskFormat::Vmdk)
        .await
        .unwrap();
    match c.wait_task_with(&task, "export doomed", &wait()).await {
        Err(e @ PrismError::TaskFailed { .. }) => {
            assert!(e.to_string().contains("export exploded"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(c.ovas_named("doomed").await.unwrap().is_empty());
    assert_eq!(c.find_vm_ova("doomed", &vm).await.unwrap(), None);
}

#[tokio::test]
async fn export_is_sent_once_when_the_connection_drops_but_retried_after_429() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "drop-src").await;
    env.fault(
        json!({"match": {"method": "POST", "path_regex": "/export$"},
        "action": {"type": "drop"}, "count": 1}),
    )
    .await;
    match c
        .submit_vm_export(&vm, "dropped", OvaDiskFormat::Vmdk)
        .await
    {
        Err(e @ PrismError::CreateOutcomeUnknown { .. }) => {
            assert!(e.to_string().contains("dropped"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        env.count("POST", "/export").await,
        1,
        "never sent twice blindly"
    );

    // A 503 is an answer after processing may have started: reported, not retried.
    env.fault(
        json!({"match": {"method": "POST", "path_regex": "/export$"},
        "action": {"type": "status", "status": 503, "message": "busy exporting"}, "count": 1}),
    )
    .await;
    match c.submit_vm_export(&vm, "busy", OvaDiskFormat::Vmdk).await {
        Err(e @ PrismError::Api { status: 503, .. }) => {
            assert!(e.to_string().contains("busy exporting"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.count("POST", "/export").await, 2);

    // 429: Prism refused it unprocessed, so it is sent again.
    env.fault(
        json!({"match": {"method": "POST", "path_regex": "/export$"},
        "action": {"type": "rate_limit", "retry_after_secs": 0}, "count": 1}),
    )
    .await;
    export(c, &vm, "after-429", OvaDiskFormat::Vmdk).await;
    assert_eq!(env.count("POST", "/export").await, 4);
    assert_eq!(c.ovas_named("after-429").await.unwrap().len(), 1);
}

#[tokio::test]
async fn ova_reads_and_downloads_survive_transient_faults() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "flaky-src").await;
    export(c, &vm, "flaky", OvaDiskFormat::Vmdk).await;
    env.fault(
        json!({"match": {"method": "POST", "path": "/api/nutanix/v3/ovas/list"},
        "action": {"type": "status", "status": 503, "message": "busy"}, "count": 1}),
    )
    .await;
    env.fault(
        json!({"match": {"method": "GET", "path_regex": "/ovas/[^/]+$"},
        "action": {"type": "drop"}, "count": 1}),
    )
    .await;
    let ova = c.find_vm_ova("flaky", &vm).await.unwrap().unwrap();
    assert_eq!(c.get_ova(&ova.uuid).await.unwrap().uuid, ova.uuid);

    env.fault(
        json!({"match": {"method": "GET", "path_regex": "/ovas/[^/]+/file$"},
        "action": {"type": "status", "status": 503, "message": "busy"}, "count": 1}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("flaky.ova");
    let report = c
        .download_ova_file(
            &ova.uuid,
            &dest,
            &DownloadOptions {
                verify: ova.checksum.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(report.attempts, 2);

    // A wrong digest or size fails the download and leaves neither the file nor a .part.
    let bad = dir.path().join("bad.ova");
    let wrong = "0".repeat(64);
    match c
        .download_ova_file(
            &ova.uuid,
            &bad,
            &DownloadOptions {
                verify: Some((ChecksumAlgorithm::Sha256, wrong)),
                ..Default::default()
            },
        )
        .await
    {
        Err(PrismError::ChecksumMismatch { actual, .. }) => {
            assert_eq!(Some(actual), ova.checksum.clone().map(|c| c.1))
        }
        other => panic!("{other:?}"),
    }
    match c
        .download_ova_file(
            &ova.uuid,
            &bad,
            &DownloadOptions {
                expected_size: Some(report.bytes + 1),
                ..Default::default()
            },
        )
        .await
    {
        Err(PrismError::SizeMismatch { actual, .. }) => assert_eq!(actual, report.bytes),
        other => panic!("{other:?}"),
    }
    assert!(!bad.exists() && !dir.path().join("bad.ova.part").exists());
}

#[tokio::test]
async fn ova_delete_waits_for_its_task_and_reports_its_failure() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "del-src").await;
    export(c, &vm, "keep-me", OvaDiskFormat::Vmdk).await;
    let ova = c.find_vm_ova("keep-me", &vm).await.unwrap().unwrap();
    env.fault(
        json!({"match": {"method": "DELETE", "path_regex": "/ovas/"},
        "action": {"type": "task_fail", "message": "INTERNAL_ERROR: OVA is locked"}, "count": 1}),
    )
    .await;
    match c.delete_ova(&ova.uuid, &wait()).await {
        Err(e @ PrismError::TaskFailed { .. }) => {
            assert!(e.to_string().contains("OVA is locked"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.get_ova(&ova.uuid).await.unwrap().uuid, ova.uuid);
    // A DELETE is idempotent: a 503 on it is retried.
    env.fault(
        json!({"match": {"method": "DELETE", "path_regex": "/ovas/"},
        "action": {"type": "status", "status": 503}, "count": 1}),
    )
    .await;
    c.delete_ova(&ova.uuid, &wait()).await.unwrap();
    assert!(c.get_ova(&ova.uuid).await.unwrap_err().is_not_found());
}

// ---------------------------------------------------------------------------------------------
// VM templates (v4)

fn new_template(name: &str, vm: &str) -> NewTemplate {
    NewTemplate {
        name: name.into(),
        description: "built by Packer".into(),
        vm_uuid: vm.into(),
    }
}

async fn create_template(client: &PrismClient, name: &str, vm: &str) {
    let task = client
        .submit_template(&new_template(name, vm))
        .await
        .unwrap();
    client
        .wait_task_with(&task, &format!("create template {name}"), &wait())
        .await
        .unwrap();
}

#[tokio::test]
async fn template_create_find_get_and_delete() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "tpl-src").await;
    // A quote in the name exercises the OData literal escaping end to end.
    let name = "O'Neil's golden";
    create_template(c, name, &vm).await;
    create_template(c, "O'Neil's golden (other)", &vm).await;

    let found = c.templates_named(name).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let t = &found[0];
    assert_eq!(t.name, name);
    assert_eq!(t.description.as_deref(), Some("built by Packer"));
    assert!(!t.ext_id.is_empty());
    assert_eq!(&c.get_template(&t.ext_id).await.unwrap(), t);
    assert!(c.templates_named("absent").await.unwrap().is_empty());

    // The template outlives its source VM.
    c.delete_vm(&vm, &wait()).await.unwrap();
    assert_eq!(c.get_template(&t.ext_id).await.unwrap().name, name);

    let state = env.state().await;
    assert!(sim_list(&state, "templates")
        .iter()
        .any(|s| s["ext_id"] == t.ext_id.as_str()));

    c.delete_template(&t.ext_id, &wait()).await.unwrap();
    assert!(c.get_template(&t.ext_id).await.unwrap_err().is_not_found());
    assert!(c.templates_named(name).await.unwrap().is_empty());
    c.delete_template(&t.ext_id, &wait()).await.unwrap();
}

#[tokio::test]
async fn template_lookup_walks_every_page() {
    let env = start().await;
    let mut config = config_for(&env.base, "admin", "secret");
    config.page_size = 1;
    let c = PrismClient::new(config).unwrap();
    let vm = new_vm(&c, "tpl-paged").await;
    for _ in 0..3 {
        create_template(&c, "paged-tpl", &vm).await;
    }
    assert_eq!(c.templates_named("paged-tpl").await.unwrap().len(), 3);
    assert!(env.count("GET", "/content/templates").await >= 3);
}

#[tokio::test]
async fn template_errors_quote_the_v4_app_message() {
    let env = start().await;
    let c = &env.client;
    match c
        .submit_template(&new_template(
            "orphan",
            "c3b5e0a2-2222-4e1f-9d4b-0000000000aa",
        ))
        .await
    {
        Err(e @ PrismError::Api { .. }) => {
            let status = e.status().unwrap();
            assert!((400..500).contains(&status), "{e}");
            let PrismError::Api { body, message, .. } = &e else {
                unreachable!()
            };
            let body = body.as_ref().expect("a v4 error body");
            let first = body.app_messages.first().expect("an AppMessage");
            let code = first.code.as_deref().expect("AppMessage code");
            assert!(message.contains(code), "{e}");
            assert!(message.contains(&first.message), "{e}");
            assert!(e.to_string().contains("create template 'orphan'"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    match c.get_template("5d1c0e4f-2222-4a5b-9c6d-0000000000ff").await {
        Err(e) => assert!(e.is_not_found(), "{e}"),
        Ok(t) => panic!("{t:?}"),
    }
}

#[tokio::test]
async fn template_task_failure_leaves_no_template() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "tpl-fail").await;
    env.fault(
        json!({"match": {"method": "POST", "path_regex": "/content/templates$"},
        "action": {"type": "task_fail", "message": "INTERNAL_ERROR: template broke"}, "count": 1}),
    )
    .await;
    let task = c
        .submit_template(&new_template("broken", &vm))
        .await
        .unwrap();
    match c
        .wait_task_with(&task, "create template broken", &wait())
        .await
    {
        Err(e @ PrismError::TaskFailed { .. }) => {
            assert!(e.to_string().contains("template broke"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(c.templates_named("broken").await.unwrap().is_empty());
}

#[tokio::test]
async fn template_create_follows_the_create_retry_rules() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "tpl-retry").await;
    env.fault(
        json!({"match": {"method": "POST", "path_regex": "/content/templates$"},
        "action": {"type": "drop"}, "count": 1}),
    )
    .await;
    assert!(matches!(
        c.submit_template(&new_template("dropped", &vm)).await,
        Err(PrismError::CreateOutcomeUnknown { .. })
    ));
    assert_eq!(env.count("POST", "/content/templates").await, 1);

    env.fault(
        json!({"match": {"method": "POST", "path_regex": "/content/templates$"},
        "action": {"type": "status", "status": 500, "message": "no"}, "count": 1}),
    )
    .await;
    assert!(matches!(
        c.submit_template(&new_template("five-hundred", &vm)).await,
        Err(PrismError::Api { status: 500, .. })
    ));
    assert_eq!(env.count("POST", "/content/templates").await, 2);

    env.fault(
        json!({"match": {"method": "POST", "path_regex": "/content/templates$"},
        "action": {"type": "rate_limit", "retry_after_secs": 0}, "count": 1}),
    )
    .await;
    create_template(c, "after-429", &vm).await;
    assert_eq!(env.count("POST", "/content/templates").await, 4);
    assert_eq!(c.templates_named("after-429").await.unwrap().len(), 1);
}

#[tokio::test]
async fn template_reads_survive_drops_and_5xx() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "tpl-flaky").await;
    create_template(c, "flaky-tpl", &vm).await;
    env.fault(
        json!({"match": {"method": "GET", "path_regex": "/content/templates$"},
        "action": {"type": "status", "status": 503}, "count": 2}),
    )
    .await;
    let t = c.templates_named("flaky-tpl").await.unwrap().remove(0);
    env.fault(
        json!({"match": {"method": "GET", "path_regex": "/content/templates/"},
        "action": {"type": "drop"}, "count": 1}),
    )
    .await;
    assert_eq!(c.get_template(&t.ext_id).await.unwrap().ext_id, t.ext_id);
}

#[tokio::test]
async fn template_delete_rereads_after_412_and_reports_task_failure() {
    let env = start().await;
    let c = &env.client;
    let vm = new_vm(c, "tpl-del").await;
    create_template(c, "del-tpl", &vm).await;
    let t = c.templates_named("del-tpl").await.unwrap().remove(0);
    let item = format!("/content/templates/{}", t.ext_id);

    env.fault(
        json!({"match": {"method": "DELETE", "path_regex": "/content/templates/"},
        "action": {"type": "task_fail", "message": "INTERNAL_ERROR: in use"}, "count": 1}),
    )
    .await;
    match c.delete_template(&t.ext_id, &wait()).await {
        Err(e @ PrismError::TaskFailed { .. }) => assert!(e.to_string().contains("in use"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.get_template(&t.ext_id).await.unwrap().ext_id, t.ext_id);

    let gets_before = env.count("GET", &item).await;
    let deletes_before = env.count("DELETE", &item).await;
    env.fault(
        json!({"match": {"method": "DELETE", "path_regex": "/content/templates/"},
        "action": {"type": "status", "status": 412, "message": "ETag mismatch"}, "count": 1}),
    )
    .await;
    c.delete_template(&t.ext_id, &wait()).await.unwrap();
    assert_eq!(
        env.count("GET", &item).await - gets_before,
        2,
        "re-read after 412"
    );
    assert_eq!(env.count("DELETE", &item).await - deletes_before, 2);
    assert!(c.get_template(&t.ext_id).await.unwrap_err().is_not_found());
}
