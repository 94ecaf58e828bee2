//! The binary's command line as Packer and people use it: `describe`, the cookie check, bad starts.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::process::Command;

use common::*;

#[test]
fn describe_prints_one_compact_json_line() {
    let out = Command::new(plugin_binary())
        .arg("describe")
        .env_remove("PACKER_PLUGIN_MAGIC_COOKIE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.ends_with('\n') && stdout.lines().count() == 1,
        "{stdout:?}"
    );
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["api_version"], "x5.0");
    assert_eq!(v["protocol_version"], "v2");
    assert_eq!(
        v["builders"],
        serde_json::json!(["-packer-default-plugin-name-"])
    );
    for k in ["post_processors", "provisioners", "datasources"] {
        assert_eq!(v[k], serde_json::json!([]), "{k}");
    }
    assert!(!v["version"].as_str().unwrap().starts_with('v'));
}

#[test]
fn start_without_cookie_refuses_with_packers_message() {
    for args in [
        &["start", "builder", "nutanix"][..],
        &["start", "builder", "--protobuf", "nutanix"][..],
    ] {
        let out = Command::new(plugin_binary())
            .args(args)
            .env_remove("PACKER_PLUGIN_MAGIC_COOKIE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(out.stdout.is_empty(), "nothing on stdout: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("Please do not execute plugins directly")
        );
    }
}

#[test]
fn unknown_kind_or_name_fails_before_any_handshake() {
    let cookie = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
    for (args, want) in [
        (
            &["start", "widget", "nutanix"][..],
            "Unknown plugin type: widget",
        ),
        (&["start", "builder", "vsphere"][..], "no builder named"),
        (
            &["start", "provisioner", "nutanix"][..],
            "provides no provisioner",
        ),
    ] {
        let out = Command::new(plugin_binary())
            .args(args)
            .env("PACKER_PLUGIN_MAGIC_COOKIE", cookie)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(out.stdout.is_empty(), "no handshake line: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(want),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn version_flag_prints_the_cargo_version() {
    let out = Command::new(plugin_binary())
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}
