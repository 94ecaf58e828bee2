//! The image behind each `vm_disks` entry: an existing one (by name, typed, or by UUID), one
//! Prism downloads from `source_image_uri` (reused when it already holds that URL, unless
//! `source_image_force`), or a local `source_image_path` uploaded with a progress bar. Images
//! the build creates go into the ledger before they are requested.

use prism::models::{Checksum, Image, ImageType as PrismImageType};
use prism::NewImage;

use super::local_upload::{upload_local_image, LocalImage};
use crate::context::{Ctx, TASK_TIMEOUT};
use crate::entities::{Named, SourceImage};
use crate::error::BuildError;
use crate::ledger::{Entry, Kind, Stage};
use crate::plan::{Disk, ImageSource, Ref};

fn source_of(what: &str, image: &Image) -> Result<SourceImage, BuildError> {
    Ok(SourceImage {
        image: Named::of(what, image.uuid(), image.name())?,
        size_bytes: image.size_bytes(),
    })
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

/// The step: every disk with the image it will be cloned from or backed by. Disks with the same
/// source share one image.
pub(crate) async fn run(
    ctx: &Ctx,
    disks: &[Disk],
    cluster: &Named,
) -> Result<Vec<Disk<SourceImage>>, BuildError> {
    if disks.iter().any(|d| d.image().is_some()) {
        ctx.out.say("Preparing source images...").await;
    }
    let mut found = Found {
        ctx,
        cluster,
        done: Vec::new(),
    };
    let mut out = Vec::new();
    for (i, disk) in disks.iter().enumerate() {
        out.push(match disk {
            Disk::Empty {
                size_gib,
                storage_container,
            } => Disk::Empty {
                size_gib: *size_gib,
                storage_container: storage_container.clone(),
            },
            Disk::Cloned { image, size_gib } => Disk::Cloned {
                image: found.image(i, image, PrismImageType::DiskImage).await?,
                size_gib: *size_gib,
            },
            Disk::Cdrom { image } => Disk::Cdrom {
                image: found.image(i, image, PrismImageType::IsoImage).await?,
            },
        });
    }
    Ok(out)
}

/// The images found or made so far.
struct Found<'a> {
    ctx: &'a Ctx,
    cluster: &'a Named,
    done: Vec<(&'a ImageSource, SourceImage)>,
}

impl<'a> Found<'a> {
    /// The image of disk `i`, found or made once per source.
    async fn image(
        &mut self,
        i: usize,
        source: &'a ImageSource,
        image_type: PrismImageType,
    ) -> Result<SourceImage, BuildError> {
        let known = self.done.iter().find(|(s, _)| s.same_image(source));
        let image = match known {
            Some((_, image)) => image.clone(),
            None => {
                let image = one_image(self.ctx, i, source, &image_type, self.cluster).await?;
                self.done.push((source, image.clone()));
                image
            }
        };
        let label = match image_type {
            PrismImageType::IsoImage => "ISO_IMAGE",
            _ => "DISK_IMAGE",
        };
        self.ctx
            .out
            .message(format!(
                "Disk {}: {label} from image '{}' ({})",
                i + 1,
                image.image.name,
                image.image.uuid
            ))
            .await;
        Ok(image)
    }
}

async fn one_image(
    ctx: &Ctx,
    i: usize,
    source: &ImageSource,
    image_type: &PrismImageType,
    cluster: &Named,
) -> Result<SourceImage, BuildError> {
    let step = format!("vm_disks[{i}]");
    match source {
        ImageSource::Existing(Ref::Uuid(uuid)) => {
            let what = format!("{step}: looking up source_image_uuid");
            let image = ctx.call(&what, ctx.prism.get_image(uuid)).await?;
            source_of(&what, &image)
        }
        ImageSource::Existing(Ref::Name(name)) => {
            let what = format!("{step}: looking up source_image_name");
            let image = ctx
                .call(&what, ctx.prism.image_by_name(name, Some(image_type)))
                .await?;
            source_of(&what, &image)
        }
        ImageSource::Uri {
            uri,
            checksum,
            force,
            delete_after,
        } => {
            let download = Download {
                uri,
                checksum: checksum.as_ref(),
                force: *force,
                delete_after: *delete_after,
                image_type,
                cluster,
            };
            from_uri(ctx, &step, download).await
        }
        ImageSource::Local { path, delete_after } => {
            let (image, size) = upload_local_image(
                ctx,
                LocalImage {
                    path,
                    name: base_name(&path.to_string_lossy()),
                    image_type: image_type.clone(),
                    kind: Kind::SourceImage,
                    delete_after: *delete_after,
                    attached: false,
                    cluster: &cluster.uuid,
                },
            )
            .await?;
            Ok(SourceImage {
                image,
                size_bytes: Some(size),
            })
        }
    }
}

/// An existing image can stand in for the download when it holds the same URL, has the right
/// type, is complete, and (when a checksum is given) carries that checksum.
fn reusable(image: &Image, uri: &str, t: &PrismImageType, sum: Option<&Checksum>) -> bool {
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

/// A `source_image_uri` to have Prism download.
struct Download<'a> {
    uri: &'a str,
    checksum: Option<&'a Checksum>,
    force: bool,
    delete_after: bool,
    image_type: &'a PrismImageType,
    cluster: &'a Named,
}

async fn from_uri(ctx: &Ctx, step: &str, d: Download<'_>) -> Result<SourceImage, BuildError> {
    let uri = d.uri;
    let name = base_name(uri);
    let existing: Vec<Image> = ctx
        .call(
            &format!("{step}: looking for an image of {uri}"),
            ctx.prism.images_named(&name),
        )
        .await?
        .into_iter()
        .filter(|img| reusable(img, uri, d.image_type, d.checksum))
        .collect();
    if let Some(found) = existing.first() {
        if !d.force {
            let what = format!("{step}: reusing an image of {uri}");
            let found = source_of(&what, found)?;
            ctx.out
                .message(format!(
                    "Reusing image '{}' ({}) already downloaded from {uri}",
                    found.image.name, found.image.uuid
                ))
                .await;
            return Ok(found);
        }
        for old in &existing {
            let Some(old_uuid) = old.uuid() else { continue };
            ctx.out
                .message(format!(
                    "Deleting image '{}' ({old_uuid}) to download {uri} again (source_image_force)",
                    old.name(),
                ))
                .await;
            let wait = ctx.wait(TASK_TIMEOUT);
            ctx.prism
                .delete_image(old_uuid, &wait)
                .await
                .map_err(|e| ctx.prism_err(&format!("{step}: deleting the old image"), e))?;
        }
    }

    let uuid = uuid::Uuid::new_v4().to_string();
    let mut entry = Entry::requested(Kind::SourceImage, &uuid, &name);
    entry.delete_after = d.delete_after;
    ctx.ledger.record(entry);
    ctx.out
        .message(format!(
            "Prism Central is downloading {uri} into image '{name}' ({uuid})..."
        ))
        .await;
    let new = NewImage {
        name: name.clone(),
        description: Some("added by Packer".to_string()),
        image_type: d.image_type.clone(),
        source: prism::ImageSource::Uri {
            uri: uri.to_string(),
            checksum: d.checksum.cloned(),
        },
        cluster_uuid: Some(d.cluster.uuid.clone()),
        categories: Default::default(),
    };
    let create = format!("{step}: downloading {uri} into image '{name}'");
    let accepted = ctx
        .submit_create(&uuid, &create, ctx.prism.submit_image(&new, Some(&uuid)))
        .await?;
    ctx.wait_task(&accepted.task_uuid, &create, ctx.transfer_timeout)
        .await?;
    ctx.ledger.advance(&uuid, Stage::Ready);
    let image = ctx.call(&create, ctx.prism.get_image(&uuid)).await?;
    source_of(&create, &image)
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
