//! Cross-option rules. The Go plugin's rules are kept (with its words where they read well); its
//! holes are closed: every mistake it silently ignored or that crashed it at build time (a disk with
//! no source, an unknown `image_type`, both a name and a UUID) is reported here, all at once.

use std::path::Path;

use crate::boot::BootData;
use crate::checks::{
    dir_problem, expand_user, file_problem, is_glob, is_header_name, is_ipv4, is_mac48, is_uuid,
    tunnel_error,
};
use crate::config::is_api_key_username;
use crate::config::{
    BootType, Category, ChecksumType, Communicator, Config, ImageType, KeyPairType, OsType, VmDisk,
    VmNic,
};
use crate::decl::Cx;
use crate::errors::ConfigError;

/// Checks `c`, pushing every problem into `cx.errors` and every note into `cx.warnings`.
pub(crate) fn validate(c: &Config, cx: &mut Cx, home: Option<&Path>) {
    connection(c, cx);
    cluster(c, cx);
    vm(c, cx);
    for (i, d) in c.vm.vm_disks.iter().enumerate() {
        disk(d, &format!("vm_disks[{i}]"), cx);
    }
    for (i, n) in c.vm.vm_nics.iter().enumerate() {
        nic(n, &format!("vm_nics[{i}]"), cx);
    }
    for (i, cat) in c.vm.vm_categories.iter().enumerate() {
        category(cat, &format!("vm_categories[{i}]"), "vm", cx);
    }
    for (i, cat) in c.image_categories.iter().enumerate() {
        category(cat, &format!("image_categories[{i}]"), "image", cx);
    }
    for (i, g) in c.vm.gpu.iter().enumerate() {
        if g.name.is_empty() {
            cx.missing(format!("gpu[{i}].name"), "is required");
        }
    }
    outputs(c, cx);
    communicator(c, cx, home);
    boot_cd_http(c, cx);
}

fn uuid_option(cx: &mut Cx, path: &str, value: Option<&String>) {
    if let Some(v) = value {
        if !cx.is_unknown(v) && !is_uuid(v) {
            cx.error(ConfigError::invalid(
                path,
                format!("must be a UUID such as 0005a7b8-3f5c-4e5a-8d3e-9a1b2c3d4e5f (got {v:?})"),
            ));
        }
    }
}

fn connection(c: &Config, cx: &mut Cx) {
    let cl = &c.cluster;
    let ep = cl.nutanix_endpoint.as_str();
    if ep.is_empty() {
        cx.missing(
            "nutanix_endpoint",
            "missing nutanix_endpoint: the Prism Central host name or IP address is required",
        );
    } else if !cx.is_unknown(ep) {
        let bare_v6 = ep.parse::<std::net::Ipv6Addr>().is_ok();
        let bracketed_v6 = ep
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .is_some_and(|r| r.parse::<std::net::Ipv6Addr>().is_ok());
        if ep.contains("://") || ep.contains('/') || (ep.contains(':') && !bare_v6 && !bracketed_v6)
        {
            cx.error(ConfigError::invalid(
                "nutanix_endpoint",
                format!("must be a host name or IP address without scheme, port or path (got {ep:?}); set the port with nutanix_port"),
            ));
        } else if ep.chars().any(char::is_whitespace) {
            cx.error(ConfigError::invalid(
                "nutanix_endpoint",
                format!("must not contain spaces (got {ep:?})"),
            ));
        }
    }

    let user = cl.nutanix_username.as_deref();
    let key_user = user.is_some_and(is_api_key_username);
    if cl.nutanix_api_key.is_some() {
        if cl.nutanix_password.is_some() {
            cx.error(ConfigError::invalid(
                "nutanix_api_key",
                "nutanix_api_key and nutanix_password are mutually exclusive, please use only one of them",
            ));
        }
        if user.is_some() && !key_user {
            cx.warnings
                .push("nutanix_username is ignored because nutanix_api_key is set".to_string());
        }
    } else {
        if user.is_none() {
            cx.missing("nutanix_username",
                "missing nutanix_username: set nutanix_username and nutanix_password, or nutanix_api_key",
            );
        }
        if cl.nutanix_password.is_none() {
            let why = if key_user {
                "missing nutanix_password: it holds the API key when nutanix_username is X-ntnx-api-key"
            } else {
                "missing nutanix_password: set nutanix_username and nutanix_password, or nutanix_api_key"
            };
            cx.missing("nutanix_password", why);
        }
    }

    if let Some(ca) = &cl.nutanix_ca_cert {
        if !cx.is_unknown(ca) {
            match std::fs::read(ca) {
                Ok(pem) => {
                    let text = String::from_utf8_lossy(&pem);
                    if !text.contains("-----BEGIN CERTIFICATE-----") {
                        cx.error(ConfigError::invalid(
                            "nutanix_ca_cert",
                            format!("{ca} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
                        ));
                    }
                }
                Err(_) => {
                    let why =
                        file_problem(Path::new(ca)).unwrap_or_else(|| format!("cannot read {ca}"));
                    cx.error(ConfigError::invalid("nutanix_ca_cert", why));
                }
            }
        }
        if cl.nutanix_insecure {
            cx.warnings.push(
                "nutanix_ca_cert is not used because nutanix_insecure = true disables certificate checks"
                    .to_string(),
            );
        }
    }

    for (name, value) in &cl.nutanix_custom_headers {
        let path = format!("nutanix_custom_headers[{name:?}]");
        if !is_header_name(name) {
            cx.error(ConfigError::invalid(
                &path,
                "is not a valid HTTP header name",
            ));
        }
        if value.expose().contains(['\r', '\n', '\0']) {
            cx.error(ConfigError::invalid(&path, "must not contain line breaks"));
        }
    }
}

fn cluster(c: &Config, cx: &mut Cx) {
    match (&c.vm.cluster_name, &c.vm.cluster_uuid) {
        (Some(_), Some(_)) => cx.error(ConfigError::invalid(
            "cluster_name",
            "cluster_name and cluster_uuid are mutually exclusive, please use only one of them",
        )),
        (None, None) if !cx.rejected_under("cluster_uuid") => cx.missing(
            "cluster_name",
            "missing cluster_name or cluster_uuid: one of them is required",
        ),
        _ => {}
    }
    uuid_option(cx, "cluster_uuid", c.vm.cluster_uuid.as_ref());
}

fn vm(c: &Config, cx: &mut Cx) {
    let vm = &c.vm;
    if vm.user_data.is_some() && vm.os_type.is_none() {
        cx.missing(
            "os_type",
            "is required with user_data: Linux (cloud-init) or Windows (sysprep)",
        );
    }
    if vm.meta_data.is_some() && vm.os_type == Some(OsType::Windows) {
        cx.error(ConfigError::invalid(
            "meta_data",
            "is cloud-init meta-data and cannot be used with os_type = \"Windows\"",
        ));
    }
    if vm.secure_boot && vm.boot_type == BootType::Legacy {
        cx.error(ConfigError::invalid(
            "secure_boot",
            "requires boot_type = \"uefi\" (or use boot_type = \"secure_boot\")",
        ));
    }
    if vm.vtpm.enabled && vm.boot_type == BootType::Legacy {
        cx.error(ConfigError::invalid(
            "vtpm.enabled",
            "vTPM is not supported with legacy boot type; set boot_type to uefi or secure_boot",
        ));
    }
    if vm.vm_disks.is_empty() {
        cx.missing(
            "vm_disks",
            "missing vm_disks: at least one vm_disks block is required",
        );
    }
    if vm.vm_nics.is_empty() && c.comm.communicator != Communicator::None {
        cx.missing("vm_nics",
            "missing vm_nics: at least one vm_nics block is required unless communicator = \"none\"",
        );
    }
}

fn disk(d: &VmDisk, at: &str, cx: &mut Cx) {
    let p = |k: &str| format!("{at}.{k}");
    // A source whose value was rejected (bad template, wrong type) still counts as given.
    let given = |cx: &Cx, key: &str, set: bool| set || cx.rejected_under(&p(key));
    let sources: Vec<&str> = [
        (
            "source_image_name",
            given(cx, "source_image_name", d.source_image_name.is_some()),
        ),
        (
            "source_image_uuid",
            given(cx, "source_image_uuid", d.source_image_uuid.is_some()),
        ),
        (
            "source_image_uri",
            given(cx, "source_image_uri", d.source_image_uri.is_some()),
        ),
        (
            "source_image_path",
            given(cx, "source_image_path", d.source_image_path.is_some()),
        ),
    ]
    .iter()
    .filter(|(_, set)| *set)
    .map(|(k, _)| *k)
    .collect();

    match d.image_type {
        None => cx.missing(
            p("image_type"),
            "is required: DISK, DISK_IMAGE or ISO_IMAGE",
        ),
        Some(ImageType::Disk) => {
            for s in &sources {
                cx.error(ConfigError::invalid(
                    p(s),
                    "cannot be used with image_type DISK (an empty disk)",
                ));
            }
            if d.disk_size_gb.is_none() {
                cx.missing(p("disk_size_gb"), "is required for image_type DISK");
            }
        }
        Some(t @ (ImageType::DiskImage | ImageType::IsoImage)) => {
            const ALL: &str =
                "source_image_name, source_image_uuid, source_image_uri or source_image_path";
            match sources.as_slice() {
                [] => cx.missing(at, format!("image_type {t} needs exactly one of {ALL}")),
                [_] => {}
                many => cx.error(ConfigError::invalid(
                    at,
                    format!(
                        "image_type {t} needs exactly one of {ALL}, got {}",
                        many.join(" and ")
                    ),
                )),
            }
            if t == ImageType::IsoImage && d.disk_size_gb.is_some() {
                cx.warnings.push(format!(
                    "{}: is ignored for image_type ISO_IMAGE",
                    p("disk_size_gb")
                ));
            }
        }
    }

    if d.storage_container_uuid.is_some() && d.image_type.is_some_and(|t| t != ImageType::Disk) {
        cx.error(ConfigError::invalid(
            p("storage_container_uuid"),
            "storage_container_uuid can be set only with DISK image type",
        ));
    }
    uuid_option(cx, &p("source_image_uuid"), d.source_image_uuid.as_ref());
    uuid_option(
        cx,
        &p("storage_container_uuid"),
        d.storage_container_uuid.as_ref(),
    );

    if let Some(uri) = &d.source_image_uri {
        let lower = uri.to_ascii_lowercase();
        if !cx.is_unknown(uri)
            && !["http://", "https://", "nfs://"]
                .iter()
                .any(|s| lower.starts_with(s))
        {
            cx.error(ConfigError::invalid(
                p("source_image_uri"),
                format!("must be an http://, https:// or nfs:// URL (got {uri:?})"),
            ));
        }
    }

    match (&d.source_image_checksum, d.source_image_checksum_type) {
        (Some(_), None) => cx.missing(p("source_image_checksum_type"),
            "source_image_checksum_type need to be defined with source_image_checksum: sha256 or sha1",
        ),
        (None, Some(_)) => cx.missing(p("source_image_checksum"),
            "no source_image_checksum set despite source_image_checksum_type configured",
        ),
        (Some(sum), Some(kind)) if !cx.is_unknown(sum) => {
            let digits = match kind {
                ChecksumType::Sha256 => 64,
                ChecksumType::Sha1 => 40,
            };
            if sum.len() != digits || !sum.bytes().all(|b| b.is_ascii_hexdigit()) {
                cx.error(ConfigError::invalid(
                    p("source_image_checksum"),
                    format!("must be {digits} hex digits for {kind} (got {} characters)", sum.len()),
                ));
            }
        }
        _ => {}
    }
    if d.source_image_checksum.is_some() && d.source_image_uri.is_none() {
        cx.error(ConfigError::invalid(
            p("source_image_checksum"),
            "source_image_checksum works only with source_image_uri",
        ));
    }

    if let Some(path) = &d.source_image_path {
        if !cx.is_unknown(path) {
            if let Some(why) = file_problem(Path::new(path)) {
                cx.error(ConfigError::invalid(p("source_image_path"), why));
            }
        }
    }
    let downloaded = d.source_image_path.is_some() || d.source_image_uri.is_some();
    if d.source_image_delete && !downloaded {
        cx.error(ConfigError::invalid(
            p("source_image_delete"),
            "source_image_delete can be used only with source_image_path or source_image_uri",
        ));
    }
    if d.source_image_force && !downloaded {
        cx.warnings.push(format!(
            "{}: is ignored without source_image_uri or source_image_path",
            p("source_image_force")
        ));
    }
}

fn nic(n: &VmNic, at: &str, cx: &mut Cx) {
    let p = |k: &str| format!("{at}.{k}");
    let rejected = cx.rejected_under(&p("subnet_name")) || cx.rejected_under(&p("subnet_uuid"));
    match (&n.subnet_name, &n.subnet_uuid) {
        (None, None) if !rejected => {
            cx.missing(at, "missing subnet: set subnet_name or subnet_uuid")
        }
        (Some(_), Some(_)) => cx.error(ConfigError::invalid(
            p("subnet_name"),
            "subnet_name and subnet_uuid are mutually exclusive, please use only one of them",
        )),
        _ => {}
    }
    uuid_option(cx, &p("subnet_uuid"), n.subnet_uuid.as_ref());
    if let Some(mac) = &n.mac_address {
        if !cx.is_unknown(mac) && !is_mac48(mac) {
            cx.error(ConfigError::invalid(
                p("mac_address"),
                format!(
                    "mac address is invalid: {mac:?} is not a 48-bit MAC such as 50:6b:8d:aa:bb:cc"
                ),
            ));
        }
    }
    if let Some(ip) = &n.ip_address {
        if !cx.is_unknown(ip) && !is_ipv4(ip) {
            cx.error(ConfigError::invalid(
                p("ip_address"),
                format!("ip_address must be a valid IPv4 address (got {ip:?})"),
            ));
        }
        if n.skip_ip_assignment {
            cx.error(ConfigError::invalid(
                p("skip_ip_assignment"),
                "skip_ip_assignment and ip_address are mutually exclusive",
            ));
        }
    }
}

fn category(cat: &Category, at: &str, what: &str, cx: &mut Cx) {
    match (cat.key.is_empty(), cat.value.is_empty()) {
        (false, true) => cx.missing(
            format!("{at}.value"),
            format!("missing value for {what} category {}", cat.key),
        ),
        (true, false) => cx.missing(
            format!("{at}.key"),
            format!(
                "missing name for a {what} category with value {}",
                cat.value
            ),
        ),
        (true, true) => cx.missing(at, "key and value are required"),
        (false, false) => {}
    }
}

fn outputs(c: &Config, cx: &mut Cx) {
    if c.fail_if_image_exists && c.force_deregister {
        cx.error(ConfigError::invalid(
            "fail_if_image_exists",
            "fail_if_image_exists and force_deregister are mutually exclusive, please use only one of them",
        ));
    }
    if c.image_skip && !c.image_categories.is_empty() {
        cx.warnings
            .push("image_categories is ignored because image_skip = true".to_string());
    }
}

fn key_file(cx: &mut Cx, path: &str, value: Option<&String>, home: Option<&Path>) {
    if let Some(f) = value {
        if !cx.is_unknown(f) {
            if let Some(why) = file_problem(&expand_user(f, home)) {
                cx.error(ConfigError::invalid(
                    path,
                    format!("{path} is invalid: {why}"),
                ));
            }
        }
    }
}

fn communicator(c: &Config, cx: &mut Cx, home: Option<&Path>) {
    let ssh = &c.comm.ssh;
    let winrm = &c.comm.winrm;
    match c.comm.communicator {
        Communicator::Ssh => {
            if ssh.ssh_username.is_none() {
                cx.missing(
                    "ssh_username",
                    "An ssh_username must be specified with communicator = \"ssh\"",
                );
            }
            if ssh.ssh_certificate_file.is_some() && ssh.ssh_private_key_file.is_none() {
                cx.error(ConfigError::invalid(
                    "ssh_certificate_file",
                    "ssh_private_key_file must be specified if ssh_certificate_file is specified",
                ));
            }
            if ssh.ssh_bastion_certificate_file.is_some()
                && ssh.ssh_bastion_private_key_file.is_none()
            {
                cx.error(ConfigError::invalid(
                    "ssh_bastion_certificate_file",
                    "ssh_bastion_private_key_file must be specified if ssh_bastion_certificate_file is specified",
                ));
            }
            key_file(
                cx,
                "ssh_private_key_file",
                ssh.ssh_private_key_file.as_ref(),
                home,
            );
            key_file(
                cx,
                "ssh_certificate_file",
                ssh.ssh_certificate_file.as_ref(),
                home,
            );
            if ssh.ssh_bastion_host.is_some() {
                if ssh.ssh_bastion_password.is_none()
                    && ssh.ssh_bastion_private_key_file.is_none()
                    && !ssh.ssh_bastion_agent_auth
                {
                    cx.missing("ssh_bastion_host",
                        "ssh_bastion_password, ssh_bastion_private_key_file or ssh_bastion_agent_auth must be specified",
                    );
                }
                if ssh.ssh_bastion_private_key_file != ssh.ssh_private_key_file {
                    key_file(
                        cx,
                        "ssh_bastion_private_key_file",
                        ssh.ssh_bastion_private_key_file.as_ref(),
                        home,
                    );
                }
                if ssh.ssh_proxy_host.is_some() {
                    cx.error(ConfigError::invalid(
                        "ssh_bastion_host",
                        "please specify either ssh_bastion_host or ssh_proxy_host, not both",
                    ));
                }
            }
            for (key, list) in [
                ("ssh_local_tunnels", &ssh.ssh_local_tunnels),
                ("ssh_remote_tunnels", &ssh.ssh_remote_tunnels),
            ] {
                for (i, t) in list.iter().enumerate() {
                    if let Some(why) = tunnel_error(t) {
                        cx.error(ConfigError::invalid(format!("{key}[{i}]"), why));
                    }
                }
            }
            if ssh.temporary_key_pair_type == KeyPairType::Dsa {
                cx.warnings.push(
                    "temporary_key_pair_type: dsa is deprecated and insecure; use ed25519 or rsa"
                        .to_string(),
                );
            }
        }
        Communicator::Winrm => {
            if winrm.winrm_username.is_none() {
                cx.missing(
                    "winrm_username",
                    "winrm_username must be specified with communicator = \"winrm\"",
                );
            }
        }
        Communicator::None => {
            if c.shutdown.shutdown_command.is_some() {
                cx.warnings.push(
                    "shutdown_command is ignored with communicator = \"none\"; the VM is powered off".to_string(),
                );
            }
        }
    }
    if ssh.ssh_wait_timeout.is_some() {
        cx.warnings
            .push("ssh_wait_timeout is deprecated; use ssh_timeout".to_string());
    }
    if ssh.ssh_keypair_name.is_some() {
        cx.warnings.push(
            "ssh_keypair_name is ignored: Nutanix has no key pair service (use ssh_private_key_file)".to_string(),
        );
    }
}

/// `boot_command` is checked as Packer's SDK checks it (parsed, waits positive), after rendering
/// its templates with stand-in values for what only the build knows: the VM name is already
/// known, the HTTP server's address is not.
fn boot(c: &Config, cx: &mut Cx) {
    let b = &c.boot;
    if !b.boot_command.is_empty() && b.disable_vnc {
        cx.warnings
            .push("boot_command is ignored because disable_vnc = true".to_string());
    }
    if b.boot_keygroup_interval.is_some() {
        cx.warnings.push(
            "boot_keygroup_interval is not used when typing over VNC (Packer's VNC driver ignores it too); use boot_key_interval".to_string(),
        );
    }
    if !b.boot_command.is_empty() && !cx.rejected_under("boot_command") {
        let stand_in = BootData {
            http_ip: "127.0.0.1".to_string(),
            http_port: c.http.http_port_min,
            name: c.vm.vm_name.clone(),
        };
        b.boot_command.check(&stand_in, cx);
        let http = &c.http;
        if http.http_directory.is_none()
            && http.http_content.is_empty()
            && b.boot_command.uses_http_server(&c.vm.vm_name)
        {
            cx.warnings.push(
                "boot_command uses {{ .HTTPIP }} or {{ .HTTPPort }}, but neither http_directory nor http_content is set, so no HTTP server runs and they render as \"\" and 0".to_string(),
            );
        }
    }
}

fn boot_cd_http(c: &Config, cx: &mut Cx) {
    boot(c, cx);
    for (i, f) in c.cd.cd_files.iter().enumerate() {
        if is_glob(f) || cx.is_unknown(f) {
            continue;
        }
        if std::fs::metadata(f).is_err() {
            cx.error(ConfigError::invalid(
                format!("cd_files[{i}]"),
                format!("Bad CD disk file '{f}': no such file or directory"),
            ));
        }
    }
    let http = &c.http;
    if let Some(dir) = &http.http_directory {
        if !http.http_content.is_empty() {
            cx.error(ConfigError::invalid(
                "http_content",
                "http_content cannot be used in conjunction with http_directory",
            ));
        }
        if !cx.is_unknown(dir) {
            if let Some(why) = dir_problem(Path::new(dir)) {
                cx.error(ConfigError::invalid("http_directory", why));
            }
        }
    }
    if http.http_port_min > http.http_port_max {
        cx.error(ConfigError::invalid(
            "http_port_min",
            format!(
                "http_port_min ({}) must be less than http_port_max ({})",
                http.http_port_min, http.http_port_max
            ),
        ));
    }
    if !cx.is_unknown(&http.http_bind_address)
        && http.http_bind_address.parse::<std::net::IpAddr>().is_err()
    {
        cx.error(ConfigError::invalid(
            "http_bind_address",
            format!("must be an IP address (got {:?})", http.http_bind_address),
        ));
    }
}
