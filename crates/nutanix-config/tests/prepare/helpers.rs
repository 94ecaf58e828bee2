//! Building inputs the way Packer sends them.

use chrono::{DateTime, TimeZone, Utc};
use nutanix_config::{config_spec, prepare_with, Ambient, ConfigErrors, Prepared};
use packer_schema::{ObjectSpec, PackerVars, PrepareInput, Spec, TemplateKind};
use serde_json::{json, Map, Value};

/// The smallest body that passes validation.
pub fn base() -> Map<String, Value> {
    let v = json!({
        "nutanix_endpoint": "pc.example.com",
        "nutanix_username": "admin",
        "nutanix_password": "secret",
        "cluster_name": "cl1",
        "ssh_username": "root",
        "vm_disks": [{"image_type": "DISK_IMAGE", "source_image_name": "centos"}],
        "vm_nics": [{"subnet_name": "vlan0"}],
    });
    v.as_object().unwrap().clone()
}

/// `base()` with `patch` applied: each key replaces the base key, a null removes it.
pub fn patched(patch: &Value) -> Map<String, Value> {
    let mut body = base();
    for (k, v) in patch.as_object().expect("patch is an object") {
        if v.is_null() {
            body.remove(k);
        } else {
            body.insert(k.clone(), v.clone());
        }
    }
    body
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 2, 9, 7, 4, 5).unwrap()
}

pub fn ambient() -> Ambient {
    Ambient {
        now: now(),
        cwd: Some("/work/dir".into()),
        home: None,
        vm_name_suffix: Some("ABCD1234".to_string()),
    }
}

/// What hcldec gives Packer for an HCL2 body: every key of the spec present, unset ones null,
/// absent single blocks null, absent repeated blocks `[]`, and every nested key present too.
pub fn as_hcl2(body: &Map<String, Value>) -> Value {
    fn fill(spec: &ObjectSpec, body: &Map<String, Value>) -> Map<String, Value> {
        let mut out = Map::new();
        for (key, s) in &spec.0 {
            let given = body.get(key).cloned().unwrap_or(Value::Null);
            let v = match (s, given) {
                (Spec::Attr(_), v) => v,
                (Spec::Block(b), Value::Object(m)) => Value::Object(fill(&b.nested, &m)),
                (Spec::Block(_), other) => other,
                (Spec::BlockList(_), Value::Null) => json!([]),
                (Spec::BlockList(b), Value::Array(items)) => Value::Array(
                    items
                        .into_iter()
                        .map(|i| match i {
                            Value::Object(m) => Value::Object(fill(&b.nested, &m)),
                            other => other,
                        })
                        .collect(),
                ),
                (Spec::BlockList(_), other) => other,
            };
            out.insert(key.clone(), v);
        }
        // Keys outside the spec are kept so tests of unknown keys still see them.
        for (k, v) in body {
            out.entry(k.clone()).or_insert(v.clone());
        }
        out
    }
    Value::Object(fill(&config_spec(), body))
}

/// Legacy JSON templates arrive through Go's encoding/json: every number is a float64.
pub fn as_legacy_json(body: &Map<String, Value>) -> Value {
    fn floats(v: &Value) -> Value {
        match v {
            Value::Number(n) => json!(n.as_f64().unwrap()),
            Value::Array(a) => Value::Array(a.iter().map(floats).collect()),
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), floats(v))).collect())
            }
            other => other.clone(),
        }
    }
    floats(&Value::Object(body.clone()))
}

pub fn input(kind: TemplateKind, body: &Map<String, Value>, packer: PackerVars) -> PrepareInput {
    let config = match kind {
        TemplateKind::Hcl2 => as_hcl2(body),
        TemplateKind::LegacyJson => as_legacy_json(body),
    };
    PrepareInput {
        kind,
        packer,
        configs: vec![config],
    }
}

pub fn run(kind: TemplateKind, body: &Map<String, Value>) -> Result<Prepared, ConfigErrors> {
    prepare_with(&input(kind, body, PackerVars::default()), &ambient())
}

pub const BOTH: [TemplateKind; 2] = [TemplateKind::Hcl2, TemplateKind::LegacyJson];

/// The error lines of a failing prepare.
pub fn errors_of(kind: TemplateKind, body: &Map<String, Value>) -> Vec<String> {
    match run(kind, body) {
        Ok(p) => panic!("expected errors, got a config: {:?}", p.config),
        Err(e) => e.to_string().lines().map(str::to_string).collect(),
    }
}
