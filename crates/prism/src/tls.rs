//! Builds the rustls configuration handed to reqwest.
//!
//! reqwest is compiled with `rustls-no-provider`, so we pick the crypto provider (ring, no C
//! build) and the verifier ourselves: the OS trust store by default, a PEM bundle when given
//! (its certificates are trusted as CAs, and one that is byte for byte the server's own
//! certificate is accepted as such: [`crate::pinned`]), or — only when the user asks — a
//! verifier that accepts any certificate.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::TlsOptions;
use crate::error::PrismError;
use crate::pinned::PinnedOrWebPki;

/// Installs ring as the process-wide rustls provider if none is installed yet, so any other
/// rustls user in the process (reqwest internals, tests) finds one.
pub fn install_ring_provider() {
    // Err only means another provider is already installed, which is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The rustls client configuration for `options` (also used by the VNC console crate, so every
/// connection to Prism trusts the same roots).
pub fn client_config(options: &TlsOptions) -> Result<rustls::ClientConfig, PrismError> {
    install_ring_provider();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| PrismError::Config(format!("TLS protocol versions: {e}")))?;

    let mut config = if options.danger_accept_invalid_certs {
        tracing::warn!(
            "TLS certificate verification is DISABLED for Prism Central (insecure mode)"
        );
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth()
    } else if let Some(pem) = &options.ca_bundle_pem {
        let mut roots = rustls::RootCertStore::empty();
        let mut pinned = Vec::new();
        let mut reader = std::io::BufReader::new(pem.as_slice());
        for cert in rustls_pemfile::certs(&mut reader) {
            let cert =
                cert.map_err(|e| PrismError::Config(format!("CA bundle: unreadable PEM: {e}")))?;
            roots
                .add(cert.clone())
                .map_err(|e| PrismError::Config(format!("CA bundle: invalid certificate: {e}")))?;
            pinned.push(cert);
        }
        if pinned.is_empty() {
            return Err(PrismError::Config(
                "CA bundle: no PEM certificate found".to_string(),
            ));
        }
        let verifier = PinnedOrWebPki::new(pinned, roots, provider)?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    } else {
        let verifier = rustls_platform_verifier::Verifier::new(provider)
            .map_err(|e| PrismError::Config(format!("OS trust store: {e}")))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth()
    };
    // HTTP/1.1 only: uploads rely on an exact Content-Length, and Prism's gateway is HTTP/1.1.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts any server certificate; handshake signatures are still checked so the peer must
/// hold the key of the certificate it shows.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
