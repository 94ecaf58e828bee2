//! The protobuf encoder against Go's deterministic `proto.Marshal` of the SDK's hcl_spec.proto.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use packer_schema::proto::encode_object_spec;
use packer_schema::{spec_from_model_json, CtyType, ObjectSpec, Spec};

#[test]
fn small_specs_are_byte_identical_to_go() {
    use CtyType::*;
    let cases = [
        (
            "proto ObjectSpec{name:",
            ObjectSpec::new().attr("name", String),
        ),
        (
            "proto ObjectSpec{boot_command:",
            ObjectSpec::new().attr("boot_command", List(Box::new(String))),
        ),
        (
            "proto ObjectSpec{cd_content:",
            ObjectSpec::new().attr("cd_content", Map(Box::new(String))),
        ),
        (
            "proto ObjectSpec{vtpm:",
            ObjectSpec::new().block("vtpm", ObjectSpec::new().attr("enabled", Bool)),
        ),
        (
            "proto ObjectSpec{gpu:",
            ObjectSpec::new().block_list("gpu", ObjectSpec::new().attr("name", String)),
        ),
        ("proto ObjectSpec{} (empty)", ObjectSpec::new()),
    ];
    for (title, spec) in cases {
        let go = section("shared/go-small-specs.proto.txt", title);
        assert_eq!(
            hex::encode(encode_object_spec(&spec)),
            hex::encode(go),
            "{title}"
        );
    }
}

#[test]
fn python_protobuf_examples_match() {
    // Bytes python-protobuf wrote from the SDK's hcl_spec.proto (docs/design/plugin-protocol.md,
    // 'Protobuf spec').
    let mut required = ObjectSpec::new().attr("foo", CtyType::String);
    if let Some(Spec::Attr(a)) = required.0.get_mut("foo") {
        a.required = true;
    }
    assert_eq!(
        hex::encode(encode_object_spec(&required)),
        "0a220a200a03666f6f121912170a03666f6f120e0a0c0a0a6374792e537472696e671801"
    );
    let blk = ObjectSpec::new().block("blk", ObjectSpec::new().attr("x", CtyType::Number));
    assert_eq!(
        hex::encode(encode_object_spec(&blk)),
        "0a300a2e0a03626c6b12271a250a03626c6b1a1e0a1c0a1a0a0178121512130a0178120e0a0c0a0a6374792e4e756d626572"
    );
    let tags = ObjectSpec::new().attr("tags", CtyType::Map(Box::new(CtyType::String)));
    assert_eq!(
        hex::encode(encode_object_spec(&tags)),
        "0a260a240a0474616773121c121a0a047461677312121a100a0e0a0c0a0a6374792e537472696e67"
    );
}

#[test]
fn whole_nutanix_spec_is_byte_identical_to_go() {
    let go = base64_file("shared/nutanix-spec.go.proto.b64");
    assert_eq!(encode_object_spec(&nutanix_spec()), go);
}

#[test]
fn go_oracle_specs_are_byte_identical() {
    // Includes random specs with empty and non-ASCII keys and names, nested blocks, min/max items
    // (which protobuf drops) and nested list/map types.
    let file = json(&read_text("go/specs.json"));
    for case in file["specs"].as_array().unwrap() {
        let spec = spec_from_model_json(&case["model"]).unwrap();
        assert_eq!(
            hex::encode(encode_object_spec(&spec)),
            case["proto_hex"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
}
