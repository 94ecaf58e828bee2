//! The spec-as-JSON model shared with the config crate.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use packer_schema::model_json::cty_type_from_json;
use packer_schema::{spec_from_model_json, spec_to_model_json, CtyType, ModelJsonError, Spec};
use serde_json::json;

#[test]
fn nutanix_model_reads_and_writes_back() {
    let model = json(&read_text("shared/nutanix-spec.model.json"));
    let spec = spec_from_model_json(&model).unwrap();
    assert_eq!(spec.0.len(), 110);
    match &spec.0["vm_disks"] {
        Spec::BlockList(l) => {
            assert_eq!(l.type_name, "vm_disks");
            assert_eq!(l.nested.0.len(), 11);
            assert_eq!((l.min_items, l.max_items), (0, 0));
        }
        other => panic!("{other:?}"),
    }
    match &spec.0["ssh_public_key"] {
        Spec::Attr(a) => assert_eq!(a.ty, CtyType::List(Box::new(CtyType::Number))),
        other => panic!("{other:?}"),
    }
    assert_eq!(spec_to_model_json(&spec), model);
}

#[test]
fn errors_name_the_place() {
    let bad = json!({"ok": ["attr", "ok", "string", false], "outer": ["block", "outer", {"x": ["attr", "x", ["set", "string"], false]}, false]});
    let e: ModelJsonError = spec_from_model_json(&bad).unwrap_err();
    assert_eq!(e.path, "[\"outer\"][2][\"x\"][2]");
    for bad in [
        json!([]),
        json!({"a": ["attr", "a", "string"]}),
        json!({"a": ["nope", "a", "string", false]}),
        json!({"a": ["attr", 1, "string", false]}),
        json!({"a": ["blocklist", "a", {}, 0, "x"]}),
        json!({"a": ["block", "a", [], false]}),
    ] {
        assert!(spec_from_model_json(&bad).is_err(), "{bad}");
    }
    assert!(cty_type_from_json(&json!(["map", ["list", "dynamic"]])).is_err());
    let mut deep = json!("string");
    for _ in 0..100 {
        deep = json!(["list", deep]);
    }
    assert!(cty_type_from_json(&deep).is_err());
}
