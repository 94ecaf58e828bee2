//! An ISO 9660 image writer of our own (primary tree + Rock Ridge, Joliet tree), split into
//! a pure planner that produces every metadata byte and a streaming writer for file data.

pub(crate) mod encode;
pub(crate) mod layout;
pub(crate) mod names;
pub(crate) mod rrip;
