//! Typed reads from request JSON that turn every type mismatch into a Prism 422 naming the
//! field, so no malformed body can panic or be silently misread.

use serde_json::{Map, Value};

use crate::prism_error::ApiError;

/// Reads fields of one request object; `kind` and `path` go into error messages.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    pub kind: &'static str,
    pub path: String,
    pub obj: &'a Map<String, Value>,
}

impl<'a> Reader<'a> {
    /// Wraps `v` (which must be an object) found at `path`.
    pub fn new(kind: &'static str, path: &str, v: &'a Value) -> Result<Self, ApiError> {
        match v.as_object() {
            Some(obj) => Ok(Self {
                kind,
                path: path.to_string(),
                obj,
            }),
            None => Err(ApiError::schema(
                kind,
                path,
                format!("{} is not of type 'object'", type_name(v)),
            )),
        }
    }

    fn field_path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn err(&self, key: &str, msg: String) -> ApiError {
        ApiError::schema(self.kind, &self.field_path(key), msg)
    }

    /// The raw value, treating JSON null as absent.
    pub fn raw(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key).filter(|v| !v.is_null())
    }

    /// An optional string field.
    pub fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(other) => {
                Err(self.err(key, format!("{} is not of type 'string'", type_name(other))))
            }
        }
    }

    /// A required string field.
    pub fn req_str(&self, key: &str) -> Result<&'a str, ApiError> {
        self.opt_str(key)?
            .ok_or_else(|| self.err(key, format!("'{key}' is a required property")))
    }

    /// An optional integer field; floats, strings and out-of-range numbers are errors.
    pub fn opt_i64(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| {
                self.err(key, format!("{n} is not an integer in the supported range"))
            }),
            Some(other) => Err(self.err(
                key,
                format!("{} is not of type 'integer'", type_name(other)),
            )),
        }
    }

    /// An optional integer that must be at least `min`.
    pub fn opt_i64_min(&self, key: &str, min: i64) -> Result<Option<i64>, ApiError> {
        match self.opt_i64(key)? {
            Some(v) if v < min => {
                Err(self.err(key, format!("{v} is less than the minimum of {min}")))
            }
            other => Ok(other),
        }
    }

    /// An optional boolean field.
    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.err(
                key,
                format!("{} is not of type 'boolean'", type_name(other)),
            )),
        }
    }

    /// An optional nested object, as a reader.
    pub fn opt_obj(&self, key: &str) -> Result<Option<Reader<'a>>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(v) => Reader::new(self.kind, &self.field_path(key), v).map(Some),
        }
    }

    /// An optional array field.
    pub fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.raw(key) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(other) => {
                Err(self.err(key, format!("{} is not of type 'array'", type_name(other))))
            }
        }
    }

    /// An optional string restricted to `allowed`.
    pub fn opt_enum(&self, key: &str, allowed: &[&str]) -> Result<Option<&'a str>, ApiError> {
        match self.opt_str(key)? {
            Some(s) if !allowed.contains(&s) => {
                Err(self.err(key, format!("'{s}' is not one of {allowed:?}")))
            }
            other => Ok(other),
        }
    }

    /// Builds an error about `key` (for checks beyond types).
    pub fn error(&self, key: &str, msg: impl Into<String>) -> ApiError {
        self.err(key, msg.into())
    }

    /// The dotted path of `key` (for nested readers and reference errors).
    pub fn path_of(&self, key: &str) -> String {
        self.field_path(key)
    }
}

/// JSON-schema style type names for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Reads a `{kind, uuid}` reference at `r.key`, checking the kind when given.
pub(crate) fn reference(
    r: &Reader<'_>,
    key: &str,
    want_kind: &[&str],
) -> Result<Option<(String, String)>, ApiError> {
    let Some(v) = r.raw(key) else {
        return Ok(None);
    };
    let path = r.path_of(key);
    let rr = Reader::new(r.kind, &path, v)?;
    let kind = rr
        .opt_str("kind")?
        .unwrap_or(want_kind.first().copied().unwrap_or(""));
    if !want_kind.contains(&kind) {
        return Err(rr.error("kind", format!("'{kind}' is not one of {want_kind:?}")));
    }
    let uuid = rr.req_str("uuid")?;
    let uuid = parse_uuid(uuid)
        .ok_or_else(|| rr.error("uuid", format!("'{uuid}' is not a valid UUID")))?;
    Ok(Some((kind.to_string(), uuid)))
}

/// Canonical (lower-case, hyphenated) form of a UUID string, if it is one.
pub(crate) fn parse_uuid(s: &str) -> Option<String> {
    uuid::Uuid::try_parse(s).ok().map(|u| u.to_string())
}

/// Follows a `/a/b/0` style pointer and renders scalars as strings (for filters and sorting).
pub(crate) fn scalar_at(v: &Value, pointer: &str) -> Option<String> {
    match v.pointer(pointer)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_errors_name_the_field() {
        let v = json!({"a": "x", "n": 1.5, "big": 1e300, "neg": -3, "o": {"k": true}, "arr": 3});
        let r = Reader::new("vm", "spec.resources", &v).unwrap();
        let e = r.opt_i64("a").unwrap_err();
        assert_eq!(e.status, 422);
        assert_eq!(
            *e.details.unwrap(),
            json!({"spec.resources.a": ["string is not of type 'integer'"]})
        );
        assert!(r.opt_i64("n").is_err());
        assert!(r.opt_i64("big").is_err());
        assert!(r.opt_i64_min("neg", 0).is_err());
        assert_eq!(r.opt_i64_min("neg", -5).unwrap(), Some(-3));
        assert!(r.opt_array("arr").is_err());
        assert!(
            r.req_str("missing").unwrap_err().details.unwrap()["spec.resources.missing"][0]
                .as_str()
                .unwrap()
                .contains("required")
        );
        let o = r.opt_obj("o").unwrap().unwrap();
        assert_eq!(o.opt_bool("k").unwrap(), Some(true));
        assert!(o.opt_str("k").is_err());
        assert!(Reader::new("vm", "x", &json!([1])).is_err());
    }

    #[test]
    fn references_are_checked() {
        let v = json!({
            "ok": {"kind": "subnet", "uuid": "7A1D3E20-1111-4B6F-8C3A-000000000001"},
            "nokind": {"uuid": "7a1d3e20-1111-4b6f-8c3a-000000000001"},
            "wrongkind": {"kind": "image", "uuid": "7a1d3e20-1111-4b6f-8c3a-000000000001"},
            "baduuid": {"kind": "subnet", "uuid": "nope"},
            "notobj": "x"
        });
        let r = Reader::new("vm", "", &v).unwrap();
        assert_eq!(
            reference(&r, "ok", &["subnet"]).unwrap().unwrap().1,
            "7a1d3e20-1111-4b6f-8c3a-000000000001"
        );
        assert!(reference(&r, "nokind", &["subnet"]).unwrap().is_some());
        assert!(reference(&r, "wrongkind", &["subnet"]).is_err());
        assert!(reference(&r, "baduuid", &["subnet"]).is_err());
        assert!(reference(&r, "notobj", &["subnet"]).is_err());
        assert!(reference(&r, "absent", &["subnet"]).unwrap().is_none());
    }

    #[test]
    fn scalars_for_filters() {
        let v = json!({"a": {"b": [{"c": 5}], "s": "x", "t": true}});
        assert_eq!(scalar_at(&v, "/a/b/0/c").as_deref(), Some("5"));
        assert_eq!(scalar_at(&v, "/a/s").as_deref(), Some("x"));
        assert_eq!(scalar_at(&v, "/a/t").as_deref(), Some("true"));
        assert_eq!(scalar_at(&v, "/a/b"), None);
        assert_eq!(scalar_at(&v, "/zz"), None);
    }
}
