//! Reading decoded msgpack values into Rust values with ugorji's leniency.
//!
//! When Go decodes into a typed field it accepts any int marker for any int type (with overflow
//! checks), str or bin for both `string` and `[]byte`, nil as the zero value, a struct as a map
//! matched by exact field name (unknown keys ignored, missing keys zero) or as an array matched by
//! position. Packer only ever sends the map form, but the same leniency costs nothing here.

use chrono::{DateTime, Utc};
use rmpv::Value;

/// A value of the wrong shape for the Go type we read it as. Names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: expected {expected}, found {found}")]
pub struct ViewError {
    /// The Go field (or argument) being read.
    pub field: String,
    /// The Go type we wanted.
    pub expected: &'static str,
    /// A short description of what arrived.
    pub found: String,
}

impl ViewError {
    fn new(field: &str, expected: &'static str, found: &Value) -> Self {
        Self {
            field: field.to_string(),
            expected,
            found: describe(found),
        }
    }
}

/// A short, secret-free description of a value's kind for error messages.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Boolean(_) => "bool".into(),
        Value::Integer(_) => "integer".into(),
        Value::F32(_) | Value::F64(_) => "float".into(),
        Value::String(_) => "string".into(),
        Value::Binary(b) => format!("{} bytes of bin", b.len()),
        Value::Array(a) => format!("array of {}", a.len()),
        Value::Map(m) => format!("map of {}", m.len()),
        Value::Ext(t, _) => format!("ext type {t}"),
    }
}

/// The fields of a Go struct as it arrived (map by name, or array by declaration position).
pub struct Fields<'a> {
    what: &'a str,
    map: Option<&'a [(Value, Value)]>,
    array: Option<&'a [Value]>,
    decl: &'a [&'a str],
}

impl<'a> Fields<'a> {
    /// Views `v` as the struct `what` whose exported fields are `decl`, in declaration order.
    /// Nil is a struct with every field at its zero value.
    pub fn new(what: &'a str, v: &'a Value, decl: &'a [&'a str]) -> Result<Self, ViewError> {
        match v {
            Value::Map(m) => Ok(Self {
                what,
                map: Some(m),
                array: None,
                decl,
            }),
            Value::Array(a) => Ok(Self {
                what,
                map: None,
                array: Some(a),
                decl,
            }),
            Value::Nil => Ok(Self {
                what,
                map: None,
                array: None,
                decl,
            }),
            other => Err(ViewError::new(what, "a struct (map)", other)),
        }
    }

    /// The raw value of field `name` (case-sensitive), or nil when absent.
    pub fn get(&self, name: &str) -> &'a Value {
        static NIL: Value = Value::Nil;
        if let Some(m) = self.map {
            return m
                .iter()
                .find(|(k, _)| key_is(k, name))
                .map(|(_, v)| v)
                .unwrap_or(&NIL);
        }
        if let Some(a) = self.array {
            if let Some(i) = self.decl.iter().position(|d| *d == name) {
                return a.get(i).unwrap_or(&NIL);
            }
        }
        &NIL
    }

    fn path(&self, name: &str) -> String {
        format!("{}.{}", self.what, name)
    }

    /// Field `name` as a Go `string`.
    pub fn string(&self, name: &str) -> Result<String, ViewError> {
        string(&self.path(name), self.get(name))
    }

    /// Field `name` as a Go `uint32`.
    pub fn u32(&self, name: &str) -> Result<u32, ViewError> {
        u32(&self.path(name), self.get(name))
    }

    /// Field `name` as a Go `int64`.
    pub fn i64(&self, name: &str) -> Result<i64, ViewError> {
        i64(&self.path(name), self.get(name))
    }

    /// Field `name` as a Go `[]string` (nil is empty).
    pub fn strings(&self, name: &str) -> Result<Vec<String>, ViewError> {
        strings(&self.path(name), self.get(name))
    }
}

/// Whether a map key is the string `name` (str or bin, as ugorji matches either).
pub fn key_is(k: &Value, name: &str) -> bool {
    match k {
        Value::String(s) => s.as_bytes() == name.as_bytes(),
        Value::Binary(b) => b.as_slice() == name.as_bytes(),
        _ => false,
    }
}

/// A Go `string` (str or bin; nil is ""). Invalid UTF-8 is replaced, as Go strings may hold any bytes.
pub fn string(field: &str, v: &Value) -> Result<String, ViewError> {
    match v {
        Value::Nil => Ok(String::new()),
        Value::String(s) => Ok(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        Value::Binary(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        other => Err(ViewError::new(field, "string", other)),
    }
}

/// A Go `uint32` (any int marker in range; nil is 0).
pub fn u32(field: &str, v: &Value) -> Result<u32, ViewError> {
    match v {
        Value::Nil => Ok(0),
        Value::Integer(i) => i
            .as_u64()
            .and_then(|u| u32::try_from(u).ok())
            .ok_or_else(|| ViewError::new(field, "uint32", v)),
        other => Err(ViewError::new(field, "uint32", other)),
    }
}

/// A Go `int64` (any int marker in range; nil is 0).
pub fn i64(field: &str, v: &Value) -> Result<i64, ViewError> {
    match v {
        Value::Nil => Ok(0),
        Value::Integer(i) => i.as_i64().ok_or_else(|| ViewError::new(field, "int64", v)),
        other => Err(ViewError::new(field, "int64", other)),
    }
}

/// A Go `bool` (nil is false).
pub fn bool(field: &str, v: &Value) -> Result<bool, ViewError> {
    match v {
        Value::Nil => Ok(false),
        Value::Boolean(b) => Ok(*b),
        other => Err(ViewError::new(field, "bool", other)),
    }
}

/// A Go `[]string` (nil is empty).
pub fn strings(field: &str, v: &Value) -> Result<Vec<String>, ViewError> {
    match v {
        Value::Nil => Ok(Vec::new()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| string(&format!("{field}[{i}]"), item))
            .collect(),
        other => Err(ViewError::new(field, "[]string", other)),
    }
}

/// A Go `time.Time` from the msgpack timestamp ext (-1); nil is Go's zero time (`None`).
pub fn time(field: &str, v: &Value) -> Result<Option<DateTime<Utc>>, ViewError> {
    let bad = || ViewError::new(field, "time.Time (timestamp ext -1)", v);
    match v {
        Value::Nil => Ok(None),
        Value::Ext(-1, data) => {
            let (sec, nsec) = match data.len() {
                4 => {
                    let b: [u8; 4] = data.as_slice().try_into().map_err(|_| bad())?;
                    (i64::from(u32::from_be_bytes(b)), 0u32)
                }
                8 => {
                    let b: [u8; 8] = data.as_slice().try_into().map_err(|_| bad())?;
                    let d = u64::from_be_bytes(b);
                    ((d & 0x3_ffff_ffff) as i64, (d >> 34) as u32)
                }
                12 => {
                    let n: [u8; 4] = data
                        .get(..4)
                        .and_then(|s| s.try_into().ok())
                        .ok_or_else(bad)?;
                    let s: [u8; 8] = data
                        .get(4..)
                        .and_then(|s| s.try_into().ok())
                        .ok_or_else(bad)?;
                    (i64::from_be_bytes(s), u32::from_be_bytes(n))
                }
                _ => return Err(bad()),
            };
            if nsec >= 1_000_000_000 {
                return Err(bad());
            }
            DateTime::from_timestamp(sec, nsec)
                .map(Some)
                .ok_or_else(bad)
        }
        other => Err(ViewError::new(field, "time.Time (timestamp ext -1)", other)),
    }
}
