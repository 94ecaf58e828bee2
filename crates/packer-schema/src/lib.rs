//! The HCL2 configuration schema a Packer builder declares, and the two wire forms Packer reads it in.
//!
//! Packer asks a builder for its schema (`Builder.ConfigSpec`) before it decodes a template, and it reads
//! the answer as gob (Packer 1.7 to 1.11, or `PACKER_FORCE_GOB`) or as protobuf (Packer 1.12+ started us
//! with `--protobuf`). A builder declares its schema once as an [`ObjectSpec`] and gets both encodings.
//! This crate is pure: no I/O, no async, no panics on any input.

pub mod cty_json;
pub mod gob;
pub mod prepare;
pub mod proto;
pub mod spec;

pub use prepare::{PackerVars, PrepareInput, TemplateKind};
pub use spec::{AttrSpec, BlockListSpec, BlockSpec, CtyType, ObjectSpec, Spec};
