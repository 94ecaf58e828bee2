//! End-to-end tests of the simulator over HTTP(S) with reqwest: one binary, modules by topic.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod sim {
    pub mod api;
    pub mod common;
    pub mod control;
    pub mod export_faults;
    pub mod faults;
    pub mod flow;
    pub mod groups;
    pub mod ova;
    pub mod templates;
    pub mod tls;
    pub mod transfer;
}
