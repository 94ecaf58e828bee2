//! The WinRM communicator's options, shaped after Packer's `winrm_*` template keys.
//!
//! A plain value the builder fills from the template (Packer's defaults applied by
//! [`WinRmConfig::default`] and [`WinRmConfig::effective_port`]); `Debug` never prints the password.

use std::fmt;
use std::time::Duration;

use crate::error::WinRmError;

/// Everything the WinRM communicator needs.
#[derive(Clone)]
pub struct WinRmConfig {
    /// `winrm_host` (or the discovered VM address).
    pub host: String,
    /// `winrm_port`; 0 means Packer's default: 5986 with `winrm_use_ssl`, else 5985.
    pub port: u16,
    /// `winrm_username`: `user` or `DOMAIN\user`.
    pub username: String,
    /// `winrm_password`.
    pub password: String,
    /// `winrm_timeout`: how long [`crate::WinRmCommunicator::connect`] keeps trying (Packer: 30m).
    pub timeout: Duration,
    /// `winrm_use_ssl`: HTTPS.
    pub use_ssl: bool,
    /// `winrm_insecure`: accept any server certificate over HTTPS.
    pub insecure: bool,
    /// `winrm_use_ntlm`: NTLMv2 instead of Basic authentication.
    pub use_ntlm: bool,
    /// `winrm_no_proxy`: never use HTTP(S)_PROXY for this host.
    pub no_proxy: bool,
    /// The pause between connection attempts (Packer's is 5 s).
    pub retry_interval: Duration,
    /// OperationTimeout sent with every request: how long the server may hold a Receive open
    /// with no output before it answers with a timeout fault (which we retry). Packer sends
    /// `winrm_timeout` here; a minute (WinRM's own default MaxTimeoutms) keeps each HTTP request
    /// short, so a dead connection is noticed within a minute rather than within 30.
    pub operation_timeout: Duration,
    /// MaxEnvelopeSize we announce and size uploads to (WinRM's default, 153600).
    pub max_envelope: usize,
    /// Limit for one TCP (+TLS) connect.
    pub connect_timeout: Duration,
}

impl Default for WinRmConfig {
    /// Packer's defaults (communicator/config.go `prepareWinRM`, step_connect_winrm.go) with an
    /// empty host and user.
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 0,
            username: String::new(),
            password: String::new(),
            timeout: Duration::from_secs(30 * 60),
            use_ssl: false,
            insecure: false,
            use_ntlm: false,
            no_proxy: false,
            retry_interval: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(60),
            max_envelope: crate::wsman::DEFAULT_MAX_ENVELOPE,
            connect_timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for WinRmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WinRmConfig")
            .field("host", &self.host)
            .field("port", &self.effective_port())
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("use_ssl", &self.use_ssl)
            .field("insecure", &self.insecure)
            .field("use_ntlm", &self.use_ntlm)
            .field("no_proxy", &self.no_proxy)
            .field("retry_interval", &self.retry_interval)
            .field("operation_timeout", &self.operation_timeout)
            .field("max_envelope", &self.max_envelope)
            .finish()
    }
}

impl WinRmConfig {
    /// The port to dial: `winrm_port`, else 5986 for HTTPS and 5985 for HTTP.
    pub fn effective_port(&self) -> u16 {
        match (self.port, self.use_ssl) {
            (0, true) => 5986,
            (0, false) => 5985,
            (p, _) => p,
        }
    }

    /// Checks what Packer checks at prepare time, with its messages.
    pub fn validate(&self) -> Result<(), WinRmError> {
        if self.username.is_empty() {
            return Err(WinRmError::Config(
                "winrm_username must be specified.".into(),
            ));
        }
        if self.host.is_empty() {
            return Err(WinRmError::Config("winrm_host must be set".into()));
        }
        if self.max_envelope < 16 * 1024 {
            return Err(WinRmError::Config(format!(
                "MaxEnvelopeSize {} is below WinRM's minimum useful size (16 KiB)",
                self.max_envelope
            )));
        }
        if self.operation_timeout < Duration::from_secs(1) {
            return Err(WinRmError::Config(
                "the WinRM operation timeout must be at least one second".into(),
            ));
        }
        Ok(())
    }

    /// `http(s)://host:port/wsman`, IPv6 literals in brackets.
    pub fn endpoint(&self) -> String {
        let scheme = if self.use_ssl { "https" } else { "http" };
        format!("{scheme}://{}/wsman", self.authority())
    }

    /// `host:port` (IPv6 bracketed), for the Host header, proxies and messages.
    pub fn authority(&self) -> String {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        if host.contains(':') {
            format!("[{host}]:{}", self.effective_port())
        } else {
            format!("{host}:{}", self.effective_port())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_packer() {
        let mut c = WinRmConfig {
            host: "10.0.0.5".into(),
            username: "Administrator".into(),
            password: "hunter2-secret".into(),
            ..Default::default()
        };
        assert_eq!(c.effective_port(), 5985);
        assert_eq!(c.endpoint(), "http://10.0.0.5:5985/wsman");
        c.use_ssl = true;
        assert_eq!(c.effective_port(), 5986);
        assert_eq!(c.endpoint(), "https://10.0.0.5:5986/wsman");
        c.port = 1234;
        assert_eq!(c.endpoint(), "https://10.0.0.5:1234/wsman");
        c.host = "::1".into();
        assert_eq!(c.authority(), "[::1]:1234");
        assert_eq!(c.timeout, Duration::from_secs(1800));
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(c.validate().is_ok());
        c.username.clear();
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("winrm_username"));
    }
}
