//! Protobuf encoding of the spec (`Spec{object}` from the SDK's rpc/hcl_spec.proto), used when Packer
//! 1.12+ starts us with `--protobuf`.
//!
//! Hand-written: the schema is ten tiny messages, and writing fields in number order with map
//! entries in key order reproduces Go's deterministic `proto.Marshal` byte for byte. Proto3 rules:
//! empty strings and `false` are omitted; map entries always carry their key and value.
//!
//! ```text
//! Spec      { oneof { Object object=1; Attr attr=2; Block block_value=3; BlockList block_list=4; } }
//! Object    { map<string,Spec> attributes=1; }
//! Attr      { string name=1; CtyType type=2; bool required=3; }
//! Block     { string name=1; bool required=2; Spec nested=3; }
//! BlockList { string name=1; Spec nested=2; }             // MinItems/MaxItems are not carried
//! CtyType   { oneof { CtyPrimitive primitive=1; CtyList list=2; CtyMap map=3; } }
//! CtyPrimitive { string typeString=1; }                    // "cty.String" | "cty.Number" | "cty.Bool"
//! CtyList / CtyMap { CtyType elementType=1; }
//! ```

use crate::{CtyType, ObjectSpec, Spec};

/// Encodes `spec` as the SDK's `Spec` message holding `object`. Block lists lose their item limits:
/// the protobuf schema has no field for them.
pub fn encode_object_spec(spec: &ObjectSpec) -> Vec<u8> {
    let mut out = Vec::new();
    message(&mut out, 1, &object(spec));
    out
}

fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A length-delimited field (wire type 2).
fn message(out: &mut Vec<u8>, field: u64, payload: &[u8]) {
    varint(out, (field << 3) | 2);
    varint(out, payload.len() as u64);
    out.extend_from_slice(payload);
}

/// A proto3 string field, omitted when empty.
fn string(out: &mut Vec<u8>, field: u64, s: &str) {
    if !s.is_empty() {
        message(out, field, s.as_bytes());
    }
}

/// A proto3 bool field, omitted when false.
fn flag(out: &mut Vec<u8>, field: u64, b: bool) {
    if b {
        varint(out, field << 3);
        varint(out, 1);
    }
}

/// `Object{attributes}`; the BTreeMap gives the sorted key order of Go's deterministic marshal.
fn object(spec: &ObjectSpec) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, entry) in &spec.0 {
        let mut kv = Vec::new();
        message(&mut kv, 1, key.as_bytes());
        message(&mut kv, 2, &spec_message(entry));
        message(&mut out, 1, &kv);
    }
    out
}

/// `Spec` holding one of attr / block_value / block_list.
fn spec_message(entry: &Spec) -> Vec<u8> {
    let mut body = Vec::new();
    let mut out = Vec::new();
    match entry {
        Spec::Attr(a) => {
            string(&mut body, 1, &a.name);
            message(&mut body, 2, &cty_type(&a.ty));
            flag(&mut body, 3, a.required);
            message(&mut out, 2, &body);
        }
        Spec::Block(b) => {
            string(&mut body, 1, &b.type_name);
            flag(&mut body, 2, b.required);
            message(&mut body, 3, &nested(&b.nested));
            message(&mut out, 3, &body);
        }
        Spec::BlockList(l) => {
            string(&mut body, 1, &l.type_name);
            message(&mut body, 2, &nested(&l.nested));
            message(&mut out, 4, &body);
        }
    }
    out
}

/// A nested `Spec{object}`.
fn nested(spec: &ObjectSpec) -> Vec<u8> {
    let mut out = Vec::new();
    message(&mut out, 1, &object(spec));
    out
}

/// `CtyType`; primitives carry cty's Go syntax (`GoString()`), not the JSON type names.
fn cty_type(t: &CtyType) -> Vec<u8> {
    let mut out = Vec::new();
    let primitive = |out: &mut Vec<u8>, name: &str| {
        let mut p = Vec::new();
        string(&mut p, 1, name);
        message(out, 1, &p);
    };
    match t {
        CtyType::String => primitive(&mut out, "cty.String"),
        CtyType::Number => primitive(&mut out, "cty.Number"),
        CtyType::Bool => primitive(&mut out, "cty.Bool"),
        CtyType::List(e) | CtyType::Map(e) => {
            let mut inner = Vec::new();
            message(&mut inner, 1, &cty_type(e));
            let field = if matches!(t, CtyType::List(_)) { 2 } else { 3 };
            message(&mut out, field, &inner);
        }
    }
    out
}
