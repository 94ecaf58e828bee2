//! Gob type definitions (`wireType` messages) and the struct-field framing they and every struct
//! value share. Builtin type ids come from `encoding/gob/type.go`.

use super::wire::{put_bytes, put_int, put_uint};

/// Builtin gob type id of `bool`.
pub(crate) const T_BOOL: i64 = 1;
/// Builtin gob type id of `int` (all signed widths).
pub(crate) const T_INT: i64 = 2;
/// Builtin gob type id of `uint` (all unsigned widths).
pub(crate) const T_UINT: i64 = 3;
/// Builtin gob type id of `float64`.
pub(crate) const T_FLOAT: i64 = 4;
/// Builtin gob type id of `[]byte`.
pub(crate) const T_BYTES: i64 = 5;
/// Builtin gob type id of `string`.
pub(crate) const T_STRING: i64 = 6;
/// Builtin gob type id of `complex128`.
pub(crate) const T_COMPLEX: i64 = 7;
/// Builtin gob type id of `interface{}`.
pub(crate) const T_INTERFACE: i64 = 8;
/// The first id a stream may define (`firstUserId` in type.go).
pub(crate) const FIRST_USER_ID: i64 = 64;

/// Writes a gob struct value: each present field as `uint(index delta)` + value, then a zero
/// delta. Fields must be added in increasing index order; zero values are simply not added.
pub(crate) struct StructWriter<'o> {
    out: &'o mut Vec<u8>,
    last: u64,
}

impl<'o> StructWriter<'o> {
    /// Starts a struct value at the end of `out`.
    pub(crate) fn new(out: &'o mut Vec<u8>) -> Self {
        Self { out, last: 0 }
    }

    /// Writes field number `index` (1-based, the delta base is the previous field written) and
    /// lets `value` append its encoding.
    pub(crate) fn field(&mut self, index: u64, value: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        put_uint(self.out, index.saturating_sub(self.last));
        self.last = index;
        value(self.out);
        self
    }

    /// Writes the terminating zero delta.
    pub(crate) fn end(self) {
        self.out.push(0);
    }
}

/// `CommonType{Name, Id}` as a struct value.
fn common_type(out: &mut Vec<u8>, name: &str, id: i64) {
    let mut s = StructWriter::new(out);
    s.field(1, |o| put_bytes(o, name.as_bytes()));
    s.field(2, |o| put_int(o, id));
    s.end();
}

/// The body of a type-definition message: `int(-id)` then `wireType{<variant>: ...}`. Callers
/// frame it with [`put_message`](super::wire::put_message), possibly after other pending bytes
/// (Go's own encoder does that, see `cty`).
fn definition(id: i64, variant: u64, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut msg = Vec::new();
    put_int(&mut msg, id.saturating_neg());
    let mut wire = StructWriter::new(&mut msg);
    wire.field(variant, body);
    wire.end();
    msg
}

/// The definition of struct type `id` named `name` with `(field name, type id)` fields
/// (`wireType.StructT`).
pub(crate) fn struct_def(id: i64, name: &str, fields: &[(&str, i64)]) -> Vec<u8> {
    definition(id, 3, |o| {
        let mut st = StructWriter::new(o);
        st.field(1, |o| common_type(o, name, id));
        st.field(2, |o| {
            put_uint(o, fields.len() as u64);
            for (fname, fid) in fields {
                let mut f = StructWriter::new(o);
                f.field(1, |o| put_bytes(o, fname.as_bytes()));
                f.field(2, |o| put_int(o, *fid));
                f.end();
            }
        });
        st.end();
    })
}

/// The definition of map type `id` (`wireType.MapT`).
pub(crate) fn map_def(id: i64, name: &str, key: i64, elem: i64) -> Vec<u8> {
    definition(id, 4, |o| {
        let mut mt = StructWriter::new(o);
        mt.field(1, |o| common_type(o, name, id));
        mt.field(2, |o| put_int(o, key));
        mt.field(3, |o| put_int(o, elem));
        mt.end();
    })
}

/// The definition of a `GobEncoder` type `id` (`wireType.GobEncoderT`); Go's decoder insists on
/// this variant for fields whose local type implements `GobDecoder`, such as `cty.Type`.
pub(crate) fn gob_encoder_def(id: i64, name: &str) -> Vec<u8> {
    definition(id, 5, |o| {
        let mut gt = StructWriter::new(o);
        gt.field(1, |o| common_type(o, name, id));
        gt.end();
    })
}

/// Appends a non-nil interface value in the canonical layout: registered name, concrete type id,
/// byte count, value.
pub(crate) fn interface_value(out: &mut Vec<u8>, name: &str, id: i64, value: &[u8]) {
    put_bytes(out, name.as_bytes());
    put_int(out, id);
    put_bytes(out, value);
}
