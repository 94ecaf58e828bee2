//! yamux frame headers: any 12 bytes decode or are refused without panicking, and a decoded
//! header encodes to bytes that decode to the same header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packer_mux::frame::{Header, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = data.get(..HEADER_LEN) else {
        return;
    };
    let mut raw = [0u8; HEADER_LEN];
    raw.copy_from_slice(bytes);
    if let Ok(h) = Header::decode(&raw) {
        let again = Header::decode(&h.encode()).expect("our own encoding decodes");
        assert_eq!(again, h);
    }
});
