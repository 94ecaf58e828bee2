//! OVA exports and v4 templates with explicit time: lifecycles, validation, faults, leaks.

use std::io::Read;
use std::time::Duration;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::*;
use crate::inventory::defaults as d;
use crate::routes::{Kind, Route};

const TASK: Duration = Duration::from_millis(1000);

fn store() -> Store {
    Store::new(
        Inventory::default_inventory(),
        StoreConfig {
            task_duration: TASK,
            ip_delay: Duration::from_millis(500),
            vm_ip: None,
            refuse_deleting_images_in_use: false,
        },
        chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z")
            .unwrap()
            .with_timezone(&Utc),
    )
}

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// A VM with an image-backed disk, an empty 20 GiB disk and a CD-ROM.
fn vm_body(name: &str) -> Value {
    json!({
        "metadata": {"kind": "vm"},
        "spec": {
            "name": name,
            "cluster_reference": {"kind": "cluster", "uuid": d::CLUSTER_1_UUID},
            "resources": {
                "num_sockets": 2,
                "num_vcpus_per_socket": 3,
                "memory_size_mib": 2048,
                "power_state": "OFF",
                "disk_list": [
                    {"device_properties": {"device_type": "DISK"},
                     "data_source_reference": {"kind": "image", "uuid": d::IMAGE_DISK_UUID}},
                    {"device_properties": {"device_type": "DISK"}, "disk_size_mib": 20480},
                    {"device_properties": {"device_type": "CDROM"},
                     "data_source_reference": {"kind": "image", "uuid": d::IMAGE_ISO_UUID}}
                ]
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

fn create_vm(s: &mut Store, now: Duration, name: &str) -> String {
    let r = call(s, now, Route::Create(Kind::Vm), Some(vm_body(name))).unwrap();
    r.body["metadata"]["uuid"].as_str().unwrap().to_string()
}

fn task(s: &mut Store, now: Duration, t: &str) -> Value {
    call(s, now, Route::Get(Kind::Task, t.into()), None)
        .unwrap()
        .body
}

fn export(s: &mut Store, now: Duration, vm: &str, name: &str, format: &str) -> String {
    export_with(s, now, vm, name, format, None)
}

fn export_with(
    s: &mut Store,
    now: Duration,
    vm: &str,
    name: &str,
    format: &str,
    fault: Option<&TaskFault>,
) -> String {
    let body = json!({"name": name, "disk_file_format": format});
    let r = s
        .handle(now, &Route::ExportVm(vm.into()), Some(&body), fault)
        .unwrap();
    assert_eq!(r.status, 202);
    r.body["task_uuid"].as_str().unwrap().to_string()
}

fn ova_list(s: &mut Store, now: Duration, body: Value) -> Value {
    call(s, now, Route::List(Kind::Ova), Some(body))
        .unwrap()
        .body
}

fn state_ovas(s: &mut Store, now: Duration) -> Vec<Value> {
    s.state_json(now)["ovas"].as_array().unwrap().clone()
}

fn members(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut ar = tar::Archive::new(bytes);
    ar.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (name, data)
        })
        .collect()
}

#[test]
fn export_appears_only_when_its_task_succeeds() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "src-vm");
    let t = export(&mut s, ms(1000), &vm, "my-ova", "VMDK");
    // Running: no OVA in the API, but visible as PENDING in /_sim/state.
    let tv = task(&mut s, ms(1500), &t);
    assert_eq!(tv["status"], "RUNNING");
    assert_eq!(tv["operation_type"], "VmExport");
    assert_eq!(
        tv["entity_reference_list"],
        json!([{"kind": "vm", "uuid": vm, "name": "src-vm"}])
    );
    assert_eq!(
        ova_list(&mut s, ms(1500), json!({}))["metadata"]["total_matches"],
        0
    );
    let st = state_ovas(&mut s, ms(1500));
    assert_eq!(st.len(), 1);
    assert_eq!(st[0]["state"], "PENDING");
    assert_eq!(st[0]["sha256"], Value::Null);
    let ova = st[0]["uuid"].as_str().unwrap().to_string();
    assert_eq!(
        call(&mut s, ms(1500), Route::Get(Kind::Ova, ova.clone()), None)
            .unwrap_err()
            .status,
        404
    );
    assert!(s.ova_download(ms(1500), &ova).is_err());

    assert_eq!(task(&mut s, ms(2000), &t)["status"], "SUCCEEDED");
    let e = call(&mut s, ms(2000), Route::Get(Kind::Ova, ova.clone()), None)
        .unwrap()
        .body;
    assert_eq!(e["metadata"]["kind"], "ova");
    assert_eq!(e["metadata"]["uuid"], ova.as_str());
    assert_eq!(e["metadata"]["spec_version"], 0);
    assert_eq!(e["metadata"]["categories"], json!({}));
    assert_eq!(e["metadata"]["creation_time"], "2025-01-02T03:04:07Z");
    assert_eq!(e["info"]["name"], "my-ova");
    assert_eq!(
        e["info"]["parent_vm_reference"],
        json!({"kind": "vm", "uuid": vm, "name": "src-vm"})
    );
    assert_eq!(e["info"]["disk_format"], "VMDK");
    assert_eq!(e["info"]["checksum"]["checksum_algorithm"], "SHA_256");

    // The file: what the checksum and size describe, a tar of the OVF and the two data disks.
    let dl = s.ova_download(ms(2000), &ova).unwrap();
    let bytes = dl.read(0, dl.size() as usize);
    assert_eq!(bytes.len() as u64, dl.size());
    assert_eq!(e["info"]["size_bytes"], dl.size());
    assert_eq!(
        e["info"]["checksum"]["checksum_value"],
        hex::encode(Sha256::digest(&bytes))
    );
    let m = members(&bytes);
    let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["my-ova.ovf", "my-ova-disk1.vmdk", "my-ova-disk2.vmdk"]
    );
    assert_eq!(m[1].1.len() as u64, ova::MAX_DISK_PAYLOAD);
    let ovf = String::from_utf8(m[0].1.clone()).unwrap();
    let doc = roxmltree::Document::parse(&ovf).unwrap();
    let caps: Vec<&str> = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "Disk")
        .filter_map(|n| {
            n.attributes()
                .find(|a| a.name() == "capacity")
                .map(|a| a.value())
        })
        .collect();
    assert_eq!(
        caps,
        [d::IMAGE_DISK_SIZE.to_string(), (20480u64 << 20).to_string()]
    );
    assert!(ovf.contains("my-ova-disk1.vmdk") && ovf.contains("my-ova-disk2.vmdk"));
    assert!(ovf.contains("<rasd:VirtualQuantity>6</rasd:VirtualQuantity>"));
    assert!(ovf.contains("<rasd:VirtualQuantity>2048</rasd:VirtualQuantity>"));
    // The disk stand-ins are the disks' generated content.
    let v = call(&mut s, ms(2000), Route::Get(Kind::Vm, vm.clone()), None)
        .unwrap()
        .body;
    let disk1 = v["spec"]["resources"]["disk_list"][0]["uuid"]
        .as_str()
        .unwrap();
    assert_eq!(
        m[1].1,
        crate::transfer::generated(crate::transfer::seed_for(disk1), 0, m[1].1.len()).to_vec()
    );

    let st = state_ovas(&mut s, ms(2000));
    assert_eq!(st[0]["state"], "COMPLETE");
    assert_eq!(st[0]["vm_uuid"], vm.as_str());
    assert_eq!(st[0]["disk_format"], "VMDK");
    assert_eq!(st[0]["size_bytes"], dl.size());
    assert_eq!(st[0]["sha256"], e["info"]["checksum"]["checksum_value"]);
}

#[test]
fn qcow2_exports_name_their_disks_qcow2() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "v");
    export(&mut s, ms(1000), &vm, "q", "QCOW2");
    let ova = ova_list(&mut s, ms(2000), json!({}))["entities"][0]["metadata"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let dl = s.ova_download(ms(2000), &ova).unwrap();
    let m = members(&dl.read(0, dl.size() as usize));
    let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["q.ovf", "q-disk1.qcow2", "q-disk2.qcow2"]);
}

#[test]
fn export_requests_are_validated() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "v");
    let unknown = "11111111-2222-4333-8444-555555555555";
    let e = s
        .handle(
            ms(1000),
            &Route::ExportVm(unknown.into()),
            Some(&json!({"name": "o", "disk_file_format": "VMDK"})),
            None,
        )
        .unwrap_err();
    assert_eq!((e.status, e.kind.as_deref()), (404, Some("vm")));
    for (body, field) in [
        (json!({"disk_file_format": "VMDK"}), "name"),
        (json!({"name": " ", "disk_file_format": "VMDK"}), "name"),
        (json!({"name": 5, "disk_file_format": "VMDK"}), "name"),
        (json!({"name": "o"}), "disk_file_format"),
        (
            json!({"name": "o", "disk_file_format": "vmdk"}),
            "disk_file_format",
        ),
        (
            json!({"name": "o", "disk_file_format": "OVA"}),
            "disk_file_format",
        ),
    ] {
        let e = s
            .handle(ms(1000), &Route::ExportVm(vm.clone()), Some(&body), None)
            .unwrap_err();
        assert_eq!(e.status, 422, "{body}");
        assert!(
            e.details.as_ref().unwrap().get(field).is_some(),
            "{body}: {e:?}"
        );
    }
    let e = s
        .handle(ms(1000), &Route::ExportVm(vm.clone()), None, None)
        .unwrap_err();
    assert_eq!(e.status, 422);
    // Nothing was started by the refused requests.
    assert!(state_ovas(&mut s, ms(5000)).is_empty());
    // A VM being deleted cannot be exported.
    call(&mut s, ms(2000), Route::Delete(Kind::Vm, vm.clone()), None).unwrap();
    let e = s
        .handle(
            ms(2100),
            &Route::ExportVm(vm),
            Some(&json!({"name": "o", "disk_file_format": "VMDK"})),
            None,
        )
        .unwrap_err();
    assert_eq!(e.status, 409);
}

#[test]
fn failed_or_hung_exports_leave_no_ova_behind() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "v");
    let fail = TaskFault::End {
        status: TaskEnd::Failed,
        message: "INTERNAL_ERROR: boom".into(),
    };
    let t = export_with(&mut s, ms(1000), &vm, "f", "VMDK", Some(&fail));
    assert_eq!(state_ovas(&mut s, ms(1500)).len(), 1);
    let tv = task(&mut s, ms(2000), &t);
    assert_eq!(tv["status"], "FAILED");
    assert_eq!(tv["error_detail"], "INTERNAL_ERROR: boom");
    assert!(state_ovas(&mut s, ms(2000)).is_empty());
    assert_eq!(
        ova_list(&mut s, ms(2000), json!({}))["metadata"]["total_matches"],
        0
    );

    let t = export_with(&mut s, ms(3000), &vm, "h", "VMDK", Some(&TaskFault::Hang));
    assert_eq!(task(&mut s, ms(100_000), &t)["status"], "RUNNING");
    let st = state_ovas(&mut s, ms(100_000));
    assert_eq!(st.len(), 1);
    assert_eq!(st[0]["state"], "PENDING");
    assert_eq!(st[0]["name"], "h");
}

#[test]
fn exports_run_after_the_vms_earlier_tasks_and_outlive_the_vm() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "v");
    // Accepted while the VM's create runs: queued behind it (0..1000), then 1000..2000.
    let t = export(&mut s, ms(100), &vm, "o", "VMDK");
    assert_eq!(task(&mut s, ms(900), &t)["status"], "QUEUED");
    // A delete accepted afterwards runs alongside but never ends before the export.
    call(&mut s, ms(1000), Route::Delete(Kind::Vm, vm.clone()), None).unwrap();
    assert_eq!(task(&mut s, ms(1999), &t)["status"], "RUNNING");
    assert_eq!(task(&mut s, ms(2000), &t)["status"], "SUCCEEDED");
    // The VM is gone; its OVA stays, with its bytes.
    assert!(call(&mut s, ms(2000), Route::Get(Kind::Vm, vm.clone()), None).is_err());
    let ents = ova_list(&mut s, ms(2000), json!({}))["entities"].clone();
    assert_eq!(ents.as_array().unwrap().len(), 1);
    assert_eq!(ents[0]["info"]["parent_vm_reference"]["uuid"], vm.as_str());
    let ova = ents[0]["metadata"]["uuid"].as_str().unwrap().to_string();
    let dl = s.ova_download(ms(2000), &ova).unwrap();
    assert_eq!(members(&dl.read(0, dl.size() as usize)).len(), 3);
}

#[test]
fn an_export_whose_vm_is_gone_when_it_runs_fails_without_an_ova() {
    // The VM's create fails: the export queued behind it finds no VM configuration.
    let mut s = store();
    let fail = TaskFault::End {
        status: TaskEnd::Failed,
        message: "INTERNAL_ERROR: create failed".into(),
    };
    let r = s
        .handle(
            ms(0),
            &Route::Create(Kind::Vm),
            Some(&vm_body("v")),
            Some(&fail),
        )
        .unwrap();
    let vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    let t = export(&mut s, ms(100), &vm, "o", "VMDK");
    let tv = task(&mut s, ms(2000), &t);
    assert_eq!(tv["status"], "FAILED");
    assert_eq!(tv["error_code"], "ENTITY_NOT_FOUND");
    assert!(tv["error_detail"].as_str().unwrap().contains(&vm));
    assert!(state_ovas(&mut s, ms(2000)).is_empty());

    // The VM disappears (any way) while the export runs.
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "v");
    let t = export(&mut s, ms(1000), &vm, "o", "VMDK");
    s.tick(ms(1500));
    s.vms.retain(|v| v.core.uuid != vm);
    let tv = task(&mut s, ms(2000), &t);
    assert_eq!(tv["status"], "FAILED", "{tv}");
    assert!(state_ovas(&mut s, ms(2000)).is_empty());
}

#[test]
fn an_export_behind_a_hung_task_never_starts() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "v");
    let cur = call(&mut s, ms(1000), Route::Get(Kind::Vm, vm.clone()), None)
        .unwrap()
        .body;
    let upd = json!({"metadata": {"kind": "vm", "spec_version": 0}, "spec": cur["spec"].clone()});
    s.handle(
        ms(1000),
        &Route::Update(Kind::Vm, vm.clone()),
        Some(&upd),
        Some(&TaskFault::Hang),
    )
    .unwrap();
    let t = export(&mut s, ms(1100), &vm, "never", "VMDK");
    assert_eq!(task(&mut s, ms(60_000), &t)["status"], "QUEUED");
    assert_eq!(state_ovas(&mut s, ms(60_000))[0]["state"], "PENDING");
}

#[test]
fn ova_delete_goes_through_a_task() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "v");
    export(&mut s, ms(1000), &vm, "o", "VMDK");
    let ova = state_ovas(&mut s, ms(2000))[0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    // A failed delete leaves it as it was.
    let fail = TaskFault::End {
        status: TaskEnd::Aborted,
        message: "aborted".into(),
    };
    let r = s
        .handle(
            ms(2000),
            &Route::Delete(Kind::Ova, ova.clone()),
            None,
            Some(&fail),
        )
        .unwrap();
    let t = r.body["task_uuid"].as_str().unwrap().to_string();
    assert_eq!(state_ovas(&mut s, ms(2500))[0]["state"], "DELETE_PENDING");
    let tv = task(&mut s, ms(3000), &t);
    assert_eq!(tv["status"], "ABORTED");
    assert_eq!(tv["operation_type"], "OvaDelete");
    assert_eq!(tv["entity_reference_list"][0]["kind"], "ova");
    assert_eq!(state_ovas(&mut s, ms(3000))[0]["state"], "COMPLETE");
    // A real delete; a second DELETE meanwhile answers with the same task.
    let r = call(
        &mut s,
        ms(4000),
        Route::Delete(Kind::Ova, ova.clone()),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 202);
    let t = r.body["task_uuid"].as_str().unwrap().to_string();
    let again = call(
        &mut s,
        ms(4100),
        Route::Delete(Kind::Ova, ova.clone()),
        None,
    )
    .unwrap();
    assert_eq!(again.body["task_uuid"], t.as_str());
    // Still listed and downloadable until the task ends.
    assert_eq!(
        ova_list(&mut s, ms(4500), json!({}))["metadata"]["total_matches"],
        1
    );
    assert!(s.ova_download(ms(4500), &ova).is_ok());
    assert_eq!(task(&mut s, ms(5000), &t)["status"], "SUCCEEDED");
    assert!(state_ovas(&mut s, ms(5000)).is_empty());
    let e = call(&mut s, ms(5000), Route::Get(Kind::Ova, ova.clone()), None).unwrap_err();
    assert_eq!((e.status, e.kind.as_deref()), (404, Some("ova")));
    let e = call(&mut s, ms(5000), Route::Delete(Kind::Ova, ova), None).unwrap_err();
    assert_eq!(e.status, 404);
}

#[test]
fn ova_list_filters_sorts_and_pages() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "v");
    for (i, name) in ["b", "a", "c", "a", "it's"].iter().enumerate() {
        export(&mut s, ms(1000 + i as u64), &vm, name, "VMDK");
    }
    let now = ms(3000);
    let names = |v: &Value| -> Vec<String> {
        v["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["info"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    let r = ova_list(&mut s, now, json!({"kind": "ova", "filter": "name==a"}));
    assert_eq!(r["metadata"]["total_matches"], 2);
    assert_eq!(r["metadata"]["kind"], "ova");
    assert_eq!(r["api_version"], "3.1");
    assert_eq!(names(&r), ["a", "a"]);
    let r = ova_list(&mut s, now, json!({"filter": "name==it's"}));
    assert_eq!(names(&r), ["it's"]);
    let r = ova_list(
        &mut s,
        now,
        json!({"sort_attribute": "name", "sort_order": "DESCENDING", "length": 2, "offset": 1}),
    );
    assert_eq!(r["metadata"]["total_matches"], 5);
    assert_eq!(names(&r), ["c", "b"]);
    let e = call(
        &mut s,
        now,
        Route::List(Kind::Ova),
        Some(json!({"kind": "vm"})),
    )
    .unwrap_err();
    assert_eq!(e.status, 422);
    let e = call(
        &mut s,
        now,
        Route::List(Kind::Ova),
        Some(json!({"filter": "color==x"})),
    )
    .unwrap_err();
    assert_eq!(e.status, 400);
}

// ---- v4 templates -------------------------------------------------------------------------

fn req(id: Option<&str>) -> V4Request {
    V4Request {
        request_id: id.map(str::to_string),
        ..V4Request::default()
    }
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn template_body(name: &str, vm: &str) -> Value {
    json!({"$objectType": "vmm.v4.content.Template", "templateName": name,
        "templateDescription": "built by packer",
        "templateVersionSpec": {"$objectType": "vmm.v4.content.TemplateVersionSpec",
            "versionSource": {"$objectType": "vmm.v4.content.TemplateVmReference", "extId": vm},
            "isActiveVersion": true, "isGcOverrideEnabled": true}})
}

fn v4(
    s: &mut Store,
    now: Duration,
    route: Route,
    r: &V4Request,
    body: Option<Value>,
) -> Result<V4Reply, ApiError> {
    s.handle_v4(now, &route, r, body.as_ref(), None)
}

fn task_uuid_of(reply: &V4Reply) -> String {
    let ext = reply.body["data"]["extId"].as_str().unwrap();
    assert!(ext.starts_with("ZXJnb24=:"), "{ext}");
    ext.rsplit(':').next().unwrap().to_string()
}

fn error_group(e: &ApiError) -> String {
    e.body()["data"]["error"][0]["errorGroup"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn template_lifecycle_through_v3_tasks() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "src");
    let r = v4(
        &mut s,
        ms(1000),
        Route::TemplateCreate,
        &req(Some(&new_id())),
        Some(template_body("tpl", &vm)),
    )
    .unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(
        r.body["$objectType"],
        "vmm.v4.content.CreateTemplateApiResponse"
    );
    assert_eq!(
        r.body["data"]["$objectType"],
        "prism.v4.config.TaskReference"
    );
    assert_eq!(
        r.body["metadata"]["flags"][0],
        json!({"name": "hasError", "value": false})
    );
    let t = task_uuid_of(&r);
    let tv = task(&mut s, ms(1500), &t);
    assert_eq!(tv["status"], "RUNNING");
    assert_eq!(tv["operation_type"], "TemplateCreate");
    assert_eq!(tv["entity_reference_list"][0]["kind"], TEMPLATE_KIND);
    // Not visible yet, but in /_sim/state.
    let l = v4(&mut s, ms(1500), Route::TemplateList, &req(None), None).unwrap();
    assert!(l.body.get("data").is_none());
    assert_eq!(l.body["metadata"]["totalAvailableResults"], 0);
    let st = s.state_json(ms(1500))["templates"].clone();
    assert_eq!(st[0]["state"], "PENDING");
    assert_eq!(st[0]["name"], "tpl");
    assert_eq!(st[0]["description"], "built by packer");
    assert_eq!(st[0]["vm_uuid"], vm.as_str());
    let ext = st[0]["ext_id"].as_str().unwrap().to_string();
    assert_eq!(
        v4(
            &mut s,
            ms(1500),
            Route::TemplateGet(ext.clone()),
            &req(None),
            None
        )
        .unwrap_err()
        .status,
        404
    );

    assert_eq!(task(&mut s, ms(2000), &t)["status"], "SUCCEEDED");
    let l = v4(&mut s, ms(2000), Route::TemplateList, &req(None), None).unwrap();
    assert_eq!(
        l.body["$objectType"],
        "vmm.v4.content.ListTemplatesApiResponse"
    );
    assert_eq!(l.body["metadata"]["totalAvailableResults"], 1);
    let tpl = &l.body["data"][0];
    assert_eq!(tpl["$objectType"], "vmm.v4.content.Template");
    assert_eq!(tpl["extId"], ext.as_str());
    assert_eq!(tpl["templateName"], "tpl");
    assert_eq!(tpl["templateDescription"], "built by packer");
    assert_eq!(tpl["createdBy"]["extId"], ADMIN_UUID);
    assert_eq!(tpl["templateVersionSpec"]["isActiveVersion"], true);
    assert_eq!(tpl["templateVersionSpec"]["vmSpec"]["name"], "src");
    assert_eq!(tpl["templateVersionSpec"]["vmSpec"]["numSockets"], 2);
    assert_eq!(
        tpl["templateVersionSpec"]["vmSpec"]["memorySizeBytes"],
        2048u64 << 20
    );
    assert_eq!(
        tpl["templateVersionSpec"]["vmSpec"]["disks"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let g = v4(
        &mut s,
        ms(2000),
        Route::TemplateGet(ext.clone()),
        &req(None),
        None,
    )
    .unwrap();
    assert_eq!(g.body["data"], *tpl);
    let etag = g.etag.clone().unwrap();

    // Deleting the source VM does not touch the template.
    call(&mut s, ms(2000), Route::Delete(Kind::Vm, vm.clone()), None).unwrap();
    let g2 = v4(
        &mut s,
        ms(5000),
        Route::TemplateGet(ext.clone()),
        &req(None),
        None,
    )
    .unwrap();
    assert_eq!(g2.body, g.body);
    assert_eq!(g2.etag, g.etag);

    // Delete: a wrong If-Match is 412, the right one starts a task.
    let wrong = V4Request {
        request_id: Some(new_id()),
        if_match: Some(format!("{etag}x")),
        ..V4Request::default()
    };
    let e = v4(
        &mut s,
        ms(5000),
        Route::TemplateDelete(ext.clone()),
        &wrong,
        None,
    )
    .unwrap_err();
    assert_eq!(e.status, 412);
    assert_eq!(error_group(&e), "PRECONDITION_FAILED");
    let right = V4Request {
        request_id: Some(new_id()),
        if_match: Some(etag),
        ..V4Request::default()
    };
    let r = v4(
        &mut s,
        ms(5000),
        Route::TemplateDelete(ext.clone()),
        &right,
        None,
    )
    .unwrap();
    assert_eq!(r.status, 202);
    assert_eq!(
        r.body["$objectType"],
        "vmm.v4.content.DeleteTemplateApiResponse"
    );
    let t = task_uuid_of(&r);
    assert_eq!(
        s.state_json(ms(5500))["templates"][0]["state"],
        "DELETE_PENDING"
    );
    assert_eq!(
        task(&mut s, ms(6000), &t)["operation_type"],
        "TemplateDelete"
    );
    assert_eq!(task(&mut s, ms(6000), &t)["status"], "SUCCEEDED");
    assert_eq!(s.state_json(ms(6000))["templates"], json!([]));
    let e = v4(
        &mut s,
        ms(6000),
        Route::TemplateGet(ext.clone()),
        &req(None),
        None,
    )
    .unwrap_err();
    assert_eq!(e.status, 404);
    let e = v4(
        &mut s,
        ms(6000),
        Route::TemplateDelete(ext),
        &req(Some(&new_id())),
        None,
    )
    .unwrap_err();
    assert_eq!(e.status, 404);
}

#[test]
fn template_requests_are_validated() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "src");
    let now = ms(1000);
    // NTNX-Request-Id is required and must be a UUID.
    for id in [None, Some(""), Some("not-a-uuid")] {
        let e = v4(
            &mut s,
            now,
            Route::TemplateCreate,
            &req(id),
            Some(template_body("t", &vm)),
        )
        .unwrap_err();
        assert_eq!(e.status, 400, "{id:?}");
        assert!(e.message.contains("NTNX-Request-Id"), "{e:?}");
        assert_eq!(
            e.body()["$objectType"],
            "vmm.v4.content.CreateTemplateApiResponse"
        );
    }
    let unknown = "11111111-2222-4333-8444-555555555555";
    let e = v4(
        &mut s,
        now,
        Route::TemplateCreate,
        &req(Some(&new_id())),
        Some(template_body("t", unknown)),
    )
    .unwrap_err();
    assert_eq!(e.status, 404);
    assert!(e.message.contains(unknown));
    let mut bad_bodies = vec![
        (json!({}), "templateName"),
        (json!([1]), "body"),
        (json!("x"), "body"),
    ];
    for (path, value, needle) in [
        ("/templateName", json!(""), "templateName"),
        ("/templateName", json!(3), "templateName"),
        ("/$objectType", json!("vmm.v4.content.Image"), "$objectType"),
        ("/templateVersionSpec", json!(null), "templateVersionSpec"),
        (
            "/templateVersionSpec/versionSource",
            json!(7),
            "versionSource",
        ),
        (
            "/templateVersionSpec/versionSource/extId",
            json!("x"),
            "extId",
        ),
        (
            "/templateVersionSpec/isActiveVersion",
            json!(false),
            "isActiveVersion",
        ),
        (
            "/templateVersionSpec/isGcOverrideEnabled",
            json!("yes"),
            "isGcOverrideEnabled",
        ),
    ] {
        let mut b = template_body("t", &vm);
        *b.pointer_mut(path).unwrap() = value;
        bad_bodies.push((b, needle));
    }
    for (b, needle) in bad_bodies {
        let e = v4(
            &mut s,
            now,
            Route::TemplateCreate,
            &req(Some(&new_id())),
            Some(b.clone()),
        )
        .unwrap_err();
        assert_eq!(e.status, 400, "{b}");
        assert!(e.message.contains(needle), "{b}: {}", e.message);
    }
    let e = v4(
        &mut s,
        now,
        Route::TemplateCreate,
        &req(Some(&new_id())),
        None,
    )
    .unwrap_err();
    assert_eq!(e.status, 400);
    // Nothing was created by the refused requests.
    assert_eq!(s.state_json(ms(9000))["templates"], json!([]));
    assert_eq!(s.state_json(ms(9000))["tasks"].as_array().unwrap().len(), 1);
}

#[test]
fn request_ids_replay_instead_of_acting_twice() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "src");
    let id = new_id();
    let a = v4(
        &mut s,
        ms(1000),
        Route::TemplateCreate,
        &req(Some(&id)),
        Some(template_body("t", &vm)),
    )
    .unwrap();
    let b = v4(
        &mut s,
        ms(1200),
        Route::TemplateCreate,
        &req(Some(&id)),
        Some(template_body("t", &vm)),
    )
    .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        s.state_json(ms(2500))["templates"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let ext = s.state_json(ms(2500))["templates"][0]["ext_id"]
        .as_str()
        .unwrap()
        .to_string();
    // The same id on another call is refused.
    let e = v4(
        &mut s,
        ms(2500),
        Route::TemplateDelete(ext),
        &req(Some(&id)),
        None,
    )
    .unwrap_err();
    assert_eq!(e.status, 409);
}

#[test]
fn template_list_filters_and_pages() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "src");
    for name in ["a", "O'Brien", "b", "a", "c"] {
        v4(
            &mut s,
            ms(1000),
            Route::TemplateCreate,
            &req(Some(&new_id())),
            Some(template_body(name, &vm)),
        )
        .unwrap();
    }
    let list = |s: &mut Store, q: &str| {
        let r = V4Request {
            query: Some(q.to_string()),
            ..V4Request::default()
        };
        v4(s, ms(3000), Route::TemplateList, &r, None)
    };
    let names = |v: &Value| -> Vec<String> {
        v["data"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|t| t["templateName"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let r = list(&mut s, "$filter=templateName%20eq%20'a'").unwrap();
    assert_eq!(names(&r.body), ["a", "a"]);
    assert_eq!(r.body["metadata"]["totalAvailableResults"], 2);
    let r = list(&mut s, "$filter=templateName+eq+'O''Brien'").unwrap();
    assert_eq!(names(&r.body), ["O'Brien"]);
    let r = list(&mut s, "$filter=templateName eq 'zzz'").unwrap();
    assert!(r.body.get("data").is_none());
    assert_eq!(r.body["metadata"]["totalAvailableResults"], 0);
    let r = list(&mut s, "$page=1&$limit=2").unwrap();
    assert_eq!(names(&r.body), ["b", "a"]);
    assert_eq!(r.body["metadata"]["totalAvailableResults"], 5);
    let r = list(&mut s, "$page=9&$limit=2").unwrap();
    assert!(r.body.get("data").is_none());
    let ext = s.state_json(ms(3000))["templates"][2]["ext_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = list(&mut s, &format!("$filter=extId eq '{ext}'")).unwrap();
    assert_eq!(names(&r.body), ["b"]);
    for bad in [
        "$filter=name eq 'a'",
        "$filter=startswith(templateName, 'a')",
        "$filter=templateName eq 'a' or templateName eq 'b'",
        "$limit=0",
        "$orderby=templateName",
    ] {
        let e = list(&mut s, bad).unwrap_err();
        assert_eq!(e.status, 400, "{bad}");
        assert_eq!(
            e.body()["$objectType"],
            "vmm.v4.content.ListTemplatesApiResponse"
        );
    }
    let e = list(&mut s, "$filter=name eq 'a'").unwrap_err();
    assert!(e.message.contains("'name'"), "{}", e.message);
}

#[test]
fn failed_template_tasks_leave_nothing_or_keep_the_template() {
    let mut s = store();
    let vm = create_vm(&mut s, ms(0), "src");
    let fail = TaskFault::End {
        status: TaskEnd::Failed,
        message: "INTERNAL_ERROR: no".into(),
    };
    let r = s
        .handle_v4(
            ms(1000),
            &Route::TemplateCreate,
            &req(Some(&new_id())),
            Some(&template_body("t", &vm)),
            Some(&fail),
        )
        .unwrap();
    let t = task_uuid_of(&r);
    assert_eq!(task(&mut s, ms(2000), &t)["status"], "FAILED");
    assert_eq!(s.state_json(ms(2000))["templates"], json!([]));

    v4(
        &mut s,
        ms(3000),
        Route::TemplateCreate,
        &req(Some(&new_id())),
        Some(template_body("t", &vm)),
    )
    .unwrap();
    let ext = s.state_json(ms(4000))["templates"][0]["ext_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .handle_v4(
            ms(4000),
            &Route::TemplateDelete(ext.clone()),
            &req(Some(&new_id())),
            None,
            Some(&fail),
        )
        .unwrap();
    assert_eq!(
        task(&mut s, ms(5000), &task_uuid_of(&r))["status"],
        "FAILED"
    );
    assert_eq!(s.state_json(ms(5000))["templates"][0]["state"], "COMPLETE");
    // A VM whose create failed cannot become a template.
    let r = s
        .handle(
            ms(6000),
            &Route::Create(Kind::Vm),
            Some(&vm_body("bad")),
            Some(&fail),
        )
        .unwrap();
    let bad_vm = r.body["metadata"]["uuid"].as_str().unwrap().to_string();
    let r = v4(
        &mut s,
        ms(6100),
        Route::TemplateCreate,
        &req(Some(&new_id())),
        Some(template_body("x", &bad_vm)),
    )
    .unwrap();
    let tv = task(&mut s, ms(8000), &task_uuid_of(&r));
    assert_eq!(tv["status"], "FAILED");
    assert_eq!(tv["error_code"], "ENTITY_NOT_FOUND");
    assert_eq!(
        s.state_json(ms(8000))["templates"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// The entity the Go plugin v1.2.1 `GetLatestOVAByName` would pick: the one whose data values
/// carry the greatest `time` (strictly greater than 0).
fn go_latest(groups: &Value) -> Option<String> {
    let mut best: Option<(i64, String)> = None;
    for e in groups["group_results"][0]["entity_results"].as_array()? {
        for f in e["data"].as_array()? {
            for v in f["values"].as_array()? {
                let t = v["time"].as_i64()?;
                if t > best.as_ref().map_or(0, |b| b.0) {
                    best = Some((t, e["entity_id"].as_str()?.to_string()));
                }
            }
        }
    }
    best.map(|b| b.1)
}

fn groups(s: &mut Store, now: Duration, name: &str) -> Value {
    let body = json!({"entity_type": "ova", "filter_criteria": format!("name=={name}"),
                      "group_member_attributes": null});
    call(s, now, Route::Groups, Some(body)).unwrap().body
}

#[test]
fn groups_lists_succeeded_exports_timed_by_their_creation() {
    let mut s = store();
    let a = create_vm(&mut s, ms(0), "vm-a");
    let b = create_vm(&mut s, ms(0), "vm-b");
    let c = create_vm(&mut s, ms(0), "vm-c");
    let ta = export(&mut s, ms(1000), &a, "same", "VMDK");
    let tb = export(&mut s, ms(1500), &b, "same", "QCOW2");
    let tc = export_with(
        &mut s,
        ms(1000),
        &c,
        "same",
        "VMDK",
        Some(&TaskFault::End {
            status: TaskEnd::Failed,
            message: "INTERNAL_ERROR: boom".into(),
        }),
    );
    // Running exports are not listed.
    let r = groups(&mut s, ms(1900), "same");
    assert_eq!(r["filtered_entity_count"], 0, "{r}");
    assert_eq!(r["group_results"], json!([]));
    assert_eq!(task(&mut s, ms(2500), &ta)["status"], "SUCCEEDED");
    assert_eq!(task(&mut s, ms(2500), &tb)["status"], "SUCCEEDED");
    assert_eq!(task(&mut s, ms(2500), &tc)["status"], "FAILED");

    let r = groups(&mut s, ms(2500), "same");
    assert_eq!(r["filtered_entity_count"], 2, "{r}");
    let ents = r["group_results"][0]["entity_results"].as_array().unwrap();
    let list = ova_list(&mut s, ms(2500), json!({"filter": "name==same"}));
    let uuid_of_vm = |vm: &str| {
        list["entities"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["info"]["parent_vm_reference"]["uuid"] == vm)
            .map(|e| e["metadata"]["uuid"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (ova_a, ova_b) = (uuid_of_vm(&a), uuid_of_vm(&b));
    // Each export ended one task duration after it was accepted: 2 s and 2.5 s after the epoch.
    let epoch_us = chrono::DateTime::parse_from_rfc3339("2025-01-02T03:04:05Z")
        .unwrap()
        .timestamp_micros();
    let times: Vec<(String, i64)> = ents
        .iter()
        .map(|e| {
            (
                e["entity_id"].as_str().unwrap().to_string(),
                e["data"][0]["values"][0]["time"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        times,
        vec![
            (ova_a.clone(), epoch_us + 2_000_000),
            (ova_b.clone(), epoch_us + 2_500_000)
        ]
    );
    assert_eq!(ents[0]["data"][0]["name"], "name");
    assert_eq!(ents[0]["data"][0]["values"][0]["values"], json!(["same"]));
    assert_eq!(go_latest(&r).as_deref(), Some(ova_b.as_str()));

    // Deleting the later one makes the earlier the latest.
    call(&mut s, ms(3000), Route::Delete(Kind::Ova, ova_b), None).unwrap();
    assert_eq!(groups(&mut s, ms(4000), "same")["filtered_entity_count"], 1);
    assert_eq!(
        go_latest(&groups(&mut s, ms(4000), "same")).as_deref(),
        Some(ova_a.as_str())
    );
    assert_eq!(
        groups(&mut s, ms(4000), "other")["filtered_entity_count"],
        0
    );
}
