//! The simulator's HTTPS identity: a throw-away CA and a server certificate it signs for
//! `127.0.0.1`, `::1` and `localhost`. Clients trust the CA PEM ([`crate::SimHandle::ca_pem`])
//! instead of turning verification off. Or a certificate and key the caller gives
//! ([`crate::SimConfig::tls_identity`], `--tls-cert`/`--tls-key`), served as they are.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::config::TlsPem;
use crate::error::SimError;

/// A server TLS config and the PEM of the CA that signed its certificate.
pub(crate) struct TlsIdentity {
    pub config: Arc<rustls::ServerConfig>,
    pub ca_pem: String,
}

/// Generates a CA and a server certificate, and builds a rustls server config (ring provider,
/// HTTP/1.1 ALPN).
pub(crate) fn generate() -> Result<TlsIdentity, SimError> {
    let e = |what: &str, err: &dyn std::fmt::Display| SimError::Tls(format!("{what}: {err}"));
    let ca_key = KeyPair::generate().map_err(|x| e("CA key", &x))?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(|x| e("CA params", &x))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "prism-sim test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(|x| e("CA certificate", &x))?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf_key = KeyPair::generate().map_err(|x| e("server key", &x))?;
    let mut leaf_params = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])
    .map_err(|x| e("server params", &x))?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "prism-sim");
    let leaf = leaf_params
        .signed_by(&leaf_key, &issuer)
        .map_err(|x| e("server certificate", &x))?;

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|x| e("protocol versions", &x))?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key)
        .map_err(|x| e("server config", &x))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsIdentity {
        config: Arc::new(config),
        ca_pem: ca_cert.pem(),
    })
}

/// A server config serving the given PEM chain and key (ring provider, HTTP/1.1 ALPN).
pub(crate) fn from_pem(pem: &TlsPem) -> Result<Arc<rustls::ServerConfig>, SimError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let e = |what: &str, err: &dyn std::fmt::Display| SimError::Tls(format!("{what}: {err}"));
    let chain = CertificateDer::pem_slice_iter(pem.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|x| e("TLS certificate PEM", &x))?;
    if chain.is_empty() {
        return Err(SimError::Tls("TLS certificate PEM: no certificate".into()));
    }
    let key =
        PrivateKeyDer::from_pem_slice(pem.key_pem.as_bytes()).map_err(|x| e("TLS key PEM", &x))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|x| e("protocol versions", &x))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|x| e("server config", &x))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    #[test]
    fn generates_a_ca_pem() {
        let id = super::generate().unwrap();
        assert!(id.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(id.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn serves_a_given_pem_and_names_bad_input() {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let good = super::TlsPem {
            cert_chain_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        };
        assert!(super::from_pem(&good).is_ok());
        let no_cert = super::TlsPem {
            cert_chain_pem: String::new(),
            ..good.clone()
        };
        assert!(super::from_pem(&no_cert).is_err());
        let no_key = super::TlsPem {
            key_pem: "garbage".into(),
            ..good
        };
        assert!(super::from_pem(&no_key).is_err());
    }
}
