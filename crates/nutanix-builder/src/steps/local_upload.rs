//! Creating an image from a local file (a `source_image_path` disk, the cd_files ISO): record
//! it, create it empty, then stream the file into it with a progress bar, within
//! nutanix_transfer_timeout. Shared by the source-image and CD steps.

use std::path::Path;
use std::sync::Arc;

use prism::models::{ChecksumAlgorithm, ImageType};
use prism::{ImageSource, NewImage, UploadChecksum, UploadOptions};

use crate::context::{Ctx, TASK_TIMEOUT};
use crate::entities::Named;
use crate::error::BuildError;
use crate::ledger::{Entry, Kind, Stage};

/// What to create.
pub(crate) struct LocalImage<'a> {
    /// The file.
    pub(crate) path: &'a Path,
    /// Image name in Prism.
    pub(crate) name: String,
    /// Disk or ISO.
    pub(crate) image_type: ImageType,
    /// Ledger kind (source image or CD image).
    pub(crate) kind: Kind,
    /// Delete it at the end even after a successful build.
    pub(crate) delete_after: bool,
    /// Attached to the VM as a CD-ROM (the CD image).
    pub(crate) attached: bool,
    /// The cluster to place it on.
    pub(crate) cluster: &'a str,
}

/// Records, creates and uploads; returns the image and its size.
pub(crate) async fn upload_local_image(
    b: &Ctx,
    what: LocalImage<'_>,
) -> Result<(Named, u64), BuildError> {
    let uuid = uuid::Uuid::new_v4().to_string();
    let mut entry = Entry::requested(what.kind, &uuid, &what.name);
    entry.delete_after = what.delete_after;
    entry.attached = what.attached;
    b.ledger.record(entry);

    let step = format!("creating image '{}'", what.name);
    let new = NewImage {
        name: what.name.clone(),
        description: Some("added by Packer".to_string()),
        image_type: what.image_type,
        source: ImageSource::Upload,
        cluster_uuid: Some(what.cluster.to_string()),
        categories: Default::default(),
    };
    let accepted = b
        .submit_create(&uuid, &step, b.prism.submit_image(&new, Some(&uuid)))
        .await?;
    b.wait_task(&accepted.task_uuid, &step, TASK_TIMEOUT)
        .await?;

    let size = tokio::fs::metadata(what.path)
        .await
        .map_err(|source| BuildError::Io {
            what: "reading".into(),
            path: what.path.to_path_buf(),
            source,
        })?
        .len();
    b.out
        .message(format!(
            "Uploading {} ({} bytes) to image '{}' ({uuid})...",
            what.path.display(),
            size,
            what.name
        ))
        .await;
    let pump = b
        .out
        .transfer(&format!("{}", what.path.display()), size)
        .await;
    let meter = pump.meter();
    let options = UploadOptions {
        checksum: UploadChecksum::Compute(ChecksumAlgorithm::Sha256),
        progress: Some(Arc::new(move |done, _total| meter.set(done))),
        cancel: b.cancel.clone(),
    };
    let limit = b.transfer_timeout;
    let upload =
        tokio::time::timeout(limit, b.prism.upload_image_file(&uuid, what.path, &options)).await;
    pump.finish().await;
    let upload_step = format!("uploading {} to image '{}'", what.path.display(), what.name);
    match upload {
        Err(_) => {
            return Err(BuildError::TransferTimeout {
                what: upload_step,
                limit,
            })
        }
        Ok(Err(e)) => return Err(b.prism_err(&upload_step, e)),
        Ok(Ok(report)) => {
            tracing::info!(
                bytes = report.bytes,
                attempts = report.attempts,
                "upload done"
            );
        }
    }
    b.ledger.advance(&uuid, Stage::Ready);
    Ok((
        Named {
            uuid,
            name: what.name,
        },
        size,
    ))
}
