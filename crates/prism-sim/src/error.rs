//! The simulator's own failures (start-up, files, TLS). Request-level failures are Prism error
//! bodies ([`crate::prism_error::ApiError`]), never this type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the simulator could not start or keep running; each variant names the thing at fault.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The listen address could not be bound (in use, no permission, bad interface).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address we tried to bind.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Generating the self-signed certificate or building the TLS config failed.
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// A file named on the command line could not be read.
    #[error("cannot read {what} file {path}: {source}")]
    ReadFile {
        /// What the file was for ("inventory", "faults").
        what: &'static str,
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The inventory (HCL or JSON) is malformed or inconsistent.
    #[error("invalid inventory: {0}")]
    Inventory(String),
    /// A fault definition is malformed (bad JSON, bad regex, unknown action).
    #[error("invalid fault definition: {0}")]
    Faults(String),
    /// The upload directory could not be created or written.
    #[error("upload directory {path}: {source}")]
    UploadDir {
        /// The configured directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Installing the SIGINT/SIGTERM handlers failed.
    #[error("cannot install signal handlers: {0}")]
    Signal(std::io::Error),
}
