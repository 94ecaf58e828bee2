//! What the steps learn and hand on to later steps: a typed struct, filled in step order, instead
//! of the SDK's string-keyed state bag.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// A Prism entity the build refers to by UUID and shows by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named {
    /// UUID.
    pub(crate) uuid: String,
    /// Name.
    pub(crate) name: String,
}

/// The image behind one `vm_disks` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SourceImage {
    /// UUID and name.
    pub(crate) image: Named,
    /// Size in bytes, when Prism reports it (the default size of a disk cloned from it).
    pub(crate) size_bytes: Option<u64>,
}

/// One image made from a VM disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputImage {
    /// UUID and name.
    pub(crate) image: Named,
    /// The source image of the disk it was made from (none for an empty disk).
    pub(crate) source_image_uuid: Option<String>,
    /// 1-based position among the VM's data disks.
    pub(crate) disk_number: usize,
    /// Size in bytes, when known.
    pub(crate) size_bytes: Option<u64>,
}

/// An exported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExportedFile {
    /// Where it was written.
    pub(crate) path: PathBuf,
    /// Its size.
    pub(crate) bytes: u64,
    /// Its SHA-256 (computed while downloading).
    pub(crate) sha256: String,
}

/// Everything the steps have found or made so far.
#[derive(Default)]
pub(crate) struct BuildState {
    /// The Prism Element cluster.
    pub(crate) cluster: Option<Named>,
    /// Subnet UUID per `vm_nics` entry.
    pub(crate) subnets: Vec<String>,
    /// The project, if any.
    pub(crate) project: Option<Named>,
    /// GPUs to attach.
    pub(crate) gpus: Vec<prism::models::VmGpu>,
    /// Checked VM categories, key → values.
    pub(crate) vm_categories: BTreeMap<String, Vec<String>>,
    /// Checked image categories (one value per key, the last one wins as in the Go plugin).
    pub(crate) image_categories: BTreeMap<String, String>,
    /// Source image per `vm_disks` entry (`None` for an empty DISK).
    pub(crate) disk_sources: Vec<Option<SourceImage>>,
    /// The cd_files ISO image.
    pub(crate) cd_image: Option<Named>,
    /// The VM.
    pub(crate) vm: Option<Named>,
    /// Data disks of the created VM (disk UUID, size), in bus order.
    pub(crate) vm_disks: Vec<(String, Option<u64>)>,
    /// The VM's settled IP address.
    pub(crate) ip: Option<IpAddr>,
    /// Where the communicator connects (ssh_host / winrm_host, else the IP).
    pub(crate) host: Option<String>,
    /// The SSH key pair: read from ssh_private_key_file or generated for this build.
    pub(crate) ssh_keys: Option<super::temp_key::BuildKeys>,
    /// The connected communicator.
    pub(crate) comm: Option<Arc<dyn packer_rpc::Communicator>>,
    /// Provisioning started (so a failure may run the error-cleanup provisioner).
    pub(crate) provision_started: bool,
    /// Shutdown started (the VM can no longer run a cleanup provisioner).
    pub(crate) shutdown_started: bool,
    /// Output images.
    pub(crate) images: Vec<OutputImage>,
    /// Exported files.
    pub(crate) files: Vec<ExportedFile>,
    /// The VM template (ext id, name).
    pub(crate) template: Option<Named>,
    /// The OVA stored on Prism Central.
    pub(crate) ova: Option<prism::Ova>,
}

impl BuildState {
    /// UUIDs of the source images, in `vm_disks` order, comma-separated (generated data).
    pub(crate) fn source_image_uuids(&self) -> String {
        self.disk_sources
            .iter()
            .flatten()
            .map(|s| s.image.uuid.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}
