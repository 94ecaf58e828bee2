//! Regression tests for the defects adversarial testing found in the build layer: a cleanup
//! that waited forever behind a hung task, a late cancel that orphaned outputs unnamed, a killed
//! build that left nothing to find its resources by, and builds colliding on image names.

use super::*;

/// A build with its own stop token and journal directory.
async fn build_ends(
    h: &Harness,
    body: Value,
    cancel: CancellationToken,
    stop: CancellationToken,
    journal_dir: Option<std::path::PathBuf>,
) -> Result<Option<Arc<NutanixArtifact>>, String> {
    let cfg = h.config(body, "");
    execute(
        plan(cfg),
        h.client(),
        Arc::new(h.console.clone()),
        h.hooks.clone(),
        Ends {
            cancel,
            stop_cleanup: stop,
            cleanup_deadline: Duration::from_secs(900),
            journal_dir,
        },
        "run-uuid".into(),
    )
    .await
}

/// Runs `act` once the console shows `marker`.
fn when_said(h: &Harness, marker: &'static str, act: impl FnOnce() + Send + 'static) {
    let console = h.console.clone();
    tokio::spawn(async move {
        while !console.text().contains(marker) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        act();
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_interrupt_ends_a_cleanup_stuck_behind_a_hung_create() {
    let h = harness(sim_config()).await;
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "POST", "path": "/api/nutanix/v3/vms"},
            "action": {"type": "task_hang"}}),
        ))
        .unwrap();
    let (cancel, stop) = (CancellationToken::new(), CancellationToken::new());
    let c = cancel.clone();
    when_said(&h, "Creating VM", move || c.cancel());
    let s = stop.clone();
    when_said(&h, "Deleting VM", move || s.cancel());
    let started = std::time::Instant::now();
    let e = tokio::time::timeout(
        Duration::from_secs(60),
        build_ends(&h, template(json!({})), cancel, stop, None),
    )
    .await
    .expect("the build must end once cleanup is stopped")
    .unwrap_err();
    assert_eq!(e, "build cancelled");
    assert!(started.elapsed() < Duration::from_secs(30));
    let vm = h.vms();
    let uuid = vm[0]["uuid"].as_str().unwrap();
    let text = h.console.text();
    assert!(
        text.contains(&format!(
            "Cleanup stopped by a second interrupt. Left in place, delete by hand: VM 'pkr-test' ({uuid}) (its deletion was requested and may still finish)"
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_during_the_final_cleanup_deletes_the_outputs_and_says_so() {
    let h = harness(sim_config()).await;
    // The successful build's last act, deleting the VM, takes a while: Ctrl-C lands there.
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "DELETE", "path_regex": "/vms/"},
            "action": {"type": "latency", "ms": 500}}),
        ))
        .unwrap();
    let out = h.dir.path().join("out");
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    when_said(&h, "Deleting VM", move || c.cancel());
    let e = build_ends(
        &h,
        template(json!({"image_export": true, "output_directory": out.display().to_string()})),
        cancel,
        CancellationToken::new(),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(e, "build cancelled");
    let text = h.console.text();
    assert!(text.contains("Build cancelled: cleaning up"), "{text}");
    assert!(text.contains("Deleting image 'pkr-image'"), "{text}");
    assert!(text.contains("pkr-image.img"), "{text}");
    h.assert_nothing_leaked();
    assert!(!out.join("pkr-image.img").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_is_kept_while_building_and_removed_after_a_clean_end() {
    let h = harness(sim_config()).await;
    let runs = h.dir.path().join("runs");
    let seen = Arc::new(Mutex::new(0usize));
    let (r, n) = (runs.clone(), seen.clone());
    // While the VM exists, its entry is on disk.
    when_said(&h, "created and powered on", move || {
        let text: String = std::fs::read_dir(&r)
            .unwrap()
            .flatten()
            .map(|f| std::fs::read_to_string(f.path()).unwrap_or_default())
            .collect();
        *n.lock().unwrap() = text.matches("\"kind\": \"vm\"").count();
    });
    build_ends(
        &h,
        template(json!({})),
        CancellationToken::new(),
        CancellationToken::new(),
        Some(runs.clone()),
    )
    .await
    .unwrap();
    assert_eq!(*seen.lock().unwrap(), 1, "the VM was journaled");
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_build_names_what_a_dead_run_left_and_removes_its_part_files() {
    let h = harness(sim_config()).await;
    let runs = h.dir.path().join("runs");
    std::fs::create_dir_all(&runs).unwrap();
    let part = h.dir.path().join("golden.img.part");
    std::fs::write(&part, b"half a disk").unwrap();
    let journal = json!({
        "version": 1,
        "run": {"id": "dead", "packer_run_uuid": "", "build_name": "centos", "pid": 4294967294u32,
                "pid_start": null, "started_at": "2026-12-01T10:00:00Z", "prism": "pc.example:9440"},
        "finished": false,
        "entries": [
            {"kind": "vm", "id": "0000-vm", "name": "Packer-DEAD", "stage": "accepted",
             "delete_after": false, "attached": false, "pending": null},
            {"kind": "local_file", "id": h.dir.path().join("golden.img").display().to_string(),
             "name": "image 'golden'", "stage": "requested", "delete_after": false,
             "attached": false, "pending": null}
        ]
    });
    std::fs::write(runs.join("dead.json"), journal.to_string()).unwrap();
    build_ends(
        &h,
        template(json!({"image_skip": true})),
        CancellationToken::new(),
        CancellationToken::new(),
        Some(runs.clone()),
    )
    .await
    .unwrap();
    let text = h.console.text();
    assert!(!part.exists(), "{text}");
    assert!(
        text.contains(&format!(
            "Removed {} (a partial download of build 'centos'",
            part.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("Warning: build 'centos' (started 2026-12-01T10:00:00Z, on Prism Central pc.example:9440) was stopped before it could clean up (the plugin process ended) and may have left: VM 'Packer-DEAD' (0000-vm)"),
        "{text}"
    );
    // The journal stays until what it names is gone; ours is removed.
    let left: Vec<_> = std::fs::read_dir(&runs).unwrap().flatten().collect();
    assert_eq!(left.len(), 1);
}

/// Another build making an image of the same name while this one runs.
fn rival_image(h: &Harness) -> impl FnOnce() + Send + 'static {
    let client = h.client();
    move || {
        tokio::spawn(async move {
            let new = prism::NewImage {
                name: "pkr-image".into(),
                description: None,
                image_type: prism::models::ImageType::DiskImage,
                source: prism::ImageSource::Uri {
                    uri: "http://example.com/other.qcow2".into(),
                    checksum: None,
                },
                cluster_uuid: None,
                categories: Default::default(),
            };
            client.submit_image(&new, None).await.unwrap();
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_of_the_same_name_made_meanwhile_is_warned_about() {
    let h = harness(sim_config()).await;
    when_said(&h, "Creating VM", rival_image(&h));
    let artifact = build_ends(
        &h,
        template(json!({})),
        CancellationToken::new(),
        CancellationToken::new(),
        None,
    )
    .await
    .unwrap()
    .expect("artifact");
    let text = h.console.text();
    assert!(
        text.contains("Warning: 1 other image(s) named 'pkr-image' appeared while this build ran"),
        "{text}"
    );
    assert_eq!(artifact.images.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_existed_before_is_not_a_rival() {
    let h = harness(sim_config()).await;
    build_ends(
        &h,
        template(json!({})),
        CancellationToken::new(),
        CancellationToken::new(),
        None,
    )
    .await
    .unwrap();
    // Prism's clock has whole seconds: let the first image be clearly older.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    build_ends(
        &h,
        template(json!({})),
        CancellationToken::new(),
        CancellationToken::new(),
        None,
    )
    .await
    .unwrap();
    let text = h.console.text();
    assert!(!text.contains("appeared while this build ran"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_fail_if_image_exists_a_rival_fails_the_build_and_ours_is_removed() {
    let h = harness(sim_config()).await;
    // The rival appears after the check made before creating (that one has its own message),
    // while our image request is in flight.
    h.sim
        .add_faults(fault(
            json!({"match": {"method": "POST", "path_regex": "/v3/images$"},
            "action": {"type": "latency", "ms": 1500}}),
        ))
        .unwrap();
    let rival = rival_image(&h);
    when_said(&h, "Creating 1 image(s)", move || {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            rival();
        });
    });
    let e = build_ends(
        &h,
        template(json!({"fail_if_image_exists": true})),
        CancellationToken::new(),
        CancellationToken::new(),
        None,
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("another image named pkr-image appeared while this build ran"),
        "{e}"
    );
    // Only the rival is left.
    let left = h.new_images();
    assert_eq!(left.len(), 1, "{left:#?}");
    assert!(h.vms().is_empty());
}
