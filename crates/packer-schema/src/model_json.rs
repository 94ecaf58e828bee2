//! The spec-as-JSON data model of our golden vectors (`testdata/shared/nutanix-spec.model.json`;
//! docs/design/plugin-protocol.md, 'The spec model JSON'):
//! key → `["attr", name, ctyType, required]` | `["block", typeName, nested, required]` |
//! `["blocklist", typeName, nested, min, max]`, with cty types in go-cty's JSON type syntax.
//!
//! It lets tests here and in the config crate compare our schema with the Go plugin's, which was
//! captured in exactly this form from Go's own gob output.

use serde_json::{json, Map, Value};

use crate::path::Path;
use crate::{AttrSpec, BlockListSpec, BlockSpec, CtyType, ObjectSpec, Spec};

/// How deep `List`/`Map` types and nested blocks may go before reading stops.
const MAX_DEPTH: usize = 64;

/// Why a model JSON value is not a spec, naming where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spec model JSON at {path}: {reason}")]
pub struct ModelJsonError {
    /// Where, e.g. `["vm_disks"][2]["disk_size_gb"][2]`.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

fn err(path: &Path<'_>, reason: impl Into<String>) -> ModelJsonError {
    let text = path.to_string();
    ModelJsonError {
        path: if text.is_empty() {
            "top level".into()
        } else {
            text
        },
        reason: reason.into(),
    }
}

/// Reads a spec from the model JSON form.
pub fn spec_from_model_json(v: &Value) -> Result<ObjectSpec, ModelJsonError> {
    object(v, &Path::ROOT, 0)
}

/// Writes a spec in the model JSON form (keys in order), for diffs and fixtures.
pub fn spec_to_model_json(spec: &ObjectSpec) -> Value {
    let mut m = Map::new();
    for (k, s) in &spec.0 {
        let v = match s {
            Spec::Attr(a) => json!(["attr", a.name, cty_type_to_json(&a.ty), a.required]),
            Spec::Block(b) => json!([
                "block",
                b.type_name,
                spec_to_model_json(&b.nested),
                b.required
            ]),
            Spec::BlockList(l) => json!([
                "blocklist",
                l.type_name,
                spec_to_model_json(&l.nested),
                l.min_items,
                l.max_items
            ]),
        };
        m.insert(k.clone(), v);
    }
    Value::Object(m)
}

/// go-cty's JSON type syntax for `t`: `"string"`, `["list","number"]`, `["map","string"]`, ...
pub fn cty_type_to_json(t: &CtyType) -> Value {
    match t {
        CtyType::String => json!("string"),
        CtyType::Number => json!("number"),
        CtyType::Bool => json!("bool"),
        CtyType::List(e) => json!(["list", cty_type_to_json(e)]),
        CtyType::Map(e) => json!(["map", cty_type_to_json(e)]),
    }
}

/// Parses go-cty's JSON type syntax, limited to the types a spec can hold.
pub fn cty_type_from_json(v: &Value) -> Result<CtyType, ModelJsonError> {
    cty_type(v, &Path::ROOT, 0)
}

fn cty_type(v: &Value, path: &Path<'_>, depth: usize) -> Result<CtyType, ModelJsonError> {
    if depth >= MAX_DEPTH {
        return Err(err(path, "type nests too deeply"));
    }
    match v {
        Value::String(s) => match s.as_str() {
            "string" => Ok(CtyType::String),
            "number" => Ok(CtyType::Number),
            "bool" => Ok(CtyType::Bool),
            other => Err(err(path, format!("unsupported cty type {other:?}"))),
        },
        Value::Array(a) => match a.as_slice() {
            [Value::String(kind), elem] if kind == "list" || kind == "map" => {
                let e = Box::new(cty_type(elem, &path.index(1), depth.saturating_add(1))?);
                Ok(if kind == "list" {
                    CtyType::List(e)
                } else {
                    CtyType::Map(e)
                })
            }
            _ => Err(err(path, format!("unsupported cty type {v}"))),
        },
        _ => Err(err(
            path,
            format!("a cty type must be a string or an array, found {v}"),
        )),
    }
}

fn object(v: &Value, path: &Path<'_>, depth: usize) -> Result<ObjectSpec, ModelJsonError> {
    if depth >= MAX_DEPTH {
        return Err(err(path, "blocks nest too deeply"));
    }
    let Value::Object(m) = v else {
        return Err(err(path, "an object spec must be a JSON object"));
    };
    let mut out = ObjectSpec::new();
    for (k, entry) in m {
        out.0.insert(k.clone(), spec(entry, &path.key(k), depth)?);
    }
    Ok(out)
}

fn text(v: &Value, path: &Path<'_>) -> Result<String, ModelJsonError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| err(path, "expected a string"))
}

fn flag(v: &Value, path: &Path<'_>) -> Result<bool, ModelJsonError> {
    v.as_bool().ok_or_else(|| err(path, "expected a bool"))
}

fn int(v: &Value, path: &Path<'_>) -> Result<i64, ModelJsonError> {
    v.as_i64().ok_or_else(|| err(path, "expected an integer"))
}

fn spec(v: &Value, path: &Path<'_>, depth: usize) -> Result<Spec, ModelJsonError> {
    let Some(items) = v.as_array() else {
        return Err(err(path, "a spec must be a JSON array"));
    };
    let at = |i: usize| path.index(i);
    let next = depth.saturating_add(1);
    match items.as_slice() {
        [Value::String(kind), name, ty, required] if kind == "attr" => Ok(Spec::Attr(AttrSpec {
            name: text(name, &at(1))?,
            ty: cty_type(ty, &at(2), 0)?,
            required: flag(required, &at(3))?,
        })),
        [Value::String(kind), name, nested, required] if kind == "block" => Ok(Spec::Block(BlockSpec {
            type_name: text(name, &at(1))?,
            nested: object(nested, &at(2), next)?,
            required: flag(required, &at(3))?,
        })),
        [Value::String(kind), name, nested, min, max] if kind == "blocklist" => {
            Ok(Spec::BlockList(BlockListSpec {
                type_name: text(name, &at(1))?,
                nested: object(nested, &at(2), next)?,
                min_items: int(min, &at(3))?,
                max_items: int(max, &at(4))?,
            }))
        }
        _ => Err(err(
            path,
            "expected [\"attr\",name,type,required], [\"block\",name,nested,required] or [\"blocklist\",name,nested,min,max]",
        )),
    }
}
