//! `image_export` and `ova { export = true }`: stream Prism files into `output_directory`
//! (through a `.part` file, renamed only after the size, and the checksum when Prism reports
//! one, are verified), with a progress bar, within nutanix_transfer_timeout. Exported files are
//! in the ledger: a build that fails later removes them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use prism::models::ChecksumAlgorithm;
use prism::DownloadOptions;

use crate::context::Ctx;
use crate::entities::{ExportedFile, OutputImage};
use crate::error::BuildError;
use crate::ledger::{Entry, Kind, Stage};

/// What Prism serves the file from.
#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    /// `GET /images/{uuid}/file`.
    Image(&'a str),
    /// `GET /ovas/{uuid}/file`.
    Ova(&'a str),
}

/// One file to fetch.
struct Fetch<'a> {
    /// Where it comes from.
    source: Source<'a>,
    /// What messages call it (`image 'golden'`).
    what: String,
    /// Where it goes.
    path: PathBuf,
    /// The size Prism announced, if any.
    size: Option<u64>,
    /// The checksum Prism announced, if any.
    verify: Option<(ChecksumAlgorithm, String)>,
}

/// The image export step: each image into its planned path.
pub(crate) async fn run(
    b: &Ctx,
    images: &[OutputImage],
    paths: &[PathBuf],
) -> Result<Vec<ExportedFile>, BuildError> {
    let dir = paths
        .first()
        .and_then(|p| p.parent())
        .map(Path::to_path_buf)
        .unwrap_or_default();
    b.out
        .say(format!(
            "Exporting {} image(s) to {}...",
            images.len(),
            dir.display()
        ))
        .await;
    create_output_directory(&dir).await?;
    let mut files = Vec::new();
    for (image, path) in images.iter().zip(paths) {
        let step = format!(
            "exporting image '{}' to {}",
            image.image.name,
            path.display()
        );
        let info = b.call(&step, b.prism.get_image(&image.image.uuid)).await?;
        let verify = info
            .status
            .as_ref()
            .and_then(|s| s.resources.checksum.as_ref())
            .map(|c| (c.checksum_algorithm.clone(), c.checksum_value.clone()));
        let fetch = Fetch {
            source: Source::Image(&image.image.uuid),
            what: format!("image '{}' ({})", image.image.name, image.image.uuid),
            path: path.clone(),
            size: info.size_bytes(),
            verify,
        };
        files.push(fetch_file(b, &step, fetch).await?);
    }
    Ok(files)
}

/// The OVA export step.
pub(crate) async fn run_ova(
    b: &Ctx,
    ova: &prism::Ova,
    path: &Path,
) -> Result<ExportedFile, BuildError> {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    create_output_directory(&dir).await?;
    let step = format!("exporting OVA '{}' to {}", ova.name, path.display());
    b.out
        .say(format!(
            "Exporting OVA '{}' to {}...",
            ova.name,
            dir.display()
        ))
        .await;
    let fetch = Fetch {
        source: Source::Ova(&ova.uuid),
        what: format!("OVA '{}' ({})", ova.name, ova.uuid),
        path: path.to_path_buf(),
        size: ova.size_bytes,
        verify: ova.checksum.clone(),
    };
    fetch_file(b, &step, fetch).await
}

async fn create_output_directory(dir: &Path) -> Result<(), BuildError> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|source| BuildError::Io {
            what: "creating output_directory".into(),
            path: dir.to_path_buf(),
            source,
        })
}

/// Downloads one file with a progress bar; it is in the ledger from before the first byte.
async fn fetch_file(b: &Ctx, step: &str, f: Fetch<'_>) -> Result<ExportedFile, BuildError> {
    let path_text = f.path.display().to_string();
    b.ledger
        .record(Entry::requested(Kind::LocalFile, &path_text, &f.what));
    b.out
        .message(format!(
            "Downloading {}{} to {path_text}...",
            f.what,
            f.size.map(|s| format!(", {s} bytes")).unwrap_or_default()
        ))
        .await;
    let label = f
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path_text.clone());
    let pump = b.out.transfer(&label, f.size.unwrap_or(0)).await;
    let meter = pump.meter();
    let options = DownloadOptions {
        expected_size: f.size,
        verify: f.verify.clone(),
        progress: Some(Arc::new(move |done, _| meter.set(done))),
        cancel: b.cancel.clone(),
    };
    let limit = b.transfer_timeout;
    let download = async {
        match f.source {
            Source::Image(uuid) => b.prism.download_image_file(uuid, &f.path, &options).await,
            Source::Ova(uuid) => b.prism.download_ova_file(uuid, &f.path, &options).await,
        }
    };
    let result = tokio::time::timeout(limit, download).await;
    pump.finish().await;
    let report = match result {
        Err(_) => {
            return Err(BuildError::TransferTimeout {
                what: step.to_string(),
                limit,
            })
        }
        Ok(Err(e)) => return Err(b.prism_err(step, e)),
        Ok(Ok(r)) => r,
    };
    b.ledger.advance(&path_text, Stage::Ready);
    let checked = match (&f.verify, f.size) {
        (Some((alg, _)), Some(_)) => format!("size and {alg} verified"),
        (Some((alg, _)), None) => format!("{alg} verified"),
        (None, Some(_)) => "size verified".to_string(),
        (None, None) => "Prism announced no size or checksum to verify".to_string(),
    };
    b.out
        .message(format!(
            "Exported {path_text}: {} bytes, sha256 {} ({checked})",
            report.bytes, report.sha256
        ))
        .await;
    Ok(ExportedFile {
        path: Path::new(&path_text).to_path_buf(),
        bytes: report.bytes,
        sha256: report.sha256,
    })
}
