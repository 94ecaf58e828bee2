//! `prepare` end to end through the public API: every option, every rule, both template kinds,
//! interpolation, secrets, the schema against the Go plugin's, and the template files under
//! tests/templates/.

mod boot;
mod helpers;
mod interpolation;
mod options;
mod robustness;
mod rules;
mod schema;
mod secrets;
mod templates;
