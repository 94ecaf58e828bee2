//! Every option round-trips from a template body into `Config`, in both template kinds, and every
//! default is what the Go plugin (or, for ours, the documentation) says.

use std::collections::BTreeSet;
use std::time::Duration;

use nutanix_config::*;
use packer_schema::{ObjectSpec, Spec, TemplateKind};
use serde_json::{json, Value};

use crate::helpers::{base, patched, run, BOTH};

struct Files {
    _dir: tempfile::TempDir,
    key: String,
    cert: String,
    image: String,
    pem: String,
    http_dir: String,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str, content: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        p.display().to_string()
    };
    let key = path("id_ed25519", "-----BEGIN OPENSSH PRIVATE KEY-----\n");
    let cert = path(
        "id_ed25519-cert.pub",
        "ssh-ed25519-cert-v01@openssh.com AAAA",
    );
    let image = path("disk.qcow2", "QFI");
    let pem = path(
        "ca.pem",
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    );
    let http = dir.path().join("http");
    std::fs::create_dir(&http).unwrap();
    Files {
        key,
        cert,
        image,
        pem,
        http_dir: http.display().to_string(),
        _dir: dir,
    }
}

type Check = Box<dyn Fn(&Config) -> bool>;

/// One row: the option paths it covers, the keys it sets on top of the base body, and what the
/// resulting config must show.
struct Row {
    covers: &'static [&'static str],
    patch: Value,
    check: Check,
}

fn row(
    covers: &'static [&'static str],
    patch: Value,
    check: impl Fn(&Config) -> bool + 'static,
) -> Row {
    Row {
        covers,
        patch,
        check: Box::new(check),
    }
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn exposed(s: &Option<Sensitive>) -> Option<&str> {
    s.as_ref().map(Sensitive::expose)
}

fn rows(f: &Files) -> Vec<Row> {
    let (key, cert, image, pem, http_dir) = (
        f.key.clone(),
        f.cert.clone(),
        f.image.clone(),
        f.pem.clone(),
        f.http_dir.clone(),
    );
    let uuid = "0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f";
    let sha256 = "07b94e6b1a0b0260b94c83d6bb76b26bf7a310dc78d7a9c7432809fb9bc6194a";
    vec![
        // Packer's own values.
        row(
            &["packer_build_name"],
            json!({"packer_build_name": "centos"}),
            |c| c.packer.packer_build_name == "centos",
        ),
        row(
            &["packer_builder_type"],
            json!({"packer_builder_type": "nutanix"}),
            |c| c.packer.packer_builder_type == "nutanix",
        ),
        row(
            &["packer_core_version"],
            json!({"packer_core_version": "1.16.0"}),
            |c| c.packer.packer_core_version == "1.16.0",
        ),
        row(&["packer_debug"], json!({"packer_debug": true}), |c| {
            c.packer.packer_debug
        }),
        row(&["packer_force"], json!({"packer_force": true}), |c| {
            c.packer.packer_force
        }),
        row(
            &["packer_on_error"],
            json!({"packer_on_error": "abort"}),
            |c| c.packer.packer_on_error == "abort",
        ),
        row(
            &["packer_user_variables"],
            json!({"packer_user_variables": {"a": "b"}}),
            |c| c.packer.packer_user_variables.get("a").map(String::as_str) == Some("b"),
        ),
        row(
            &["packer_sensitive_variables"],
            json!({"packer_sensitive_variables": ["a"]}),
            |c| c.packer.packer_sensitive_variables == ["a"],
        ),
        // IP wait.
        row(
            &["ip_wait_timeout"],
            json!({"ip_wait_timeout": "1h"}),
            |c| c.wait_ip.ip_wait_timeout == secs(3600),
        ),
        row(
            &["ip_settle_timeout"],
            json!({"ip_settle_timeout": "1m30s"}),
            |c| c.wait_ip.ip_settle_timeout == secs(90),
        ),
        row(
            &["ip_wait_address"],
            json!({"ip_wait_address": "192.168.1.7/24"}),
            |c| {
                c.wait_ip
                    .ip_wait_address
                    .0
                    .map(|n| n.to_string())
                    .as_deref()
                    == Some("192.168.1.0/24")
            },
        ),
        row(&["ip_wait_address"], json!({"ip_wait_address": ""}), |c| {
            c.wait_ip.ip_wait_address == IpFilter(None)
        }),
        // Communicator.
        row(
            &["communicator", "winrm_username"],
            json!({"communicator": "winrm", "winrm_username": "Administrator"}),
            |c| {
                c.comm.communicator == Communicator::Winrm
                    && c.comm.winrm.winrm_username.as_deref() == Some("Administrator")
            },
        ),
        row(
            &["communicator"],
            json!({"communicator": "none", "vm_nics": null}),
            |c| c.comm.communicator == Communicator::None && c.vm.vm_nics.is_empty(),
        ),
        row(
            &["pause_before_connecting"],
            json!({"pause_before_connecting": "10s"}),
            |c| c.comm.pause_before_connecting == secs(10),
        ),
        row(&["ssh_host"], json!({"ssh_host": "10.0.0.5"}), |c| {
            c.comm.ssh.ssh_host.as_deref() == Some("10.0.0.5")
        }),
        row(&["ssh_port"], json!({"ssh_port": 2222}), |c| {
            c.comm.ssh.ssh_port == 2222
        }),
        row(&["ssh_username"], json!({"ssh_username": "ubuntu"}), |c| {
            c.comm.ssh.ssh_username.as_deref() == Some("ubuntu")
        }),
        row(&["ssh_password"], json!({"ssh_password": "pw"}), |c| {
            exposed(&c.comm.ssh.ssh_password) == Some("pw")
        }),
        row(
            &["ssh_keypair_name"],
            json!({"ssh_keypair_name": "kp"}),
            |c| c.comm.ssh.ssh_keypair_name.as_deref() == Some("kp"),
        ),
        row(
            &["temporary_key_pair_name"],
            json!({"temporary_key_pair_name": "tkp"}),
            |c| c.comm.ssh.temporary_key_pair_name.as_deref() == Some("tkp"),
        ),
        row(
            &["temporary_key_pair_type"],
            json!({"temporary_key_pair_type": "ed25519"}),
            |c| c.comm.ssh.temporary_key_pair_type == KeyPairType::Ed25519,
        ),
        row(
            &["temporary_key_pair_bits"],
            json!({"temporary_key_pair_bits": 4096}),
            |c| c.comm.ssh.temporary_key_pair_bits == Some(4096),
        ),
        row(
            &["ssh_ciphers"],
            json!({"ssh_ciphers": ["aes128-ctr", "aes256-ctr"]}),
            |c| c.comm.ssh.ssh_ciphers == ["aes128-ctr", "aes256-ctr"],
        ),
        row(
            &["ssh_clear_authorized_keys"],
            json!({"ssh_clear_authorized_keys": true}),
            |c| c.comm.ssh.ssh_clear_authorized_keys,
        ),
        row(
            &["ssh_key_exchange_algorithms"],
            json!({"ssh_key_exchange_algorithms": ["curve25519-sha256"]}),
            |c| c.comm.ssh.ssh_key_exchange_algorithms == ["curve25519-sha256"],
        ),
        row(
            &["ssh_private_key_file"],
            json!({"ssh_private_key_file": key.clone()}),
            {
                let k = key.clone();
                move |c| c.comm.ssh.ssh_private_key_file.as_deref() == Some(k.as_str())
            },
        ),
        row(
            &["ssh_certificate_file"],
            json!({"ssh_private_key_file": key.clone(), "ssh_certificate_file": cert.clone()}),
            {
                let k = cert.clone();
                move |c| c.comm.ssh.ssh_certificate_file.as_deref() == Some(k.as_str())
            },
        ),
        row(&["ssh_pty"], json!({"ssh_pty": true}), |c| {
            c.comm.ssh.ssh_pty
        }),
        row(&["ssh_timeout"], json!({"ssh_timeout": "30m"}), |c| {
            c.comm.ssh.ssh_timeout == secs(1800)
        }),
        row(
            &["ssh_wait_timeout"],
            json!({"ssh_wait_timeout": "7m"}),
            |c| {
                c.comm.ssh.ssh_wait_timeout == Some(secs(420))
                    && c.comm.ssh.ssh_timeout == secs(420)
            },
        ),
        row(&["ssh_agent_auth"], json!({"ssh_agent_auth": true}), |c| {
            c.comm.ssh.ssh_agent_auth
        }),
        row(
            &["ssh_disable_agent_forwarding"],
            json!({"ssh_disable_agent_forwarding": true}),
            |c| c.comm.ssh.ssh_disable_agent_forwarding,
        ),
        row(
            &["ssh_handshake_attempts"],
            json!({"ssh_handshake_attempts": 5}),
            |c| c.comm.ssh.ssh_handshake_attempts == 5,
        ),
        row(
            &["ssh_bastion_host", "ssh_bastion_password"],
            json!({"ssh_bastion_host": "bastion", "ssh_bastion_password": "bpw"}),
            |c| {
                c.comm.ssh.ssh_bastion_host.as_deref() == Some("bastion")
                    && exposed(&c.comm.ssh.ssh_bastion_password) == Some("bpw")
                    && c.comm.ssh.ssh_bastion_port == 22
            },
        ),
        row(
            &["ssh_bastion_port"],
            json!({"ssh_bastion_host": "b", "ssh_bastion_agent_auth": true, "ssh_bastion_port": 2200}),
            |c| c.comm.ssh.ssh_bastion_port == 2200,
        ),
        row(
            &["ssh_bastion_agent_auth"],
            json!({"ssh_bastion_host": "b", "ssh_bastion_agent_auth": true}),
            |c| c.comm.ssh.ssh_bastion_agent_auth,
        ),
        row(
            &["ssh_bastion_username"],
            json!({"ssh_bastion_username": "jump"}),
            |c| c.comm.ssh.ssh_bastion_username.as_deref() == Some("jump"),
        ),
        row(
            &["ssh_bastion_interactive"],
            json!({"ssh_bastion_interactive": true}),
            |c| c.comm.ssh.ssh_bastion_interactive,
        ),
        row(
            &["ssh_bastion_private_key_file"],
            json!({"ssh_bastion_host": "b", "ssh_bastion_private_key_file": key.clone()}),
            {
                let k = key.clone();
                move |c| c.comm.ssh.ssh_bastion_private_key_file.as_deref() == Some(k.as_str())
            },
        ),
        row(
            &["ssh_bastion_private_key_file"],
            json!({"ssh_bastion_host": "b", "ssh_private_key_file": key.clone()}),
            {
                let k = key.clone();
                move |c| c.comm.ssh.ssh_bastion_private_key_file.as_deref() == Some(k.as_str())
            },
        ),
        row(
            &["ssh_bastion_certificate_file"],
            json!({"ssh_bastion_host": "b", "ssh_bastion_private_key_file": key.clone(), "ssh_bastion_certificate_file": cert.clone()}),
            {
                let k = cert.clone();
                move |c| c.comm.ssh.ssh_bastion_certificate_file.as_deref() == Some(k.as_str())
            },
        ),
        row(
            &["ssh_file_transfer_method"],
            json!({"ssh_file_transfer_method": "sftp"}),
            |c| c.comm.ssh.ssh_file_transfer_method == FileTransferMethod::Sftp,
        ),
        row(
            &["ssh_proxy_host"],
            json!({"ssh_proxy_host": "proxy"}),
            |c| {
                c.comm.ssh.ssh_proxy_host.as_deref() == Some("proxy")
                    && c.comm.ssh.ssh_proxy_port == 1080
            },
        ),
        row(
            &["ssh_proxy_port"],
            json!({"ssh_proxy_host": "proxy", "ssh_proxy_port": 3128}),
            |c| c.comm.ssh.ssh_proxy_port == 3128,
        ),
        row(
            &["ssh_proxy_username"],
            json!({"ssh_proxy_username": "pu"}),
            |c| c.comm.ssh.ssh_proxy_username.as_deref() == Some("pu"),
        ),
        row(
            &["ssh_proxy_password"],
            json!({"ssh_proxy_password": "ppw"}),
            |c| exposed(&c.comm.ssh.ssh_proxy_password) == Some("ppw"),
        ),
        row(
            &["ssh_keep_alive_interval"],
            json!({"ssh_keep_alive_interval": "10s"}),
            |c| c.comm.ssh.ssh_keep_alive_interval == KeepAlive(Some(secs(10))),
        ),
        row(
            &["ssh_keep_alive_interval"],
            json!({"ssh_keep_alive_interval": "-1s"}),
            |c| c.comm.ssh.ssh_keep_alive_interval == KeepAlive(None),
        ),
        row(
            &["ssh_read_write_timeout"],
            json!({"ssh_read_write_timeout": "1m"}),
            |c| c.comm.ssh.ssh_read_write_timeout == secs(60),
        ),
        row(
            &["ssh_remote_tunnels"],
            json!({"ssh_remote_tunnels": ["8080:localhost:80"]}),
            |c| c.comm.ssh.ssh_remote_tunnels == ["8080:localhost:80"],
        ),
        row(
            &["ssh_local_tunnels"],
            json!({"ssh_local_tunnels": ["9090:10.0.0.1:9090"]}),
            |c| c.comm.ssh.ssh_local_tunnels == ["9090:10.0.0.1:9090"],
        ),
        row(
            &["ssh_public_key"],
            json!({"ssh_public_key": [115, 115, 104]}),
            |c| c.comm.ssh.ssh_public_key == Bytes(b"ssh".to_vec()),
        ),
        row(
            &["ssh_private_key"],
            json!({"ssh_private_key": [107, 101, 121]}),
            |c| c.comm.ssh.ssh_private_key.expose() == b"key",
        ),
        row(&["winrm_password"], json!({"winrm_password": "wpw"}), |c| {
            exposed(&c.comm.winrm.winrm_password) == Some("wpw")
        }),
        row(&["winrm_host"], json!({"winrm_host": "10.0.0.9"}), |c| {
            c.comm.winrm.winrm_host.as_deref() == Some("10.0.0.9")
        }),
        row(&["winrm_no_proxy"], json!({"winrm_no_proxy": true}), |c| {
            c.comm.winrm.winrm_no_proxy
        }),
        row(&["winrm_port"], json!({"winrm_port": 5999}), |c| {
            c.comm.winrm.winrm_port == 5999
        }),
        row(&["winrm_timeout"], json!({"winrm_timeout": "45m"}), |c| {
            c.comm.winrm.winrm_timeout == secs(2700)
        }),
        row(&["winrm_use_ssl"], json!({"winrm_use_ssl": true}), |c| {
            c.comm.winrm.winrm_use_ssl && c.comm.winrm.winrm_port == 5986
        }),
        row(&["winrm_insecure"], json!({"winrm_insecure": true}), |c| {
            c.comm.winrm.winrm_insecure
        }),
        row(&["winrm_use_ntlm"], json!({"winrm_use_ntlm": true}), |c| {
            c.comm.winrm.winrm_use_ntlm
        }),
        // Boot, CD, HTTP, shutdown.
        row(
            &["boot_keygroup_interval"],
            json!({"boot_keygroup_interval": "100ms"}),
            |c| c.boot.boot_keygroup_interval == Some(Duration::from_millis(100)),
        ),
        row(&["boot_wait"], json!({"boot_wait": "10s"}), |c| {
            c.boot.boot_wait.duration() == secs(10)
        }),
        row(
            &["boot_command"],
            json!({"boot_command": ["<esc><wait>", "linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>"]}),
            |c| {
                c.boot.boot_command.elements()
                    == [
                        "<esc><wait>",
                        "linux ks=http://{{ .HTTPIP }}:{{ .HTTPPort }}/ks.cfg<enter>",
                    ]
            },
        ),
        row(&["disable_vnc"], json!({"disable_vnc": true}), |c| {
            c.boot.disable_vnc
        }),
        row(
            &["boot_key_interval"],
            json!({"boot_key_interval": "50ms"}),
            |c| c.boot.boot_key_interval == Some(Duration::from_millis(50)),
        ),
        row(
            &["cd_files"],
            json!({"cd_files": [image.clone(), "/nonexistent/*.cfg"]}),
            {
                let i = image.clone();
                move |c| c.cd.cd_files == [i.as_str(), "/nonexistent/*.cfg"]
            },
        ),
        row(
            &["cd_content"],
            json!({"cd_content": {"ks.cfg": "text"}}),
            |c| c.cd.cd_content.get("ks.cfg").map(String::as_str) == Some("text"),
        ),
        row(&["cd_label"], json!({"cd_label": "OEMDRV"}), |c| {
            c.cd.cd_label.as_deref() == Some("OEMDRV")
        }),
        row(
            &["http_directory"],
            json!({"http_directory": http_dir.clone()}),
            {
                let d = http_dir.clone();
                move |c| c.http.http_directory.as_deref() == Some(d.as_str())
            },
        ),
        row(
            &["http_content"],
            json!({"http_content": {"/ks.cfg": "text"}}),
            |c| c.http.http_content.get("/ks.cfg").map(String::as_str) == Some("text"),
        ),
        row(&["http_port_min"], json!({"http_port_min": 8100}), |c| {
            c.http.http_port_min == 8100
        }),
        row(&["http_port_max"], json!({"http_port_max": 8200}), |c| {
            c.http.http_port_max == 8200
        }),
        row(
            &["http_bind_address"],
            json!({"http_bind_address": "127.0.0.1"}),
            |c| c.http.http_bind_address == "127.0.0.1",
        ),
        row(
            &["shutdown_command"],
            json!({"shutdown_command": "sudo shutdown -P now"}),
            |c| c.shutdown.shutdown_command.as_deref() == Some("sudo shutdown -P now"),
        ),
        row(
            &["shutdown_timeout"],
            json!({"shutdown_timeout": "2m"}),
            |c| c.shutdown.shutdown_timeout == secs(120),
        ),
        // Connection.
        row(
            &["nutanix_username", "nutanix_password"],
            json!({"nutanix_username": "u", "nutanix_password": "p"}),
            |c| {
                c.cluster.nutanix_username.as_deref() == Some("u")
                    && c.cluster.auth()
                        == Auth::Basic {
                            user: "u",
                            password: "p",
                        }
            },
        ),
        row(
            &["nutanix_username", "nutanix_password"],
            json!({"nutanix_username": "x-NTNX-api-key", "nutanix_password": "k1"}),
            |c| c.cluster.auth() == Auth::ApiKey("k1"),
        ),
        row(
            &["nutanix_insecure"],
            json!({"nutanix_insecure": true}),
            |c| c.cluster.nutanix_insecure,
        ),
        row(
            &["nutanix_endpoint"],
            json!({"nutanix_endpoint": "10.1.1.1"}),
            |c| c.cluster.nutanix_endpoint == "10.1.1.1",
        ),
        row(&["nutanix_port"], json!({"nutanix_port": 9441}), |c| {
            c.cluster.nutanix_port == 9441
        }),
        row(
            &["nutanix_transfer_timeout"],
            json!({"nutanix_transfer_timeout": 45}),
            |c| {
                c.cluster.nutanix_transfer_timeout == 45
                    && c.cluster.transfer_timeout() == secs(2700)
            },
        ),
        row(
            &["nutanix_api_key"],
            json!({"nutanix_username": null, "nutanix_password": null, "nutanix_api_key": "k2"}),
            |c| c.cluster.auth() == Auth::ApiKey("k2"),
        ),
        row(
            &["nutanix_ca_cert"],
            json!({"nutanix_ca_cert": pem.clone()}),
            {
                let p = pem.clone();
                move |c| c.cluster.nutanix_ca_cert.as_deref() == Some(p.as_str())
            },
        ),
        row(
            &["nutanix_custom_headers"],
            json!({"nutanix_custom_headers": {"CF-Access-Client-Id": "id1"}}),
            |c| {
                c.cluster
                    .nutanix_custom_headers
                    .get("CF-Access-Client-Id")
                    .map(Sensitive::expose)
                    == Some("id1")
            },
        ),
        // VM.
        row(&["vm_name"], json!({"vm_name": "my-vm"}), |c| {
            c.vm.vm_name == "my-vm" && c.vm.image_name == "my-vm"
        }),
        row(&["os_type"], json!({"os_type": "Windows"}), |c| {
            c.vm.os_type == Some(OsType::Windows)
        }),
        row(&["os_type"], json!({"os_type": "linux"}), |c| {
            c.vm.os_type == Some(OsType::Linux)
        }),
        row(&["boot_type"], json!({"boot_type": "uefi"}), |c| {
            c.vm.boot_type == BootType::Uefi
        }),
        row(&["boot_type"], json!({"boot_type": "secure_boot"}), |c| {
            c.vm.boot_type == BootType::SecureBoot
        }),
        row(
            &["secure_boot"],
            json!({"secure_boot": true, "boot_type": "uefi"}),
            |c| c.vm.secure_boot && c.vm.boot_type == BootType::SecureBoot,
        ),
        row(
            &["vtpm", "vtpm.enabled"],
            json!({"vtpm": {"enabled": true}, "boot_type": "uefi"}),
            |c| c.vm.vtpm.enabled,
        ),
        row(
            &["hardware_virtualization"],
            json!({"hardware_virtualization": true}),
            |c| c.vm.hardware_virtualization,
        ),
        row(&["boot_priority"], json!({"boot_priority": "disk"}), |c| {
            c.vm.boot_priority == BootPriority::Disk
        }),
        row(
            &[
                "vm_disks",
                "vm_disks.image_type",
                "vm_disks.source_image_name",
            ],
            json!({"vm_disks": [{"image_type": "ISO_IMAGE", "source_image_name": "ubuntu.iso"}]}),
            |c| {
                c.vm.vm_disks[0].image_type == Some(ImageType::IsoImage)
                    && c.vm.vm_disks[0].source_image_name.as_deref() == Some("ubuntu.iso")
            },
        ),
        row(
            &["vm_disks.source_image_uuid"],
            json!({"vm_disks": [{"image_type": "DISK_IMAGE", "source_image_uuid": uuid}]}),
            move |c| c.vm.vm_disks[0].source_image_uuid.as_deref() == Some(uuid),
        ),
        row(
            &[
                "vm_disks.source_image_uri",
                "vm_disks.source_image_checksum",
                "vm_disks.source_image_checksum_type",
                "vm_disks.source_image_delete",
                "vm_disks.source_image_force",
            ],
            json!({"vm_disks": [{"image_type": "DISK_IMAGE", "source_image_uri": "https://x/centos.qcow2", "source_image_checksum": sha256, "source_image_checksum_type": "sha256", "source_image_delete": true, "source_image_force": true}]}),
            move |c| {
                let d = &c.vm.vm_disks[0];
                d.source_image_uri.as_deref() == Some("https://x/centos.qcow2")
                    && d.source_image_checksum.as_deref() == Some(sha256)
                    && d.source_image_checksum_type == Some(ChecksumType::Sha256)
                    && d.source_image_delete
                    && d.source_image_force
            },
        ),
        row(
            &["vm_disks.source_image_path"],
            json!({"vm_disks": [{"image_type": "DISK_IMAGE", "source_image_path": image.clone()}]}),
            {
                let i = image.clone();
                move |c| c.vm.vm_disks[0].source_image_path.as_deref() == Some(i.as_str())
            },
        ),
        row(
            &["vm_disks.disk_size_gb", "vm_disks.storage_container_uuid"],
            json!({"vm_disks": [{"image_type": "DISK", "disk_size_gb": 40, "storage_container_uuid": uuid}]}),
            move |c| {
                c.vm.vm_disks[0].disk_size_gb == Some(40)
                    && c.vm.vm_disks[0].storage_container_uuid.as_deref() == Some(uuid)
            },
        ),
        row(
            &[
                "vm_nics",
                "vm_nics.subnet_name",
                "vm_nics.mac_address",
                "vm_nics.ip_address",
            ],
            json!({"vm_nics": [{"subnet_name": "s1", "mac_address": "50:6b:8d:aa:bb:cc", "ip_address": "10.0.1.50"}]}),
            |c| {
                let n = &c.vm.vm_nics[0];
                n.subnet_name.as_deref() == Some("s1")
                    && n.mac_address.as_deref() == Some("50:6b:8d:aa:bb:cc")
                    && n.ip_address.as_deref() == Some("10.0.1.50")
            },
        ),
        row(
            &["vm_nics.subnet_uuid", "vm_nics.skip_ip_assignment"],
            json!({"vm_nics": [{"subnet_uuid": uuid, "skip_ip_assignment": true}]}),
            move |c| {
                c.vm.vm_nics[0].subnet_uuid.as_deref() == Some(uuid)
                    && c.vm.vm_nics[0].skip_ip_assignment
            },
        ),
        row(&["image_name"], json!({"image_name": "golden"}), |c| {
            c.vm.image_name == "golden"
        }),
        row(
            &["cluster_uuid"],
            json!({"cluster_name": null, "cluster_uuid": uuid}),
            move |c| c.vm.cluster_uuid.as_deref() == Some(uuid) && c.vm.cluster_name.is_none(),
        ),
        row(&["cluster_name"], json!({"cluster_name": "pe1"}), |c| {
            c.vm.cluster_name.as_deref() == Some("pe1")
        }),
        row(&["cpu"], json!({"cpu": 2}), |c| c.vm.cpu == 2),
        row(&["core"], json!({"core": 4}), |c| c.vm.core == 4),
        row(&["memory_mb"], json!({"memory_mb": 8192}), |c| {
            c.vm.memory_mb == 8192
        }),
        row(&["memory_mb"], json!({"memory_mb": "8192"}), |c| {
            c.vm.memory_mb == 8192
        }),
        row(
            &["user_data"],
            json!({"os_type": "Linux", "user_data": "#cloud-config\n"}),
            |c| {
                c.vm.user_data
                    .as_ref()
                    .map(|u| u.as_base64().to_string())
                    .as_deref()
                    == Some("I2Nsb3VkLWNvbmZpZwo=")
            },
        ),
        row(
            &["user_data"],
            json!({"os_type": "Linux", "user_data": "I2Nsb3VkLWNvbmZpZwo="}),
            |c| {
                c.vm.user_data
                    .as_ref()
                    .is_some_and(|u| u.given_as_base64() && u.decoded() == b"#cloud-config\n")
            },
        ),
        row(
            &["meta_data"],
            json!({"os_type": "Linux", "meta_data": "instance-id: x\n"}),
            |c| {
                c.vm.meta_data
                    .as_ref()
                    .is_some_and(|u| u.decoded() == b"instance-id: x\n")
            },
        ),
        row(
            &["vm_categories", "vm_categories.key", "vm_categories.value"],
            json!({"vm_categories": [{"key": "Env", "value": "Dev"}, {"key": "Env", "value": "Test"}]}),
            |c| c.vm.vm_categories.len() == 2 && c.vm.vm_categories[1].value == "Test",
        ),
        row(&["project"], json!({"project": "default"}), |c| {
            c.vm.project.as_deref() == Some("default")
        }),
        row(
            &["gpu", "gpu.name"],
            json!({"gpu": [{"name": "Tesla T4"}]}),
            |c| c.vm.gpu[0].name == "Tesla T4",
        ),
        row(&["serialport"], json!({"serialport": true}), |c| {
            c.vm.serialport
        }),
        row(
            &["vm_clean", "vm_clean.cdrom"],
            json!({"vm_clean": {"cdrom": true}}),
            |c| c.vm.vm_clean.cdrom,
        ),
        // Outputs and lifecycle.
        row(
            &["ova", "ova.create", "ova.format", "ova.name"],
            json!({"ova": {"create": true, "format": "qcow2", "name": "my-ova"}}),
            |c| {
                c.ova.create
                    && c.ova.format == OvaFormat::Qcow2
                    && c.ova.name == "my-ova"
                    && !c.ova.export
            },
        ),
        row(&["ova.export"], json!({"ova": {"export": true}}), |c| {
            c.ova.export
                && c.ova.create
                && c.ova.name == "Packer-ABCD1234"
                && c.ova.format == OvaFormat::Vmdk
        }),
        row(
            &[
                "template",
                "template.create",
                "template.name",
                "template.description",
            ],
            json!({"template": {"create": true, "name": "t1", "description": "d"}}),
            |c| c.template.create && c.template.name == "t1" && c.template.description == "d",
        ),
        row(
            &["template.create"],
            json!({"vm_name": "v", "template": {"create": true}}),
            |c| c.template.name == "v",
        ),
        row(
            &["force_deregister"],
            json!({"force_deregister": true}),
            |c| c.force_deregister,
        ),
        row(
            &["image_description"],
            json!({"image_description": "golden image"}),
            |c| c.image_description == "golden image",
        ),
        row(
            &[
                "image_categories",
                "image_categories.key",
                "image_categories.value",
            ],
            json!({"image_categories": [{"key": "TemplateType", "value": "Vm"}]}),
            |c| c.image_categories[0].key == "TemplateType",
        ),
        row(
            &["allow_duplicate_images"],
            json!({"allow_duplicate_images": true}),
            |c| c.allow_duplicate_images,
        ),
        row(&["image_skip"], json!({"image_skip": true}), |c| {
            c.image_skip
        }),
        row(&["image_delete"], json!({"image_delete": true}), |c| {
            c.image_delete
        }),
        row(&["image_export"], json!({"image_export": true}), |c| {
            c.image_export
        }),
        row(
            &["image_export", "image_skip"],
            json!({"image_export": true, "image_skip": true}),
            |c| c.image_export && !c.image_skip && c.image_delete,
        ),
        row(
            &["fail_if_image_exists"],
            json!({"fail_if_image_exists": true}),
            |c| c.fail_if_image_exists,
        ),
        row(
            &["vm_force_delete"],
            json!({"vm_force_delete": true}),
            |c| c.vm_force_delete,
        ),
        row(&["vm_retain"], json!({"vm_retain": true}), |c| c.vm_retain),
        row(
            &["disable_stop_instance"],
            json!({"disable_stop_instance": true}),
            |c| c.disable_stop_instance,
        ),
        row(
            &["skip_vm_create_task_check"],
            json!({"skip_vm_create_task_check": true}),
            |c| c.skip_vm_create_task_check,
        ),
        row(
            &["output_directory"],
            json!({"output_directory": "out"}),
            |c| c.output_directory == "out",
        ),
    ]
}

/// Every option path of the schema: top-level keys, and `block.key` for nested ones.
fn option_paths(spec: &ObjectSpec, prefix: &str, out: &mut BTreeSet<String>) {
    for (k, s) in &spec.0 {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match s {
            Spec::Attr(_) => {}
            Spec::Block(b) => option_paths(&b.nested, &path, out),
            Spec::BlockList(b) => option_paths(&b.nested, &path, out),
        }
        out.insert(path);
    }
}

#[test]
fn every_option_has_a_row_and_round_trips_in_both_template_kinds() {
    let f = files();
    let rows = rows(&f);
    let mut all = BTreeSet::new();
    option_paths(&config_spec(), "", &mut all);
    let covered: BTreeSet<String> = rows
        .iter()
        .flat_map(|r| r.covers.iter().map(|s| s.to_string()))
        .collect();
    let missing: Vec<&String> = all.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "options without a round-trip row: {missing:?}"
    );
    let stray: Vec<&String> = covered.difference(&all).collect();
    assert!(
        stray.is_empty(),
        "rows name options that do not exist: {stray:?}"
    );

    for kind in BOTH {
        for r in &rows {
            let body = patched(&r.patch);
            match run(kind, &body) {
                Ok(p) => assert!(
                    (r.check)(&p.config),
                    "{kind:?} {:?}: wrong value in {:#?}",
                    r.covers,
                    p.config
                ),
                Err(e) => panic!("{kind:?} {:?} {}: rejected:\n{e}", r.covers, r.patch),
            }
        }
    }
}

#[test]
fn defaults_are_the_go_plugins() {
    for kind in BOTH {
        let p = run(kind, &base()).unwrap();
        let c = &p.config;
        assert_eq!(c.cluster.nutanix_port, 9440);
        assert_eq!(c.cluster.transfer_timeout(), secs(30 * 60));
        assert!(!c.cluster.nutanix_insecure);
        assert_eq!((c.vm.cpu, c.vm.core, c.vm.memory_mb), (1, 1, 4096));
        assert_eq!(c.vm.vm_name, "Packer-ABCD1234");
        assert_eq!(c.vm.image_name, "Packer-ABCD1234");
        assert_eq!(c.image_description, "built by Packer");
        assert_eq!(c.vm.boot_type, BootType::Legacy);
        assert_eq!(c.vm.boot_priority, BootPriority::Cdrom);
        assert_eq!(c.vm.os_type, None);
        assert_eq!(c.comm.communicator, Communicator::Ssh);
        assert_eq!(c.comm.ssh.ssh_port, 22);
        assert_eq!(c.comm.ssh.ssh_timeout, secs(20 * 60));
        assert_eq!(c.comm.ssh.ssh_handshake_attempts, 0);
        assert_eq!(c.comm.ssh.ssh_keep_alive_interval, KeepAlive(Some(secs(5))));
        assert_eq!(c.comm.ssh.ssh_file_transfer_method, FileTransferMethod::Scp);
        assert_eq!(c.comm.ssh.temporary_key_pair_type, KeyPairType::Rsa);
        assert_eq!(c.comm.winrm.winrm_port, 5985);
        assert_eq!(c.comm.winrm.winrm_timeout, secs(30 * 60));
        assert_eq!(c.shutdown.shutdown_timeout, secs(5 * 60));
        assert_eq!(c.wait_ip.ip_wait_timeout, secs(30 * 60));
        assert_eq!(c.wait_ip.ip_settle_timeout, secs(5));
        assert_eq!(
            c.wait_ip.ip_wait_address,
            IpFilter(Some("0.0.0.0/0".parse().unwrap()))
        );
        assert_eq!(c.boot.boot_wait.duration(), Duration::ZERO);
        assert_eq!(c.boot.boot_key_interval, None);
        assert_eq!(c.ova.format, OvaFormat::Vmdk);
        assert!(!c.ova.create && c.ova.name.is_empty());
        assert!(!c.template.create && c.template.name.is_empty());
        assert_eq!((c.http.http_port_min, c.http.http_port_max), (8000, 9000));
        assert_eq!(c.http.http_bind_address, "0.0.0.0");
        assert_eq!(c.output_directory, ".");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.generated_vars, GENERATED_VARS);
    }
}

#[test]
fn zero_values_mean_unset_as_in_go() {
    for kind in BOTH {
        let body = patched(
            &json!({"cpu": 0, "core": 0, "memory_mb": 0, "nutanix_port": 0, "ssh_port": 0,
            "image_description": "", "vm_name": "", "ssh_timeout": "0s", "cluster_uuid": ""}),
        );
        let c = run(kind, &body).unwrap().config;
        assert_eq!(
            (c.vm.cpu, c.vm.core, c.vm.memory_mb, c.cluster.nutanix_port),
            (1, 1, 4096, 9440)
        );
        assert_eq!(c.comm.ssh.ssh_port, 22);
        assert_eq!(c.comm.ssh.ssh_timeout, secs(20 * 60));
        assert_eq!(c.image_description, "built by Packer");
        assert_eq!(c.vm.vm_name, "Packer-ABCD1234");
        assert_eq!(c.vm.cluster_uuid, None);
    }
}

#[test]
fn legacy_json_is_weakly_typed_like_mapstructure() {
    let body = patched(
        &json!({"cpu": "2", "nutanix_insecure": "true", "vm_retain": 1, "ssh_port": "0x16",
        "ssh_ciphers": "aes128-ctr,aes256-ctr", "image_name": 42, "serialport": "1"}),
    );
    let c = run(TemplateKind::LegacyJson, &body).unwrap().config;
    assert_eq!(c.vm.cpu, 2);
    assert!(c.cluster.nutanix_insecure && c.vm_retain && c.vm.serialport);
    assert_eq!(c.comm.ssh.ssh_port, 22);
    assert_eq!(c.comm.ssh.ssh_ciphers, ["aes128-ctr", "aes256-ctr"]);
    assert_eq!(c.vm.image_name, "42");
}

#[test]
fn packer_vars_from_the_transport_are_kept() {
    let packer = packer_schema::PackerVars {
        build_name: "centos".into(),
        builder_type: "nutanix".into(),
        core_version: "1.16.0".into(),
        debug: true,
        force: true,
        on_error: "abort".into(),
        ..Default::default()
    };
    let input = crate::helpers::input(TemplateKind::Hcl2, &base(), packer);
    let c = prepare_with(&input, &crate::helpers::ambient())
        .unwrap()
        .config;
    assert_eq!(c.packer.packer_build_name, "centos");
    assert_eq!(c.packer.packer_builder_type, "nutanix");
    assert_eq!(c.packer.packer_core_version, "1.16.0");
    assert!(c.packer.packer_debug && c.packer.packer_force);
    assert_eq!(c.packer.packer_on_error, "abort");
}

#[test]
fn later_bodies_override_earlier_ones_but_nulls_do_not() {
    let first = Value::Object(base());
    let second = json!({"cpu": 8, "cluster_name": null});
    let input = packer_schema::PrepareInput {
        kind: TemplateKind::LegacyJson,
        packer: Default::default(),
        configs: vec![first, second],
    };
    let c = prepare_with(&input, &crate::helpers::ambient())
        .unwrap()
        .config;
    assert_eq!(c.vm.cpu, 8);
    assert_eq!(c.vm.cluster_name.as_deref(), Some("cl1"));
}

#[test]
fn hcl2_unknown_placeholders_pass_validation() {
    // `packer validate` replaces values it cannot know yet (data sources) with "<unknown>".
    let body = patched(
        &json!({"cluster_name": null, "cluster_uuid": "<unknown>", "boot_type": "<unknown>",
        "vm_disks": [{"image_type": "DISK_IMAGE", "source_image_path": "<unknown>"}],
        "vm_nics": [{"subnet_uuid": "<unknown>", "mac_address": "<unknown>"}], "ip_wait_address": "<unknown>"}),
    );
    let c = run(TemplateKind::Hcl2, &body).unwrap().config;
    assert_eq!(c.vm.boot_type, BootType::Legacy);
    assert_eq!(c.vm.cluster_uuid.as_deref(), Some("<unknown>"));
}
