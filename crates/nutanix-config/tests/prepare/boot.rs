//! `boot_command` and its timing options: checked at Prepare as the build will use them, and the
//! typed form the build renders and parses.

use std::time::Duration;

use boot_command::{events, Event};
use nutanix_config::{prepare_with, BootCommandError, BootData};
use packer_schema::{PackerVars, TemplateKind};
use serde_json::json;

use crate::helpers::{ambient, errors_of, input, patched, run, BOTH};

fn data() -> BootData {
    BootData {
        http_ip: "10.1.2.3".into(),
        http_port: 8123,
        name: "Packer-ABCD1234".into(),
    }
}

/// The keysyms pressed (key-down events only), as text where they are characters.
fn typed(events: impl Iterator<Item = Event>) -> String {
    events
        .filter_map(|e| match e {
            Event::KeyDown(k) if k < 0x100 => char::from_u32(k),
            Event::KeyDown(0xFF0D) => Some('⏎'),
            _ => None,
        })
        .collect()
}

#[test]
fn a_valid_command_is_typed_with_the_build_data() {
    for kind in BOTH {
        let body = patched(&json!({
            "boot_command": ["<esc><wait>", "linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg name={{ .Name }}<enter>"],
            "boot_key_interval": "10ms",
            "http_content": {"/ks.cfg": "text"},
        }));
        let p = run(kind, &body).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        let b = &p.config.boot;
        assert!(b.types_at_console());
        let cmd = b.boot_command.parse(&data()).unwrap();
        assert_eq!(
            typed(events(&cmd, b.key_interval(None))),
            "linux ks=http://10.1.2.3:8123/ks.cfg name=Packer-ABCD1234⏎"
        );
        assert_eq!(cmd.total_wait(), Duration::from_secs(1));
        assert_eq!(b.key_interval(Some("1s")), Duration::from_millis(10));
    }
}

#[test]
fn a_malformed_command_is_an_error_naming_the_element_and_position() {
    let body = patched(&json!({"boot_command": ["<esc><wait>", "linux\ntext <wait-1s><enter>"]}));
    for kind in BOTH {
        assert_eq!(
            errors_of(kind, &body),
            ["boot_command[1]: invalid boot command at line 2, column 6: <wait-1s> must wait longer than zero (got -1s)"]
        );
    }
    // Every problem, each in its element, at the place it is written even after a template.
    let body = patched(&json!({"boot_command": [
        "{{ .Name }}<wait0s>",
        "<wait99999999999999999999>",
        "<wait1h-30m>",
    ]}));
    assert_eq!(
        errors_of(TemplateKind::Hcl2, &body),
        [
            "boot_command[0]: invalid boot command at line 1, column 12: <wait0s> must wait longer than zero (got 0ns)",
            "boot_command[1]: invalid boot command at line 1, column 6: 99999999999999999999 is too large for a number of seconds to wait",
            "boot_command[2]: invalid boot command at line 1, column 6: \"1h-30m\" is not a valid wait: unknown unit \"h-\" in duration \"1h-30m\"",
        ]
    );
}

#[test]
fn elements_are_joined_before_parsing() {
    // As in Packer, a key or a wait may be split across elements.
    let body = patched(&json!({"boot_command": ["<ent", "er><wa", "it5>"]}));
    let c = run(TemplateKind::Hcl2, &body).unwrap().config;
    let cmd = c.boot.boot_command.parse(&data()).unwrap();
    assert_eq!(cmd.steps().len(), 2);
    // An error is reported in the element where its text starts.
    let body = patched(&json!({"boot_command": ["ab<wait", "0s>"]}));
    assert_eq!(
        errors_of(TemplateKind::Hcl2, &body),
        ["boot_command[0]: invalid boot command at line 1, column 3: <wait0s> must wait longer than zero (got 0ns)"]
    );
    // Trim markers reaching into the previous element work as in Packer (rendered once, joined).
    let body = patched(&json!({"boot_command": ["ab  ", "{{- .Name }}<wait0s>"]}));
    assert_eq!(
        errors_of(TemplateKind::Hcl2, &body),
        ["boot_command[1]: invalid boot command at line 1, column 13: <wait0s> must wait longer than zero (got 0ns)"]
    );
    let body = patched(&json!({"boot_command": ["ab  ", "{{- .Name }}"]}));
    let c = run(TemplateKind::Hcl2, &body).unwrap().config;
    assert_eq!(
        c.boot.boot_command.render(&data()).unwrap(),
        "abPacker-ABCD1234"
    );
    // A problem in what a template produced points at the template.
    let body = patched(&json!({"vm_name": "<wait0s>", "boot_command": ["ab{{ .Name }}"]}));
    assert_eq!(
        errors_of(TemplateKind::Hcl2, &body),
        ["boot_command[0]: invalid boot command at line 1, column 3 (in what the template there renders to): <wait0s> must wait longer than zero (got 0ns)"]
    );
}

#[test]
fn template_problems_are_reported_at_prepare() {
    for (element, message) in [
        ("{{ .Foo }}", "boot_command[0]: template error: no build data named .Foo"),
        (
            "{{ nosuch }}",
            "boot_command[0]: template error: function \"nosuch\" not defined",
        ),
        (
            "{{ user `x` }}",
            "boot_command[0]: template error: error calling user: user variables only exist in legacy JSON templates; in HCL2 use var.<name>",
        ),
    ] {
        let body = patched(&json!({ "boot_command": [element] }));
        assert_eq!(errors_of(TemplateKind::Hcl2, &body), [message], "{element}");
    }
}

#[test]
fn legacy_user_variables_are_rendered_at_build_time() {
    let mut packer = PackerVars::default();
    packer.user_variables.insert("ks".into(), "ks.cfg".into());
    packer
        .user_variables
        .insert("secret".into(), "hunter2".into());
    let body = patched(&json!({"boot_command": ["http://{{ .HTTPIP }}/{{ user `ks` }}"]}));
    let c = prepare_with(&input(TemplateKind::LegacyJson, &body, packer), &ambient())
        .unwrap()
        .config;
    assert_eq!(
        c.boot.boot_command.elements(),
        ["http://{{ .HTTPIP }}/{{ user `ks` }}"]
    );
    assert_eq!(
        c.boot.boot_command.render(&data()).unwrap(),
        "http://10.1.2.3/ks.cfg"
    );
    // The stored template context is not printed with the configuration.
    let shown = format!("{:?}", c.boot.boot_command);
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn build_time_values_can_still_break_a_command() {
    let body = patched(&json!({"boot_command": ["<wait{{ .HTTPPort }}>"]}));
    let c = run(TemplateKind::Hcl2, &body).unwrap().config;
    let ok = c.boot.boot_command.parse(&data()).unwrap();
    assert_eq!(ok.total_wait(), Duration::from_secs(8123));
    let zero = BootData {
        http_port: 0,
        ..data()
    };
    // `<wait0>` is one second in Packer's grammar, so port 0 still parses.
    assert_eq!(
        c.boot.boot_command.parse(&zero).unwrap().total_wait(),
        Duration::from_secs(1)
    );
    let body = patched(&json!({"boot_command": ["<wait-{{ .HTTPPort }}s>"]}));
    let c = run(TemplateKind::Hcl2, &body);
    assert!(
        c.is_err(),
        "a negative wait with the stand-in port is caught"
    );
    let body = patched(&json!({"boot_command": ["<wait{{ .Name }}>"]}));
    let c = run(TemplateKind::Hcl2, &body).unwrap().config;
    let weird = BootData {
        name: "0s".into(),
        ..data()
    };
    let e = c.boot.boot_command.parse(&weird).unwrap_err();
    assert!(matches!(e, BootCommandError::Parse(_)), "{e}");
    assert_eq!(
        e.to_string(),
        "boot_command: line 1, column 1: <wait0s> must wait longer than zero (got 0ns)"
    );
}

#[test]
fn boot_wait_may_be_negative_meaning_zero() {
    for (given, want) in [("-1s", 0), ("0s", 0), ("90s", 90)] {
        let c = run(TemplateKind::Hcl2, &patched(&json!({ "boot_wait": given })))
            .unwrap()
            .config;
        assert_eq!(
            c.boot.boot_wait.duration(),
            Duration::from_secs(want),
            "{given}"
        );
    }
    assert_eq!(
        errors_of(TemplateKind::Hcl2, &patched(&json!({"boot_wait": "10"}))),
        ["boot_wait: missing unit in duration \"10\"; use Go duration syntax such as \"10s\" or \"1m30s\""]
    );
}

#[test]
fn notes_for_options_that_do_nothing_and_keys_no_keyboard_has() {
    let body = patched(&json!({
        "boot_command": ["linux\n", "界"],
        "boot_keygroup_interval": "1s",
    }));
    let p = run(TemplateKind::Hcl2, &body).unwrap();
    assert_eq!(
        p.warnings,
        [
            "boot_keygroup_interval is not used when typing over VNC (Packer's VNC driver ignores it too); use boot_key_interval",
            "boot_command[0]: line 1, column 6: the control character '\\n' is sent as keysym 0xA, which no key produces; VNC servers usually ignore it (write <enter>, <tab>, ... for keys)",
            "boot_command[1]: line 1, column 1: '界' is sent as keysym 0x754C, which no key produces; VNC servers usually ignore it",
        ]
    );
}

#[test]
fn http_values_without_an_http_server_are_noted() {
    let note = "boot_command uses {{ .HTTPIP }} or {{ .HTTPPort }}, but neither http_directory nor http_content is set, so no HTTP server runs and they render as \"\" and 0";
    let body =
        patched(&json!({"boot_command": ["ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg"]}));
    assert_eq!(run(TemplateKind::Hcl2, &body).unwrap().warnings, [note]);
    let body = patched(&json!({
        "boot_command": ["ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg"],
        "http_content": {"/ks.cfg": "text"},
    }));
    assert!(run(TemplateKind::Hcl2, &body).unwrap().warnings.is_empty());
    let body = patched(&json!({"boot_command": ["hostname={{ .Name }}<enter>"]}));
    assert!(run(TemplateKind::Hcl2, &body).unwrap().warnings.is_empty());
}

#[test]
fn disable_vnc_skips_typing_but_the_command_is_still_checked() {
    let body = patched(&json!({"boot_command": ["<enter>"], "disable_vnc": true}));
    let p = run(TemplateKind::Hcl2, &body).unwrap();
    assert!(!p.config.boot.types_at_console());
    assert_eq!(
        p.warnings,
        ["boot_command is ignored because disable_vnc = true"]
    );
    let body = patched(&json!({"boot_command": ["<wait0s>"], "disable_vnc": true}));
    assert_eq!(errors_of(TemplateKind::Hcl2, &body).len(), 1);
    let c = run(TemplateKind::Hcl2, &patched(&json!({})))
        .unwrap()
        .config;
    assert!(!c.boot.types_at_console());
}
