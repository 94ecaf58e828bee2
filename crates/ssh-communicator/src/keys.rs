//! Private keys, certificates and Packer's temporary key pairs.
//!
//! Loading happens before any connection so that a bad key is a configuration error, not an
//! authentication failure that burns handshake attempts.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use russh::keys::ssh_key::{self, LineEnding};
use russh::keys::{Algorithm, Certificate, EcdsaCurve, PrivateKey};

use crate::config::PrivateKeySource;
use crate::error::SshError;

/// A private key ready to sign, with the certificate that goes with it, if any.
#[derive(Clone)]
pub(crate) struct Identity {
    pub(crate) key: Arc<PrivateKey>,
    pub(crate) certificate: Option<Certificate>,
    /// Where it came from, for logs (never the key itself).
    pub(crate) label: String,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("label", &self.label)
            .field("algorithm", &self.key.algorithm().as_str())
            .field("certificate", &self.certificate.is_some())
            .finish()
    }
}

/// Loads every configured key and pairs each with the certificate, as Packer's `SSHConfigFunc` does.
pub(crate) fn load_identities(
    keys: &[PrivateKeySource],
    certificate: Option<&Path>,
    now: SystemTime,
) -> Result<Vec<Identity>, SshError> {
    let cert = certificate.map(|p| load_certificate(p, now)).transpose()?;
    keys.iter()
        .map(|source| {
            let (key, label) = load_private_key(source)?;
            if let Some(cert) = &cert {
                if cert.public_key() != key.public_key().key_data() {
                    return Err(SshError::Key {
                        what: format!("certificate for {label}"),
                        reason: "the certificate was not issued for this private key".into(),
                    });
                }
            }
            Ok(Identity {
                key: Arc::new(key),
                certificate: cert.clone(),
                label,
            })
        })
        .collect()
}

/// Reads and decodes one private key (OpenSSH, PKCS#1, PKCS#8 or SEC1 PEM).
pub(crate) fn load_private_key(
    source: &PrivateKeySource,
) -> Result<(PrivateKey, String), SshError> {
    let (text, label) = match source {
        PrivateKeySource::File(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| SshError::ReadFile {
                what: "private key",
                path: path.clone(),
                source,
            })?;
            (text, format!("private key {}", path.display()))
        }
        PrivateKeySource::Pem(text) => (text.clone(), "private key (inline)".to_string()),
    };
    let key = decode_private_key(&text, &label)?;
    Ok((key, label))
}

/// Decodes key text, with Packer's message for a passphrase-protected key.
pub(crate) fn decode_private_key(text: &str, label: &str) -> Result<PrivateKey, SshError> {
    russh::keys::decode_secret_key(text, None).map_err(|e| SshError::Key {
        what: label.to_string(),
        reason: match e {
            russh::keys::Error::KeyIsEncrypted => {
                "password protected keys are not supported. Please decrypt the key prior to use"
                    .into()
            }
            other => other.to_string(),
        },
    })
}

/// Reads an OpenSSH certificate and checks its validity window like Packer's `checkValidCert`.
pub(crate) fn load_certificate(path: &Path, now: SystemTime) -> Result<Certificate, SshError> {
    let text = std::fs::read_to_string(path).map_err(|source| SshError::ReadFile {
        what: "certificate",
        path: path.to_path_buf(),
        source,
    })?;
    let what = || format!("certificate {}", path.display());
    let cert = Certificate::from_openssh(text.trim()).map_err(|e| SshError::Key {
        what: what(),
        reason: e.to_string(),
    })?;
    check_validity(cert.valid_after(), cert.valid_before(), now).map_err(|reason| {
        SshError::Key {
            what: what(),
            reason: reason.into(),
        }
    })?;
    Ok(cert)
}

/// The certificate's window against `now` (seconds since the epoch; `u64::MAX` = forever).
pub(crate) fn check_validity(after: u64, before: u64, now: SystemTime) -> Result<(), &'static str> {
    let now = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    if i64::try_from(after).is_err() || now < after {
        return Err("the certificate is not yet valid");
    }
    if before != u64::MAX && (i64::try_from(before).is_err() || now >= before) {
        return Err("the certificate has expired");
    }
    Ok(())
}

/// A freshly generated key pair for `temporary_key_pair_type` / `_bits`: the builder injects the
/// public line through cloud-init and hands the private key to [`crate::SshConfig`].
#[derive(Clone)]
pub struct TemporaryKeyPair {
    /// The private key in OpenSSH format (`-----BEGIN OPENSSH PRIVATE KEY-----`).
    pub private_key_pem: String,
    /// `"<algorithm> <base64>\n"`, the `authorized_keys` line Go's `ssh.MarshalAuthorizedKey` writes.
    pub public_key_line: String,
}

impl fmt::Debug for TemporaryKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryKeyPair")
            .field("private_key_pem", &"<redacted>")
            .field("public_key_line", &self.public_key_line)
            .finish()
    }
}

/// Generates a key pair the way Packer's `sshkey.GeneratePair` does: `kind` is `rsa` (the default
/// when empty, 4096 bits unless `bits` says otherwise, at least 1024), `ecdsa` (521 bits by
/// default; 256, 384 or 521) or `ed25519` (`bits` ignored). `dsa` is refused: OpenSSH dropped it.
pub fn generate_temporary_key_pair(kind: &str, bits: u32) -> Result<TemporaryKeyPair, SshError> {
    let algorithm = temporary_key_algorithm(kind, bits)?;
    let mut rng = rand::rng();
    let key = match algorithm {
        KeySpec::Rsa(bits) => {
            let keypair = ssh_key::private::RsaKeypair::random(&mut rng, bits as usize)
                .map_err(|e| keygen_error(kind, e))?;
            PrivateKey::new(keypair.into(), "").map_err(|e| keygen_error(kind, e))?
        }
        KeySpec::Other(algorithm) => {
            PrivateKey::random(&mut rng, algorithm).map_err(|e| keygen_error(kind, e))?
        }
    };
    let private_key_pem = key
        .to_openssh(LineEnding::LF)
        .map_err(|e| keygen_error(kind, e))?
        .to_string();
    let mut public_key_line = key
        .public_key()
        .to_openssh()
        .map_err(|e| keygen_error(kind, e))?;
    public_key_line.push('\n');
    Ok(TemporaryKeyPair {
        private_key_pem,
        public_key_line,
    })
}

#[derive(Debug, PartialEq, Eq)]
enum KeySpec {
    Rsa(u32),
    Other(Algorithm),
}

/// Packer's defaults and limits for `temporary_key_pair_type` / `_bits`, without generating anything.
fn temporary_key_algorithm(kind: &str, bits: u32) -> Result<KeySpec, SshError> {
    let invalid = |msg: &str| SshError::Config(format!("temporary_key_pair: {msg}"));
    match kind.to_ascii_lowercase().as_str() {
        "" | "rsa" => match bits {
            0 => Ok(KeySpec::Rsa(4096)),
            b if b < 1024 => Err(invalid("invalid rsa size: must be more than 1024")),
            b if b > 16384 => Err(invalid("invalid rsa size: must be at most 16384")),
            b => Ok(KeySpec::Rsa(b)),
        },
        "ecdsa" => {
            let curve = match bits {
                0 | 521 => EcdsaCurve::NistP521,
                256 => EcdsaCurve::NistP256,
                384 => EcdsaCurve::NistP384,
                _ => return Err(invalid("invalid ecdsa size, must be one of 256, 384 or 521")),
            };
            Ok(KeySpec::Other(Algorithm::Ecdsa { curve }))
        }
        "ed25519" => Ok(KeySpec::Other(Algorithm::Ed25519)),
        "dsa" => Err(invalid(
            "dsa keys are not supported (OpenSSH no longer accepts them); use ed25519, ecdsa or rsa",
        )),
        other => Err(invalid(&format!(
            "unknown algorithm {other:?}: possible algorithm types are `ecdsa` | `ed25519` | `rsa` ( the default )"
        ))),
    }
}

fn keygen_error(kind: &str, e: impl fmt::Display) -> SshError {
    SshError::Key {
        what: format!("temporary {kind} key pair"),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn temporary_key_defaults_follow_packer() {
        assert_eq!(temporary_key_algorithm("", 0).unwrap(), KeySpec::Rsa(4096));
        assert_eq!(
            temporary_key_algorithm("rsa", 2048).unwrap(),
            KeySpec::Rsa(2048)
        );
        assert!(temporary_key_algorithm("rsa", 512).is_err());
        assert_eq!(
            temporary_key_algorithm("ecdsa", 0).unwrap(),
            KeySpec::Other(Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP521
            })
        );
        assert_eq!(
            temporary_key_algorithm("ECDSA", 256).unwrap(),
            KeySpec::Other(Algorithm::Ecdsa {
                curve: EcdsaCurve::NistP256
            })
        );
        assert!(temporary_key_algorithm("ecdsa", 300).is_err());
        assert_eq!(
            temporary_key_algorithm("ed25519", 77).unwrap(),
            KeySpec::Other(Algorithm::Ed25519)
        );
        assert!(temporary_key_algorithm("dsa", 0).is_err());
        assert!(temporary_key_algorithm("rot13", 0).is_err());
    }

    #[test]
    fn generated_ed25519_pair_round_trips() {
        let pair = generate_temporary_key_pair("ed25519", 0).unwrap();
        assert!(pair
            .private_key_pem
            .starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        assert!(pair.public_key_line.starts_with("ssh-ed25519 AAAA"));
        assert!(pair.public_key_line.ends_with('\n'));
        // No comment: exactly "<algo> <base64>\n", as Go's MarshalAuthorizedKey.
        assert_eq!(pair.public_key_line.trim_end().split(' ').count(), 2);
        let key = decode_private_key(&pair.private_key_pem, "test").unwrap();
        let line = key.public_key().to_openssh().unwrap();
        assert_eq!(format!("{line}\n"), pair.public_key_line);
        assert!(!format!("{pair:?}").contains("PRIVATE KEY"));
    }

    #[test]
    fn generated_ecdsa_pair_has_the_requested_curve() {
        let pair = generate_temporary_key_pair("ecdsa", 384).unwrap();
        assert!(pair.public_key_line.starts_with("ecdsa-sha2-nistp384 "));
    }

    #[test]
    fn certificate_validity_window() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(check_validity(0, u64::MAX, now).is_ok());
        assert!(check_validity(999_999, 1_000_001, now).is_ok());
        assert!(check_validity(1_000_001, u64::MAX, now).is_err());
        assert!(check_validity(0, 1_000_000, now).is_err());
        assert!(check_validity(u64::MAX - 1, u64::MAX, now).is_err());
    }

    #[test]
    fn garbage_key_text_is_an_error_not_a_panic() {
        for text in [
            "",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            "-----BEGIN RSA PRIVATE KEY-----\n!!!\n-----END RSA PRIVATE KEY-----\n",
            "not a key",
        ] {
            assert!(matches!(
                decode_private_key(text, "t"),
                Err(SshError::Key { .. })
            ));
        }
    }
}
