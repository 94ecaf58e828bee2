//! What the steps find and make, as they hand it to the next steps and to the artifact.

use std::path::PathBuf;

use crate::error::BuildError;

/// A Prism entity the build refers to by UUID and shows by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Named {
    /// UUID.
    pub(crate) uuid: String,
    /// Name.
    pub(crate) name: String,
}

impl Named {
    /// An entity Prism returned, which must carry a UUID to be referred to.
    pub(crate) fn of(what: &str, uuid: Option<&str>, name: &str) -> Result<Named, BuildError> {
        let uuid = uuid.ok_or_else(|| {
            BuildError::unexpected(what, format!("Prism answered with '{name}' but no UUID"))
        })?;
        Ok(Named {
            uuid: uuid.to_string(),
            name: name.to_string(),
        })
    }
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

/// One data disk of the created VM, in bus order, with the image it was cloned from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DataDisk {
    /// The disk's UUID in the VM.
    pub(crate) uuid: String,
    /// Its size, when Prism reports it.
    pub(crate) size_bytes: Option<u64>,
    /// The image it was cloned from (none for an empty disk).
    pub(crate) source_image: Option<String>,
}

/// The build VM, once Prism has made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BuiltVm {
    /// UUID and name.
    pub(crate) vm: Named,
    /// Its data disks, in bus order (one output image each).
    pub(crate) data_disks: Vec<DataDisk>,
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
