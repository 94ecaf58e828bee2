//! Task outcomes and every fault kind of the simulator: transient faults are survived,
//! permanent ones end in an error that quotes Prism's message.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prism::models::*;
use prism::{CancellationToken, ImageSource, NewImage, PrismError, Wait};
use prism_sim::inventory::defaults::*;
use serde_json::{json, Value};
use support::*;

fn upload_image(name: &str) -> NewImage {
    NewImage {
        name: name.into(),
        description: None,
        image_type: ImageType::IsoImage,
        source: ImageSource::Upload,
        cluster_uuid: Some(CLUSTER_1_UUID.into()),
        categories: BTreeMap::new(),
    }
}

#[tokio::test]
async fn transient_503s_on_get_are_survived() {
    let env = start().await;
    env.fault(
        json!({"match": {"method": "GET", "path": "/api/nutanix/v3/images"},
        "action": {"type": "status", "status": 503, "message": "busy"}, "count": 2}),
    )
    .await;
    let image = env.client.get_image(IMAGE_ISO_UUID).await.unwrap();
    assert_eq!(image.uuid(), Some(IMAGE_ISO_UUID));
    assert_eq!(env.count("GET", IMAGE_ISO_UUID).await, 3);
}

#[tokio::test]
async fn permanent_500_quotes_prism_message() {
    let env = start().await;
    env.fault(json!({"match": {"method": "POST", "path": "/api/nutanix/v3/clusters/list"},
        "action": {"type": "status", "status": 500, "reason": "INTERNAL_ERROR", "message": "database on fire"},
        "count": 0}))
        .await;
    match env.client.list_clusters().await {
        Err(e @ PrismError::Api { status: 500, .. }) => {
            let text = e.to_string();
            assert!(text.contains("database on fire"), "{text}");
            assert!(text.contains("INTERNAL_ERROR"), "{text}");
            assert!(text.contains("list clusters"), "{text}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        env.count("POST", "/clusters/list").await,
        4,
        "bounded attempts"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let env = start().await;
    env.fault(json!({"match": {"method": "GET"},
        "action": {"type": "status", "status": 400, "reason": "INVALID_ARGUMENT", "message": "bad thing"},
        "count": 1}))
        .await;
    match env
        .client
        .get_vm("c3b5e0a2-2222-4e1f-9d4b-0000000000aa")
        .await
    {
        Err(e @ PrismError::Api { status: 400, .. }) => {
            assert!(e.to_string().contains("bad thing"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.count("GET", "0000000000aa").await, 1);
}

#[tokio::test]
async fn rate_limit_honours_retry_after() {
    let env = start().await;
    env.fault(json!({"match": {"path": "/api/nutanix/v3/projects/list"},
        "action": {"type": "rate_limit", "retry_after_secs": 1}, "count": 1}))
        .await;
    let started = Instant::now();
    assert_eq!(env.client.list_projects().await.unwrap().len(), 2);
    // The fast test backoff would retry after ~10 ms; Retry-After asked for 1 s.
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn rate_limited_create_is_retried_because_prism_did_not_process_it() {
    let env = start().await;
    env.fault(
        json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
        "action": {"type": "rate_limit", "retry_after_secs": 0}, "count": 1}),
    )
    .await;
    let image = env
        .client
        .create_image(
            &upload_image("after-429.iso"),
            &Wait::new(Duration::from_secs(30)),
        )
        .await
        .unwrap();
    assert_eq!(image.name(), "after-429.iso");
    assert_eq!(
        env.client
            .images_named("after-429.iso")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn latency_is_tolerated() {
    let env = start().await;
    env.fault(json!({"match": {"path": "/api/nutanix/v3/hosts/list"},
        "action": {"type": "latency", "ms": 300}, "count": 1}))
        .await;
    assert_eq!(env.client.list_hosts().await.unwrap().len(), 2);
}

#[tokio::test]
async fn dropped_connection_on_get_is_retried() {
    let env = start().await;
    env.fault(
        json!({"match": {"method": "GET", "path": "/api/nutanix/v3/subnets"},
        "action": {"type": "drop"}, "count": 1}),
    )
    .await;
    let subnet = env.client.get_subnet(SUBNET_IPAM_UUID).await.unwrap();
    assert_eq!(subnet.uuid(), Some(SUBNET_IPAM_UUID));
}

#[tokio::test]
async fn dropped_connection_on_create_is_reported_not_retried() {
    let env = start().await;
    env.fault(
        json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
        "action": {"type": "drop"}, "count": 1}),
    )
    .await;
    match env
        .client
        .create_image(
            &upload_image("dropped.iso"),
            &Wait::new(Duration::from_secs(30)),
        )
        .await
    {
        Err(e @ PrismError::CreateOutcomeUnknown { .. }) => {
            assert!(e.to_string().contains("create image 'dropped.iso'"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let posts = env
        .requests()
        .await
        .into_iter()
        .filter(|r| {
            r["method"] == "POST" && r["path"].as_str().unwrap_or("").ends_with("/v3/images")
        })
        .count();
    assert_eq!(posts, 1, "a create is never sent twice blindly");
}

#[tokio::test]
async fn create_failing_with_503_is_not_retried() {
    let env = start().await;
    env.fault(
        json!({"match": {"method": "POST", "path": "/api/nutanix/v3/vms"},
        "action": {"type": "status", "status": 503, "message": "try later"}, "count": 1}),
    )
    .await;
    let input = VmIntentInput {
        api_version: None,
        metadata: Metadata::of_kind("vm"),
        spec: VmSpec {
            name: "no-dup".into(),
            cluster_reference: Some(Reference::new("cluster", CLUSTER_1_UUID)),
            ..Default::default()
        },
    };
    match env
        .client
        .create_vm(&input, &Wait::new(Duration::from_secs(30)))
        .await
    {
        Err(e @ PrismError::Api { status: 503, .. }) => {
            assert!(e.to_string().contains("try later"))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.count("POST", "/v3/vms").await, 1);
}

#[tokio::test]
async fn task_fail_fault_ends_in_task_failed_quoting_detail() {
    let env = start().await;
    env.fault(json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
        "action": {"type": "task_fail", "message": "RESOURCE_SHORTAGE: Not enough storage"}, "count": 1}))
        .await;
    match env
        .client
        .create_image(
            &upload_image("fails.iso"),
            &Wait::new(Duration::from_secs(30)),
        )
        .await
    {
        Err(e @ PrismError::TaskFailed { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("RESOURCE_SHORTAGE: Not enough storage"),
                "{text}"
            );
            assert!(
                text.contains("FAILED") && text.contains("fails.iso"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn hanging_task_times_out_naming_task_and_purpose() {
    let env = start().await;
    env.fault(
        json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
        "action": {"type": "task_hang"}, "count": 1}),
    )
    .await;
    match env
        .client
        .create_image(
            &upload_image("hangs.iso"),
            &Wait::new(Duration::from_millis(600)),
        )
        .await
    {
        Err(e @ PrismError::TaskTimeout { .. }) => {
            let text = e.to_string();
            assert!(text.contains("create image 'hangs.iso'"), "{text}");
            assert!(
                text.contains("RUNNING") || text.contains("QUEUED"),
                "{text}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cancel_returns_promptly() {
    let env = start().await;
    env.fault(
        json!({"match": {"method": "POST", "path": "/api/nutanix/v3/images"},
        "action": {"type": "task_hang"}, "count": 1}),
    )
    .await;
    let token = CancellationToken::new();
    let wait = Wait::new(Duration::from_secs(600)).with_cancel(token.clone());
    let trigger = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    match env
        .client
        .create_image(&upload_image("cancel.iso"), &wait)
        .await
    {
        Err(PrismError::Cancelled { op }) => assert!(op.contains("cancel.iso"), "{op}"),
        other => panic!("{other:?}"),
    }
    // Not a timing claim, a liveness one: far below the 600 s deadline.
    assert!(started.elapsed() < Duration::from_secs(30));
}

#[tokio::test]
async fn unknown_task_uuid_is_an_error() {
    let env = start().await;
    let r = env
        .client
        .wait_task_with(
            "c3b5e0a2-2222-4e1f-9d4b-00000000dead",
            "nothing",
            &Wait::new(Duration::from_secs(5)),
        )
        .await;
    match r {
        Err(PrismError::Api { status, .. }) => assert!(status == 404 || status == 400),
        Err(PrismError::TaskFailed { status, .. }) => assert_eq!(status, TaskStatus::InvalidUuid),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn wrong_password_is_a_401_not_retried() {
    let env = start().await;
    let client = prism::PrismClient::new(config_for(&env.base, "admin", "wrong")).unwrap();
    match client.list_clusters().await {
        Err(PrismError::Api {
            status: 401,
            message,
            ..
        }) => assert!(!message.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(env.count("POST", "/clusters/list").await, 1);
}

#[tokio::test]
async fn read_timeout_then_retry_survives_a_slow_answer() {
    let env = start().await;
    let mut config = config_for(&env.base, "admin", "secret");
    config.read_timeout = Duration::from_millis(200);
    let client = prism::PrismClient::new(config).unwrap();
    env.fault(
        json!({"match": {"method": "GET", "path": "/api/nutanix/v3/clusters"},
        "action": {"type": "latency", "ms": 2000}, "count": 1}),
    )
    .await;
    let cluster = client.get_cluster(CLUSTER_1_UUID).await.unwrap();
    assert_eq!(cluster.uuid(), Some(CLUSTER_1_UUID));
}

#[tokio::test]
async fn create_is_retried_when_the_connection_was_never_made() {
    // A port nobody listens on: every attempt fails to connect, so the request provably never
    // reached Prism and retrying the create is safe; after the bounded attempts it is a
    // Transport error, not CreateOutcomeUnknown.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let client = prism::PrismClient::new(config_for(
        &format!("http://127.0.0.1:{port}"),
        "admin",
        "secret",
    ))
    .unwrap();
    match client
        .create_image(
            &upload_image("never.iso"),
            &Wait::new(Duration::from_secs(5)),
        )
        .await
    {
        Err(PrismError::Transport { attempts, .. }) => assert_eq!(attempts, 4),
        other => panic!("{other:?}"),
    }
}

// ---- tasks ending ABORTED, CANCELLED or INVALID_UUID ------------------------------------------

/// The unsuccessful terminal statuses other than FAILED, with the message each fault injects
/// (None: the simulator's default message for that status).
fn other_ends() -> Vec<(TaskStatus, Option<&'static str>)> {
    vec![
        (TaskStatus::Aborted, Some("Task aborted by admin")),
        (
            TaskStatus::Cancelled,
            Some("Task cancelled on user request"),
        ),
        (
            TaskStatus::InvalidUuid,
            Some("INVALID_UUID: task is not known"),
        ),
    ]
}

fn task_status_fault(
    method: &str,
    path_regex: &str,
    status: &TaskStatus,
    message: Option<&str>,
) -> Value {
    let mut action = json!({"type": "task_status", "status": status.as_str()});
    if let Some(m) = message {
        action["message"] = m.into();
    }
    json!({"match": {"method": method, "path_regex": path_regex}, "action": action, "count": 1})
}

/// A wait far longer than any simulated task: a terminal status mistaken for a pending one
/// would run into `bounded`'s guard instead of returning.
fn long_wait() -> Wait {
    Wait::new(Duration::from_secs(300))
}

/// Liveness guard, not a timing claim: the call must end by itself once the task is terminal.
async fn bounded<F: Future>(what: &str, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(60), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: still waiting on a task that has ended"))
}

/// Checks that `result` is `TaskFailed` with `status`, quoting `message` (when given) and
/// naming `op`, and returns Prism's `error_detail`.
fn expect_ended<T: std::fmt::Debug>(
    result: Result<T, PrismError>,
    status: &TaskStatus,
    message: Option<&str>,
    op: &str,
) -> String {
    match result {
        Err(
            ref e @ PrismError::TaskFailed {
                status: ref got,
                ref purpose,
                ref error_detail,
                ref task_uuid,
            },
        ) => {
            assert_eq!(got, status, "{e}");
            assert_eq!(purpose, op, "{e}");
            assert!(!task_uuid.is_empty(), "{e}");
            let detail = error_detail.clone().unwrap_or_default();
            assert!(
                !detail.is_empty(),
                "{status}: Prism's error_detail is quoted: {e}"
            );
            if let Some(m) = message {
                assert_eq!(detail, m, "{e}");
            }
            let text = e.to_string();
            for needle in [status.as_str(), op, detail.as_str(), task_uuid.as_str()] {
                assert!(text.contains(needle), "{text:?} should contain {needle:?}");
            }
            detail
        }
        other => panic!("{status}: expected TaskFailed, got {other:?}"),
    }
}

fn small_vm(name: &str) -> VmIntentInput {
    VmIntentInput {
        api_version: None,
        metadata: Metadata::of_kind("vm"),
        spec: VmSpec {
            name: name.into(),
            cluster_reference: Some(Reference::new("cluster", CLUSTER_1_UUID)),
            ..Default::default()
        },
    }
}

#[tokio::test]
async fn create_image_whose_task_ends_aborted_cancelled_or_invalid_uuid_is_task_failed() {
    let env = start().await;
    for (status, message) in other_ends() {
        env.fault(task_status_fault("POST", "/v3/images$", &status, message))
            .await;
        let name = format!("ends-{status}.iso");
        let result = bounded(
            &name,
            env.client.create_image(&upload_image(&name), &long_wait()),
        )
        .await;
        expect_ended(result, &status, message, &format!("create image '{name}'"));
    }
    // The rules were used up by the three creates, one each: none passed a create by.
    assert!(env
        .sim_get("/_sim/faults")
        .await
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn create_vm_whose_task_ends_aborted_cancelled_or_invalid_uuid_is_task_failed() {
    let env = start().await;
    for (status, message) in other_ends() {
        env.fault(task_status_fault("POST", "/v3/vms$", &status, message))
            .await;
        let name = format!("ends-{status}");
        let seen: Arc<Mutex<Vec<TaskProgress>>> = Arc::default();
        let sink = seen.clone();
        let wait = long_wait().with_progress(move |p| sink.lock().unwrap().push(p.clone()));
        let result = bounded(&name, env.client.create_vm(&small_vm(&name), &wait)).await;
        let detail = expect_ended(result, &status, message, &format!("create VM '{name}'"));
        // Progress reporting saw the end too, with the same purpose.
        let seen = seen.lock().unwrap();
        let last = seen.last().expect("at least one progress report");
        assert_eq!(last.status, status);
        assert_eq!(last.purpose, format!("create VM '{name}'"));
        assert!(
            seen.iter()
                .all(|p| p.status.is_in_progress() || p.status == status),
            "{seen:?}"
        );
        assert_eq!(last.progress_message.as_deref(), Some(detail.as_str()));
    }
}

#[tokio::test]
async fn delete_vm_whose_task_ends_aborted_cancelled_or_invalid_uuid_is_task_failed() {
    let env = start().await;
    let vm = env
        .client
        .create_vm(&small_vm("survivor"), &long_wait())
        .await
        .unwrap();
    let uuid = vm.metadata.uuid.clone().unwrap();
    for (status, message) in other_ends() {
        env.fault(task_status_fault("DELETE", "/v3/vms/", &status, message))
            .await;
        let result = bounded(&uuid, env.client.delete_vm(&uuid, &long_wait())).await;
        expect_ended(result, &status, message, &format!("delete VM {uuid}"));
        // The deletion did not happen, and the error did not pretend it had.
        assert_eq!(
            env.client
                .get_vm(&uuid)
                .await
                .unwrap()
                .metadata
                .uuid
                .as_deref(),
            Some(uuid.as_str())
        );
    }
    // Without a fault the same delete now works.
    env.client.delete_vm(&uuid, &long_wait()).await.unwrap();
    assert!(env.client.get_vm(&uuid).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn delete_image_whose_task_ends_with_the_simulators_default_message_is_task_failed() {
    let env = start().await;
    for (status, _) in other_ends() {
        env.fault(task_status_fault("DELETE", "/v3/images/", &status, None))
            .await;
        let result = bounded(
            IMAGE_ISO_UUID,
            env.client.delete_image(IMAGE_ISO_UUID, &long_wait()),
        )
        .await;
        let detail = expect_ended(
            result,
            &status,
            None,
            &format!("delete image {IMAGE_ISO_UUID}"),
        );
        // Whatever the default wording, it is the task's own error_detail, quoted verbatim.
        let tasks = env.state().await;
        let recorded = tasks["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|t| t["status"] == status.as_str())
            .and_then(|t| t["error_detail"].as_str())
            .unwrap()
            .to_string();
        assert_eq!(detail, recorded);
        assert_eq!(
            env.client
                .get_image(IMAGE_ISO_UUID)
                .await
                .unwrap()
                .uuid()
                .unwrap(),
            IMAGE_ISO_UUID
        );
    }
}
