//! The communicators the build hands to Packer's provisioners: SSH (the `ssh-communicator`
//! crate behind Packer's `Communicator` trait) and "none" (provisioners that run locally still
//! work; anything that needs the VM gets a clear error instead of a crash).

use std::path::PathBuf;

use async_trait::async_trait;
use nutanix_config::{Config, FileTransferMethod};
use packer_rpc::{BoxReader, BoxWriter, Communicator, FileInfo, RemoteCommand};
use ssh_communicator::{
    BastionConfig, PrivateKeySource, ProxyConfig, ProxyKind, SshCommunicator, SshConfig,
};
use tokio::sync::oneshot;

/// `communicator = "none"`: there is no connection to the VM.
pub(crate) struct NoneCommunicator;

const NONE: &str = "communicator = \"none\": this build has no connection to the VM, so provisioners that run on it (shell, file, ...) cannot work; use shell-local, or set communicator = \"ssh\"";

#[async_trait]
impl Communicator for NoneCommunicator {
    async fn start(&self, _cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, String> {
        Err(NONE.to_string())
    }
    async fn upload(
        &self,
        _dst: &str,
        _data: BoxReader,
        _info: Option<FileInfo>,
    ) -> Result<(), String> {
        Err(NONE.to_string())
    }
    async fn upload_dir(&self, _dst: &str, _src: &str, _exclude: &[String]) -> Result<(), String> {
        Err(NONE.to_string())
    }
    async fn download(&self, _src: &str, _out: BoxWriter) -> Result<(), String> {
        Err(NONE.to_string())
    }
    async fn download_dir(
        &self,
        _src: &str,
        _dst: &str,
        _exclude: &[String],
    ) -> Result<(), String> {
        Err(NONE.to_string())
    }
}

/// The SSH communicator, seen through Packer's trait. Error texts are redacted.
pub(crate) struct SshAdapter {
    inner: SshCommunicator,
    secrets: Vec<String>,
}

impl SshAdapter {
    /// Wraps a connected communicator.
    pub(crate) fn new(inner: SshCommunicator, secrets: Vec<String>) -> Self {
        Self { inner, secrets }
    }

    fn err(&self, e: ssh_communicator::SshError) -> String {
        nutanix_config::redact(&e.to_string(), &self.secrets)
    }

    /// Says goodbye to the server.
    pub(crate) async fn close(&self) {
        self.inner.close().await;
    }
}

#[async_trait]
impl Communicator for SshAdapter {
    async fn start(&self, cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, String> {
        let cmd = ssh_communicator::RemoteCommand {
            command: cmd.command,
            stdin: cmd.stdin,
            stdout: cmd.stdout,
            stderr: cmd.stderr,
        };
        self.inner.start(cmd).await.map_err(|e| self.err(e))
    }

    async fn upload(
        &self,
        dst: &str,
        data: BoxReader,
        info: Option<FileInfo>,
    ) -> Result<(), String> {
        let info = info.map(|i| ssh_communicator::FileInfo {
            name: i.name,
            size: i.size,
            mode: i.mode,
            mod_time: i.mod_time.map(std::time::SystemTime::from),
        });
        self.inner
            .upload(dst, data, info)
            .await
            .map_err(|e| self.err(e))
    }

    async fn upload_dir(&self, dst: &str, src: &str, exclude: &[String]) -> Result<(), String> {
        self.inner
            .upload_dir(dst, src, exclude)
            .await
            .map_err(|e| self.err(e))
    }

    async fn download(&self, src: &str, out: BoxWriter) -> Result<(), String> {
        self.inner.download(src, out).await.map_err(|e| self.err(e))
    }

    async fn download_dir(&self, src: &str, dst: &str, exclude: &[String]) -> Result<(), String> {
        self.inner
            .download_dir(src, dst, exclude)
            .await
            .map_err(|e| self.err(e))
    }
}

/// `~/x` → `$HOME/x`, as Packer expands key file paths.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// The SSH communicator's settings from the template's `ssh_*` options, connecting to `host`.
pub(crate) fn ssh_config(cfg: &Config, host: &str) -> SshConfig {
    let s = &cfg.comm.ssh;
    let mut keys = Vec::new();
    if let Some(f) = &s.ssh_private_key_file {
        keys.push(PrivateKeySource::File(expand_home(f)));
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
        private_key_file: s.ssh_bastion_private_key_file.as_deref().map(expand_home),
        certificate_file: s.ssh_bastion_certificate_file.as_deref().map(expand_home),
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
    SshConfig {
        host: host.to_string(),
        port: s.ssh_port,
        username: s.ssh_username.clone().unwrap_or_default(),
        password: s.ssh_password.as_ref().map(|p| p.expose().to_string()),
        private_keys: keys,
        certificate_file: s.ssh_certificate_file.as_deref().map(expand_home),
        agent_auth: s.ssh_agent_auth,
        disable_agent_forwarding: s.ssh_disable_agent_forwarding,
        pty: s.ssh_pty,
        timeout: s.ssh_timeout,
        handshake_attempts: s.ssh_handshake_attempts,
        pause_before_connecting: cfg.comm.pause_before_connecting,
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn ssh_options_map_onto_the_communicator() {
        let c = nutanix_config::prepare(&packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer: Default::default(),
            configs: vec![json!({
                "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
                "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
                "vm_nics": [{"subnet_name": "n"}],
                "ssh_username": "ubuntu", "ssh_password": "pw", "ssh_port": 2222,
                "ssh_timeout": "3m", "ssh_pty": true, "ssh_file_transfer_method": "sftp",
                "ssh_keep_alive_interval": "-1s",
            })],
        })
        .unwrap()
        .config;
        let s = ssh_config(&c, "10.0.0.7");
        assert_eq!(s.host, "10.0.0.7");
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

    #[tokio::test]
    async fn none_communicator_explains_itself() {
        let err = NoneCommunicator
            .upload_dir("/tmp", "/x", &[])
            .await
            .unwrap_err();
        assert!(err.contains("communicator = \"none\""), "{err}");
    }
}
