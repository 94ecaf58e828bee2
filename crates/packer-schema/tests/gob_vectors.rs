//! The gob encoder and decoder against bytes produced by real Go code (testdata/shared, and
//! testdata/go made with tests/go-oracle) and by the Python reference encoder Go accepted
//! (docs/design/plugin-protocol.md, 'Golden vectors in this repository').

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;
use packer_schema::gob::{encode_command_finished, encode_cty_type, encode_object_spec};
use packer_schema::gob_decode::{decode_command_finished, decode_object_spec};
use packer_schema::model_json::cty_type_from_json;
use packer_schema::{spec_from_model_json, CtyType, ObjectSpec};
use serde_json::Value;

fn model(v: &Value) -> ObjectSpec {
    spec_from_model_json(v).unwrap()
}

#[test]
fn decodes_gos_own_gob_of_the_nutanix_spec() {
    let go = base64_file("shared/nutanix-spec.go.gob.b64");
    let decoded = decode_object_spec(&go).unwrap();
    assert_eq!(decoded.0.len(), 110);
    assert_eq!(decoded, nutanix_spec());
}

#[test]
fn decodes_gos_small_spec_vectors() {
    use CtyType::*;
    let name_attr = |required| {
        let mut s = ObjectSpec::new().attr("name", String);
        if let Some(packer_schema::Spec::Attr(a)) = s.0.get_mut("name") {
            a.required = required;
        }
        s
    };
    let cases = [
        (
            "ObjectSpec{name: AttrSpec{name,String,false}}",
            name_attr(false),
        ),
        (
            "ObjectSpec{name: AttrSpec{name,String,true}}",
            name_attr(true),
        ),
        (
            "ObjectSpec{boot_command:",
            ObjectSpec::new().attr("boot_command", List(Box::new(String))),
        ),
        (
            "ObjectSpec{cd_content:",
            ObjectSpec::new().attr("cd_content", Map(Box::new(String))),
        ),
        (
            "ObjectSpec{vtpm:",
            ObjectSpec::new().block("vtpm", ObjectSpec::new().attr("enabled", Bool)),
        ),
        (
            "ObjectSpec{gpu:",
            ObjectSpec::new().block_list("gpu", ObjectSpec::new().attr("name", String)),
        ),
        ("ObjectSpec{} (empty)", ObjectSpec::new()),
    ];
    for (title, expected) in cases {
        let go = section("shared/go-small-specs.txt", title);
        assert_eq!(decode_object_spec(&go).unwrap(), expected, "{title}");
    }
}

#[test]
fn decodes_go_oracle_specs_including_random_ones() {
    let file = json(&read_text("go/specs.json"));
    let specs = file["specs"].as_array().unwrap();
    assert!(specs.len() >= 40);
    for case in specs {
        let name = case["name"].as_str().unwrap();
        let go = base64_decode(case["gob_b64"].as_str().unwrap());
        let decoded = decode_object_spec(&go).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded, model(&case["model"]), "{name}");
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[test]
fn lone_cty_types_are_byte_identical_to_go() {
    let titles = [
        ("GobEncode cty.String", r#""string""#),
        ("GobEncode cty.Number", r#""number""#),
        ("GobEncode cty.Bool", r#""bool""#),
        ("GobEncode cty.List(cty.String)", r#"["list","string"]"#),
        ("GobEncode cty.Map(cty.String)", r#"["map","string"]"#),
        ("GobEncode cty.List(cty.Number)", r#"["list","number"]"#),
    ];
    for (title, ty) in titles {
        let t = cty_type_from_json(&json(ty)).unwrap();
        assert_eq!(
            hex::encode(encode_cty_type(&t)),
            hex::encode(section("shared/go-cty-types.txt", title)),
            "{title}"
        );
    }
    // Deeper types, from the same Go code (testdata/go/cty-types.json).
    let file = json(&read_text("go/cty-types.json"));
    let types = file["types"].as_array().unwrap();
    assert_eq!(types.len(), 14);
    for case in types {
        let t = cty_type_from_json(&case["type"]).unwrap();
        assert_eq!(
            hex::encode(encode_cty_type(&t)),
            case["hex"].as_str().unwrap(),
            "{}",
            case["type"]
        );
    }
}

#[test]
fn spec_bytes_match_the_reference_canonical_layout() {
    let file = json(&read_text("reference/canonical-specs.json"));
    let specs = file["specs"].as_array().unwrap();
    assert!(specs.iter().any(|c| c["name"] == "nutanix"));
    for case in specs {
        let name = case["name"].as_str().unwrap();
        let spec = model(&case["model"]);
        assert_eq!(
            hex::encode(encode_object_spec(&spec)),
            case["gob_hex"].as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn our_spec_encoding_decodes_back_to_the_same_spec() {
    let mut specs = vec![nutanix_spec(), ObjectSpec::new()];
    let file = json(&read_text("go/specs.json"));
    specs.extend(
        file["specs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| model(&c["model"])),
    );
    for spec in specs {
        assert_eq!(
            decode_object_spec(&encode_object_spec(&spec)).unwrap(),
            spec
        );
    }
}

#[test]
fn decodes_the_python_reference_encoders_outputs() {
    // testdata/shared/gobref-cases.txt: types first, with the reference encoder's own nested cty
    // layout (not Go's).
    let cases = named_hex_lines("shared/gobref-cases.txt");
    let get = |n: &str| cases.iter().find(|c| c.0 == n).unwrap().1.clone();
    let go = json(&read_text("go/specs.json"));
    let model_of = |n: &str| {
        model(
            &go["specs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == n)
                .unwrap()["model"],
        )
    };
    assert_eq!(
        decode_object_spec(&get("spec_attr")).unwrap(),
        model_of("required_attr")
    );
    assert_eq!(
        decode_object_spec(&get("spec_all")).unwrap(),
        model_of("gobref_spec_all")
    );

    // A second Python reference layout Go's decoder accepted (ids in first-use order, Type defined
    // before AttrSpec) for ObjectSpec{name: AttrSpec{name, String}}.
    let py = hex::decode(concat!(
        "1aff810401010a4f626a6563745370656301ff8200010c0110000010ff85050101045479706501ff8600000036ff830301010841747472",
        "5370656301ff8400010301044e616d65010c0001045479706501ff8600010852657175697265640102000000ffafff820001046e616d6510",
        "2a68636c6465632e4174747253706563ff84ff9101046e616d6501ff872aff8103010107676f625479706501ff82000102010756657273",
        "696f6e0104000104496d706c011000000024ff830301010d7072696d69746976655479706501ff8400010101044b696e64010600000036ff",
        "82022b6769746875622e636f6d2f7a636c636f6e662f676f2d6374792f6374792e7072696d697469766554797065ff84030153000000",
    ))
    .unwrap();
    assert_eq!(decode_object_spec(&py).unwrap(), model_of("one_attr"));
}

#[test]
fn command_finished_is_byte_identical_to_go() {
    let cases = named_hex_lines("shared/gobref-cases.txt");
    for (name, status) in [("cf0", 0), ("cf1", 1), ("cfneg", -1), ("cfbig", 2_300_218)] {
        let expected = &cases.iter().find(|c| c.0 == name).unwrap().1;
        assert_eq!(
            hex::encode(encode_command_finished(status)),
            hex::encode(expected),
            "{name}"
        );
    }
    // Go's output (docs/design/plugin-protocol.md, 'CommandFinished (gob)'): a 45-byte
    // definition, then the value.
    let def =
        "2cff810301010f436f6d6d616e6446696e697368656401ff82000101010a45786974537461747573010400000";
    assert_eq!(
        hex::encode(encode_command_finished(1)),
        format!("{def}005ff82010200")
    );
    assert_eq!(
        hex::encode(encode_command_finished(2_300_218)),
        format!("{def}008ff8201fd46327400")
    );
}

#[test]
fn command_finished_round_trips_through_the_decoder() {
    for status in [
        0,
        1,
        -1,
        2,
        127,
        128,
        255,
        256,
        2_300_218,
        -2_300_218,
        i64::MAX,
        i64::MIN,
    ] {
        assert_eq!(
            decode_command_finished(&encode_command_finished(status)).unwrap(),
            status
        );
    }
}

/// The copies under `testdata/shared` against the team's original vectors, which live outside this
/// repository (a `shared/` directory beside the checkout, or `PPN_SHARED_DIR`). The other tests read
/// only the copies. Ignored by default, so that a checkout without the originals neither fails nor
/// counts a check that never ran as passed; run it with
/// `PPN_SHARED_DIR=/path/to/shared cargo test -p packer-schema --test gob_vectors -- --ignored`.
#[test]
#[ignore = "needs the team's shared/ directory, outside the repository (see the doc comment)"]
fn testdata_copies_match_shared_vectors() {
    let shared = std::env::var_os("PPN_SHARED_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
        });
    assert!(
        shared.join("vectors").is_dir(),
        "{}: no vectors/ directory here; set PPN_SHARED_DIR to the team's shared/ directory",
        shared.display()
    );
    for (copy, original) in [
        (
            "shared/nutanix-spec.model.json",
            "vectors/nutanix-spec.model.json",
        ),
        ("shared/go-cty-types.txt", "vectors/gob/go-cty-types.txt"),
        (
            "shared/go-small-specs.txt",
            "vectors/gob/go-small-specs.txt",
        ),
        (
            "shared/nutanix-spec.go.gob.b64",
            "vectors/gob/nutanix-spec.go.gob.b64",
        ),
        ("shared/sample.cty.json", "vectors/prepare/sample.cty.json"),
        (
            "shared/go-small-specs.proto.txt",
            "vectors/proto/go-small-specs.txt",
        ),
        (
            "shared/nutanix-spec.go.proto.b64",
            "vectors/proto/nutanix-spec.go.proto.b64",
        ),
        ("shared/gobref-cases.txt", "reference/gobref-cases.txt"),
    ] {
        assert_eq!(
            read(copy),
            std::fs::read(shared.join(original)).unwrap(),
            "{copy} differs from shared/{original}"
        );
    }
}

#[test]
fn decodes_gos_276_byte_example() {
    // Go's 276 bytes for {foo: AttrSpec{foo, String, required}}: type definitions interleaved with
    // the value (docs/design/plugin-protocol.md, 'Gob: the canonical layout').
    let go = hex::decode(concat!(
        "1aff810401010a4f626a6563745370656301ff8200010c011000004fff82000103666f6f102a68636c6465632e4174747253706563ff83",
        "03010108417474725370656301ff8400010301044e616d65010c0001045479706501ff860001085265717569726564010200000010ff85",
        "050101045479706501ff86000000ff96ff84ff920103666f6f01ff872aff8703010107676f625479706501ff8800010201075665727369",
        "6f6e0104000104496d706c011000000053ff88022b6769746875622e636f6d2f7a636c636f6e662f676f2d6374792f6374792e7072696d",
        "697469766554797065ff890301010d7072696d69746976655479706501ff8a00010101044b696e64010600000007ff8a03015300000101",
        "00",
    ))
    .unwrap();
    assert_eq!(go.len(), 276);
    let spec = decode_object_spec(&go).unwrap();
    assert_eq!(
        spec_to_json(&spec),
        json(r#"{"foo":["attr","foo","string",true]}"#)
    );
}

fn spec_to_json(spec: &ObjectSpec) -> Value {
    packer_schema::spec_to_model_json(spec)
}
