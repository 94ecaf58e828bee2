//! The HCL2 configuration schema a Packer builder declares, and the two wire forms Packer reads it in.
//!
//! Packer asks a builder for its schema (`Builder.ConfigSpec`) before it decodes a template, and it reads
//! the answer as gob (Packer 1.7 to 1.11, or `PACKER_FORCE_GOB`) or as protobuf (Packer 1.12+ started us
//! with `--protobuf`). A builder declares its schema once as an [`ObjectSpec`] and gets both encodings.
//! This crate is pure: no I/O, no async, no panics on any input.
//!
//! - [`gob`]: `ObjectSpec` and `CommandFinished` as Go's `encoding/gob` decoder expects them.
//! - [`proto`]: `ObjectSpec` as the SDK's protobuf `Spec`, byte-identical to Go's deterministic marshal.
//! - [`gob_decode`]: a decoder for Go's own gob streams, our oracle in tests and fuzzing.
//! - [`cty_json`]: the cty JSON body Packer sends to `Prepare`, checked against its type.
//! - [`model_json`]: the spec-as-JSON model used to compare our schema with the Go plugin's.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod cty_json;
pub mod gob;
pub mod gob_decode;
pub mod model_json;
mod path;
pub mod prepare;
pub mod proto;
pub mod spec;

pub use model_json::{spec_from_model_json, spec_to_model_json, ModelJsonError};
pub use prepare::{PackerVars, PrepareInput, TemplateKind};
pub use spec::{AttrSpec, BlockListSpec, BlockSpec, CtyType, ObjectSpec, Spec};
