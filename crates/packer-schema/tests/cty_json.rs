//! cty JSON decoding against what Packer really sends (testdata/shared/sample.cty.json) and
//! go-cty's unmarshal rules.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use packer_schema::cty_json::{decode, implied_type, CtyJsonError};
use serde_json::{json, Value};

fn wrap(value: Value, ty: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"value": value, "type": ty})).unwrap()
}

fn mismatch_path(r: Result<Value, CtyJsonError>) -> String {
    match r {
        Err(CtyJsonError::Mismatch { path, .. }) => path,
        other => panic!("expected a mismatch, got {other:?}"),
    }
}

#[test]
fn packer_sample_decodes_to_its_value() {
    let raw = read("shared/sample.cty.json");
    let doc = json(std::str::from_utf8(&raw).unwrap());
    let v = decode(&raw).unwrap();
    // Go sent a value that already conforms (every attribute present, numbers as numbers), so
    // decoding must give it back unchanged.
    assert_eq!(v, doc["value"]);
    assert_eq!(v.as_object().unwrap().len(), 110);
    assert_eq!(v["cpu"], json!(2));
    assert_eq!(v["memory_mb"], json!(4096));
    assert_eq!(v["nutanix_insecure"], json!(true));
    assert_eq!(v["boot_command"][0], json!("<esc>"));
    assert_eq!(v["cd_content"]["ks.cfg"], json!("x"));
    assert_eq!(v["vm_disks"][1]["disk_size_gb"], json!(10));
    assert_eq!(v["vm_disks"][1]["source_image_name"], Value::Null);
    assert_eq!(v["vm_nics"][0]["subnet_name"], json!("vlan0"));
    assert_eq!(v["vtpm"]["enabled"], json!(true));
    assert_eq!(v["ova"], Value::Null);
    assert_eq!(v["gpu"], json!([]));
    assert_eq!(v["packer_debug"], Value::Null);
}

#[test]
fn implied_type_of_the_nutanix_spec_is_what_packer_sends() {
    // hcldec's implied type for the Go plugin's spec, as Packer put it in the Prepare payload.
    let doc = json(&read_text("shared/sample.cty.json"));
    assert_eq!(implied_type(&nutanix_spec()), doc["type"]);
}

#[test]
fn conversions_follow_go_cty() {
    let ty = json!(["object", {"n": "number", "b": "bool", "s": "string", "t": "string", "m": ["map", "number"]}]);
    let v = decode(&wrap(
        json!({"n": "42", "b": "true", "s": 7, "t": false, "m": {"x": "-1.5"}}),
        ty,
    ))
    .unwrap();
    // Missing attributes are null; numeric strings become numbers; strings accept numbers/bools.
    assert_eq!(
        v,
        json!({"n": 42, "b": true, "s": "7", "t": "false", "m": {"x": -1.5}})
    );
    let v = decode(&wrap(
        json!({"b": "0"}),
        json!(["object", {"b": "bool", "z": "number"}]),
    ))
    .unwrap();
    assert_eq!(v, json!({"b": false, "z": null}));
}

#[test]
fn dynamic_sets_and_tuples() {
    let ty = json!(["object", {"d": "dynamic", "set": ["set", "string"], "tup": ["tuple", ["string", "number"]]}]);
    let v = decode(&wrap(
        json!({"d": {"value": ["a"], "type": ["list", "string"]}, "set": ["x", "y"], "tup": ["a", 1]}),
        ty.clone(),
    ))
    .unwrap();
    assert_eq!(v, json!({"d": ["a"], "set": ["x", "y"], "tup": ["a", 1]}));
    let e = decode(&wrap(json!({"tup": ["a"]}), ty.clone()));
    assert_eq!(mismatch_path(e), ".tup");
    let e = decode(&wrap(json!({"d": {"value": 1, "type": "bool"}}), ty));
    assert_eq!(mismatch_path(e), ".d");
    let optional = json!(["object", {"a": "string"}, ["a"]]);
    assert_eq!(
        decode(&wrap(json!({}), optional)).unwrap(),
        json!({"a": null})
    );
}

#[test]
fn mismatches_name_the_path() {
    let doc = json(&read_text("shared/sample.cty.json"));
    let ty = doc["type"].clone();
    let with = |key: &str, v: Value| {
        let mut value = doc["value"].clone();
        value[key] = v;
        decode(&wrap(value, ty.clone()))
    };
    assert_eq!(mismatch_path(with("cpu", json!("two"))), ".cpu");
    assert_eq!(
        mismatch_path(with("nutanix_insecure", json!(1))),
        ".nutanix_insecure"
    );
    assert_eq!(
        mismatch_path(with("boot_command", json!("x"))),
        ".boot_command"
    );
    assert_eq!(
        mismatch_path(with("boot_command", json!(["a", ["b"]]))),
        ".boot_command[1]"
    );
    assert_eq!(
        mismatch_path(with("cd_content", json!({"k": {}}))),
        ".cd_content[\"k\"]"
    );
    assert_eq!(
        mismatch_path(with("vm_disks", json!([{}, {"disk_size_gb": true}]))),
        ".vm_disks[1].disk_size_gb"
    );
    assert_eq!(
        mismatch_path(with("vtpm", json!({"enabled": true, "nope": 1}))),
        ".vtpm"
    );
    let mut value = doc["value"].clone();
    value["unknown_key"] = json!(1);
    assert_eq!(mismatch_path(decode(&wrap(value, ty))), "(root)");
}

#[test]
fn malformed_wrappers_and_types_are_errors() {
    use CtyJsonError::*;
    assert!(matches!(decode(b"not json"), Err(Invalid(_))));
    assert!(matches!(decode(b"[1]"), Err(Invalid(_))));
    assert!(matches!(decode(br#"{"value": 1}"#), Err(Invalid(_))));
    assert!(matches!(decode(br#"{"type": "number"}"#), Err(Invalid(_))));
    assert!(matches!(
        decode(br#"{"value": 1, "type": "number", "x": 0}"#),
        Err(Invalid(_))
    ));
    for ty in [
        json!("int"),
        json!(["list"]),
        json!(["list", "string", "x"]),
        json!(["object", []]),
        json!(["tuple", "string"]),
        json!(3),
        json!([]),
        json!(["object", {"a": "string"}, ["b"]]),
    ] {
        assert!(
            matches!(decode(&wrap(Value::Null, ty.clone())), Err(BadType { .. })),
            "{ty}"
        );
    }
    assert_eq!(
        decode(&wrap(Value::Null, json!(["list", "string"]))).unwrap(),
        Value::Null
    );
}

#[test]
fn garbage_and_deep_nesting_never_panic() {
    let raw = read("shared/sample.cty.json");
    for cut in (0..raw.len()).step_by(7) {
        assert!(decode(&raw[..cut]).is_err());
    }
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..3000 {
        let mut m = raw.clone();
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x as usize) % m.len();
            m[i] = (x >> 32) as u8;
        }
        let _ = decode(&m);
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        decode(deep.as_bytes()),
        Err(CtyJsonError::Invalid(_))
    ));
    // Dynamic values wrap dynamic values; each level unwraps.
    let mut doc = json!({"value": 1, "type": "number"});
    for _ in 0..60 {
        doc = json!({"value": doc, "type": "dynamic"});
    }
    assert_eq!(
        decode(&serde_json::to_vec(&doc).unwrap()).unwrap(),
        json!(1)
    );
}
