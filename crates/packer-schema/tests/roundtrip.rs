//! Property-style round trip: random specs through our gob encoder and back through our decoder.
//! A small xorshift generator keeps it deterministic and dependency-free; the seed of a failing
//! case is printed.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use packer_schema::gob::encode_object_spec;
use packer_schema::gob_decode::decode_object_spec;
use packer_schema::{AttrSpec, BlockListSpec, BlockSpec, CtyType, ObjectSpec, Spec};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn name(&mut self) -> String {
        const PARTS: [&str; 9] = ["a", "vm_", "disk", "é", "中", "\u{0}", " ", "\"", "x"];
        (0..self.below(14))
            .map(|_| PARTS[self.below(PARTS.len() as u64) as usize])
            .collect()
    }
    fn int(&mut self) -> i64 {
        match self.below(6) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i64::MAX,
            4 => i64::MIN,
            _ => self.next() as i64,
        }
    }
    fn ty(&mut self, depth: u32) -> CtyType {
        match if depth < 5 {
            self.below(5)
        } else {
            self.below(3)
        } {
            0 => CtyType::String,
            1 => CtyType::Number,
            2 => CtyType::Bool,
            3 => CtyType::List(Box::new(self.ty(depth + 1))),
            _ => CtyType::Map(Box::new(self.ty(depth + 1))),
        }
    }
    fn spec(&mut self, depth: u32) -> ObjectSpec {
        let mut out = ObjectSpec::new();
        for _ in 0..self.below(if depth == 0 { 12 } else { 5 }) {
            let key = self.name();
            let entry = match if depth < 4 { self.below(10) } else { 9 } {
                0 | 1 => Spec::Block(BlockSpec {
                    type_name: self.name(),
                    nested: self.spec(depth + 1),
                    required: self.chance(30),
                }),
                2 | 3 => Spec::BlockList(BlockListSpec {
                    type_name: self.name(),
                    nested: self.spec(depth + 1),
                    min_items: self.int(),
                    max_items: self.int(),
                }),
                _ => Spec::Attr(AttrSpec {
                    name: self.name(),
                    ty: self.ty(0),
                    required: self.chance(30),
                }),
            };
            out.0.insert(key, entry);
        }
        out
    }
}

#[test]
fn random_specs_round_trip_through_gob() {
    for seed in 1..=600u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let spec = rng.spec(0);
        let bytes = encode_object_spec(&spec);
        let back = decode_object_spec(&bytes).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(back, spec, "seed {seed}");
    }
}

#[test]
fn generator_reaches_deep_shapes() {
    // Guards the property test against a generator that silently stopped producing nesting.
    let (mut deepest_block, mut deepest_type) = (0, 0);
    fn ty_depth(t: &CtyType) -> u32 {
        match t {
            CtyType::List(e) | CtyType::Map(e) => 1 + ty_depth(e),
            _ => 0,
        }
    }
    fn walk(s: &ObjectSpec, d: u32, db: &mut u32, dt: &mut u32) {
        for e in s.0.values() {
            match e {
                Spec::Attr(a) => *dt = (*dt).max(ty_depth(&a.ty)),
                Spec::Block(b) => {
                    *db = (*db).max(d + 1);
                    walk(&b.nested, d + 1, db, dt)
                }
                Spec::BlockList(l) => {
                    *db = (*db).max(d + 1);
                    walk(&l.nested, d + 1, db, dt)
                }
            }
        }
    }
    for seed in 1..=600u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        walk(&rng.spec(0), 0, &mut deepest_block, &mut deepest_type);
    }
    assert!(deepest_block >= 4, "deepest block nesting {deepest_block}");
    assert!(deepest_type >= 4, "deepest list/map nesting {deepest_type}");
}
