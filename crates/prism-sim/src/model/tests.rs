//! Store behaviour with explicit time: lifecycles, validation, conflicts, faults, no panics.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::inventory::defaults as d;
use crate::routes::{Kind, Route};

const TASK: Duration = Duration::from_millis(1000);
const IP_DELAY: Duration = Duration::from_millis(500);

fn store() -> Store {
    store_with(false)
}

fn store_with(refuse_in_use: bool) -> Store {
    Store::new(
        Inventory::default_inventory(),
        StoreConfig {
            task_duration: TASK,
            ip_delay: IP_DELAY,
            vm_ip: Some("127.0.0.1".parse().unwrap()),
            refuse_deleting_images_in_use: refuse_in_use,
        },
        chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn vm_body(name: &str) -> Value {
    json!({
        "metadata": {"kind": "vm"},
        "spec": {
            "name": name,
            "cluster_reference": {"kind": "cluster", "uuid": d::CLUSTER_1_UUID},
            "resources": {
                "num_sockets": 2,
                "memory_size_mib": 2048,
                "power_state": "ON",
                "disk_list": [
                    {"device_properties": {"device_type": "DISK", "disk_address": {"adapter_type": "SCSI", "device_index": 0}},
                     "data_source_reference": {"kind": "image", "uuid": d::IMAGE_DISK_UUID}},
                    {"device_properties": {"device_type": "DISK"}, "disk_size_mib": 20480},
                    {"device_properties": {"device_type": "CDROM", "disk_address": {"adapter_type": "SATA", "device_index": 0}},
                     "data_source_reference": {"kind": "image", "uuid": d::IMAGE_ISO_UUID}}
                ],
                "nic_list": [{"subnet_reference": {"kind": "subnet", "uuid": d::SUBNET_DUP_1_UUID}}]
            }
        }
    })
}

fn call(
    s: &mut Store,
    now: Duration,
    route: Route,
    body: Option<Value>,
) -> Result<Reply, ApiError> {
    s.handle(now, &route, body.as_ref(), None)
}

fn get(s: &mut Store, now: Duration, kind: Kind, uuid: &str) -> Result<Value, ApiError> {
    call(s, now, Route::Get(kind, uuid.to_string()), None).map(|r| r.body)
}

fn task_of(reply: &Reply) -> String {
    reply.body["status"]["execution_context"]["task_uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn task_status(s: &mut Store, now: Duration, t: &str) -> Value {
    get(s, now, Kind::Task, t).unwrap()
}

fn create_vm(s: &mut Store, now: Duration, name: &str) -> (String, String) {
    let r = call(s, now, Route::Create(Kind::Vm), Some(vm_body(name))).unwrap();
    assert_eq!(r.status, 202);
    (
        r.body["metadata"]["uuid"].as_str().unwrap().to_string(),
        task_of(&r),
    )
}

#[test]
fn vm_create_lifecycle_and_ip() {
    let mut s = store();
    let (vm, task) = create_vm(&mut s, ms(0), "vm1");
    let t = task_status(&mut s, ms(100), &task);
    assert_eq!(t["status"], "QUEUED");
    assert_eq!(t["percentage_complete"], 0);
    let v = get(&mut s, ms(100), Kind::Vm, &vm).unwrap();
    assert_eq!(v["status"]["state"], "PENDING");
    assert_eq!(v["status"]["execution_context"]["task_uuid"], task.as_str());
    assert_eq!(v["metadata"]["spec_version"], 0);
    let t = task_status(&mut s, ms(600), &task);
    assert_eq!(t["status"], "RUNNING");
    assert!(t["percentage_complete"].as_u64().unwrap() > 10);
    let t = task_status(&mut s, ms(1000), &task);
    assert_eq!(t["status"], "SUCCEEDED");
    assert_eq!(t["percentage_complete"], 100);
    assert_eq!(t["entity_reference_list"][0]["uuid"], vm.as_str());
    assert_eq!(t["entity_reference_list"][0]["kind"], "vm");

    let v = get(&mut s, ms(1000), Kind::Vm, &vm).unwrap();
    assert_eq!(v["status"]["state"], "COMPLETE");
    assert!(v["status"].get("execution_context").is_none());
    let res = &v["status"]["resources"];
    assert_eq!(res["power_state"], "ON");
    assert_eq!(res["host_reference"]["uuid"], d::HOST_GPU_UUID);
    // Prism filled in disk uuids, sizes and indices, and a MAC.
    let disks = v["spec"]["resources"]["disk_list"].as_array().unwrap();
    assert_eq!(disks.len(), 3);
    assert_eq!(disks[0]["disk_size_bytes"], d::IMAGE_DISK_SIZE);
    assert_eq!(disks[1]["disk_size_bytes"], 20480u64 << 20);
    assert_eq!(
        disks[1]["device_properties"]["disk_address"]["device_index"],
        1
    );
    assert_eq!(disks[2]["disk_size_bytes"], d::IMAGE_ISO_SIZE);
    assert!(disks
        .iter()
        .all(|d| uuid::Uuid::parse_str(d["uuid"].as_str().unwrap()).is_ok()));
    let mac = v["spec"]["resources"]["nic_list"][0]["mac_address"]
        .as_str()
        .unwrap();
    assert!(mac.starts_with("50:6b:8d:"));
    // IP only after the delay.
    assert_eq!(res["nic_list"][0]["ip_endpoint_list"], json!([]));
    let v = get(&mut s, ms(1500), Kind::Vm, &vm).unwrap();
    assert_eq!(
        v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"][0]["ip"],
        "127.0.0.1"
    );
}

fn put_power(
    s: &mut Store,
    now: Duration,
    vm: &str,
    state: &str,
    mechanism: Option<&str>,
) -> Result<Reply, ApiError> {
    let cur = get(s, now, Kind::Vm, vm).unwrap();
    let mut spec = cur["spec"].clone();
    spec["resources"]["power_state"] = json!(state);
    if let Some(m) = mechanism {
        spec["resources"]["power_state_mechanism"] = json!({"mechanism": m});
    }
    call(
        s,
        now,
        Route::Update(Kind::Vm, vm.into()),
        Some(json!({"metadata": cur["metadata"], "spec": spec})),
    )
}

#[test]
fn power_off_drops_the_ip_and_bumps_spec_version() {
    let mut s = store();
    let (vm, _) = create_vm(&mut s, ms(0), "vm1");
    let r = put_power(&mut s, ms(2000), &vm, "OFF", None).unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(r.body["metadata"]["spec_version"], 1);
    let t = task_of(&r);
    // Until the task ends the VM is still ON with its IP; the spec already says OFF.
    let v = get(&mut s, ms(2500), Kind::Vm, &vm).unwrap();
    assert_eq!(v["spec"]["resources"]["power_state"], "OFF");
    assert_eq!(v["status"]["resources"]["power_state"], "ON");
    assert_eq!(v["status"]["state"], "PENDING");
    let v = get(&mut s, ms(3000), Kind::Vm, &vm).unwrap();
    assert_eq!(task_status(&mut s, ms(3000), &t)["status"], "SUCCEEDED");
    assert_eq!(v["status"]["resources"]["power_state"], "OFF");
    assert_eq!(
        v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"],
        json!([])
    );
    assert_eq!(v["metadata"]["spec_version"], 1);
    // Back ON: the IP returns after the delay again.
    let r = put_power(&mut s, ms(4000), &vm, "ON", None).unwrap();
    assert_eq!(r.body["metadata"]["spec_version"], 2);
    let v = get(&mut s, ms(5200), Kind::Vm, &vm).unwrap();
    assert_eq!(
        v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"],
        json!([])
    );
    let v = get(&mut s, ms(5500), Kind::Vm, &vm).unwrap();
    assert_eq!(
        v["status"]["resources"]["nic_list"][0]["ip_endpoint_list"][0]["ip"],
        "127.0.0.1"
    );
}

#[test]
fn acpi_shutdown_takes_longer_than_hard() {
    let mut s = store();
    let (vm, _) = create_vm(&mut s, ms(0), "vm1");
    let r = put_power(&mut s, ms(2000), &vm, "OFF", Some("ACPI")).unwrap();
    let t = task_of(&r);
    assert_ne!(task_status(&mut s, ms(3500), &t)["status"], "SUCCEEDED");
    assert_eq!(task_status(&mut s, ms(5000), &t)["status"], "SUCCEEDED");
}

#[test]
fn stale_spec_version_is_a_409() {
    let mut s = store();
    let (vm, _) = create_vm(&mut s, ms(0), "vm1");
    let before = get(&mut s, ms(2000), Kind::Vm, &vm).unwrap();
    put_power(&mut s, ms(2000), &vm, "OFF", None).unwrap();
    let mut spec = before["spec"].clone();
    spec["resources"]["memory_size_mib"] = json!(8192);
    let e = call(
        &mut s,
        ms(2100),
        Route::Update(Kind::Vm, vm.clone()),
        Some(json!({"metadata": before["metadata"], "spec": spec})),
    )
    .unwrap_err();
    assert_eq!(e.status, 409);
    let b = e.body();
    assert_eq!(
        b["message_list"][0]["reason"],
        "CONCURRENT_REQUESTS_NOT_ALLOWED"
    );
    assert_eq!(
        b["message_list"][0]["message"],
        "Edit conflict: please retry change."
    );
    // missing spec_version is rejected too
    let mut meta = before["metadata"].clone();
    meta.as_object_mut().unwrap().remove("spec_version");
    let e = call(
        &mut s,
        ms(2100),
        Route::Update(Kind::Vm, vm.clone()),
        Some(json!({"metadata": meta, "spec": before["spec"]})),
    )
    .unwrap_err();
    assert_eq!(e.status, 422);
}

#[test]
fn update_queues_behind_a_running_create() {
    let mut s = store();
    let (vm, create) = create_vm(&mut s, ms(0), "vm1");
    let r = put_power(&mut s, ms(100), &vm, "OFF", None).unwrap();
    let update = task_of(&r);
    assert_eq!(
        task_status(&mut s, ms(1100), &create)["status"],
        "SUCCEEDED"
    );
    assert_eq!(task_status(&mut s, ms(1100), &update)["status"], "QUEUED");
    assert_eq!(
        task_status(&mut s, ms(2000), &update)["status"],
        "SUCCEEDED"
    );
    let v = get(&mut s, ms(2000), Kind::Vm, &vm).unwrap();
    assert_eq!(v["status"]["resources"]["power_state"], "OFF");
    assert_eq!(v["spec"]["resources"]["power_state"], "OFF");
}

#[test]
fn delete_vm_goes_through_delete_pending() {
    let mut s = store();
    let (vm, _) = create_vm(&mut s, ms(0), "vm1");
    let r = call(&mut s, ms(2000), Route::Delete(Kind::Vm, vm.clone()), None).unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(r.body["status"]["state"], "DELETE_PENDING");
    assert_eq!(r.body["spec"], "");
    let t = task_of(&r);
    // deleting twice answers with the same task
    let again = call(&mut s, ms(2100), Route::Delete(Kind::Vm, vm.clone()), None).unwrap();
    assert_eq!(task_of(&again), t);
    assert_eq!(
        get(&mut s, ms(2500), Kind::Vm, &vm).unwrap()["status"]["state"],
        "DELETE_PENDING"
    );
    let e = get(&mut s, ms(3000), Kind::Vm, &vm).unwrap_err();
    assert_eq!(e.status, 404);
    assert_eq!(e.body()["message_list"][0]["reason"], "ENTITY_NOT_FOUND");
    assert_eq!(
        task_status(&mut s, ms(3000), &t)["operation_type"],
        "delete_vm_intentful"
    );
}

fn image_body(name: &str, resources: Value) -> Value {
    json!({"metadata": {"kind": "image"}, "spec": {"name": name, "description": "added by Packer", "resources": resources}})
}

#[test]
fn image_from_url_downloads_over_time() {
    let mut s = store();
    let r = call(
        &mut s,
        ms(0),
        Route::Create(Kind::Image),
        Some(image_body(
            "jammy.img",
            json!({"image_type": "DISK_IMAGE", "source_uri": d::KNOWN_URI,
            "checksum": {"checksum_algorithm": "SHA_256", "checksum_value": d::KNOWN_URI_SHA256}}),
        )),
    )
    .unwrap();
    let img = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    let v = get(&mut s, ms(500), Kind::Image, &img).unwrap();
    assert_eq!(v["status"]["state"], "PENDING");
    assert!(v["status"]["resources"].get("size_bytes").is_none());
    let t = task_status(&mut s, ms(500), &task_of(&r));
    assert!(t["progress_message"]
        .as_str()
        .unwrap()
        .contains(d::KNOWN_URI));
    let v = get(&mut s, ms(1000), Kind::Image, &img).unwrap();
    assert_eq!(v["status"]["state"], "COMPLETE");
    assert_eq!(v["status"]["resources"]["size_bytes"], d::KNOWN_URI_SIZE);
    assert_eq!(v["status"]["resources"]["source_uri"], d::KNOWN_URI);
    assert_eq!(
        v["status"]["resources"]["current_cluster_reference_list"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn unreachable_url_and_bad_checksum_fail_the_task() {
    let mut s = store();
    let r = call(
        &mut s,
        ms(0),
        Route::Create(Kind::Image),
        Some(image_body(
            "x",
            json!({"image_type": "DISK_IMAGE", "source_uri": d::UNREACHABLE_URI}),
        )),
    )
    .unwrap();
    let t = task_status(&mut s, ms(1000), &task_of(&r));
    assert_eq!(t["status"], "FAILED");
    assert!(t["error_detail"]
        .as_str()
        .unwrap()
        .contains(d::UNREACHABLE_URI));
    let img = r.body["metadata"]["uuid"].as_str().unwrap();
    let v = get(&mut s, ms(1000), Kind::Image, img).unwrap();
    assert_eq!(v["status"]["state"], "ERROR");
    assert!(v["status"]["message_list"][0]["message"]
        .as_str()
        .unwrap()
        .contains("Could not access"));

    let r = call(
        &mut s,
        ms(0),
        Route::Create(Kind::Image),
        Some(image_body(
            "y",
            json!({"image_type": "DISK_IMAGE", "source_uri": d::KNOWN_URI,
            "checksum": {"checksum_algorithm": "SHA_256", "checksum_value": "00".repeat(32)}}),
        )),
    )
    .unwrap();
    let t = task_status(&mut s, ms(1000), &task_of(&r));
    assert_eq!(t["status"], "FAILED");
    assert!(t["error_detail"]
        .as_str()
        .unwrap()
        .contains("Checksum mismatch"));
}

#[test]
fn images_in_use_can_be_deleted_by_default() {
    let mut s = store();
    create_vm(&mut s, ms(0), "vm1");
    let r = call(
        &mut s,
        ms(1000),
        Route::Delete(Kind::Image, d::IMAGE_ISO_UUID.into()),
        None,
    )
    .unwrap();
    assert_eq!(
        task_status(&mut s, ms(2000), &task_of(&r))["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        get(&mut s, ms(2000), Kind::Image, d::IMAGE_ISO_UUID)
            .unwrap_err()
            .status,
        404
    );
}

#[test]
fn image_from_vm_disk_copies_its_size_and_blocks_deletion_of_the_source() {
    let mut s = store_with(true);
    let (vm, _) = create_vm(&mut s, ms(0), "vm1");
    let v = get(&mut s, ms(1000), Kind::Vm, &vm).unwrap();
    let disk = v["spec"]["resources"]["disk_list"][1]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = call(
        &mut s,
        ms(1000),
        Route::Create(Kind::Image),
        Some(image_body("out", json!({"image_type": "DISK_IMAGE", "data_source_reference": {"kind": "vm_disk", "uuid": disk}}))),
    )
    .unwrap();
    let img = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    let v = get(&mut s, ms(2000), Kind::Image, &img).unwrap();
    assert_eq!(v["status"]["state"], "COMPLETE");
    assert_eq!(v["status"]["resources"]["size_bytes"], 20480u64 << 20);

    // The ISO is attached to vm1: deleting it fails while the VM exists.
    let r = call(
        &mut s,
        ms(2000),
        Route::Delete(Kind::Image, d::IMAGE_ISO_UUID.into()),
        None,
    )
    .unwrap();
    let t = task_status(&mut s, ms(3000), &task_of(&r));
    assert_eq!(t["status"], "FAILED");
    assert!(t["error_detail"]
        .as_str()
        .unwrap()
        .contains("in use by VM vm1"));
    assert_eq!(
        get(&mut s, ms(3000), Kind::Image, d::IMAGE_ISO_UUID).unwrap()["status"]["state"],
        "COMPLETE"
    );
    // Once the VM's deletion is under way the image can go.
    call(&mut s, ms(3000), Route::Delete(Kind::Vm, vm), None).unwrap();
    let r = call(
        &mut s,
        ms(3000),
        Route::Delete(Kind::Image, d::IMAGE_ISO_UUID.into()),
        None,
    )
    .unwrap();
    assert_eq!(
        task_status(&mut s, ms(4000), &task_of(&r))["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        get(&mut s, ms(4000), Kind::Image, d::IMAGE_ISO_UUID)
            .unwrap_err()
            .status,
        404
    );
}

#[test]
fn upload_lifecycle_and_checksums() {
    let mut s = store();
    let r = call(
        &mut s,
        ms(0),
        Route::Create(Kind::Image),
        Some(image_body(
            "packer.iso",
            json!({"image_type": "ISO_IMAGE",
            "initial_placement_ref_list": [{"kind": "cluster", "uuid": d::CLUSTER_1_UUID}]}),
        )),
    )
    .unwrap();
    let img = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    assert_eq!(s.begin_upload(ms(500), &img).unwrap_err().status, 409);
    s.begin_upload(ms(1000), &img).unwrap();
    assert_eq!(
        s.begin_upload(ms(1000), &img).unwrap_err().status,
        409,
        "concurrent upload"
    );
    let done = |sha: &str, hdr: Option<(&str, &str)>| image::UploadDone {
        size: 11,
        sha256: sha.into(),
        sha1: None,
        stored: None,
        header_checksum: hdr.map(|(a, b)| (a.to_string(), b.to_string())),
    };
    let e = s
        .finish_upload(
            ms(1100),
            &img,
            Some(done(&"ab".repeat(32), Some(("SHA_256", &"cd".repeat(32))))),
        )
        .unwrap_err();
    assert_eq!(e.status, 422);
    assert!(e.message.contains("X-Nutanix-Checksum-Bytes"));
    s.begin_upload(ms(1200), &img).unwrap();
    s.finish_upload(
        ms(1300),
        &img,
        Some(done(&"ab".repeat(32), Some(("SHA_256", &"AB".repeat(32))))),
    )
    .unwrap();
    let v = get(&mut s, ms(1300), Kind::Image, &img).unwrap();
    assert_eq!(v["status"]["state"], "COMPLETE");
    assert_eq!(v["status"]["resources"]["size_bytes"], 11);
    assert_eq!(
        v["status"]["resources"]["current_cluster_reference_list"],
        json!([{"kind": "cluster", "uuid": d::CLUSTER_1_UUID}])
    );
    assert_eq!(s.download_info(ms(1300), &img).unwrap().size, 11);
    // A URL image refuses uploads.
    assert_eq!(
        s.begin_upload(ms(1300), d::IMAGE_DISK_UUID)
            .unwrap_err()
            .status,
        422
    );
    // An aborted upload releases the claim.
    s.begin_upload(ms(1400), &img).unwrap();
    s.finish_upload(ms(1400), &img, None).unwrap();
    s.begin_upload(ms(1400), &img).unwrap();
}

#[test]
fn bad_references_name_the_missing_entity() {
    let mut s = store();
    const MISSING: &str = "11111111-2222-4333-8444-555555555555";
    let missing = MISSING;
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "/spec/cluster_reference/uuid",
            Box::new(|b| b["spec"]["cluster_reference"]["uuid"] = json!(MISSING)),
            "cluster",
        ),
        (
            "subnet",
            Box::new(|b| {
                b["spec"]["resources"]["nic_list"][0]["subnet_reference"]["uuid"] = json!(MISSING)
            }),
            "subnet",
        ),
        (
            "image",
            Box::new(|b| {
                b["spec"]["resources"]["disk_list"][0]["data_source_reference"]["uuid"] =
                    json!(MISSING)
            }),
            "image",
        ),
        (
            "project",
            Box::new(|b| {
                b["metadata"]["project_reference"] = json!({"kind": "project", "uuid": MISSING})
            }),
            "project",
        ),
        (
            "category",
            Box::new(|b| b["metadata"]["categories_mapping"] = json!({"Environment": ["Nope"]})),
            "Environment:Nope",
        ),
    ];
    for (what, edit, needle) in cases {
        let mut b = vm_body("bad");
        edit(&mut b);
        let e = call(&mut s, ms(0), Route::Create(Kind::Vm), Some(b)).unwrap_err();
        assert_eq!(e.status, 422, "{what}");
        let msg = e.body()["message_list"][0]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(msg.contains(needle), "{what}: {msg}");
        if needle != "Environment:Nope" {
            assert!(msg.contains(missing), "{what}: {msg}");
        }
    }
    // PC cluster and a subnet of another cluster are refused too.
    let mut b = vm_body("bad");
    b["spec"]["cluster_reference"]["uuid"] = json!(d::PC_CLUSTER_UUID);
    let e = call(&mut s, ms(0), Route::Create(Kind::Vm), Some(b)).unwrap_err();
    assert!(e.message.contains("Prism Central"), "{}", e.message);
    let mut b = vm_body("bad");
    b["spec"]["resources"]["nic_list"][0]["subnet_reference"]["uuid"] = json!(d::SUBNET_DUP_2_UUID);
    let e = call(&mut s, ms(0), Route::Create(Kind::Vm), Some(b)).unwrap_err();
    assert!(e.message.contains(d::CLUSTER_2_UUID), "{}", e.message);
    // Nothing was created.
    assert!(s.vms.is_empty());
    assert!(s.tasks.is_empty());
}

#[test]
fn schema_errors_are_422_with_details() {
    let mut s = store();
    for (edit, field) in [
        (json!({"metadata": {"kind": "vm"}}), "spec"),
        (json!({"spec": {"name": "x", "resources": {}}}), "metadata"),
        (
            json!({"metadata": {}, "spec": {"name": "x", "resources": {}}}),
            "metadata.kind",
        ),
        (
            json!({"metadata": {"kind": "image"}, "spec": {"name": "x", "resources": {}}}),
            "metadata.kind",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"resources": {}}}),
            "spec.name",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x"}}),
            "spec.resources",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"num_sockets": "2"}}}),
            "spec.resources.num_sockets",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"num_sockets": 0}}}),
            "spec.resources.num_sockets",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"memory_size_mib": 1e300}}}),
            "spec.resources.memory_size_mib",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"power_state": "MAYBE"}}}),
            "spec.resources.power_state",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"disk_list": [{"disk_size_mib": 18446744073709551i64}]}}}),
            "spec.resources.disk_list[0].disk_size_mib",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"disk_list": [{}]}}}),
            "spec.resources.disk_list[0].disk_size_mib",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"boot_config": {"boot_type": "SECURE_BOOT"}}}}),
            "spec.resources.boot_config.boot_type",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"guest_customization": {"cloud_init": {"user_data": "#cloud-config\nusers: []"}}}}}),
            "spec.resources.guest_customization.cloud_init.user_data",
        ),
        (
            json!({"metadata": {"kind": "vm"}, "spec": {"name": "x", "resources": {"nic_list": [{"subnet_reference": {"kind": "subnet", "uuid": d::SUBNET_DUP_1_UUID}, "mac_address": "nope"}]}}}),
            "spec.resources.nic_list[0].mac_address",
        ),
    ] {
        let e = call(&mut s, ms(0), Route::Create(Kind::Vm), Some(edit.clone())).unwrap_err();
        assert_eq!(e.status, 422, "{edit}");
        let details = e.details.clone().unwrap();
        assert!(details.get(field).is_some(), "{edit}: {details}");
    }
}

#[test]
fn duplicate_image_names_are_allowed() {
    let mut s = store();
    for _ in 0..2 {
        call(
            &mut s,
            ms(0),
            Route::Create(Kind::Image),
            Some(image_body(
                d::IMAGE_DISK_NAME,
                json!({"image_type": "DISK_IMAGE"}),
            )),
        )
        .unwrap();
    }
    let r = call(
        &mut s,
        ms(0),
        Route::List(Kind::Image),
        Some(json!({"kind": "image", "filter": format!("name=={}", d::IMAGE_DISK_NAME)})),
    )
    .unwrap();
    assert_eq!(r.body["metadata"]["total_matches"], 3);
}

#[test]
fn task_faults() {
    let mut s = store();
    let r = s
        .handle(
            ms(0),
            &Route::Create(Kind::Vm),
            Some(&vm_body("f")),
            Some(&TaskFault::End {
                status: TaskEnd::Failed,
                message: "INTERNAL_ERROR: nope".into(),
            }),
        )
        .unwrap();
    let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    let t = task_status(&mut s, ms(1000), &task_of(&r));
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["error_detail"], "INTERNAL_ERROR: nope");
    assert_eq!(
        get(&mut s, ms(1000), Kind::Vm, &vm).unwrap()["status"]["state"],
        "ERROR"
    );

    let r = s
        .handle(
            ms(0),
            &Route::Create(Kind::Vm),
            Some(&vm_body("h")),
            Some(&TaskFault::Hang),
        )
        .unwrap();
    let hung = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    let t = task_of(&r);
    assert_eq!(task_status(&mut s, ms(10_000_000), &t)["status"], "RUNNING");
    // A delete queued behind a hung task never starts either.
    let d = call(&mut s, ms(10), Route::Delete(Kind::Vm, hung.clone()), None).unwrap();
    assert_eq!(
        task_status(&mut s, ms(20_000_000), &task_of(&d))["status"],
        "QUEUED"
    );
    assert_eq!(
        get(&mut s, ms(20_000_000), Kind::Vm, &hung).unwrap()["status"]["state"],
        "DELETE_PENDING"
    );
}

#[test]
fn memory_beyond_any_host_is_a_resource_shortage() {
    let mut s = store();
    let mut b = vm_body("huge");
    b["spec"]["resources"]["memory_size_mib"] = json!(100_000_000);
    let r = call(&mut s, ms(0), Route::Create(Kind::Vm), Some(b)).unwrap();
    let t = task_status(&mut s, ms(1000), &task_of(&r));
    assert_eq!(t["status"], "FAILED");
    assert_eq!(t["error_code"], "RESOURCE_SHORTAGE");
}

#[test]
fn gpu_request_lands_on_the_gpu_host() {
    let mut s = store();
    let mut b = vm_body("gpu");
    b["spec"]["resources"]["gpu_list"] = json!([{"device_id": d::GPU_DEVICE_ID, "vendor": "kNvidia", "mode": "PASSTHROUGH_COMPUTE"}]);
    let (r, vm) = {
        let r = call(&mut s, ms(0), Route::Create(Kind::Vm), Some(b)).unwrap();
        let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
        (r, vm)
    };
    let _ = r;
    let v = get(&mut s, ms(1000), Kind::Vm, &vm).unwrap();
    assert_eq!(
        v["status"]["resources"]["host_reference"]["uuid"],
        d::HOST_GPU_UUID
    );
    assert_eq!(v["status"]["resources"]["gpu_list"][0]["vendor"], "NVIDIA");
    let hosts = call(
        &mut s,
        ms(1000),
        Route::List(Kind::Host),
        Some(json!({"kind": "host"})),
    )
    .unwrap();
    let gpu = &hosts.body["entities"][0]["status"]["resources"]["gpu_list"][0];
    assert_eq!(gpu["consumer_reference"]["uuid"], vm.as_str());
    let mut b = vm_body("nogpu");
    b["spec"]["resources"]["gpu_list"] = json!([{"device_id": 1, "mode": "PASSTHROUGH_COMPUTE"}]);
    let e = call(&mut s, ms(0), Route::Create(Kind::Vm), Some(b)).unwrap_err();
    assert_eq!(e.status, 422);
    assert!(e.message.contains("device_id 1"));
}

#[test]
fn catalog_shapes() {
    let mut s = store();
    let r = call(
        &mut s,
        ms(0),
        Route::List(Kind::Cluster),
        Some(json!({"kind": "cluster"})),
    )
    .unwrap();
    let ents = r.body["entities"].as_array().unwrap();
    assert_eq!(ents.len(), 3);
    let pc = ents
        .iter()
        .find(|e| e["metadata"]["uuid"] == d::PC_CLUSTER_UUID)
        .unwrap();
    assert_eq!(
        pc["status"]["resources"]["config"]["service_list"],
        json!(["PRISM_CENTRAL"])
    );
    let pe = ents
        .iter()
        .find(|e| e["metadata"]["uuid"] == d::CLUSTER_1_UUID)
        .unwrap();
    assert_eq!(
        pe["status"]["resources"]["config"]["service_list"],
        json!(["AOS"])
    );
    assert_eq!(pe["status"]["name"], d::CLUSTER_1_NAME);
    let sub = get(&mut s, ms(0), Kind::Subnet, d::SUBNET_IPAM_UUID).unwrap();
    assert_eq!(sub["spec"]["cluster_reference"]["uuid"], d::CLUSTER_1_UUID);
    assert_eq!(sub["status"]["resources"]["ip_config"]["prefix_length"], 24);
    assert_eq!(sub["api_version"], "3.1");
    let p = get(&mut s, ms(0), Kind::Project, d::PROJECT_DEV_UUID).unwrap();
    assert_eq!(p["status"]["name"], d::PROJECT_DEV_NAME);
    assert_eq!(
        call(
            &mut s,
            ms(0),
            Route::CategoryKey("Environment".into()),
            None
        )
        .unwrap()
        .body["name"],
        "Environment"
    );
    assert_eq!(
        call(
            &mut s,
            ms(0),
            Route::CategoryValue("Environment".into(), "Prod".into()),
            None
        )
        .unwrap()
        .body["value"],
        "Prod"
    );
    assert_eq!(
        call(
            &mut s,
            ms(0),
            Route::CategoryValue("Environment".into(), "QA".into()),
            None
        )
        .unwrap_err()
        .status,
        404
    );
    assert_eq!(
        call(&mut s, ms(0), Route::CategoryKey("Nope".into()), None)
            .unwrap_err()
            .status,
        404
    );
    let e = get(
        &mut s,
        ms(0),
        Kind::Cluster,
        "11111111-2222-4333-8444-555555555555",
    )
    .unwrap_err();
    assert_eq!(e.body()["kind"], "cluster");
}

#[test]
fn default_project_and_categories_in_metadata() {
    let mut s = store();
    let mut b = vm_body("m");
    b["metadata"]["categories_mapping"] = json!({"Environment": ["Dev", "Prod"]});
    b["metadata"]["use_categories_mapping"] = json!(true);
    let r = call(&mut s, ms(0), Route::Create(Kind::Vm), Some(b)).unwrap();
    let m = &r.body["metadata"];
    assert_eq!(m["project_reference"]["uuid"], d::PROJECT_DEFAULT_UUID);
    assert_eq!(
        m["categories_mapping"]["Environment"],
        json!(["Dev", "Prod"])
    );
    assert_eq!(m["categories"]["Environment"], "Dev");
    assert_eq!(m["use_categories_mapping"], true);
    assert_eq!(m["creation_time"], "2025-01-02T03:04:05Z");
}

/// Random and mutated bodies on every route never panic and never answer 5xx.
#[test]
fn no_panics_on_garbage() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    fn random_value(rng: &mut rand::rngs::StdRng, depth: u32) -> Value {
        match rng.random_range(0..if depth > 3 { 6 } else { 8 }) {
            0 => Value::Null,
            1 => json!(rng.random::<bool>()),
            2 => json!(rng.random::<i64>()),
            3 => json!(rng.random::<f64>() * 1e300),
            4 => json!(
                [
                    "DISK",
                    "CDROM",
                    "ON",
                    "x",
                    "",
                    d::IMAGE_DISK_UUID,
                    "image",
                    "vm_disk"
                ][rng.random_range(0..8)]
            ),
            5 => json!(u64::MAX),
            6 => Value::Array(
                (0..rng.random_range(0..4))
                    .map(|_| random_value(rng, depth + 1))
                    .collect(),
            ),
            _ => {
                let keys = [
                    "kind",
                    "uuid",
                    "name",
                    "spec",
                    "metadata",
                    "resources",
                    "disk_list",
                    "nic_list",
                    "gpu_list",
                    "power_state",
                    "spec_version",
                    "data_source_reference",
                    "subnet_reference",
                    "disk_size_mib",
                    "device_properties",
                    "source_uri",
                    "image_type",
                    "checksum",
                    "categories",
                    "filter",
                    "length",
                    "offset",
                ];
                Value::Object(
                    (0..rng.random_range(0..5))
                        .map(|_| {
                            (
                                keys[rng.random_range(0..keys.len())].to_string(),
                                random_value(rng, depth + 1),
                            )
                        })
                        .collect(),
                )
            }
        }
    }
    fn mutate(rng: &mut rand::rngs::StdRng, v: &mut Value) {
        match v {
            Value::Object(m) => {
                let keys: Vec<String> = m.keys().cloned().collect();
                if keys.is_empty() {
                    return;
                }
                let k = &keys[rng.random_range(0..keys.len())];
                if rng.random_range(0..3) == 0 {
                    m.insert(k.clone(), random_value(rng, 2));
                } else if let Some(child) = m.get_mut(k) {
                    mutate(rng, child);
                }
            }
            Value::Array(a) if !a.is_empty() => {
                let i = rng.random_range(0..a.len());
                mutate(rng, &mut a[i]);
            }
            other => *other = random_value(rng, 3),
        }
    }
    let mut s = store();
    let (vm, _) = create_vm(&mut s, ms(0), "base");
    let routes = [
        Route::Create(Kind::Vm),
        Route::Create(Kind::Image),
        Route::Update(Kind::Vm, vm.clone()),
        Route::Update(Kind::Image, d::IMAGE_DISK_UUID.into()),
        Route::List(Kind::Vm),
        Route::List(Kind::Image),
        Route::List(Kind::Task),
        Route::List(Kind::Host),
        Route::CategoryKeys,
    ];
    let seeds = [
        vm_body("seed"),
        image_body(
            "i",
            json!({"image_type": "DISK_IMAGE", "source_uri": d::KNOWN_URI}),
        ),
    ];
    for i in 0..3000u64 {
        let body = if i % 2 == 0 {
            random_value(&mut rng, 0)
        } else {
            let mut b = seeds[(i as usize / 2) % 2].clone();
            for _ in 0..rng.random_range(1..4) {
                mutate(&mut rng, &mut b);
            }
            if let (0, Some(m)) = (i % 3, b.get_mut("metadata").and_then(Value::as_object_mut)) {
                m.insert("spec_version".into(), json!(s.vms[0].core.spec_version));
            }
            b
        };
        for r in &routes {
            if let Err(e) = s.handle(ms(i), r, Some(&body), None) {
                assert!((400..500).contains(&e.status), "{r:?} {body} -> {e:?}");
            }
        }
    }
    let _ = s.state_json(ms(10_000));
}

fn end(status: TaskEnd, message: &str) -> TaskFault {
    TaskFault::End {
        status,
        message: message.into(),
    }
}

#[test]
fn injected_terminal_statuses_end_creates_unapplied() {
    for status in [TaskEnd::Aborted, TaskEnd::Cancelled, TaskEnd::InvalidUuid] {
        let mut s = store();
        let message = format!("{}: injected", status.as_str());
        let r = s
            .handle(
                ms(0),
                &Route::Create(Kind::Vm),
                Some(&vm_body("x")),
                Some(&end(status, &message)),
            )
            .unwrap();
        let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
        let t = task_of(&r);
        // It runs its normal course first.
        let running = task_status(&mut s, ms(500), &t);
        assert_eq!(running["status"], "RUNNING");
        assert!(running.get("error_detail").is_none());
        let done = task_status(&mut s, ms(1000), &t);
        assert_eq!(done["status"], status.as_str());
        assert_eq!(done["error_detail"], message);
        assert_eq!(done["progress_message"], message);
        assert_eq!(done["error_code"], status.as_str());
        assert_eq!(done["percentage_complete"], 100);
        assert!(done["completion_time"].is_string());
        let v = get(&mut s, ms(1000), Kind::Vm, &vm).unwrap();
        assert_eq!(v["status"]["state"], "ERROR", "{status:?}");
        assert_eq!(v["status"]["message_list"][0]["message"], message);
        // The task list and /_sim/state report the same status.
        let listed = call(
            &mut s,
            ms(1000),
            Route::List(Kind::Task),
            Some(json!({"kind": "task", "filter": format!("status=={}", status.as_str())})),
        )
        .unwrap();
        assert_eq!(listed.body["metadata"]["total_matches"], 1, "{status:?}");
        let state = s.state_json(ms(1000));
        assert_eq!(state["tasks"][0]["status"], status.as_str());
        assert_eq!(state["tasks"][0]["error_detail"], message);
    }
}

#[test]
fn injected_terminal_status_on_delete_keeps_the_entity() {
    let mut s = store();
    let (vm, _) = create_vm(&mut s, ms(0), "keep");
    let r = s
        .handle(
            ms(1000),
            &Route::Delete(Kind::Vm, vm.clone()),
            None,
            Some(&end(TaskEnd::Cancelled, "cancelled by admin")),
        )
        .unwrap();
    let t = task_status(&mut s, ms(2000), &task_of(&r));
    assert_eq!(t["status"], "CANCELLED");
    assert_eq!(t["error_detail"], "cancelled by admin");
    assert_eq!(t["error_code"], "INTERNAL_ERROR");
    let v = get(&mut s, ms(2000), Kind::Vm, &vm).unwrap();
    assert_eq!(v["status"]["state"], "COMPLETE");
    assert!(v["status"].get("message_list").is_none());
    // A new delete is a new task, and it works.
    let again = call(&mut s, ms(2000), Route::Delete(Kind::Vm, vm.clone()), None).unwrap();
    assert_ne!(task_of(&again), task_of(&r));
    assert_eq!(
        task_status(&mut s, ms(3000), &task_of(&again))["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        get(&mut s, ms(3000), Kind::Vm, &vm).unwrap_err().status,
        404
    );

    let r = s
        .handle(
            ms(3000),
            &Route::Delete(Kind::Image, d::IMAGE_ISO_UUID.into()),
            None,
            Some(&end(TaskEnd::Aborted, "aborted")),
        )
        .unwrap();
    assert_eq!(
        task_status(&mut s, ms(4000), &task_of(&r))["status"],
        "ABORTED"
    );
    assert_eq!(
        get(&mut s, ms(4000), Kind::Image, d::IMAGE_ISO_UUID).unwrap()["status"]["state"],
        "COMPLETE"
    );
}

#[test]
fn a_task_queued_behind_an_aborted_one_still_runs() {
    let mut s = store();
    let r = s
        .handle(
            ms(0),
            &Route::Create(Kind::Vm),
            Some(&vm_body("gone")),
            Some(&end(TaskEnd::Aborted, "aborted")),
        )
        .unwrap();
    let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    let d = call(&mut s, ms(100), Route::Delete(Kind::Vm, vm.clone()), None).unwrap();
    assert_eq!(
        task_status(&mut s, ms(1500), &task_of(&d))["status"],
        "RUNNING"
    );
    assert_eq!(
        task_status(&mut s, ms(2000), &task_of(&d))["status"],
        "SUCCEEDED"
    );
    assert_eq!(
        get(&mut s, ms(2000), Kind::Vm, &vm).unwrap_err().status,
        404
    );
}
