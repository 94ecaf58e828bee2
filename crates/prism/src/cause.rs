//! Why a request failed, in words a user can act on, and whether trying again can help.
//!
//! reqwest's own message is the outermost layer of a chain ("error sending request for url
//! (...)"); the reason (connection refused, reset, an untrusted certificate, a name that does
//! not exist) is several `source()` links further down. This module walks that chain, names the
//! stage that failed and decides whether a retry can heal it: an untrusted certificate or a
//! name that does not exist will be the same on the next attempt, a refused or reset connection
//! may not.

use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;

/// The part of a call that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Resolving the host name.
    Dns,
    /// Opening the TCP connection.
    Connect,
    /// The TLS handshake (including certificate verification).
    Tls,
    /// Sending a streamed request body (an image upload).
    RequestBody,
    /// Sending the request and waiting for the response status line and headers.
    Headers,
    /// Reading the response body.
    Body,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Dns => "DNS lookup",
            Self::Connect => "connect",
            Self::Tls => "TLS handshake",
            Self::RequestBody => "sending the request body",
            Self::Headers => "waiting for the response headers",
            Self::Body => "reading the response body",
        })
    }
}

impl Stage {
    /// True when the failure happened before any byte of the request could reach the server,
    /// so even a create may be sent again.
    pub fn before_request(self) -> bool {
        matches!(self, Self::Dns | Self::Connect | Self::Tls)
    }
}

/// A classified transport failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// Where it failed.
    pub stage: Stage,
    /// The root cause, for people.
    pub text: String,
    /// True when another attempt cannot change the outcome.
    pub permanent: bool,
}

/// The links of an error chain, outermost first. `std::io::Error::source()` skips the error it
/// wraps (it returns the wrapped error's source), which would hide a rustls error or our DNS
/// error inside an I/O error, so the wrapped error is visited instead.
pub fn chain<'a>(error: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(error);
    while let Some(e) = next {
        if out.len() >= 32 {
            break; // a cyclic or absurdly deep chain
        }
        out.push(e);
        next = match e.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn StdError + 'static)),
                None => None,
            },
            None => e.source(),
        };
    }
    out
}

/// Classifies an error from sending a request or reading its body.
/// `stage_hint` is where the caller was (headers or body) when the cause itself does not say.
pub fn classify(error: &reqwest::Error, stage_hint: Stage) -> Cause {
    let links = chain(error);
    for link in &links {
        if let Some(tls) = link.downcast_ref::<rustls::Error>() {
            // A TLS error after the handshake (a bad record mid-body) is not a connect failure:
            // the request may have been processed.
            let mut cause = tls_cause(tls);
            if !error.is_connect() {
                cause.stage = stage_hint;
            }
            return cause;
        }
        if let Some(dns) = link.downcast_ref::<LookupError>() {
            return Cause {
                stage: Stage::Dns,
                text: dns.to_string(),
                permanent: !dns.temporary,
            };
        }
    }
    let root = links
        .last()
        .map(|e| e.to_string())
        .unwrap_or_else(|| error.to_string());
    let stage = if error.is_connect() {
        Stage::Connect
    } else if error.is_body() || error.is_decode() {
        Stage::Body
    } else {
        stage_hint
    };
    let text = if error.is_timeout() && stage == Stage::Connect {
        format!("no connection within the connect timeout ({root})")
    } else {
        root
    };
    Cause {
        stage,
        text,
        permanent: error.is_builder() || error.is_redirect(),
    }
}

fn tls_cause(error: &rustls::Error) -> Cause {
    let (text, permanent) = match error {
        rustls::Error::InvalidCertificate(problem) => {
            let what = describe(problem);
            (
                format!(
                    "Prism Central's certificate was refused: {what} (nutanix_ca_cert can pin its \
                     CA or the certificate itself; nutanix_insecure = true skips verification)"
                ),
                true,
            )
        }
        rustls::Error::PeerIncompatible(_) | rustls::Error::NoCertificatesPresented => {
            (error.to_string(), true)
        }
        other => (other.to_string(), false),
    };
    Cause {
        stage: Stage::Tls,
        text,
        permanent,
    }
}

/// The certificate problems users meet most, in words; the rest as rustls names them.
fn describe(problem: &rustls::CertificateError) -> String {
    match problem {
        rustls::CertificateError::UnknownIssuer => {
            "it is not issued by a trusted authority (UnknownIssuer)".to_string()
        }
        rustls::CertificateError::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(webpki::Error::CaUsedAsEndEntity) => "it is a CA certificate (CA:TRUE, e.g. \
                self-signed) that nutanix_ca_cert does not pin (CaUsedAsEndEntity)"
                .to_string(),
            Some(e) => format!("{e:?}"),
            None => other.0.to_string(),
        },
        other => other.to_string(),
    }
}

/// A failed host-name lookup, kept typed so [`classify`] can tell "no such name" (permanent)
/// from "the resolver is unreachable right now" (worth a retry).
#[derive(Debug)]
pub struct LookupError {
    host: String,
    temporary: bool,
    source: std::io::Error,
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot resolve host name '{}': {}",
            self.host, self.source
        )
    }
}

impl StdError for LookupError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.source)
    }
}

impl LookupError {
    /// Wraps the resolver's error for `host`. The system resolver reports its reason only as
    /// text (`getaddrinfo`'s message); "temporary failure"/"try again" is its wording for
    /// EAI_AGAIN, and OS-level errors (EAI_SYSTEM) may heal too. Anything else — "name or
    /// service not known", "no address associated" — will not change on a retry.
    pub fn new(host: &str, source: std::io::Error) -> Self {
        let text = source.to_string().to_ascii_lowercase();
        let temporary = source.raw_os_error().is_some()
            || text.contains("temporary failure")
            || text.contains("try again");
        Self {
            host: host.to_string(),
            temporary,
            source,
        }
    }
}

/// The system resolver (as reqwest's default) whose errors are [`LookupError`]s.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Resolver;

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move { lookup(&host).await })
    }
}

type BoxError = Box<dyn StdError + Send + Sync>;

async fn lookup(host: &str) -> Result<reqwest::dns::Addrs, BoxError> {
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, 0)).await {
        Ok(addrs) => addrs.collect(),
        Err(e) => return Err(Box::new(LookupError::new(host, e))),
    };
    if addrs.is_empty() {
        let none = std::io::Error::new(std::io::ErrorKind::NotFound, "the name has no addresses");
        return Err(Box::new(LookupError::new(host, none)));
    }
    Ok(Box::new(addrs.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("error sending request")
        }
    }
    impl StdError for Outer {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn the_chain_looks_inside_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let outer = Outer(std::io::Error::new(std::io::ErrorKind::InvalidData, tls));
        let links = chain(&outer);
        assert_eq!(links.len(), 3);
        assert!(links
            .last()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
            .is_some());
        let cause = tls_cause(
            links
                .last()
                .and_then(|e| e.downcast_ref::<rustls::Error>())
                .unwrap(),
        );
        assert!(cause.permanent);
        assert!(cause.text.contains("UnknownIssuer"), "{}", cause.text);
        assert!(cause.text.contains("nutanix_ca_cert"), "{}", cause.text);
    }

    #[test]
    fn lookup_errors_are_permanent_unless_the_resolver_says_try_again() {
        let gone = LookupError::new(
            "pc.invalid",
            std::io::Error::other(
                "failed to lookup address information: Name or service not known",
            ),
        );
        assert!(!gone.temporary);
        assert!(gone.to_string().contains("pc.invalid"));
        let busy = LookupError::new(
            "pc.example",
            std::io::Error::other(
                "failed to lookup address information: Temporary failure in name resolution",
            ),
        );
        assert!(busy.temporary);
        let os = LookupError::new("pc.example", std::io::Error::from_raw_os_error(24));
        assert!(os.temporary);
    }

    #[test]
    fn stage_names_say_what_stalled() {
        assert_eq!(
            Stage::Headers.to_string(),
            "waiting for the response headers"
        );
        assert!(Stage::Tls.before_request() && !Stage::Body.before_request());
    }
}
