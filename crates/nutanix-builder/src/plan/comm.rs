//! The communicator a template asks for, with the SSH settings assembled and checked once.

use std::path::{Path, PathBuf};

use nutanix_config::{Communicator, Config, FileTransferMethod, KeyPairType, OsType};
use ssh_communicator::{BastionConfig, PrivateKeySource, ProxyConfig, ProxyKind, SshConfig};

use super::Problems;
use crate::ssh_key;

/// How provisioners reach the VM.
#[derive(Debug, Clone)]
pub(crate) enum CommPlan {
    /// `communicator = "none"`.
    None,
    /// SSH.
    Ssh(Box<SshPlan>),
    /// WinRM.
    WinRm(Box<WinRmPlan>),
}

/// WinRM, as the template configures it.
#[derive(Debug, Clone)]
pub(crate) struct WinRmPlan {
    /// The communicator's settings; `host` is filled in once the VM's address is known.
    pub(crate) settings: winrm_communicator::WinRmConfig,
    /// `winrm_host`: connect there instead of the VM's address.
    pub(crate) host: Option<String>,
}

/// Where the build's SSH key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SshKey {
    /// `ssh_private_key_file`, read when the build starts (provisioners get it in the hook data).
    File(PathBuf),
    /// No password, key or agent: a pair generated for this build, its public half added to
    /// the guest's cloud-init user data.
    Temporary {
        /// `temporary_key_pair_type`.
        kind: KeyPairType,
        /// `temporary_key_pair_bits` (0: the type's default).
        bits: u32,
    },
    /// The template brings its own credentials (password, inline key, agent).
    Given,
}

/// SSH, as the template configures it.
#[derive(Debug, Clone)]
pub(crate) struct SshPlan {
    /// The communicator's settings; `host` is filled in once the VM's address is known.
    pub(crate) settings: SshConfig,
    /// `ssh_host`: connect there instead of the VM's address.
    pub(crate) host: Option<String>,
    /// The build's key.
    pub(crate) key: SshKey,
    /// `ssh_clear_authorized_keys`.
    pub(crate) clear_authorized_keys: bool,
}

/// The communicator part of the plan.
pub(crate) fn plan(c: &Config, home: Option<&Path>, p: &mut Problems) -> Option<CommPlan> {
    match c.comm.communicator {
        Communicator::None => Some(CommPlan::None),
        Communicator::Winrm => {
            let w = &c.comm.winrm;
            let settings = winrm_communicator::WinRmConfig {
                host: String::new(),
                port: w.winrm_port,
                username: w.winrm_username.clone().unwrap_or_default(),
                password: w
                    .winrm_password
                    .as_ref()
                    .map(|p| p.expose().to_string())
                    .unwrap_or_default(),
                timeout: w.winrm_timeout,
                use_ssl: w.winrm_use_ssl,
                insecure: w.winrm_insecure,
                use_ntlm: w.winrm_use_ntlm,
                no_proxy: w.winrm_no_proxy,
                ..winrm_communicator::WinRmConfig::default()
            };
            let host = w.winrm_host.clone();
            // The host comes at connect time; everything else can be checked now.
            let mut check = settings.clone();
            check.host = host.clone().unwrap_or_else(|| "vm".to_string());
            if let Err(e) = check.validate() {
                p.push(e.to_string());
            }
            Some(CommPlan::WinRm(Box::new(WinRmPlan { settings, host })))
        }
        Communicator::Ssh => {
            let plan = ssh(c, home);
            // The host comes at connect time; everything else can be checked now.
            let mut check = plan.settings.clone();
            check.host = plan.host.clone().unwrap_or_else(|| "vm".to_string());
            if let Err(e) = check.validate() {
                p.push(e.to_string());
            }
            if let SshKey::Temporary { .. } = plan.key {
                if c.vm.os_type == Some(OsType::Windows) {
                    p.push(format!(
                        "communicator = \"ssh\" without credentials needs a temporary key pair, which this plugin delivers through cloud-init; os_type = \"Windows\" uses sysprep instead: {}",
                        ssh_key::USE_OWN_CREDENTIALS
                    ));
                } else if let Err(problem) = ssh_key::check_injection(c) {
                    p.push(problem);
                }
            }
            Some(CommPlan::Ssh(Box::new(plan)))
        }
    }
}

fn key(c: &Config, home: Option<&Path>) -> SshKey {
    let s = &c.comm.ssh;
    if let Some(file) = s.ssh_private_key_file.as_deref().filter(|f| !f.is_empty()) {
        return SshKey::File(nutanix_config::expand_user(file, home));
    }
    let no_password = s
        .ssh_password
        .as_ref()
        .is_none_or(|pw| pw.expose().is_empty());
    if no_password && s.ssh_private_key.expose().is_empty() && !s.ssh_agent_auth {
        return SshKey::Temporary {
            kind: s.temporary_key_pair_type,
            bits: s.temporary_key_pair_bits.unwrap_or(0),
        };
    }
    SshKey::Given
}

/// The communicator's settings from the `ssh_*` options (the build's own key is added when it
/// exists, see [`crate::connect`]).
fn ssh(c: &Config, home: Option<&Path>) -> SshPlan {
    let s = &c.comm.ssh;
    let expand = |f: &str| nutanix_config::expand_user(f, home);
    let mut keys = Vec::new();
    if let Some(f) = &s.ssh_private_key_file {
        keys.push(PrivateKeySource::File(expand(f)));
    }
    let inline = s.ssh_private_key.expose();
    if !inline.is_empty() {
        keys.push(PrivateKeySource::Pem(
            String::from_utf8_lossy(inline).into_owned(),
        ));
    }
    let bastion = s.ssh_bastion_host.as_ref().map(|h| BastionConfig {
        host: h.clone(),
        port: s.ssh_bastion_port,
        username: s.ssh_bastion_username.clone().unwrap_or_default(),
        password: s
            .ssh_bastion_password
            .as_ref()
            .map(|p| p.expose().to_string()),
        private_key_file: s.ssh_bastion_private_key_file.as_deref().map(expand),
        certificate_file: s.ssh_bastion_certificate_file.as_deref().map(expand),
        agent_auth: s.ssh_bastion_agent_auth,
        interactive: s.ssh_bastion_interactive,
    });
    let proxy = s.ssh_proxy_host.as_ref().map(|h| ProxyConfig {
        kind: ProxyKind::Socks5,
        host: h.clone(),
        port: s.ssh_proxy_port,
        username: s.ssh_proxy_username.clone(),
        password: s
            .ssh_proxy_password
            .as_ref()
            .map(|p| p.expose().to_string()),
    });
    let settings = SshConfig {
        host: String::new(),
        port: s.ssh_port,
        username: s.ssh_username.clone().unwrap_or_default(),
        password: s.ssh_password.as_ref().map(|p| p.expose().to_string()),
        private_keys: keys,
        certificate_file: s.ssh_certificate_file.as_deref().map(expand),
        agent_auth: s.ssh_agent_auth,
        disable_agent_forwarding: s.ssh_disable_agent_forwarding,
        pty: s.ssh_pty,
        timeout: s.ssh_timeout,
        handshake_attempts: s.ssh_handshake_attempts,
        pause_before_connecting: c.comm.pause_before_connecting,
        keep_alive_interval: s.ssh_keep_alive_interval.0,
        read_write_timeout: (!s.ssh_read_write_timeout.is_zero())
            .then_some(s.ssh_read_write_timeout),
        file_transfer_method: match s.ssh_file_transfer_method {
            FileTransferMethod::Scp => ssh_communicator::FileTransferMethod::Scp,
            FileTransferMethod::Sftp => ssh_communicator::FileTransferMethod::Sftp,
        },
        bastion,
        proxy,
        ciphers: s.ssh_ciphers.clone(),
        key_exchange_algorithms: s.ssh_key_exchange_algorithms.clone(),
        local_tunnels: s.ssh_local_tunnels.clone(),
        remote_tunnels: s.ssh_remote_tunnels.clone(),
        ..SshConfig::default()
    };
    SshPlan {
        settings,
        host: s.ssh_host.clone(),
        key: key(c, home),
        clear_authorized_keys: s.ssh_clear_authorized_keys,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::BuildPlan;
    use serde_json::json;
    use std::time::Duration;

    fn config(extra: serde_json::Value) -> Config {
        let mut body = json!({
            "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
            "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
            "vm_nics": [{"subnet_name": "n"}], "ssh_username": "ubuntu",
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

    fn ssh_plan(extra: serde_json::Value) -> SshPlan {
        match plan(&config(extra), None, &mut Problems::default()) {
            Some(CommPlan::Ssh(s)) => *s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ssh_options_map_onto_the_communicator() {
        let s = ssh_plan(json!({
            "ssh_password": "pw", "ssh_port": 2222, "ssh_timeout": "3m", "ssh_pty": true,
            "ssh_file_transfer_method": "sftp", "ssh_keep_alive_interval": "-1s",
            "ssh_host": "10.0.0.7",
        }));
        assert_eq!(s.host.as_deref(), Some("10.0.0.7"));
        let s = s.settings;
        assert_eq!(s.port, 2222);
        assert_eq!(s.username, "ubuntu");
        assert_eq!(s.password.as_deref(), Some("pw"));
        assert_eq!(s.timeout, Duration::from_secs(180));
        assert!(s.pty);
        assert_eq!(
            s.file_transfer_method,
            ssh_communicator::FileTransferMethod::Sftp
        );
        assert_eq!(s.keep_alive_interval, None);
        assert!(s.bastion.is_none() && s.proxy.is_none());
    }

    #[test]
    fn winrm_options_map_onto_the_communicator_and_a_host_skips_the_ip_wait() {
        let winrm = json!({
            "communicator": "winrm", "winrm_username": "Administrator", "winrm_password": "pw",
            "winrm_use_ssl": true, "winrm_insecure": true, "winrm_use_ntlm": true,
            "winrm_timeout": "7m", "winrm_no_proxy": true,
        });
        let plan = BuildPlan::new(config(winrm.clone()), None).unwrap();
        let CommPlan::WinRm(w) = &plan.comm else {
            panic!("{:?}", plan.comm)
        };
        assert_eq!(w.host, None);
        let s = &w.settings;
        assert_eq!(
            (s.username.as_str(), s.password.as_str()),
            ("Administrator", "pw")
        );
        // Prepare filled in the HTTPS port.
        assert_eq!(s.port, 5986);
        assert!(s.use_ssl && s.insecure && s.use_ntlm && s.no_proxy);
        assert_eq!(s.timeout, Duration::from_secs(420));
        assert!(plan.ip_wait.is_some(), "the VM's address is needed");

        let mut with_host = winrm;
        with_host["winrm_host"] = json!("win.example.com");
        let plan = BuildPlan::new(config(with_host), None).unwrap();
        let CommPlan::WinRm(w) = &plan.comm else {
            panic!()
        };
        assert_eq!(w.host.as_deref(), Some("win.example.com"));
        assert_eq!(
            plan.ip_wait, None,
            "winrm_host: no wait for the VM's address"
        );
        let plan = BuildPlan::new(
            config(json!({"ssh_password": "pw", "ssh_host": "10.0.0.7"})),
            None,
        )
        .unwrap();
        assert_eq!(plan.ip_wait, None, "ssh_host: no wait either");
    }

    #[test]
    fn key_files_are_expanded_once_here() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("id"), "key").unwrap();
        let ambient = nutanix_config::Ambient {
            home: Some(dir.path().to_path_buf()),
            ..nutanix_config::Ambient::from_process()
        };
        let c = nutanix_config::prepare_with(
            &packer_schema::PrepareInput {
                kind: packer_schema::TemplateKind::Hcl2,
                packer: Default::default(),
                configs: vec![json!({
                    "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
                    "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
                    "vm_nics": [{"subnet_name": "n"}], "ssh_username": "ubuntu",
                    "ssh_private_key_file": "~/id",
                })],
            },
            &ambient,
        )
        .unwrap()
        .config;
        let mut p = Problems::default();
        let Some(CommPlan::Ssh(s)) = plan(&c, Some(dir.path()), &mut p) else {
            panic!()
        };
        assert_eq!(s.key, SshKey::File(dir.path().join("id")));
        assert_eq!(
            s.settings.private_keys,
            vec![PrivateKeySource::File(dir.path().join("id"))]
        );
    }

    #[test]
    fn without_credentials_a_temporary_key_is_planned() {
        assert_eq!(
            ssh_plan(json!({})).key,
            SshKey::Temporary {
                kind: KeyPairType::Rsa,
                bits: 0
            }
        );
        assert_eq!(ssh_plan(json!({"ssh_password": "pw"})).key, SshKey::Given);
    }

    #[test]
    fn a_key_that_cannot_reach_the_guest_makes_the_template_unbuildable() {
        let e = BuildPlan::new(
            config(json!({"os_type": "Linux", "user_data": "#!/bin/sh\necho hi\n"})),
            None,
        )
        .unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("this template cannot be built (nothing was created)"),
            "{text}"
        );
        assert!(text.contains("user_data is a shell script"), "{text}");
        // The communicator's own checks run too.
        let e = BuildPlan::new(
            config(json!({"ssh_password": "pw", "ssh_local_tunnels": ["8080:localhost:80"]})),
            None,
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 1, "{e}");
    }
}
