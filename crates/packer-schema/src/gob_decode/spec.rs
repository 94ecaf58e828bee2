//! Maps decoded gob values onto our spec model, matching struct fields by name as Go does (absent
//! fields are zero values, unknown ones are ignored) and checking every kind on the way.

use std::collections::BTreeMap;

use super::stream::{decode_value, GobValue};
use super::GobError;
use crate::gob::names;
use crate::path::Path;
use crate::{AttrSpec, BlockListSpec, BlockSpec, CtyType, ObjectSpec, Spec};

/// Registered names of go-cty's type implementations start with this.
const CTY_PREFIX: &str = "github.com/zclconf/go-cty/cty.";
/// `List(List(...))` deeper than this is refused (each level is a whole nested stream).
const MAX_CTY_DEPTH: usize = 32;

type Fields<'v, 'a> = &'v [(&'a str, GobValue<'a>)];

/// Decodes a gob stream of `hcldec.ObjectSpec` (Go's interleaved layout or our canonical one)
/// into our model. Fails on spec kinds or cty types the model cannot hold.
pub fn decode_object_spec(bytes: &[u8]) -> Result<ObjectSpec, GobError> {
    let value = decode_value(bytes)?;
    object_spec(&value, &Path::ROOT)
}

/// Decodes `CommandFinished{ExitStatus int}` from a gob stream, for tests of the communicator
/// response stream.
pub fn decode_command_finished(bytes: &[u8]) -> Result<i64, GobError> {
    let value = decode_value(bytes)?;
    let root = Path::ROOT;
    let here = root.attr("CommandFinished");
    int_field(as_struct(&value, &here)?, "ExitStatus", &here)
}

fn shape(path: &Path<'_>, expected: &'static str, found: &str) -> GobError {
    GobError::Shape {
        path: path.to_string(),
        expected,
        found: found.to_string(),
    }
}

fn as_struct<'v, 'a>(v: &'v GobValue<'a>, path: &Path<'_>) -> Result<Fields<'v, 'a>, GobError> {
    match v {
        GobValue::Struct(fields) => Ok(fields),
        other => Err(shape(path, "struct", other.kind())),
    }
}

/// The first field called `name`, as Go's by-name matching would pick it.
fn field<'v, 'a>(fields: Fields<'v, 'a>, name: &str) -> Option<&'v GobValue<'a>> {
    fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
}

fn string_field(fields: Fields<'_, '_>, name: &str, path: &Path<'_>) -> Result<String, GobError> {
    match field(fields, name) {
        None => Ok(String::new()),
        Some(GobValue::String(s)) => Ok((*s).to_string()),
        Some(other) => Err(shape(&path.attr(name), "string", other.kind())),
    }
}

fn bool_field(fields: Fields<'_, '_>, name: &str, path: &Path<'_>) -> Result<bool, GobError> {
    match field(fields, name) {
        None => Ok(false),
        Some(GobValue::Bool(b)) => Ok(*b),
        Some(other) => Err(shape(&path.attr(name), "bool", other.kind())),
    }
}

fn int_field(fields: Fields<'_, '_>, name: &str, path: &Path<'_>) -> Result<i64, GobError> {
    match field(fields, name) {
        None => Ok(0),
        Some(GobValue::Int(i)) => Ok(*i),
        Some(other) => Err(shape(&path.attr(name), "int", other.kind())),
    }
}

/// A field holding `GobEncoder` bytes (how `cty.Type` travels); absence is an error because our
/// model has no `cty.NilType`.
fn encoded_field<'v>(
    fields: Fields<'v, '_>,
    name: &str,
    path: &Path<'_>,
) -> Result<&'v [u8], GobError> {
    match field(fields, name) {
        Some(GobValue::GobEncoded(bytes)) => Ok(bytes),
        Some(other) => Err(shape(
            &path.attr(name),
            "cty.Type GobEncoder bytes",
            other.kind(),
        )),
        None => Err(shape(
            &path.attr(name),
            "cty.Type GobEncoder bytes",
            "nothing (cty.NilType)",
        )),
    }
}

/// An `hcldec.ObjectSpec` map: string keys, interface values holding spec pointers.
fn object_spec(v: &GobValue<'_>, path: &Path<'_>) -> Result<ObjectSpec, GobError> {
    let GobValue::Map(entries) = v else {
        return Err(shape(path, "ObjectSpec map", v.kind()));
    };
    let mut out = BTreeMap::new();
    for (k, v) in entries {
        let GobValue::String(key) = k else {
            return Err(shape(path, "string map key", k.kind()));
        };
        out.insert((*key).to_string(), spec(v, &path.key(key))?);
    }
    Ok(ObjectSpec(out))
}

fn spec(v: &GobValue<'_>, path: &Path<'_>) -> Result<Spec, GobError> {
    let GobValue::Interface(Some(held)) = v else {
        return Err(shape(path, "non-nil hcldec.Spec interface", v.kind()));
    };
    let (name, inner) = (held.0, &held.1);
    match name {
        names::ATTR_SPEC => {
            let f = as_struct(inner, path)?;
            let name = string_field(f, "Name", path)?;
            let ty = cty_type(encoded_field(f, "Type", path)?, &path.attr("Type"), 0)?;
            let required = bool_field(f, "Required", path)?;
            Ok(Spec::Attr(AttrSpec { name, ty, required }))
        }
        names::BLOCK_SPEC => {
            let f = as_struct(inner, path)?;
            Ok(Spec::Block(BlockSpec {
                type_name: string_field(f, "TypeName", path)?,
                nested: nested(f, path)?,
                required: bool_field(f, "Required", path)?,
            }))
        }
        names::BLOCK_LIST_SPEC => {
            let f = as_struct(inner, path)?;
            Ok(Spec::BlockList(BlockListSpec {
                type_name: string_field(f, "TypeName", path)?,
                nested: nested(f, path)?,
                min_items: int_field(f, "MinItems", path)?,
                max_items: int_field(f, "MaxItems", path)?,
            }))
        }
        other => Err(GobError::UnsupportedSpec {
            path: path.to_string(),
            name: other.to_string(),
        }),
    }
}

/// `Nested Spec`, which our model requires to be an `hcldec.ObjectSpec`.
fn nested(fields: Fields<'_, '_>, path: &Path<'_>) -> Result<ObjectSpec, GobError> {
    let here = path.attr("Nested");
    match field(fields, "Nested") {
        Some(GobValue::Interface(Some(held))) if held.0 == names::OBJECT_SPEC => {
            object_spec(&held.1, &here)
        }
        Some(GobValue::Interface(Some(held))) => Err(GobError::UnsupportedSpec {
            path: here.to_string(),
            name: held.0.to_string(),
        }),
        Some(other) => Err(shape(&here, "hcldec.ObjectSpec interface", other.kind())),
        None => Err(shape(&here, "hcldec.ObjectSpec interface", "nothing")),
    }
}

/// Decodes one nested `cty.Type` stream: `gobType{Version int; Impl typeImpl}`.
fn cty_type(bytes: &[u8], path: &Path<'_>, depth: usize) -> Result<CtyType, GobError> {
    if depth >= MAX_CTY_DEPTH {
        return Err(GobError::TooDeep(MAX_CTY_DEPTH));
    }
    let value = decode_value(bytes).map_err(|e| GobError::InCtyType {
        path: path.to_string(),
        source: Box::new(e),
    })?;
    let f = as_struct(&value, path)?;
    if int_field(f, "Version", path)? != 0 {
        return Err(shape(&path.attr("Version"), "version 0", "another version"));
    }
    let impl_path = path.attr("Impl");
    let Some(GobValue::Interface(Some(held))) = field(f, "Impl") else {
        let found = field(f, "Impl").map_or("nothing", GobValue::kind);
        return Err(shape(&impl_path, "non-nil typeImpl interface", found));
    };
    let (name, inner) = (held.0, &held.1);
    let unsupported = |what: String| GobError::UnsupportedCtyType {
        path: impl_path.to_string(),
        name: what,
    };
    let short = name
        .strip_prefix(CTY_PREFIX)
        .ok_or_else(|| unsupported(name.to_string()))?;
    let inner_fields = as_struct(inner, &impl_path)?;
    match short {
        "primitiveType" => match field(inner_fields, "Kind") {
            Some(GobValue::Uint(k)) if *k == u64::from(b'S') => Ok(CtyType::String),
            Some(GobValue::Uint(k)) if *k == u64::from(b'N') => Ok(CtyType::Number),
            Some(GobValue::Uint(k)) if *k == u64::from(b'B') => Ok(CtyType::Bool),
            Some(GobValue::Uint(k)) => Err(unsupported(format!("primitive kind {k}"))),
            Some(other) => Err(shape(&impl_path.attr("Kind"), "uint", other.kind())),
            None => Err(unsupported("primitive kind 0".to_string())),
        },
        "typeList" | "typeMap" => {
            let elem_path = impl_path.attr("ElementTypeT");
            let bytes = encoded_field(inner_fields, "ElementTypeT", &impl_path)?;
            let elem = Box::new(cty_type(bytes, &elem_path, depth.saturating_add(1))?);
            Ok(if short == "typeList" {
                CtyType::List(elem)
            } else {
                CtyType::Map(elem)
            })
        }
        _ => Err(unsupported(name.to_string())),
    }
}
