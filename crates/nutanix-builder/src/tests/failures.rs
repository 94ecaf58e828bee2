//! Whole builds that fail or are stopped: faults at each step, -on-error, cancel, and what
//! cleanup cannot delete.

use super::*;

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
