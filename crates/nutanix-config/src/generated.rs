//! The generated data a build publishes, so templates can use `build.<Name>` (HCL2) or
//! ``{{ build `Name` }}`` (JSON) in provisioners and post-processors. The Go plugin published none.

/// Names returned from Prepare; the build step that learns each value publishes it.
///
/// | name | value |
/// |---|---|
/// | `ImageUUID` | UUID of the first output image (the one the artifact names) |
/// | `ImageUUIDs` | UUIDs of every output image, one per data disk, comma-separated in disk order |
/// | `VmUUID` | UUID of the build VM |
/// | `SourceImageUUIDs` | UUIDs of the source images the VM was built from, comma-separated in `vm_disks` order |
/// | `ClusterUUID` | UUID of the Prism Element cluster the VM ran on |
/// | `ClusterName` | name of that cluster |
pub const GENERATED_VARS: &[&str] = &[
    "ImageUUID",
    "ImageUUIDs",
    "VmUUID",
    "SourceImageUUIDs",
    "ClusterUUID",
    "ClusterName",
];
