//! Secrets in a configuration, and scrubbing them from text before it reaches a log line or the UI.
//! Packer has no protocol message to tell core about a plugin's secrets, so the plugin must redact
//! its own output (docs/design/plugin-protocol.md, 'Secrets and redaction').

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::config::{Auth, Config};

/// What a secret is replaced with, as Packer's `LogSecretFilter` does.
pub const REDACTED: &str = "<sensitive>";

impl Config {
    /// Every secret value to redact: Prism password or API key (and the Basic auth header value made
    /// from them), SSH/bastion/proxy/WinRM passwords, a generated SSH private key, custom header
    /// values, and the values of sensitive user variables. Longest first, no empties, no repeats.
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let cl = &self.cluster;
        let ssh = &self.comm.ssh;
        for s in [
            &cl.nutanix_password,
            &cl.nutanix_api_key,
            &ssh.ssh_password,
            &ssh.ssh_bastion_password,
            &ssh.ssh_proxy_password,
            &self.comm.winrm.winrm_password,
        ]
        .into_iter()
        .flatten()
        {
            out.push(s.expose().to_string());
        }
        if let Auth::Basic { user, password } = cl.auth() {
            if !password.is_empty() {
                out.push(STANDARD.encode(format!("{user}:{password}")));
            }
        }
        out.extend(
            cl.nutanix_custom_headers
                .values()
                .map(|v| v.expose().to_string()),
        );
        let key = ssh.ssh_private_key.expose();
        if !key.is_empty() {
            out.push(String::from_utf8_lossy(key).into_owned());
        }
        for name in &self.packer.packer_sensitive_variables {
            if let Some(v) = self.packer.packer_user_variables.get(name) {
                out.push(v.clone());
            }
        }
        out.retain(|s| !s.is_empty());
        out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        out.dedup();
        out
    }
}

/// Replaces every occurrence of every secret in `text` with `<sensitive>`. One left-to-right pass
/// preferring the longest secret at each position, so overlapping secrets and secrets that occur
/// inside the marker itself cannot leave fragments behind.
pub fn redact(text: &str, secrets: &[String]) -> String {
    let mut ordered: Vec<&str> = secrets
        .iter()
        .map(String::as_str)
        .filter(|s| !s.is_empty())
        .collect();
    if ordered.is_empty() {
        return text.to_string();
    }
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'scan: while let Some(c) = rest.chars().next() {
        for s in &ordered {
            if rest.starts_with(s) {
                out.push_str(REDACTED);
                rest = &rest[s.len()..];
                continue 'scan;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Secrets the plugin's log lines must never show, for the whole process: what Packer's
/// `LogSecretFilter` is in Go plugins. Logs go to stderr, which Packer copies into its own log
/// under `PACKER_LOG=1`, and they quote what the communicators run, which can carry a password
/// (a provisioner's environment variables travel in the command line).
static LOG_SECRETS: std::sync::RwLock<Vec<String>> = std::sync::RwLock::new(Vec::new());

/// Adds `secrets` to what [`redact_log`] removes (Prepare calls it with the template's secrets).
pub fn filter_logs(secrets: &[String]) {
    let mut list = LOG_SECRETS.write().unwrap_or_else(|p| p.into_inner());
    list.extend(secrets.iter().filter(|s| !s.is_empty()).cloned());
    list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    list.dedup();
}

/// `text` without any secret given to [`filter_logs`] (borrowed when there is none in it).
pub fn redact_log(text: &str) -> std::borrow::Cow<'_, str> {
    let list = LOG_SECRETS.read().unwrap_or_else(|p| p.into_inner());
    if list.iter().any(|s| text.contains(s.as_str())) {
        std::borrow::Cow::Owned(redact(text, &list))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_lose_the_registered_secrets() {
        assert_eq!(
            redact_log("nothing registered yet: zz-log-1"),
            "nothing registered yet: zz-log-1"
        );
        filter_logs(&["zz-log-1".to_string(), String::new()]);
        assert_eq!(
            redact_log("command=set \"P=zz-log-1\""),
            "command=set \"P=<sensitive>\""
        );
        assert!(matches!(redact_log("clean"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn redacts_each_occurrence_longest_first() {
        let secrets = vec!["pass".to_string(), "password123".to_string()];
        assert_eq!(
            redact("user=admin password123 and pass again: pass", &secrets),
            "user=admin <sensitive> and <sensitive> again: <sensitive>"
        );
    }

    #[test]
    fn a_secret_inside_the_marker_leaves_no_fragments() {
        let secrets = vec!["e".to_string()];
        assert_eq!(redact("see", &secrets), "s<sensitive><sensitive>");
    }

    #[test]
    fn nothing_to_redact() {
        assert_eq!(redact("plain ünïcode", &[]), "plain ünïcode");
        assert_eq!(redact("plain", &[String::new()]), "plain");
    }
}
