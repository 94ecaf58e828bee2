//! Streaming upload and download against the simulator: sizes, checksums, retries that
//! reopen the file, stalls, and constant memory.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prism::models::*;
use prism::{
    DownloadOptions, ImageSource, NewImage, PrismClient, PrismError, UploadChecksum, UploadOptions,
    Wait,
};
use prism_sim::inventory::defaults::*;
use serde_json::json;
use sha2::Digest;
use support::*;

/// A file of `len` pseudo-random bytes (xorshift; content only has to be non-trivial).
fn random_file(len: u64) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in buf.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bytes = state.to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        let n = left.min(buf.len() as u64) as usize;
        f.write_all(&buf[..n]).unwrap();
        left -= n as u64;
    }
    f.flush().unwrap();
    f
}

fn sha256_file(path: &Path) -> String {
    let mut hasher = sha2::Sha256::new();
    let mut file = std::fs::File::open(path).unwrap();
    std::io::copy(&mut file, &mut hasher).unwrap();
    hex::encode(hasher.finalize())
}

async fn empty_image(client: &PrismClient, name: &str) -> Image {
    client
        .create_image(
            &NewImage {
                name: name.into(),
                description: Some("added by Packer".into()),
                image_type: ImageType::DiskImage,
                source: ImageSource::Upload,
                cluster_uuid: Some(CLUSTER_1_UUID.into()),
                categories: BTreeMap::new(),
            },
            &Wait::new(Duration::from_secs(30)),
        )
        .await
        .unwrap()
}

/// The sha256 the simulator recorded for an image (from /_sim/state, wherever it puts it).
async fn recorded_sha256(env: &Env, uuid: &str) -> Option<String> {
    let state = env.state().await;
    let entity = find_entity(&state, uuid)?;
    find_str(entity, "sha256").map(str::to_string)
}

#[tokio::test]
async fn upload_64mib_with_checksum_then_download_and_verify() {
    // The simulator keeps uploaded bytes only with an upload_dir; the download must return them.
    let store = tempfile::tempdir().unwrap();
    let mut sim_config = prism_sim::SimConfig::default_for_tests();
    sim_config.upload_dir = Some(store.path().to_path_buf());
    let env = start_with(sim_config).await;
    let c = &env.client;
    let len = 64 * 1024 * 1024;
    let file = random_file(len);
    let want = sha256_file(file.path());
    let image = empty_image(c, "upload-64.img").await;

    let last = Arc::new(AtomicU64::new(0));
    let sink = last.clone();
    let options = UploadOptions {
        checksum: UploadChecksum::Compute(ChecksumAlgorithm::Sha256),
        progress: Some(Arc::new(move |done, total| {
            assert_eq!(total, Some(64 * 1024 * 1024));
            sink.store(done, Ordering::Relaxed);
        })),
        ..Default::default()
    };
    let report = c
        .upload_image_file(image.uuid().unwrap(), file.path(), &options)
        .await
        .unwrap();
    assert_eq!(report.bytes, len);
    assert_eq!(report.attempts, 1);
    assert_eq!(
        report.checksum,
        Some((ChecksumAlgorithm::Sha256, want.clone()))
    );
    assert_eq!(last.load(Ordering::Relaxed), len);
    assert_eq!(
        recorded_sha256(&env, image.uuid().unwrap())
            .await
            .as_deref(),
        Some(want.as_str())
    );
    assert_eq!(
        c.get_image(image.uuid().unwrap())
            .await
            .unwrap()
            .size_bytes(),
        Some(len)
    );

    // The checksum headers reached Prism: the simulator verifies them (see the wrong-checksum
    // test, which it rejects).
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("back.img");
    let downloaded = Arc::new(AtomicU64::new(0));
    let sink = downloaded.clone();
    let got = c
        .download_image_file(
            image.uuid().unwrap(),
            &dest,
            &DownloadOptions {
                verify: Some((ChecksumAlgorithm::Sha256, want.clone())),
                progress: Some(Arc::new(move |done, total| {
                    assert_eq!(total, Some(64 * 1024 * 1024));
                    sink.store(done, Ordering::Relaxed);
                })),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(downloaded.load(Ordering::Relaxed), len);
    assert_eq!(got.bytes, len);
    assert_eq!(got.sha256, want);
    assert_eq!(sha256_file(&dest), want);
}

#[tokio::test]
async fn upload_retries_after_a_dropped_connection_by_reopening_the_file() {
    let env = start().await;
    let file = random_file(4 * 1024 * 1024);
    let want = sha256_file(file.path());
    let image = empty_image(&env.client, "retry.img").await;
    env.fault(json!({"match": {"method": "PUT", "path_regex": "/file$"},
        "action": {"type": "drop"}, "count": 1}))
        .await;
    let report = env
        .client
        .upload_image_file(
            image.uuid().unwrap(),
            file.path(),
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.attempts, 2);
    assert_eq!(
        recorded_sha256(&env, image.uuid().unwrap())
            .await
            .as_deref(),
        Some(want.as_str())
    );
}

#[tokio::test]
async fn upload_with_a_wrong_checksum_is_rejected_with_prism_message() {
    let env = start().await;
    let file = random_file(1024 * 1024);
    let image = empty_image(&env.client, "badsum.img").await;
    let options = UploadOptions {
        checksum: UploadChecksum::Given {
            algorithm: ChecksumAlgorithm::Sha256,
            hex: "00".repeat(32),
        },
        ..Default::default()
    };
    match env
        .client
        .upload_image_file(image.uuid().unwrap(), file.path(), &options)
        .await
    {
        Err(e @ PrismError::Api { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("upload") && text.contains(image.uuid().unwrap()),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Rejected permanently (a 4xx), so not retried.
    assert_eq!(env.count("PUT", "/file").await, 1);
}

#[tokio::test]
async fn upload_stall_is_detected_and_retried() {
    let env = start().await;
    let mut config = config_for(&env.base, "admin", "secret");
    config.transfer_stall_timeout = Duration::from_millis(400);
    let client = PrismClient::new(config).unwrap();
    let file = random_file(32 * 1024 * 1024);
    let image = empty_image(&client, "stall.img").await;
    // The simulator sits on the request for 5 s before reading the body.
    env.fault(json!({"match": {"method": "PUT", "path_regex": "/file$"},
        "action": {"type": "latency", "ms": 5000}, "count": 1}))
        .await;
    let report = client
        .upload_image_file(
            image.uuid().unwrap(),
            file.path(),
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.attempts, 2);
}

#[tokio::test]
async fn download_checks_size_and_digest_and_leaves_no_file_on_failure() {
    let env = start().await;
    let file = random_file(2 * 1024 * 1024);
    let image = empty_image(&env.client, "dl.img").await;
    env.client
        .upload_image_file(
            image.uuid().unwrap(),
            file.path(),
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("out.img");

    let wrong_size = DownloadOptions {
        expected_size: Some(123),
        ..Default::default()
    };
    assert!(matches!(
        env.client
            .download_image_file(image.uuid().unwrap(), &dest, &wrong_size)
            .await,
        Err(PrismError::SizeMismatch { expected: 123, .. })
    ));
    let wrong_sum = DownloadOptions {
        verify: Some((ChecksumAlgorithm::Sha1, "ff".repeat(20))),
        ..Default::default()
    };
    assert!(matches!(
        env.client
            .download_image_file(image.uuid().unwrap(), &dest, &wrong_sum)
            .await,
        Err(PrismError::ChecksumMismatch { .. })
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let ok = env
        .client
        .download_image_file(image.uuid().unwrap(), &dest, &DownloadOptions::default())
        .await
        .unwrap();
    assert_eq!(ok.bytes, 2 * 1024 * 1024);
}

/// Peak resident set of this process in KiB (VmHWM), printed for scripts/measure-upload-rss.sh.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn sparse_upload(len: u64) {
    // PRISM_SIM_URL points at a simulator in another process, so the peak RSS printed below
    // is the client's alone; otherwise the simulator runs in this process.
    let external = std::env::var("PRISM_SIM_URL").ok();
    let env = match &external {
        Some(_) => None,
        None => Some(start().await),
    };
    let base = external
        .clone()
        .unwrap_or_else(|| env.as_ref().unwrap().base.clone());
    let client = PrismClient::new(config_for(&base, "admin", "secret")).unwrap();

    let file = tempfile::NamedTempFile::new().unwrap();
    file.as_file().set_len(len).unwrap();
    let want = {
        let mut hasher = sha2::Sha256::new();
        let zeros = vec![0u8; 1 << 20];
        let mut left = len;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            hasher.update(&zeros[..n]);
            left -= n as u64;
        }
        hex::encode(hasher.finalize())
    };
    let image = empty_image(&client, &format!("sparse-{len}.img")).await;
    let rss_before = peak_rss_kib();
    let report = client
        .upload_image_file(
            image.uuid().unwrap(),
            file.path(),
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(report.bytes, len);
    let recorded = match &env {
        Some(env) => recorded_sha256(env, image.uuid().unwrap()).await,
        None => {
            let state: serde_json::Value = reqwest::get(format!("{base}/_sim/state"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            find_entity(&state, image.uuid().unwrap())
                .and_then(|e| find_str(e, "sha256"))
                .map(str::to_string)
        }
    };
    assert_eq!(recorded.as_deref(), Some(want.as_str()));
    eprintln!(
        "UPLOAD_RSS bytes={len} sim={} peak_rss_before_upload_kib={} peak_rss_kib={}",
        if external.is_some() {
            "external"
        } else {
            "in-process"
        },
        rss_before.unwrap_or(0),
        peak_rss_kib().unwrap_or(0)
    );
}

#[tokio::test]
async fn upload_64mib_sparse_file() {
    sparse_upload(64 * 1024 * 1024).await;
}

/// About 15 s in a debug build here, so it stays on (the brief's bar for #[ignore] is 60 s).
#[tokio::test]
async fn upload_2gib_sparse_file() {
    sparse_upload(2 * 1024 * 1024 * 1024).await;
}
