//! `Builder.Prepare` argument decoding, both template kinds, against the shared vectors.

use packer_schema::TemplateKind;
use rmpv::Value;
use serde_json::json;

use super::util::map;
use crate::services::prepare::{decode_prepare_args, PrepareDecodeError};

/// packer-schema's testdata/shared/sample.cty.json: the real cty JSON Packer sends for a sample
/// source body (docs/design/plugin-protocol.md, 'Golden vectors in this repository').
pub(crate) fn sample_cty_json() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packer-schema/testdata/shared/sample.cty.json"
    );
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn args(configs: Vec<Value>) -> Value {
    map(&[("Configs", Value::Array(configs))])
}

/// What Packer 1.16 sends as the first raw for an HCL2 source: all values strings.
fn hcl2_vars() -> Value {
    map(&[
        ("packer_build_name", Value::from("centos")),
        ("packer_builder_type", Value::from("nutanix")),
        ("packer_core_version", Value::from("1.16.0")),
        ("packer_debug", Value::from("false")),
        ("packer_force", Value::from("true")),
        ("packer_on_error", Value::from("cleanup")),
    ])
}

#[test]
fn hcl2_form_reads_string_vars_and_the_cty_body() {
    let input =
        decode_prepare_args(&args(vec![hcl2_vars(), Value::Binary(sample_cty_json())])).unwrap();
    assert_eq!(input.kind, TemplateKind::Hcl2);
    let p = &input.packer;
    assert_eq!(p.build_name, "centos");
    assert_eq!(p.builder_type, "nutanix");
    assert_eq!(p.core_version, "1.16.0");
    assert!(!p.debug);
    assert!(p.force);
    assert_eq!(p.on_error, "cleanup");
    assert_eq!(p.template_path, None);
    assert_eq!(
        input.configs.len(),
        1,
        "the vars map holds only packer_* keys"
    );
    let body = &input.configs[0];
    // Values from sample.pkr.hcl.body, as hcldec decoded them.
    assert_eq!(body["cpu"], json!(2));
    assert_eq!(body["memory_mb"], json!(4096));
    assert_eq!(body["nutanix_insecure"], json!(true));
    assert_eq!(body["cd_content"], json!({"ks.cfg": "x"}));
    assert_eq!(body["vm_disks"][0]["disk_size_gb"], json!(40));
    assert_eq!(body["vm_disks"][1]["source_image_name"], json!(null));
    assert_eq!(body["vtpm"], json!({"enabled": true}));
    assert_eq!(body["gpu"], json!([]));
    assert_eq!(
        body["nutanix_port"],
        json!(null),
        "unset attributes stay null"
    );
    // packer_* keys of the body (all null here) go to PackerVars, not into the config.
    assert!(body.get("packer_build_name").is_none());
    // The null packer_build_name in the body did not erase the value from the first raw.
    assert_eq!(input.packer.build_name, "centos");
}

#[test]
fn legacy_json_form_reads_the_template_object_and_typed_vars() {
    let template = map(&[
        ("name", Value::from("fail")),
        ("count", Value::F64(3.0)),
        ("enabled", Value::Boolean(true)),
        (
            "tags",
            Value::Array(vec![Value::from("a"), Value::from("b")]),
        ),
        ("labels", map(&[("k", Value::from("v"))])),
        (
            "items",
            Value::Array(vec![map(&[("y", Value::Array(vec![Value::from("z")]))])]),
        ),
    ]);
    let packer_config = map(&[
        ("packer_build_name", Value::from("interop")),
        ("packer_builder_type", Value::from("interop")),
        ("packer_core_version", Value::from("1.11.2")),
        ("packer_debug", Value::Boolean(true)),
        ("packer_force", Value::Boolean(false)),
        ("packer_on_error", Value::from("abort")),
        ("packer_template_path", Value::from("/t/template.json")),
        (
            "packer_user_variables",
            map(&[("region", Value::from("eu"))]),
        ),
        (
            "packer_sensitive_variables",
            Value::Array(vec![Value::from("password")]),
        ),
    ]);
    let input = decode_prepare_args(&args(vec![template, packer_config])).unwrap();
    assert_eq!(input.kind, TemplateKind::LegacyJson);
    let p = &input.packer;
    assert_eq!(p.build_name, "interop");
    assert!(p.debug);
    assert!(!p.force);
    assert_eq!(p.on_error, "abort");
    assert_eq!(p.template_path.as_deref(), Some("/t/template.json"));
    assert_eq!(
        p.user_variables.get("region").map(String::as_str),
        Some("eu")
    );
    assert_eq!(p.sensitive_variables, vec!["password".to_string()]);
    assert_eq!(
        input.configs,
        vec![
            json!({"name": "fail", "count": 3.0, "enabled": true, "tags": ["a", "b"],
                    "labels": {"k": "v"}, "items": [{"y": ["z"]}]})
        ]
    );
}

#[test]
fn nil_sensitive_list_and_nil_raws_are_accepted() {
    // Packer < 1.14 omits packer_sensitive_variables; >= 1.14 may send nil. A JSON builder with only
    // name/type gives a nil first raw.
    let vars = map(&[
        ("packer_build_name", Value::from("b")),
        ("packer_sensitive_variables", Value::Nil),
    ]);
    let input = decode_prepare_args(&args(vec![Value::Nil, vars])).unwrap();
    assert_eq!(input.kind, TemplateKind::LegacyJson);
    assert!(input.configs.is_empty());
    assert!(input.packer.sensitive_variables.is_empty());
    assert_eq!(input.packer.build_name, "b");
    // No Configs at all.
    assert!(decode_prepare_args(&Value::Nil).unwrap().configs.is_empty());
}

#[test]
fn malformed_arguments_are_errors_that_name_the_culprit() {
    assert!(matches!(
        decode_prepare_args(&Value::from(3)),
        Err(PrepareDecodeError::Args(_))
    ));
    assert!(matches!(
        decode_prepare_args(&map(&[("Configs", Value::from("x"))])),
        Err(PrepareDecodeError::Args(_))
    ));
    assert_eq!(
        decode_prepare_args(&args(vec![hcl2_vars(), Value::from(7)])),
        Err(PrepareDecodeError::UnexpectedRaw {
            index: 1,
            found: "integer".into()
        })
    );
    let bad_bool = map(&[("packer_debug", Value::from("maybe"))]);
    match decode_prepare_args(&args(vec![bad_bool])) {
        Err(e @ PrepareDecodeError::PackerVar { index: 0, .. }) => {
            assert!(e.to_string().contains("packer_debug"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decode_prepare_args(&args(vec![Value::Binary(b"not json".to_vec())])),
        Err(PrepareDecodeError::CtyJson { index: 0, .. })
    ));
}
