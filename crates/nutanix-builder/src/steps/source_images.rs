//! The image behind each `vm_disks` entry: an existing one (by name, typed, or by UUID), one
//! Prism downloads from `source_image_uri` (reused when it already holds that URL, unless
//! `source_image_force`), or a local `source_image_path` uploaded with a progress bar. Images
//! the build creates go into the ledger before they are requested.

use std::collections::HashMap;
use std::path::Path;

use nutanix_config::{ChecksumType, ImageType, VmDisk};
use prism::models::{Checksum, ChecksumAlgorithm, Image};
use prism::{ImageSource, NewImage};

use super::upload::{upload_local_image, LocalImage};
use super::{Build, TASK_TIMEOUT};
use crate::error::BuildError;
use crate::ledger::{Entry, Kind, Stage};
use crate::state::{Named, SourceImage};

fn prism_type(t: ImageType) -> prism::models::ImageType {
    match t {
        ImageType::IsoImage => prism::models::ImageType::IsoImage,
        _ => prism::models::ImageType::DiskImage,
    }
}

fn source_of(image: &Image) -> SourceImage {
    SourceImage {
        image: Named {
            uuid: image.uuid().to_string(),
            name: image.name().to_string(),
        },
        size_bytes: image.size_bytes(),
    }
}

/// The last path segment of a URL or file path, without query or fragment: the image name the
/// Go plugin gives downloaded and uploaded images.
pub(crate) fn base_name(s: &str) -> String {
    let no_query = s.split(['?', '#']).next().unwrap_or(s);
    let trimmed = no_query.trim_end_matches(['/', '\\']);
    trimmed
        .rsplit(['/', '\\'])
        .next()
        .filter(|n| !n.is_empty())
        .unwrap_or(trimmed)
        .to_string()
}

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let cfg = b.cfg.clone();
    if cfg
        .vm
        .vm_disks
        .iter()
        .any(|d| d.image_type != Some(ImageType::Disk))
    {
        b.out.say("Preparing source images...").await;
    }
    let mut done: HashMap<String, SourceImage> = HashMap::new();
    let mut sources = Vec::new();
    for (i, d) in cfg.vm.vm_disks.iter().enumerate() {
        let Some(t @ (ImageType::DiskImage | ImageType::IsoImage)) = d.image_type else {
            sources.push(None);
            continue;
        };
        let key = format!(
            "{t}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}",
            d.source_image_uuid, d.source_image_name, d.source_image_uri, d.source_image_path
        );
        let source = match done.get(&key) {
            Some(s) => s.clone(),
            None => {
                let s = one_disk(b, i, d, t).await?;
                done.insert(key, s.clone());
                s
            }
        };
        b.out
            .message(format!(
                "Disk {}: {} from image '{}' ({})",
                i + 1,
                t,
                source.image.name,
                source.image.uuid
            ))
            .await;
        sources.push(Some(source));
    }
    b.st.disk_sources = sources;
    Ok(())
}

async fn one_disk(
    b: &Build,
    i: usize,
    d: &VmDisk,
    t: ImageType,
) -> Result<SourceImage, BuildError> {
    let step = format!("vm_disks[{i}]");
    if let Some(uuid) = &d.source_image_uuid {
        let image = b
            .cancellable(async {
                b.prism
                    .get_image(uuid)
                    .await
                    .map_err(|e| b.prism_err(&format!("{step}: looking up source_image_uuid"), e))
            })
            .await?;
        return Ok(source_of(&image));
    }
    if let Some(name) = &d.source_image_name {
        let ty = prism_type(t);
        let image = b
            .cancellable(async {
                b.prism
                    .image_by_name(name, Some(&ty))
                    .await
                    .map_err(|e| b.prism_err(&format!("{step}: looking up source_image_name"), e))
            })
            .await?;
        return Ok(source_of(&image));
    }
    if let Some(uri) = &d.source_image_uri {
        return from_uri(b, &step, d, uri, t).await;
    }
    if let Some(path) = &d.source_image_path {
        let (image, size) = upload_local_image(
            b,
            LocalImage {
                path: Path::new(path),
                name: base_name(path),
                image_type: prism_type(t),
                kind: Kind::SourceImage,
                delete_after: d.source_image_delete,
                attached: false,
            },
        )
        .await?;
        return Ok(SourceImage {
            image,
            size_bytes: Some(size),
        });
    }
    Err(BuildError::unexpected(step, "no source image is set"))
}

fn checksum_of(d: &VmDisk) -> Option<Checksum> {
    let value = d.source_image_checksum.clone()?;
    let algorithm = match d.source_image_checksum_type? {
        ChecksumType::Sha256 => ChecksumAlgorithm::Sha256,
        ChecksumType::Sha1 => ChecksumAlgorithm::Sha1,
    };
    Some(Checksum {
        checksum_algorithm: algorithm,
        checksum_value: value.to_ascii_lowercase(),
    })
}

/// An existing image can stand in for the download when it holds the same URL, has the right
/// type, is complete, and (when a checksum is given) carries that checksum.
fn reusable(
    image: &Image,
    uri: &str,
    t: &prism::models::ImageType,
    sum: Option<&Checksum>,
) -> bool {
    let complete = image
        .status
        .as_ref()
        .and_then(|s| s.state.as_deref())
        .is_none_or(|s| s == "COMPLETE");
    let same_sum = match (
        sum,
        image
            .status
            .as_ref()
            .and_then(|s| s.resources.checksum.as_ref()),
    ) {
        (Some(want), Some(have)) => {
            want.checksum_algorithm == have.checksum_algorithm
                && want
                    .checksum_value
                    .eq_ignore_ascii_case(&have.checksum_value)
        }
        _ => true,
    };
    image.source_uri() == Some(uri) && image.image_type() == Some(t) && complete && same_sum
}

async fn from_uri(
    b: &Build,
    step: &str,
    d: &VmDisk,
    uri: &str,
    t: ImageType,
) -> Result<SourceImage, BuildError> {
    let name = base_name(uri);
    let ty = prism_type(t);
    let sum = checksum_of(d);
    let existing: Vec<Image> = b
        .cancellable(async {
            b.prism
                .images_named(&name)
                .await
                .map_err(|e| b.prism_err(&format!("{step}: looking for an image of {uri}"), e))
        })
        .await?
        .into_iter()
        .filter(|img| reusable(img, uri, &ty, sum.as_ref()))
        .collect();
    if let Some(found) = existing.first() {
        if !d.source_image_force {
            b.out
                .message(format!(
                    "Reusing image '{}' ({}) already downloaded from {uri}",
                    found.name(),
                    found.uuid()
                ))
                .await;
            return Ok(source_of(found));
        }
        for old in &existing {
            b.out
                .message(format!(
                    "Deleting image '{}' ({}) to download {uri} again (source_image_force)",
                    old.name(),
                    old.uuid()
                ))
                .await;
            let wait = b.wait(TASK_TIMEOUT);
            b.prism
                .delete_image(old.uuid(), &wait)
                .await
                .map_err(|e| b.prism_err(&format!("{step}: deleting the old image"), e))?;
        }
    }

    let uuid = uuid::Uuid::new_v4().to_string();
    let mut entry = Entry::requested(Kind::SourceImage, &uuid, &name);
    entry.delete_after = d.source_image_delete;
    b.ledger.record(entry);
    b.out
        .message(format!(
            "Prism Central is downloading {uri} into image '{name}' ({uuid})..."
        ))
        .await;
    let new = NewImage {
        name: name.clone(),
        description: Some("added by Packer".to_string()),
        image_type: ty,
        source: ImageSource::Uri {
            uri: uri.to_string(),
            checksum: sum,
        },
        cluster_uuid: b.st.cluster.as_ref().map(|c| c.uuid.clone()),
        categories: Default::default(),
    };
    let create = format!("{step}: downloading {uri} into image '{name}'");
    let accepted = b
        .submit_create(&uuid, &create, b.prism.submit_image(&new, Some(&uuid)))
        .await?;
    b.wait_task(
        &accepted.task_uuid,
        &create,
        b.cfg.cluster.transfer_timeout(),
    )
    .await?;
    b.ledger.advance(&uuid, Stage::Ready);
    let image = b
        .prism
        .get_image(&uuid)
        .await
        .map_err(|e| b.prism_err(&create, e))?;
    Ok(source_of(&image))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_names_of_urls_and_paths() {
        assert_eq!(
            base_name("https://x.example/a/b/jammy.img?sig=1#f"),
            "jammy.img"
        );
        assert_eq!(base_name("/tmp/disk.qcow2"), "disk.qcow2");
        assert_eq!(base_name("C:\\isos\\win.iso"), "win.iso");
        assert_eq!(base_name("disk.raw"), "disk.raw");
    }
}
