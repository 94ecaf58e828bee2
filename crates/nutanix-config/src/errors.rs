//! The problems `prepare` reports. Every one names the option at fault by its full path
//! (`vm_disks[1].source_image_checksum_type`), and all of them are collected before returning, so a
//! user fixes a template in one round trip instead of one error per `packer validate`.

use std::fmt;

/// One problem with one option. The path uses template names: top-level keys as written,
/// blocks as `block.key`, repeated blocks with a zero-based index, `vm_disks[1].image_type`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A key the builder does not know (legacy JSON templates; Packer itself rejects them in HCL2).
    #[error("{path}: unknown configuration key")]
    UnknownKey {
        /// Where the key was found.
        path: String,
    },
    /// The value has a JSON type that cannot be converted to the option's type.
    #[error("{path}: expected {expected}, got {found}")]
    WrongType {
        /// The option.
        path: String,
        /// What the option takes, e.g. `a number`.
        expected: &'static str,
        /// What the template gave, e.g. `a list`.
        found: &'static str,
    },
    /// A required option is absent.
    #[error("{path}: {message}")]
    Missing {
        /// The option.
        path: String,
        /// Why it is required, starting with the Go plugin's words where they exist.
        message: String,
    },
    /// The value is present but not acceptable, or conflicts with another option.
    #[error("{path}: {message}")]
    Invalid {
        /// The option.
        path: String,
        /// What is wrong and what would be accepted.
        message: String,
    },
    /// A `{{ ... }}` template in the value could not be rendered.
    #[error("{path}: template error: {message}")]
    Template {
        /// The option holding the template.
        path: String,
        /// What the template engine reported.
        message: String,
    },
}

impl ConfigError {
    /// The option path this error is about.
    pub fn path(&self) -> &str {
        match self {
            ConfigError::UnknownKey { path }
            | ConfigError::WrongType { path, .. }
            | ConfigError::Missing { path, .. }
            | ConfigError::Invalid { path, .. }
            | ConfigError::Template { path, .. } => path,
        }
    }

    pub(crate) fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn missing(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Missing {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Every problem `prepare` found, in template order. Packer shows the `Display` form to the user
/// (one error diagnostic for HCL2, the plain message for JSON templates): one problem per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
