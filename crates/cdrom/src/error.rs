//! The one error type of this crate: every variant names the template entry, path or
//! setting at fault, so the builder can show it to the user as is.

use std::net::IpAddr;
use std::path::PathBuf;

/// Why a CD image could not be made or the HTTP server could not start.
///
/// `entry` fields read like the template (`cd_files[2]`, `cd_content["a/b"]`) so a user can
/// find the line to fix; match on variants, not on the text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CdError {
    /// Neither `cd_files` nor `cd_content` has anything: Packer makes no CD then, so the
    /// caller should not ask for one.
    #[error("nothing to put on the CD: cd_files and cd_content are both empty")]
    Empty,

    /// `cd_label` cannot be a volume label.
    #[error("cd_label {label:?}: {reason}")]
    Label {
        /// The label as given.
        label: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A `cd_files` glob is malformed (Go's `filepath.ErrBadPattern`).
    #[error("{entry}: bad pattern {pattern:?}: {reason}")]
    BadPattern {
        /// `cd_files[i]`.
        entry: String,
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A `cd_files` glob matched nothing (Go would silently add nothing).
    #[error("{entry}: no file matches {pattern:?}")]
    NoMatch {
        /// `cd_files[i]`.
        entry: String,
        /// The pattern as given.
        pattern: String,
    },

    /// A file or directory named by an entry (or found under one) cannot be read.
    #[error("{entry}: cannot read {path:?}: {source}")]
    Source {
        /// `cd_files[i]`.
        entry: String,
        /// The local path.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// An entry names something that cannot go on a CD as asked (a socket, a device, a file
    /// given with a trailing `/`, a name that is not UTF-8, a symlink loop).
    #[error("{entry}: {path:?}: {reason}")]
    Unsupported {
        /// `cd_files[i]`.
        entry: String,
        /// The local path.
        path: PathBuf,
        /// Why it cannot be added.
        reason: String,
    },

    /// A `cd_content` key is not a usable path inside the CD.
    #[error("{entry}: {reason}")]
    ContentPath {
        /// `cd_content["key"]`.
        entry: String,
        /// What is wrong with the key.
        reason: &'static str,
    },

    /// Two entries want the same path on the CD, one as a file, the other as a directory.
    #[error("{entry}: {iso_path:?} on the CD {reason}")]
    Conflict {
        /// The later entry, the one that could not be added.
        entry: String,
        /// The path inside the CD.
        iso_path: String,
        /// `is already a directory` or `is already a file`.
        reason: &'static str,
    },

    /// The image would break a hard limit of ISO 9660.
    #[error("the CD is too large: {0}")]
    TooLarge(String),

    /// A local file changed size between listing and copying.
    #[error("{path:?} changed while the CD was being written (expected {expected} bytes)")]
    SourceChanged {
        /// The local path.
        path: PathBuf,
        /// The size seen when the image was laid out.
        expected: u64,
    },

    /// The image file could not be created or written.
    #[error("cannot write the CD image in {path:?}: {source}")]
    Output {
        /// The output directory or file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// An invariant of the ISO layout did not hold: a bug in this crate, never the user's.
    #[error("internal error in the ISO writer: {0}")]
    Internal(&'static str),

    /// Our writer could not make the image and no external ISO tool is installed.
    #[error("the built-in ISO writer could not make this CD ({why}), and no xorriso, mkisofs or genisoimage was found to try instead")]
    NoTool {
        /// Why our writer gave up.
        why: String,
    },

    /// The external ISO tool failed.
    #[error("{tool} could not make the CD: {message}")]
    Tool {
        /// Which tool.
        tool: &'static str,
        /// Its exit status and last lines of output, or why it could not start.
        message: String,
    },

    /// The blocking worker that writes the image died (a bug, or the runtime shut down).
    #[error("the CD writer task failed: {0}")]
    Task(String),

    /// `http_port_min` is above `http_port_max`.
    #[error("http_port_min ({min}) must not be greater than http_port_max ({max})")]
    PortRange {
        /// `http_port_min`.
        min: u16,
        /// `http_port_max`.
        max: u16,
    },

    /// Every port of the range is taken.
    #[error("no free port for the HTTP server on {address} between {min} and {max}")]
    NoFreePort {
        /// `http_bind_address`.
        address: IpAddr,
        /// `http_port_min`.
        min: u16,
        /// `http_port_max`.
        max: u16,
    },

    /// Binding failed for a reason another port will not fix (address not on this host...).
    #[error("cannot listen on {address} port {port}: {source}")]
    Bind {
        /// `http_bind_address`.
        address: IpAddr,
        /// The port tried.
        port: u16,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },

    /// `http_directory` is missing or not a directory.
    #[error("http_directory {path:?}: {reason}")]
    HttpDirectory {
        /// The directory as given.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}
