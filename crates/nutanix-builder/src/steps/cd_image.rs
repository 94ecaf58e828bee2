//! The cd_files / cd_content CD, labelled `cd_label`: written by the `cdrom` crate (Packer's
//! `StepCreateCD` staging rules, in-process, with an external ISO tool as its own fallback),
//! uploaded, and attached to the VM as a CD-ROM; the image is in the ledger from before its
//! creation and deleted at cleanup.

use prism::models::ImageType;

use super::local_upload::{upload_local_image, LocalImage};
use crate::context::Ctx;
use crate::entities::Named;
use crate::error::BuildError;
use crate::ledger::Kind;
use crate::plan::CdPlan;

/// The step: the CD image, uploaded.
pub(crate) async fn run(
    ctx: &Ctx,
    cd: &CdPlan,
    vm_name: &str,
    cluster: &Named,
) -> Result<Named, BuildError> {
    let label = cd
        .label
        .clone()
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "packer".to_string());
    ctx.out
        .say(format!("Creating CD disk (label {label})..."))
        .await;
    let work = tempfile::Builder::new()
        .prefix("packer-nutanix-cd")
        .tempdir()
        .map_err(|source| BuildError::Io {
            what: "creating a temporary directory".into(),
            path: std::env::temp_dir(),
            source,
        })?;
    let spec = cdrom::CdSpec {
        files: cd.files.clone(),
        content: cd.content.clone(),
        label,
        base_dir: std::env::current_dir().unwrap_or_default(),
    };
    let iso = ctx
        .cancellable(async {
            cdrom::build_iso(&spec, work.path())
                .await
                .map_err(|e| BuildError::unexpected("creating the CD", e.to_string()))
        })
        .await?;
    let by = iso
        .made_by
        .map(|tool| format!(" by {tool} (the built-in writer could not make it)"))
        .unwrap_or_default();
    ctx.out
        .message(format!(
            "CD image written{by}: {} file(s), {} bytes",
            iso.files.len(),
            iso.size
        ))
        .await;
    let (image, _size) = upload_local_image(
        ctx,
        LocalImage {
            path: &iso.path,
            name: format!("{vm_name}-cd.iso"),
            image_type: ImageType::IsoImage,
            kind: Kind::CdImage,
            delete_after: true,
            attached: true,
            cluster: &cluster.uuid,
        },
    )
    .await?;
    drop(work);
    Ok(image)
}
