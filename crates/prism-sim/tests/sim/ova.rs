//! OVA export over HTTP: `POST /vms/{uuid}/export`, the task, `/ovas/list`, `GET /ovas/{uuid}`,
//! the streamed tar file (checked with the `tar` crate and an XML parser), Range, delete.

use std::io::Read;

use prism_sim::inventory::defaults as d;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::common::*;

/// A powered-off VM with an image-backed disk, an empty disk and a CD-ROM; waits for it.
pub async fn exportable_vm(s: &Sim, name: &str) -> String {
    let r = s
        .post(
            "/vms",
            &json!({"metadata": {"kind": "vm"}, "spec": {"name": name,
                "cluster_reference": {"kind": "cluster", "uuid": d::CLUSTER_1_UUID},
                "resources": {"num_sockets": 1, "num_vcpus_per_socket": 2, "memory_size_mib": 1024,
                    "power_state": "OFF",
                    "disk_list": [
                        {"device_properties": {"device_type": "DISK"},
                         "data_source_reference": {"kind": "image", "uuid": d::IMAGE_DISK_UUID}},
                        {"device_properties": {"device_type": "DISK"}, "disk_size_mib": 3},
                        {"device_properties": {"device_type": "CDROM"},
                         "data_source_reference": {"kind": "image", "uuid": d::IMAGE_ISO_UUID}}]}}}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    s.wait_task(&task_of(&r.body)).await;
    r.body["metadata"]["uuid"].as_str().unwrap().to_string()
}

/// Exports and returns the task body once it ended.
pub async fn export(s: &Sim, vm: &str, name: &str, format: &str) -> Value {
    let r = s
        .post(
            &format!("/vms/{vm}/export"),
            &json!({"name": name, "disk_file_format": format}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let t = r.body["task_uuid"].as_str().unwrap().to_string();
    s.wait_task(&t).await
}

async fn ova_by_name(s: &Sim, name: &str) -> Value {
    let r = s
        .post(
            "/ovas/list",
            &json!({"kind": "ova", "filter": format!("name=={name}")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ents = assert_list(&r.body, "ova");
    assert_eq!(ents.len(), 1, "{}", r.body);
    ents[0].clone()
}

async fn file(s: &Sim, ova: &str, range: Option<&str>) -> reqwest::Response {
    let mut rb =
        s.c.get(s.url(&format!("/ovas/{ova}/file")))
            .basic_auth("admin", Some("secret"));
    if let Some(r) = range {
        rb = rb.header("Range", r);
    }
    rb.send().await.unwrap()
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

#[tokio::test]
async fn export_list_get_and_download() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "web").await;
    let t = export(&s, &vm, "web-ova", "VMDK").await;
    assert_eq!(t["status"], "SUCCEEDED", "{t}");
    assert_eq!(t["entity_reference_list"][0]["kind"], "vm");
    assert_eq!(t["entity_reference_list"][0]["uuid"], vm.as_str());

    let e = ova_by_name(&s, "web-ova").await;
    let uuid = e["metadata"]["uuid"].as_str().unwrap().to_string();
    let m = &e["metadata"];
    assert_eq!(m["kind"], "ova");
    assert_eq!(m["spec_version"], 0);
    assert_eq!(m["categories"], json!({}));
    for t in ["creation_time", "last_update_time"] {
        let ts = m[t].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{t}={ts}");
    }
    assert_eq!(e["info"]["parent_vm_reference"]["uuid"], vm.as_str());
    assert_eq!(e["info"]["parent_vm_reference"]["name"], "web");
    assert_eq!(e["info"]["disk_format"], "VMDK");
    let got = s.get(&format!("/ovas/{uuid}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["info"], e["info"]);

    let r = file(&s, &uuid, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/octet-stream");
    let len: u64 = r.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        r.headers()["content-disposition"],
        "attachment; filename=\"web-ova.ova\""
    );
    let body = r.bytes().await.unwrap();
    assert_eq!(body.len() as u64, len);
    assert_eq!(e["info"]["size_bytes"], len);
    assert_eq!(
        e["info"]["checksum"],
        json!({"checksum_algorithm": "SHA_256", "checksum_value": hex::encode(Sha256::digest(&body))})
    );
    let m = members(&body);
    let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["web-ova.ovf", "web-ova-disk1.vmdk", "web-ova-disk2.vmdk"]
    );
    // The empty 3 MiB disk is served in full, the large image-backed one capped at 8 MiB.
    assert_eq!(m[1].1.len(), 8 << 20);
    assert_eq!(m[2].1.len(), 3 << 20);
    let ovf = std::str::from_utf8(&m[0].1).unwrap();
    let doc = roxmltree::Document::parse(ovf).unwrap();
    let ns = "http://schemas.dmtf.org/ovf/envelope/1";
    let hrefs: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name((ns, "File")))
        .map(|n| n.attribute((ns, "href")).unwrap())
        .collect();
    assert_eq!(hrefs, ["web-ova-disk1.vmdk", "web-ova-disk2.vmdk"]);
    let sizes: Vec<u64> = doc
        .descendants()
        .filter(|n| n.has_tag_name((ns, "File")))
        .map(|n| n.attribute((ns, "size")).unwrap().parse().unwrap())
        .collect();
    assert_eq!(sizes, [8 << 20, 3 << 20]);
    let caps: Vec<u64> = doc
        .descendants()
        .filter(|n| n.has_tag_name((ns, "Disk")))
        .map(|n| n.attribute((ns, "capacity")).unwrap().parse().unwrap())
        .collect();
    assert_eq!(caps, [d::IMAGE_DISK_SIZE, 3 << 20]);

    // Ranges agree with the whole file.
    let r = file(&s, &uuid, Some("bytes=1000-2999")).await;
    assert_eq!(r.status(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1000-2999/{len}").as_str()
    );
    assert_eq!(r.bytes().await.unwrap(), body.slice(1000..3000));
    let r = file(&s, &uuid, Some(&format!("bytes={len}-"))).await;
    assert_eq!(r.status(), 416);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes */{len}").as_str()
    );

    let st = s.sim_get("/_sim/state").await;
    assert_eq!(st["ovas"][0]["uuid"], uuid.as_str());
    assert_eq!(st["ovas"][0]["name"], "web-ova");
    assert_eq!(st["ovas"][0]["vm_uuid"], vm.as_str());
    assert_eq!(st["ovas"][0]["state"], "COMPLETE");
    assert_eq!(st["ovas"][0]["size_bytes"], len);
    assert_eq!(
        st["ovas"][0]["sha256"],
        e["info"]["checksum"]["checksum_value"]
    );
}

#[tokio::test]
async fn qcow2_export_names_and_content() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "db").await;
    assert_eq!(
        export(&s, &vm, "db ova", "QCOW2").await["status"],
        "SUCCEEDED"
    );
    let e = ova_by_name(&s, "db ova").await;
    assert_eq!(e["info"]["disk_format"], "QCOW2");
    let uuid = e["metadata"]["uuid"].as_str().unwrap();
    let body = file(&s, uuid, None).await.bytes().await.unwrap();
    let names: Vec<String> = members(&body).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        ["db ova.ovf", "db ova-disk1.qcow2", "db ova-disk2.qcow2"]
    );
}

#[tokio::test]
async fn export_errors() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "v").await;
    let unknown = "11111111-2222-4333-8444-555555555555";
    let r = s
        .post(
            &format!("/vms/{unknown}/export"),
            &json!({"name": "o", "disk_file_format": "VMDK"}),
        )
        .await;
    assert_prism_error(&r, 404, "ENTITY_NOT_FOUND");
    assert_eq!(r.body["kind"], "vm");
    for (body, field) in [
        (json!({"disk_file_format": "VMDK"}), "name"),
        (json!({"name": "", "disk_file_format": "VMDK"}), "name"),
        (json!({"name": "o"}), "disk_file_format"),
        (
            json!({"name": "o", "disk_file_format": "RAW"}),
            "disk_file_format",
        ),
    ] {
        let r = s.post(&format!("/vms/{vm}/export"), &body).await;
        assert_prism_error(&r, 422, "INVALID_REQUEST");
        assert!(
            r.body["message_list"][0]["details"].get(field).is_some(),
            "{body}: {}",
            r.body
        );
    }
    let r = s
        .send(
            s.c.post(s.url(&format!("/vms/{vm}/export")))
                .basic_auth("admin", Some("secret"))
                .body("{not json"),
        )
        .await;
    assert_prism_error(&r, 400, "INVALID_REQUEST");
    let r = s
        .post(
            "/vms/not-a-uuid/export",
            &json!({"name": "o", "disk_file_format": "VMDK"}),
        )
        .await;
    assert_prism_error(&r, 400, "INVALID_UUID");
    for path in [format!("/ovas/{unknown}"), format!("/ovas/{unknown}/file")] {
        let r = s.get(&path).await;
        assert_prism_error(&r, 404, "ENTITY_NOT_FOUND");
        assert_eq!(r.body["kind"], "ova");
    }
    assert_prism_error(
        &s.delete(&format!("/ovas/{unknown}")).await,
        404,
        "ENTITY_NOT_FOUND",
    );
    // Only GET and DELETE exist on an OVA; no PUT, no create.
    assert_eq!(
        s.put(&format!("/ovas/{unknown}"), &json!({})).await.status,
        404
    );
    assert_eq!(s.post("/ovas", &json!({})).await.status, 404);
    // Unauthenticated.
    let r = s
        .send(
            s.c.post(s.url(&format!("/vms/{vm}/export")))
                .json(&json!({})),
        )
        .await;
    assert_prism_error(&r, 401, "AUTHENTICATION_REQUIRED");
    assert_eq!(s.sim_get("/_sim/state").await["ovas"], json!([]));
}

#[tokio::test]
async fn list_filters_and_pages() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "v").await;
    for name in ["one", "two", "two", "three"] {
        assert_eq!(export(&s, &vm, name, "VMDK").await["status"], "SUCCEEDED");
    }
    let r = s
        .post("/ovas/list", &json!({"kind": "ova", "filter": "name==two"}))
        .await;
    let ents = assert_list(&r.body, "ova");
    assert_eq!(ents.len(), 2);
    assert_eq!(r.body["metadata"]["total_matches"], 2);
    let mut seen = Vec::new();
    for offset in [0, 2, 4] {
        let r = s
            .post(
                "/ovas/list",
                &json!({"kind": "ova", "length": 2, "offset": offset, "sort_attribute": "name", "sort_order": "ASCENDING"}),
            )
            .await;
        assert_eq!(r.body["metadata"]["total_matches"], 4);
        seen.extend(
            assert_list(&r.body, "ova")
                .iter()
                .map(|e| e["info"]["name"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(seen, ["one", "three", "two", "two"]);
    let r = s
        .post("/ovas/list", &json!({"filter": "colour==red"}))
        .await;
    assert_prism_error(&r, 400, "INVALID_REQUEST");
}

#[tokio::test]
async fn delete_goes_through_a_task() {
    let s = Sim::start().await;
    let vm = exportable_vm(&s, "v").await;
    export(&s, &vm, "gone", "VMDK").await;
    let uuid = ova_by_name(&s, "gone").await["metadata"]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.delete(&format!("/ovas/{uuid}")).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let t = s.wait_task(r.body["task_uuid"].as_str().unwrap()).await;
    assert_eq!(t["status"], "SUCCEEDED");
    assert_eq!(t["entity_reference_list"][0]["uuid"], uuid.as_str());
    assert_prism_error(
        &s.get(&format!("/ovas/{uuid}")).await,
        404,
        "ENTITY_NOT_FOUND",
    );
    assert_eq!(s.sim_get("/_sim/state").await["ovas"], json!([]));
    // The task appears in /tasks/list.
    let r = s
        .post(
            "/tasks/list",
            &json!({"filter": format!("entity_uuid=={uuid}")}),
        )
        .await;
    assert_eq!(assert_list(&r.body, "task").len(), 1);
}
