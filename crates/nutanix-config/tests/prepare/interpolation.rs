//! `{{ ... }}` templates in option values, through `prepare`, in both template kinds.

use nutanix_config::prepare_with;
use packer_schema::{PackerVars, TemplateKind};
use serde_json::json;

use crate::helpers::{ambient, input, patched};

fn legacy_packer_vars() -> PackerVars {
    let mut p = PackerVars {
        build_name: "centos".into(),
        builder_type: "nutanix".into(),
        core_version: "1.16.0".into(),
        template_path: Some("/templates/centos/legacy.json".into()),
        ..Default::default()
    };
    p.user_variables.insert("cpus".into(), "4".into());
    p.user_variables.insert("env".into(), "Dev".into());
    p.user_variables.insert("iso".into(), "ubuntu.iso".into());
    p
}

/// (option, template, rendered value as the config shows it). One row per function.
#[test]
fn each_function_renders_in_legacy_json() {
    let rows: Vec<(&str, &str, &str)> = vec![
        ("vm_name", "vm-{{user `env`}}", "vm-Dev"),
        ("vm_name", "{{ user \"env\" | upper }}", "DEV"),
        ("vm_name", "vm-{{timestamp}}", "vm-1707462245"),
        ("vm_name", "{{isotime}}", "2024-02-09T07:04:05Z"),
        (
            "vm_name",
            "img-{{isotime \"2006-01-02\"}}",
            "img-2024-02-09",
        ),
        ("vm_name", "{{strftime \"%Y%m%d\"}}", "20240209"),
        ("vm_name", "{{build_name}}-{{build_type}}", "centos-nutanix"),
        ("vm_name", "{{packer_version}}", "1.16.0"),
        ("vm_name", "{{template_dir}}", "/templates/centos"),
        ("vm_name", "{{pwd}}", "/work/dir"),
        ("vm_name", "{{split `a,b,c` \",\" 2}}", "c"),
        ("vm_name", "{{replace \"a\" \"o\" 1 \"banana\"}}", "bonana"),
        (
            "vm_name",
            "{{replace_all \"a\" \"o\" \"banana\"}}",
            "bonono",
        ),
        ("vm_name", "{{lower \"MiXeD\"}}", "mixed"),
        ("vm_name", "{{upper \"MiXeD\"}}", "MIXED"),
        (
            "vm_name",
            "{{ user `env` | lower | replace_all `e` `E` }}",
            "dEv",
        ),
    ];
    for (key, template, expected) in rows {
        let body = patched(&json!({ key: template }));
        let p = prepare_with(
            &input(TemplateKind::LegacyJson, &body, legacy_packer_vars()),
            &ambient(),
        )
        .unwrap_or_else(|e| panic!("{template}: {e}"));
        assert_eq!(p.config.vm.vm_name, expected, "{template}");
    }
}

#[test]
fn uuid_renders_a_time_ordered_uuid() {
    let body = patched(&json!({"vm_name": "{{uuid}}"}));
    let p = prepare_with(
        &input(TemplateKind::LegacyJson, &body, legacy_packer_vars()),
        &ambient(),
    )
    .unwrap();
    let prefix = format!("{:08x}-", crate::helpers::now().timestamp());
    assert!(
        p.config.vm.vm_name.starts_with(&prefix),
        "{}",
        p.config.vm.vm_name
    );
    assert_eq!(p.config.vm.vm_name.len(), 36);
}

#[test]
fn templates_render_in_numbers_bools_lists_maps_and_blocks() {
    let body = patched(&json!({
        "cpu": "{{user `cpus`}}",
        "nutanix_insecure": "{{ lower `TRUE` }}",
        "cd_content": {"{{user `env`}}.cfg": "env={{user `env`}}"},
        "vm_categories": [{"key": "Env", "value": "{{user `env`}}"}],
        "vm_disks": [{"image_type": "ISO_IMAGE", "source_image_name": "{{user `iso`}}"}],
        "ssh_ciphers": ["{{upper `aes128-ctr`}}"],
        "template": {"create": true, "name": "tpl-{{isotime `20060102`}}"},
    }));
    let c = prepare_with(
        &input(TemplateKind::LegacyJson, &body, legacy_packer_vars()),
        &ambient(),
    )
    .unwrap()
    .config;
    assert_eq!(c.vm.cpu, 4);
    assert!(c.cluster.nutanix_insecure);
    assert_eq!(
        c.cd.cd_content.get("Dev.cfg").map(String::as_str),
        Some("env=Dev")
    );
    assert_eq!(c.vm.vm_categories[0].value, "Dev");
    assert_eq!(
        c.vm.vm_disks[0].source_image_name.as_deref(),
        Some("ubuntu.iso")
    );
    assert_eq!(c.comm.ssh.ssh_ciphers, ["AES128-CTR"]);
    assert_eq!(c.template.name, "tpl-20240209");
}

#[test]
fn boot_command_is_left_for_build_time_but_checked() {
    let cmd = "linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg {{ user `env` }}<enter>";
    let body = patched(
        &json!({"boot_command": [cmd], "shutdown_command": "echo {{user `env`}} | sudo -S shutdown -P now"}),
    );
    let c = prepare_with(
        &input(TemplateKind::LegacyJson, &body, legacy_packer_vars()),
        &ambient(),
    )
    .unwrap()
    .config;
    assert_eq!(c.boot.boot_command.elements(), [cmd]);
    // shutdown_command is rendered at Prepare time, as the Go plugin does.
    assert_eq!(
        c.shutdown.shutdown_command.as_deref(),
        Some("echo Dev | sudo -S shutdown -P now")
    );

    let bad = patched(&json!({"boot_command": ["<esc>{{ nosuch }}"]}));
    let e = prepare_with(
        &input(TemplateKind::LegacyJson, &bad, legacy_packer_vars()),
        &ambient(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "boot_command[0]: template error: function \"nosuch\" not defined"
    );
}

#[test]
fn build_time_data_outside_boot_command_is_kept_verbatim() {
    let body = patched(&json!({"shutdown_command": "echo {{ .Name }}"}));
    let c = prepare_with(
        &input(TemplateKind::Hcl2, &body, PackerVars::default()),
        &ambient(),
    )
    .unwrap()
    .config;
    assert_eq!(
        c.shutdown.shutdown_command.as_deref(),
        Some("echo {{ .Name }}")
    );
}

#[test]
fn hcl2_strings_are_rendered_too_as_the_go_sdk_does() {
    // The Go plugin's own HCL2 examples rely on this: image_name = "centos8-{{isotime `Jan-_2-15:04:05`}}".
    let body = patched(
        &json!({"image_name": "centos8-{{isotime `Jan-_2-15:04:05`}}", "template": {"create": true, "name": "Windows-11-Template-{{isotime}}"}}),
    );
    let packer = PackerVars {
        build_name: "centos".into(),
        ..Default::default()
    };
    let c = prepare_with(&input(TemplateKind::Hcl2, &body, packer), &ambient())
        .unwrap()
        .config;
    assert_eq!(c.vm.image_name, "centos8-Feb- 9-07:04:05");
    assert_eq!(c.template.name, "Windows-11-Template-2024-02-09T07:04:05Z");
}

#[test]
fn errors_name_the_option() {
    let cases = [
        (TemplateKind::LegacyJson, json!({"vm_name": "{{user `nope`}}"}), "vm_name: template error: error calling user: user variable \"nope\" is not defined"),
        (TemplateKind::LegacyJson, json!({"vm_disks": [{"image_type": "ISO_IMAGE", "source_image_name": "{{ frobnicate }}"}]}), "vm_disks[0].source_image_name: template error: function \"frobnicate\" not defined"),
        (TemplateKind::LegacyJson, json!({"image_name": "{{env `HOME`}}"}), "image_name: template error: error calling env: env vars are not allowed here (Packer allows env only in the variables section)"),
        (TemplateKind::LegacyJson, json!({"cd_content": {"a": "{{ user `x` "}}), "cd_content[\"a\"]: template error: unclosed action"),
        (TemplateKind::Hcl2, json!({"vm_name": "{{user `env`}}"}), "vm_name: template error: error calling user: user variables only exist in legacy JSON templates; in HCL2 use var.<name>"),
        (TemplateKind::Hcl2, json!({"vm_name": "{{template_dir}}"}), "vm_name: template error: error calling template_dir: template path not available"),
    ];
    for (kind, patch, expected) in cases {
        let packer = if kind == TemplateKind::LegacyJson {
            legacy_packer_vars()
        } else {
            PackerVars::default()
        };
        let e = prepare_with(&input(kind, &patched(&patch), packer), &ambient()).unwrap_err();
        assert_eq!(e.to_string(), expected, "{patch}");
    }
}
