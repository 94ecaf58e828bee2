//! End-to-end tests of the simulator over HTTP(S) with reqwest: one binary, modules by topic.

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
