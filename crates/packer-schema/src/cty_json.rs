//! Decoding of the cty JSON (`{"value": ..., "type": ...}`) Packer sends as the HCL2 body in Prepare.
//!
//! Packer marshals the decoded body with `ctyjson.Marshal(v, cty.DynamicPseudoType)`
//! (docs/design/plugin-protocol.md, 'HCL2 templates' and 'cty JSON'). We turn it into plain JSON
//! and check each value against its type the way go-cty's unmarshaler does
//! (`cty/json/unmarshal.go`): nulls fit any type; numbers may also arrive as numeric strings and
//! strings as numbers or bools; objects reject unknown attributes and get `null` for missing ones;
//! nested `"dynamic"` values are themselves `{"value","type"}` wrappers. Unknown values never
//! appear: Packer replaced them with placeholders before sending.

use serde_json::{Map, Number, Value};

use crate::model_json::cty_type_to_json;
use crate::path::Path;
use crate::{ObjectSpec, Spec};

/// Deeper nesting than this is refused (serde_json already stops at 128 levels while parsing).
const MAX_DEPTH: usize = 128;

/// Why a cty JSON document could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CtyJsonError {
    /// The bytes are not JSON, or not the `{"value","type"}` wrapper.
    #[error("invalid cty JSON: {0}")]
    Invalid(String),
    /// A type is not in go-cty's JSON type syntax.
    #[error("cty JSON type at {path}: {reason}")]
    BadType {
        /// Where in the type, e.g. `.type[1].vm_disks`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A value does not match its type.
    #[error("cty JSON value at {path}: {reason}")]
    Mismatch {
        /// Where in the value, e.g. `.vm_disks[1].disk_size_gb`.
        path: String,
        /// What was expected and found.
        reason: String,
    },
    /// Types or values nest deeper than we accept.
    #[error("cty JSON at {0} nests deeper than 128 levels")]
    TooDeep(String),
}

/// A cty type as go-cty's JSON type syntax spells it.
#[derive(Debug, Clone, PartialEq)]
enum CtyJsonType {
    String,
    Number,
    Bool,
    Dynamic,
    List(Box<CtyJsonType>),
    Set(Box<CtyJsonType>),
    Map(Box<CtyJsonType>),
    Object(Vec<(String, CtyJsonType)>),
    Tuple(Vec<CtyJsonType>),
}

/// Decodes Packer's dynamic-wrapped cty JSON into a plain JSON value (objects, lists, maps, strings,
/// numbers, bools, nulls for unset attributes), checked against the type that came with it.
pub fn decode(bytes: &[u8]) -> Result<Value, CtyJsonError> {
    let doc: Value =
        serde_json::from_slice(bytes).map_err(|e| CtyJsonError::Invalid(e.to_string()))?;
    dynamic(&doc, &Path::ROOT, 0)
}

/// The cty type (JSON syntax) that hcldec gives a body decoded with `spec`: attributes their own
/// type, a block an object, a block list a list of objects. This is the `"type"` Packer sends in
/// Prepare for our own spec, so the config layer can check that both sides agree.
pub fn implied_type(spec: &ObjectSpec) -> Value {
    let mut attrs = Map::new();
    for (k, s) in &spec.0 {
        let t = match s {
            Spec::Attr(a) => cty_type_to_json(&a.ty),
            Spec::Block(b) => implied_type(&b.nested),
            Spec::BlockList(l) => Value::Array(vec!["list".into(), implied_type(&l.nested)]),
        };
        attrs.insert(k.clone(), t);
    }
    Value::Array(vec!["object".into(), Value::Object(attrs)])
}

/// The path as cty prints it, or `(root)` for the value itself.
fn shown(path: &Path<'_>) -> String {
    let text = path.to_string();
    if text.is_empty() {
        "(root)".to_string()
    } else {
        text
    }
}

fn mismatch(path: &Path<'_>, reason: impl Into<String>) -> CtyJsonError {
    CtyJsonError::Mismatch {
        path: shown(path),
        reason: reason.into(),
    }
}

fn bad_type(path: &Path<'_>, reason: impl Into<String>) -> CtyJsonError {
    CtyJsonError::BadType {
        path: shown(path),
        reason: reason.into(),
    }
}

fn deeper(depth: usize, path: &Path<'_>) -> Result<usize, CtyJsonError> {
    if depth >= MAX_DEPTH {
        return Err(CtyJsonError::TooDeep(shown(path)));
    }
    Ok(depth.saturating_add(1))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A `{"value": V, "type": T}` wrapper (the top level, and every `"dynamic"` value).
fn dynamic(v: &Value, path: &Path<'_>, depth: usize) -> Result<Value, CtyJsonError> {
    let depth = deeper(depth, path)?;
    let Value::Object(m) = v else {
        return Err(CtyJsonError::Invalid(format!(
            "at {}: a dynamically-typed value must be an object with \"value\" and \"type\", found {}",
            shown(path),
            json_kind(v)
        )));
    };
    if let Some(k) = m.keys().find(|k| *k != "value" && *k != "type") {
        return Err(CtyJsonError::Invalid(format!(
            "at {}: unexpected key {k:?} in a dynamically-typed value",
            shown(path)
        )));
    }
    let (Some(value), Some(ty)) = (m.get("value"), m.get("type")) else {
        return Err(CtyJsonError::Invalid(format!(
            "at {}: a dynamically-typed value needs both \"value\" and \"type\"",
            shown(path)
        )));
    };
    let ty = parse_type(ty, &path.attr("type"), depth)?;
    conform(value, &ty, path, depth)
}

fn parse_type(v: &Value, path: &Path<'_>, depth: usize) -> Result<CtyJsonType, CtyJsonError> {
    let depth = deeper(depth, path)?;
    match v {
        Value::String(s) => match s.as_str() {
            "string" => Ok(CtyJsonType::String),
            "number" => Ok(CtyJsonType::Number),
            "bool" => Ok(CtyJsonType::Bool),
            "dynamic" => Ok(CtyJsonType::Dynamic),
            other => Err(bad_type(path, format!("unknown primitive type {other:?}"))),
        },
        Value::Array(items) => {
            let Some((Value::String(kind), rest)) = items.split_first() else {
                return Err(bad_type(path, "a type array must start with its kind"));
            };
            let elem = |d: usize| -> Result<Box<CtyJsonType>, CtyJsonError> {
                match rest {
                    [e] => Ok(Box::new(parse_type(e, &path.index(1), d)?)),
                    _ => Err(bad_type(
                        path,
                        format!("{kind} takes exactly one element type"),
                    )),
                }
            };
            match kind.as_str() {
                "list" => Ok(CtyJsonType::List(elem(depth)?)),
                "set" => Ok(CtyJsonType::Set(elem(depth)?)),
                "map" => Ok(CtyJsonType::Map(elem(depth)?)),
                "object" => {
                    let (attrs, optional) = match rest {
                        [Value::Object(a)] => (a, None),
                        [Value::Object(a), opt] => (a, Some(opt)),
                        _ => {
                            return Err(bad_type(
                                path,
                                "object takes an attribute map and optional names",
                            ))
                        }
                    };
                    if let Some(opt) = optional {
                        let names_ok = opt.as_array().is_some_and(|a| {
                            a.iter()
                                .all(|n| n.as_str().is_some_and(|n| attrs.contains_key(n)))
                        });
                        if !names_ok {
                            return Err(bad_type(
                                path,
                                "optional attributes must be a list of attribute names",
                            ));
                        }
                    }
                    let mut out = Vec::with_capacity(attrs.len());
                    for (k, t) in attrs {
                        out.push((k.clone(), parse_type(t, &path.index(1).attr(k), depth)?));
                    }
                    Ok(CtyJsonType::Object(out))
                }
                "tuple" => match rest {
                    [Value::Array(elems)] => {
                        let mut out = Vec::with_capacity(elems.len());
                        for (i, t) in elems.iter().enumerate() {
                            out.push(parse_type(t, &path.index(1).index(i), depth)?);
                        }
                        Ok(CtyJsonType::Tuple(out))
                    }
                    _ => Err(bad_type(path, "tuple takes one array of element types")),
                },
                other => Err(bad_type(path, format!("unknown type kind {other:?}"))),
            }
        }
        other => Err(bad_type(
            path,
            format!(
                "a type must be a string or an array, found {}",
                json_kind(other)
            ),
        )),
    }
}

/// Checks `v` against `t` and returns it as plain JSON (numeric strings become numbers, and so on).
fn conform(
    v: &Value,
    t: &CtyJsonType,
    path: &Path<'_>,
    depth: usize,
) -> Result<Value, CtyJsonError> {
    let depth = deeper(depth, path)?;
    if v.is_null() {
        return Ok(Value::Null);
    }
    match t {
        CtyJsonType::Dynamic => dynamic(v, path, depth),
        CtyJsonType::String => match v {
            Value::String(_) => Ok(v.clone()),
            Value::Number(n) => Ok(Value::String(n.to_string())),
            Value::Bool(b) => Ok(Value::String(b.to_string())),
            other => Err(mismatch(
                path,
                format!("string is required, found {}", json_kind(other)),
            )),
        },
        CtyJsonType::Number => match v {
            Value::Number(_) => Ok(v.clone()),
            Value::String(s) => parse_number(s)
                .map(Value::Number)
                .ok_or_else(|| mismatch(path, format!("number is required, found string {s:?}"))),
            other => Err(mismatch(
                path,
                format!("number is required, found {}", json_kind(other)),
            )),
        },
        CtyJsonType::Bool => match v {
            Value::Bool(_) => Ok(v.clone()),
            Value::String(s) if s == "true" || s == "1" => Ok(Value::Bool(true)),
            Value::String(s) if s == "false" || s == "0" => Ok(Value::Bool(false)),
            other => Err(mismatch(
                path,
                format!("bool is required, found {}", json_kind(other)),
            )),
        },
        CtyJsonType::List(e) | CtyJsonType::Set(e) => {
            let Value::Array(items) = v else {
                return Err(mismatch(
                    path,
                    format!("JSON array is required, found {}", json_kind(v)),
                ));
            };
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(conform(item, e, &path.index(i), depth)?);
            }
            Ok(Value::Array(out))
        }
        CtyJsonType::Map(e) => {
            let Value::Object(m) = v else {
                return Err(mismatch(
                    path,
                    format!("JSON object is required for a map, found {}", json_kind(v)),
                ));
            };
            let mut out = Map::new();
            for (k, item) in m {
                out.insert(k.clone(), conform(item, e, &path.key(k), depth)?);
            }
            Ok(Value::Object(out))
        }
        CtyJsonType::Object(attrs) => {
            let Value::Object(m) = v else {
                return Err(mismatch(
                    path,
                    format!(
                        "JSON object is required for an object, found {}",
                        json_kind(v)
                    ),
                ));
            };
            if let Some(k) = m.keys().find(|k| !attrs.iter().any(|(a, _)| a == *k)) {
                return Err(mismatch(path, format!("unsupported attribute {k:?}")));
            }
            let mut out = Map::new();
            for (name, at) in attrs {
                let item = match m.get(name) {
                    Some(item) => conform(item, at, &path.attr(name), depth)?,
                    None => Value::Null,
                };
                out.insert(name.clone(), item);
            }
            Ok(Value::Object(out))
        }
        CtyJsonType::Tuple(types) => {
            let Value::Array(items) = v else {
                return Err(mismatch(
                    path,
                    format!("JSON array is required for a tuple, found {}", json_kind(v)),
                ));
            };
            if items.len() != types.len() {
                return Err(mismatch(
                    path,
                    format!(
                        "tuple needs {} elements, found {}",
                        types.len(),
                        items.len()
                    ),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, it)) in items.iter().zip(types).enumerate() {
                out.push(conform(item, it, &path.index(i), depth)?);
            }
            Ok(Value::Array(out))
        }
    }
}

/// A numeric string as go-cty's string-to-number conversion would read it, as a JSON number.
fn parse_number(s: &str) -> Option<Number> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Number::from(i));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Some(Number::from(u));
    }
    s.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && !s.contains(['i', 'n', 'I', 'N']))
        .and_then(Number::from_f64)
}
