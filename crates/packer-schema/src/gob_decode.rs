//! A gob decoder for what Packer and our encoder exchange: enough of `encoding/gob` to read Go's
//! own `hcldec.ObjectSpec` streams (type definitions in the middle of messages, per-process type
//! ids, interface values, nested `cty.Type` GobEncoder streams) and our canonical ones.
//!
//! It exists as an oracle: tests decode Go's golden vectors with it, round-trip our encoder through
//! it, and fuzz both. Two layers: [`decode_value`] reads any single gob value into a [`GobValue`]
//! tree following Go's `Decoder` algorithm; [`decode_object_spec`] and [`decode_command_finished`]
//! map such trees onto our model by field name, as Go does. It never panics, caps every length by
//! the input that is left, and limits nesting, so it is safe on arbitrary bytes.

mod spec;
mod stream;

pub use spec::{decode_command_finished, decode_object_spec};
pub use stream::{decode_value, GobValue};

/// Why gob bytes could not be decoded, naming the part at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GobError {
    /// The input stopped in the middle of something.
    #[error("gob input ends inside {what}")]
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
    },
    /// An unsigned integer announced more than eight bytes.
    #[error("gob unsigned integer for {what} announces more than 8 bytes")]
    BadUint {
        /// What was being read.
        what: &'static str,
    },
    /// The stream holds no message at all.
    #[error("gob stream is empty")]
    Empty,
    /// A type definition used an id below the user range or one already defined.
    #[error("gob type id {0} is defined twice or is not a user type id")]
    BadTypeId(i64),
    /// A type definition message does not describe exactly one kind of type.
    #[error("gob definition of type id {id} is malformed: {reason}")]
    BadTypeDefinition {
        /// The type id being defined.
        id: i64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A value refers to a type id nothing defined.
    #[error("gob value refers to undefined type id {0}")]
    UnknownType(i64),
    /// A value uses a builtin type id that never carries user data (the wireType family).
    #[error("gob type id {0} cannot carry a value")]
    UnsupportedType(i64),
    /// Bytes follow a type definition outside an interface value (Go: "extra data in buffer").
    #[error("gob type definition is followed by extra data outside an interface")]
    ExtraData,
    /// A top-level or interface-held non-struct value does not start with a zero delta.
    #[error("gob singleton value does not start with a zero field delta")]
    NonZeroSingleton,
    /// A struct value names a field its type does not have.
    #[error("gob struct {type_name} has no field number {index}")]
    FieldOutOfRange {
        /// The struct type's name from its definition.
        type_name: String,
        /// The 1-based field number the data asked for.
        index: u64,
    },
    /// An interface value's concrete type name is longer than Go allows (1024 bytes).
    #[error("gob interface type name is {0} bytes long; at most 1024 are allowed")]
    NameTooLong(u64),
    /// A string is not UTF-8.
    #[error("gob {what} is not UTF-8")]
    InvalidUtf8 {
        /// Which string.
        what: &'static str,
    },
    /// An array value's length differs from its type's.
    #[error("gob array has {found} elements but its type says {expected}")]
    ArrayLength {
        /// Length from the type definition.
        expected: u64,
        /// Length in the data.
        found: u64,
    },
    /// Values nest deeper than the decoder allows.
    #[error("gob value nests deeper than {0} levels")]
    TooDeep(usize),
    /// Bytes remain after the one value.
    #[error("{0} bytes follow the gob value")]
    TrailingData(usize),
    /// A decoded value does not have the shape our model needs.
    #[error("{path}: expected {expected}, found {found}")]
    Shape {
        /// Where in the spec, e.g. `["vm_disks"].Nested["disk_size_gb"].Type`.
        path: String,
        /// What the model needs there.
        expected: &'static str,
        /// What the data holds.
        found: String,
    },
    /// An interface holds a registered name our model has no variant for.
    #[error(
        "{path}: {name:?} is not supported (only AttrSpec, BlockSpec, BlockListSpec, ObjectSpec)"
    )]
    UnsupportedSpec {
        /// Where in the spec.
        path: String,
        /// The registered gob name.
        name: String,
    },
    /// A `cty.Type` other than string, number, bool, list or map.
    #[error("{path}: cty type {name:?} is not supported (only string, number, bool, list, map)")]
    UnsupportedCtyType {
        /// Where in the spec.
        path: String,
        /// The registered gob name or primitive kind.
        name: String,
    },
    /// A nested `cty.Type` stream failed to decode.
    #[error("{path}: {source}")]
    InCtyType {
        /// Where in the spec.
        path: String,
        /// The nested stream's own error.
        source: Box<GobError>,
    },
}
