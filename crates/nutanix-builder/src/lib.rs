//! The `nutanix` builder: from a template Packer prepared to images on Prism Central.
//!
//! Prepare turns the options (`nutanix-config`) into a [`BuildPlan`] whose types carry what
//! Prepare proved; `Builder.Run` runs the [`pipeline`] of steps over it, then cleans up through
//! one ledger and hands Packer the artifact.
//!
//! Layout:
//! - [`builder`]: what Packer calls (ConfigSpec, Prepare, Run);
//! - [`plan`]: the template as the build needs it (disks with their sources, name-or-UUID
//!   references, the communicator, the outputs, `-on-error`);
//! - [`pipeline`] and [`steps`]: the build top to bottom, one module per step, over the
//!   [`context`] (Prism client, Packer's terminal, cancel, ledger, hooks);
//! - [`ledger`], [`journal`], [`interrupts`], [`run`]: what was created, on disk too, and how
//!   every build ends (cleanup deadline, second Ctrl-C, late cancel);
//! - [`artifact`], [`generated_data`], [`entities`]: what Packer gets back;
//! - [`ui`], [`communicators`], [`ssh_key`], [`ip_choice`], [`prism_client`], [`error`].
//!
//! The pure parts are tested where they are; `tests` runs whole builds against the simulator.

mod artifact;
mod builder;
mod communicators;
mod context;
mod entities;
mod error;
mod generated_data;
mod interrupts;
mod ip_choice;
mod journal;
mod ledger;
mod pipeline;
mod plan;
mod prism_client;
mod run;
mod ssh_key;
mod steps;
mod ui;

#[cfg(test)]
mod tests;

pub use builder::NutanixBuilder;
pub use plan::{BuildPlan, Unbuildable};
