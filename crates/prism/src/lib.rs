//! An async client for the Nutanix Prism Central v3 REST API, shaped for a Packer builder.
//!
//! What it does: one [`PrismClient`] per build (pooled connections, auth, TLS via rustls+ring,
//! env proxies), typed [`models`] that keep unknown fields, name lookups with FIQL filters and
//! an exact-name check ([`lookup`]), task waiting with deadlines, backoff, progress and
//! cancellation ([`tasks`]), retries that never repeat a create blindly ([`transport`]),
//! read-modify-write of VM specs with `spec_version`, and streaming image upload/download in
//! constant memory ([`transfer`]).
//!
//! Output beyond images: OVA export, lookup, download and delete (v3, [`ops::ovas`]), and VM
//! templates through the few raw v4 calls the Go plugin's v3 line makes ([`ops::templates`];
//! their tasks are polled on v3 `/tasks`, their errors quote v4 `AppMessage`s).
//!
//! What it does not do: the rest of the v4 API, sessions/cookies (basic auth or API key on
//! every request, as the Go v3 client), VNC.
//!
//! Layout: `config` (settings, secrets) → `tls` → `client` (construction) → `exchange` (one
//! attempt: redirects, deadlines) → `transport` (one call + retries) →
//! `lookup`/`tasks`/`ops`/`transfer` (operations). `backoff`, `redirect`, `cause` and
//! `fiql`/`odata` are pure helpers; `models` is serde only.

#![warn(missing_docs)]

pub mod backoff;
pub mod cause;
mod certinfo;
pub mod client;
pub mod config;
pub mod error;
mod exchange;
pub mod fiql;
pub mod lookup;
pub mod models;
pub mod odata;
pub mod ops;
mod pinned;
pub mod redirect;
pub mod tasks;
pub mod tls;
pub mod transfer;
pub mod transport;

pub use client::PrismClient;
pub use config::{
    Auth, ClientConfig, CustomHeader, PollPolicy, RetryPolicy, Scheme, Secret, TlsOptions,
    API_KEY_HEADER,
};
pub use error::{PrismError, Stage};
pub use ops::hosts::GpuMatch;
pub use ops::images::{ImageSource, NewImage};
pub use ops::new_vm::{Firmware, NewDisk, NewGuest, NewNic, NewVm};
pub use ops::ovas::{Ova, OvaDiskFormat};
pub use ops::templates::{NewTemplate, Template};
pub use tasks::{ProgressFn, Wait};
pub use tokio_util::sync::CancellationToken;
pub use transfer::{
    DownloadOptions, DownloadReport, TransferProgressFn, UploadChecksum, UploadOptions,
    UploadReport,
};
