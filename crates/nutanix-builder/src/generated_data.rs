//! The data Packer's provisioners get from the builder (`Hook.Run`'s `Data`): the SDK's common
//! keys (`Host`, `Port`, `User`, `Password`, `ConnType`, keys, `ID`, `PackerRunUUID`,
//! `PackerHTTP*`) plus the generated data declared in Prepare. The same map, completed once the
//! images exist, is the artifact's `generated_data`. [`Facts`] is what the build has learnt so
//! far: it only grows, and only this module reads it.

use std::collections::BTreeMap;

use nutanix_config::{Communicator, Config};
use rmpv::Value;

use crate::entities::Named;
use crate::ssh_key::BuildKeys;

/// What the build has learnt so far, for Packer's hook data and generated data.
#[derive(Debug, Default, Clone)]
pub(crate) struct Facts {
    /// The cluster.
    pub(crate) cluster: Option<Named>,
    /// The VM.
    pub(crate) vm: Option<Named>,
    /// Where the communicator connects.
    pub(crate) host: Option<String>,
    /// The HTTP server, while it runs.
    pub(crate) http: Option<HttpInfo>,
    /// The build's SSH key pair.
    pub(crate) keys: Option<BuildKeys>,
    /// UUIDs of the images behind the disks, in disk order, without repeats.
    pub(crate) source_images: Vec<String>,
    /// UUIDs of the output images, in data disk order.
    pub(crate) images: Vec<String>,
    /// `PACKER_RUN_UUID`.
    pub(crate) run_uuid: String,
}

/// What the SDK puts in `PackerHTTP*` when a builder runs no HTTP server.
const HTTP_IP_NOT_IMPLEMENTED: &str = "ERR_HTTP_IP_NOT_IMPLEMENTED_BY_BUILDER";
const HTTP_PORT_NOT_IMPLEMENTED: &str = "ERR_HTTP_PORT_NOT_IMPLEMENTED_BY_BUILDER";
const HTTP_ADDR_NOT_IMPLEMENTED: &str = "ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER";

/// The value of generated data that is not known yet when provisioners run (images are made
/// after provisioning).
pub(crate) const NOT_YET_KNOWN: &str = "ERR_NOT_KNOWN_UNTIL_THE_IMAGES_ARE_CREATED";

/// Our generated data (the names `nutanix_config::GENERATED_VARS` declares), as strings.
pub(crate) fn generated_data(st: &Facts) -> BTreeMap<String, String> {
    let images: Vec<&str> = st.images.iter().map(String::as_str).collect();
    let mut m = BTreeMap::new();
    let image_uuids = if images.is_empty() {
        NOT_YET_KNOWN.to_string()
    } else {
        images.join(",")
    };
    m.insert(
        "ImageUUID".to_string(),
        images
            .first()
            .map_or_else(|| NOT_YET_KNOWN.to_string(), |s| s.to_string()),
    );
    m.insert("ImageUUIDs".to_string(), image_uuids);
    m.insert(
        "VmUUID".to_string(),
        st.vm.as_ref().map(|v| v.uuid.clone()).unwrap_or_default(),
    );
    m.insert("SourceImageUUIDs".to_string(), st.source_images.join(","));
    m.insert(
        "ClusterUUID".to_string(),
        st.cluster
            .as_ref()
            .map(|c| c.uuid.clone())
            .unwrap_or_default(),
    );
    m.insert(
        "ClusterName".to_string(),
        st.cluster
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_default(),
    );
    m
}

/// Where the HTTP server listens, when one runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpInfo {
    /// Address provisioners should use.
    pub(crate) ip: String,
    /// Port.
    pub(crate) port: u16,
}

/// The full hook data (SDK `PopulateProvisionHookData` keys plus ours).
pub(crate) fn hook_data(cfg: &Config, st: &Facts) -> packer_rpc::HookData {
    let mut d = packer_rpc::HookData::new();
    for (k, v) in generated_data(st) {
        d.insert(k, Value::from(v));
    }
    let s = |v: &str| Value::from(v.to_string());
    d.insert(
        "ID".into(),
        s(st.vm.as_ref().map(|v| v.uuid.as_str()).unwrap_or("")),
    );
    d.insert("PackerRunUUID".into(), s(&st.run_uuid));
    match &st.http {
        Some(h) => {
            d.insert("PackerHTTPIP".into(), s(&h.ip));
            d.insert("PackerHTTPPort".into(), s(&h.port.to_string()));
            d.insert("PackerHTTPAddr".into(), s(&format!("{}:{}", h.ip, h.port)));
        }
        None => {
            d.insert("PackerHTTPIP".into(), s(HTTP_IP_NOT_IMPLEMENTED));
            d.insert("PackerHTTPPort".into(), s(HTTP_PORT_NOT_IMPLEMENTED));
            d.insert("PackerHTTPAddr".into(), s(HTTP_ADDR_NOT_IMPLEMENTED));
        }
    }
    let ssh = &cfg.comm.ssh;
    let winrm = &cfg.comm.winrm;
    let host = st.host.clone().unwrap_or_default();
    let (port, user, password) = match cfg.comm.communicator {
        Communicator::Ssh => (
            i64::from(ssh.ssh_port),
            ssh.ssh_username.clone().unwrap_or_default(),
            ssh.ssh_password
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default(),
        ),
        Communicator::Winrm => (
            i64::from(winrm.winrm_port),
            winrm.winrm_username.clone().unwrap_or_default(),
            winrm
                .winrm_password
                .as_ref()
                .map(|p| p.expose().to_string())
                .unwrap_or_default(),
        ),
        Communicator::None => (0, String::new(), String::new()),
    };
    d.insert("Host".into(), s(&host));
    // Go `int`: Packer's provisioners type-assert it.
    d.insert("Port".into(), Value::from(port));
    d.insert("User".into(), s(&user));
    d.insert("Password".into(), s(&password));
    d.insert("ConnType".into(), s(cfg.comm.communicator.as_str()));
    // The SDK puts the key it generated, or read from ssh_private_key_file, in the hook data.
    let (public_key, private_key) = match &st.keys {
        Some(k) => (k.public_key().to_string(), k.private_key().to_string()),
        None => (
            String::from_utf8_lossy(&ssh.ssh_public_key.0).into_owned(),
            String::from_utf8_lossy(ssh.ssh_private_key.expose()).into_owned(),
        ),
    };
    d.insert("SSHPublicKey".into(), s(&public_key));
    d.insert("SSHPrivateKey".into(), s(&private_key));
    d.insert(
        "SSHPrivateKeyFile".into(),
        s(ssh.ssh_private_key_file.as_deref().unwrap_or("")),
    );
    d.insert("SSHAgentAuth".into(), Value::from(ssh.ssh_agent_auth));
    d.insert(
        "WinRMPassword".into(),
        s(&match cfg.comm.communicator {
            Communicator::Winrm => password,
            _ => String::new(),
        }),
    );
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cfg(extra: serde_json::Value) -> Config {
        let mut body = json!({
            "nutanix_endpoint": "pc", "nutanix_username": "u", "nutanix_password": "p",
            "cluster_name": "c", "vm_disks": [{"image_type": "DISK", "disk_size_gb": 1}],
            "vm_nics": [{"subnet_name": "n"}],
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        nutanix_config::prepare(&packer_schema::PrepareInput {
            kind: packer_schema::TemplateKind::Hcl2,
            packer: Default::default(),
            configs: vec![body],
        })
        .unwrap()
        .config
    }

    fn state() -> Facts {
        Facts {
            vm: Some(Named {
                uuid: "vm-1".into(),
                name: "v".into(),
            }),
            cluster: Some(Named {
                uuid: "cl-1".into(),
                name: "PE-1".into(),
            }),
            host: Some("10.0.0.7".into()),
            run_uuid: "run-1".into(),
            ..Facts::default()
        }
    }

    #[test]
    fn ssh_hook_data_has_the_sdk_keys_and_types() {
        let c = cfg(
            json!({"communicator": "ssh", "ssh_username": "ubuntu", "ssh_password": "pw", "ssh_port": 2222}),
        );
        let d = hook_data(&c, &state());
        assert_eq!(d["Host"], Value::from("10.0.0.7"));
        // A Go int, not a string.
        assert_eq!(d["Port"], Value::from(2222i64));
        assert_eq!(d["User"], Value::from("ubuntu"));
        assert_eq!(d["Password"], Value::from("pw"));
        assert_eq!(d["ConnType"], Value::from("ssh"));
        assert_eq!(d["ID"], Value::from("vm-1"));
        assert_eq!(d["PackerRunUUID"], Value::from("run-1"));
        assert_eq!(
            d["PackerHTTPAddr"],
            Value::from("ERR_HTTP_ADDR_NOT_IMPLEMENTED_BY_BUILDER")
        );
        assert_eq!(d["SSHAgentAuth"], Value::from(false));
        assert_eq!(d["VmUUID"], Value::from("vm-1"));
        assert_eq!(d["ClusterName"], Value::from("PE-1"));
        assert_eq!(d["ImageUUID"], Value::from(NOT_YET_KNOWN));
        for k in nutanix_config::GENERATED_VARS {
            assert!(d.contains_key(*k), "generated var {k} missing");
        }
    }

    #[test]
    fn the_build_key_pair_reaches_the_provisioners() {
        let c = cfg(json!({"communicator": "ssh", "ssh_username": "ubuntu"}));
        let mut st = state();
        assert_eq!(hook_data(&c, &st)["SSHPublicKey"], Value::from(""));
        st.keys = Some(BuildKeys::generated(
            "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n".into(),
            "ssh-ed25519 AAAA\n",
        ));
        let d = hook_data(&c, &st);
        // Go's MarshalAuthorizedKey line, newline included, as the SDK hands it on.
        assert_eq!(d["SSHPublicKey"], Value::from("ssh-ed25519 AAAA\n"));
        assert_eq!(
            d["SSHPrivateKey"],
            Value::from("-----BEGIN OPENSSH PRIVATE KEY-----\nk\n")
        );
        assert_eq!(d["Password"], Value::from(""));
    }

    #[test]
    fn http_server_and_images_fill_their_keys() {
        let c = cfg(json!({"communicator": "none"}));
        let mut st = state();
        st.images = vec!["i1".into(), "i2".into()];
        let http = HttpInfo {
            ip: "10.0.0.1".into(),
            port: 8100,
        };
        st.http = Some(http);
        let d = hook_data(&c, &st);
        assert_eq!(d["PackerHTTPAddr"], Value::from("10.0.0.1:8100"));
        assert_eq!(d["PackerHTTPPort"], Value::from("8100"));
        assert_eq!(d["ConnType"], Value::from("none"));
        assert_eq!(d["Port"], Value::from(0i64));
        assert_eq!(d["ImageUUID"], Value::from("i1"));
        assert_eq!(d["ImageUUIDs"], Value::from("i1,i2"));
    }
}
