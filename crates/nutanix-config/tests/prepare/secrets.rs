//! Every secret is listed by `Config::secrets` and scrubbed by `redact`.

use nutanix_config::{prepare_with, redact};
use packer_schema::{PackerVars, TemplateKind};
use serde_json::json;

use crate::helpers::{ambient, input, patched};

#[test]
fn every_secret_is_listed_and_redacted() {
    let body = patched(&json!({
        "nutanix_password": "prism-pass",
        "ssh_password": "ssh-pass",
        "ssh_bastion_host": "b",
        "ssh_bastion_password": "bastion-pass",
        "ssh_proxy_password": "proxy-pass",
        "winrm_password": "winrm-pass",
        "ssh_private_key": [80, 82, 73, 86],
        "nutanix_custom_headers": {"CF-Access-Client-Secret": "cf-secret"},
    }));
    let mut packer = PackerVars::default();
    packer
        .user_variables
        .insert("token".into(), "user-var-secret".into());
    packer.user_variables.insert("region".into(), "eu-1".into());
    packer.sensitive_variables = vec!["token".into()];
    let c = prepare_with(&input(TemplateKind::LegacyJson, &body, packer), &ambient())
        .unwrap()
        .config;
    let secrets = c.secrets();
    // base64("admin:prism-pass"), the Basic auth header value.
    let basic = "YWRtaW46cHJpc20tcGFzcw==";
    for s in [
        "prism-pass",
        "ssh-pass",
        "bastion-pass",
        "proxy-pass",
        "winrm-pass",
        "PRIV",
        "cf-secret",
        "user-var-secret",
        basic,
    ] {
        assert!(secrets.iter().any(|x| x == s), "{s} not in secrets");
    }
    assert!(
        !secrets.iter().any(|x| x == "eu-1"),
        "a non-sensitive user variable is not a secret"
    );
    let log = format!(
        "login admin/prism-pass (Authorization: Basic {basic}), ssh ssh-pass via bastion-pass, proxy proxy-pass, \
         winrm winrm-pass, key PRIV, header cf-secret, var user-var-secret, region eu-1"
    );
    assert_eq!(
        redact(&log, &secrets),
        "login admin/<sensitive> (Authorization: Basic <sensitive>), ssh <sensitive> via <sensitive>, proxy <sensitive>, \
         winrm <sensitive>, key <sensitive>, header <sensitive>, var <sensitive>, region eu-1"
    );
    // Debug output of the whole config never shows a password.
    let debug = format!("{c:?}");
    for s in [
        "prism-pass",
        "ssh-pass",
        "bastion-pass",
        "proxy-pass",
        "winrm-pass",
        "cf-secret",
        "PRIV",
    ] {
        assert!(!debug.contains(s), "{s} leaked into Debug");
    }
}

#[test]
fn api_key_mode_secrets() {
    let body =
        patched(&json!({"nutanix_username": "X-ntnx-api-key", "nutanix_password": "the-key"}));
    let c = prepare_with(
        &input(TemplateKind::Hcl2, &body, PackerVars::default()),
        &ambient(),
    )
    .unwrap()
    .config;
    assert_eq!(c.secrets(), vec!["the-key".to_string()]);
}
