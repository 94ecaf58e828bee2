//! `prepare` end to end through the public API: every option, every rule, both template kinds,
//! interpolation, secrets, the schema against the Go plugin's, and the template files under
//! tests/templates/.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod boot;
mod helpers;
mod interpolation;
mod options;
mod robustness;
mod rules;
mod schema;
mod secrets;
mod templates;
