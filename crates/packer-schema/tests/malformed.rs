//! The decoders on malformed and hostile input: errors, never panics, no unbounded allocation.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::craft::*;
use common::*;
use packer_schema::gob::{encode_command_finished, encode_object_spec};
use packer_schema::gob_decode::{
    decode_command_finished, decode_object_spec, decode_value, GobError,
};
use packer_schema::{CtyType, ObjectSpec};

fn samples() -> Vec<Vec<u8>> {
    vec![
        base64_file("shared/nutanix-spec.go.gob.b64"),
        section("shared/go-small-specs.txt", "ObjectSpec{vtpm:"),
        section("shared/go-small-specs.txt", "ObjectSpec{gpu:"),
        encode_object_spec(
            &ObjectSpec::new()
                .attr(
                    "a",
                    CtyType::Map(Box::new(CtyType::List(Box::new(CtyType::Bool)))),
                )
                .block_list(
                    "l",
                    ObjectSpec::new().block("b", ObjectSpec::new().attr("n", CtyType::Number)),
                ),
        ),
        encode_command_finished(-7),
    ]
}

#[test]
fn every_strict_prefix_is_an_error() {
    for sample in samples() {
        for cut in 0..sample.len() {
            assert!(
                decode_value(&sample[..cut]).is_err(),
                "prefix of {cut} bytes decoded"
            );
        }
        decode_value(&sample).unwrap();
    }
}

#[test]
fn byte_flips_never_panic() {
    let mut decoded_anyway = 0;
    for sample in samples() {
        let step = (sample.len() / 700).max(1);
        for i in (0..sample.len()).step_by(step) {
            for mask in [0x01u8, 0x80, 0xff, 0x40] {
                let mut m = sample.clone();
                m[i] ^= mask;
                if decode_object_spec(&m).is_ok() {
                    decoded_anyway += 1;
                }
                let _ = decode_command_finished(&m);
            }
        }
    }
    // Some flips only change a name's letter; most must be rejected.
    assert!(decoded_anyway > 0);
}

#[test]
fn random_bytes_never_panic() {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    for len in 0..4000usize {
        let bytes: Vec<u8> = (0..len % 300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let _ = decode_value(&bytes);
        let _ = decode_object_spec(&bytes);
    }
}

#[test]
fn empty_input_and_trailing_bytes_are_named() {
    assert_eq!(decode_value(&[]), Err(GobError::Empty));
    let mut bytes = encode_command_finished(3);
    bytes.push(0);
    assert_eq!(decode_value(&bytes), Err(GobError::TrailingData(1)));
}

#[test]
fn duplicate_and_undefined_type_ids_are_rejected() {
    let def = struct_def(65, "T", &[("A", 2)]);
    let mut dup = Vec::new();
    message(&mut dup, &def);
    message(&mut dup, &def);
    assert_eq!(decode_value(&dup), Err(GobError::BadTypeId(65)));

    let mut low = Vec::new();
    message(&mut low, &struct_def(10, "T", &[("A", 2)]));
    assert_eq!(decode_value(&low), Err(GobError::BadTypeId(10)));

    let mut undefined = Vec::new();
    let mut body = Vec::new();
    int(&mut body, 70);
    body.push(0);
    message(&mut undefined, &body);
    assert_eq!(decode_value(&undefined), Err(GobError::UnknownType(70)));
}

#[test]
fn huge_counts_fail_without_allocating() {
    // A slice of ints claiming 2^60 elements in a 10-byte message.
    let mut s = Vec::new();
    message(&mut s, &slice_def(65, 2));
    let mut body = Vec::new();
    int(&mut body, 65);
    body.push(0); // singleton
    uint(&mut body, 1 << 60);
    body.extend([2, 4]);
    message(&mut s, &body);
    assert!(matches!(
        decode_value(&s),
        Err(GobError::UnexpectedEnd { .. })
    ));

    // A message length far beyond the input.
    let mut m = Vec::new();
    uint(&mut m, u64::MAX);
    m.push(1);
    assert!(matches!(
        decode_value(&m),
        Err(GobError::UnexpectedEnd { .. })
    ));

    // A map of empty structs cannot spin on a huge count once the buffer is empty.
    let mut e = Vec::new();
    message(&mut e, &struct_def(66, "E", &[]));
    message(&mut e, &map_def(65, 2, 66));
    let mut body = Vec::new();
    int(&mut body, 65);
    body.push(0);
    uint(&mut body, u64::MAX);
    body.extend([2, 0]);
    message(&mut e, &body);
    assert!(matches!(
        decode_value(&e),
        Err(GobError::UnexpectedEnd { .. })
    ));
}

#[test]
fn deep_nesting_is_cut_off() {
    // type 65 = struct { A 65 }: every level is one delta byte.
    let mut s = Vec::new();
    message(&mut s, &struct_def(65, "R", &[("A", 65)]));
    let mut body = Vec::new();
    int(&mut body, 65);
    body.extend(std::iter::repeat_n(1u8, 100_000));
    message(&mut s, &body);
    assert_eq!(decode_value(&s), Err(GobError::TooDeep(128)));

    // Interfaces nested in interfaces, each level pulling in its own definitions.
    let mut i = Vec::new();
    message(&mut i, &struct_def(65, "I", &[("X", 8)]));
    let mut body = Vec::new();
    int(&mut body, 65);
    for _ in 0..10_000 {
        body.push(1);
        string(&mut body, b"I");
        int(&mut body, 65);
        body.push(0); // ignored count
    }
    message(&mut i, &body);
    assert_eq!(decode_value(&i), Err(GobError::TooDeep(128)));

    // Specs: 20 levels of blocks decode; 40 are refused cleanly.
    let nest = |levels: usize| {
        let mut spec = ObjectSpec::new().attr("leaf", CtyType::Bool);
        for _ in 0..levels {
            spec = ObjectSpec::new().block("b", spec);
        }
        spec
    };
    let twenty = nest(20);
    assert_eq!(
        decode_object_spec(&encode_object_spec(&twenty)).unwrap(),
        twenty
    );
    assert_eq!(
        decode_object_spec(&encode_object_spec(&nest(40))),
        Err(GobError::TooDeep(128))
    );
}

#[test]
fn deep_cty_types_are_cut_off() {
    let mut t = CtyType::String;
    for _ in 0..40 {
        t = CtyType::List(Box::new(t));
    }
    let bytes = encode_object_spec(&ObjectSpec::new().attr("x", t));
    assert_eq!(decode_object_spec(&bytes), Err(GobError::TooDeep(32)));
}

#[test]
fn extra_data_after_a_top_level_type_definition_is_rejected() {
    let mut body = struct_def(65, "T", &[("A", 2)]);
    body.push(9);
    let mut s = Vec::new();
    message(&mut s, &body);
    assert_eq!(decode_value(&s), Err(GobError::ExtraData));
}

#[test]
fn unsupported_spec_kinds_and_cty_types_are_named() {
    let spec = ObjectSpec::new()
        .block("blk", ObjectSpec::new())
        .attr("m", CtyType::Map(Box::new(CtyType::String)));
    let bytes = encode_object_spec(&spec);
    let replace = |from: &[u8], to: &[u8]| {
        assert_eq!(from.len(), to.len());
        let mut b = bytes.clone();
        let at = b.windows(from.len()).position(|w| w == from).unwrap();
        b[at..at + from.len()].copy_from_slice(to);
        b
    };
    match decode_object_spec(&replace(b"*hcldec.BlockSpec", b"*hcldec.BlockSpeX")) {
        Err(GobError::UnsupportedSpec { path, name }) => {
            assert_eq!(path, "[\"blk\"]");
            assert_eq!(name, "*hcldec.BlockSpeX");
        }
        other => panic!("{other:?}"),
    }
    match decode_object_spec(&replace(b"cty.typeMap", b"cty.typeSet")) {
        Err(GobError::UnsupportedCtyType { path, name }) => {
            assert_eq!(path, "[\"m\"].Type.Impl");
            assert_eq!(name, "github.com/zclconf/go-cty/cty.typeSet");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_field_kinds_are_named() {
    // ObjectSpec whose AttrSpec says Name is an int.
    let mut s = Vec::new();
    let mut map = Vec::new();
    int(&mut map, -65);
    map.extend([4, 1, 1]);
    string(&mut map, b"ObjectSpec");
    map.push(1);
    int(&mut map, 65);
    map.extend([0, 1]);
    int(&mut map, 6);
    map.push(1);
    int(&mut map, 8);
    map.extend([0, 0]);
    message(&mut s, &map);
    message(&mut s, &struct_def(66, "AttrSpec", &[("Name", 2)]));
    let mut body = Vec::new();
    int(&mut body, 65);
    body.extend([0, 1]);
    string(&mut body, b"k");
    string(&mut body, b"*hcldec.AttrSpec");
    int(&mut body, 66);
    body.push(3);
    body.extend([1, 4, 0]); // Name = 2
    message(&mut s, &body);
    match decode_object_spec(&s) {
        Err(GobError::Shape {
            path,
            expected,
            found,
        }) => {
            assert_eq!(
                (path.as_str(), expected, found.as_str()),
                ("[\"k\"].Name", "string", "int")
            );
        }
        other => panic!("{other:?}"),
    }
}
