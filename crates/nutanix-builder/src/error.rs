//! Why a build stopped. Every variant names the step and the thing at fault, so the one line
//! Packer prints ("Build 'nutanix.x' errored: ...") is enough to act on.

use std::path::PathBuf;
use std::time::Duration;

/// A build failure, or its cancellation.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    /// Packer cancelled the build (Ctrl-C, `-on-error=abort` of another build).
    #[error("build cancelled")]
    Cancelled,

    /// The template asks for something this version cannot do; found before anything is created.
    #[error("{0}")]
    Unsupported(String),

    /// A Prism Central call failed; `step` says what the build was doing.
    #[error("{step}: {source}")]
    Prism {
        /// What the build was doing.
        step: String,
        /// Prism's error, quoting its message.
        #[source]
        source: Box<prism::PrismError>,
    },

    /// Prism answered, but with something the build cannot use.
    #[error("{step}: {message}")]
    Unexpected {
        /// What the build was doing.
        step: String,
        /// What was wrong.
        message: String,
    },

    /// The VM reported no usable IP address in time.
    #[error("no usable IP address for VM '{vm}' within ip_wait_timeout ({}){}", humantime::format_duration(*.limit), fmt_seen(.seen))]
    IpTimeout {
        /// VM name.
        vm: String,
        /// The configured limit.
        limit: Duration,
        /// Addresses Prism reported that did not qualify (link-local, outside ip_wait_address).
        seen: Vec<String>,
    },

    /// The VM did not power off in time.
    #[error("VM '{vm}' was still on after shutdown_timeout ({})", humantime::format_duration(*.waited))]
    ShutdownTimeout {
        /// VM name.
        vm: String,
        /// How long the build waited.
        waited: Duration,
    },

    /// The communicator could not reach the VM.
    #[error("connecting to the VM with {kind}: {message}")]
    Connect {
        /// `ssh` or `winrm`.
        kind: &'static str,
        /// Why.
        message: String,
    },

    /// The VM's console could not be reached or typing at it failed.
    #[error("typing the boot command: {0}")]
    Console(String),

    /// A provisioner failed (Packer's message, verbatim).
    #[error("{0}")]
    Provision(String),

    /// A local file could not be read or written.
    #[error("{what} {}: {source}", .path.display())]
    Io {
        /// What the build was doing with it.
        what: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A transfer did not finish within nutanix_transfer_timeout.
    #[error("{what} did not finish within nutanix_transfer_timeout ({})", humantime::format_duration(*.limit))]
    TransferTimeout {
        /// The transfer.
        what: String,
        /// The limit.
        limit: Duration,
    },
}

fn fmt_seen(seen: &[String]) -> String {
    if seen.is_empty() {
        "; Prism reported no address at all".to_string()
    } else {
        format!("; addresses seen but not usable: {}", seen.join(", "))
    }
}

impl BuildError {
    /// Wraps a Prism error with what the build was doing; a Prism-side cancellation becomes
    /// [`BuildError::Cancelled`].
    pub(crate) fn prism(step: impl Into<String>, source: prism::PrismError) -> Self {
        match source {
            prism::PrismError::Cancelled { .. } => BuildError::Cancelled,
            source => BuildError::Prism {
                step: step.into(),
                source: Box::new(source),
            },
        }
    }

    /// Shorthand for [`BuildError::Unexpected`].
    pub(crate) fn unexpected(step: impl Into<String>, message: impl Into<String>) -> Self {
        BuildError::Unexpected {
            step: step.into(),
            message: message.into(),
        }
    }
}
