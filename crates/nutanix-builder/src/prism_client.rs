//! The one Prism client of a build, made from the template's connection options.

use nutanix_config::{Auth, Config};
use prism::{ClientConfig, CustomHeader, PrismClient, Secret, TlsOptions};

use crate::error::BuildError;

/// Builds the client (no network traffic yet).
pub(crate) fn prism_client(cfg: &Config) -> Result<PrismClient, BuildError> {
    let cl = &cfg.cluster;
    let auth = match cl.auth() {
        Auth::Basic { user, password } => prism::Auth::Basic {
            username: user.to_string(),
            password: Secret::new(password),
        },
        Auth::ApiKey(key) => prism::Auth::ApiKey(Secret::new(key)),
    };
    let mut config = ClientConfig::new(&cl.nutanix_endpoint, cl.nutanix_port, auth);
    let ca_bundle_pem = match &cl.nutanix_ca_cert {
        Some(path) => Some(std::fs::read(path).map_err(|source| BuildError::Io {
            what: "reading nutanix_ca_cert".into(),
            path: path.into(),
            source,
        })?),
        None => None,
    };
    config.tls = TlsOptions {
        ca_bundle_pem,
        danger_accept_invalid_certs: cl.nutanix_insecure,
    };
    config.custom_headers = cl
        .nutanix_custom_headers
        .iter()
        .map(|(name, value)| CustomHeader {
            name: name.clone(),
            value: Secret::new(value.expose()),
        })
        .collect();
    PrismClient::new(config).map_err(|e| BuildError::prism("connecting to Prism Central", e))
}
