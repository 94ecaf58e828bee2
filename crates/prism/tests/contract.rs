//! Contract tests: our request models serialise to the v3 shapes recorded in
//! docs/design/prism-v3.md (bodies the Go plugin v1.2.1 sends, field names from prism-go-client
//! v0.5.5 / terraform-provider-nutanix client/v3). The expected JSON below is written from those
//! sources, not produced by this crate.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use prism::models::*;
use prism::{ImageSource, NewImage};
use serde_json::{json, Value};

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn vm_create_body_matches_the_go_plugins() {
    // prism-v3.md, 'Creating a VM': the POST /vms body (with the Linux cloud-init variant).
    let expected = json!({
        "metadata": {"kind": "vm",
            "use_categories_mapping": true, "categories_mapping": {"Env": ["Dev"]},
            "project_reference": {"kind": "project", "uuid": "p-1"}},
        "spec": {"name": "Packer-ABCD1234", "description": "Packer vm building image img",
            "cluster_reference": {"kind": "cluster", "uuid": "c-1"},
            "resources": {
                "num_sockets": 1, "num_vcpus_per_socket": 1, "memory_size_mib": 4096,
                "power_state": "ON",
                "machine_type": "Q35",
                "boot_config": {"boot_type": "SECURE_BOOT",
                                "boot_device_order_list": ["CDROM", "DISK", "NETWORK"]},
                "disk_list": [
                    {"device_properties": {"device_type": "DISK", "disk_address": {"adapter_type": "SCSI", "device_index": 0}},
                     "data_source_reference": {"kind": "image", "uuid": "img-1"}, "disk_size_mib": 40960},
                    {"device_properties": {"device_type": "DISK", "disk_address": {"adapter_type": "SCSI", "device_index": 1}},
                     "disk_size_mib": 20480,
                     "storage_config": {"storage_container_reference": {"kind": "storage_container", "uuid": "sc-1"}}},
                    {"device_properties": {"device_type": "CDROM", "disk_address": {"adapter_type": "SATA", "device_index": 0}},
                     "data_source_reference": {"kind": "image", "uuid": "iso-1"}}],
                "nic_list": [{"is_connected": true, "subnet_reference": {"kind": "subnet", "uuid": "s-1"},
                              "mac_address": "50:6b:8d:00:00:01"}],
                "gpu_list": [{"device_id": 7864, "vendor": "NVIDIA", "mode": "PASSTHROUGH_COMPUTE"}],
                "serial_port_list": [{"index": 0, "is_connected": true}],
                "vtpm_config": {"vtpm_enabled": true},
                "hardware_virtualization_enabled": true,
                "guest_customization": {"cloud_init": {"user_data": "I2Nsb3VkLWNvbmZpZw=="}}
            }}
    });

    let disk = |device_type, adapter, index| DeviceProperties {
        device_type: Some(device_type),
        disk_address: Some(DiskAddress {
            adapter_type: Some(adapter),
            device_index: Some(index),
            ..Default::default()
        }),
        ..Default::default()
    };
    let mut metadata = Metadata::of_kind("vm");
    metadata.project_reference = Some(Reference::new("project", "p-1"));
    let input = VmIntentInput {
        api_version: None,
        metadata,
        spec: VmSpec {
            name: "Packer-ABCD1234".into(),
            description: Some("Packer vm building image img".into()),
            cluster_reference: Some(Reference::new("cluster", "c-1")),
            resources: VmResources {
                num_sockets: Some(1),
                num_vcpus_per_socket: Some(1),
                memory_size_mib: Some(4096),
                power_state: Some(PowerState::On),
                machine_type: Some(MachineType::Q35),
                boot_config: Some(BootConfig {
                    boot_type: Some(BootType::SecureBoot),
                    boot_device_order_list: Some(vec![
                        BootDevice::Cdrom,
                        BootDevice::Disk,
                        BootDevice::Network,
                    ]),
                    ..Default::default()
                }),
                disk_list: Some(vec![
                    VmDisk {
                        device_properties: Some(disk(DeviceType::Disk, AdapterType::Scsi, 0)),
                        data_source_reference: Some(Reference::new("image", "img-1")),
                        disk_size_mib: Some(40960),
                        ..Default::default()
                    },
                    VmDisk {
                        device_properties: Some(disk(DeviceType::Disk, AdapterType::Scsi, 1)),
                        disk_size_mib: Some(20480),
                        storage_config: Some(StorageConfig {
                            storage_container_reference: Some(Reference::new(
                                "storage_container",
                                "sc-1",
                            )),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                    VmDisk {
                        device_properties: Some(disk(DeviceType::Cdrom, AdapterType::Sata, 0)),
                        data_source_reference: Some(Reference::new("image", "iso-1")),
                        ..Default::default()
                    },
                ]),
                nic_list: Some(vec![VmNic {
                    subnet_reference: Some(Reference::new("subnet", "s-1")),
                    mac_address: Some("50:6b:8d:00:00:01".into()),
                    is_connected: Some(true),
                    ..Default::default()
                }]),
                gpu_list: Some(vec![VmGpu {
                    device_id: Some(7864),
                    vendor: Some(GpuVendor::Nvidia),
                    mode: Some(GpuMode::PassthroughCompute),
                    ..Default::default()
                }]),
                serial_port_list: Some(vec![SerialPort {
                    index: 0,
                    is_connected: true,
                    ..Default::default()
                }]),
                vtpm_config: Some(VtpmConfig {
                    vtpm_enabled: Some(true),
                    ..Default::default()
                }),
                hardware_virtualization_enabled: Some(true),
                guest_customization: Some(GuestCustomization {
                    cloud_init: Some(CloudInit {
                        user_data: Some("I2Nsb3VkLWNvbmZpZw==".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        },
    }
    .with_categories(BTreeMap::from([(
        "Env".to_string(),
        vec!["Dev".to_string()],
    )]));
    assert_eq!(to_json(&input), expected);
}

#[test]
fn sysprep_variant_matches_the_go_plugins() {
    // prism-v3.md, 'Creating a VM', for Windows:
    // {"sysprep":{"install_type":"FRESH","unattend_xml":"<base64>"}}
    let g = GuestCustomization {
        sysprep: Some(Sysprep {
            install_type: Some(SysprepInstallType::Fresh),
            unattend_xml: Some("PHhtbC8+".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        to_json(&g),
        json!({"sysprep": {"install_type": "FRESH", "unattend_xml": "PHhtbC8+"}})
    );
}

#[test]
fn image_from_uri_matches_the_go_plugins() {
    // prism-v3.md, 'Images': the Go plugin's `CreateImageURL` body.
    let expected = json!({"metadata": {"kind": "image"},
        "spec": {"name": "jammy.img", "description": "added by Packer",
            "resources": {"image_type": "DISK_IMAGE", "source_uri": "https://example.test/jammy.img",
                "initial_placement_ref_list": [{"kind": "cluster", "uuid": "c-1"}],
                "checksum": {"checksum_algorithm": "SHA_256", "checksum_value": "ab12"}}}});
    let new = NewImage {
        name: "jammy.img".into(),
        description: Some("added by Packer".into()),
        image_type: ImageType::DiskImage,
        source: ImageSource::Uri {
            uri: "https://example.test/jammy.img".into(),
            checksum: Some(Checksum {
                checksum_algorithm: ChecksumAlgorithm::Sha256,
                checksum_value: "ab12".into(),
            }),
        },
        cluster_uuid: Some("c-1".into()),
        categories: BTreeMap::new(),
    };
    assert_eq!(to_json(&new.to_intent()), expected);
}

#[test]
fn empty_image_for_upload_matches_the_go_plugins() {
    // prism-v3.md, 'Images': the POST /images before PUT /images/{uuid}/file.
    let expected = json!({"metadata": {"kind": "image"},
        "spec": {"name": "packer123.iso", "description": "added by Packer",
            "resources": {"image_type": "ISO_IMAGE",
                "initial_placement_ref_list": [{"kind": "cluster", "uuid": "pe-uuid"}]}}});
    let new = NewImage {
        name: "packer123.iso".into(),
        description: Some("added by Packer".into()),
        image_type: ImageType::IsoImage,
        source: ImageSource::Upload,
        cluster_uuid: Some("pe-uuid".into()),
        categories: BTreeMap::new(),
    };
    assert_eq!(to_json(&new.to_intent()), expected);
}

#[test]
fn image_from_vm_disk_matches_the_go_plugins() {
    // prism-v3.md, 'Images': the Go plugin's `SaveVMDisk` body.
    let expected = json!({"metadata": {"kind": "image", "categories": {"OSType": "ubuntu-22.04"}},
        "spec": {"name": "img-disk2", "description": "built by Packer",
            "resources": {"image_type": "DISK_IMAGE",
                "data_source_reference": {"kind": "vm_disk", "uuid": "d-2"}}}});
    let new = NewImage {
        name: "img-disk2".into(),
        description: Some("built by Packer".into()),
        image_type: ImageType::DiskImage,
        source: ImageSource::VmDisk {
            disk_uuid: "d-2".into(),
        },
        cluster_uuid: None,
        categories: BTreeMap::from([("OSType".into(), "ubuntu-22.04".into())]),
    };
    assert_eq!(to_json(&new.to_intent()), expected);
}

#[test]
fn list_request_matches_the_v3_list_body() {
    // prism-v3.md, 'Lists and FIQL filters':
    // POST /{kind}s/list {"kind","filter","length","offset"}.
    let req = ListRequest {
        kind: "image".into(),
        filter: Some("name==a".into()),
        length: Some(100),
        offset: Some(200),
        ..Default::default()
    };
    assert_eq!(
        to_json(&req),
        json!({"kind": "image", "filter": "name==a", "length": 100, "offset": 200})
    );
}

#[test]
fn power_off_put_keeps_metadata_and_unknown_fields() {
    // prism-v3.md, 'Entities, metadata and spec_version' and 'Power, CD-ROMs and IP addresses':
    // PUT carries the metadata from GET (incl. spec_version) and the spec from GET with
    // power_state changed; `power_state_mechanism: {mechanism}` for ACPI/HARD.
    let got = json!({
        "api_version": "3.1",
        "metadata": {"kind": "vm", "uuid": "v-1", "spec_version": 3, "future_meta": 1},
        "spec": {"name": "vm", "resources": {"power_state": "ON", "vga_console_enabled": true,
            "vnuma_config": {"num_vnuma_nodes": 0},
            "disk_list": [{"uuid": "d-1", "device_properties": {"device_type": "DISK"}, "future_disk_field": "x"}],
            "nic_list": []}},
        "status": {"state": "COMPLETE", "resources": {"power_state": "ON"}}
    });
    let vm: Vm = serde_json::from_value(got).unwrap();
    let mut spec = vm.spec.clone().unwrap();
    spec.resources.power_state = Some(PowerState::Off);
    spec.resources.power_state_mechanism = Some(PowerStateMechanism {
        mechanism: Some(PowerMechanism::Acpi),
        ..Default::default()
    });
    let put = VmIntentInput {
        api_version: vm.api_version.clone(),
        metadata: vm.metadata.clone(),
        spec,
    };
    assert_eq!(
        to_json(&put),
        json!({
            "api_version": "3.1",
            "metadata": {"kind": "vm", "uuid": "v-1", "spec_version": 3, "future_meta": 1},
            "spec": {"name": "vm", "resources": {"power_state": "OFF",
                "power_state_mechanism": {"mechanism": "ACPI"},
                "vga_console_enabled": true, "vnuma_config": {"num_vnuma_nodes": 0},
                "disk_list": [{"uuid": "d-1", "device_properties": {"device_type": "DISK"}, "future_disk_field": "x"}],
                "nic_list": []}}
        })
    );
}

#[test]
fn task_response_parses_with_unknown_fields() {
    // prism-go-client v0.5.5 TasksResponse fields (prism-v3.md, 'Tasks').
    let task: Task = serde_json::from_value(json!({
        "status": "FAILED", "uuid": "t-1", "progress_message": "Creating VM",
        "percentage_complete": 40, "operation_type": "kVmCreate",
        "entity_reference_list": [{"kind": "vm", "uuid": "v-1"}],
        "error_detail": "RESOURCE_SHORTAGE: Not enough resources", "error_code": 14,
        "logical_timestamp": 2, "subtask_reference_list": []
    }))
    .unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.percentage_complete, Some(40));
    assert_eq!(task.entity_reference_list[0].uuid, "v-1");
    assert_eq!(
        task.error_detail.as_deref(),
        Some("RESOURCE_SHORTAGE: Not enough resources")
    );
    assert!(task.extra.contains_key("logical_timestamp"));
}

#[test]
fn unknown_enum_values_round_trip() {
    // SUSPENDED is in the v3 API document (a known, in-progress status); a status no document
    // lists is kept as it came.
    let task: Task = serde_json::from_value(json!({"status": "HIBERNATING", "uuid": "t"})).unwrap();
    assert_eq!(task.status, TaskStatus::Other("HIBERNATING".into()));
    assert!(!task.status.is_in_progress());
    assert_eq!(to_json(&task)["status"], "HIBERNATING");
    let task: Task = serde_json::from_value(json!({"status": "SUSPENDED", "uuid": "t"})).unwrap();
    assert_eq!(task.status, TaskStatus::Suspended);
    assert!(task.status.is_in_progress());
}

#[test]
fn error_body_top_level_and_nested_forms() {
    // prism-v3.md, 'Errors': the v3 error response.
    let flat = br#"{"api_version":"3.1","code":404,"kind":"vm","message_list":[{"message":"VM x not found","reason":"ENTITY_NOT_FOUND","details":{"uuid":"x"}}],"state":"ERROR"}"#;
    let body = ErrorBody::parse(flat).unwrap();
    assert_eq!(body.code, Some(404));
    assert_eq!(
        body.summary(),
        r#"ENTITY_NOT_FOUND: VM x not found ({"uuid":"x"})"#
    );
    let nested = br#"{"api_version":"3.1","status":{"state":"ERROR","code":422,"message_list":[{"message":"bad spec","reason":"INVALID_ARGUMENT"}]}}"#;
    let body = ErrorBody::parse(nested).unwrap();
    assert_eq!(body.summary(), "INVALID_ARGUMENT: bad spec");
    assert_eq!(body.api_version.as_deref(), Some("3.1"));
    assert!(ErrorBody::parse(b"<html>gateway</html>").is_none());
    assert!(ErrorBody::parse(br#"{"entities":[]}"#).is_none());
}

#[test]
fn execution_context_string_or_list() {
    let a: ExecutionContext = serde_json::from_value(json!({"task_uuid": "t-1"})).unwrap();
    let b: ExecutionContext = serde_json::from_value(json!({"task_uuid": ["t-2"]})).unwrap();
    let c: ExecutionContext = serde_json::from_value(json!({})).unwrap();
    assert_eq!(a.task_uuid(), Some("t-1"));
    assert_eq!(b.task_uuid(), Some("t-2"));
    assert_eq!(c.task_uuid(), None);
}

#[test]
fn missing_optional_fields_default() {
    let image: Image = serde_json::from_value(json!({"metadata": {"uuid": "i-1"}})).unwrap();
    assert_eq!(image.uuid(), Some("i-1"));
    assert_eq!(image.size_bytes(), None);
    let list: ListResponse<Cluster> = serde_json::from_value(json!({})).unwrap();
    assert!(list.entities.is_empty());
}

#[test]
fn vm_helpers_read_every_nic_and_disk() {
    let vm: Vm = serde_json::from_value(json!({
        "metadata": {"kind": "vm", "uuid": "v"},
        "spec": {"name": "v", "resources": {"disk_list": [
            {"uuid": "d1", "device_properties": {"device_type": "DISK"}},
            {"uuid": "c1", "device_properties": {"device_type": "CDROM"}},
            {"uuid": "d2", "device_properties": {"device_type": "DISK"}}]}},
        "status": {"resources": {"power_state": "OFF", "nic_list": [
            {"ip_endpoint_list": []},
            {"ip_endpoint_list": [{"ip": "10.0.0.5", "type": "LEARNED"}, {"ip": ""}]}]}}
    }))
    .unwrap();
    assert_eq!(vm.ip_addresses(), vec!["10.0.0.5".to_string()]);
    let disks: Vec<_> = vm
        .data_disks()
        .iter()
        .map(|d| d.uuid.clone().unwrap())
        .collect();
    assert_eq!(disks, vec!["d1", "d2"]);
    assert_eq!(vm.power_state(), Some(&PowerState::Off));
}
