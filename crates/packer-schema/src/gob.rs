//! Gob encodings Packer reads from a plugin: the HCL2 `ObjectSpec` (ConfigSpec without `--protobuf`)
//! and `CommandFinished` (the exit status of every `Communicator.Start`).
//!
//! The spec stream uses a canonical layout that Go's decoder accepts
//! (docs/design/plugin-protocol.md, 'Gob: the canonical layout'): every type definition first, each
//! in its own message, with fixed ids, then one message holding the whole map. Go's own encoder
//! interleaves definitions with the value and numbers types per process, so its bytes are not
//! reproducible; this layout is, which makes it testable. Each `cty.Type` inside is the nested
//! stream Go's `cty.Type.GobEncode` produces, byte for byte (see `cty`).

mod cty;
pub(crate) mod typedef;
pub(crate) mod wire;

use crate::{AttrSpec, BlockListSpec, BlockSpec, CtyType, ObjectSpec, Spec};
use typedef::{
    gob_encoder_def, interface_value, map_def, struct_def, StructWriter, T_BOOL, T_INT,
    T_INTERFACE, T_STRING,
};
use wire::{put_bytes, put_int, put_message, put_uint};

/// Registered gob names (hcl `hcldec/gob.go`, SDK `rpc/common.go`); Go's decoder looks them up
/// byte for byte. Pointer types keep Go's short `rt.String()` form.
pub(crate) mod names {
    /// `hcldec.ObjectSpec`, a named map type, so registered with its full package path.
    pub(crate) const OBJECT_SPEC: &str = "github.com/hashicorp/hcl/v2/hcldec.ObjectSpec";
    /// `*hcldec.AttrSpec`.
    pub(crate) const ATTR_SPEC: &str = "*hcldec.AttrSpec";
    /// `*hcldec.BlockSpec`.
    pub(crate) const BLOCK_SPEC: &str = "*hcldec.BlockSpec";
    /// `*hcldec.BlockListSpec`.
    pub(crate) const BLOCK_LIST_SPEC: &str = "*hcldec.BlockListSpec";
}

const ID_OBJECT_SPEC: i64 = 65;
const ID_ATTR_SPEC: i64 = 66;
const ID_BLOCK_SPEC: i64 = 67;
const ID_BLOCK_LIST_SPEC: i64 = 68;
const ID_CTY_TYPE: i64 = 69;

/// Encodes `spec` as Go's gob decoder expects a `hcldec.ObjectSpec`: the five type definitions
/// (ObjectSpec 65, AttrSpec 66, BlockSpec 67, BlockListSpec 68, the `cty.Type` GobEncoder 69), then
/// one value message with the map in key order. Zero-valued fields are omitted, as Go does.
pub fn encode_object_spec(spec: &ObjectSpec) -> Vec<u8> {
    let mut out = Vec::new();
    for def in [
        map_def(ID_OBJECT_SPEC, "ObjectSpec", T_STRING, T_INTERFACE),
        struct_def(
            ID_ATTR_SPEC,
            "AttrSpec",
            &[
                ("Name", T_STRING),
                ("Type", ID_CTY_TYPE),
                ("Required", T_BOOL),
            ],
        ),
        struct_def(
            ID_BLOCK_SPEC,
            "BlockSpec",
            &[
                ("TypeName", T_STRING),
                ("Nested", T_INTERFACE),
                ("Required", T_BOOL),
            ],
        ),
        struct_def(
            ID_BLOCK_LIST_SPEC,
            "BlockListSpec",
            &[
                ("TypeName", T_STRING),
                ("Nested", T_INTERFACE),
                ("MinItems", T_INT),
                ("MaxItems", T_INT),
            ],
        ),
        gob_encoder_def(ID_CTY_TYPE, "Type"),
    ] {
        put_message(&mut out, &def);
    }
    let mut value = Vec::new();
    put_int(&mut value, ID_OBJECT_SPEC);
    // A top-level non-struct value is sent as a singleton: a zero field delta first.
    value.push(0);
    put_object_map(&mut value, spec);
    put_message(&mut out, &value);
    out
}

/// The map body of an ObjectSpec: entry count, then key and interface value per entry.
fn put_object_map(out: &mut Vec<u8>, spec: &ObjectSpec) {
    put_uint(out, spec.0.len() as u64);
    for (key, entry) in &spec.0 {
        put_bytes(out, key.as_bytes());
        match entry {
            Spec::Attr(a) => interface_value(out, names::ATTR_SPEC, ID_ATTR_SPEC, &attr_value(a)),
            Spec::Block(b) => {
                interface_value(out, names::BLOCK_SPEC, ID_BLOCK_SPEC, &block_value(b))
            }
            Spec::BlockList(l) => interface_value(
                out,
                names::BLOCK_LIST_SPEC,
                ID_BLOCK_LIST_SPEC,
                &block_list_value(l),
            ),
        }
    }
}

/// `AttrSpec{Name, Type, Required}`.
fn attr_value(a: &AttrSpec) -> Vec<u8> {
    let mut v = Vec::new();
    let mut s = StructWriter::new(&mut v);
    if !a.name.is_empty() {
        s.field(1, |o| put_bytes(o, a.name.as_bytes()));
    }
    s.field(2, |o| put_bytes(o, &encode_cty_type(&a.ty)));
    if a.required {
        s.field(3, |o| put_uint(o, 1));
    }
    s.end();
    v
}

/// `Nested` as an interface holding `hcldec.ObjectSpec` (a non-struct, hence the singleton zero).
fn nested_value(out: &mut Vec<u8>, nested: &ObjectSpec) {
    let mut inner = vec![0];
    put_object_map(&mut inner, nested);
    interface_value(out, names::OBJECT_SPEC, ID_OBJECT_SPEC, &inner);
}

/// `BlockSpec{TypeName, Nested, Required}`.
fn block_value(b: &BlockSpec) -> Vec<u8> {
    let mut v = Vec::new();
    let mut s = StructWriter::new(&mut v);
    if !b.type_name.is_empty() {
        s.field(1, |o| put_bytes(o, b.type_name.as_bytes()));
    }
    s.field(2, |o| nested_value(o, &b.nested));
    if b.required {
        s.field(3, |o| put_uint(o, 1));
    }
    s.end();
    v
}

/// `BlockListSpec{TypeName, Nested, MinItems, MaxItems}`.
fn block_list_value(l: &BlockListSpec) -> Vec<u8> {
    let mut v = Vec::new();
    let mut s = StructWriter::new(&mut v);
    if !l.type_name.is_empty() {
        s.field(1, |o| put_bytes(o, l.type_name.as_bytes()));
    }
    s.field(2, |o| nested_value(o, &l.nested));
    if l.min_items != 0 {
        s.field(3, |o| put_int(o, l.min_items));
    }
    if l.max_items != 0 {
        s.field(4, |o| put_int(o, l.max_items));
    }
    s.end();
    v
}

/// `cty.Type.GobEncode()` for `t`: the nested stream carried by `AttrSpec.Type`. Exposed so tests
/// and other crates can compare it with Go's bytes.
pub fn encode_cty_type(t: &CtyType) -> Vec<u8> {
    cty::encode_type(t)
}

/// Type id of `CommandFinished`, the only type in its stream.
const ID_COMMAND_FINISHED: i64 = 65;

/// Encodes the SDK's `CommandFinished{ExitStatus int}`: the struct definition, then the value.
/// Packer reads it from the response stream of `Communicator.Start`; it is byte-identical to Go's
/// fresh-encoder output (docs/design/plugin-protocol.md, 'CommandFinished (gob)').
pub fn encode_command_finished(exit_status: i64) -> Vec<u8> {
    let mut out = Vec::new();
    put_message(
        &mut out,
        &struct_def(
            ID_COMMAND_FINISHED,
            "CommandFinished",
            &[("ExitStatus", T_INT)],
        ),
    );
    let mut value = Vec::new();
    put_int(&mut value, ID_COMMAND_FINISHED);
    let mut s = StructWriter::new(&mut value);
    if exit_status != 0 {
        s.field(1, |o| put_int(o, exit_status));
    }
    s.end();
    put_message(&mut out, &value);
    out
}
