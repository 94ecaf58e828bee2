//! The HTTPS identity: a throw-away CA and a server certificate for `127.0.0.1`, `::1`,
//! `localhost` and the simulated host name. Clients trust the CA PEM or use `winrm_insecure`.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::SimError;

/// A TLS acceptor and the CA PEM that signed its certificate.
pub(crate) fn generate(hostname: &str) -> Result<(tokio_rustls::TlsAcceptor, String), SimError> {
    let e = |what: &str, err: &dyn std::fmt::Display| SimError::Tls(format!("{what}: {err}"));
    let ca_key = KeyPair::generate().map_err(|x| e("CA key", &x))?;
    let mut ca_params =
        CertificateParams::new(Vec::<String>::new()).map_err(|x| e("CA params", &x))?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "winrm-sim test CA");
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
    let mut names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    if !hostname.is_empty() {
        names.push(hostname.to_ascii_lowercase());
    }
    let mut leaf_params = CertificateParams::new(names).map_err(|x| e("server params", &x))?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, hostname);
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
    Ok((
        tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_cert.pem(),
    ))
}
