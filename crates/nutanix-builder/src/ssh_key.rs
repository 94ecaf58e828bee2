//! The build's SSH key pair, as Packer's builders handle it (SDK `StepSSHKeyGen`): with
//! `ssh_private_key_file` the key is read so provisioners get it in the hook data; with no
//! password, key file or agent a temporary pair is generated for this build only, and its public
//! half reaches the VM through cloud-init `user_data` (`ssh_authorized_keys`).
//!
//! Without template `user_data` the VM gets a minimal `#cloud-config` whose top-level
//! `ssh_authorized_keys` cloud-init gives to the image's *default* user (`ubuntu`, `cloud-user`,
//! ...): `ssh_username` must be that user, or the template must bring `user_data` with a `users:`
//! entry for it (the key is added there too).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use nutanix_config::{Config, UserData};

use crate::error::BuildError;
use crate::plan::SshKey;
use crate::ui::Reporter;

use nutanix_config::cloud_init::{self, CloudInitError};

/// The SSH key pair of a build, once known.
#[derive(Clone)]
pub(crate) struct BuildKeys {
    /// Private key text (OpenSSH or PEM).
    private_key: String,
    /// `authorized_keys` line of a generated pair, newline-terminated like Go's
    /// `ssh.MarshalAuthorizedKey`; empty for a key file (as in the SDK).
    public_key: String,
    /// Generated for this build (so it must be offered to the server and injected).
    generated: bool,
}

impl fmt::Debug for BuildKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildKeys")
            .field("private_key", &"<sensitive>")
            .field("public_key", &self.public_key)
            .field("generated", &self.generated)
            .finish()
    }
}

impl BuildKeys {
    /// A generated pair (tests and [`prepare`]).
    pub(crate) fn generated(private_key: String, public_key: &str) -> Self {
        Self {
            private_key,
            public_key: public_key.to_string(),
            generated: true,
        }
    }

    /// The private key text: hook data `SSHPrivateKey`.
    pub(crate) fn private_key(&self) -> &str {
        &self.private_key
    }

    /// The public `authorized_keys` line: hook data `SSHPublicKey`.
    pub(crate) fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The private key when it was generated for this build (the communicator must offer it).
    pub(crate) fn generated_private_key(&self) -> Option<&str> {
        self.generated.then_some(self.private_key.as_str())
    }
}

/// A syntactically plausible key for checking, before generating one, that `user_data` can take it.
const PLACEHOLDER_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholderKeyForThePreflightCheckOnly0000";

/// What to tell users who hit a limit of the injection.
pub(crate) const USE_OWN_CREDENTIALS: &str = "set ssh_password, ssh_private_key_file or ssh_agent_auth (and authorize that key in user_data yourself)";

/// Whether a temporary public key can be added to the template's cloud-init user data (checked
/// at Prepare; Windows is refused before this is asked).
pub(crate) fn check_injection(cfg: &Config) -> Result<(), String> {
    let user = cfg.comm.ssh.ssh_username.as_deref().unwrap_or_default();
    user_data_with_key(cfg.vm.user_data.as_ref(), user, PLACEHOLDER_KEY)
        .map(|_| ())
        .map_err(|e| injection_problem(&e))
}

fn injection_problem(e: &CloudInitError) -> String {
    format!(
        "the temporary SSH public key cannot be added to user_data ({e}): {USE_OWN_CREDENTIALS}"
    )
}

/// Reads `ssh_private_key_file` or generates the temporary pair, saying so as Packer does.
pub(crate) async fn prepare(key: &SshKey, out: &Reporter) -> Result<Option<BuildKeys>, BuildError> {
    match key {
        SshKey::Given => Ok(None),
        SshKey::File(path) => {
            out.say("Using existing SSH private key").await;
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|source| BuildError::Io {
                    what: "reading ssh_private_key_file".into(),
                    path: path.clone(),
                    source,
                })?;
            Ok(Some(BuildKeys {
                private_key: String::from_utf8_lossy(&bytes).into_owned(),
                public_key: String::new(),
                generated: false,
            }))
        }
        SshKey::Temporary { kind, bits } => {
            let (kind, bits) = (kind.as_str(), *bits);
            out.say(format!("Creating temporary {kind} SSH key for instance..."))
                .await;
            // RSA generation takes a while: off the async workers.
            let pair = tokio::task::spawn_blocking(move || {
                ssh_communicator::generate_temporary_key_pair(kind, bits)
            })
            .await
            .map_err(|e| BuildError::unexpected("creating the temporary SSH key", e.to_string()))?
            .map_err(|e| BuildError::unexpected("creating the temporary SSH key", e.to_string()))?;
            out.message(
                "Its public key goes to the VM through cloud-init user_data (ssh_authorized_keys)",
            )
            .await;
            Ok(Some(BuildKeys::generated(
                pair.private_key_pem,
                &pair.public_key_line,
            )))
        }
    }
}

/// The base64 cloud-init user data the VM gets: the template's `user_data`, with the public key
/// of a generated pair added for `user` (or a minimal document carrying it). `None`: no user
/// data.
pub(crate) fn cloud_init_user_data(
    user_data: Option<&UserData>,
    user: &str,
    keys: Option<&BuildKeys>,
) -> Result<Option<String>, BuildError> {
    let Some(keys) = keys.filter(|k| k.generated) else {
        return Ok(user_data.map(|u| u.as_base64().to_string()));
    };
    let text = user_data_with_key(user_data, user, keys.public_key())
        .map_err(|e| BuildError::Unsupported(injection_problem(&e)))?;
    Ok(Some(STANDARD.encode(text)))
}

/// The user data text with `public_key` added (or a minimal document carrying it).
fn user_data_with_key(
    user_data: Option<&UserData>,
    user: &str,
    public_key: &str,
) -> Result<String, CloudInitError> {
    match user_data {
        None => cloud_init::minimal_cloud_config(public_key),
        Some(ud) => cloud_init::add_authorized_key(&ud.decoded(), user, public_key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{BuildPlan, CommPlan};
    use crate::ui::testing::RecordingConsole;
    use serde_json::json;
    use std::sync::Arc;

    /// The key the plan chose for a template.
    fn key_of(c: &Config) -> SshKey {
        match BuildPlan::comm_of(c) {
            Some(CommPlan::Ssh(s)) => s.key,
            _ => SshKey::Given,
        }
    }

    fn wants_temporary_key(c: &Config) -> bool {
        matches!(key_of(c), SshKey::Temporary { .. })
    }

    /// What the plan refuses.
    fn problems(c: &Config) -> Vec<String> {
        BuildPlan::new(c.clone(), None)
            .err()
            .map(|e| e.0)
            .unwrap_or_default()
    }

    fn cloud_init_user_data(
        c: &Config,
        keys: Option<&BuildKeys>,
    ) -> Result<Option<String>, BuildError> {
        let user = c.comm.ssh.ssh_username.as_deref().unwrap_or_default();
        super::cloud_init_user_data(c.vm.user_data.as_ref(), user, keys)
    }

    async fn prepare(c: &Config, out: &Reporter) -> Result<Option<BuildKeys>, BuildError> {
        super::prepare(&key_of(c), out).await
    }

    fn cfg(extra: serde_json::Value) -> Config {
        let mut body = json!({
            "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
            "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
            "vm_nics": [{"subnet_name": "n"}], "communicator": "ssh", "ssh_username": "packer",
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

    fn decode(b64: &str) -> String {
        String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap()
    }

    const PUBLIC: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFromTheTestsNotAReal00000000000000000\n";

    #[test]
    fn only_ssh_without_any_credential_gets_a_temporary_key() {
        assert!(wants_temporary_key(&cfg(json!({}))));
        let key = tempfile::NamedTempFile::new().unwrap();
        for extra in [
            json!({"ssh_password": "pw"}),
            json!({"ssh_private_key_file": key.path().to_str().unwrap()}),
            json!({"ssh_agent_auth": true}),
            json!({"communicator": "none"}),
        ] {
            assert!(!wants_temporary_key(&cfg(extra.clone())), "{extra}");
        }
    }

    #[test]
    fn preflight_names_what_cannot_carry_the_key() {
        assert!(problems(&cfg(json!({}))).is_empty());
        assert!(problems(&cfg(
            json!({"os_type": "Linux", "user_data": "#cloud-config\nhostname: h\n"})
        ))
        .is_empty());
        // With credentials nothing is injected, so any user_data is fine.
        assert!(problems(&cfg(
            json!({"ssh_password": "pw", "os_type": "Linux", "user_data": "#!/bin/sh\n"})
        ))
        .is_empty());
        for (extra, word) in [
            (
                json!({"os_type": "Linux", "user_data": "#!/bin/sh\necho hi\n"}),
                "shell script",
            ),
            (
                json!({"os_type": "Linux", "user_data": "Content-Type: multipart/mixed; boundary=x\n"}),
                "MIME",
            ),
            (
                json!({"os_type": "Windows", "user_data": "<unattend/>"}),
                "sysprep",
            ),
        ] {
            let p = problems(&cfg(extra));
            assert_eq!(p.len(), 1, "{p:?}");
            assert!(p[0].contains(word), "{word}: {p:?}");
            assert!(p[0].contains("ssh_password"), "{p:?}");
        }
    }

    #[test]
    fn user_data_gets_the_generated_key_only() {
        let keys = BuildKeys::generated("PRIVATE".into(), PUBLIC);
        // No key pair: the template's user_data, untouched.
        let c = cfg(json!({"os_type": "Linux", "user_data": "#cloud-config\nhostname: h\n"}));
        assert_eq!(
            cloud_init_user_data(&c, None).unwrap().as_deref(),
            Some(c.vm.user_data.as_ref().unwrap().as_base64())
        );
        // A key file's pair is not injected.
        let file_keys = BuildKeys {
            private_key: "PRIVATE".into(),
            public_key: String::new(),
            generated: false,
        };
        assert_eq!(
            cloud_init_user_data(&c, Some(&file_keys))
                .unwrap()
                .as_deref(),
            Some(c.vm.user_data.as_ref().unwrap().as_base64())
        );
        // Template user_data given base64: decoded, edited, encoded again.
        let b64 = STANDARD.encode("#cloud-config\nhostname: h\n");
        let c = cfg(json!({"os_type": "Linux", "user_data": b64}));
        let text = decode(&cloud_init_user_data(&c, Some(&keys)).unwrap().unwrap());
        assert_eq!(
            text,
            format!(
                "#cloud-config\nhostname: h\nssh_authorized_keys:\n  - \"{}\"\n",
                PUBLIC.trim()
            )
        );
        // No user_data: a minimal cloud-config for the default user.
        let text = decode(
            &cloud_init_user_data(&cfg(json!({})), Some(&keys))
                .unwrap()
                .unwrap(),
        );
        assert!(text.starts_with("#cloud-config\n"), "{text}");
        assert!(
            text.contains(&format!("  - \"{}\"\n", PUBLIC.trim())),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_key_file_is_read_for_the_hook_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id");
        std::fs::write(&path, "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n").unwrap();
        let console = RecordingConsole::default();
        let out = Reporter::new(Arc::new(console.clone()), vec![]);
        let c = cfg(json!({"ssh_private_key_file": path.to_str().unwrap()}));
        let keys = prepare(&c, &out).await.unwrap().unwrap();
        assert_eq!(
            keys.private_key(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n"
        );
        assert_eq!(keys.public_key(), "");
        assert_eq!(keys.generated_private_key(), None);
        assert!(console.text().contains("Using existing SSH private key"));
        // A file gone since the template was checked: the error names the option and the path.
        std::fs::remove_file(&path).unwrap();
        let e = prepare(&c, &out).await.unwrap_err().to_string();
        assert!(
            e.contains("ssh_private_key_file") && e.contains("/id"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_temporary_pair_is_generated_of_the_asked_type() {
        let console = RecordingConsole::default();
        let out = Reporter::new(Arc::new(console.clone()), vec![]);
        let c = cfg(json!({"temporary_key_pair_type": "ed25519"}));
        let keys = prepare(&c, &out).await.unwrap().unwrap();
        assert!(keys.public_key().starts_with("ssh-ed25519 "), "{keys:?}");
        assert!(keys.public_key().ends_with('\n'));
        assert!(keys
            .generated_private_key()
            .unwrap()
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert!(
            !format!("{keys:?}").contains("PRIVATE KEY"),
            "Debug shows the key"
        );
        let text = console.text();
        assert!(
            text.contains("Creating temporary ed25519 SSH key for instance..."),
            "{text}"
        );
        assert!(!text.contains("PRIVATE KEY"), "{text}");
        // Two builds, two pairs.
        let again = prepare(&c, &out).await.unwrap().unwrap();
        assert_ne!(again.public_key(), keys.public_key());
        // Credentials given: nothing to do.
        assert!(prepare(&cfg(json!({"ssh_password": "pw"})), &out)
            .await
            .unwrap()
            .is_none());
        // Bad sizes are Packer's errors, before anything is created.
        let bad = cfg(json!({"temporary_key_pair_type": "ecdsa", "temporary_key_pair_bits": 300}));
        let e = prepare(&bad, &out).await.unwrap_err().to_string();
        assert!(e.contains("ecdsa"), "{e}");
    }
}
