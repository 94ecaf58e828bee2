//! The steps, one module each: functions from what earlier steps produced to what later steps
//! need, over the build's [`Ctx`](crate::context::Ctx). [`crate::pipeline`] calls them in order.
//! Steps have no cleanup code of their own: whatever they create is in the ledger before it is
//! requested, and the ledger's rules do all of it, once, at the end.

pub(crate) mod boot_command;
pub(crate) mod cd_image;
pub(crate) mod clean_vm;
pub(crate) mod clear_keys;
pub(crate) mod connect;
pub(crate) mod create_vm;
pub(crate) mod export;
pub(crate) mod http_server;
pub(crate) mod images;
pub(crate) mod local_upload;
pub(crate) mod ova;
pub(crate) mod provision;
pub(crate) mod resolve;
pub(crate) mod shutdown;
pub(crate) mod source_images;
pub(crate) mod template;
pub(crate) mod wait_ip;
