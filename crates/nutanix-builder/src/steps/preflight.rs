//! Refuses, before anything is created, what this version cannot do, so nobody waits for a VM
//! to boot only to learn that the last step is missing.

use std::path::Path;

use nutanix_config::{Communicator, Config};

use super::Build;
use crate::error::BuildError;
use crate::spec::{data_disk_count, export_path, output_image_name, ova_path};

/// Every problem at once, one per line.
pub(crate) fn problems(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if !cfg.boot.boot_command.is_empty() && !cfg.boot.disable_vnc {
        out.push("boot_command: typing at the VM console (VNC) is not supported by this version of packer-plugin-nutanix yet; set disable_vnc = true to build without it".to_string());
    }
    match cfg.comm.communicator {
        Communicator::Winrm => out.push("communicator = \"winrm\": the WinRM communicator is not supported by this version of packer-plugin-nutanix yet; use ssh or none".to_string()),
        Communicator::Ssh => out.extend(crate::comm::ssh_problems(cfg)),
        Communicator::None => {}
    }
    for (i, nic) in cfg.vm.vm_nics.iter().enumerate() {
        if nic.skip_ip_assignment {
            out.push(format!("vm_nics[{i}].skip_ip_assignment: not supported with the Prism v3 API this version uses"));
        }
    }
    if cfg.image_export && !cfg.packer.packer_force {
        for n in 1..=data_disk_count(cfg) {
            let path = export_path(
                &cfg.output_directory,
                &output_image_name(&cfg.vm.image_name, n),
            );
            if path.exists() {
                out.push(format!(
                    "image_export: {} already exists; remove it or run packer build -force to overwrite it",
                    path.display()
                ));
            }
        }
    }
    if cfg.ova.export && !cfg.packer.packer_force {
        let path = ova_path(&cfg.output_directory, &cfg.ova.name);
        if path.exists() {
            out.push(format!(
                "ova.export: {} already exists; remove it or run packer build -force to overwrite it",
                path.display()
            ));
        }
    }
    if (cfg.image_export || cfg.ova.export) && Path::new(&cfg.output_directory).is_file() {
        out.push(format!(
            "output_directory {} is a file, not a directory",
            cfg.output_directory
        ));
    }
    out
}

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let problems = problems(&b.cfg);
    if problems.is_empty() {
        // Packer's StepSSHKeyGen: read ssh_private_key_file or generate the temporary pair.
        let keys = b
            .cancellable(crate::temp_key::prepare(&b.cfg, &b.out))
            .await?;
        b.st.ssh_keys = keys;
        return Ok(());
    }
    Err(BuildError::Unsupported(format!(
        "this template cannot be built (nothing was created):\n  * {}",
        problems.join("\n  * ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(extra: serde_json::Value) -> Config {
        let mut body = json!({
            "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
            "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
            "vm_nics": [{"subnet_name": "n"}], "communicator": "none",
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        nutanix_config::prepare(&packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer: Default::default(),
            configs: vec![body],
        })
        .unwrap()
        .config
    }

    #[test]
    fn supported_template_passes() {
        assert!(problems(&cfg(json!({}))).is_empty());
    }

    #[test]
    fn every_unsupported_feature_is_named_at_once() {
        let p = problems(&cfg(json!({
            "communicator": "winrm", "winrm_username": "Administrator",
            "boot_command": ["<enter>"],
            "vm_nics": [{"subnet_name": "n", "skip_ip_assignment": true}],
        })));
        let text = p.join("\n");
        assert_eq!(p.len(), 3, "{text}");
        for word in ["winrm", "skip_ip_assignment", "boot_command"] {
            assert!(text.contains(word), "{word}: {text}");
        }
    }

    #[test]
    fn ova_and_template_pass_and_an_existing_ova_file_needs_force() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().to_str().unwrap();
        let base = json!({
            "output_directory": out, "vm_name": "golden-vm",
            "ova": {"export": true, "format": "qcow2"}, "template": {"create": true},
        });
        assert!(problems(&cfg(base.clone())).is_empty());
        std::fs::write(dir.path().join("golden-vm.ova"), b"old").unwrap();
        let p = problems(&cfg(base.clone()));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("golden-vm.ova already exists"), "{p:?}");
        let mut forced = cfg(base);
        forced.packer.packer_force = true;
        assert!(problems(&forced).is_empty());
    }

    #[test]
    fn export_refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("golden-disk2.img"), b"old").unwrap();
        let out = dir.path().to_str().unwrap();
        let base = json!({
            "image_export": true, "output_directory": out, "image_name": "golden",
            "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}, {"image_type": "DISK", "disk_size_gb": 1}],
        });
        let p = problems(&cfg(base.clone()));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("golden-disk2.img already exists"), "{p:?}");
        let mut forced = cfg(base);
        forced.packer.packer_force = true;
        assert!(problems(&forced).is_empty());
    }
}
