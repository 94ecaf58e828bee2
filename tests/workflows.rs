//! The release process outside the binary: the integrations-portal notification's retry logic
//! (.github/scripts/, run here against stub commands), the workflows (actionlint, with
//! shellcheck for their shell steps), every shell script (shellcheck), the version check of
//! scripts/check-version.sh, and the Makefile's verbs.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

fn read(rel: &str) -> String {
    let path = repo_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[cfg(unix)]
fn write_executable(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A stub command that fails `fail_first` times (printing `failure_text`), then succeeds; it
/// records each call's INPUT_* variables in `calls`, one line per call.
fn flaky_stub(dir: &Path, fail_first: u32, failure_text: &str) -> PathBuf {
    let stub = dir.join("stub");
    let counter = dir.join("count");
    let calls = dir.join("calls");
    write_executable(
        &stub,
        &format!(
            r#"#!/bin/sh
n=$(cat '{counter}' 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > '{counter}'
echo "id=$INPUT_INTEGRATION_IDENTIFIER version=$INPUT_RELEASE_VERSION sha=$INPUT_RELEASE_SHA token=$INPUT_GITHUB_TOKEN ws=$GITHUB_WORKSPACE" >> '{calls}'
if [ "$n" -le {fail_first} ]; then
  echo '{failure_text}' >&2
  exit 1
fi
echo 'Successfully notified release'
"#,
            counter = counter.display(),
            calls = calls.display(),
        ),
    );
    stub
}

/// A stand-in for `sleep` that records how long it was asked to wait.
fn recording_sleep(dir: &Path) -> PathBuf {
    let sleep = dir.join("sleep");
    write_executable(
        &sleep,
        &format!(
            "#!/bin/sh\necho \"$1\" >> '{}'\n",
            dir.join("waits").display()
        ),
    );
    sleep
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Runs .github/scripts/notify-release.sh with `stub` as the action's program.
fn notify(dir: &Path, stub: &Path, attempts: Option<&str>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join(".github/scripts/notify-release.sh"))
        .args(["1.4.0", "refs/tags/v1.4.0"])
        .current_dir(dir)
        .env("NOTIFY_CMD", stub)
        .env("GITHUB_TOKEN", "token-123")
        .env("GITHUB_WORKSPACE", dir)
        .env("NOTIFY_DELAY", "5")
        .env("RETRY_SLEEP", recording_sleep(dir))
        .env_remove("INTEGRATION_IDENTIFIER");
    if let Some(n) = attempts {
        cmd.env("NOTIFY_ATTEMPTS", n);
    }
    cmd.output().unwrap()
}

/// The integration identifier metadata.hcl declares.
fn metadata_identifier() -> String {
    let body = hcl::parse(&read(".web-docs/metadata.hcl")).expect("metadata.hcl parses");
    let integration = body
        .blocks()
        .find(|b| b.identifier() == "integration")
        .expect("an integration block");
    integration
        .body()
        .attributes()
        .find(|a| a.key() == "identifier")
        .and_then(|a| match a.expr() {
            hcl::Expression::String(s) => Some(s.clone()),
            _ => None,
        })
        .expect("integration.identifier")
}

#[test]
fn notification_retries_two_transient_failures_then_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let stub = flaky_stub(
        dir.path(),
        2,
        "Failed to notify release: API responded with [503]",
    );
    let out = notify(dir.path(), &stub, None);
    assert!(out.status.success(), "{}", text(&out));
    let calls = lines(&dir.path().join("calls"));
    assert_eq!(calls.len(), 3, "the stub ran {} times", calls.len());
    let want = format!(
        "id={} version=1.4.0 sha=refs/tags/v1.4.0 token=token-123 ws={}",
        metadata_identifier(),
        dir.path().display()
    );
    assert!(
        calls.iter().all(|c| *c == want),
        "inputs: {calls:?}, want {want}"
    );
    assert_eq!(
        lines(&dir.path().join("waits")),
        ["5", "10"],
        "backoff doubles"
    );
    assert!(
        text(&out).contains("succeeded on attempt 3 of 6"),
        "{}",
        text(&out)
    );
}

#[test]
fn notification_gives_up_loudly_after_the_last_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let stub = flaky_stub(dir.path(), u32::MAX, "FetchError: socket hang up");
    let out = notify(dir.path(), &stub, None);
    assert!(!out.status.success(), "{}", text(&out));
    assert_eq!(lines(&dir.path().join("calls")).len(), 6);
    // Doubling from 5 s, capped at 240 s; no wait after the last attempt.
    assert_eq!(
        lines(&dir.path().join("waits")),
        ["5", "10", "20", "40", "80"]
    );
    let all = text(&out);
    assert!(
        all.contains("::error::") && all.contains("failed 6 times") && all.contains("giving up"),
        "{all}"
    );
    assert!(
        all.contains("socket hang up"),
        "the command's own output is shown: {all}"
    );
}

#[test]
fn notification_stops_at_once_on_permanent_failures() {
    for (text_out, permanent) in [
        ("[validate-hcl] Error: missing metadata.hcl", true),
        ("Failed to notify release: API responded with [403]}", true),
        ("Failed to notify release: API responded with [404]}", true),
        ("Failed to notify release: API responded with [429]}", false),
        ("Failed to notify release: API responded with [408]}", false),
        ("Failed to notify release: API responded with [502]}", false),
        ("Error: connect ECONNRESET", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let stub = flaky_stub(dir.path(), u32::MAX, text_out);
        let out = notify(dir.path(), &stub, Some("3"));
        assert!(!out.status.success(), "{text_out}: {}", text(&out));
        let calls = lines(&dir.path().join("calls")).len();
        if permanent {
            assert_eq!(calls, 1, "{text_out}: a permanent failure was retried");
            assert!(text(&out).contains("failed permanently"), "{}", text(&out));
        } else {
            assert_eq!(calls, 3, "{text_out}: a transient failure was not retried");
        }
    }
}

#[test]
fn retry_script_refuses_bad_usage() {
    for args in [
        vec!["--attempts", "0", "--", "true"],
        vec!["--delay", "x", "--", "true"],
        vec!["--bogus", "--", "true"],
        vec!["--attempts", "2"],
    ] {
        let out = Command::new("bash")
            .arg(repo_root().join(".github/scripts/retry.sh"))
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    }
    // notify-release.sh checks its arguments before running anything.
    for (version, token) in [("v1.4.0", "t"), ("1.4", "t"), ("1.4.0", "")] {
        let out = Command::new("bash")
            .arg(repo_root().join(".github/scripts/notify-release.sh"))
            .args([version, "refs/tags/v1.4.0"])
            .env("GITHUB_TOKEN", token)
            .env("NOTIFY_CMD", "false")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{version:?} {token:?}: {}",
            text(&out)
        );
    }
}

/// A `gh` stub answering `gh api repos/<repo>/releases/tags/<tag>` with the n-th of `answers`
/// (the last one repeats); an answer "404" fails like gh does for a missing release.
fn gh_stub(dir: &Path, answers: &[&str]) -> PathBuf {
    let gh = dir.join("gh");
    for (i, a) in answers.iter().enumerate() {
        std::fs::write(dir.join(format!("answer{}", i + 1)), a).unwrap();
    }
    write_executable(
        &gh,
        &format!(
            r#"#!/bin/sh
[ "$1" = api ] && [ "$2" = "repos/owner/repo/releases/tags/v1.4.0" ] || {{ echo "unexpected: $*" >&2; exit 3; }}
n=$(cat '{d}/count' 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > '{d}/count'
[ "$n" -gt {last} ] && n={last}
a=$(cat "{d}/answer$n")
if [ "$a" = 404 ]; then echo 'gh: Not Found (HTTP 404)' >&2; exit 1; fi
printf '%s\n' "$a"
"#,
            d = dir.display(),
            last = answers.len()
        ),
    );
    gh
}

const SUMS: &str = "packer-plugin-nutanix_v1.4.0_SHA256SUMS";

fn release_json(draft: bool, assets: &[&str]) -> String {
    let assets: Vec<String> = assets
        .iter()
        .map(|a| format!("{{\"name\": \"{a}\"}}"))
        .collect();
    format!(
        "{{\"tag_name\": \"v1.4.0\", \"draft\": {draft}, \"assets\": [{}]}}",
        assets.join(", ")
    )
}

fn release_ready(dir: &Path, gh: &Path) -> Output {
    Command::new("bash")
        .arg(repo_root().join(".github/scripts/release-ready.sh"))
        .arg("v1.4.0")
        .env("GH", gh)
        .env("GITHUB_REPOSITORY", "owner/repo")
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn release_ready_needs_a_published_release_with_its_checksums() {
    let zip = "packer-plugin-nutanix_v1.4.0_x5.0_linux_amd64.zip";
    let cases = [
        ("404".to_string(), false),
        (release_json(true, &[SUMS, zip]), false),
        (release_json(false, &[zip]), false),
        (release_json(false, &[SUMS]), false),
        ("not json".to_string(), false),
        (release_json(false, &[zip, SUMS]), true),
    ];
    for (answer, ready) in cases {
        let dir = tempfile::tempdir().unwrap();
        let gh = gh_stub(dir.path(), &[&answer]);
        let out = release_ready(dir.path(), &gh);
        assert_eq!(out.status.success(), ready, "{answer}: {}", text(&out));
    }
}

#[test]
fn waiting_for_the_release_retries_until_it_is_published() {
    let dir = tempfile::tempdir().unwrap();
    let zip = "packer-plugin-nutanix_v1.4.0_x5.0_linux_amd64.zip";
    let gh = gh_stub(
        dir.path(),
        &[
            "404",
            &release_json(true, &[zip, SUMS]),
            &release_json(false, &[zip, SUMS]),
        ],
    );
    let out = Command::new("bash")
        .arg(repo_root().join(".github/scripts/retry.sh"))
        .args(["--attempts", "5", "--delay", "1", "--"])
        .arg("bash")
        .arg(repo_root().join(".github/scripts/release-ready.sh"))
        .arg("v1.4.0")
        .env("GH", &gh)
        .env("GITHUB_REPOSITORY", "owner/repo")
        .env("RETRY_SLEEP", recording_sleep(dir.path()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(lines(&dir.path().join("waits")), ["1", "2"]);
    assert!(text(&out).contains("is a draft"), "{}", text(&out));
}

#[test]
fn notify_workflow_runs_on_tags_and_by_hand_through_the_scripts() {
    let wf = read(".github/workflows/notify-integration-release.yml");
    for needle in [
        "tags: [\"v*.*.*\"]",
        "workflow_dispatch:",
        "version:",
        "bash .github/scripts/retry.sh",
        "bash .github/scripts/release-ready.sh",
        "bash .github/scripts/notify-release.sh",
        "repository: hashicorp/integration-release-action",
        "make generate",
    ] {
        assert!(
            wf.contains(needle),
            "notify-integration-release.yml lacks {needle:?}"
        );
    }
    assert!(
        wf.contains(&format!(
            "INTEGRATION_IDENTIFIER: {}",
            metadata_identifier()
        )),
        "the workflow must notify for metadata.hcl's identifier"
    );
    let docs = read(".github/workflows/ensure-docs-compiled.yml");
    assert!(docs.contains("make generate") && docs.contains("git status --porcelain -- .web-docs"));
    let release = read(".github/workflows/release.yml");
    assert!(release.contains("scripts/check-version.sh --release \"$GITHUB_REF_NAME\""));
    assert!(release.contains("bash scripts/cross-build.sh"));
}

fn peer(name: &str, build_hint: &str) -> PathBuf {
    let p = peer_cache().join(name);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/build-peers.sh {build_hint} (scripts/test.sh does)",
        p.display()
    );
    p
}

fn actionlint() -> PathBuf {
    let version = std::env::var("ACTIONLINT_VERSION").unwrap_or_else(|_| "v1.7.12".into());
    peer(
        &format!("actionlint-{}", version.trim_start_matches('v')),
        "actionlint",
    )
}

fn shellcheck_on_path() {
    let ok = Command::new("shellcheck")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "shellcheck is missing (apt-get install shellcheck; scripts/test.sh installs it)"
    );
}

#[test]
fn actionlint_passes_on_every_workflow() {
    // actionlint checks `run:` scripts only when shellcheck is on PATH.
    shellcheck_on_path();
    let out = Command::new(actionlint())
        .args(["-color=false", "-shellcheck=shellcheck"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "actionlint:\n{}", text(&out));

    // And it does fail: a workflow with an undefined step output and a shell bug.
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(
        wf.join("broken.yml"),
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ steps.nope.outputs.x }} $undefined_var\n",
    )
    .unwrap();
    let out = Command::new(actionlint())
        .args(["-color=false", "-shellcheck=shellcheck"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "actionlint accepted a broken workflow:\n{}",
        text(&out)
    );
}

#[test]
fn shell_scripts_pass_shellcheck() {
    shellcheck_on_path();
    let mut scripts = Vec::new();
    for dir in ["scripts", ".github/scripts"] {
        scripts.extend(files_with_ext(&repo_root().join(dir), &[".sh"]));
    }
    scripts.push(repo_root().join(".ci/run"));
    scripts.push(repo_root().join("tests/interop/run.sh"));
    assert!(scripts.len() > 15, "{scripts:?}");
    let out = Command::new("shellcheck")
        .args(["-S", "warning", "-f", "gcc", "-x"])
        .args(&scripts)
        .output()
        .unwrap();
    assert!(out.status.success(), "shellcheck:\n{}", text(&out));
}

// ---------------------------------------------------------------------------------------------
// scripts/check-version.sh

/// A copy of the files check-version.sh reads, to break one at a time.
fn version_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for rel in [
        "scripts/check-version.sh",
        "Cargo.toml",
        "CHANGELOG.md",
        "README.md",
        "docs/README.md",
        "examples/simulator/build.pkr.hcl",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo_root().join(rel), &to).unwrap();
    }
    dir
}

fn check_version(dir: &Path, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(dir.join("scripts/check-version.sh"))
        .args(args)
        .output()
        .unwrap()
}

fn edit(dir: &Path, rel: &str, from: &str, to: &str) {
    let path = dir.join(rel);
    let body = std::fs::read_to_string(&path).unwrap();
    assert!(body.contains(from), "{rel} has no {from:?}");
    std::fs::write(&path, body.replacen(from, to, 1)).unwrap();
}

#[test]
fn version_agrees_everywhere() {
    let out = Command::new("bash")
        .arg(repo_root().join("scripts/check-version.sh"))
        .arg("--binary")
        .arg(plugin_binary())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));

    // The version continues the Go plugin's line: above its last release, 1.3.0.
    let v: Vec<u64> = env!("CARGO_PKG_VERSION")
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(
        v > vec![1, 3, 0],
        "version {v:?} must be newer than the Go plugin's 1.3.0"
    );
}

#[test]
fn version_check_catches_disagreements() {
    let version = env!("CARGO_PKG_VERSION");
    // (what, file, text, replacement): one disagreement each.
    let broken = [
        (
            "a README constraint the version does not meet",
            "README.md",
            "version = \">= ",
            "version = \">= 9",
        ),
        (
            "a constraint that is not >= X.Y.Z",
            "examples/simulator/build.pkr.hcl",
            "version = \">= ",
            "version = \"~> ",
        ),
        (
            "a CHANGELOG section newer than Cargo.toml",
            "CHANGELOG.md",
            "\n## [Unreleased]\n",
            "\n## [Unreleased]\n\n## [99.0.0] - 2030-01-01\n\n- later\n",
        ),
        (
            "a malformed CHANGELOG heading",
            "CHANGELOG.md",
            "\n## [Unreleased]\n",
            "\n## Unreleased\n",
        ),
    ];
    for (what, file, from, to) in broken {
        let dir = version_tree();
        edit(dir.path(), file, from, to);
        let out = check_version(dir.path(), &[]);
        assert!(!out.status.success(), "accepted {what}:\n{}", text(&out));
    }

    // At release: the tag, and a dated section for the version.
    let dir = version_tree();
    let out = check_version(dir.path(), &["--release", &format!("v{version}")]);
    assert!(
        !out.status.success(),
        "released with only [Unreleased] changes:\n{}",
        text(&out)
    );
    edit(
        dir.path(),
        "CHANGELOG.md",
        "\n## [Unreleased]\n",
        &format!("\n## [Unreleased]\n\n## [{version}] - 2026-07-01\n"),
    );
    let notes = dir.path().join("notes.md");
    let out = check_version(
        dir.path(),
        &[
            "--release",
            &format!("v{version}"),
            "--notes",
            notes.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let notes = std::fs::read_to_string(&notes).unwrap();
    assert!(
        notes.contains("### Added") && !notes.contains("## ["),
        "release notes: {notes}"
    );
    let out = check_version(dir.path(), &["--release", "v0.0.1"]);
    assert!(
        !out.status.success(),
        "a tag other than the version was accepted"
    );
}

#[test]
fn makefile_has_the_scaffolding_verbs() {
    let out = Command::new("make")
        .args([
            "-n",
            "dev",
            "generate",
            "plugin-check",
            "test",
            "testacc",
            "bench",
            "fuzz",
        ])
        .current_dir(repo_root())
        .output()
        .expect("make is needed (apt-get install make)");
    assert!(out.status.success(), "make -n:\n{}", text(&out));
    let plan = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "scripts/install-plugin.sh",
        "scripts/find-packer.sh",
        "scripts/compile-web-docs.sh",
        "plugin-check",
        "scripts/test.sh",
        "scripts/bench-all.sh",
        "scripts/fuzz.sh",
    ] {
        assert!(
            plan.contains(needle),
            "make -n does not run {needle}:\n{plan}"
        );
    }
}
