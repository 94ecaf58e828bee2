//! The cty JSON body Packer sends to Builder.Prepare: decoding never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = packer_schema::cty_json::decode(data);
});
