//! The `nutanix` builder's configuration: every option of the Go plugin (same names, types,
//! defaults and blocks, so users' templates keep working), the HCL2 schema Packer reads, decoding of
//! both HCL2 and legacy JSON templates (with Packer's `{{ ... }}` interpolation), strict validation
//! that reports every problem at once, and secret redaction.
//!
//! ```text
//! PrepareInput ──merge──▶ JSON object ──decode + render──▶ Config ──defaults──▶ validate ──▶ Prepared
//!                                         (config.rs, declared once: struct + schema + decoder)
//! ```
//!
//! Pure apart from two things the Go plugin also does at Prepare time: it reads the clock for
//! template functions (an input, see [`Ambient`]) and checks that local files it will need exist.

#![warn(missing_docs)]

mod boot;
mod checks;
pub mod cloud_init;
mod config;
mod decl;
mod duration;
mod errors;
mod generated;
pub mod interpolate;
mod prepare;
mod secrets;
mod userdata;
mod validate;
mod values;

#[cfg(test)]
mod test_vectors;

pub use boot::{BootCommand, BootCommandError, BootData, BootWait};
pub use checks::expand_user;
pub use config::{
    is_api_key_username, Auth, BootConfig, BootPriority, BootType, Category, CdConfig,
    ChecksumType, ClusterConfig, CommConfig, Communicator, Config, FileTransferMethod, Gpu,
    HttpConfig, ImageType, KeepAlive, KeyPairType, OsType, OvaConfig, OvaFormat, PackerConfig,
    ShutdownConfig, SshConfig, TemplateConfig, VmClean, VmConfig, VmDisk, VmNic, Vtpm,
    WaitIpConfig, WinRmConfig, API_KEY_USERNAME,
};
pub use duration::{parse_go_duration, DurationError};
pub use errors::{ConfigError, ConfigErrors};
pub use generated::GENERATED_VARS;
pub use prepare::{prepare, prepare_with, Ambient, Prepared};
pub use secrets::{filter_logs, redact, redact_log, REDACTED};
pub use userdata::UserData;
pub use values::{parse_cidr, Bytes, IpFilter, Sensitive, SensitiveBytes};

/// The HCL2 schema Packer asks for (`Builder.ConfigSpec`), derived from the same declaration as
/// [`Config`].
pub fn config_spec() -> packer_schema::ObjectSpec {
    decl::spec_of::<Config>()
}
