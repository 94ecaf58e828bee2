//! Two things a Packer build gives the VM it installs, made the way Packer's SDK makes them:
//!
//! - **the `cd_files` / `cd_content` CD** ([`build_iso`]): an ISO 9660 image with Joliet and
//!   Rock Ridge, written in-process by our own writer (no `xorriso`/`mkisofs` needed, file
//!   contents streamed from disk), staged with the semantics of the SDK's `StepCreateCD`;
//! - **the boot-time HTTP server** ([`start_http_server`]) behind `http_directory` and
//!   `http_content`.
//!
//! Layout: `collect` (entries → tree, with `glob` for Go's patterns) and `iso` (pure layout
//! and encoders) feed the small blocking driver in `cd`, which falls back to an external ISO
//! tool on the same tree (`external`) when an ISO 9660 limit stops our writer; `http` is a thin axum server over
//! pure request logic in `http::route`.
//!
//! Not here: uploading the image to Prism, attaching it, deleting it (the builder's steps),
//! El Torito boot records, and checking that `http_directory` and `http_content` are not both
//! set (config validation).

#![warn(missing_docs)]

mod cd;
mod civil;
mod collect;
mod error;
mod external;
mod glob;
mod http;
mod iso;
mod tree;

pub use cd::{build_iso, BuiltIso, CdSpec};
pub use error::CdError;
pub use http::{start_http_server, HttpServe, HttpServer};
