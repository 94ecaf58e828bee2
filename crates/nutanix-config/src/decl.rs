//! The one declaration behind both the typed configuration and the HCL2 schema.
//!
//! Each configuration section is written once with [`section!`]: a struct whose fields are named
//! exactly as the template options and tagged with how they appear in HCL2 (`attr`, `raw` (an
//! attribute whose templates are rendered at build time), `block`, `blocks`, or `squash` for a
//! group of options inlined into its parent, as Go's `mapstructure:",squash"`). The macro derives
//! the schema (`Section::extend_spec`) and the decoder (`Section::decode_from`) from the same field
//! list, and the Rust type of each field fixes its cty type (`AttrValue::cty`), so the struct, the
//! schema Packer reads and the decoder cannot drift apart.

use std::collections::BTreeSet;

use packer_schema::{CtyType, ObjectSpec, TemplateKind};
use serde_json::{Map, Value};

use crate::errors::ConfigError;
use crate::interpolate;

/// A value of one attribute: its cty type in the schema and how a JSON value becomes it.
pub(crate) trait AttrValue: Sized {
    /// The attribute's type in the HCL2 schema.
    fn cty() -> CtyType;
    /// Converts a non-null value, reporting problems to `cx`; `None` when the value was rejected
    /// (or is an HCL2 unknown placeholder), in which case the option keeps its default.
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self>;
    /// Go's rule that a zero value means "not set" (`cpu = 0` takes the default, `""` is absent).
    fn is_unset(&self) -> bool {
        false
    }
}

/// A group of options: a whole block body, or a squashed group inside one.
pub(crate) trait Section: Sized {
    /// Adds this section's keys to `spec`.
    fn extend_spec(spec: ObjectSpec) -> ObjectSpec;
    /// Reads this section's keys from `src`, marking each as used.
    fn decode_from(src: &mut Source<'_, '_>) -> Self;
}

/// Names the element type of a repeated block field (`Vec<VmDisk>` → `VmDisk`).
pub(crate) trait Blocks {
    /// The block body type.
    type Item: Section;
}

impl<T: Section> Blocks for Vec<T> {
    type Item = T;
}

/// Decoding state shared by every option: the template kind, the interpolation context, and the
/// problems found so far.
pub(crate) struct Cx {
    /// HCL2 or legacy JSON.
    pub kind: TemplateKind,
    /// What `{{ ... }}` functions see.
    pub tpl: interpolate::Context,
    /// False while decoding an option whose templates are rendered at build time.
    pub render: bool,
    /// Problems, in the order found.
    pub errors: Vec<ConfigError>,
    /// Non-fatal notes for the user.
    pub warnings: Vec<String>,
    /// Options whose value was rejected while decoding, so that validation does not also call
    /// them missing.
    pub rejected: BTreeSet<String>,
}

/// Packer replaces values that are unknown during `packer validate` (e.g. from data sources) with
/// this string in HCL2; such values pass through unchecked.
pub(crate) const UNKNOWN_PLACEHOLDER: &str = "<unknown>";

impl Cx {
    pub(crate) fn error(&mut self, e: ConfigError) {
        self.errors.push(e);
    }

    /// Whether the value at `path`, or anything inside it, was rejected while decoding.
    pub(crate) fn rejected_under(&self, path: &str) -> bool {
        self.rejected.iter().any(|r| {
            r.strip_prefix(path).is_some_and(|rest| {
                rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
            })
        })
    }

    /// Reports a missing option, unless a value for it was given but already rejected as malformed
    /// (one mistake, one message).
    pub(crate) fn missing(&mut self, path: impl Into<String>, message: impl Into<String>) {
        let path = path.into();
        if !self.rejected.contains(&path) {
            self.errors.push(ConfigError::missing(path, message));
        }
    }

    /// Whether `s` is HCL2's placeholder for a value not known yet.
    pub(crate) fn is_unknown(&self, s: &str) -> bool {
        self.kind == TemplateKind::Hcl2 && s == UNKNOWN_PLACEHOLDER
    }

    /// A string as the option sees it: weakly converted like Go's mapstructure (`true` → `"1"`,
    /// `4` → `"4"`) and with `{{ ... }}` rendered (or only checked, for build-time options).
    pub(crate) fn text(&mut self, v: &Value, at: &str) -> Option<String> {
        let raw = match v {
            Value::String(s) => s.clone(),
            Value::Bool(b) => match self.kind {
                TemplateKind::LegacyJson => (if *b { "1" } else { "0" }).to_string(),
                TemplateKind::Hcl2 => b.to_string(),
            },
            Value::Number(n) => number_text(n),
            other => {
                self.error(wrong_type(at, "a string", other));
                return None;
            }
        };
        self.render_text(raw, at)
    }

    /// Renders (or checks) templates in an already-extracted string.
    pub(crate) fn render_text(&mut self, raw: String, at: &str) -> Option<String> {
        if !interpolate::has_template(&raw) {
            return Some(raw);
        }
        let result = if self.render {
            interpolate::render(&raw, &self.tpl)
        } else {
            interpolate::check(&raw).map(|()| raw)
        };
        match result {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(ConfigError::Template {
                    path: at.to_string(),
                    message: e.to_string(),
                });
                None
            }
        }
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` for whole and fractional numbers alike.
fn number_text(n: &serde_json::Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        n.as_f64().map_or_else(|| n.to_string(), |f| f.to_string())
    }
}

/// What a JSON value is, in words, for type errors.
pub(crate) fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(crate) fn wrong_type(at: &str, expected: &'static str, found: &Value) -> ConfigError {
    ConfigError::WrongType {
        path: at.to_string(),
        expected,
        found: json_kind(found),
    }
}

/// `parent.key`, or `key` at the top level.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

/// One JSON object being read into a section, with the keys consumed so far.
pub(crate) struct Source<'o, 'c> {
    obj: &'o Map<String, Value>,
    at: String,
    used: BTreeSet<&'static str>,
    cx: &'c mut Cx,
}

static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);

impl<'o, 'c> Source<'o, 'c> {
    /// The value of `key`, marking it used; `None` when absent or null (HCL2's "unset").
    fn take(&mut self, key: &'static str) -> Option<&'o Value> {
        self.used.insert(key);
        self.obj.get(key).filter(|v| !v.is_null())
    }

    /// An attribute; `None` when unset, rejected, or a zero value (see [`AttrValue::is_unset`]).
    pub(crate) fn attr<T: AttrValue>(&mut self, key: &'static str) -> Option<T> {
        let v = self.take(key)?;
        let at = join(&self.at, key);
        let before = self.cx.errors.len();
        let value = T::decode(v, &at, self.cx);
        if self.cx.errors.len() > before {
            self.cx.rejected.insert(at);
        }
        value.filter(|t| !t.is_unset())
    }

    /// An attribute whose templates are only syntax-checked now and rendered at build time.
    pub(crate) fn attr_unrendered<T: AttrValue>(&mut self, key: &'static str) -> Option<T> {
        let saved = std::mem::replace(&mut self.cx.render, false);
        let v = self.attr(key);
        self.cx.render = saved;
        v
    }

    /// A single nested block; an absent block decodes as an empty body (every default applies).
    pub(crate) fn block<T: Section>(&mut self, key: &'static str) -> T {
        let at = join(&self.at, key);
        match self.take(key) {
            None => decode_object(&EMPTY, at, self.cx),
            Some(Value::Object(m)) => decode_object(m, at, self.cx),
            Some(other) => {
                self.cx.error(wrong_type(&at, "a block (object)", other));
                self.cx.rejected.insert(at.clone());
                decode_object(&EMPTY, at, self.cx)
            }
        }
    }

    /// A repeated block, each element's path carrying its zero-based index.
    pub(crate) fn blocks<T: Section>(&mut self, key: &'static str) -> Vec<T> {
        let at = join(&self.at, key);
        match self.take(key) {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| {
                    let item_at = format!("{at}[{i}]");
                    match item {
                        Value::Object(m) => Some(decode_object(m, item_at, self.cx)),
                        other => {
                            self.cx
                                .error(wrong_type(&item_at, "a block (object)", other));
                            None
                        }
                    }
                })
                .collect(),
            // mapstructure accepts a lone object where a list is expected.
            Some(Value::Object(m)) if self.cx.kind == TemplateKind::LegacyJson => {
                vec![decode_object(m, format!("{at}[0]"), self.cx)]
            }
            Some(other) => {
                self.cx.error(wrong_type(&at, "a list of blocks", other));
                self.cx.rejected.insert(at);
                Vec::new()
            }
        }
    }

    /// Reports every key of this object that no field consumed. At the top level `type` and every
    /// `packer_*` key are accepted, as the Go SDK does.
    fn reject_unknown(&mut self) {
        for key in self.obj.keys() {
            if self.used.contains(key.as_str()) {
                continue;
            }
            if self.at.is_empty() && (key == "type" || key.starts_with("packer_")) {
                continue;
            }
            self.cx.error(ConfigError::UnknownKey {
                path: join(&self.at, key),
            });
        }
    }
}

/// Reads a whole object into a section and reports its unknown keys.
pub(crate) fn decode_object<T: Section>(obj: &Map<String, Value>, at: String, cx: &mut Cx) -> T {
    let mut src = Source {
        obj,
        at,
        used: BTreeSet::new(),
        cx,
    };
    let value = T::decode_from(&mut src);
    src.reject_unknown();
    value
}

/// The schema of a section as a standalone object spec.
pub(crate) fn spec_of<T: Section>() -> ObjectSpec {
    T::extend_spec(ObjectSpec::new())
}

/// Declares a configuration section; see the module documentation.
macro_rules! section {
    (
        $(#[$smeta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                $kind:ident $field:ident : $ty:ty $(= $default:expr)?
            ),* $(,)?
        }
    ) => {
        $(#[$smeta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
        }

        impl $crate::decl::Section for $name {
            fn extend_spec(spec: ::packer_schema::ObjectSpec) -> ::packer_schema::ObjectSpec {
                $( let spec = section!(@spec $kind, spec, stringify!($field), $ty); )*
                spec
            }

            fn decode_from(src: &mut $crate::decl::Source<'_, '_>) -> Self {
                let _ = &src;
                $( let $field: $ty = section!(@decode $kind, src, stringify!($field), $ty, [$($default)?]); )*
                Self { $($field),* }
            }
        }
    };

    (@spec attr, $spec:ident, $key:expr, $ty:ty) => {
        $spec.attr($key, <$ty as $crate::decl::AttrValue>::cty())
    };
    (@spec raw, $spec:ident, $key:expr, $ty:ty) => {
        $spec.attr($key, <$ty as $crate::decl::AttrValue>::cty())
    };
    (@spec block, $spec:ident, $key:expr, $ty:ty) => {
        $spec.block($key, $crate::decl::spec_of::<$ty>())
    };
    (@spec blocks, $spec:ident, $key:expr, $ty:ty) => {
        $spec.block_list($key, $crate::decl::spec_of::<<$ty as $crate::decl::Blocks>::Item>())
    };
    (@spec squash, $spec:ident, $key:expr, $ty:ty) => {
        <$ty as $crate::decl::Section>::extend_spec($spec)
    };

    (@decode attr, $src:ident, $key:expr, $ty:ty, [$($d:expr)?]) => {
        $src.attr::<$ty>($key).unwrap_or_else(|| section!(@default $($d)?))
    };
    (@decode raw, $src:ident, $key:expr, $ty:ty, [$($d:expr)?]) => {
        $src.attr_unrendered::<$ty>($key).unwrap_or_else(|| section!(@default $($d)?))
    };
    (@decode block, $src:ident, $key:expr, $ty:ty, [$($d:expr)?]) => {
        $src.block::<$ty>($key)
    };
    (@decode blocks, $src:ident, $key:expr, $ty:ty, [$($d:expr)?]) => {
        $src.blocks::<<$ty as $crate::decl::Blocks>::Item>($key)
    };
    (@decode squash, $src:ident, $key:expr, $ty:ty, [$($d:expr)?]) => {
        <$ty as $crate::decl::Section>::decode_from($src)
    };

    (@default $d:expr) => { $d };
    (@default) => { ::core::default::Default::default() };
}

/// Declares an option whose value is one of a fixed set of strings. Parsing ignores ASCII case
/// (the Go plugin silently replaced or dropped unrecognised spellings such as `UEFI`; we accept
/// them when unambiguous and reject everything else by name).
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in templates (and by the Go plugin).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a template value, ignoring ASCII case.
            pub fn parse(s: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(s))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::decl::AttrValue for $name {
            fn cty() -> ::packer_schema::CtyType {
                ::packer_schema::CtyType::String
            }

            fn decode(v: &::serde_json::Value, at: &str, cx: &mut $crate::decl::Cx) -> Option<Self> {
                let s = cx.text(v, at)?;
                if cx.is_unknown(&s) {
                    return None;
                }
                match Self::parse(&s) {
                    Some(x) => Some(x),
                    None => {
                        let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        cx.error($crate::errors::ConfigError::invalid(
                            at,
                            format!("{} (got {:?})", $crate::decl::one_of(&names), s),
                        ));
                        None
                    }
                }
            }
        }
    };
}

pub(crate) use section;
pub(crate) use string_enum;

/// "must be a or b" / "must be one of a, b or c".
pub(crate) fn one_of(names: &[&str]) -> String {
    match names {
        [] => "must not be set".to_string(),
        [one] => format!("must be {one}"),
        [a, b] => format!("must be {a} or {b}"),
        [init @ .., last] => format!("must be one of {} or {last}", init.join(", ")),
    }
}
