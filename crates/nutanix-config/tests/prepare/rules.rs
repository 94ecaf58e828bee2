//! Every validation rule fails with its full message; one body with many mistakes reports them all.

use nutanix_config::*;
use packer_schema::TemplateKind;
use serde_json::{json, Value};

use crate::helpers::{base, errors_of, patched, run, BOTH};

const UUID: &str = "0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f";
const SHA256: &str = "07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a";

fn disk(v: Value) -> Value {
    json!({"vm_disks": [{"image_type": "DISK_IMAGE", "source_image_name": "ok"}, v]})
}

fn nic(v: Value) -> Value {
    json!({"vm_nics": [v]})
}

/// (patch on the base body, every expected error line).
fn cases() -> Vec<(Value, Vec<&'static str>)> {
    vec![
        // Connection.
        (json!({"nutanix_endpoint": null}), vec!["nutanix_endpoint: missing nutanix_endpoint: the Prism Central host name or IP address is required"]),
        (json!({"nutanix_endpoint": "https://pc.example.com:9440"}), vec!["nutanix_endpoint: must be a host name or IP address without scheme, port or path (got \"https://pc.example.com:9440\"); set the port with nutanix_port"]),
        (json!({"nutanix_endpoint": "pc example"}), vec!["nutanix_endpoint: must not contain spaces (got \"pc example\")"]),
        (json!({"nutanix_username": null}), vec!["nutanix_username: missing nutanix_username: set nutanix_username and nutanix_password, or nutanix_api_key"]),
        (json!({"nutanix_password": null}), vec!["nutanix_password: missing nutanix_password: set nutanix_username and nutanix_password, or nutanix_api_key"]),
        (json!({"nutanix_username": "X-ntnx-api-key", "nutanix_password": null}), vec!["nutanix_password: missing nutanix_password: it holds the API key when nutanix_username is X-ntnx-api-key"]),
        (json!({"nutanix_api_key": "k"}), vec!["nutanix_api_key: nutanix_api_key and nutanix_password are mutually exclusive, please use only one of them"]),
        (json!({"nutanix_port": 70000}), vec!["nutanix_port: must be at most 65535"]),
        (json!({"nutanix_transfer_timeout": -1}), vec!["nutanix_transfer_timeout: must be >= 0"]),
        (json!({"nutanix_ca_cert": "/nonexistent/ca.pem"}), vec!["nutanix_ca_cert: file /nonexistent/ca.pem does not exist"]),
        (json!({"nutanix_custom_headers": {"Bad Header": "x"}}), vec!["nutanix_custom_headers[\"Bad Header\"]: is not a valid HTTP header name"]),
        (json!({"nutanix_custom_headers": {"X-Ok": "a\r\nInjected: 1"}}), vec!["nutanix_custom_headers[\"X-Ok\"]: must not contain line breaks"]),
        // Cluster.
        (json!({"cluster_name": null}), vec!["cluster_name: missing cluster_name or cluster_uuid: one of them is required"]),
        (json!({"cluster_uuid": UUID}), vec!["cluster_name: cluster_name and cluster_uuid are mutually exclusive, please use only one of them"]),
        (json!({"cluster_name": null, "cluster_uuid": "pe1"}), vec!["cluster_uuid: must be a UUID such as 0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f (got \"pe1\")"]),
        // Enums.
        (json!({"boot_type": "bios"}), vec!["boot_type: must be one of legacy, uefi or secure_boot (got \"bios\")"]),
        (json!({"boot_priority": "network"}), vec!["boot_priority: must be cdrom or disk (got \"network\")"]),
        (json!({"os_type": "BSD"}), vec!["os_type: must be Linux or Windows (got \"BSD\")"]),
        (json!({"communicator": "docker"}), vec!["communicator: must be one of ssh, winrm or none (got \"docker\")"]),
        (json!({"ssh_file_transfer_method": "rsync"}), vec!["ssh_file_transfer_method: must be scp or sftp (got \"rsync\")"]),
        (json!({"temporary_key_pair_type": "rsa4096"}), vec!["temporary_key_pair_type: must be one of dsa, ecdsa, ed25519 or rsa (got \"rsa4096\")"]),
        (json!({"ova": {"create": true, "format": "vhd"}}), vec!["ova.format: must be vmdk or qcow2 (got \"vhd\")"]),
        (disk(json!({"image_type": "VOLUME"})), vec!["vm_disks[1].image_type: must be one of DISK, DISK_IMAGE or ISO_IMAGE (got \"VOLUME\")"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_uri": "https://x/a.img", "source_image_checksum": SHA256, "source_image_checksum_type": "md5"})),
            vec!["vm_disks[1].source_image_checksum_type: must be sha256 or sha1 (got \"md5\")"]),
        // Types and values.
        (json!({"cpu": 1.5}), vec!["cpu: must be a whole number (got 1.5)"]),
        (json!({"memory_mb": "lots"}), vec!["memory_mb: must be a whole number (got \"lots\")"]),
        (json!({"core": -2}), vec!["core: must be >= 0"]),
        (json!({"cpu": [2]}), vec!["cpu: expected a number, got a list"]),
        (json!({"vm_retain": "maybe"}), vec!["vm_retain: must be true or false (got \"maybe\")"]),
        (json!({"vtpm": true}), vec!["vtpm: expected a block (object), got a bool"]),
        (json!({"vm_nics": "vlan0"}), vec!["vm_nics: expected a list of blocks, got a string"]),
        (json!({"ssh_timeout": "300"}), vec!["ssh_timeout: missing unit in duration \"300\"; use Go duration syntax such as \"90s\", \"1m30s\" or \"1.5h\""]),
        (json!({"shutdown_timeout": "5 minutes"}), vec!["shutdown_timeout: unknown unit \" minutes\" in duration \"5 minutes\"; use Go duration syntax such as \"90s\", \"1m30s\" or \"1.5h\""]),
        (json!({"ip_settle_timeout": "-5s"}), vec!["ip_settle_timeout: must not be negative (got \"-5s\")"]),
        (json!({"ip_wait_address": "10.0.0.0/33"}), vec!["ip_wait_address: unable to parse \"ip_wait_address\": invalid CIDR address: 10.0.0.0/33"]),
        (json!({"ssh_public_key": [1, 300]}), vec!["ssh_public_key[1]: must be a byte (0 to 255)"]),
        (json!({"cd_files": ["a", null]}), vec!["cd_files[1]: must not be null", "cd_files[0]: Bad CD disk file 'a': no such file or directory"]),
        // VM.
        (json!({"user_data": "#cloud-config\n"}), vec!["os_type: is required with user_data: Linux (cloud-init) or Windows (sysprep)"]),
        (json!({"os_type": "Windows", "meta_data": "x"}), vec!["meta_data: is cloud-init meta-data and cannot be used with os_type = \"Windows\""]),
        (json!({"secure_boot": true}), vec!["secure_boot: requires boot_type = \"uefi\" (or use boot_type = \"secure_boot\")"]),
        (json!({"vtpm": {"enabled": true}}), vec!["vtpm.enabled: vTPM is not supported with legacy boot type; set boot_type to uefi or secure_boot"]),
        (json!({"vm_disks": null}), vec!["vm_disks: missing vm_disks: at least one vm_disks block is required"]),
        (json!({"vm_nics": null}), vec!["vm_nics: missing vm_nics: at least one vm_nics block is required unless communicator = \"none\""]),
        (json!({"gpu": [{"name": ""}]}), vec!["gpu[0].name: is required"]),
        (json!({"vm_categories": [{"key": "Env"}]}), vec!["vm_categories[0].value: missing value for vm category Env"]),
        (json!({"vm_categories": [{"value": "Dev"}]}), vec!["vm_categories[0].key: missing name for a vm category with value Dev"]),
        (json!({"image_categories": [{}]}), vec!["image_categories[0]: key and value are required"]),
        // Disks.
        (disk(json!({"source_image_name": "x"})), vec!["vm_disks[1].image_type: is required: DISK, DISK_IMAGE or ISO_IMAGE"]),
        (disk(json!({"image_type": "DISK_IMAGE"})), vec!["vm_disks[1]: image_type DISK_IMAGE needs exactly one of source_image_name, source_image_uuid, source_image_uri or source_image_path"]),
        (disk(json!({"image_type": "ISO_IMAGE", "source_image_name": "a", "source_image_uri": "https://x/a.iso"})), vec!["vm_disks[1]: image_type ISO_IMAGE needs exactly one of source_image_name, source_image_uuid, source_image_uri or source_image_path, got source_image_name and source_image_uri"]),
        (disk(json!({"image_type": "DISK"})), vec!["vm_disks[1].disk_size_gb: is required for image_type DISK"]),
        (disk(json!({"image_type": "DISK", "disk_size_gb": 10, "source_image_name": "a"})), vec!["vm_disks[1].source_image_name: cannot be used with image_type DISK (an empty disk)"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_name": "a", "storage_container_uuid": UUID})), vec!["vm_disks[1].storage_container_uuid: storage_container_uuid can be set only with DISK image type"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_uuid": "centos"})), vec!["vm_disks[1].source_image_uuid: must be a UUID such as 0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f (got \"centos\")"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_uri": "ftp://x/a.img"})), vec!["vm_disks[1].source_image_uri: must be an http://, https:// or nfs:// URL (got \"ftp://x/a.img\")"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_name": "a", "source_image_checksum": SHA256, "source_image_checksum_type": "sha256"})), vec!["vm_disks[1].source_image_checksum: source_image_checksum works only with source_image_uri"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_uri": "https://x/a.img", "source_image_checksum": SHA256})), vec!["vm_disks[1].source_image_checksum_type: source_image_checksum_type need to be defined with source_image_checksum: sha256 or sha1"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_uri": "https://x/a.img", "source_image_checksum_type": "sha1"})), vec!["vm_disks[1].source_image_checksum: no source_image_checksum set despite source_image_checksum_type configured"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_uri": "https://x/a.img", "source_image_checksum": SHA256, "source_image_checksum_type": "sha1"})), vec!["vm_disks[1].source_image_checksum: must be 40 hex digits for sha1 (got 64 characters)"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_path": "/nonexistent/disk.qcow2"})), vec!["vm_disks[1].source_image_path: file /nonexistent/disk.qcow2 does not exist"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_path": "/"})), vec!["vm_disks[1].source_image_path: / is not a regular file"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_name": "a", "source_image_delete": true})), vec!["vm_disks[1].source_image_delete: source_image_delete can be used only with source_image_path or source_image_uri"]),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_name": "a", "bus": "scsi"})), vec!["vm_disks[1].bus: unknown configuration key"]),
        // NICs.
        (nic(json!({})), vec!["vm_nics[0]: missing subnet: set subnet_name or subnet_uuid"]),
        (nic(json!({"subnet_name": "a", "subnet_uuid": UUID})), vec!["vm_nics[0].subnet_name: subnet_name and subnet_uuid are mutually exclusive, please use only one of them"]),
        (nic(json!({"subnet_uuid": "vlan0"})), vec!["vm_nics[0].subnet_uuid: must be a UUID such as 0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f (got \"vlan0\")"]),
        (nic(json!({"subnet_name": "a", "mac_address": "50:6b:8d:aa:bb"})), vec!["vm_nics[0].mac_address: mac address is invalid: \"50:6b:8d:aa:bb\" is not a 48-bit MAC such as 50:6b:8d:aa:bb:cc"]),
        (nic(json!({"subnet_name": "a", "ip_address": "10.0.1"})), vec!["vm_nics[0].ip_address: ip_address must be a valid IPv4 address (got \"10.0.1\")"]),
        (nic(json!({"subnet_name": "a", "ip_address": "10.0.1.5", "skip_ip_assignment": true})), vec!["vm_nics[0].skip_ip_assignment: skip_ip_assignment and ip_address are mutually exclusive"]),
        // Outputs.
        (json!({"fail_if_image_exists": true, "force_deregister": true}), vec!["fail_if_image_exists: fail_if_image_exists and force_deregister are mutually exclusive, please use only one of them"]),
        // Communicators.
        (json!({"ssh_username": null}), vec!["ssh_username: An ssh_username must be specified with communicator = \"ssh\""]),
        (json!({"communicator": "winrm"}), vec!["winrm_username: winrm_username must be specified with communicator = \"winrm\""]),
        (json!({"ssh_certificate_file": "/nonexistent/c.pub"}), vec!["ssh_certificate_file: ssh_private_key_file must be specified if ssh_certificate_file is specified", "ssh_certificate_file: ssh_certificate_file is invalid: file /nonexistent/c.pub does not exist"]),
        (json!({"ssh_private_key_file": "/nonexistent/id_rsa"}), vec!["ssh_private_key_file: ssh_private_key_file is invalid: file /nonexistent/id_rsa does not exist"]),
        (json!({"ssh_bastion_host": "b"}), vec!["ssh_bastion_host: ssh_bastion_password, ssh_bastion_private_key_file or ssh_bastion_agent_auth must be specified"]),
        (json!({"ssh_bastion_host": "b", "ssh_bastion_agent_auth": true, "ssh_bastion_certificate_file": "/x"}), vec!["ssh_bastion_certificate_file: ssh_bastion_private_key_file must be specified if ssh_bastion_certificate_file is specified"]),
        (json!({"ssh_bastion_host": "b", "ssh_bastion_agent_auth": true, "ssh_proxy_host": "p"}), vec!["ssh_bastion_host: please specify either ssh_bastion_host or ssh_proxy_host, not both"]),
        (json!({"ssh_local_tunnels": ["8080"]}), vec!["ssh_local_tunnels[0]: \"8080\" is not of the form port:host:port"]),
        (json!({"ssh_remote_tunnels": ["x:localhost:80"]}), vec!["ssh_remote_tunnels[0]: listening port \"x\" must be a valid port"]),
        // HTTP server.
        (json!({"http_directory": "/nonexistent/http", "http_content": {"a": "b"}}), vec!["http_content: http_content cannot be used in conjunction with http_directory", "http_directory: directory /nonexistent/http does not exist"]),
        (json!({"http_port_min": 9000, "http_port_max": 8000}), vec!["http_port_min: http_port_min (9000) must be less than http_port_max (8000)"]),
        (json!({"http_bind_address": "localhost"}), vec!["http_bind_address: must be an IP address (got \"localhost\")"]),
        // Unknown keys.
        (json!({"vm_nmae": "typo"}), vec!["vm_nmae: unknown configuration key"]),
        (json!({"vtpm": {"enable": true}}), vec!["vtpm.enable: unknown configuration key"]),
    ]
}

#[test]
fn every_rule_fails_with_its_full_message() {
    for kind in BOTH {
        for (patch, expected) in cases() {
            // Unknown keys: Packer rejects them itself in HCL2, and prepare does too if one gets through.
            let body = patched(&patch);
            let got = errors_of(kind, &body);
            assert_eq!(got, expected, "{kind:?} {patch}");
        }
    }
}

#[test]
fn all_problems_are_reported_at_once() {
    let body = patched(&json!({
        "nutanix_endpoint": null,
        "nutanix_password": null,
        "cluster_name": null,
        "cpu": 2.5,
        "boot_type": "efi",
        "vm_disks": [{"image_type": "DISK"}, {"image_type": "DISK_IMAGE", "source_image_checksum_type": "md5"}],
        "vm_nics": [{"mac_address": "nope"}],
        "ssh_username": null,
        "unknown_option": 1,
    }));
    let got = errors_of(TemplateKind::LegacyJson, &body);
    assert_eq!(
        got,
        vec![
            // Decoding problems come first, in declaration order (config.rs), then unknown keys...
            "boot_type: must be one of legacy, uefi or secure_boot (got \"efi\")",
            "vm_disks[1].source_image_checksum_type: must be sha256 or sha1 (got \"md5\")",
            "cpu: must be a whole number (got 2.5)",
            "unknown_option: unknown configuration key",
            // ...then the rules, connection first.
            "nutanix_endpoint: missing nutanix_endpoint: the Prism Central host name or IP address is required",
            "nutanix_password: missing nutanix_password: set nutanix_username and nutanix_password, or nutanix_api_key",
            "cluster_name: missing cluster_name or cluster_uuid: one of them is required",
            "vm_disks[0].disk_size_gb: is required for image_type DISK",
            "vm_disks[1]: image_type DISK_IMAGE needs exactly one of source_image_name, source_image_uuid, source_image_uri or source_image_path",
            "vm_nics[0]: missing subnet: set subnet_name or subnet_uuid",
            "vm_nics[0].mac_address: mac address is invalid: \"nope\" is not a 48-bit MAC such as 50:6b:8d:aa:bb:cc",
            "ssh_username: An ssh_username must be specified with communicator = \"ssh\"",
        ]
    );
    // The error values name each path for callers that want structure rather than text.
    let err = run(TemplateKind::LegacyJson, &body).unwrap_err();
    assert_eq!(err.0[1].path(), "vm_disks[1].source_image_checksum_type");
    assert!(matches!(err.0[3], ConfigError::UnknownKey { .. }));
}

#[test]
fn warnings_for_ignored_and_deprecated_options() {
    let cases: Vec<(Value, &str)> = vec![
        (json!({"ssh_wait_timeout": "5m"}), "ssh_wait_timeout is deprecated; use ssh_timeout"),
        (json!({"ssh_keypair_name": "kp"}), "ssh_keypair_name is ignored: Nutanix has no key pair service (use ssh_private_key_file)"),
        (json!({"boot_command": ["<enter>"], "disable_vnc": true}), "boot_command is ignored because disable_vnc = true"),
        (json!({"image_skip": true, "image_export": true}), "image_skip is ignored because image_export = true: the image is created, exported, then deleted (image_delete = true)"),
        (json!({"image_skip": true, "image_categories": [{"key": "a", "value": "b"}]}), "image_categories is ignored because image_skip = true"),
        (json!({"communicator": "none", "shutdown_command": "halt"}), "shutdown_command is ignored with communicator = \"none\"; the VM is powered off"),
        (json!({"nutanix_password": null, "nutanix_api_key": "k"}), "nutanix_username is ignored because nutanix_api_key is set"),
        (json!({"temporary_key_pair_type": "dsa"}), "temporary_key_pair_type: dsa is deprecated and insecure; use ed25519 or rsa"),
        (disk(json!({"image_type": "ISO_IMAGE", "source_image_name": "a", "disk_size_gb": 5})), "vm_disks[1].disk_size_gb: is ignored for image_type ISO_IMAGE"),
        (disk(json!({"image_type": "DISK_IMAGE", "source_image_name": "a", "source_image_force": true})), "vm_disks[1].source_image_force: is ignored without source_image_uri or source_image_path"),
    ];
    for kind in BOTH {
        for (patch, warning) in &cases {
            let p = run(kind, &patched(patch)).unwrap_or_else(|e| panic!("{patch}: {e}"));
            assert_eq!(p.warnings, vec![warning.to_string()], "{kind:?} {patch}");
        }
    }
}

#[test]
fn nutanix_ca_cert_must_hold_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, "not a certificate").unwrap();
    let p = path.display().to_string();
    let got = errors_of(TemplateKind::Hcl2, &patched(&json!({"nutanix_ca_cert": p})));
    assert_eq!(
        got,
        vec![format!(
            "nutanix_ca_cert: {p} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )]
    );
}

#[test]
fn the_base_body_is_valid() {
    for kind in BOTH {
        assert!(run(kind, &base()).is_ok());
    }
}
