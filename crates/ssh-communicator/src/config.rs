//! The SSH communicator's options, shaped after Packer's `ssh_*` template keys.
//!
//! This is a plain value: the builder fills it from the template (defaults included) and the
//! communicator only reads it. `Debug` never prints a secret.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::SshError;

/// How files move: Packer's `ssh_file_transfer_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FileTransferMethod {
    /// The classic `scp -t` / `scp -f` protocol over an exec channel (Packer's default).
    #[default]
    Scp,
    /// The `sftp` subsystem.
    Sftp,
}

impl FileTransferMethod {
    /// Parses the template value (`"scp"`, `"sftp"`, or empty for the default), with Packer's message.
    pub fn parse(value: &str) -> Result<Self, SshError> {
        match value {
            "" | "scp" => Ok(Self::Scp),
            "sftp" => Ok(Self::Sftp),
            other => Err(SshError::Config(format!(
                "ssh_file_transfer_method ('{other}') is invalid, valid methods: sftp, scp"
            ))),
        }
    }
}

/// Where a private key comes from: `ssh_private_key_file`, or key bytes the builder holds
/// (a temporary key pair, or `ssh_private_key`).
#[derive(Clone, PartialEq, Eq)]
pub enum PrivateKeySource {
    /// A file on the machine running Packer (`~/` is expanded).
    File(PathBuf),
    /// The key itself, PEM/OpenSSH text.
    Pem(String),
}

impl fmt::Debug for PrivateKeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
            Self::Pem(_) => f.write_str("Pem(<redacted>)"),
        }
    }
}

/// A jump host: Packer's `ssh_bastion_*` keys. The target is reached through a
/// `direct-tcpip` channel opened on the bastion.
#[derive(Clone, Default)]
pub struct BastionConfig {
    /// `ssh_bastion_host`.
    pub host: String,
    /// `ssh_bastion_port` (Packer's default is 22).
    pub port: u16,
    /// `ssh_bastion_username`.
    pub username: String,
    /// `ssh_bastion_password`: tried as `password` and as `keyboard-interactive` answers.
    pub password: Option<String>,
    /// `ssh_bastion_private_key_file` (Packer copies `ssh_private_key_file` here when unset).
    pub private_key_file: Option<PathBuf>,
    /// `ssh_bastion_certificate_file`.
    pub certificate_file: Option<PathBuf>,
    /// `ssh_bastion_agent_auth`.
    pub agent_auth: bool,
    /// `ssh_bastion_interactive`: answer keyboard-interactive prompts from the terminal.
    pub interactive: bool,
}

impl fmt::Debug for BastionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BastionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("private_key_file", &self.private_key_file)
            .field("certificate_file", &self.certificate_file)
            .field("agent_auth", &self.agent_auth)
            .field("interactive", &self.interactive)
            .finish()
    }
}

/// Which proxy protocol to speak before SSH starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxyKind {
    /// SOCKS5 (RFC 1928, with RFC 1929 username/password): Packer's `ssh_proxy_*`.
    #[default]
    Socks5,
    /// HTTP `CONNECT` (an extension; Packer has no template key for it).
    HttpConnect,
}

/// A proxy in front of the target: Packer's `ssh_proxy_*` keys.
#[derive(Clone, Default)]
pub struct ProxyConfig {
    /// The protocol.
    pub kind: ProxyKind,
    /// `ssh_proxy_host`.
    pub host: String,
    /// `ssh_proxy_port` (Packer's default is 1080).
    pub port: u16,
    /// `ssh_proxy_username`.
    pub username: Option<String>,
    /// `ssh_proxy_password`.
    pub password: Option<String>,
}

impl fmt::Debug for ProxyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxyConfig")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .finish()
    }
}

/// Everything the SSH communicator needs, after the builder applied Packer's defaults.
#[derive(Clone)]
pub struct SshConfig {
    /// `ssh_host` (or the discovered VM address).
    pub host: String,
    /// `ssh_port`.
    pub port: u16,
    /// `ssh_username`.
    pub username: String,
    /// `ssh_password`: tried as `password`, then as the answer to every keyboard-interactive prompt.
    pub password: Option<String>,
    /// Private keys to offer, in order (`ssh_private_key_file`, the temporary key pair, `ssh_private_key`).
    pub private_keys: Vec<PrivateKeySource>,
    /// `ssh_certificate_file`: an OpenSSH certificate paired with every private key above.
    pub certificate_file: Option<PathBuf>,
    /// `ssh_agent_auth`: offer the keys of the local SSH agent.
    pub agent_auth: bool,
    /// The agent socket; `None` reads `SSH_AUTH_SOCK` (used for agent auth and forwarding).
    pub agent_socket: Option<PathBuf>,
    /// `ssh_disable_agent_forwarding`.
    pub disable_agent_forwarding: bool,
    /// `ssh_pty`: run commands in a pseudo-terminal.
    pub pty: bool,
    /// `ssh_timeout`: the overall deadline for [`crate::SshCommunicator::connect`], retries included.
    pub timeout: Duration,
    /// `ssh_handshake_attempts`: authentication failures tolerated before giving up (0 = no limit).
    pub handshake_attempts: u32,
    /// The limit for one SSH handshake (Packer's is 1 minute).
    pub handshake_timeout: Duration,
    /// The pause between connection attempts (Packer's is 5 s, plus 2 s after a failed handshake).
    pub retry_interval: Duration,
    /// `pause_before_connecting`: connect once, wait this long, then connect again.
    pub pause_before_connecting: Duration,
    /// `ssh_keep_alive_interval` (`None` disables; Packer's default is 5 s).
    pub keep_alive_interval: Option<Duration>,
    /// `ssh_read_write_timeout`: a connection silent for this long is dropped (`None` = never).
    pub read_write_timeout: Option<Duration>,
    /// `ssh_file_transfer_method`.
    pub file_transfer_method: FileTransferMethod,
    /// `ssh_bastion_*`.
    pub bastion: Option<BastionConfig>,
    /// `ssh_proxy_*`.
    pub proxy: Option<ProxyConfig>,
    /// `ssh_ciphers` (empty = the library's defaults, AES-GCM first).
    pub ciphers: Vec<String>,
    /// `ssh_key_exchange_algorithms` (empty = the library's defaults).
    pub key_exchange_algorithms: Vec<String>,
    /// `ssh_local_tunnels`: not implemented; [`SshConfig::validate`] rejects a non-empty list.
    pub local_tunnels: Vec<String>,
    /// `ssh_remote_tunnels`: not implemented; [`SshConfig::validate`] rejects a non-empty list.
    pub remote_tunnels: Vec<String>,
}

impl Default for SshConfig {
    /// Packer's defaults (communicator/config.go `prepareSSH`, step_connect_ssh.go) with an empty host.
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 22,
            username: String::new(),
            password: None,
            private_keys: Vec::new(),
            certificate_file: None,
            agent_auth: false,
            agent_socket: None,
            disable_agent_forwarding: false,
            pty: false,
            timeout: Duration::from_secs(5 * 60),
            handshake_attempts: 10,
            handshake_timeout: Duration::from_secs(60),
            retry_interval: Duration::from_secs(5),
            pause_before_connecting: Duration::ZERO,
            keep_alive_interval: Some(Duration::from_secs(5)),
            read_write_timeout: None,
            file_transfer_method: FileTransferMethod::Scp,
            bastion: None,
            proxy: None,
            ciphers: Vec::new(),
            key_exchange_algorithms: Vec::new(),
            local_tunnels: Vec::new(),
            remote_tunnels: Vec::new(),
        }
    }
}

impl fmt::Debug for SshConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("private_keys", &self.private_keys)
            .field("certificate_file", &self.certificate_file)
            .field("agent_auth", &self.agent_auth)
            .field("agent_socket", &self.agent_socket)
            .field("disable_agent_forwarding", &self.disable_agent_forwarding)
            .field("pty", &self.pty)
            .field("timeout", &self.timeout)
            .field("handshake_attempts", &self.handshake_attempts)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("retry_interval", &self.retry_interval)
            .field("pause_before_connecting", &self.pause_before_connecting)
            .field("keep_alive_interval", &self.keep_alive_interval)
            .field("read_write_timeout", &self.read_write_timeout)
            .field("file_transfer_method", &self.file_transfer_method)
            .field("bastion", &self.bastion)
            .field("proxy", &self.proxy)
            .field("ciphers", &self.ciphers)
            .field("key_exchange_algorithms", &self.key_exchange_algorithms)
            .field("local_tunnels", &self.local_tunnels)
            .field("remote_tunnels", &self.remote_tunnels)
            .finish()
    }
}

impl SshConfig {
    /// Checks what can be checked before connecting (required fields, conflicting options,
    /// algorithm names, key and certificate files), with Packer's messages where Packer has one,
    /// so a template error surfaces at `prepare` time rather than after the VM booted.
    pub fn validate(&self) -> Result<(), SshError> {
        if self.host.is_empty() {
            return Err(SshError::Config("ssh_host must be set".into()));
        }
        if self.port == 0 {
            return Err(SshError::Config(
                "ssh_port must be between 1 and 65535".into(),
            ));
        }
        if self.username.is_empty() {
            return Err(SshError::Config("An ssh_username must be specified".into()));
        }
        if self.certificate_file.is_some() && self.private_keys.is_empty() {
            return Err(SshError::Config(
                "ssh_private_key_file must be specified if ssh_certificate_file is specified"
                    .into(),
            ));
        }
        if self.bastion.is_some() && self.proxy.is_some() {
            return Err(SshError::Config(
                "please specify either ssh_bastion_host or ssh_proxy_host, not both".into(),
            ));
        }
        if let Some(b) = &self.bastion {
            if b.password.is_none()
                && b.private_key_file.is_none()
                && !b.agent_auth
                && !b.interactive
            {
                return Err(SshError::Config(
                    "ssh_bastion_password, ssh_bastion_private_key_file or ssh_bastion_agent_auth must be specified"
                        .into(),
                ));
            }
            if b.certificate_file.is_some() && b.private_key_file.is_none() {
                return Err(SshError::Config(
                    "ssh_bastion_private_key_file must be specified if ssh_bastion_certificate_file is specified"
                        .into(),
                ));
            }
        }
        if !self.local_tunnels.is_empty() {
            return Err(SshError::Unsupported("ssh_local_tunnels"));
        }
        if !self.remote_tunnels.is_empty() {
            return Err(SshError::Unsupported("ssh_remote_tunnels"));
        }
        crate::algorithms::preferred(&self.ciphers, &self.key_exchange_algorithms)?;
        // Packer's prepareSSH reads and parses the key files (and certificate) up front.
        let now = std::time::SystemTime::now();
        crate::keys::load_identities(&self.private_keys, self.certificate_file.as_deref(), now)?;
        if let Some(b) = &self.bastion {
            let keys: Vec<_> = b
                .private_key_file
                .iter()
                .cloned()
                .map(PrivateKeySource::File)
                .collect();
            crate::keys::load_identities(&keys, b.certificate_file.as_deref(), now)?;
        }
        Ok(())
    }

    /// `host:port` as used in logs and errors (IPv6 in brackets).
    pub fn address(&self) -> String {
        join_host_port(&self.host, self.port)
    }
}

/// `host:port`, bracketing IPv6 literals like Go's `net.JoinHostPort`.
pub(crate) fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn redacted(secret: &Option<String>) -> &'static str {
    match secret {
        Some(_) => "<redacted>",
        None => "None",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_secrets() {
        let cfg = SshConfig {
            host: "10.0.0.1".into(),
            username: "packer".into(),
            password: Some("hunter2-password".into()),
            private_keys: vec![PrivateKeySource::Pem("-----BEGIN SECRET-KEY-BYTES".into())],
            bastion: Some(BastionConfig {
                host: "jump".into(),
                password: Some("bastion-secret".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let text = format!("{cfg:?}");
        assert!(!text.contains("hunter2-password"), "{text}");
        assert!(!text.contains("SECRET-KEY-BYTES"), "{text}");
        assert!(!text.contains("bastion-secret"), "{text}");
        assert!(text.contains("10.0.0.1"));
        let proxy = ProxyConfig {
            password: Some("proxy-secret".into()),
            ..Default::default()
        };
        assert!(!format!("{proxy:?}").contains("proxy-secret"));
    }

    #[test]
    fn transfer_method_parse_matches_packer() {
        assert_eq!(
            FileTransferMethod::parse("").unwrap(),
            FileTransferMethod::Scp
        );
        assert_eq!(
            FileTransferMethod::parse("scp").unwrap(),
            FileTransferMethod::Scp
        );
        assert_eq!(
            FileTransferMethod::parse("sftp").unwrap(),
            FileTransferMethod::Sftp
        );
        let err = FileTransferMethod::parse("rsync").unwrap_err().to_string();
        assert!(
            err.contains("ssh_file_transfer_method ('rsync') is invalid"),
            "{err}"
        );
    }

    #[test]
    fn validate_rejects_what_packer_rejects() {
        let base = SshConfig {
            host: "h".into(),
            username: "u".into(),
            ..Default::default()
        };
        assert!(base.validate().is_ok());
        let no_user = SshConfig {
            username: String::new(),
            ..base.clone()
        };
        assert!(matches!(no_user.validate(), Err(SshError::Config(_))));
        let cert_without_key = SshConfig {
            certificate_file: Some("c".into()),
            ..base.clone()
        };
        assert!(matches!(
            cert_without_key.validate(),
            Err(SshError::Config(_))
        ));
        let both = SshConfig {
            bastion: Some(BastionConfig {
                host: "b".into(),
                password: Some("p".into()),
                ..Default::default()
            }),
            proxy: Some(ProxyConfig::default()),
            ..base.clone()
        };
        assert!(matches!(both.validate(), Err(SshError::Config(_))));
        let bastion_without_auth = SshConfig {
            bastion: Some(BastionConfig {
                host: "b".into(),
                ..Default::default()
            }),
            ..base.clone()
        };
        assert!(matches!(
            bastion_without_auth.validate(),
            Err(SshError::Config(_))
        ));
        let tunnels = SshConfig {
            local_tunnels: vec!["8080:localhost:80".into()],
            ..base.clone()
        };
        assert!(matches!(tunnels.validate(), Err(SshError::Unsupported(_))));
        let bad_cipher = SshConfig {
            ciphers: vec!["rot13".into()],
            ..base.clone()
        };
        assert!(matches!(bad_cipher.validate(), Err(SshError::Config(_))));
        let port_zero = SshConfig {
            port: 0,
            ..base.clone()
        };
        assert!(matches!(port_zero.validate(), Err(SshError::Config(_))));
        let missing_key = SshConfig {
            private_keys: vec![PrivateKeySource::File("/nonexistent/id_ed25519".into())],
            ..base.clone()
        };
        assert!(matches!(
            missing_key.validate(),
            Err(SshError::ReadFile { .. })
        ));
        let garbage_key = SshConfig {
            private_keys: vec![PrivateKeySource::Pem("garbage".into())],
            ..base
        };
        assert!(matches!(garbage_key.validate(), Err(SshError::Key { .. })));
    }

    #[test]
    fn address_brackets_ipv6() {
        assert_eq!(join_host_port("::1", 22), "[::1]:22");
        assert_eq!(join_host_port("10.1.2.3", 2222), "10.1.2.3:2222");
        assert_eq!(join_host_port("[::1]", 22), "[::1]:22");
    }
}
