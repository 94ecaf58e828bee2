//! No input makes prepare or the template engine panic: seeded random templates and bodies.

use nutanix_config::{config_spec, interpolate, prepare_with};
use packer_schema::{PackerVars, PrepareInput, Spec, TemplateKind};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

const PIECES: &[&str] = &[
    "{{",
    "}}",
    "{{-",
    "-}}",
    " ",
    "-",
    "`",
    "\"",
    "\\",
    "\\u00e9",
    "(",
    ")",
    "|",
    ".",
    ".X",
    "x",
    "user",
    "split",
    "replace",
    "isotime",
    "uuid",
    "upper",
    "1",
    "-1",
    "é",
    "/*",
    "*/",
    "$",
    "'",
    "\n",
    "if",
    "true",
    "printf",
    "build",
    "0x",
    "99999999999999999999",
];

fn random_text(rng: &mut StdRng) -> String {
    (0..rng.random_range(0..12))
        .map(|_| PIECES[rng.random_range(0..PIECES.len())])
        .collect()
}

fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    match rng.random_range(0..if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.random_bool(0.5)),
        2 => json!(rng.random_range(-5_i64..70_000)),
        3 => json!(rng.random_range(-1e20..1e20)),
        4 | 5 => json!(random_text(rng)),
        6 => Value::Array(
            (0..rng.random_range(0..3))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.random_range(0..3))
                .map(|_| (random_text(rng), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}

#[test]
fn the_template_engine_never_panics() {
    let mut rng = StdRng::seed_from_u64(7);
    let ctx = interpolate::Context::at(crate::helpers::now());
    for _ in 0..20_000 {
        let t = random_text(&mut rng);
        let _ = interpolate::check(&t);
        let _ = interpolate::render(&t, &ctx);
    }
}

#[test]
fn prepare_never_panics_on_random_bodies() {
    let spec = config_spec();
    let mut rng = StdRng::seed_from_u64(11);
    for round in 0..3_000 {
        let mut body = Map::new();
        for (key, s) in &spec.0 {
            if !rng.random_bool(0.15) {
                continue;
            }
            let nested = match s {
                Spec::Block(b) => Some((&b.nested, false)),
                Spec::BlockList(l) => Some((&l.nested, true)),
                Spec::Attr(_) => None,
            };
            let v = match nested {
                Some((nested, list)) if rng.random_bool(0.7) => {
                    let mut obj = Map::new();
                    for k in nested.0.keys() {
                        if rng.random_bool(0.5) {
                            obj.insert(k.clone(), random_value(&mut rng, 1));
                        }
                    }
                    if list {
                        json!([obj])
                    } else {
                        Value::Object(obj)
                    }
                }
                _ => random_value(&mut rng, 0),
            };
            body.insert(key.clone(), v);
        }
        if rng.random_bool(0.1) {
            body.insert(random_text(&mut rng), random_value(&mut rng, 0));
        }
        let kind = if round % 2 == 0 {
            TemplateKind::Hcl2
        } else {
            TemplateKind::LegacyJson
        };
        let input = PrepareInput {
            kind,
            packer: PackerVars::default(),
            configs: vec![Value::Object(body)],
        };
        let _ = prepare_with(&input, &crate::helpers::ambient());
    }
}
