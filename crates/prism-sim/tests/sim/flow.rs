//! The builder's call sequence end to end (as the Go plugin v3 line makes it), task lifecycle
//! under a manual clock, conflicts and concurrency.

use std::sync::Arc;
use std::time::Duration;

use prism_sim::inventory::defaults as d;
use prism_sim::{ManualClock, SimConfig};
use serde_json::{json, Value};

use super::common::*;

/// The VM body the Go plugin sends (docs/design/prism-v3.md, 'Creating a VM'; prism-go-client
/// v0.5.5 field names).
fn go_plugin_vm_body(name: &str, iso: &str) -> Value {
    json!({"metadata": {"kind": "vm",
      "use_categories_mapping": true, "categories_mapping": {"Environment": ["Dev"]},
      "project_reference": {"kind": "project", "uuid": d::PROJECT_DEV_UUID}},
    "spec": {"name": name, "description": "Packer vm building image img",
      "cluster_reference": {"kind": "cluster", "uuid": d::CLUSTER_1_UUID},
      "resources": {
        "num_sockets": 1, "num_vcpus_per_socket": 1, "memory_size_mib": 4096,
        "power_state": "ON",
        "machine_type": "Q35",
        "boot_config": {"boot_type": "SECURE_BOOT", "boot_device_order_list": ["CDROM", "DISK", "NETWORK"]},
        "disk_list": [
          {"device_properties": {"device_type": "DISK", "disk_address": {"adapter_type": "SCSI", "device_index": 0}},
           "data_source_reference": {"kind": "image", "uuid": d::IMAGE_DISK_UUID}, "disk_size_mib": 40960},
          {"device_properties": {"device_type": "DISK", "disk_address": {"adapter_type": "SCSI", "device_index": 1}},
           "disk_size_mib": 20480,
           "storage_config": {"storage_container_reference": {"kind": "storage_container", "uuid": "5b8a0e3c-1f2d-4e5a-9b7c-6d8e9f0a1b2c"}}},
          {"device_properties": {"device_type": "CDROM", "disk_address": {"adapter_type": "SATA", "device_index": 0}},
           "data_source_reference": {"kind": "image", "uuid": iso}}],
        "nic_list": [{"is_connected": true, "subnet_reference": {"kind": "subnet", "uuid": d::SUBNET_DUP_1_UUID},
                      "mac_address": "50:6b:8d:12:34:56"}],
        "gpu_list": [{"device_id": d::GPU_DEVICE_ID, "vendor": "kNvidia", "mode": "PASSTHROUGH_COMPUTE"}],
        "serial_port_list": [{"index": 0, "is_connected": true}],
        "vtpm_config": {"vtpm_enabled": true},
        "hardware_virtualization_enabled": true,
        "guest_customization": {"cloud_init": {"user_data": "I2Nsb3VkLWNvbmZpZwp1c2VyczogW10K"}}
      }}})
}

#[tokio::test]
async fn builder_sequence_like_the_go_plugin() {
    let s = Sim::start().await;
    // 1. cd_files upload: create an empty ISO image placed on the cluster, wait, upload, check.
    let r = s
        .post("/images", &json!({"metadata": {"kind": "image"}, "spec": {"name": "packer123.iso", "description": "added by Packer",
            "resources": {"image_type": "ISO_IMAGE", "initial_placement_ref_list": [{"kind": "cluster", "uuid": d::CLUSTER_1_UUID}]}}}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_metadata(&r.body["metadata"], "image");
    assert_eq!(r.body["status"]["state"], "PENDING");
    let cd = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    assert_eq!(s.wait_task(&task_of(&r.body)).await["status"], "SUCCEEDED");
    let up = s
        .send(
            s.c.put(s.url(&format!("/images/{cd}/file")))
                .basic_auth("admin", Some("secret"))
                .header("Content-Type", "application/octet-stream")
                .body(vec![7u8; 4096]),
        )
        .await;
    assert_eq!(up.status, 200, "{}", up.body);
    let img = s.get(&format!("/images/{cd}")).await;
    assert_eq!(img.body["status"]["state"], "COMPLETE");
    assert_eq!(img.body["status"]["resources"]["size_bytes"], 4096);

    // 2. create the VM powered on, poll its task.
    let r = s
        .post("/vms", &go_plugin_vm_body("Packer-ABCD1234", &cd))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    assert_eq!(
        r.body["metadata"]["project_reference"]["uuid"],
        d::PROJECT_DEV_UUID
    );
    let t = s.wait_task(&task_of(&r.body)).await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    for f in [
        "uuid",
        "operation_type",
        "progress_message",
        "percentage_complete",
        "creation_time",
        "completion_time",
        "entity_reference_list",
    ] {
        assert!(t.get(f).is_some(), "task lacks {f}: {t}");
    }
    let v = s.get(&format!("/vms/{vm}")).await.body;
    assert_metadata(&v["metadata"], "vm");
    assert_eq!(v["status"]["state"], "COMPLETE");
    assert!(v["status"]["resources"]["host_reference"]["name"].is_string());
    assert_eq!(
        v["spec"]["resources"]["nic_list"][0]["mac_address"],
        "50:6b:8d:12:34:56"
    );
    assert_eq!(v["metadata"]["categories"]["Environment"], "Dev");

    // 5. wait for the IP on NIC 0 (the Go plugin polls status.resources.nic_list[0].ip_endpoint_list[0].ip).
    let mut ip = None;
    for _ in 0..1000 {
        let v = s.get(&format!("/vms/{vm}")).await.body;
        if let Some(a) =
            v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"][0]["ip"].as_str()
        {
            ip = Some(a.to_string());
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(ip.as_deref(), Some("127.0.0.1"));

    // 8. power off: GET, copy metadata+spec with power_state OFF, PUT, poll, then wait for OFF.
    let cur = s.get(&format!("/vms/{vm}")).await.body;
    let mut spec = cur["spec"].clone();
    spec["resources"]["power_state"] = json!("OFF");
    let r = s
        .put(
            &format!("/vms/{vm}"),
            &json!({"metadata": cur["metadata"], "spec": spec}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(s.wait_task(&task_of(&r.body)).await["status"], "SUCCEEDED");
    let v = s.get(&format!("/vms/{vm}")).await.body;
    assert_eq!(v["status"]["resources"]["power_state"], "OFF");
    assert_eq!(v["metadata"]["spec_version"], 1);

    // 9. vm_clean.cdrom: drop CD-ROMs, PUT with the fresh spec_version.
    let cur = s.get(&format!("/vms/{vm}")).await.body;
    let mut spec = cur["spec"].clone();
    let disks: Vec<Value> = spec["resources"]["disk_list"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["device_properties"]["device_type"] != "CDROM")
        .cloned()
        .collect();
    spec["resources"]["disk_list"] = Value::Array(disks);
    let r = s
        .put(
            &format!("/vms/{vm}"),
            &json!({"metadata": cur["metadata"], "spec": spec}),
        )
        .await;
    assert_eq!(s.wait_task(&task_of(&r.body)).await["status"], "SUCCEEDED");

    // 10. one image per DISK from spec.resources.disk_list[].uuid.
    let v = s.get(&format!("/vms/{vm}")).await.body;
    let disks = v["spec"]["resources"]["disk_list"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(disks.len(), 2);
    let mut images = Vec::new();
    for (i, disk) in disks.iter().enumerate() {
        assert_eq!(disk["device_properties"]["device_type"], "DISK");
        let r = s
            .post("/images", &json!({"metadata": {"kind": "image", "categories": {"OSType": "ubuntu-22.04"}},
                "spec": {"name": format!("img-disk{i}"), "description": "built by Packer",
                    "resources": {"image_type": "DISK_IMAGE", "data_source_reference": {"kind": "vm_disk", "uuid": disk["uuid"]}}}}))
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        assert_eq!(s.wait_task(&task_of(&r.body)).await["status"], "SUCCEEDED");
        let id = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
        let img = s.get(&format!("/images/{id}")).await.body;
        assert_eq!(
            img["status"]["resources"]["size_bytes"],
            disk["disk_size_bytes"]
        );
        assert_eq!(img["metadata"]["categories"]["OSType"], "ubuntu-22.04");
        images.push(id);
    }
    // 40 GiB requested over a 2.2 GB image: the requested size wins.
    assert_eq!(disks[0]["disk_size_bytes"], 40960u64 << 20);

    // 11. export: stream the first image and check the size.
    let r =
        s.c.get(s.url(&format!("/images/{}/file", images[1])))
            .basic_auth("admin", Some("secret"))
            .header("Range", "bytes=0-1023")
            .send()
            .await
            .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().len(), 1024);

    // cleanup: VM, CD image, output images.
    let r = s.delete(&format!("/vms/{vm}")).await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["status"]["state"], "DELETE_PENDING");
    assert_eq!(s.wait_task(&task_of(&r.body)).await["status"], "SUCCEEDED");
    for id in images.iter().chain([&cd]) {
        let r = s.delete(&format!("/images/{id}")).await;
        assert_eq!(s.wait_task(&task_of(&r.body)).await["status"], "SUCCEEDED");
    }
    let st = s.h.state_json();
    assert_eq!(st["vms"], json!([]));
    assert_eq!(st["images"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn manual_clock_drives_task_states() {
    let clock = ManualClock::new();
    let mut cfg = SimConfig::default_for_tests();
    cfg.clock = Arc::new(clock.clone());
    cfg.task_duration = Duration::from_secs(10);
    cfg.ip_delay = Duration::from_secs(5);
    let s = Sim::start_with(cfg).await;
    let r = s
        .post("/vms", &go_plugin_vm_body("m", d::IMAGE_ISO_UUID))
        .await;
    let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    let task = task_of(&r.body);
    let status = |b: &Value| b["status"].as_str().unwrap().to_string();
    assert_eq!(
        status(&s.get(&format!("/tasks/{task}")).await.body),
        "QUEUED"
    );
    clock.advance(Duration::from_secs(3));
    let t = s.get(&format!("/tasks/{task}")).await.body;
    assert_eq!(status(&t), "RUNNING");
    let p1 = t["percentage_complete"].as_u64().unwrap();
    clock.advance(Duration::from_secs(5));
    let p2 = s.get(&format!("/tasks/{task}")).await.body["percentage_complete"]
        .as_u64()
        .unwrap();
    assert!(p1 < p2 && p2 < 100, "{p1} {p2}");
    assert_eq!(
        s.get(&format!("/vms/{vm}")).await.body["status"]["state"],
        "PENDING"
    );
    clock.advance(Duration::from_secs(2));
    assert_eq!(
        status(&s.get(&format!("/tasks/{task}")).await.body),
        "SUCCEEDED"
    );
    let v = s.get(&format!("/vms/{vm}")).await.body;
    assert_eq!(v["status"]["state"], "COMPLETE");
    assert_eq!(
        v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"],
        json!([])
    );
    clock.advance(Duration::from_secs(5));
    let v = s.get(&format!("/vms/{vm}")).await.body;
    assert_eq!(
        v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"][0]["ip"],
        "127.0.0.1"
    );
    assert_eq!(
        v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"][0]["type"],
        "LEARNED"
    );
}

#[tokio::test]
async fn stale_put_is_409_over_http() {
    let s = Sim::start().await;
    let r = s
        .post("/vms", &go_plugin_vm_body("c", d::IMAGE_ISO_UUID))
        .await;
    let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    s.wait_task(&task_of(&r.body)).await;
    let cur = s.get(&format!("/vms/{vm}")).await.body;
    let first = s
        .put(
            &format!("/vms/{vm}"),
            &json!({"metadata": cur["metadata"], "spec": cur["spec"]}),
        )
        .await;
    assert_eq!(first.status, 202);
    let second = s
        .put(
            &format!("/vms/{vm}"),
            &json!({"metadata": cur["metadata"], "spec": cur["spec"]}),
        )
        .await;
    assert_prism_error(&second, 409, "CONCURRENT_REQUESTS_NOT_ALLOWED");
    assert_eq!(
        second.body["message_list"][0]["message"],
        "Edit conflict: please retry change."
    );
}

#[tokio::test]
async fn bad_reference_over_http_is_422_naming_it() {
    let s = Sim::start().await;
    let missing = "11111111-2222-4333-8444-555555555555";
    let mut b = go_plugin_vm_body("bad", d::IMAGE_ISO_UUID);
    b["spec"]["resources"]["nic_list"][0]["subnet_reference"]["uuid"] = json!(missing);
    let r = s.post("/vms", &b).await;
    assert_prism_error(&r, 422, "ENTITY_NOT_FOUND");
    assert!(r.body["message_list"][0]["message"]
        .as_str()
        .unwrap()
        .contains(&format!("subnet {missing}")));
    assert!(
        r.body["message_list"][0]["details"]["spec.resources.nic_list[0].subnet_reference"]
            .is_array()
    );
}

#[tokio::test]
async fn concurrent_creates_all_land() {
    let s = Arc::new(Sim::start().await);
    let mut set = tokio::task::JoinSet::new();
    for i in 0..32 {
        let s = s.clone();
        set.spawn(async move {
            let r = s
                .post(
                    "/vms",
                    &go_plugin_vm_body(&format!("par-{i}"), d::IMAGE_ISO_UUID),
                )
                .await;
            assert_eq!(r.status, 202, "{}", r.body);
            s.wait_task(&task_of(&r.body)).await["status"]
                .as_str()
                .unwrap()
                .to_string()
        });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap(), "SUCCEEDED");
    }
    let r = s
        .post("/vms/list", &json!({"kind": "vm", "length": 500}))
        .await;
    assert_eq!(r.body["metadata"]["total_matches"], 32);
    let r = s
        .post("/vms/list", &json!({"kind": "vm", "filter": "name==par-7"}))
        .await;
    assert_eq!(r.body["metadata"]["total_matches"], 1);
    let r = s
        .post(
            "/tasks/list",
            &json!({"kind": "task", "filter": "status==SUCCEEDED", "length": 100}),
        )
        .await;
    assert_eq!(r.body["metadata"]["total_matches"], 32);
}
