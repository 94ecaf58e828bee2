//! What `Builder.Prepare` hands a builder, after the transport has decoded it.
//!
//! Packer sends two shapes (docs/design/plugin-protocol.md, 'Prepare inputs'): for HCL2 templates a
//! map of string-valued `packer_*` variables plus the body as cty JSON; for legacy JSON templates
//! the raw template object plus a map of `packer_*` values (bools, user variables, template path).
//! The transport turns either into a [`PrepareInput`] so the builder sees one shape.

use std::collections::BTreeMap;

/// Which kind of template the configuration came from. Legacy JSON templates still need Packer's
/// `{{ ... }}` interpolation applied by the builder; HCL2 values arrive already evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// A `*.pkr.hcl` template: the body arrived as cty JSON.
    Hcl2,
    /// A legacy `*.json` template: the body arrived as a plain msgpack map.
    LegacyJson,
}

/// The `packer_*` values Packer core passes next to the builder's own configuration.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PackerVars {
    /// `packer_build_name`, e.g. `centos` for `source "nutanix" "centos"`.
    pub build_name: String,
    /// `packer_builder_type`, normally `nutanix`.
    pub builder_type: String,
    /// `packer_core_version`.
    pub core_version: String,
    /// `packer_debug` (a string `"true"` in HCL2, a bool in JSON templates).
    pub debug: bool,
    /// `packer_force` (`-force`).
    pub force: bool,
    /// `packer_on_error` (`cleanup`, `abort`, `ask`, `run-cleanup-provisioner`), empty when not set.
    pub on_error: String,
    /// `packer_template_path` (JSON templates only).
    pub template_path: Option<String>,
    /// `packer_user_variables` (JSON templates only): the values for `{{user `x`}}`.
    pub user_variables: BTreeMap<String, String>,
    /// `packer_sensitive_variables` (JSON templates only): names whose values must be redacted.
    pub sensitive_variables: Vec<String>,
}

/// The decoded arguments of one `Builder.Prepare` call.
#[derive(Debug, Clone, PartialEq)]
pub struct PrepareInput {
    /// HCL2 or legacy JSON.
    pub kind: TemplateKind,
    /// The `packer_*` values, merged from every raw that carried them.
    pub packer: PackerVars,
    /// The builder's own configuration bodies as JSON objects, in the order Packer sent them; later
    /// ones override earlier ones key by key. HCL2 nulls (unset attributes) are kept as `null`.
    pub configs: Vec<serde_json::Value>,
}
