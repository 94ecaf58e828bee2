//! What exists in the simulated Prism Central before any request: clusters, subnets, images,
//! hosts (with GPUs), projects, categories, and the behaviour of remote image URLs.
//!
//! # Schema
//!
//! The same schema is accepted as JSON ([`Inventory::from_json`]) or HCL
//! ([`Inventory::from_hcl`]). In JSON use the plural keys with arrays; in HCL write one
//! unlabeled block per entry with the singular name (`cluster { ... }`, `gpu { ... }` inside
//! `host`). Every `uuid` is optional: a missing one is derived deterministically from the
//! entry's kind, name and position, so the same file always yields the same UUIDs.
//! References to clusters (`cluster`, `clusters`) take a cluster name or UUID.
//!
//! | block / key | attributes (defaults) |
//! |---|---|
//! | `cluster` / `clusters` | `name`, `uuid`, `prism_central` (false: a Prism Element cluster; true: the PC pseudo-cluster with service_list `["PRISM_CENTRAL"]`), `external_ip` ("10.0.0.10"), `aos_version` ("6.8.1"), `hypervisor` ("AHV") |
//! | `subnet` / `subnets` | `name`, `uuid`, `cluster` (required), `vlan_id` (0), `subnet_type` ("VLAN"), `vswitch_name` ("br0"), `ipam { subnet_ip, prefix_length, default_gateway_ip, pool_range }` (absent: no IPAM) |
//! | `image` / `images` | `name`, `uuid`, `image_type` ("DISK_IMAGE" or "ISO_IMAGE"), `size_bytes` (required), `source_uri`, `description`, `clusters` (all PE clusters), `sha256` |
//! | `host` / `hosts` | `name`, `uuid`, `cluster` (required), `ip`, `cpu_model`, `num_cpu_sockets` (2), `num_cpu_cores` (16), `memory_capacity_mib` (262144), `gpu { name, vendor ("kNvidia"), mode ("PASSTHROUGH_COMPUTE"), device_id, index (0), pci_address, frame_buffer_size_mib, assignable (true) }` |
//! | `project` / `projects` | `name`, `uuid`, `description`, `is_default` (false; the default project is put on entities created without a project) |
//! | `category` / `categories` | `key`, `description`, `values` (list of strings) |
//! | `remote_source` / `remote_sources` | `uri`, `size_bytes`, `unreachable` (false: creating an image from it fails the task), `sha256` (when set, an image created with a different checksum fails), `download_ms` (task duration for this download) |
//! | `default_remote_size_bytes` | size given to images created from a URI not listed above (1 GiB) |

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::SimError;

/// UUIDs and names of the default inventory, so tests can refer to them by constant.
pub mod defaults {
    /// First Prism Element cluster.
    pub const CLUSTER_1_NAME: &str = "PE-Cluster-1";
    /// UUID of [`CLUSTER_1_NAME`].
    pub const CLUSTER_1_UUID: &str = "0005f3c1-6a1b-4d8e-9c10-000000000001";
    /// Second Prism Element cluster (exists so a subnet name can be duplicated across clusters).
    pub const CLUSTER_2_NAME: &str = "PE-Cluster-2";
    /// UUID of [`CLUSTER_2_NAME`].
    pub const CLUSTER_2_UUID: &str = "0005f3c1-6a1b-4d8e-9c10-000000000002";
    /// The Prism Central pseudo-cluster a real PC lists among its clusters.
    pub const PC_CLUSTER_NAME: &str = "Prism-Central";
    /// UUID of [`PC_CLUSTER_NAME`].
    pub const PC_CLUSTER_UUID: &str = "0005f3c1-6a1b-4d8e-9c10-0000000000fc";
    /// VLAN subnet present on both clusters under the same name.
    pub const SUBNET_DUP_NAME: &str = "vm-network";
    /// UUID of [`SUBNET_DUP_NAME`] on cluster 1.
    pub const SUBNET_DUP_1_UUID: &str = "7a1d3e20-1111-4b6f-8c3a-000000000001";
    /// UUID of [`SUBNET_DUP_NAME`] on cluster 2.
    pub const SUBNET_DUP_2_UUID: &str = "7a1d3e20-1111-4b6f-8c3a-000000000002";
    /// A subnet with IPAM on cluster 1.
    pub const SUBNET_IPAM_NAME: &str = "build-vlan-100";
    /// UUID of [`SUBNET_IPAM_NAME`].
    pub const SUBNET_IPAM_UUID: &str = "7a1d3e20-1111-4b6f-8c3a-000000000100";
    /// A subnet whose name needs FIQL escaping.
    pub const SUBNET_SPECIAL_NAME: &str = "VLAN200(NOIPAM)";
    /// UUID of [`SUBNET_SPECIAL_NAME`].
    pub const SUBNET_SPECIAL_UUID: &str = "7a1d3e20-1111-4b6f-8c3a-000000000200";
    /// An Ubuntu cloud disk image.
    pub const IMAGE_DISK_NAME: &str = "ubuntu-22.04-server-cloudimg-amd64.img";
    /// UUID of [`IMAGE_DISK_NAME`].
    pub const IMAGE_DISK_UUID: &str = "c3b5e0a2-2222-4e1f-9d4b-000000000001";
    /// Size of [`IMAGE_DISK_NAME`].
    pub const IMAGE_DISK_SIZE: u64 = 2_361_393_152;
    /// A Rocky Linux installer ISO.
    pub const IMAGE_ISO_NAME: &str = "Rocky-9.4-x86_64-minimal.iso";
    /// UUID of [`IMAGE_ISO_NAME`].
    pub const IMAGE_ISO_UUID: &str = "c3b5e0a2-2222-4e1f-9d4b-000000000002";
    /// Size of [`IMAGE_ISO_NAME`].
    pub const IMAGE_ISO_SIZE: u64 = 1_829_634_048;
    /// The VirtIO drivers ISO Windows builds attach.
    pub const IMAGE_VIRTIO_NAME: &str = "virtio-win.iso";
    /// UUID of [`IMAGE_VIRTIO_NAME`].
    pub const IMAGE_VIRTIO_UUID: &str = "c3b5e0a2-2222-4e1f-9d4b-000000000003";
    /// Name shared by two images of different types (duplicates are legal in Prism).
    pub const IMAGE_DUP_NAME: &str = "golden";
    /// UUID of the DISK_IMAGE named [`IMAGE_DUP_NAME`].
    pub const IMAGE_DUP_DISK_UUID: &str = "c3b5e0a2-2222-4e1f-9d4b-000000000011";
    /// UUID of the ISO_IMAGE named [`IMAGE_DUP_NAME`].
    pub const IMAGE_DUP_ISO_UUID: &str = "c3b5e0a2-2222-4e1f-9d4b-000000000012";
    /// The host carrying a GPU (cluster 1).
    pub const HOST_GPU_NAME: &str = "ahv-node-1";
    /// UUID of [`HOST_GPU_NAME`].
    pub const HOST_GPU_UUID: &str = "5e8c9f10-3333-4a2b-8e7d-000000000001";
    /// UUID of the host on cluster 2.
    pub const HOST_2_UUID: &str = "5e8c9f10-3333-4a2b-8e7d-000000000002";
    /// The GPU's name as `gpu_list[].name` shows it.
    pub const GPU_NAME: &str = "Tesla T4";
    /// The GPU's `device_id`.
    pub const GPU_DEVICE_ID: i64 = 7864;
    /// The default project.
    pub const PROJECT_DEFAULT_NAME: &str = "default";
    /// UUID of [`PROJECT_DEFAULT_NAME`].
    pub const PROJECT_DEFAULT_UUID: &str = "9b2e4c60-4444-4d3c-a1b2-000000000001";
    /// A second project.
    pub const PROJECT_DEV_NAME: &str = "dev-team";
    /// UUID of [`PROJECT_DEV_NAME`].
    pub const PROJECT_DEV_UUID: &str = "9b2e4c60-4444-4d3c-a1b2-000000000002";
    /// A URL whose download always fails.
    pub const UNREACHABLE_URI: &str = "https://images.example.invalid/unreachable.qcow2";
    /// A URL with a known size and checksum.
    pub const KNOWN_URI: &str =
        "https://cloud-images.ubuntu.com/jammy/current/jammy-server-cloudimg-amd64.img";
    /// Size the simulator gives images downloaded from [`KNOWN_URI`].
    pub const KNOWN_URI_SIZE: u64 = 692_256_768;
    /// SHA-256 the simulator pretends [`KNOWN_URI`] has.
    pub const KNOWN_URI_SHA256: &str =
        "5c2b1a7e9a3d4f60b8e1c0d9f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5";
}

/// A cluster Prism Central manages (or the PC pseudo-cluster itself).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDef {
    /// Cluster name.
    pub name: String,
    /// Cluster UUID.
    pub uuid: String,
    /// True for the PC pseudo-cluster (service_list `["PRISM_CENTRAL"]`).
    pub prism_central: bool,
    /// The cluster's virtual IP.
    pub external_ip: String,
    /// AOS (or PC) version string.
    pub aos_version: String,
    /// Hypervisor type, e.g. `AHV`.
    pub hypervisor: String,
}

/// Optional IPAM configuration of a subnet.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpamDef {
    /// Network address, e.g. `10.10.100.0`.
    pub subnet_ip: String,
    /// Prefix length, e.g. 24.
    pub prefix_length: i64,
    /// Gateway address.
    #[serde(default)]
    pub default_gateway_ip: Option<String>,
    /// DHCP pool, e.g. `10.10.100.50 10.10.100.200`.
    #[serde(default)]
    pub pool_range: Option<String>,
}

/// A subnet; VLAN subnets belong to one cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct SubnetDef {
    /// Subnet name (not unique).
    pub name: String,
    /// Subnet UUID.
    pub uuid: String,
    /// UUID of the owning cluster.
    pub cluster_uuid: String,
    /// VLAN id.
    pub vlan_id: i64,
    /// `VLAN` or `OVERLAY`.
    pub subnet_type: String,
    /// Virtual switch name.
    pub vswitch_name: String,
    /// IPAM settings, if the subnet has IPAM.
    pub ipam: Option<IpamDef>,
}

/// An image that already exists in the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageDef {
    /// Image name (not unique).
    pub name: String,
    /// Image UUID.
    pub uuid: String,
    /// `DISK_IMAGE` or `ISO_IMAGE`.
    pub image_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Where it was downloaded from, if anywhere.
    pub source_uri: Option<String>,
    /// Description.
    pub description: String,
    /// UUIDs of the clusters holding a copy.
    pub cluster_uuids: Vec<String>,
    /// Hex SHA-256 reported as the image checksum, if any.
    pub sha256: Option<String>,
}

/// A GPU on a host, as `hosts/list` reports it in `gpu_list`.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuDef {
    /// Marketing name, e.g. `Tesla T4`.
    pub name: String,
    /// Vendor as Prism spells it, e.g. `kNvidia`.
    pub vendor: String,
    /// `PASSTHROUGH_COMPUTE`, `PASSTHROUGH_GRAPHICS` or `VIRTUAL`.
    pub mode: String,
    /// PCI device id.
    pub device_id: i64,
    /// Index on the host.
    pub index: i64,
    /// PCI address.
    pub pci_address: String,
    /// Frame buffer size.
    pub frame_buffer_size_mib: i64,
    /// Whether it can be given to a VM.
    pub assignable: bool,
    /// GPU UUID.
    pub uuid: String,
}

/// A hypervisor host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostDef {
    /// Host name.
    pub name: String,
    /// Host UUID.
    pub uuid: String,
    /// UUID of the cluster it belongs to.
    pub cluster_uuid: String,
    /// Hypervisor IP.
    pub ip: String,
    /// CPU model string.
    pub cpu_model: String,
    /// Number of sockets.
    pub num_cpu_sockets: i64,
    /// Number of cores.
    pub num_cpu_cores: i64,
    /// Memory.
    pub memory_capacity_mib: i64,
    /// GPUs.
    pub gpus: Vec<GpuDef>,
}

/// A project.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectDef {
    /// Project name.
    pub name: String,
    /// Project UUID.
    pub uuid: String,
    /// Description.
    pub description: String,
    /// Whether this is the project given to entities created without one.
    pub is_default: bool,
}

/// A category key and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryDef {
    /// The key, e.g. `Environment`.
    pub key: String,
    /// Description of the key.
    pub description: String,
    /// Allowed values, e.g. `Dev`, `Prod`.
    pub values: Vec<String>,
}

/// How an image download from a given URL behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSourceDef {
    /// The exact URL.
    pub uri: String,
    /// Size the downloaded image gets.
    pub size_bytes: u64,
    /// When true, the download task fails.
    pub unreachable: bool,
    /// The content's SHA-256; a create request with another checksum fails its task.
    pub sha256: Option<String>,
    /// Download duration in milliseconds (None: the configured task duration).
    pub download_ms: Option<u64>,
}

/// Everything the simulated Prism Central holds at start (and after `/_sim/reset`).
#[derive(Debug, Clone, PartialEq)]
pub struct Inventory {
    /// Clusters, including the PC pseudo-cluster.
    pub clusters: Vec<ClusterDef>,
    /// Subnets.
    pub subnets: Vec<SubnetDef>,
    /// Pre-existing images.
    pub images: Vec<ImageDef>,
    /// Hosts.
    pub hosts: Vec<HostDef>,
    /// Projects.
    pub projects: Vec<ProjectDef>,
    /// Categories.
    pub categories: Vec<CategoryDef>,
    /// Known remote URLs.
    pub remote_sources: Vec<RemoteSourceDef>,
    /// Size for images from URLs not in `remote_sources`.
    pub default_remote_size_bytes: u64,
}

// ---------------------------------------------------------------------------------------------
// File form

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InventoryFile {
    #[serde(default, alias = "cluster")]
    clusters: Vec<ClusterFile>,
    #[serde(default, alias = "subnet")]
    subnets: Vec<SubnetFile>,
    #[serde(default, alias = "image")]
    images: Vec<ImageFile>,
    #[serde(default, alias = "host")]
    hosts: Vec<HostFile>,
    #[serde(default, alias = "project")]
    projects: Vec<ProjectFile>,
    #[serde(default, alias = "category")]
    categories: Vec<CategoryFile>,
    #[serde(default, alias = "remote_source")]
    remote_sources: Vec<RemoteSourceFile>,
    #[serde(default)]
    default_remote_size_bytes: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterFile {
    name: String,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    prism_central: bool,
    #[serde(default)]
    external_ip: Option<String>,
    #[serde(default)]
    aos_version: Option<String>,
    #[serde(default)]
    hypervisor: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubnetFile {
    name: String,
    #[serde(default)]
    uuid: Option<String>,
    cluster: String,
    #[serde(default)]
    vlan_id: i64,
    #[serde(default)]
    subnet_type: Option<String>,
    #[serde(default)]
    vswitch_name: Option<String>,
    #[serde(default)]
    ipam: Option<IpamDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageFile {
    name: String,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    image_type: Option<String>,
    size_bytes: u64,
    #[serde(default)]
    source_uri: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    clusters: Option<Vec<String>>,
    #[serde(default)]
    sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HostFile {
    name: String,
    #[serde(default)]
    uuid: Option<String>,
    cluster: String,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    cpu_model: Option<String>,
    #[serde(default)]
    num_cpu_sockets: Option<i64>,
    #[serde(default)]
    num_cpu_cores: Option<i64>,
    #[serde(default)]
    memory_capacity_mib: Option<i64>,
    #[serde(default, alias = "gpu")]
    gpus: Vec<GpuFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GpuFile {
    name: String,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    device_id: i64,
    #[serde(default)]
    index: Option<i64>,
    #[serde(default)]
    pci_address: Option<String>,
    #[serde(default)]
    frame_buffer_size_mib: Option<i64>,
    #[serde(default)]
    assignable: Option<bool>,
    #[serde(default)]
    uuid: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectFile {
    name: String,
    #[serde(default)]
    uuid: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    is_default: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryFile {
    key: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoteSourceFile {
    uri: String,
    size_bytes: u64,
    #[serde(default)]
    unreachable: bool,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    download_ms: Option<u64>,
}

/// Keys whose value may be one object (a single HCL block) or a list of them.
const LIST_KEYS: &[&str] = &[
    "cluster",
    "clusters",
    "subnet",
    "subnets",
    "image",
    "images",
    "host",
    "hosts",
    "gpu",
    "gpus",
    "project",
    "projects",
    "category",
    "categories",
    "remote_source",
    "remote_sources",
];

/// Wraps single blocks into one-element lists, recursively (HCL's JSON form of one block is
/// an object, of repeated blocks an array).
fn normalize_lists(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if LIST_KEYS.contains(&k.as_str()) && child.is_object() {
                    let one = child.take();
                    *child = Value::Array(vec![one]);
                }
                normalize_lists(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_lists),
        _ => {}
    }
}

/// A UUID derived from text, so files without UUIDs give stable ones.
fn derived_uuid(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    for (b, d) in bytes.iter_mut().zip(digest.iter()) {
        *b = *d;
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn check_uuid(what: &str, s: &str) -> Result<String, SimError> {
    uuid::Uuid::parse_str(s)
        .map(|u| u.to_string())
        .map_err(|e| SimError::Inventory(format!("{what}: uuid {s:?} is not a UUID: {e}")))
}

impl Inventory {
    /// Parses an inventory written in JSON (see the module docs for the schema).
    pub fn from_json(text: &str) -> Result<Self, SimError> {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| SimError::Inventory(format!("not valid JSON: {e}")))?;
        Self::from_value(v)
    }

    /// Parses an inventory written in HCL (see the module docs for the schema).
    pub fn from_hcl(text: &str) -> Result<Self, SimError> {
        let v: Value =
            hcl::from_str(text).map_err(|e| SimError::Inventory(format!("not valid HCL: {e}")))?;
        Self::from_value(v)
    }

    /// Parses a file, choosing HCL for `.hcl` names and JSON otherwise.
    pub fn from_file_text(path: &std::path::Path, text: &str) -> Result<Self, SimError> {
        let is_hcl = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("hcl"));
        if is_hcl {
            Self::from_hcl(text)
        } else {
            Self::from_json(text)
        }
    }

    fn from_value(mut v: Value) -> Result<Self, SimError> {
        normalize_lists(&mut v);
        let file: InventoryFile =
            serde_json::from_value(v).map_err(|e| SimError::Inventory(format!("schema: {e}")))?;
        Self::resolve(file)
    }

    fn resolve(f: InventoryFile) -> Result<Self, SimError> {
        let mut clusters = Vec::new();
        for (i, c) in f.clusters.into_iter().enumerate() {
            let what = format!("cluster {:?}", c.name);
            let uuid = match c.uuid {
                Some(u) => check_uuid(&what, &u)?,
                None => derived_uuid(&format!("cluster:{}:{i}", c.name)),
            };
            clusters.push(ClusterDef {
                uuid,
                prism_central: c.prism_central,
                external_ip: c
                    .external_ip
                    .unwrap_or_else(|| format!("10.0.0.{}", 10 + i)),
                aos_version: c.aos_version.unwrap_or_else(|| {
                    if c.prism_central {
                        "pc.2024.3"
                    } else {
                        "6.8.1"
                    }
                    .to_string()
                }),
                hypervisor: c.hypervisor.unwrap_or_else(|| "AHV".to_string()),
                name: c.name,
            });
        }
        if !clusters.iter().any(|c| !c.prism_central) {
            return Err(SimError::Inventory(
                "at least one Prism Element cluster (prism_central = false) is required".into(),
            ));
        }
        let find_cluster = |what: &str, r: &str| -> Result<String, SimError> {
            let hits: Vec<&ClusterDef> = clusters
                .iter()
                .filter(|c| c.uuid.eq_ignore_ascii_case(r) || c.name == r)
                .collect();
            match hits.as_slice() {
                [one] => Ok(one.uuid.clone()),
                [] => Err(SimError::Inventory(format!(
                    "{what}: no cluster named or with UUID {r:?}"
                ))),
                _ => Err(SimError::Inventory(format!(
                    "{what}: cluster reference {r:?} is ambiguous; use the UUID"
                ))),
            }
        };

        let mut subnets = Vec::new();
        for (i, s) in f.subnets.into_iter().enumerate() {
            let what = format!("subnet {:?}", s.name);
            let cluster_uuid = find_cluster(&what, &s.cluster)?;
            if clusters
                .iter()
                .any(|c| c.uuid == cluster_uuid && c.prism_central)
            {
                return Err(SimError::Inventory(format!(
                    "{what}: subnets cannot live on the Prism Central pseudo-cluster"
                )));
            }
            let uuid = match s.uuid {
                Some(u) => check_uuid(&what, &u)?,
                None => derived_uuid(&format!("subnet:{}:{i}", s.name)),
            };
            subnets.push(SubnetDef {
                name: s.name,
                uuid,
                cluster_uuid,
                vlan_id: s.vlan_id,
                subnet_type: s.subnet_type.unwrap_or_else(|| "VLAN".to_string()),
                vswitch_name: s.vswitch_name.unwrap_or_else(|| "br0".to_string()),
                ipam: s.ipam,
            });
        }

        let pe_uuids: Vec<String> = clusters
            .iter()
            .filter(|c| !c.prism_central)
            .map(|c| c.uuid.clone())
            .collect();
        let mut images = Vec::new();
        for (i, im) in f.images.into_iter().enumerate() {
            let what = format!("image {:?}", im.name);
            let image_type = im.image_type.unwrap_or_else(|| "DISK_IMAGE".to_string());
            if image_type != "DISK_IMAGE" && image_type != "ISO_IMAGE" {
                return Err(SimError::Inventory(format!(
                    "{what}: image_type {image_type:?} must be DISK_IMAGE or ISO_IMAGE"
                )));
            }
            let cluster_uuids = match im.clusters {
                Some(list) => list
                    .iter()
                    .map(|r| find_cluster(&what, r))
                    .collect::<Result<Vec<_>, _>>()?,
                None => pe_uuids.clone(),
            };
            if let Some(sha) = &im.sha256 {
                check_sha256(&what, sha)?;
            }
            let uuid = match im.uuid {
                Some(u) => check_uuid(&what, &u)?,
                None => derived_uuid(&format!("image:{}:{i}", im.name)),
            };
            images.push(ImageDef {
                name: im.name,
                uuid,
                image_type,
                size_bytes: im.size_bytes,
                source_uri: im.source_uri,
                description: im.description.unwrap_or_default(),
                cluster_uuids,
                sha256: im.sha256.map(|s| s.to_ascii_lowercase()),
            });
        }

        let mut hosts = Vec::new();
        for (i, h) in f.hosts.into_iter().enumerate() {
            let what = format!("host {:?}", h.name);
            let cluster_uuid = find_cluster(&what, &h.cluster)?;
            let uuid = match h.uuid {
                Some(u) => check_uuid(&what, &u)?,
                None => derived_uuid(&format!("host:{}:{i}", h.name)),
            };
            let mut gpus = Vec::new();
            for (j, g) in h.gpus.into_iter().enumerate() {
                let gwhat = format!("{what} gpu {:?}", g.name);
                let guuid = match g.uuid {
                    Some(u) => check_uuid(&gwhat, &u)?,
                    None => derived_uuid(&format!("gpu:{}:{}:{j}", h.name, g.name)),
                };
                gpus.push(GpuDef {
                    vendor: g.vendor.unwrap_or_else(|| "kNvidia".to_string()),
                    mode: g.mode.unwrap_or_else(|| "PASSTHROUGH_COMPUTE".to_string()),
                    device_id: g.device_id,
                    index: g.index.unwrap_or(j as i64),
                    pci_address: g
                        .pci_address
                        .unwrap_or_else(|| format!("0000:{:02x}:00.0", 0x3b + j)),
                    frame_buffer_size_mib: g.frame_buffer_size_mib.unwrap_or(16384),
                    assignable: g.assignable.unwrap_or(true),
                    uuid: guuid,
                    name: g.name,
                });
            }
            hosts.push(HostDef {
                uuid,
                cluster_uuid,
                ip: h.ip.unwrap_or_else(|| format!("10.0.1.{}", 11 + i)),
                cpu_model: h
                    .cpu_model
                    .unwrap_or_else(|| "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz".to_string()),
                num_cpu_sockets: h.num_cpu_sockets.unwrap_or(2),
                num_cpu_cores: h.num_cpu_cores.unwrap_or(16),
                memory_capacity_mib: h.memory_capacity_mib.unwrap_or(262_144),
                gpus,
                name: h.name,
            });
        }

        let mut projects = Vec::new();
        for (i, p) in f.projects.into_iter().enumerate() {
            let what = format!("project {:?}", p.name);
            let uuid = match p.uuid {
                Some(u) => check_uuid(&what, &u)?,
                None => derived_uuid(&format!("project:{}:{i}", p.name)),
            };
            projects.push(ProjectDef {
                name: p.name,
                uuid,
                description: p.description.unwrap_or_default(),
                is_default: p.is_default,
            });
        }
        if projects.iter().filter(|p| p.is_default).count() > 1 {
            return Err(SimError::Inventory(
                "more than one project has is_default = true".into(),
            ));
        }

        let mut seen_keys = HashSet::new();
        let mut categories = Vec::new();
        for c in f.categories {
            if !seen_keys.insert(c.key.clone()) {
                return Err(SimError::Inventory(format!(
                    "category key {:?} is defined twice",
                    c.key
                )));
            }
            categories.push(CategoryDef {
                key: c.key,
                description: c.description.unwrap_or_default(),
                values: c.values,
            });
        }

        let mut remote_sources = Vec::new();
        for r in f.remote_sources {
            let what = format!("remote_source {:?}", r.uri);
            if let Some(sha) = &r.sha256 {
                check_sha256(&what, sha)?;
            }
            remote_sources.push(RemoteSourceDef {
                uri: r.uri,
                size_bytes: r.size_bytes,
                unreachable: r.unreachable,
                sha256: r.sha256.map(|s| s.to_ascii_lowercase()),
                download_ms: r.download_ms,
            });
        }

        let inv = Self {
            clusters,
            subnets,
            images,
            hosts,
            projects,
            categories,
            remote_sources,
            default_remote_size_bytes: f.default_remote_size_bytes.unwrap_or(1 << 30),
        };
        inv.check_unique_uuids()?;
        Ok(inv)
    }

    fn check_unique_uuids(&self) -> Result<(), SimError> {
        let mut seen = HashSet::new();
        let all = self
            .clusters
            .iter()
            .map(|c| &c.uuid)
            .chain(self.subnets.iter().map(|s| &s.uuid))
            .chain(self.images.iter().map(|i| &i.uuid))
            .chain(self.hosts.iter().map(|h| &h.uuid))
            .chain(self.projects.iter().map(|p| &p.uuid));
        for u in all {
            if !seen.insert(u.to_ascii_lowercase()) {
                return Err(SimError::Inventory(format!("uuid {u} is used twice")));
            }
        }
        Ok(())
    }

    /// The built-in inventory: two Prism Element clusters plus the PC pseudo-cluster, four VLAN
    /// subnets (one name on both clusters, one name needing FIQL escaping), disk and ISO images
    /// (two sharing a name), a GPU host, two projects and two category keys. Names and UUIDs
    /// are in [`defaults`].
    pub fn default_inventory() -> Self {
        use defaults::*;
        let cluster = |name: &str, uuid: &str, pc: bool, ip: &str| ClusterDef {
            name: name.into(),
            uuid: uuid.into(),
            prism_central: pc,
            external_ip: ip.into(),
            aos_version: if pc { "pc.2024.3" } else { "6.8.1" }.into(),
            hypervisor: "AHV".into(),
        };
        let subnet =
            |name: &str, uuid: &str, cluster: &str, vlan: i64, ipam: Option<IpamDef>| SubnetDef {
                name: name.into(),
                uuid: uuid.into(),
                cluster_uuid: cluster.into(),
                vlan_id: vlan,
                subnet_type: "VLAN".into(),
                vswitch_name: "br0".into(),
                ipam,
            };
        let pe = vec![CLUSTER_1_UUID.to_string(), CLUSTER_2_UUID.to_string()];
        let image = |name: &str, uuid: &str, ty: &str, size: u64, uri: Option<&str>| ImageDef {
            name: name.into(),
            uuid: uuid.into(),
            image_type: ty.into(),
            size_bytes: size,
            source_uri: uri.map(Into::into),
            description: String::new(),
            cluster_uuids: pe.clone(),
            sha256: None,
        };
        Self {
            clusters: vec![
                cluster(CLUSTER_1_NAME, CLUSTER_1_UUID, false, "10.42.0.10"),
                cluster(CLUSTER_2_NAME, CLUSTER_2_UUID, false, "10.42.8.10"),
                cluster(PC_CLUSTER_NAME, PC_CLUSTER_UUID, true, "10.42.0.5"),
            ],
            subnets: vec![
                subnet(SUBNET_DUP_NAME, SUBNET_DUP_1_UUID, CLUSTER_1_UUID, 0, None),
                subnet(SUBNET_DUP_NAME, SUBNET_DUP_2_UUID, CLUSTER_2_UUID, 0, None),
                subnet(
                    SUBNET_IPAM_NAME,
                    SUBNET_IPAM_UUID,
                    CLUSTER_1_UUID,
                    100,
                    Some(IpamDef {
                        subnet_ip: "10.42.100.0".into(),
                        prefix_length: 24,
                        default_gateway_ip: Some("10.42.100.1".into()),
                        pool_range: Some("10.42.100.50 10.42.100.200".into()),
                    }),
                ),
                subnet(
                    SUBNET_SPECIAL_NAME,
                    SUBNET_SPECIAL_UUID,
                    CLUSTER_1_UUID,
                    200,
                    None,
                ),
            ],
            images: vec![
                image(
                    IMAGE_DISK_NAME,
                    IMAGE_DISK_UUID,
                    "DISK_IMAGE",
                    IMAGE_DISK_SIZE,
                    Some("https://cloud-images.ubuntu.com/releases/22.04/release/ubuntu-22.04-server-cloudimg-amd64.img"),
                ),
                image(IMAGE_ISO_NAME, IMAGE_ISO_UUID, "ISO_IMAGE", IMAGE_ISO_SIZE, None),
                image(IMAGE_VIRTIO_NAME, IMAGE_VIRTIO_UUID, "ISO_IMAGE", 612_368_384, None),
                image(IMAGE_DUP_NAME, IMAGE_DUP_DISK_UUID, "DISK_IMAGE", 10_737_418_240, None),
                image(IMAGE_DUP_NAME, IMAGE_DUP_ISO_UUID, "ISO_IMAGE", 52_428_800, None),
            ],
            hosts: vec![
                HostDef {
                    name: HOST_GPU_NAME.into(),
                    uuid: HOST_GPU_UUID.into(),
                    cluster_uuid: CLUSTER_1_UUID.into(),
                    ip: "10.42.0.11".into(),
                    cpu_model: "Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz".into(),
                    num_cpu_sockets: 2,
                    num_cpu_cores: 48,
                    memory_capacity_mib: 786_432,
                    gpus: vec![GpuDef {
                        name: GPU_NAME.into(),
                        vendor: "kNvidia".into(),
                        mode: "PASSTHROUGH_COMPUTE".into(),
                        device_id: GPU_DEVICE_ID,
                        index: 0,
                        pci_address: "0000:3b:00.0".into(),
                        frame_buffer_size_mib: 16384,
                        assignable: true,
                        uuid: "5e8c9f10-3333-4a2b-8e7d-0000000000a1".into(),
                    }],
                },
                HostDef {
                    name: "ahv-node-2".into(),
                    uuid: HOST_2_UUID.into(),
                    cluster_uuid: CLUSTER_2_UUID.into(),
                    ip: "10.42.8.11".into(),
                    cpu_model: "AMD EPYC 7543 32-Core Processor".into(),
                    num_cpu_sockets: 1,
                    num_cpu_cores: 32,
                    memory_capacity_mib: 524_288,
                    gpus: vec![],
                },
            ],
            projects: vec![
                ProjectDef {
                    name: PROJECT_DEFAULT_NAME.into(),
                    uuid: PROJECT_DEFAULT_UUID.into(),
                    description: "Default project".into(),
                    is_default: true,
                },
                ProjectDef {
                    name: PROJECT_DEV_NAME.into(),
                    uuid: PROJECT_DEV_UUID.into(),
                    description: "Builds for the dev team".into(),
                    is_default: false,
                },
            ],
            categories: vec![
                CategoryDef {
                    key: "Environment".into(),
                    description: "Deployment environment".into(),
                    values: vec!["Dev".into(), "Prod".into()],
                },
                CategoryDef {
                    key: "OSType".into(),
                    description: "Guest operating system".into(),
                    values: vec!["ubuntu-22.04".into(), "windows-2022".into()],
                },
            ],
            remote_sources: vec![
                RemoteSourceDef {
                    uri: UNREACHABLE_URI.into(),
                    size_bytes: 0,
                    unreachable: true,
                    sha256: None,
                    download_ms: None,
                },
                RemoteSourceDef {
                    uri: KNOWN_URI.into(),
                    size_bytes: KNOWN_URI_SIZE,
                    unreachable: false,
                    sha256: Some(KNOWN_URI_SHA256.into()),
                    download_ms: None,
                },
            ],
            default_remote_size_bytes: 1 << 30,
        }
    }

    /// Looks up a cluster by UUID.
    pub fn cluster(&self, uuid: &str) -> Option<&ClusterDef> {
        self.clusters.iter().find(|c| c.uuid == uuid)
    }

    /// Looks up a subnet by UUID.
    pub fn subnet(&self, uuid: &str) -> Option<&SubnetDef> {
        self.subnets.iter().find(|s| s.uuid == uuid)
    }

    /// Looks up a project by UUID.
    pub fn project(&self, uuid: &str) -> Option<&ProjectDef> {
        self.projects.iter().find(|p| p.uuid == uuid)
    }

    /// Looks up a host by UUID.
    pub fn host(&self, uuid: &str) -> Option<&HostDef> {
        self.hosts.iter().find(|h| h.uuid == uuid)
    }

    /// Looks up a category key.
    pub fn category(&self, key: &str) -> Option<&CategoryDef> {
        self.categories.iter().find(|c| c.key == key)
    }

    /// How a download from `uri` behaves.
    pub fn remote_source(&self, uri: &str) -> Option<&RemoteSourceDef> {
        self.remote_sources.iter().find(|r| r.uri == uri)
    }
}

fn check_sha256(what: &str, s: &str) -> Result<(), SimError> {
    if s.len() == 64 && s.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(SimError::Inventory(format!(
            "{what}: sha256 {s:?} is not 64 hex digits"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_inventory_has_what_the_builder_needs() {
        let inv = Inventory::default_inventory();
        inv.check_unique_uuids().unwrap();
        assert_eq!(inv.clusters.iter().filter(|c| c.prism_central).count(), 1);
        assert!(inv.clusters.iter().filter(|c| !c.prism_central).count() >= 1);
        let dup: Vec<_> = inv
            .subnets
            .iter()
            .filter(|s| s.name == defaults::SUBNET_DUP_NAME)
            .map(|s| s.cluster_uuid.as_str())
            .collect();
        assert_eq!(
            dup,
            vec![defaults::CLUSTER_1_UUID, defaults::CLUSTER_2_UUID]
        );
        assert!(inv.hosts.iter().any(|h| !h.gpus.is_empty()));
        assert_eq!(inv.projects.len(), 2);
        assert!(inv
            .category("Environment")
            .unwrap()
            .values
            .contains(&"Prod".to_string()));
        assert!(inv.images.iter().any(|i| i.image_type == "ISO_IMAGE"));
        assert!(inv.images.iter().any(|i| i.image_type == "DISK_IMAGE"));
    }

    #[test]
    fn example_hcl_file_parses_and_matches_json_form() {
        let hcl = include_str!("../examples/inventory.hcl");
        let inv = Inventory::from_hcl(hcl).unwrap();
        assert_eq!(inv.clusters.len(), 2);
        assert!(inv.clusters.iter().any(|c| c.prism_central));
        assert_eq!(inv.subnets.len(), 2);
        assert_eq!(inv.hosts.len(), 1);
        assert_eq!(inv.hosts[0].gpus.len(), 1);
        assert_eq!(inv.hosts[0].gpus[0].name, "NVIDIA A40");
        assert_eq!(inv.categories[0].values, vec!["Dev", "Prod"]);
        assert!(inv.remote_sources.iter().any(|r| r.unreachable));
        // The same data as JSON gives the same inventory (same derived UUIDs too).
        let json = r#"{
          "clusters": [
            {"name": "lab-pe", "uuid": "00000000-0000-4000-8000-0000000000e1", "external_ip": "192.168.10.20"},
            {"name": "lab-pc", "prism_central": true}
          ],
          "subnets": [
            {"name": "lab-vlan-10", "cluster": "lab-pe", "vlan_id": 10},
            {"name": "lab-ipam", "cluster": "00000000-0000-4000-8000-0000000000e1", "vlan_id": 20,
             "ipam": {"subnet_ip": "192.168.20.0", "prefix_length": 24,
                      "default_gateway_ip": "192.168.20.1", "pool_range": "192.168.20.100 192.168.20.200"}}
          ],
          "images": [
            {"name": "debian-12-generic-amd64.qcow2", "size_bytes": 2147483648},
            {"name": "tools.iso", "image_type": "ISO_IMAGE", "size_bytes": 1048576}
          ],
          "hosts": [
            {"name": "lab-node-1", "cluster": "lab-pe",
             "gpus": [{"name": "NVIDIA A40", "device_id": 8757, "mode": "PASSTHROUGH_GRAPHICS"}]}
          ],
          "projects": [{"name": "default", "is_default": true}, {"name": "ci"}],
          "categories": [{"key": "Environment", "values": ["Dev", "Prod"]}],
          "remote_sources": [
            {"uri": "https://mirror.example.invalid/broken.iso", "size_bytes": 0, "unreachable": true},
            {"uri": "https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-generic-amd64.qcow2",
             "size_bytes": 440401920, "download_ms": 1500}
          ],
          "default_remote_size_bytes": 536870912
        }"#;
        let from_json = Inventory::from_json(json).unwrap();
        assert_eq!(from_json, inv);
    }

    #[test]
    fn single_hcl_block_is_a_list_of_one() {
        let inv = Inventory::from_hcl(
            r#"
            cluster {
              name = "only"
            }
            "#,
        )
        .unwrap();
        assert_eq!(inv.clusters.len(), 1);
        assert!(inv.subnets.is_empty());
    }

    #[test]
    fn errors_name_the_culprit() {
        let cases = [
            (
                r#"{"clusters":[{"name":"pc","prism_central":true}]}"#,
                "Prism Element",
            ),
            (
                r#"{"clusters":[{"name":"a"}],"subnets":[{"name":"s","cluster":"nope"}]}"#,
                "subnet \"s\"",
            ),
            (
                r#"{"clusters":[{"name":"a","uuid":"zzz"}]}"#,
                "cluster \"a\"",
            ),
            (
                r#"{"clusters":[{"name":"a"}],"images":[{"name":"i","size_bytes":1,"image_type":"RAW"}]}"#,
                "image \"i\"",
            ),
            (r#"{"clusters":[{"name":"a"}],"colors":[]}"#, "colors"),
            (
                r#"{"clusters":[{"name":"a"},{"name":"a"}],"subnets":[{"name":"s","cluster":"a"}]}"#,
                "ambiguous",
            ),
            (
                r#"{"clusters":[{"name":"a"}],"categories":[{"key":"k"},{"key":"k"}]}"#,
                "twice",
            ),
            (
                r#"{"clusters":[{"name":"a","uuid":"00000000-0000-4000-8000-000000000001"},{"name":"b","uuid":"00000000-0000-4000-8000-000000000001"}]}"#,
                "used twice",
            ),
            ("{", "JSON"),
        ];
        for (text, needle) in cases {
            let err = Inventory::from_json(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
        let err = Inventory::from_hcl("cluster {").unwrap_err().to_string();
        assert!(err.contains("HCL"), "{err}");
    }

    #[test]
    fn derived_uuids_are_stable_and_distinct() {
        let a = derived_uuid("cluster:x:0");
        assert_eq!(a, derived_uuid("cluster:x:0"));
        assert_ne!(a, derived_uuid("cluster:x:1"));
        assert!(uuid::Uuid::parse_str(&a).is_ok());
    }
}
