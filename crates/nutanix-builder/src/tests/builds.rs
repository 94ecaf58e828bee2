//! Whole builds that succeed: every output, reuse of source images, the HTTP server, -debug.

use super::*;

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
