//! Helpers shared by the integration tests: loading the golden vectors under `testdata/`.
#![allow(dead_code)]

use std::path::PathBuf;

use base64::Engine as _;
use packer_schema::{spec_from_model_json, ObjectSpec};

/// `testdata/<rel>` of this crate.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(testdata(rel)).unwrap_or_else(|e| panic!("reading testdata/{rel}: {e}"))
}

pub fn read_text(rel: &str) -> String {
    String::from_utf8(read(rel)).unwrap()
}

/// A file holding one base64 blob (whitespace ignored).
pub fn base64_file(rel: &str) -> Vec<u8> {
    let text: String = read_text(rel).split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

/// Files made of `### title` lines, each followed by one hex blob (possibly over several lines).
pub fn hex_sections(rel: &str) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in read_text(rel).lines() {
        if let Some(title) = line.strip_prefix("### ") {
            out.push((title.trim().to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.extend(line.split_whitespace());
        }
    }
    out.into_iter()
        .map(|(t, h)| {
            let bytes = hex::decode(&h).unwrap_or_else(|e| panic!("{rel} section {t}: {e}"));
            (t, bytes)
        })
        .collect()
}

/// The hex blob of the section whose title starts with `prefix`.
pub fn section(rel: &str, prefix: &str) -> Vec<u8> {
    let all = hex_sections(rel);
    let found: Vec<_> = all.iter().filter(|(t, _)| t.starts_with(prefix)).collect();
    assert_eq!(
        found.len(),
        1,
        "{rel}: sections starting with {prefix:?}: {:?}",
        found.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    found[0].1.clone()
}

/// `name hex` lines (testdata/shared/gobref-cases.txt and our own Go-produced files).
pub fn named_hex_lines(rel: &str) -> Vec<(String, Vec<u8>)> {
    read_text(rel)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, h) = l
                .split_once(' ')
                .unwrap_or_else(|| panic!("{rel}: bad line {l:?}"));
            (
                name.to_string(),
                hex::decode(h.trim()).unwrap_or_else(|e| panic!("{rel} {name}: {e}")),
            )
        })
        .collect()
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

/// The Go nutanix builder's spec, from the model JSON captured from Go's gob output.
pub fn nutanix_spec() -> ObjectSpec {
    spec_from_model_json(&json(&read_text("shared/nutanix-spec.model.json"))).unwrap()
}

/// A tiny gob writer for hand-crafted (often malformed) streams in tests.
pub mod craft {
    pub fn uint(out: &mut Vec<u8>, n: u64) {
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let b = n.to_be_bytes();
            let skip = (n.leading_zeros() / 8) as usize;
            out.push((8 - skip as u8).wrapping_neg());
            out.extend_from_slice(&b[skip..]);
        }
    }
    pub fn int(out: &mut Vec<u8>, i: i64) {
        uint(
            out,
            if i < 0 {
                ((!i as u64) << 1) | 1
            } else {
                (i as u64) << 1
            },
        );
    }
    pub fn string(out: &mut Vec<u8>, s: &[u8]) {
        uint(out, s.len() as u64);
        out.extend_from_slice(s);
    }
    pub fn message(out: &mut Vec<u8>, body: &[u8]) {
        string(out, body);
    }
    /// Body of a struct type definition: -id, wireType{StructT{CommonType{name,id}, fields}}.
    pub fn struct_def(id: i64, name: &str, fields: &[(&str, i64)]) -> Vec<u8> {
        let mut b = Vec::new();
        int(&mut b, -id);
        b.extend([3, 1, 1]);
        string(&mut b, name.as_bytes());
        b.push(1);
        int(&mut b, id);
        b.extend([0, 1]);
        uint(&mut b, fields.len() as u64);
        for (n, t) in fields {
            b.push(1);
            string(&mut b, n.as_bytes());
            b.push(1);
            int(&mut b, *t);
            b.push(0);
        }
        b.extend([0, 0]);
        b
    }
    /// Body of a slice type definition.
    pub fn slice_def(id: i64, elem: i64) -> Vec<u8> {
        let mut b = Vec::new();
        int(&mut b, -id);
        b.extend([2, 1, 1]);
        string(&mut b, b"S");
        b.push(1);
        int(&mut b, id);
        b.extend([0, 1]);
        int(&mut b, elem);
        b.extend([0, 0]);
        b
    }
    /// Body of a map type definition.
    pub fn map_def(id: i64, key: i64, elem: i64) -> Vec<u8> {
        let mut b = Vec::new();
        int(&mut b, -id);
        b.extend([4, 1, 1]);
        string(&mut b, b"M");
        b.push(1);
        int(&mut b, id);
        b.extend([0, 1]);
        int(&mut b, key);
        b.push(1);
        int(&mut b, elem);
        b.extend([0, 0]);
        b
    }
}
