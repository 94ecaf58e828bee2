//! End-to-end tests of the simulator over HTTP(S) with reqwest: one binary, modules by topic.

mod sim {
    pub mod api;
    pub mod common;
    pub mod control;
    pub mod faults;
    pub mod flow;
    pub mod tls;
    pub mod transfer;
}
