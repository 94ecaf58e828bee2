//! Algorithm preferences: `ssh_ciphers` and `ssh_key_exchange_algorithms` turned into the
//! library's lists, with unknown names rejected up front (Go would fail every handshake instead).

use std::borrow::Cow;

use russh::{cipher, kex, Preferred};

use crate::error::SshError;

/// Go's x/crypto order: AES-GCM first (hardware accelerated through `ring`), then ChaCha20, then CTR.
const DEFAULT_CIPHERS: &[cipher::Name] = &[
    cipher::AES_128_GCM,
    cipher::AES_256_GCM,
    cipher::CHACHA20_POLY1305,
    cipher::AES_128_CTR,
    cipher::AES_192_CTR,
    cipher::AES_256_CTR,
];

/// Protocol extensions the client must keep advertising whatever key exchanges the user picked:
/// `ext-info-c` (server-sig-algs, needed for rsa-sha2 signatures) and OpenSSH strict kex.
const KEX_EXTENSIONS: &[kex::Name] = &[
    kex::EXTENSION_SUPPORT_AS_CLIENT,
    kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
];

/// Builds the preference lists; empty inputs keep the defaults.
pub(crate) fn preferred(ciphers: &[String], kexes: &[String]) -> Result<Preferred, SshError> {
    let mut pref = Preferred {
        cipher: Cow::Borrowed(DEFAULT_CIPHERS),
        ..Preferred::default()
    };
    if !ciphers.is_empty() {
        let mut list = Vec::with_capacity(ciphers.len());
        for name in ciphers {
            let parsed = cipher::Name::try_from(name.as_str())
                .ok()
                .filter(|n| *n != cipher::NONE && *n != cipher::CLEAR)
                .ok_or_else(|| {
                    SshError::Config(format!("ssh_ciphers: unsupported cipher {name:?}"))
                })?;
            list.push(parsed);
        }
        pref.cipher = Cow::Owned(list);
    }
    if !kexes.is_empty() {
        let mut list = Vec::with_capacity(kexes.len() + KEX_EXTENSIONS.len());
        for name in kexes {
            let parsed = kex::Name::try_from(name.as_str())
                .ok()
                .filter(|n| *n != kex::NONE && !KEX_EXTENSIONS.contains(n))
                .ok_or_else(|| {
                    SshError::Config(format!(
                        "ssh_key_exchange_algorithms: unsupported key exchange {name:?}"
                    ))
                })?;
            list.push(parsed);
        }
        list.extend_from_slice(KEX_EXTENSIONS);
        pref.kex = Cow::Owned(list);
    }
    Ok(pref)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_prefer_aes_gcm() {
        let p = preferred(&[], &[]).unwrap();
        assert_eq!(p.cipher.first(), Some(&cipher::AES_128_GCM));
        assert_eq!(p.kex, Preferred::default().kex);
    }

    #[test]
    fn user_lists_are_kept_in_order_with_extensions() {
        let p = preferred(
            &["aes256-ctr".into(), "chacha20-poly1305@openssh.com".into()],
            &["curve25519-sha256".into()],
        )
        .unwrap();
        assert_eq!(
            &p.cipher[..],
            &[cipher::AES_256_CTR, cipher::CHACHA20_POLY1305]
        );
        assert_eq!(p.kex.first(), Some(&kex::CURVE25519));
        assert!(p.kex.contains(&kex::EXTENSION_SUPPORT_AS_CLIENT));
    }

    #[test]
    fn unknown_or_none_names_are_rejected() {
        assert!(preferred(&["none".into()], &[]).is_err());
        assert!(preferred(&["blowfish-cbc".into()], &[]).is_err());
        assert!(preferred(&[], &["ext-info-c".into()]).is_err());
        assert!(preferred(&[], &["diffie-hellman-group99".into()]).is_err());
    }
}
