//! Decoding `Builder.Prepare`'s `Configs []interface{}` into a [`PrepareInput`] (pure).
//!
//! Packer sends two raws (docs/design/plugin-protocol.md, 'Prepare inputs'):
//! - HCL2: a map of string `packer_*` values, then **bin** holding the body as cty JSON;
//! - legacy JSON: the builder's template object (a map), then a map of `packer_*` values with bool
//!   `packer_debug`/`packer_force`, `packer_user_variables`, `packer_template_path` and
//!   `packer_sensitive_variables`.
//!
//! Like the SDK's `config.Decode`, every raw is read in order: `packer_*` keys (from any raw) fill
//! [`PackerVars`], a null never overrides an earlier value, and the remaining keys of each raw form
//! one entry of [`PrepareInput::configs`].

use packer_schema::{PackerVars, PrepareInput, TemplateKind};
use rmpv::Value;
use serde_json::{Map, Value as Json};

use crate::msgpack::view::{self, Fields};

/// Why Prepare's arguments could not be read. Names the raw (by index) and the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareDecodeError {
    /// The argument is not `BuilderPrepareArgs{Configs []interface{}}`.
    #[error("Builder.Prepare arguments: {0}")]
    Args(String),
    /// A raw that is neither a map nor cty JSON bytes (nor nil).
    #[error("Builder.Prepare config {index}: expected a map or cty JSON bytes, found {found}")]
    UnexpectedRaw {
        /// Position in `Configs`.
        index: usize,
        /// What arrived.
        found: String,
    },
    /// The cty JSON of an HCL2 body could not be decoded.
    #[error("Builder.Prepare config {index}: {reason}")]
    CtyJson {
        /// Position in `Configs`.
        index: usize,
        /// The decoder's message.
        reason: String,
    },
    /// A value inside a raw that has no JSON form.
    #[error("Builder.Prepare config {index}: {reason}")]
    Value {
        /// Position in `Configs`.
        index: usize,
        /// What and where.
        reason: String,
    },
    /// A `packer_*` key with a value of the wrong type.
    #[error("Builder.Prepare config {index}: {key}: expected {expected}")]
    PackerVar {
        /// Position in `Configs`.
        index: usize,
        /// The key.
        key: String,
        /// The type wanted.
        expected: &'static str,
    },
}

/// Decodes the `Builder.Prepare` argument value.
pub fn decode_prepare_args(args: &Value) -> Result<PrepareInput, PrepareDecodeError> {
    let fields = Fields::new("BuilderPrepareArgs", args, &["Configs"])
        .map_err(|e| PrepareDecodeError::Args(e.to_string()))?;
    let raws: &[Value] = match fields.get("Configs") {
        Value::Nil => &[],
        Value::Array(items) => items,
        other => {
            return Err(PrepareDecodeError::Args(format!(
                "Configs: expected []interface{{}}, found {}",
                view::describe(other)
            )))
        }
    };

    let mut input = PrepareInput {
        kind: TemplateKind::LegacyJson,
        packer: PackerVars::default(),
        configs: Vec::new(),
    };
    for (index, raw) in raws.iter().enumerate() {
        let object = match raw {
            Value::Nil => continue,
            Value::Binary(bytes) => {
                input.kind = TemplateKind::Hcl2;
                match packer_schema::cty_json::decode(bytes) {
                    Ok(Json::Object(o)) => o,
                    Ok(Json::Null) => continue,
                    Ok(other) => {
                        return Err(PrepareDecodeError::CtyJson {
                            index,
                            reason: format!(
                                "the HCL2 body is a {}, not an object",
                                json_kind(&other)
                            ),
                        })
                    }
                    Err(e) => {
                        return Err(PrepareDecodeError::CtyJson {
                            index,
                            reason: e.to_string(),
                        })
                    }
                }
            }
            Value::Map(_) => match to_json(raw) {
                Ok(Json::Object(o)) => o,
                Ok(_) => continue, // unreachable: a map converts to an object
                Err(reason) => return Err(PrepareDecodeError::Value { index, reason }),
            },
            other => {
                return Err(PrepareDecodeError::UnexpectedRaw {
                    index,
                    found: view::describe(other),
                })
            }
        };
        let rest = take_packer_vars(index, object, &mut input.packer)?;
        if let Some(rest) = rest {
            input.configs.push(Json::Object(rest));
        }
    }
    Ok(input)
}

/// Moves the `packer_*` keys of `object` into `vars`; returns the other keys, or `None` when the
/// raw held nothing but `packer_*` keys (Packer's variables map) or nothing at all.
fn take_packer_vars(
    index: usize,
    object: Map<String, Json>,
    vars: &mut PackerVars,
) -> Result<Option<Map<String, Json>>, PrepareDecodeError> {
    let mut rest = Map::new();
    for (key, value) in object {
        if !key.starts_with("packer_") {
            rest.insert(key, value);
            continue;
        }
        if value.is_null() {
            continue;
        }
        let bad = |expected| PrepareDecodeError::PackerVar {
            index,
            key: key.clone(),
            expected,
        };
        match key.as_str() {
            "packer_build_name" => {
                vars.build_name = weak_string(&value).ok_or_else(|| bad("a string"))?
            }
            "packer_builder_type" => {
                vars.builder_type = weak_string(&value).ok_or_else(|| bad("a string"))?
            }
            "packer_core_version" => {
                vars.core_version = weak_string(&value).ok_or_else(|| bad("a string"))?
            }
            "packer_on_error" => {
                vars.on_error = weak_string(&value).ok_or_else(|| bad("a string"))?
            }
            "packer_template_path" => {
                vars.template_path = Some(weak_string(&value).ok_or_else(|| bad("a string"))?)
            }
            "packer_debug" => vars.debug = weak_bool(&value).ok_or_else(|| bad("a bool"))?,
            "packer_force" => vars.force = weak_bool(&value).ok_or_else(|| bad("a bool"))?,
            "packer_user_variables" => {
                let Json::Object(map) = &value else {
                    return Err(bad("a map of strings"));
                };
                for (name, v) in map {
                    let v = weak_string(v).ok_or_else(|| bad("a map of strings"))?;
                    vars.user_variables.insert(name.clone(), v);
                }
            }
            "packer_sensitive_variables" => {
                let Json::Array(items) = &value else {
                    return Err(bad("a list of strings"));
                };
                vars.sensitive_variables = items
                    .iter()
                    .map(weak_string)
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("a list of strings"))?;
            }
            // Any other packer_* key is accepted and ignored, as the SDK's decoder does.
            _ => {}
        }
    }
    Ok(if rest.is_empty() { None } else { Some(rest) })
}

/// mapstructure's weakly-typed string: strings, numbers and bools all read as text.
fn weak_string(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// mapstructure's weakly-typed bool: bools, Go `strconv.ParseBool` strings, and numbers (non-zero).
fn weak_bool(v: &Json) -> Option<bool> {
    match v {
        Json::Bool(b) => Some(*b),
        Json::String(s) => match s.as_str() {
            "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
            "0" | "f" | "F" | "false" | "FALSE" | "False" | "" => Some(false),
            _ => None,
        },
        Json::Number(n) => n.as_f64().map(|f| f != 0.0),
        _ => None,
    }
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "list",
        Json::Object(_) => "object",
    }
}

/// Converts a msgpack value from a JSON template (decoded by Go's `encoding/json`, so maps,
/// arrays, strings, float64 numbers, bools and nil) to JSON.
pub fn to_json(v: &Value) -> Result<Json, String> {
    to_json_at(v, "")
}

fn to_json_at(v: &Value, path: &str) -> Result<Json, String> {
    Ok(match v {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => Json::from(n),
            (None, Some(n)) => Json::from(n),
            (None, None) => Json::Null,
        },
        Value::F32(f) => {
            serde_json::Number::from_f64(f64::from(*f)).map_or(Json::Null, Json::Number)
        }
        Value::F64(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        Value::Binary(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| to_json_at(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(entries) => {
            let mut map = Map::new();
            for (k, val) in entries {
                let key = match k {
                    Value::String(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
                    Value::Binary(b) => String::from_utf8_lossy(b).into_owned(),
                    Value::Integer(i) => i.to_string(),
                    Value::Boolean(b) => b.to_string(),
                    other => {
                        return Err(format!("{path}: a map key is a {}", view::describe(other)))
                    }
                };
                let child = format!("{path}.{key}");
                map.insert(key, to_json_at(val, &child)?);
            }
            Json::Object(map)
        }
        Value::Ext(ty, _) => return Err(format!("{path}: unsupported msgpack ext type {ty}")),
    })
}
