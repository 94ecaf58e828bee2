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

use crate::temp_key::{self, BuildKeys};

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
pub(crate) fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// What must never reach a message from the communicator: the template's secrets plus the
/// build's private key.
pub(crate) fn secrets(cfg: &Config, keys: Option<&BuildKeys>) -> Vec<String> {
    let mut out = cfg.secrets();
    if let Some(k) = keys.filter(|k| !k.private_key().is_empty()) {
        out.push(k.private_key().to_string());
    }
    out
}

/// Every problem with the SSH options, before anything is created: the communicator's own
/// checks (key files parse, algorithms exist, ...) and whether a temporary key can be delivered.
pub(crate) fn ssh_problems(cfg: &Config) -> Vec<String> {
    let mut out = Vec::new();
    if let Err(e) = ssh_config(cfg, "vm", None).validate() {
        out.push(e.to_string());
    }
    out.extend(temp_key::problems(cfg));
    out
}

/// The SSH communicator's settings from the template's `ssh_*` options, connecting to `host`,
/// offering the build's generated key when there is one.
pub(crate) fn ssh_config(cfg: &Config, host: &str, build_keys: Option<&BuildKeys>) -> SshConfig {
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
    if let Some(generated) = build_keys.and_then(BuildKeys::generated_private_key) {
        keys.push(PrivateKeySource::Pem(generated.to_string()));
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
        let s = ssh_config(&c, "10.0.0.7", None);
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

    fn ssh_cfg(extra: serde_json::Value) -> Config {
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

    #[test]
    fn the_generated_key_is_offered_and_redacted() {
        let c = ssh_cfg(json!({}));
        let keys = BuildKeys::generated(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n".into(),
            "ssh-ed25519 AAAA\n",
        );
        let s = ssh_config(&c, "10.0.0.7", Some(&keys));
        assert_eq!(
            s.private_keys,
            vec![PrivateKeySource::Pem(
                "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n".into()
            )]
        );
        assert!(ssh_config(&c, "10.0.0.7", None).private_keys.is_empty());
        let secrets = secrets(&c, Some(&keys));
        assert!(
            secrets.contains(&keys.private_key().to_string()),
            "{secrets:?}"
        );
        assert_eq!(
            nutanix_config::redact(&format!("bad key {}", keys.private_key()), &secrets),
            "bad key <sensitive>"
        );
    }

    #[test]
    fn ssh_problems_include_the_temporary_key_delivery() {
        assert!(ssh_problems(&ssh_cfg(json!({}))).is_empty());
        let p = ssh_problems(&ssh_cfg(
            json!({"os_type": "Linux", "user_data": "#!/bin/sh\necho hi\n"}),
        ));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("user_data is a shell script"), "{p:?}");
        // The communicator's own checks still run.
        let p = ssh_problems(&ssh_cfg(
            json!({"ssh_password": "pw", "ssh_local_tunnels": ["8080:localhost:80"]}),
        ));
        assert_eq!(p.len(), 1, "{p:?}");
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
