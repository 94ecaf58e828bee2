//! What a build produces (images, exported files, a VM template, an OVA) and what survives a
//! failure (`-on-error`), named and placed once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use nutanix_config::{Config, ImageType, OvaFormat};

use super::Problems;

/// How `-on-error` wants a failed build handled (Packer's runner semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnError {
    /// `cleanup` (the default): clean up.
    Cleanup,
    /// `abort`: keep everything, run no cleanup provisioner.
    Abort,
    /// `ask`: ask the user.
    Ask,
    /// `run-cleanup-provisioner`: run the cleanup provisioner, keep everything else.
    RunCleanupProvisioner,
}

impl OnError {
    /// Packer's value; an unknown one is a problem, never silently "cleanup".
    pub(crate) fn parse(s: &str, p: &mut Problems) -> Option<OnError> {
        match s {
            "" | "cleanup" => Some(OnError::Cleanup),
            "abort" => Some(OnError::Abort),
            "ask" => Some(OnError::Ask),
            "run-cleanup-provisioner" => Some(OnError::RunCleanupProvisioner),
            other => {
                p.refuse(
                    "-on-error",
                    format!(
                        "unknown value {other:?} (cleanup, abort, ask or run-cleanup-provisioner)"
                    ),
                );
                None
            }
        }
    }
}

/// What happens when an image of an output's name already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExistingImages {
    /// Make another image of that name (Prism allows it).
    Allow,
    /// `fail_if_image_exists`.
    Fail,
    /// `force_deregister`: delete it when it is the only one.
    Replace,
}

/// The images made from the VM's data disks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImagesPlan {
    /// One name per data disk: `image_name`, then `image_name-disk2`, `-disk3`, ...
    pub(crate) names: Vec<String>,
    /// `image_description`.
    pub(crate) description: String,
    /// `image_categories` (one value per key, the last one wins, as in the Go plugin).
    pub(crate) categories: BTreeMap<String, String>,
    /// `fail_if_image_exists` / `force_deregister`.
    pub(crate) existing: ExistingImages,
    /// `image_delete`: delete them at the end (after export, template, OVA).
    pub(crate) delete_after: bool,
    /// `image_export`: where each image is downloaded, in `names` order.
    pub(crate) export: Option<Vec<PathBuf>>,
}

/// `template { create = true }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplatePlan {
    /// Name.
    pub(crate) name: String,
    /// Description.
    pub(crate) description: String,
}

/// `ova { create = true }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OvaPlan {
    /// Name.
    pub(crate) name: String,
    /// Disk format.
    pub(crate) format: OvaFormat,
    /// `ova { export = true }`: where it is downloaded.
    pub(crate) export: Option<PathBuf>,
}

/// Everything the build produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutputsPlan {
    /// Images (none with `image_skip`).
    pub(crate) images: Option<ImagesPlan>,
    /// A VM template.
    pub(crate) template: Option<TemplatePlan>,
    /// An OVA.
    pub(crate) ova: Option<OvaPlan>,
    /// `output_directory`, when anything is downloaded.
    pub(crate) directory: Option<PathBuf>,
    /// `packer build -force`: exported files may replace existing ones.
    pub(crate) force: bool,
    /// `vm_retain`: keep the VM after a successful build.
    pub(crate) vm_retain: bool,
    /// `vm_force_delete`: delete the VM even when the build did not succeed.
    pub(crate) vm_force_delete: bool,
}

/// Name of the image made from the `n`-th (1-based) data disk, as the Go plugin names them.
pub(crate) fn image_name(base: &str, n: usize) -> String {
    if n <= 1 {
        base.to_string()
    } else {
        format!("{base}-disk{n}")
    }
}

/// The outputs part of the plan.
pub(crate) fn plan(c: &Config, _p: &mut Problems) -> Option<OutputsPlan> {
    let dir = PathBuf::from(&c.output_directory);
    let data_disks =
        c.vm.vm_disks
            .iter()
            .filter(|d| matches!(d.image_type, Some(ImageType::Disk | ImageType::DiskImage)))
            .count();
    let images = (!c.image_skip).then(|| {
        let names: Vec<String> = (1..=data_disks)
            .map(|n| image_name(&c.vm.image_name, n))
            .collect();
        ImagesPlan {
            export: c
                .image_export
                .then(|| names.iter().map(|n| dir.join(format!("{n}.img"))).collect()),
            names,
            description: c.image_description.clone(),
            categories: c
                .image_categories
                .iter()
                .map(|cat| (cat.key.clone(), cat.value.clone()))
                .collect(),
            existing: match (c.fail_if_image_exists, c.force_deregister) {
                (true, _) => ExistingImages::Fail,
                (false, true) => ExistingImages::Replace,
                (false, false) => ExistingImages::Allow,
            },
            delete_after: c.image_delete,
        }
    });
    let ova = (c.ova.create || c.ova.export).then(|| OvaPlan {
        name: c.ova.name.clone(),
        format: c.ova.format,
        export: c
            .ova
            .export
            .then(|| dir.join(format!("{}.ova", c.ova.name))),
    });
    let downloads = (c.image_export && !c.image_skip) || c.ova.export;
    Some(OutputsPlan {
        images,
        template: c.template.create.then(|| TemplatePlan {
            name: c.template.name.clone(),
            description: c.template.description.clone(),
        }),
        ova,
        directory: downloads.then_some(dir),
        force: c.packer.packer_force,
        vm_retain: c.vm_retain,
        vm_force_delete: c.vm_force_delete,
    })
}

impl OutputsPlan {
    /// Files the build would write that already exist (without `-force`), and an output
    /// directory that is a file: checked when the build starts, since files come and go.
    pub(crate) fn file_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.force {
            let exported = self.images.iter().flat_map(|i| i.export.iter().flatten());
            for path in exported.filter(|p| p.exists()) {
                out.push(format!(
                    "image_export: {} already exists; remove it or run packer build -force to overwrite it",
                    path.display()
                ));
            }
            if let Some(path) = self.ova.as_ref().and_then(|o| o.export.as_ref()) {
                if path.exists() {
                    out.push(format!(
                        "ova.export: {} already exists; remove it or run packer build -force to overwrite it",
                        path.display()
                    ));
                }
            }
        }
        if let Some(dir) = self.directory.as_ref().filter(|d| d.is_file()) {
            out.push(format!(
                "output_directory {} is a file, not a directory",
                dir.display()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_follow_the_go_plugin() {
        assert_eq!(image_name("golden", 1), "golden");
        assert_eq!(image_name("golden", 2), "golden-disk2");
        assert_eq!(image_name("golden", 3), "golden-disk3");
    }

    #[test]
    fn an_unknown_on_error_value_is_a_problem() {
        let mut p = Problems::default();
        assert_eq!(OnError::parse("", &mut p), Some(OnError::Cleanup));
        assert_eq!(OnError::parse("abort", &mut p), Some(OnError::Abort));
        assert_eq!(OnError::parse("explode", &mut p), None);
        assert_eq!(p.0.len(), 1);
    }
}
