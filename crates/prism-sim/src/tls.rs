//! The simulator's HTTPS identity: a throw-away CA and a server certificate it signs for
//! `127.0.0.1`, `::1` and `localhost`. Clients trust the CA PEM ([`crate::SimHandle::ca_pem`])
//! instead of turning verification off.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

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

#[cfg(test)]
mod tests {
    #[test]
    fn generates_a_ca_pem() {
        let id = super::generate().unwrap();
        assert!(id.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert_eq!(id.config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }
}
