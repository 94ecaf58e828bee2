//! Our schema against the Go plugin's exact HCL2 spec (vectors/nutanix-spec.model.json, decoded from
//! the real gob output of the v1.3 line): every Go key exists with the same type and block structure.

use std::collections::BTreeSet;

use nutanix_config::config_spec;
use packer_schema::{ObjectSpec, Spec};
use serde_json::Value;

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../packer-schema/testdata/shared/nutanix-spec.model.json"
);

/// Keys we add to the Go plugin's surface, each on purpose (see the option docs).
const OURS: &[&str] = &[
    "http_bind_address",
    "http_content",
    "http_directory",
    "http_port_max",
    "http_port_min",
    "meta_data",
    "nutanix_api_key",
    "nutanix_ca_cert",
    "nutanix_custom_headers",
    "output_directory",
    "secure_boot",
];

/// Go keys of the v1.3 line we deliberately leave out, with the reason. None so far.
const OMITTED: &[(&str, &str)] = &[];

fn compare(go: &ObjectSpec, ours: &ObjectSpec, prefix: &str, problems: &mut Vec<String>) {
    for (key, g) in &go.0 {
        let path = format!("{prefix}{key}");
        if OMITTED.iter().any(|(k, _)| *k == path) {
            continue;
        }
        let Some(o) = ours.0.get(key) else {
            problems.push(format!("{path}: missing"));
            continue;
        };
        match (g, o) {
            (Spec::Attr(g), Spec::Attr(o)) => {
                if g != o {
                    problems.push(format!("{path}: Go {g:?}, ours {o:?}"));
                }
            }
            (Spec::Block(g), Spec::Block(o)) => {
                if (&g.type_name, g.required) != (&o.type_name, o.required) {
                    problems.push(format!(
                        "{path}: Go block {:?}/{}, ours {:?}/{}",
                        g.type_name, g.required, o.type_name, o.required
                    ));
                }
                compare(&g.nested, &o.nested, &format!("{path}."), problems);
            }
            (Spec::BlockList(g), Spec::BlockList(o)) => {
                if (&g.type_name, g.min_items, g.max_items)
                    != (&o.type_name, o.min_items, o.max_items)
                {
                    problems.push(format!("{path}: Go block list differs from ours"));
                }
                compare(&g.nested, &o.nested, &format!("{path}."), problems);
            }
            _ => problems.push(format!("{path}: Go {g:?}, ours {o:?}")),
        }
    }
}

fn go_model() -> ObjectSpec {
    let text = std::fs::read_to_string(MODEL).expect("vectors/nutanix-spec.model.json");
    packer_schema::spec_from_model_json(&serde_json::from_str(&text).unwrap()).unwrap()
}

#[test]
fn every_go_key_exists_with_the_same_type_and_block_structure() {
    let go = go_model();
    assert_eq!(go.0.len(), 110, "the model should be the 110-key v1.3 spec");
    let ours = config_spec();
    let mut problems = Vec::new();
    compare(&go, &ours, "", &mut problems);
    assert!(
        problems.is_empty(),
        "schema differences:\n{}",
        problems.join("\n")
    );
}

#[test]
fn our_extra_keys_are_exactly_the_documented_ones() {
    let go: BTreeSet<String> = go_model().0.keys().cloned().collect();
    let ours: BTreeSet<String> = config_spec().0.keys().cloned().collect();
    let extra: Vec<&String> = ours.difference(&go).collect();
    assert_eq!(extra, OURS.iter().collect::<Vec<_>>());
}

#[test]
fn nested_blocks_have_no_extra_keys() {
    // Blocks are shared with the Go plugin verbatim; extensions go at the top level.
    let go = go_model();
    let ours = config_spec();
    for (key, g) in &go.0 {
        let (Some(gn), Some(on)) = (nested(g), ours.0.get(key).and_then(nested)) else {
            continue;
        };
        let gk: Vec<&String> = gn.0.keys().collect();
        let ok: Vec<&String> = on.0.keys().collect();
        assert_eq!(gk, ok, "{key}");
    }
}

fn nested(s: &Spec) -> Option<&ObjectSpec> {
    match s {
        Spec::Block(b) => Some(&b.nested),
        Spec::BlockList(b) => Some(&b.nested),
        Spec::Attr(_) => None,
    }
}

#[test]
fn the_schema_is_stable_and_only_uses_kinds_both_wire_forms_carry() {
    fn walk(spec: &ObjectSpec) {
        for (k, s) in &spec.0 {
            match s {
                Spec::Attr(a) => {
                    assert_eq!(&a.name, k);
                    assert!(
                        !a.required,
                        "{k}: required-ness is checked in prepare, as the Go plugin does"
                    );
                }
                Spec::Block(b) => {
                    assert_eq!(&b.type_name, k);
                    walk(&b.nested);
                }
                Spec::BlockList(b) => {
                    assert_eq!(&b.type_name, k);
                    assert_eq!(
                        (b.min_items, b.max_items),
                        (0, 0),
                        "{k}: protobuf cannot carry item limits"
                    );
                    walk(&b.nested);
                }
            }
        }
    }
    walk(&config_spec());
    assert_eq!(config_spec(), config_spec());
}

/// The cty JSON real hcldec produced for vectors/prepare/sample.pkr.hcl.body against the Go spec.
const SAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../packer-schema/testdata/shared/sample.cty.json"
);

#[test]
fn real_hcldec_output_for_the_go_spec_prepares_with_go_rules() {
    use nutanix_config::{prepare_with, BootType, ImageType};
    use packer_schema::{PackerVars, PrepareInput, TemplateKind};

    let doc: Value = serde_json::from_str(&std::fs::read_to_string(SAMPLE).unwrap()).unwrap();
    let value = doc["value"].clone();
    let input = |v: Value| PrepareInput {
        kind: TemplateKind::Hcl2,
        packer: PackerVars::default(),
        configs: vec![v],
    };
    // The sample enables a vTPM with the default legacy boot and sets no ssh_username: the Go plugin
    // rejects both, and so do we.
    let err = prepare_with(&input(value.clone()), &crate::helpers::ambient()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vtpm.enabled: vTPM is not supported with legacy boot type; set boot_type to uefi or secure_boot\n\
         ssh_username: An ssh_username must be specified with communicator = \"ssh\""
    );
    let mut fixed = value;
    fixed["boot_type"] = Value::from("uefi");
    fixed["ssh_username"] = Value::from("root");
    let c = prepare_with(&input(fixed), &crate::helpers::ambient())
        .unwrap()
        .config;
    assert_eq!(c.vm.boot_type, BootType::Uefi);
    assert_eq!((c.vm.cpu, c.vm.memory_mb), (2, 4096));
    assert_eq!(
        c.boot.boot_command.elements()[1],
        "linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>"
    );
    assert_eq!(c.cd.cd_content.get("ks.cfg").map(String::as_str), Some("x"));
    assert_eq!(c.vm.vm_disks.len(), 2);
    assert_eq!(c.vm.vm_disks[1].image_type, Some(ImageType::Disk));
    assert_eq!(c.vm.vm_disks[1].disk_size_gb, Some(10));
    assert_eq!(c.vm.vm_nics[0].subnet_name.as_deref(), Some("vlan0"));
    assert!(c.cluster.nutanix_insecure && c.vm.vtpm.enabled);
}
