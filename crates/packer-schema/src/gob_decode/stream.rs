//! Go's `gob.Decoder` algorithm over a byte slice, producing a generic value tree.
//!
//! The subtle part is buffering. Go keeps one buffer holding the current message and refills it
//! only while reading a *type sequence* (before a top-level value, and inside an interface after
//! the concrete type's name). Whatever value was being decoded then continues in the new message.
//! Go's encoder relies on this: it flushes half-written values together with the type definitions
//! an interface needs. Structs end at a zero delta or when the buffer runs out.

use std::collections::HashMap;

use super::GobError;
use crate::gob::typedef::{
    FIRST_USER_ID, T_BOOL, T_BYTES, T_COMPLEX, T_FLOAT, T_INT, T_INTERFACE, T_STRING, T_UINT,
};
use crate::gob::wire::Reader;

/// How deep values may nest (structs, maps, slices, interfaces) before decoding stops.
const MAX_DEPTH: usize = 128;
/// Go rejects longer interface type names.
const MAX_NAME: u64 = 1024;

/// One decoded gob value. Borrowed strings and byte strings point into the input.
#[derive(Debug, Clone, PartialEq)]
pub enum GobValue<'a> {
    /// `bool`.
    Bool(bool),
    /// Any signed integer.
    Int(i64),
    /// Any unsigned integer.
    Uint(u64),
    /// `float32`/`float64`.
    Float(f64),
    /// `complex64`/`complex128` as (real, imaginary).
    Complex(f64, f64),
    /// `[]byte`.
    Bytes(&'a [u8]),
    /// `string`.
    String(&'a str),
    /// A struct: the fields present in the data, by their wire names (absent ones are zero).
    Struct(Vec<(&'a str, GobValue<'a>)>),
    /// A map, entries in wire order.
    Map(Vec<(GobValue<'a>, GobValue<'a>)>),
    /// A slice or an array.
    Slice(Vec<GobValue<'a>>),
    /// An interface: `None` for nil, else the registered concrete type name and the value.
    Interface(Option<Box<(&'a str, GobValue<'a>)>>),
    /// The bytes a `GobEncoder` produced (decoded by its own `GobDecode`).
    GobEncoded(&'a [u8]),
    /// The bytes a `BinaryMarshaler` or `TextMarshaler` produced.
    Marshaled(&'a [u8]),
}

impl GobValue<'_> {
    /// A short name of the variant, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Bool(_) => "bool",
            Self::Int(_) => "int",
            Self::Uint(_) => "uint",
            Self::Float(_) => "float",
            Self::Complex(..) => "complex",
            Self::Bytes(_) => "bytes",
            Self::String(_) => "string",
            Self::Struct(_) => "struct",
            Self::Map(_) => "map",
            Self::Slice(_) => "slice",
            Self::Interface(None) => "nil interface",
            Self::Interface(Some(_)) => "interface",
            Self::GobEncoded(_) => "GobEncoder bytes",
            Self::Marshaled(_) => "marshaled bytes",
        }
    }
}

/// A type as its definition message described it.
#[derive(Debug)]
enum WireType<'a> {
    Struct {
        name: &'a str,
        fields: Vec<(&'a str, i64)>,
    },
    Map {
        key: i64,
        elem: i64,
    },
    Slice {
        elem: i64,
    },
    Array {
        elem: i64,
        len: u64,
    },
    GobEncoder,
    Marshaler,
}

/// Decodes the single value `bytes` hold (type definitions first or interleaved, as Go allows)
/// and rejects anything after it.
pub fn decode_value(bytes: &[u8]) -> Result<GobValue<'_>, GobError> {
    let mut d = Decoder {
        input: Reader::new(bytes),
        buf: Reader::new(&[]),
        types: HashMap::new(),
        depth: 0,
    };
    let id = d.type_sequence(false)?;
    let value = d.top_value(id)?;
    let left = d.buf.remaining().saturating_add(d.input.remaining());
    if left > 0 {
        return Err(GobError::TrailingData(left));
    }
    Ok(value)
}

struct Decoder<'a> {
    /// The stream after the current message.
    input: Reader<'a>,
    /// What is left of the current message; every value read comes from here.
    buf: Reader<'a>,
    types: HashMap<i64, WireType<'a>>,
    depth: usize,
}

impl<'a> Decoder<'a> {
    /// Loads the next message into the (empty) buffer; `false` at the end of the input.
    fn recv_message(&mut self) -> Result<bool, GobError> {
        if self.input.is_empty() {
            return Ok(false);
        }
        let n = self.input.uint("message length")?;
        self.buf = Reader::new(self.input.take(n, "message")?);
        Ok(true)
    }

    /// Reads type definitions until a value's type id appears (Go's `decodeTypeSequence`).
    fn type_sequence(&mut self, in_interface: bool) -> Result<i64, GobError> {
        let mut first = true;
        loop {
            // Zero-length messages are skipped, each costing at least one input byte.
            while self.buf.is_empty() {
                if !self.recv_message()? {
                    return Err(if first && !in_interface {
                        GobError::Empty
                    } else {
                        GobError::UnexpectedEnd {
                            what: "type sequence",
                        }
                    });
                }
            }
            let id = self.buf.int("type id")?;
            if id >= 0 {
                return Ok(id);
            }
            let def = id.checked_neg().ok_or(GobError::BadTypeId(id))?;
            self.recv_type(def)?;
            if !self.buf.is_empty() {
                if !in_interface {
                    return Err(GobError::ExtraData);
                }
                // Go's encoder leaves the count of the next delimited part here; skip it.
                self.buf.uint("delimited value count")?;
            }
            first = false;
        }
    }

    fn recv_type(&mut self, id: i64) -> Result<(), GobError> {
        if id < FIRST_USER_ID || self.types.contains_key(&id) {
            return Err(GobError::BadTypeId(id));
        }
        let wire = self.wire_type(id)?;
        self.types.insert(id, wire);
        Ok(())
    }

    /// Runs `each` for every field present in a struct at the buffer, with its 1-based number,
    /// checking it against `count` fields. Structs end at a zero delta or at the buffer's end.
    fn fields(
        &mut self,
        count: u64,
        mut each: impl FnMut(&mut Self, u64) -> Result<(), GobError>,
        type_name: &str,
    ) -> Result<(), GobError> {
        let mut last = 0u64;
        while !self.buf.is_empty() {
            let delta = self.buf.uint("struct field delta")?;
            if delta == 0 {
                break;
            }
            let index = last
                .checked_add(delta)
                .filter(|i| *i <= count)
                .ok_or_else(|| GobError::FieldOutOfRange {
                    type_name: type_name.to_string(),
                    index: last.saturating_add(delta),
                })?;
            each(self, index)?;
            last = index;
        }
        Ok(())
    }

    fn string(&mut self, what: &'static str) -> Result<&'a str, GobError> {
        let b = self.buf.bytes(what)?;
        std::str::from_utf8(b).map_err(|_| GobError::InvalidUtf8 { what })
    }

    /// `CommonType{Name string; Id typeId}`; returns the name.
    fn common_type(&mut self) -> Result<&'a str, GobError> {
        let mut name = "";
        self.fields(
            2,
            |d, i| {
                match i {
                    1 => name = d.string("type name")?,
                    _ => {
                        d.buf.int("type id")?;
                    }
                }
                Ok(())
            },
            "CommonType",
        )?;
        Ok(name)
    }

    /// `wireType{ArrayT, SliceT, StructT, MapT, GobEncoderT, BinaryMarshalerT, TextMarshalerT}`.
    fn wire_type(&mut self, id: i64) -> Result<WireType<'a>, GobError> {
        let mut found: Option<WireType<'a>> = None;
        self.nest(|d| {
            d.fields(
                7,
                |d, variant| {
                    if found.is_some() {
                        return Err(GobError::BadTypeDefinition {
                            id,
                            reason: "more than one kind",
                        });
                    }
                    found = Some(d.nest(|d| d.wire_variant(variant))?);
                    Ok(())
                },
                "wireType",
            )
        })?;
        found.ok_or(GobError::BadTypeDefinition {
            id,
            reason: "no kind",
        })
    }

    fn wire_variant(&mut self, variant: u64) -> Result<WireType<'a>, GobError> {
        let (mut name, mut a, mut b, mut len) = ("", 0i64, 0i64, 0i64);
        let mut fields: Vec<(&'a str, i64)> = Vec::new();
        let count = match variant {
            1 => 3,
            2 => 2,
            3 => 2,
            4 => 3,
            _ => 1,
        };
        self.fields(
            count,
            |d, i| {
                match (variant, i) {
                    (_, 1) => name = d.nest(|d| d.common_type())?,
                    (3, 2) => fields = d.field_list()?,
                    (_, 2) => a = d.buf.int("element type id")?,
                    (1, 3) => len = d.buf.int("array length")?,
                    (_, _) => b = d.buf.int("map element type id")?,
                }
                Ok(())
            },
            "wire type",
        )?;
        Ok(match variant {
            1 => WireType::Array {
                elem: a,
                len: u64::try_from(len).unwrap_or(u64::MAX),
            },
            2 => WireType::Slice { elem: a },
            3 => WireType::Struct { name, fields },
            4 => WireType::Map { key: a, elem: b },
            5 => WireType::GobEncoder,
            _ => WireType::Marshaler,
        })
    }

    /// `[]*fieldType{Name string; Id typeId}`.
    fn field_list(&mut self) -> Result<Vec<(&'a str, i64)>, GobError> {
        let n = self.buf.uint("field count")?;
        let mut out = Vec::with_capacity(self.capacity(n));
        for _ in 0..n {
            self.element_start("struct field definition")?;
            let (mut name, mut id) = ("", 0i64);
            self.nest(|d| {
                d.fields(
                    2,
                    |d, i| {
                        if i == 1 {
                            name = d.string("field name")?;
                        } else {
                            id = d.buf.int("field type id")?;
                        }
                        Ok(())
                    },
                    "fieldType",
                )
            })?;
            out.push((name, id));
        }
        Ok(out)
    }

    /// Preallocation never exceeds what the remaining message could hold.
    fn capacity(&self, n: u64) -> usize {
        usize::try_from(n)
            .unwrap_or(usize::MAX)
            .min(self.buf.remaining())
    }

    /// Each element of a slice, array or map must start inside the buffer (so every element
    /// consumes input and a huge count cannot spin).
    fn element_start(&self, what: &'static str) -> Result<(), GobError> {
        if self.buf.is_empty() {
            return Err(GobError::UnexpectedEnd { what });
        }
        Ok(())
    }

    fn nest<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, GobError>) -> Result<T, GobError> {
        if self.depth >= MAX_DEPTH {
            return Err(GobError::TooDeep(MAX_DEPTH));
        }
        self.depth = self.depth.saturating_add(1);
        let r = f(self);
        self.depth = self.depth.saturating_sub(1);
        r
    }

    /// A value sent on its own (top level, or inside an interface): structs as they are, anything
    /// else after a zero "singleton" delta (Go's `decodeValue`/`decodeSingle`).
    fn top_value(&mut self, id: i64) -> Result<GobValue<'a>, GobError> {
        if !matches!(self.types.get(&id), Some(WireType::Struct { .. }))
            && self.buf.uint("singleton delta")? != 0
        {
            return Err(GobError::NonZeroSingleton);
        }
        self.value(id)
    }

    fn value(&mut self, id: i64) -> Result<GobValue<'a>, GobError> {
        self.nest(|d| d.value_inner(id))
    }

    fn value_inner(&mut self, id: i64) -> Result<GobValue<'a>, GobError> {
        match id {
            T_BOOL => return Ok(GobValue::Bool(self.buf.uint("bool")? != 0)),
            T_INT => return Ok(GobValue::Int(self.buf.int("int")?)),
            T_UINT => return Ok(GobValue::Uint(self.buf.uint("uint")?)),
            T_FLOAT => return Ok(GobValue::Float(self.float()?)),
            T_COMPLEX => return Ok(GobValue::Complex(self.float()?, self.float()?)),
            T_BYTES => return Ok(GobValue::Bytes(self.buf.bytes("byte slice")?)),
            T_STRING => return Ok(GobValue::String(self.string("string")?)),
            T_INTERFACE => return self.interface(),
            _ => {}
        }
        let wire = self.types.get(&id).ok_or(if id < FIRST_USER_ID {
            GobError::UnsupportedType(id)
        } else {
            GobError::UnknownType(id)
        })?;
        match *wire {
            WireType::Struct { name, ref fields } => {
                // The table is not borrowed across the recursion: field ids are looked up again.
                let fields = fields.clone();
                let mut out = Vec::new();
                self.fields(
                    fields.len() as u64,
                    |d, i| {
                        let slot = usize::try_from(i).ok().and_then(|i| i.checked_sub(1));
                        let (fname, fid) = slot.and_then(|s| fields.get(s)).copied().ok_or(
                            GobError::FieldOutOfRange {
                                type_name: name.to_string(),
                                index: i,
                            },
                        )?;
                        out.push((fname, d.value(fid)?));
                        Ok(())
                    },
                    name,
                )?;
                Ok(GobValue::Struct(out))
            }
            WireType::Map { key, elem } => {
                let n = self.buf.uint("map length")?;
                let mut out = Vec::with_capacity(self.capacity(n));
                for _ in 0..n {
                    self.element_start("map entry")?;
                    let k = self.value(key)?;
                    let v = self.value(elem)?;
                    out.push((k, v));
                }
                Ok(GobValue::Map(out))
            }
            WireType::Slice { elem } => self.elements(elem, None),
            WireType::Array { elem, len } => self.elements(elem, Some(len)),
            WireType::GobEncoder => Ok(GobValue::GobEncoded(self.buf.bytes("GobEncoder bytes")?)),
            WireType::Marshaler => Ok(GobValue::Marshaled(self.buf.bytes("marshaled bytes")?)),
        }
    }

    fn elements(&mut self, elem: i64, len: Option<u64>) -> Result<GobValue<'a>, GobError> {
        let n = self.buf.uint("slice length")?;
        if let Some(expected) = len.filter(|l| *l != n) {
            return Err(GobError::ArrayLength { expected, found: n });
        }
        let mut out = Vec::with_capacity(self.capacity(n));
        for _ in 0..n {
            self.element_start("slice element")?;
            out.push(self.value(elem)?);
        }
        Ok(GobValue::Slice(out))
    }

    /// Floats travel as the byte-reversed IEEE bits in an unsigned integer.
    fn float(&mut self) -> Result<f64, GobError> {
        Ok(f64::from_bits(self.buf.uint("float")?.swap_bytes()))
    }

    /// Go's `decodeInterface`: name, type sequence (which may pull in new messages), a byte count
    /// Go ignores, then the value as if sent on its own.
    fn interface(&mut self) -> Result<GobValue<'a>, GobError> {
        let n = self.buf.uint("interface type name")?;
        if n > MAX_NAME {
            return Err(GobError::NameTooLong(n));
        }
        let name = std::str::from_utf8(self.buf.take(n, "interface type name")?).map_err(|_| {
            GobError::InvalidUtf8 {
                what: "interface type name",
            }
        })?;
        if name.is_empty() {
            return Ok(GobValue::Interface(None));
        }
        let id = self.type_sequence(true)?;
        self.buf.uint("interface value count")?;
        let value = self.top_value(id)?;
        Ok(GobValue::Interface(Some(Box::new((name, value)))))
    }
}
