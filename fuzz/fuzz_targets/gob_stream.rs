//! Go gob streams (what Packer <= 1.11 sends and reads): the decoder never panics, and a schema
//! it decodes re-encodes with our encoder to bytes that decode to the same schema.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packer_schema::{gob, gob_decode};

fuzz_target!(|data: &[u8]| {
    let _ = gob_decode::decode_value(data);
    let _ = gob_decode::decode_command_finished(data);
    if let Ok(spec) = gob_decode::decode_object_spec(data) {
        let bytes = gob::encode_object_spec(&spec);
        let again = gob_decode::decode_object_spec(&bytes).expect("our own encoding decodes");
        assert_eq!(again, spec, "re-encoding changed the schema");
    }
});
