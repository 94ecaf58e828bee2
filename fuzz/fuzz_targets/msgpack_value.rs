//! One msgpack value as Packer's net/rpc codec sends it: decoding never panics, never claims more
//! bytes than it was given, re-encodes to bytes that decode and re-encode to the same bytes
//! (compared as bytes, so NaN floats count as equal to themselves), and the RPC header readers
//! accept or refuse it without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use packer_rpc::{codec, msgpack};

fuzz_target!(|data: &[u8]| {
    let Ok((value, used)) = msgpack::decode_value(data) else {
        return;
    };
    assert!(used <= data.len(), "consumed {used} of {} bytes", data.len());
    let _ = codec::decode_request_header(&value);
    let _ = codec::decode_response_header(&value);
    let _ = msgpack::view::describe(&value);
    if let Ok(bytes) = msgpack::write::encode_value(&value) {
        let (again, n) = msgpack::decode_value(&bytes).expect("our own encoding decodes");
        assert_eq!(n, bytes.len());
        let twice = msgpack::write::encode_value(&again).expect("a decoded value encodes");
        assert_eq!(twice, bytes, "decode and encode are not inverse on our own output");
    }
});
