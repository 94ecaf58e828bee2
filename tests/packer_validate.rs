//! Real Packer (1.16 protobuf, 1.16 gob, 1.11 gob) loads our installed plugin and validates templates:
//! valid ones pass, broken ones fail with our messages. This is what users run first.

// Test code: a failing test should stop loudly, so the workspace's panic-free lints do not apply.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::*;

#[test]
fn packer_lists_the_installed_plugin() {
    for packer in packers() {
        let installed = InstalledPlugin::install(&packer);
        let out = installed
            .packer(&packer)
            .args(["plugins", "installed"])
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{}: {}", packer.label, text(&out));
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            listing.contains(&format!("packer-plugin-nutanix_v{version}_x5.0_")),
            "{}: plugin not listed:\n{listing}",
            packer.label
        );
    }
}

#[test]
fn valid_templates_pass_packer_validate() {
    let dir = repo_root().join("tests/templates/valid");
    let templates = files_with_ext(&dir, &[".pkr.hcl", ".json"]);
    assert!(!templates.is_empty(), "no templates in {}", dir.display());
    for packer in packers() {
        let installed = InstalledPlugin::install(&packer);
        for template in &templates {
            let out = installed
                .packer(&packer)
                .current_dir(&dir)
                .arg("validate")
                .arg(template.file_name().unwrap())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {} should validate:\n{}",
                packer.label,
                template.display(),
                text(&out)
            );
        }
    }
}

#[test]
fn broken_templates_fail_with_our_messages() {
    fails_with_expected_messages("tests/templates/invalid");
}

/// Templates whose options are valid but that this version cannot build: refused at Prepare.
#[test]
fn unbuildable_templates_fail_packer_validate_naming_the_option() {
    fails_with_expected_messages("tests/templates/unbuildable");
}

/// Every template in `dir` fails `packer validate` with each of its `# expect:` lines.
fn fails_with_expected_messages(dir: &str) {
    let dir = repo_root().join(dir);
    let templates = files_with_ext(&dir, &[".pkr.hcl", ".json"]);
    assert!(!templates.is_empty(), "no templates in {}", dir.display());
    for packer in packers() {
        let installed = InstalledPlugin::install(&packer);
        for template in &templates {
            let expected = expectations(template);
            assert!(
                !expected.is_empty(),
                "{} has no `# expect:` line",
                template.display()
            );
            let out = installed
                .packer(&packer)
                .current_dir(&dir)
                .arg("validate")
                .arg(template.file_name().unwrap())
                .output()
                .unwrap();
            assert!(
                !out.status.success(),
                "{}: {} should fail validation:\n{}",
                packer.label,
                template.display(),
                text(&out)
            );
            let all = text(&out);
            for want in &expected {
                assert!(
                    all.contains(want.as_str()),
                    "{}: {} should report {want:?}:\n{all}",
                    packer.label,
                    template.display()
                );
            }
        }
    }
}
