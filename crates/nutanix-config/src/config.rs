//! Every option of the builder, declared once (see [`crate::decl`]). Field names are the template
//! option names; the Go plugin's names, types, defaults and block structure are kept exactly
//! (docs/design/plugin-protocol.md, 'The spec model JSON': the Go plugin's v1.3 spec in
//! packer-schema's testdata/shared/nutanix-spec.model.json), and the
//! options we add are marked "ours".
//!
//! Defaults written here apply when an option is absent, null, or a zero value (Go cannot tell
//! `cpu = 0` from unset, so neither do we). Defaults that depend on other options (`image_name`
//! follows `vm_name`, `winrm_port` follows `winrm_use_ssl`, ...) are filled in by `prepare`.

use std::collections::BTreeMap;
use std::time::Duration;

use packer_schema::CtyType;
use serde_json::Value;

use crate::boot::{BootCommand, BootWait};
use crate::decl::{section, string_enum, AttrValue, Cx};
use crate::errors::ConfigError;
use crate::userdata::UserData;
use crate::values::{Bytes, IpFilter, Sensitive, SensitiveBytes};

const fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

string_enum! {
    /// `communicator`. The SDK also knows `docker` and `dockerWindowsContainer`, which cannot reach a
    /// Nutanix VM, so they are rejected.
    pub enum Communicator {
        /// SSH (the default).
        Ssh = "ssh",
        /// WinRM.
        Winrm = "winrm",
        /// No communicator: no provisioning, no IP needed.
        None = "none",
    }
}

string_enum! {
    /// `boot_type`. The Go plugin silently turned unknown values into `legacy`.
    pub enum BootType {
        /// BIOS boot (the default).
        Legacy = "legacy",
        /// UEFI boot.
        Uefi = "uefi",
        /// UEFI with Secure Boot (machine type Q35).
        SecureBoot = "secure_boot",
    }
}

string_enum! {
    /// `boot_priority`. The Go plugin silently turned unknown values into `cdrom`.
    pub enum BootPriority {
        /// CD-ROM, then disk, then network (the default).
        Cdrom = "cdrom",
        /// Disk, then CD-ROM, then network.
        Disk = "disk",
    }
}

string_enum! {
    /// `os_type`: decides between cloud-init and sysprep for `user_data`.
    pub enum OsType {
        /// cloud-init.
        Linux = "Linux",
        /// sysprep unattend XML.
        Windows = "Windows",
    }
}

string_enum! {
    /// `vm_disks.image_type`. The Go plugin silently created no disk for unknown values.
    pub enum ImageType {
        /// An empty SCSI disk of `disk_size_gb`.
        Disk = "DISK",
        /// A SCSI disk cloned from an image.
        DiskImage = "DISK_IMAGE",
        /// A SATA CD-ROM backed by an image.
        IsoImage = "ISO_IMAGE",
    }
}

string_enum! {
    /// `vm_disks.source_image_checksum_type`.
    pub enum ChecksumType {
        /// SHA-256 (64 hex digits).
        Sha256 = "sha256",
        /// SHA-1 (40 hex digits).
        Sha1 = "sha1",
    }
}

string_enum! {
    /// `ova.format`.
    pub enum OvaFormat {
        /// VMDK disks (the default).
        Vmdk = "vmdk",
        /// QCOW2 disks.
        Qcow2 = "qcow2",
    }
}

string_enum! {
    /// `ssh_file_transfer_method`.
    pub enum FileTransferMethod {
        /// scp (the SDK default).
        Scp = "scp",
        /// SFTP.
        Sftp = "sftp",
    }
}

string_enum! {
    /// `temporary_key_pair_type`.
    pub enum KeyPairType {
        /// DSA (deprecated by the SDK).
        Dsa = "dsa",
        /// ECDSA.
        Ecdsa = "ecdsa",
        /// Ed25519.
        Ed25519 = "ed25519",
        /// RSA (the SDK default).
        Rsa = "rsa",
    }
}

/// `ssh_keep_alive_interval`: `None` when disabled with a negative value (`"-1s"`, as the SDK
/// documents), otherwise the interval (SDK default 5s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeepAlive(pub Option<Duration>);

impl Default for KeepAlive {
    fn default() -> Self {
        KeepAlive(Some(Duration::from_secs(5)))
    }
}

impl AttrValue for KeepAlive {
    fn cty() -> CtyType {
        CtyType::String
    }
    fn decode(v: &Value, at: &str, cx: &mut Cx) -> Option<Self> {
        let s = cx.text(v, at)?;
        if cx.is_unknown(&s) {
            return None;
        }
        match crate::duration::parse_go_duration(&s) {
            Ok(n) if n < 0 => Some(KeepAlive(None)),
            Ok(n) => Some(KeepAlive(Some(Duration::from_nanos(n.unsigned_abs())))),
            Err(e) => {
                cx.error(ConfigError::invalid(at, e.to_string()));
                None
            }
        }
    }
    fn is_unset(&self) -> bool {
        self.0.is_some_and(|d| d.is_zero())
    }
}

section! {
    /// Packer's own values (`common.PackerConfig`). Packer fills them; templates normally do not.
    pub struct PackerConfig {
        /// The source's name (`source "nutanix" "<name>"`).
        attr packer_build_name: String,
        /// The builder type, `nutanix`.
        attr packer_builder_type: String,
        /// Packer's version.
        attr packer_core_version: String,
        /// `packer build -debug`.
        attr packer_debug: bool,
        /// `packer build -force`.
        attr packer_force: bool,
        /// `packer build -on-error=...`.
        attr packer_on_error: String,
        /// User variables of a legacy JSON template.
        attr packer_user_variables: BTreeMap<String, String>,
        /// Names of user variables whose values must be redacted.
        attr packer_sensitive_variables: Vec<String>,
    }
}

section! {
    /// How the build waits for the VM's IP address (Go plugin `WaitIpConfig`).
    pub struct WaitIpConfig {
        /// Give up waiting for an IP after this long.
        attr ip_wait_timeout: Duration = minutes(30),
        /// The same IP must be reported for this long before it is used.
        attr ip_settle_timeout: Duration = Duration::from_secs(5),
        /// Only addresses inside this CIDR are used; `""` accepts any.
        attr ip_wait_address: IpFilter,
    }
}

section! {
    /// The SSH communicator (SDK `communicator.SSH`), every key Packer's SSH config accepts.
    pub struct SshConfig {
        /// Connect to this host instead of the discovered IP.
        attr ssh_host: Option<String>,
        /// SSH port.
        attr ssh_port: u16 = 22,
        /// Login user; required with `communicator = "ssh"`.
        attr ssh_username: Option<String>,
        /// Login password.
        attr ssh_password: Option<Sensitive>,
        /// Name of an existing key pair (cloud builders; accepted for compatibility).
        attr ssh_keypair_name: Option<String>,
        /// Name for a temporary key pair.
        attr temporary_key_pair_name: Option<String>,
        /// Algorithm of a generated temporary key pair.
        attr temporary_key_pair_type: KeyPairType = KeyPairType::Rsa,
        /// Size of a generated temporary key.
        attr temporary_key_pair_bits: Option<u32>,
        /// Allowed ciphers.
        attr ssh_ciphers: Vec<String>,
        /// Remove the temporary public key from authorized_keys at the end.
        attr ssh_clear_authorized_keys: bool,
        /// Allowed key exchange algorithms.
        attr ssh_key_exchange_algorithms: Vec<String>,
        /// Private key file for authentication.
        attr ssh_private_key_file: Option<String>,
        /// Signed certificate for the private key.
        attr ssh_certificate_file: Option<String>,
        /// Request a PTY.
        attr ssh_pty: bool,
        /// How long to wait for SSH (Go plugin default 20m).
        attr ssh_timeout: Duration = minutes(20),
        /// Deprecated alias of `ssh_timeout`; overrides it when set, as in the SDK.
        attr ssh_wait_timeout: Option<Duration>,
        /// Use the local SSH agent.
        attr ssh_agent_auth: bool,
        /// Do not forward the agent.
        attr ssh_disable_agent_forwarding: bool,
        /// Give up after this many failed handshakes; 0 retries until `ssh_timeout` (the Go plugin's
        /// effective behaviour: it sets `ssh_timeout` before the SDK would default this to 10).
        attr ssh_handshake_attempts: u32,
        /// Bastion (jump) host.
        attr ssh_bastion_host: Option<String>,
        /// Bastion port (22 when a bastion host is set).
        attr ssh_bastion_port: u16,
        /// Use the agent for the bastion.
        attr ssh_bastion_agent_auth: bool,
        /// Bastion user.
        attr ssh_bastion_username: Option<String>,
        /// Bastion password.
        attr ssh_bastion_password: Option<Sensitive>,
        /// Keyboard-interactive auth on the bastion.
        attr ssh_bastion_interactive: bool,
        /// Bastion private key (defaults to `ssh_private_key_file`).
        attr ssh_bastion_private_key_file: Option<String>,
        /// Bastion certificate.
        attr ssh_bastion_certificate_file: Option<String>,
        /// `scp` or `sftp`.
        attr ssh_file_transfer_method: FileTransferMethod = FileTransferMethod::Scp,
        /// SOCKS proxy host.
        attr ssh_proxy_host: Option<String>,
        /// SOCKS proxy port (1080 when a proxy host is set).
        attr ssh_proxy_port: u16,
        /// SOCKS proxy user.
        attr ssh_proxy_username: Option<String>,
        /// SOCKS proxy password.
        attr ssh_proxy_password: Option<Sensitive>,
        /// Keep-alive interval; a negative value disables keep-alives.
        attr ssh_keep_alive_interval: KeepAlive,
        /// Per read/write timeout; zero means none.
        attr ssh_read_write_timeout: Duration,
        /// Remote port forwardings, `port:host:hostport`.
        attr ssh_remote_tunnels: Vec<String>,
        /// Local port forwardings, `port:host:hostport`.
        attr ssh_local_tunnels: Vec<String>,
        /// Packer internal: the public key of a generated key pair.
        attr ssh_public_key: Bytes,
        /// Packer internal: the private key of a generated key pair.
        attr ssh_private_key: SensitiveBytes,
    }
}

section! {
    /// The WinRM communicator (SDK `communicator.WinRM`).
    pub struct WinRmConfig {
        /// Login user; required with `communicator = "winrm"`.
        attr winrm_username: Option<String>,
        /// Login password.
        attr winrm_password: Option<Sensitive>,
        /// Connect to this host instead of the discovered IP.
        attr winrm_host: Option<String>,
        /// Bypass HTTP proxies for the VM.
        attr winrm_no_proxy: bool,
        /// Port; 5985, or 5986 with `winrm_use_ssl`.
        attr winrm_port: u16,
        /// How long to wait for WinRM (SDK default 30m).
        attr winrm_timeout: Duration = minutes(30),
        /// Use HTTPS.
        attr winrm_use_ssl: bool,
        /// Skip certificate checks.
        attr winrm_insecure: bool,
        /// Use NTLM instead of basic auth.
        attr winrm_use_ntlm: bool,
    }
}

section! {
    /// Which communicator reaches the VM (SDK `communicator.Config`).
    pub struct CommConfig {
        /// `ssh`, `winrm` or `none`.
        attr communicator: Communicator = Communicator::Ssh,
        /// Wait this long after the communicator first connects.
        attr pause_before_connecting: Duration,
        /// SSH options.
        squash ssh: SshConfig,
        /// WinRM options.
        squash winrm: WinRmConfig,
    }
}

section! {
    /// Typing at the VM console over VNC (SDK `bootcommand.VNCConfig`).
    pub struct BootConfig {
        /// Accepted for compatibility; Packer's VNC driver does not use it (a warning says so).
        attr boot_keygroup_interval: Option<Duration>,
        /// Wait after power-on before typing. No default: the Go plugin never applied the SDK's
        /// 10s. Negative means zero, as in the SDK.
        attr boot_wait: BootWait,
        /// Keys to type; `{{ .HTTPIP }}`, `{{ .HTTPPort }}` and `{{ .Name }}` are rendered at build
        /// time, and the command is checked at Prepare with stand-in values.
        raw boot_command: BootCommand,
        /// Skip the VNC steps.
        attr disable_vnc: bool,
        /// Pause after each key event (driver default 100ms or `PACKER_KEY_INTERVAL`).
        attr boot_key_interval: Option<Duration>,
    }
}

impl BootConfig {
    /// Whether the build types `boot_command` at the console.
    pub fn types_at_console(&self) -> bool {
        !self.boot_command.is_empty() && !self.disable_vnc
    }

    /// The pause after each key event, as Packer's VNC driver picks it: `boot_key_interval`, else
    /// the `PACKER_KEY_INTERVAL` value given (read it from the environment at build time), else
    /// 100ms.
    pub fn key_interval(&self, env: Option<&str>) -> Duration {
        boot_command::vnc::key_interval(self.boot_key_interval, env)
    }
}

section! {
    /// A CD built from local files and attached to the VM (SDK `commonsteps.CDConfig`).
    pub struct CdConfig {
        /// Files, directories or globs to put on the CD.
        attr cd_files: Vec<String>,
        /// Files to create on the CD, path → content.
        attr cd_content: BTreeMap<String, String>,
        /// The CD's volume label (e.g. `OEMDRV` for kickstart).
        attr cd_label: Option<String>,
    }
}

section! {
    /// Ours: an HTTP server for kickstart/preseed files, as other Packer builders have (SDK
    /// `commonsteps.HTTPConfig`); its address is `{{ .HTTPIP }}:{{ .HTTPPort }}` in `boot_command`.
    pub struct HttpConfig {
        /// Serve this directory.
        attr http_directory: Option<String>,
        /// Serve these files, path → content.
        attr http_content: BTreeMap<String, String>,
        /// Lowest port to try.
        attr http_port_min: u16 = 8000,
        /// Highest port to try.
        attr http_port_max: u16 = 9000,
        /// Address to listen on.
        attr http_bind_address: String = "0.0.0.0".to_string(),
    }
}

section! {
    /// How the VM is stopped after provisioning (SDK `shutdowncommand.ShutdownConfig`).
    pub struct ShutdownConfig {
        /// Command run in the guest; without it the VM is powered off.
        attr shutdown_command: Option<String>,
        /// How long to wait for the VM to be off (SDK default 5m).
        attr shutdown_timeout: Duration = minutes(5),
    }
}

section! {
    /// Where Prism Central is and how to log in (Go plugin `ClusterConfig`, plus ours).
    pub struct ClusterConfig {
        /// User name. The literal `X-ntnx-api-key` (any case) makes `nutanix_password` an API key,
        /// sent as the `X-ntnx-api-key` header, as the Go plugin does since v1.1.4.
        attr nutanix_username: Option<String>,
        /// Password (or API key, see `nutanix_username`).
        attr nutanix_password: Option<Sensitive>,
        /// Skip TLS certificate verification.
        attr nutanix_insecure: bool,
        /// Prism Central host name or IP, without scheme or port.
        attr nutanix_endpoint: String,
        /// Prism Central port.
        attr nutanix_port: u16 = 9440,
        /// Minutes allowed for image uploads and downloads; 0 means 30 (Go plugin v1.1.7+).
        attr nutanix_transfer_timeout: u32,
        /// Ours: an API key, instead of user name and password.
        attr nutanix_api_key: Option<Sensitive>,
        /// Ours: a PEM file of CA certificates to trust for Prism Central, or of its own
        /// (self-signed, even CA:TRUE) certificate, trusted as itself.
        attr nutanix_ca_cert: Option<String>,
        /// Ours: extra HTTP headers on every Prism request (e.g. Cloudflare Access tokens). Their
        /// values are treated as secrets.
        attr nutanix_custom_headers: BTreeMap<String, Sensitive>,
    }
}

section! {
    /// `vtpm { }`.
    pub struct Vtpm {
        /// Add a virtual TPM (needs UEFI).
        attr enabled: bool,
    }
}

section! {
    /// `vm_clean { }`: what to remove from the VM before images are made.
    pub struct VmClean {
        /// Remove every CD-ROM.
        attr cdrom: bool,
    }
}

section! {
    /// One `vm_categories { }` or `image_categories { }` block.
    pub struct Category {
        /// Category name.
        attr key: String,
        /// Category value.
        attr value: String,
    }
}

section! {
    /// One `gpu { }` block.
    pub struct Gpu {
        /// GPU device name as Prism reports it.
        attr name: String,
    }
}

section! {
    /// One `vm_disks { }` block; their order sets the bus index.
    pub struct VmDisk {
        /// `DISK`, `DISK_IMAGE` or `ISO_IMAGE`.
        attr image_type: Option<ImageType>,
        /// Source image by name (case-insensitive in Prism's list).
        attr source_image_name: Option<String>,
        /// Source image by UUID.
        attr source_image_uuid: Option<String>,
        /// Source image downloaded by Prism from this URL.
        attr source_image_uri: Option<String>,
        /// Source image uploaded from this local file.
        attr source_image_path: Option<String>,
        /// Expected hex digest of `source_image_uri`.
        attr source_image_checksum: Option<String>,
        /// `sha256` or `sha1`.
        attr source_image_checksum_type: Option<ChecksumType>,
        /// Delete the downloaded or uploaded source image at cleanup.
        attr source_image_delete: bool,
        /// Replace an existing image with the same name/URL instead of reusing it.
        attr source_image_force: bool,
        /// Size in GiB (required for `DISK`; for `DISK_IMAGE`, unset means the image's size).
        attr disk_size_gb: Option<u64>,
        /// Storage container of an empty `DISK`.
        attr storage_container_uuid: Option<String>,
    }
}

section! {
    /// One `vm_nics { }` block.
    pub struct VmNic {
        /// Subnet by name.
        attr subnet_name: Option<String>,
        /// Subnet by UUID.
        attr subnet_uuid: Option<String>,
        /// Fixed MAC address.
        attr mac_address: Option<String>,
        /// Fixed IPv4 address from the subnet's IPAM (Go plugin v1.1.6+).
        attr ip_address: Option<String>,
        /// Ask Prism not to assign an address (Go plugin v1.1.6+).
        attr skip_ip_assignment: bool,
    }
}

section! {
    /// `ova { }`: create and optionally download an OVA of the VM.
    pub struct OvaConfig {
        /// Create the OVA (forced on by `export`).
        attr create: bool,
        /// Download the OVA into `output_directory`.
        attr export: bool,
        /// Disk format inside the OVA.
        attr format: OvaFormat = OvaFormat::Vmdk,
        /// OVA name (defaults to `vm_name`).
        attr name: String,
    }
}

section! {
    /// `template { }`: create a Prism Central VM template from the VM.
    pub struct TemplateConfig {
        /// Create the template.
        attr create: bool,
        /// Template name (defaults to `vm_name`).
        attr name: String,
        /// Template description.
        attr description: String,
    }
}

section! {
    /// The VM Packer builds (Go plugin `VmConfig`).
    pub struct VmConfig {
        /// VM name (defaults to `Packer-` and 8 random characters).
        attr vm_name: String,
        /// `Linux` (cloud-init) or `Windows` (sysprep); required with `user_data`.
        attr os_type: Option<OsType>,
        /// `legacy`, `uefi` or `secure_boot`.
        attr boot_type: BootType = BootType::Legacy,
        /// Ours: enable Secure Boot; requires `boot_type = "uefi"` (same as `boot_type = "secure_boot"`).
        attr secure_boot: bool,
        /// Virtual TPM.
        block vtpm: Vtpm,
        /// Expose hardware virtualization to the guest (nested virtualization).
        attr hardware_virtualization: bool,
        /// `cdrom` or `disk` first.
        attr boot_priority: BootPriority = BootPriority::Cdrom,
        /// Disks and CD-ROMs, at least one.
        blocks vm_disks: Vec<VmDisk>,
        /// Network interfaces, at least one unless `communicator = "none"`.
        blocks vm_nics: Vec<VmNic>,
        /// Output image name (defaults to `vm_name`); extra disks get `-disk2`, `-disk3`, ...
        attr image_name: String,
        /// Cluster by UUID.
        attr cluster_uuid: Option<String>,
        /// Cluster by name.
        attr cluster_name: Option<String>,
        /// Sockets.
        attr cpu: u32 = 1,
        /// Cores per socket.
        attr core: u32 = 1,
        /// Memory in MiB.
        attr memory_mb: u64 = 4096,
        /// cloud-init user data or sysprep unattend XML, plain or base64 (see [`UserData`]).
        attr user_data: Option<UserData>,
        /// Ours: cloud-init meta-data, plain or base64.
        attr meta_data: Option<UserData>,
        /// Categories of the VM.
        blocks vm_categories: Vec<Category>,
        /// Project name.
        attr project: Option<String>,
        /// GPUs to attach.
        blocks gpu: Vec<Gpu>,
        /// Add a serial port (Debian/Ubuntu cloud images need one).
        attr serialport: bool,
        /// Cleanup of the VM before image creation.
        block vm_clean: VmClean,
    }
}

section! {
    /// The whole builder configuration: what `prepare` returns after defaults and validation.
    pub struct Config {
        /// Packer's own values.
        squash packer: PackerConfig,
        /// IP discovery.
        squash wait_ip: WaitIpConfig,
        /// Communicator.
        squash comm: CommConfig,
        /// Boot command.
        squash boot: BootConfig,
        /// CD files.
        squash cd: CdConfig,
        /// Ours: HTTP server.
        squash http: HttpConfig,
        /// Shutdown.
        squash shutdown: ShutdownConfig,
        /// Prism Central connection.
        squash cluster: ClusterConfig,
        /// The VM.
        squash vm: VmConfig,
        /// OVA output.
        block ova: OvaConfig,
        /// VM template output.
        block template: TemplateConfig,
        /// Delete an existing image with the output name (only if exactly one matches).
        attr force_deregister: bool,
        /// Description of the output images.
        attr image_description: String = "built by Packer".to_string(),
        /// Categories of the output images.
        blocks image_categories: Vec<Category>,
        /// When several images share a source name, use the newest ready one (Go plugin v1.1.8+).
        attr allow_duplicate_images: bool,
        /// Do not create images (e.g. only a template or a retained VM).
        attr image_skip: bool,
        /// Delete the output images at the end (after export, template, OVA).
        attr image_delete: bool,
        /// Download the output images into `output_directory`.
        attr image_export: bool,
        /// Fail when an image with the output name already exists.
        attr fail_if_image_exists: bool,
        /// Delete the VM even when the build failed.
        attr vm_force_delete: bool,
        /// Keep the VM after a successful build.
        attr vm_retain: bool,
        /// Do not power the VM off; wait for the guest to stop itself.
        attr disable_stop_instance: bool,
        /// v3 line: poll the VM instead of the create task.
        attr skip_vm_create_task_check: bool,
        /// Ours: where exported images and OVAs are written (the Go plugin used the working directory).
        attr output_directory: String = ".".to_string(),
    }
}

impl ClusterConfig {
    /// How to authenticate to Prism Central, derived from the credential options.
    pub fn auth(&self) -> Auth<'_> {
        if let Some(key) = &self.nutanix_api_key {
            return Auth::ApiKey(key.expose());
        }
        let user = self.nutanix_username.as_deref().unwrap_or("");
        let password = self.nutanix_password.as_ref().map_or("", Sensitive::expose);
        if is_api_key_username(user) {
            Auth::ApiKey(password)
        } else {
            Auth::Basic { user, password }
        }
    }

    /// `nutanix_transfer_timeout` as a duration (30 minutes when 0).
    pub fn transfer_timeout(&self) -> Duration {
        match self.nutanix_transfer_timeout {
            0 => minutes(30),
            m => minutes(u64::from(m)),
        }
    }
}

/// The user name that turns `nutanix_password` into an API key (Go plugin convention).
pub const API_KEY_USERNAME: &str = "X-ntnx-api-key";

/// The one API-key rule: `nutanix_username` is [`API_KEY_USERNAME`] in any case.
pub fn is_api_key_username(user: &str) -> bool {
    user.eq_ignore_ascii_case(API_KEY_USERNAME)
}

/// Prism Central credentials as the HTTP client needs them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Auth<'a> {
    /// `Authorization: Basic base64(user:password)`.
    Basic {
        /// User name.
        user: &'a str,
        /// Password.
        password: &'a str,
    },
    /// `X-ntnx-api-key: <key>`.
    ApiKey(&'a str),
}

impl std::fmt::Debug for Auth<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::Basic { user, .. } => {
                write!(f, "Basic {{ user: {user:?}, password: <sensitive> }}")
            }
            Auth::ApiKey(_) => f.write_str("ApiKey(<sensitive>)"),
        }
    }
}
