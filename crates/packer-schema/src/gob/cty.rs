//! `cty.Type`'s `GobEncode` output: a complete, independent gob stream of go-cty's
//! `gobType{Version int; Impl typeImpl}` (nywilken/go-cty v1.13.3 `cty/gob.go`).
//!
//! Unlike the spec stream around it, this one reproduces Go's own encoder byte for byte: the same
//! message split (Go flushes the pending value bytes together with an interface's type definition)
//! and the type ids a Go process hands out when it encodes `String`, then `List`, then `Map`. The
//! golden vectors in `testdata/shared/go-cty-types.txt` are therefore comparable byte for byte
//! (docs/design/plugin-protocol.md, 'cty.Type inside gob').

use super::typedef::{gob_encoder_def, struct_def, StructWriter, T_INT, T_INTERFACE, T_UINT};
use super::wire::{put_bytes, put_int, put_message, put_uint};
use crate::CtyType;

/// Registered gob names are this prefix plus the Go type name (`cty/types_to_register.go`).
const CTY_PREFIX: &str = "github.com/zclconf/go-cty/cty.";

const ID_GOB_TYPE: i64 = 65;
const ID_PRIMITIVE: i64 = 66;
const ID_LIST: i64 = 67;
const ID_TYPE: i64 = 68;
const ID_MAP: i64 = 69;

/// Encodes `t` exactly as `cty.Type.GobEncode` does in a Go process that assigned the ids above.
pub(crate) fn encode_type(t: &CtyType) -> Vec<u8> {
    let mut out = Vec::new();
    put_message(
        &mut out,
        &struct_def(
            ID_GOB_TYPE,
            "gobType",
            &[("Version", T_INT), ("Impl", T_INTERFACE)],
        ),
    );

    // The value message starts with the gobType id and the delta to field Impl (Version is 0 and
    // omitted); Go sends these bytes as the head of the message that defines Impl's type.
    let mut head = Vec::new();
    put_int(&mut head, ID_GOB_TYPE);
    put_uint(&mut head, 2);

    let (impl_id, impl_value) = match t {
        CtyType::String => primitive(&mut out, head, b'S'),
        CtyType::Number => primitive(&mut out, head, b'N'),
        CtyType::Bool => primitive(&mut out, head, b'B'),
        CtyType::List(elem) => collection(&mut out, head, ID_LIST, "typeList", elem),
        CtyType::Map(elem) => collection(&mut out, head, ID_MAP, "typeMap", elem),
    };

    // Last message: the concrete type id, the interface value's byte count and bytes, then the
    // terminator of the enclosing gobType struct.
    let mut tail = Vec::new();
    put_int(&mut tail, impl_id);
    put_bytes(&mut tail, &impl_value);
    tail.push(0);
    put_message(&mut out, &tail);
    out
}

/// Sends the `primitiveType` definition with `head`; returns its id and `primitiveType{Kind}`.
fn primitive(out: &mut Vec<u8>, mut head: Vec<u8>, kind: u8) -> (i64, Vec<u8>) {
    put_bytes(&mut head, format!("{CTY_PREFIX}primitiveType").as_bytes());
    head.extend(struct_def(
        ID_PRIMITIVE,
        "primitiveType",
        &[("Kind", T_UINT)],
    ));
    put_message(out, &head);
    let mut v = Vec::new();
    let mut s = StructWriter::new(&mut v);
    s.field(1, |o| put_uint(o, u64::from(kind)));
    s.end();
    (ID_PRIMITIVE, v)
}

/// Sends the `typeList`/`typeMap` definition with `head`, then the `Type` GobEncoder definition;
/// returns the collection's id and `{ElementTypeT}` holding the element's own nested stream.
fn collection(
    out: &mut Vec<u8>,
    mut head: Vec<u8>,
    id: i64,
    go_name: &str,
    elem: &CtyType,
) -> (i64, Vec<u8>) {
    put_bytes(&mut head, format!("{CTY_PREFIX}{go_name}").as_bytes());
    head.extend(struct_def(id, go_name, &[("ElementTypeT", ID_TYPE)]));
    put_message(out, &head);
    put_message(out, &gob_encoder_def(ID_TYPE, "Type"));
    let inner = encode_type(elem);
    let mut v = Vec::new();
    let mut s = StructWriter::new(&mut v);
    s.field(1, |o| put_bytes(o, &inner));
    s.end();
    (id, v)
}
