//! Trusting a server certificate pinned by the user (`nutanix_ca_cert`).
//!
//! The PEM file may hold CAs (the usual case: Prism's certificate is issued by a private CA) or
//! the server's own self-signed certificate. Many lab Prism Centrals serve a certificate made by
//! `openssl req -x509`, which marks it `CA:TRUE`; WebPKI refuses a CA certificate as the end
//! entity even when it is the trust anchor, so pinning it used to fail. Here a presented
//! end-entity certificate that is byte for byte one of the pinned certificates is accepted after
//! the checks that still mean something for it: its validity period and the server name (its
//! subjectAltNames, or its common name when it has none, as such certificates often do). The
//! handshake signature is always checked, so the server must hold the certificate's key. Any
//! other certificate goes to the normal WebPKI verifier with the pinned certificates as roots.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

use crate::certinfo;
use crate::error::PrismError;

/// Accepts a pinned end-entity certificate as itself; delegates everything else to WebPKI.
#[derive(Debug)]
pub(crate) struct PinnedOrWebPki {
    pinned: Vec<CertificateDer<'static>>,
    webpki: Arc<WebPkiServerVerifier>,
}

impl PinnedOrWebPki {
    /// `pinned` are the bundle's certificates, also added to `roots`.
    pub(crate) fn new(
        pinned: Vec<CertificateDer<'static>>,
        roots: rustls::RootCertStore,
        provider: Arc<CryptoProvider>,
    ) -> Result<Self, PrismError> {
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| PrismError::Config(format!("CA bundle: {e}")))?;
        Ok(Self { pinned, webpki })
    }
}

impl ServerCertVerifier for PinnedOrWebPki {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return verify_pinned(end_entity, server_name, now);
        }
        self.webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// The checks for a certificate the user pinned exactly: in its validity period and issued
/// for the name we connected to.
fn verify_pinned(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
    now: UnixTime,
) -> Result<ServerCertVerified, rustls::Error> {
    let facts = certinfo::read(cert.as_ref()).ok_or(rustls::Error::InvalidCertificate(
        CertificateError::BadEncoding,
    ))?;
    let time = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    let unix = |secs: i64| {
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs.max(0).unsigned_abs()))
    };
    if time < facts.not_before {
        return Err(CertificateError::NotValidYetContext {
            time: now,
            not_before: unix(facts.not_before),
        }
        .into());
    }
    if time > facts.not_after {
        return Err(CertificateError::ExpiredContext {
            time: now,
            not_after: unix(facts.not_after),
        }
        .into());
    }
    let name_ok = if facts.has_subject_alt_name {
        let parsed = webpki::EndEntityCert::try_from(cert)
            .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
        parsed.verify_is_valid_for_subject_name(server_name).is_ok()
    } else {
        facts
            .common_names
            .iter()
            .any(|cn| common_name_matches(cn, server_name))
    };
    if name_ok {
        Ok(ServerCertVerified::assertion())
    } else {
        let presented = if facts.has_subject_alt_name {
            webpki::EndEntityCert::try_from(cert)
                .map(|c| c.valid_dns_names().map(str::to_string).collect())
                .unwrap_or_default()
        } else {
            facts.common_names
        };
        Err(CertificateError::NotValidForNameContext {
            expected: server_name.to_owned(),
            presented,
        }
        .into())
    }
}

/// The legacy rule for certificates without subjectAltName: the common name is the host name
/// (compared without case or a trailing dot) or the IP address, exactly; no wildcards.
fn common_name_matches(cn: &str, server_name: &ServerName<'_>) -> bool {
    match server_name {
        ServerName::DnsName(dns) => {
            let want = dns.as_ref().trim_end_matches('.');
            cn.trim_end_matches('.').eq_ignore_ascii_case(want)
        }
        ServerName::IpAddress(ip) => cn
            .parse::<std::net::IpAddr>()
            .is_ok_and(|cn_ip| std::net::IpAddr::from(*ip) == cn_ip),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed_ca(cn: &str, sans: Vec<String>) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(sans).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().der().clone()
    }

    fn verifier(pinned: &CertificateDer<'static>) -> PinnedOrWebPki {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pinned.clone()).unwrap();
        PinnedOrWebPki::new(
            vec![pinned.clone()],
            roots,
            Arc::new(rustls::crypto::ring::default_provider()),
        )
        .unwrap()
    }

    fn name(s: &str) -> ServerName<'static> {
        ServerName::try_from(s.to_string()).unwrap()
    }

    #[test]
    fn a_pinned_ca_true_certificate_is_accepted_for_its_names_only() {
        let cert = self_signed_ca("pc.lab", vec!["pc.lab".into(), "10.0.0.5".into()]);
        let v = verifier(&cert);
        for ok in ["pc.lab", "10.0.0.5"] {
            v.verify_server_cert(&cert, &[], &name(ok), &[], UnixTime::now())
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        let err = v
            .verify_server_cert(&cert, &[], &name("other.lab"), &[], UnixTime::now())
            .unwrap_err();
        assert!(err.to_string().contains("not valid for name"), "{err}");
    }

    #[test]
    fn without_san_the_common_name_is_the_name() {
        let cert = self_signed_ca("127.0.0.1", Vec::new());
        let v = verifier(&cert);
        v.verify_server_cert(&cert, &[], &name("127.0.0.1"), &[], UnixTime::now())
            .unwrap();
        assert!(v
            .verify_server_cert(&cert, &[], &name("127.0.0.2"), &[], UnixTime::now())
            .is_err());
        let dns = self_signed_ca("PC.Lab.", Vec::new());
        verifier(&dns)
            .verify_server_cert(&dns, &[], &name("pc.lab"), &[], UnixTime::now())
            .unwrap();
    }

    #[test]
    fn an_expired_pin_and_an_unpinned_certificate_are_refused() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["pc.lab".to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.not_before = rcgen::date_time_ymd(2001, 1, 1);
        params.not_after = rcgen::date_time_ymd(2002, 1, 1);
        let old = params.self_signed(&key).unwrap().der().clone();
        let err = verifier(&old)
            .verify_server_cert(&old, &[], &name("pc.lab"), &[], UnixTime::now())
            .unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");

        let pinned = self_signed_ca("pc.lab", vec!["pc.lab".into()]);
        let stranger = self_signed_ca("other", vec!["pc.lab".into()]);
        let err = verifier(&pinned)
            .verify_server_cert(&stranger, &[], &name("pc.lab"), &[], UnixTime::now())
            .unwrap_err();
        // Not the pin, so WebPKI decides, and refuses it (a CA:TRUE end entity).
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
    }
}
