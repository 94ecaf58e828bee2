//! Encodes or decodes specs from the command line, so Go's real decoder (tests/go-oracle) can
//! check our bytes: `encode` reads a JSON array of model specs on stdin and prints, per spec, our
//! gob as base64 and our protobuf as hex, separated by a space; `decode` reads base64 gob streams,
//! one per line, and prints each as model JSON.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Read;

use base64::Engine as _;
use packer_schema::gob_decode::decode_object_spec;
use packer_schema::{gob, proto, spec_from_model_json, spec_to_model_json};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    match mode.as_str() {
        "encode" => {
            let models: Vec<serde_json::Value> = serde_json::from_str(&input)?;
            for m in &models {
                let spec = spec_from_model_json(m)?;
                let gob = b64.encode(gob::encode_object_spec(&spec));
                let proto = hex::encode(proto::encode_object_spec(&spec));
                println!("{gob} {proto}");
            }
        }
        "decode" => {
            for line in input.lines().filter(|l| !l.trim().is_empty()) {
                let spec = decode_object_spec(&b64.decode(line.trim())?)?;
                println!("{}", spec_to_model_json(&spec));
            }
        }
        _ => return Err("usage: spec_codec encode|decode < input".into()),
    }
    Ok(())
}
