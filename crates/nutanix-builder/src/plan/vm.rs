//! The VM a template asks for, as Prepare proved it: every disk carries its one source, every NIC
//! its one subnet reference, the boot settings are one mode, the guest customization one kind.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use nutanix_config::{BootPriority, BootType, ChecksumType, Config, ImageType, OsType, UserData};
use prism::models::{Checksum, ChecksumAlgorithm};

use super::Problems;

/// A Prism entity the template names either by name or by UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ref {
    /// By name (looked up, must be unique).
    Name(String),
    /// By UUID (read, must exist).
    Uuid(String),
}

impl Ref {
    /// The reference the `name` / `uuid` option pair gives; Prepare rejected both and neither.
    fn from_pair(name: Option<&String>, uuid: Option<&String>) -> Option<Ref> {
        match (uuid, name) {
            (Some(u), _) => Some(Ref::Uuid(u.clone())),
            (None, Some(n)) => Some(Ref::Name(n.clone())),
            (None, None) => None,
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Name(n) => write!(f, "'{n}'"),
            Ref::Uuid(u) => f.write_str(u),
        }
    }
}

/// Where the image behind a disk or CD-ROM comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageSource {
    /// An image that already exists.
    Existing(Ref),
    /// Prism downloads it (reused when an image of that URL exists, unless `force`).
    Uri {
        /// The URL.
        uri: String,
        /// What Prism must verify.
        checksum: Option<Checksum>,
        /// `source_image_force`.
        force: bool,
        /// `source_image_delete`.
        delete_after: bool,
    },
    /// Uploaded from this machine.
    Local {
        /// The file, `~` expanded.
        path: PathBuf,
        /// `source_image_delete`.
        delete_after: bool,
    },
}

impl ImageSource {
    /// Two disks with the same source share one image.
    pub(crate) fn same_image(&self, other: &ImageSource) -> bool {
        match (self, other) {
            (ImageSource::Existing(a), ImageSource::Existing(b)) => a == b,
            (ImageSource::Uri { uri: a, .. }, ImageSource::Uri { uri: b, .. }) => a == b,
            (ImageSource::Local { path: a, .. }, ImageSource::Local { path: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// One `vm_disks` entry; `I` says where its image comes from in the plan ([`ImageSource`]),
/// and which image it is once the build has found or made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Disk<I = ImageSource> {
    /// An empty SCSI disk.
    Empty {
        /// Size in GiB.
        size_gib: u64,
        /// `storage_container_uuid`.
        storage_container: Option<String>,
    },
    /// A SCSI disk cloned from an image.
    Cloned {
        /// The image.
        image: I,
        /// Size in GiB; the image's size when unset.
        size_gib: Option<u64>,
    },
    /// A SATA CD-ROM backed by an image.
    Cdrom {
        /// The image.
        image: I,
    },
}

impl<I> Disk<I> {
    /// The image behind it, if any.
    pub(crate) fn image(&self) -> Option<&I> {
        match self {
            Disk::Empty { .. } => None,
            Disk::Cloned { image, .. } | Disk::Cdrom { image } => Some(image),
        }
    }

    /// Whether the disk holds data (one output image each), as opposed to a CD-ROM.
    pub(crate) fn is_data(&self) -> bool {
        !matches!(self, Disk::Cdrom { .. })
    }
}

/// One `vm_nics` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Nic {
    /// The subnet.
    pub(crate) subnet: Ref,
    /// `mac_address`.
    pub(crate) mac: Option<String>,
    /// `ip_address` (an IPAM address).
    pub(crate) ip: Option<String>,
}

/// Firmware and boot order, from `boot_type`, `secure_boot` and `boot_priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Boot {
    /// The firmware.
    pub(crate) firmware: Firmware,
    /// CD-ROM or disk first.
    pub(crate) priority: BootPriority,
}

/// The firmware the VM boots with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Firmware {
    /// BIOS.
    Legacy,
    /// UEFI.
    Uefi,
    /// UEFI with Secure Boot.
    SecureBoot,
}

/// What the guest gets at first boot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Guest {
    /// Nothing (unless the build adds its temporary SSH key, see [`super::SshKey`]).
    Nothing,
    /// cloud-init user data and/or meta data.
    CloudInit {
        /// `user_data`.
        user_data: Option<UserData>,
        /// `meta_data`.
        meta_data: Option<UserData>,
    },
    /// A sysprep unattend XML (install type FRESH).
    Sysprep(UserData),
}

/// The VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Vm {
    /// `vm_name`.
    pub(crate) name: String,
    /// The cluster it runs on.
    pub(crate) cluster: Ref,
    /// `project`, by name.
    pub(crate) project: Option<String>,
    /// GPU device names.
    pub(crate) gpus: Vec<String>,
    /// Sockets.
    pub(crate) sockets: u32,
    /// Cores per socket.
    pub(crate) cores: u32,
    /// Memory in MiB.
    pub(crate) memory_mib: u64,
    /// Disks and CD-ROMs in template order.
    pub(crate) disks: Vec<Disk>,
    /// NICs in template order.
    pub(crate) nics: Vec<Nic>,
    /// Firmware and boot order.
    pub(crate) boot: Boot,
    /// Virtual TPM.
    pub(crate) vtpm: bool,
    /// Nested virtualization.
    pub(crate) nested_virtualization: bool,
    /// A serial port.
    pub(crate) serial_port: bool,
    /// First-boot customization.
    pub(crate) guest: Guest,
    /// Categories, key → values (in template order, without repeats).
    pub(crate) categories: BTreeMap<String, Vec<String>>,
    /// Its description in Prism.
    pub(crate) description: String,
}

/// The checksum Prism verifies for a download.
fn checksum(value: Option<&String>, kind: Option<ChecksumType>) -> Option<Checksum> {
    let algorithm = match kind? {
        ChecksumType::Sha256 => ChecksumAlgorithm::Sha256,
        ChecksumType::Sha1 => ChecksumAlgorithm::Sha1,
    };
    Some(Checksum {
        checksum_algorithm: algorithm,
        checksum_value: value?.to_ascii_lowercase(),
    })
}

fn image_source(d: &nutanix_config::VmDisk, home: Option<&std::path::Path>) -> Option<ImageSource> {
    if let Some(r) = Ref::from_pair(d.source_image_name.as_ref(), d.source_image_uuid.as_ref()) {
        return Some(ImageSource::Existing(r));
    }
    if let Some(uri) = &d.source_image_uri {
        return Some(ImageSource::Uri {
            uri: uri.clone(),
            checksum: checksum(
                d.source_image_checksum.as_ref(),
                d.source_image_checksum_type,
            ),
            force: d.source_image_force,
            delete_after: d.source_image_delete,
        });
    }
    let path = d.source_image_path.as_ref()?;
    Some(ImageSource::Local {
        path: nutanix_config::expand_user(path, home),
        delete_after: d.source_image_delete,
    })
}

fn disk(d: &nutanix_config::VmDisk, home: Option<&std::path::Path>) -> Option<Disk> {
    let size_gib = d.disk_size_gb.filter(|g| *g > 0);
    Some(match d.image_type? {
        ImageType::Disk => Disk::Empty {
            size_gib: size_gib?,
            storage_container: d.storage_container_uuid.clone(),
        },
        ImageType::DiskImage => Disk::Cloned {
            image: image_source(d, home)?,
            size_gib,
        },
        ImageType::IsoImage => Disk::Cdrom {
            image: image_source(d, home)?,
        },
    })
}

/// The VM part of the plan.
pub(crate) fn vm(c: &Config, home: Option<&std::path::Path>, p: &mut Problems) -> Option<Vm> {
    let v = &c.vm;
    let mut disks = Vec::new();
    for (i, d) in v.vm_disks.iter().enumerate() {
        match disk(d, home) {
            Some(d) => disks.push(d),
            None => p.inconsistent(format!("vm_disks[{i}]")),
        }
    }
    let mut nics = Vec::new();
    for (i, n) in v.vm_nics.iter().enumerate() {
        if n.skip_ip_assignment {
            p.refuse(
                format!("vm_nics[{i}].skip_ip_assignment"),
                "not supported with the Prism v3 API this version uses",
            );
        }
        match Ref::from_pair(n.subnet_name.as_ref(), n.subnet_uuid.as_ref()) {
            Some(subnet) => nics.push(Nic {
                subnet,
                mac: n.mac_address.clone(),
                ip: n.ip_address.clone(),
            }),
            None => p.inconsistent(format!("vm_nics[{i}]")),
        }
    }
    let Some(cluster) = Ref::from_pair(v.cluster_name.as_ref(), v.cluster_uuid.as_ref()) else {
        p.inconsistent("cluster_name".to_string());
        return None;
    };
    let firmware = match v.boot_type {
        BootType::Legacy => Firmware::Legacy,
        BootType::Uefi if v.secure_boot => Firmware::SecureBoot,
        BootType::Uefi => Firmware::Uefi,
        BootType::SecureBoot => Firmware::SecureBoot,
    };
    let guest = match (&v.user_data, v.os_type, &v.meta_data) {
        (Some(xml), Some(OsType::Windows), _) => Guest::Sysprep(xml.clone()),
        (None, _, None) => Guest::Nothing,
        (user_data, _, meta_data) => Guest::CloudInit {
            user_data: user_data.clone(),
            meta_data: meta_data.clone(),
        },
    };
    let mut categories: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for cat in &v.vm_categories {
        let values = categories.entry(cat.key.clone()).or_default();
        if !values.contains(&cat.value) {
            values.push(cat.value.clone());
        }
    }
    Some(Vm {
        name: v.vm_name.clone(),
        cluster,
        project: v.project.clone(),
        gpus: v.gpu.iter().map(|g| g.name.clone()).collect(),
        sockets: v.cpu,
        cores: v.core,
        memory_mib: v.memory_mb,
        disks,
        nics,
        boot: Boot {
            firmware,
            priority: v.boot_priority,
        },
        vtpm: v.vtpm.enabled,
        nested_virtualization: v.hardware_virtualization,
        serial_port: v.serialport,
        guest,
        categories,
        description: format!("Packer vm building image {}", v.image_name),
    })
}
