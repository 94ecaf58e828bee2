//! `image_export`: streams each output image into `output_directory` (through a `.part` file,
//! renamed only after the size, and the checksum when Prism reports one, are verified), with a
//! progress bar, within nutanix_transfer_timeout. Exported files are in the ledger: a build that
//! fails later removes them.

use std::sync::Arc;

use prism::DownloadOptions;

use super::Build;
use crate::build::error::BuildError;
use crate::build::ledger::{Entry, Kind, Stage};
use crate::build::spec::export_path;
use crate::build::state::ExportedFile;

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let dir = b.cfg.output_directory.clone();
    b.out
        .say(format!(
            "Exporting {} image(s) to {dir}...",
            b.st.images.len()
        ))
        .await;
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|source| BuildError::Io {
            what: "creating output_directory".into(),
            path: dir.clone().into(),
            source,
        })?;
    let images = b.st.images.clone();
    for image in images {
        let path = export_path(&dir, &image.image.name);
        let step = format!(
            "exporting image '{}' to {}",
            image.image.name,
            path.display()
        );
        let info = b
            .cancellable(async {
                b.prism
                    .get_image(&image.image.uuid)
                    .await
                    .map_err(|e| b.prism_err(&step, e))
            })
            .await?;
        let verify = info
            .status
            .as_ref()
            .and_then(|s| s.resources.checksum.as_ref())
            .map(|c| (c.checksum_algorithm.clone(), c.checksum_value.clone()));
        let size = info.size_bytes();
        let path_text = path.display().to_string();
        b.ledger.record(Entry::requested(
            Kind::LocalFile,
            &path_text,
            &image.image.name,
        ));
        b.out
            .message(format!(
                "Downloading image '{}' ({}{}) to {path_text}...",
                image.image.name,
                image.image.uuid,
                size.map(|s| format!(", {s} bytes")).unwrap_or_default()
            ))
            .await;
        let pump = b
            .out
            .transfer(&format!("{}.img", image.image.name), size.unwrap_or(0))
            .await;
        let meter = pump.meter();
        let options = DownloadOptions {
            expected_size: size,
            verify: verify.clone(),
            progress: Some(Arc::new(move |done, _| meter.set(done))),
            cancel: b.cancel.clone(),
        };
        let limit = b.cfg.cluster.transfer_timeout();
        let result = tokio::time::timeout(
            limit,
            b.prism
                .download_image_file(&image.image.uuid, &path, &options),
        )
        .await;
        pump.finish().await;
        let report = match result {
            Err(_) => return Err(BuildError::TransferTimeout { what: step, limit }),
            Ok(Err(e)) => return Err(b.prism_err(&step, e)),
            Ok(Ok(r)) => r,
        };
        b.ledger.advance(&path_text, Stage::Ready);
        let checked = match &verify {
            Some((alg, _)) => format!("size and {alg} verified"),
            None => "size verified".to_string(),
        };
        b.out
            .message(format!(
                "Exported {path_text}: {} bytes, sha256 {} ({checked})",
                report.bytes, report.sha256
            ))
            .await;
        b.st.files.push(ExportedFile {
            path,
            bytes: report.bytes,
            sha256: report.sha256,
        });
    }
    Ok(())
}
