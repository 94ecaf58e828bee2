//! Test helpers: hex, the ugorji vectors, a scripted raw peer.

use rmpv::Value;

/// Bytes from a hex string (spaces allowed).
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Hex of bytes.
pub(crate) fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const VECTORS: &str = include_str!("../../testdata/ugorji-v1.2.6.txt");

/// A vector produced by real ugorji v1.2.6 (testdata/ugorji-gen/main.go): full hex, or for large
/// cases `len=N prefix=HEX`.
pub(crate) fn ugorji(name: &str) -> &'static str {
    VECTORS
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("no ugorji vector {name}"))
}

/// Checks `bytes` against a ugorji vector (either form).
pub(crate) fn assert_ugorji(name: &str, bytes: &[u8]) {
    let want = ugorji(name);
    if let Some(rest) = want.strip_prefix("len=") {
        let (len, prefix) = rest.split_once(" prefix=").unwrap();
        assert_eq!(bytes.len(), len.parse::<usize>().unwrap(), "{name}: length");
        assert_eq!(to_hex(&bytes[..8]), prefix, "{name}: prefix");
    } else {
        assert_eq!(to_hex(bytes), want, "{name}");
    }
}

/// Decodes one complete msgpack value (test input is trusted).
pub(crate) fn decode(bytes: &[u8]) -> Value {
    let (v, used) = crate::msgpack::decode_value(bytes).unwrap();
    assert_eq!(used, bytes.len());
    v
}

/// Builds a msgpack map with string keys.
pub(crate) fn map(entries: &[(&str, Value)]) -> Value {
    Value::Map(
        entries
            .iter()
            .map(|(k, v)| (Value::from(*k), v.clone()))
            .collect(),
    )
}
