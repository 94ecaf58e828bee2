//! Connects the communicator: SSH to `ssh_host` or the VM's address (retrying while the guest
//! boots, within `ssh_timeout`, cancellable), or the "none" communicator.

use std::sync::Arc;

use nutanix_config::Communicator;

use super::Build;
use crate::comm::{ssh_config, NoneCommunicator, SshAdapter};
use crate::error::BuildError;

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let cfg = b.cfg.clone();
    let ip = b.st.ip.map(|ip| ip.to_string());
    match cfg.comm.communicator {
        Communicator::None => {
            b.st.host = ip;
            b.st.comm = Some(Arc::new(NoneCommunicator));
            Ok(())
        }
        Communicator::Winrm => Err(BuildError::Unsupported(
            "communicator = \"winrm\" is not supported by this version of packer-plugin-nutanix yet".into(),
        )),
        Communicator::Ssh => {
            let host = cfg.comm.ssh.ssh_host.clone().or(ip).ok_or_else(|| BuildError::Connect {
                kind: "ssh",
                message: "the VM has no IP address to connect to; add a vm_nics block or set ssh_host".into(),
            })?;
            let settings = ssh_config(&cfg, &host, b.st.ssh_keys.as_ref());
            b.out
                .say(format!(
                    "Waiting for SSH to become available on {host}:{} (up to {})...",
                    settings.port,
                    humantime::format_duration(settings.timeout)
                ))
                .await;
            let secrets = crate::comm::secrets(&cfg, b.st.ssh_keys.as_ref());
            let connected = b
                .cancellable(async {
                    ssh_communicator::SshCommunicator::connect(settings, b.cancel.clone())
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
            b.out.message("Connected to SSH!").await;
            let adapter = Arc::new(SshAdapter::new(connected, secrets));
            b.ssh = Some(adapter.clone());
            b.st.comm = Some(adapter);
            b.st.host = Some(host);
            Ok(())
        }
    }
}
