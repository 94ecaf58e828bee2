//! Every call of the client against the simulator: lookups, images, VMs, projects,
//! categories, hosts, tasks.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use prism::models::*;
use prism::{ImageSource, NewImage, PrismError, Wait};
use prism_sim::inventory::defaults::*;
use serde_json::json;
use support::*;

fn wait() -> Wait {
    Wait::new(Duration::from_secs(30))
}

#[tokio::test]
async fn clusters_list_get_lookup_and_memo() {
    let env = start().await;
    let c = &env.client;
    let all = c.list_clusters().await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().any(|c| c.is_prism_central()));

    let one = c.cluster_by_name(CLUSTER_1_NAME).await.unwrap();
    assert_eq!(one.uuid(), Some(CLUSTER_1_UUID));
    assert_eq!(
        c.get_cluster(CLUSTER_2_UUID).await.unwrap().name(),
        CLUSTER_2_NAME
    );

    // Prism Central itself is never a build target.
    match c.cluster_by_name(PC_CLUSTER_NAME).await {
        Err(PrismError::NotFound {
            kind: "cluster", ..
        }) => {}
        other => panic!("{other:?}"),
    }

    // Memoised: a second lookup sends nothing.
    let before = env.count("POST", "/clusters/list").await;
    c.cluster_by_name(CLUSTER_1_NAME).await.unwrap();
    assert_eq!(env.count("POST", "/clusters/list").await, before);

    match c.get_cluster("0005f3c1-6a1b-4d8e-9c10-0000000000ff").await {
        Err(e) => assert!(e.is_not_found(), "{e}"),
        Ok(c) => panic!("{c:?}"),
    }
}

#[tokio::test]
async fn lookups_use_a_server_side_name_filter() {
    // With one entity per page, an unfiltered walk of 3 clusters / 4 subnets takes 3 / 4
    // list calls; the FIQL-filtered lookup takes exactly one (escaping included).
    let env = start().await;
    let mut config = config_for(&env.base, "admin", "secret");
    config.page_size = 1;
    let client = prism::PrismClient::new(config).unwrap();
    client.cluster_by_name(CLUSTER_2_NAME).await.unwrap();
    assert_eq!(env.count("POST", "/clusters/list").await, 1);
    client
        .subnet_by_name(SUBNET_SPECIAL_NAME, None)
        .await
        .unwrap();
    assert_eq!(env.count("POST", "/subnets/list").await, 1);
    // Not found: the filtered call, then one unfiltered walk (4 pages) before giving up.
    assert!(matches!(
        client.subnet_by_name("absent", None).await,
        Err(PrismError::NotFound { .. })
    ));
    assert_eq!(env.count("POST", "/subnets/list").await, 1 + 1 + 4);
}

#[tokio::test]
async fn subnets_ambiguity_cluster_scope_and_escaping() {
    let env = start().await;
    let c = &env.client;
    match c.subnet_by_name(SUBNET_DUP_NAME, None).await {
        Err(PrismError::Ambiguous { uuids, .. }) => {
            let mut uuids = uuids;
            uuids.sort();
            assert_eq!(uuids, vec![SUBNET_DUP_1_UUID, SUBNET_DUP_2_UUID]);
        }
        other => panic!("{other:?}"),
    }
    let scoped = c
        .subnet_by_name(SUBNET_DUP_NAME, Some(CLUSTER_2_UUID))
        .await
        .unwrap();
    assert_eq!(scoped.uuid(), Some(SUBNET_DUP_2_UUID));

    // A name with FIQL operators: found through the escaped filter, no fallback listing.
    let special = c.subnet_by_name(SUBNET_SPECIAL_NAME, None).await.unwrap();
    assert_eq!(special.uuid(), Some(SUBNET_SPECIAL_UUID));
    let lists = env.count("POST", "/subnets/list").await;
    assert_eq!(
        lists, 3,
        "one filtered list per lookup, no unfiltered fallback"
    );

    let on_c2 = c.list_subnets_on_cluster(CLUSTER_2_UUID).await.unwrap();
    assert!(on_c2
        .iter()
        .all(|s| s.cluster_uuid() == Some(CLUSTER_2_UUID)));
    assert!(!on_c2.is_empty());
    assert_eq!(
        c.get_subnet(SUBNET_IPAM_UUID).await.unwrap().name(),
        SUBNET_IPAM_NAME
    );
    assert_eq!(c.list_subnets(None).await.unwrap().len(), 4);

    match c.subnet_by_name("no-such-net", Some(CLUSTER_1_UUID)).await {
        Err(e @ PrismError::NotFound { .. }) => assert!(e.to_string().contains(CLUSTER_1_UUID)),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn pagination_walks_every_page() {
    let env = start().await;
    let mut config = config_for(&env.base, "admin", "secret");
    config.page_size = 2;
    let client = prism::PrismClient::new(config).unwrap();
    let images = client.list_images(None).await.unwrap();
    assert_eq!(images.len(), 5);
    assert_eq!(env.count("POST", "/images/list").await, 3);
}

#[tokio::test]
async fn images_lookup_by_name_and_type() {
    let env = start().await;
    let c = &env.client;
    match c.image_by_name(IMAGE_DUP_NAME, None).await {
        Err(PrismError::Ambiguous { uuids, .. }) => assert_eq!(uuids.len(), 2),
        other => panic!("{other:?}"),
    }
    let iso = c
        .image_by_name(IMAGE_DUP_NAME, Some(&ImageType::IsoImage))
        .await
        .unwrap();
    assert_eq!(iso.uuid(), Some(IMAGE_DUP_ISO_UUID));
    let disk = c.get_image(IMAGE_DISK_UUID).await.unwrap();
    assert_eq!(disk.size_bytes(), Some(IMAGE_DISK_SIZE));
    assert_eq!(c.images_named(IMAGE_DUP_NAME).await.unwrap().len(), 2);
}

#[tokio::test]
async fn image_from_uri_then_delete_twice() {
    let env = start().await;
    let c = &env.client;
    let cluster = c.cluster_by_name(CLUSTER_1_NAME).await.unwrap();
    let new = NewImage {
        name: "known.qcow2".into(),
        description: Some("added by Packer".into()),
        image_type: ImageType::DiskImage,
        source: ImageSource::Uri {
            uri: KNOWN_URI.into(),
            checksum: Some(Checksum {
                checksum_algorithm: ChecksumAlgorithm::Sha256,
                checksum_value: KNOWN_URI_SHA256.into(),
            }),
        },
        cluster_uuid: Some(cluster.uuid().unwrap().to_string()),
        categories: BTreeMap::new(),
    };
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let w = wait().with_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let image = c.create_image(&new, &w).await.unwrap();
    assert_eq!(image.size_bytes(), Some(KNOWN_URI_SIZE));
    assert_eq!(image.name(), "known.qcow2");
    let progress = seen.lock().unwrap().clone();
    assert!(!progress.is_empty());
    assert_eq!(progress.last().unwrap().status, TaskStatus::Succeeded);
    assert!(progress
        .iter()
        .all(|p| p.purpose == "create image 'known.qcow2'"));

    c.delete_image(image.uuid().unwrap(), &wait())
        .await
        .unwrap();
    assert!(c
        .get_image(image.uuid().unwrap())
        .await
        .unwrap_err()
        .is_not_found());
    // Deleting again is not an error: cleanup may run twice.
    c.delete_image(image.uuid().unwrap(), &wait())
        .await
        .unwrap();
}

#[tokio::test]
async fn image_from_unreachable_uri_fails_with_prism_message() {
    let env = start().await;
    let new = NewImage {
        name: "nope.qcow2".into(),
        description: None,
        image_type: ImageType::DiskImage,
        source: ImageSource::Uri {
            uri: UNREACHABLE_URI.into(),
            checksum: None,
        },
        cluster_uuid: None,
        categories: BTreeMap::new(),
    };
    match env.client.create_image(&new, &wait()).await {
        Err(PrismError::TaskFailed {
            status,
            error_detail,
            purpose,
            ..
        }) => {
            assert_eq!(status, TaskStatus::Failed);
            assert!(error_detail.unwrap_or_default().len() > 3);
            assert_eq!(purpose, "create image 'nope.qcow2'");
        }
        other => panic!("{other:?}"),
    }
}

fn vm_input(name: &str) -> VmIntentInput {
    VmIntentInput {
        api_version: None,
        metadata: Metadata::of_kind("vm"),
        spec: VmSpec {
            name: name.into(),
            description: Some("Packer vm".into()),
            cluster_reference: Some(Reference::new("cluster", CLUSTER_1_UUID)),
            resources: VmResources {
                num_sockets: Some(1),
                num_vcpus_per_socket: Some(2),
                memory_size_mib: Some(2048),
                power_state: Some(PowerState::On),
                boot_config: Some(BootConfig {
                    boot_type: Some(BootType::Legacy),
                    boot_device_order_list: Some(vec![BootDevice::Disk, BootDevice::Network]),
                    ..Default::default()
                }),
                disk_list: Some(vec![VmDisk {
                    device_properties: Some(DeviceProperties {
                        device_type: Some(DeviceType::Disk),
                        disk_address: Some(DiskAddress {
                            adapter_type: Some(AdapterType::Scsi),
                            device_index: Some(0),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    data_source_reference: Some(Reference::new("image", IMAGE_DISK_UUID)),
                    disk_size_mib: Some(40960),
                    ..Default::default()
                }]),
                nic_list: Some(vec![VmNic {
                    subnet_reference: Some(Reference::new("subnet", SUBNET_IPAM_UUID)),
                    is_connected: Some(true),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            ..Default::default()
        },
    }
    .with_categories(BTreeMap::from([(
        "Environment".to_string(),
        vec!["Dev".to_string()],
    )]))
}

#[tokio::test]
async fn vm_lifecycle_create_power_snapshot_delete() {
    let env = start().await;
    let c = &env.client;
    let vm = c
        .create_vm(&vm_input("Packer-LIFE0001"), &wait())
        .await
        .unwrap();
    assert_eq!(vm.power_state(), Some(&PowerState::On));
    let uuid = vm.uuid().unwrap().to_string();
    assert_eq!(c.get_vm(&uuid).await.unwrap().uuid(), Some(uuid.as_str()));

    let off = c
        .power_off(&uuid, PowerMechanism::Acpi, &wait())
        .await
        .unwrap();
    assert_eq!(off.power_state(), Some(&PowerState::Off));
    let puts = env
        .requests()
        .await
        .into_iter()
        .filter(|r| r["method"] == "PUT" && r["path"].as_str().unwrap_or("").ends_with(&uuid))
        .count();
    assert_eq!(puts, 1);

    // Snapshot-to-image from the first data disk.
    let disk = off
        .data_disks()
        .first()
        .and_then(|d| d.uuid.clone())
        .expect("disk uuid");
    let image = c
        .create_image(
            &NewImage {
                name: "out-image".into(),
                description: Some("built by Packer".into()),
                image_type: ImageType::DiskImage,
                source: ImageSource::VmDisk { disk_uuid: disk },
                cluster_uuid: None,
                categories: BTreeMap::from([("OSType".into(), "ubuntu-22.04".into())]),
            },
            &wait(),
        )
        .await
        .unwrap();
    assert_eq!(image.image_type(), Some(&ImageType::DiskImage));

    let on = c.power_on(&uuid, &wait()).await.unwrap();
    assert_eq!(on.power_state(), Some(&PowerState::On));
    c.delete_vm(&uuid, &wait()).await.unwrap();
    assert!(c.get_vm(&uuid).await.unwrap_err().is_not_found());
    c.delete_vm(&uuid, &wait()).await.unwrap();
}

#[tokio::test]
async fn vm_update_retries_on_spec_version_conflict() {
    let env = start().await;
    let c = &env.client;
    let vm = c
        .create_vm(&vm_input("Packer-CONFLICT"), &wait())
        .await
        .unwrap();
    let uuid = vm.uuid().unwrap().to_string();
    env.fault(json!({"match": {"method": "PUT", "path": format!("/api/nutanix/v3/vms/{uuid}")},
        "action": {"type": "status", "status": 409, "reason": "CONFLICT", "message": "spec_version mismatch"},
        "count": 1}))
        .await;
    let mut calls = 0;
    let updated = c
        .update_vm(
            &uuid,
            "set memory",
            |spec| {
                calls += 1;
                spec.resources.memory_size_mib = Some(4096);
                Ok(())
            },
            &wait(),
        )
        .await
        .unwrap();
    assert_eq!(calls, 2, "the closure runs again on the re-read spec");
    assert_eq!(updated.spec.unwrap().resources.memory_size_mib, Some(4096));

    // A conflict that never ends gives up with Conflict.
    env.fault(json!({"match": {"method": "PUT", "path": format!("/api/nutanix/v3/vms/{uuid}")},
        "action": {"type": "status", "status": 409, "message": "spec_version mismatch"}, "count": 0}))
        .await;
    match c.update_vm(&uuid, "set memory", |_| Ok(()), &wait()).await {
        Err(PrismError::Conflict { attempts, .. }) => assert_eq!(attempts, 5),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn projects_categories_hosts() {
    let env = start().await;
    let c = &env.client;
    assert_eq!(c.list_projects().await.unwrap().len(), 2);
    let dev = c.project_by_name(PROJECT_DEV_NAME).await.unwrap();
    assert_eq!(dev.uuid(), Some(PROJECT_DEV_UUID));
    assert_eq!(
        c.get_project(PROJECT_DEV_UUID).await.unwrap().name(),
        PROJECT_DEV_NAME
    );

    assert!(c.category_exists("Environment", "Dev").await.unwrap());
    assert!(!c.category_exists("Environment", "Staging").await.unwrap());
    assert!(c.category_key("Environment").await.unwrap().is_some());
    assert!(c.category_key("NoSuchKey").await.unwrap().is_none());
    let mut values: Vec<String> = c
        .category_values("Environment")
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.value)
        .collect();
    values.sort();
    assert_eq!(values, vec!["Dev", "Prod"]);

    assert_eq!(c.list_hosts().await.unwrap().len(), 2);
    let gpu = c.find_gpu(GPU_NAME, Some(CLUSTER_1_UUID)).await.unwrap();
    assert_eq!(gpu.host_uuid, HOST_GPU_UUID);
    let vm_gpu = gpu.to_vm_gpu();
    assert_eq!(vm_gpu.device_id, Some(GPU_DEVICE_ID));
    assert_eq!(vm_gpu.vendor, Some(GpuVendor::Nvidia));
    assert!(matches!(
        c.find_gpu(GPU_NAME, Some(CLUSTER_2_UUID)).await,
        Err(PrismError::NotFound { kind: "GPU", .. })
    ));
}
