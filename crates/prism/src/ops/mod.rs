//! The operations the build needs, one module per kind. Each returns typed results and, where
//! Prism answers with a task, awaits it before returning.

pub mod accepted;
pub mod categories;
pub mod clusters;
pub mod hosts;
pub mod images;
pub mod new_vm;
pub mod ovas;
pub mod projects;
pub mod subnets;
pub mod templates;
pub mod vms;
