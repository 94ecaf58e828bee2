//! Connects the communicator: SSH to `ssh_host` or the VM's address (retrying while the guest
//! boots, within `ssh_timeout`, cancellable), or the "none" communicator.

use std::net::IpAddr;
use std::sync::Arc;

use ssh_communicator::{PrivateKeySource, SshConfig};

use crate::communicators::{secrets, NoneCommunicator, SshAdapter};
use crate::context::Ctx;
use crate::error::BuildError;
use crate::plan::{BuildPlan, CommPlan, SshPlan};
use crate::ssh_key::BuildKeys;

/// A connected communicator.
pub(crate) struct Connected {
    /// What provisioners use.
    pub(crate) comm: Arc<dyn packer_rpc::Communicator>,
    /// The SSH connection, to close it at the end.
    pub(crate) ssh: Option<Arc<SshAdapter>>,
    /// Where it is connected (`Host` in the hook data).
    pub(crate) host: Option<String>,
}

/// The SSH settings for `host`, offering the build's generated key when there is one.
fn ssh_settings(plan: &SshPlan, host: &str, keys: Option<&BuildKeys>) -> SshConfig {
    let mut settings = plan.settings.clone();
    settings.host = host.to_string();
    if let Some(generated) = keys.and_then(BuildKeys::generated_private_key) {
        settings
            .private_keys
            .push(PrivateKeySource::Pem(generated.to_string()));
    }
    settings
}

/// The step.
pub(crate) async fn run(
    ctx: &Ctx,
    plan: &BuildPlan,
    ip: Option<IpAddr>,
    keys: Option<&BuildKeys>,
) -> Result<Connected, BuildError> {
    let ip = ip.map(|ip| ip.to_string());
    match &plan.comm {
        CommPlan::None => Ok(Connected {
            comm: Arc::new(NoneCommunicator),
            ssh: None,
            host: ip,
        }),
        CommPlan::WinRm(winrm) => {
            let host = winrm.host.clone().or(ip).ok_or_else(|| BuildError::Connect {
                kind: "winrm",
                message: "the VM has no IP address to connect to; add a vm_nics block or set winrm_host".into(),
            })?;
            let mut settings = winrm.settings.clone();
            settings.host = host.clone();
            ctx.out
                .say(format!(
                    "Waiting for WinRM to become available on {host}:{} (up to {})...",
                    settings.effective_port(),
                    humantime::format_duration(settings.timeout)
                ))
                .await;
            let secrets = secrets(plan, keys);
            let connected = ctx
                .cancellable(async {
                    winrm_communicator::WinRmCommunicator::connect(settings, ctx.cancel.clone())
                        .await
                        .map_err(|e| match e {
                            winrm_communicator::WinRmError::Cancelled => BuildError::Cancelled,
                            e => BuildError::Connect {
                                kind: "winrm",
                                message: nutanix_config::redact(&e.to_string(), &secrets),
                            },
                        })
                })
                .await?;
            ctx.out.message("Connected to WinRM!").await;
            Ok(Connected {
                comm: std::sync::Arc::new(connected),
                ssh: None,
                host: Some(host),
            })
        }
        CommPlan::Ssh(ssh) => {
            let host = ssh.host.clone().or(ip).ok_or_else(|| BuildError::Connect {
                kind: "ssh",
                message:
                    "the VM has no IP address to connect to; add a vm_nics block or set ssh_host"
                        .into(),
            })?;
            let settings = ssh_settings(ssh, &host, keys);
            ctx.out
                .say(format!(
                    "Waiting for SSH to become available on {host}:{} (up to {})...",
                    settings.port,
                    humantime::format_duration(settings.timeout)
                ))
                .await;
            let connected = ctx
                .cancellable(async {
                    ssh_communicator::SshCommunicator::connect(settings, ctx.cancel.clone())
                        .await
                        .map_err(|e| match e {
                            ssh_communicator::SshError::Cancelled => BuildError::Cancelled,
                            e => BuildError::Connect {
                                kind: "ssh",
                                message: e.to_string(),
                            },
                        })
                })
                .await?;
            ctx.out.message("Connected to SSH!").await;
            let adapter = Arc::new(SshAdapter::new(connected, secrets(plan, keys)));
            Ok(Connected {
                comm: adapter.clone(),
                ssh: Some(adapter),
                host: Some(host),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::BuildPlan;
    use serde_json::json;

    #[test]
    fn the_generated_key_is_offered_and_redacted() {
        let config = nutanix_config::prepare(&packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer: Default::default(),
            configs: vec![json!({
                "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
                "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
                "vm_nics": [{"subnet_name": "n"}], "ssh_username": "ubuntu",
            })],
        })
        .unwrap()
        .config;
        let plan = BuildPlan::new(config, None).unwrap();
        let CommPlan::Ssh(ssh) = &plan.comm else {
            panic!("ssh")
        };
        let keys = BuildKeys::generated(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n".into(),
            "ssh-ed25519 AAAA\n",
        );
        let s = ssh_settings(ssh, "10.0.0.7", Some(&keys));
        assert_eq!(s.host, "10.0.0.7");
        assert_eq!(
            s.private_keys,
            vec![PrivateKeySource::Pem(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n".into()
            )]
        );
        assert!(ssh_settings(ssh, "10.0.0.7", None).private_keys.is_empty());
        let secrets = secrets(&plan, Some(&keys));
        assert!(
            secrets.contains(&keys.private_key().to_string()),
            "{secrets:?}"
        );
        assert_eq!(
            nutanix_config::redact(&format!("bad key {}", keys.private_key()), &secrets),
            "bad key <sensitive>"
        );
    }
}
