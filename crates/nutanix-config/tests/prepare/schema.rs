//! Our schema against the Go plugin's exact HCL2 spec (vectors/nutanix-spec.model.json, decoded from
//! the real gob output of the v1.3 line): every Go key exists with the same type and block structure.

use std::collections::BTreeSet;

use nutanix_config::config_spec;
use packer_schema::{CtyType, ObjectSpec, Spec};
use serde_json::Value;

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/nutanix-spec.model.json"
);

/// Keys we add to the Go plugin's surface, each on purpose (see the option docs).
const OURS: &[&str] = &[
    "http_bind_address",
    "http_content",
    "http_directory",
    "http_port_max",
    "http_port_min",
    "meta_data",
    "nutanix_api_key",
    "nutanix_ca_cert",
    "nutanix_custom_headers",
    "output_directory",
    "secure_boot",
];

/// Go keys of the v1.3 line we deliberately leave out, with the reason. None so far.
const OMITTED: &[(&str, &str)] = &[];

fn cty(v: &Value) -> CtyType {
    match v {
        Value::String(s) if s == "string" => CtyType::String,
        Value::String(s) if s == "number" => CtyType::Number,
        Value::String(s) if s == "bool" => CtyType::Bool,
        Value::Array(a) if a.len() == 2 && a[0] == "list" => CtyType::List(Box::new(cty(&a[1]))),
        Value::Array(a) if a.len() == 2 && a[0] == "map" => CtyType::Map(Box::new(cty(&a[1]))),
        other => panic!("unexpected cty type in model: {other}"),
    }
}

/// Reads the model format: `["attr", name, type, required]`, `["block", type_name, nested, required]`,
/// `["blocklist", type_name, nested, min, max]`.
fn object(v: &Value) -> ObjectSpec {
    let mut spec = ObjectSpec::new();
    for (key, entry) in v.as_object().expect("model object") {
        let e = entry.as_array().expect("model entry");
        let s = match e[0].as_str().unwrap() {
            "attr" => Spec::Attr(packer_schema::AttrSpec {
                name: e[1].as_str().unwrap().to_string(),
                ty: cty(&e[2]),
                required: e[3].as_bool().unwrap(),
            }),
            "block" => Spec::Block(packer_schema::BlockSpec {
                type_name: e[1].as_str().unwrap().to_string(),
                nested: object(&e[2]),
                required: e[3].as_bool().unwrap(),
            }),
            "blocklist" => Spec::BlockList(packer_schema::BlockListSpec {
                type_name: e[1].as_str().unwrap().to_string(),
                nested: object(&e[2]),
                min_items: e[3].as_i64().unwrap(),
                max_items: e[4].as_i64().unwrap(),
            }),
            other => panic!("unknown spec kind {other}"),
        };
        spec.0.insert(key.clone(), s);
    }
    spec
}

fn compare(go: &ObjectSpec, ours: &ObjectSpec, prefix: &str, problems: &mut Vec<String>) {
    for (key, g) in &go.0 {
        let path = format!("{prefix}{key}");
        if OMITTED.iter().any(|(k, _)| *k == path) {
            continue;
        }
        let Some(o) = ours.0.get(key) else {
            problems.push(format!("{path}: missing"));
            continue;
        };
        match (g, o) {
            (Spec::Attr(g), Spec::Attr(o)) => {
                if g != o {
                    problems.push(format!("{path}: Go {g:?}, ours {o:?}"));
                }
            }
            (Spec::Block(g), Spec::Block(o)) => {
                if (&g.type_name, g.required) != (&o.type_name, o.required) {
                    problems.push(format!(
                        "{path}: Go block {:?}/{}, ours {:?}/{}",
                        g.type_name, g.required, o.type_name, o.required
                    ));
                }
                compare(&g.nested, &o.nested, &format!("{path}."), problems);
            }
            (Spec::BlockList(g), Spec::BlockList(o)) => {
                if (&g.type_name, g.min_items, g.max_items)
                    != (&o.type_name, o.min_items, o.max_items)
                {
                    problems.push(format!("{path}: Go block list differs from ours"));
                }
                compare(&g.nested, &o.nested, &format!("{path}."), problems);
            }
            _ => problems.push(format!("{path}: Go {g:?}, ours {o:?}")),
        }
    }
}

fn go_model() -> ObjectSpec {
    let text = std::fs::read_to_string(MODEL).expect("vectors/nutanix-spec.model.json");
    object(&serde_json::from_str(&text).unwrap())
}

#[test]
fn every_go_key_exists_with_the_same_type_and_block_structure() {
    let go = go_model();
    assert_eq!(go.0.len(), 110, "the model should be the 110-key v1.3 spec");
    let ours = config_spec();
    let mut problems = Vec::new();
    compare(&go, &ours, "", &mut problems);
    assert!(
        problems.is_empty(),
        "schema differences:\n{}",
        problems.join("\n")
    );
}

#[test]
fn our_extra_keys_are_exactly_the_documented_ones() {
    let go: BTreeSet<String> = go_model().0.keys().cloned().collect();
    let ours: BTreeSet<String> = config_spec().0.keys().cloned().collect();
    let extra: Vec<&String> = ours.difference(&go).collect();
    assert_eq!(extra, OURS.iter().collect::<Vec<_>>());
}

#[test]
fn nested_blocks_have_no_extra_keys() {
    // Blocks are shared with the Go plugin verbatim; extensions go at the top level.
    let go = go_model();
    let ours = config_spec();
    for (key, g) in &go.0 {
        let (Some(gn), Some(on)) = (nested(g), ours.0.get(key).and_then(nested)) else {
            continue;
        };
        let gk: Vec<&String> = gn.0.keys().collect();
        let ok: Vec<&String> = on.0.keys().collect();
        assert_eq!(gk, ok, "{key}");
    }
}

fn nested(s: &Spec) -> Option<&ObjectSpec> {
    match s {
        Spec::Block(b) => Some(&b.nested),
        Spec::BlockList(b) => Some(&b.nested),
        Spec::Attr(_) => None,
    }
}

#[test]
fn the_schema_is_stable_and_only_uses_kinds_both_wire_forms_carry() {
    fn walk(spec: &ObjectSpec) {
        for (k, s) in &spec.0 {
            match s {
                Spec::Attr(a) => {
                    assert_eq!(&a.name, k);
                    assert!(
                        !a.required,
                        "{k}: required-ness is checked in prepare, as the Go plugin does"
                    );
                }
                Spec::Block(b) => {
                    assert_eq!(&b.type_name, k);
                    walk(&b.nested);
                }
                Spec::BlockList(b) => {
                    assert_eq!(&b.type_name, k);
                    assert_eq!(
                        (b.min_items, b.max_items),
                        (0, 0),
                        "{k}: protobuf cannot carry item limits"
                    );
                    walk(&b.nested);
                }
            }
        }
    }
    walk(&config_spec());
    assert_eq!(config_spec(), config_spec());
}
