//! The Packer services a builder plugin serves or calls, one module per Go interface.

pub mod artifact;
pub mod builder;
pub mod communicator;
pub mod hook;
pub mod prepare;
pub mod ui;
