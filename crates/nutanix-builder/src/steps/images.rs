//! One image per data disk of the stopped VM (`image_name`, `image_name-disk2`, ...), created
//! in parallel, with `image_description` and `image_categories`, after the
//! `fail_if_image_exists` / `force_deregister` checks. Every image is in the ledger before it is
//! requested: a failed build deletes them all.

use prism::models::ImageType as PrismImageType;
use prism::{ImageSource, NewImage};

use crate::context::{Ctx, TASK_TIMEOUT};
use crate::entities::{BuiltVm, Named, OutputImage};
use crate::error::BuildError;
use crate::ledger::{Entry, Kind, Stage};
use crate::plan::{ExistingImages, ImagesPlan};

/// What one image is made from.
struct Planned {
    n: usize,
    name: String,
    uuid: String,
    disk_uuid: String,
    /// The disk's size: an image made from a disk has the disk's size.
    disk_size: Option<u64>,
    source_image_uuid: Option<String>,
}

/// The step: one image per data disk, in data disk order.
pub(crate) async fn run(
    b: &Ctx,
    plan: &ImagesPlan,
    vm: &BuiltVm,
) -> Result<Vec<OutputImage>, BuildError> {
    let vm_name = &vm.vm.name;
    if vm.data_disks.is_empty() {
        return Err(BuildError::unexpected(
            "creating images",
            format!("VM '{vm_name}' has no data disk to make an image from"),
        ));
    }
    let planned: Vec<Planned> = vm
        .data_disks
        .iter()
        .zip(&plan.names)
        .enumerate()
        .map(|(i, (disk, name))| Planned {
            n: i + 1,
            name: name.clone(),
            uuid: uuid::Uuid::new_v4().to_string(),
            disk_uuid: disk.uuid.clone(),
            disk_size: disk.size_bytes,
            source_image_uuid: disk.source_image.clone(),
        })
        .collect();
    b.out
        .say(format!(
            "Creating {} image(s) from the disks of VM '{vm_name}'...",
            planned.len()
        ))
        .await;

    for p in &planned {
        existing_name_rules(b, plan.existing, &p.name).await?;
    }

    for p in &planned {
        let mut entry = Entry::requested(Kind::OutputImage, &p.uuid, &p.name);
        entry.delete_after = plan.delete_after;
        b.ledger.record(entry);
    }
    let results = futures::future::join_all(planned.iter().map(|p| one_image(b, plan, p))).await;
    let mut images = Vec::new();
    for (p, r) in planned.iter().zip(results) {
        let size = r?;
        images.push(OutputImage {
            image: Named {
                uuid: p.uuid.clone(),
                name: p.name.clone(),
            },
            source_image_uuid: p.source_image_uuid.clone(),
            disk_number: p.n,
            size_bytes: size,
        });
    }
    for p in &planned {
        same_name_rivals(b, plan.existing, p).await?;
    }
    Ok(images)
}

/// Slack for comparing Prism's creation times (whole seconds) with our own clock.
const CLOCK_SLACK: chrono::Duration = chrono::Duration::seconds(2);

/// Another build with the same image_name makes images of the same name: Prism allows it, and
/// the images then cannot be told apart by name. After our image exists, look for others of
/// its name made since this build started (in Prism's clock: our image's creation time minus
/// how long the build has run): warn, or fail with `fail_if_image_exists`.
async fn same_name_rivals(b: &Ctx, rule: ExistingImages, p: &Planned) -> Result<(), BuildError> {
    let step = format!("checking for other images named '{}'", p.name);
    let listed = b.call(&step, b.prism.images_named(&p.name)).await?;
    let created = |i: &prism::models::Image| {
        i.metadata
            .creation_time
            .as_deref()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    let ours = listed
        .iter()
        .find(|i| i.uuid() == Some(p.uuid.as_str()))
        .and_then(created);
    let ran = chrono::Duration::from_std(b.started.elapsed()).unwrap_or(chrono::TimeDelta::MAX);
    let since = ours.and_then(|t| t.checked_sub_signed(ran + CLOCK_SLACK));
    let others: Vec<&str> = listed
        .iter()
        .filter_map(|i| i.uuid().filter(|u| *u != p.uuid))
        .collect();
    if rule == ExistingImages::Fail && !others.is_empty() {
        let uuids = &others;
        return Err(BuildError::unexpected(
            "fail_if_image_exists",
            format!(
                "another image named {} appeared while this build ran ({}); please use a unique name",
                p.name,
                uuids.join(", ")
            ),
        ));
    }
    let rivals: Vec<String> = listed
        .iter()
        .filter(|i| matches!((created(i), since), (Some(t), Some(s)) if t >= s))
        .filter_map(|i| i.uuid().filter(|u| *u != p.uuid).map(str::to_string))
        .collect();
    if !rivals.is_empty() {
        b.out
            .error(format!(
                "Warning: {} other image(s) named '{}' appeared while this build ran ({}); another build may be using the same image_name. This build's image is {}",
                rivals.len(),
                p.name,
                rivals.join(", "),
                p.uuid
            ))
            .await;
    }
    Ok(())
}

/// `fail_if_image_exists` and `force_deregister`, with the Go plugin's wording.
async fn existing_name_rules(b: &Ctx, rule: ExistingImages, name: &str) -> Result<(), BuildError> {
    if rule == ExistingImages::Allow {
        return Ok(());
    }
    let step = format!("checking for existing images named '{name}'");
    let existing = b.call(&step, b.prism.images_named(name)).await?;
    if rule == ExistingImages::Fail && !existing.is_empty() {
        let uuids: Vec<&str> = existing.iter().filter_map(|i| i.uuid()).collect();
        let message = if existing.len() == 1 {
            format!(
                "one image with name {name} found ({}), please use a unique name",
                uuids.join(", ")
            )
        } else {
            format!(
                "more than one image with name {name} found ({}), please use a unique name",
                uuids.join(", ")
            )
        };
        return Err(BuildError::unexpected("fail_if_image_exists", message));
    }
    match existing.as_slice() {
        [] => Ok(()),
        [one] => {
            let one = Named::of(&step, one.uuid(), one.name())?;
            b.out
                .message(format!(
                    "Deleting existing image '{name}' ({}) (force_deregister)",
                    one.uuid
                ))
                .await;
            let wait = b.wait(TASK_TIMEOUT);
            b.prism
                .delete_image(&one.uuid, &wait)
                .await
                .map_err(|e| b.prism_err(&format!("deleting existing image '{name}'"), e))
        }
        many => {
            b.out
                .message(format!(
                    "{} images are named '{name}': force_deregister deletes only a unique match, so none is deleted",
                    many.len()
                ))
                .await;
            Ok(())
        }
    }
}

/// Requests one image and waits for it; returns its size (the disk's).
async fn one_image(b: &Ctx, plan: &ImagesPlan, p: &Planned) -> Result<Option<u64>, BuildError> {
    let new = NewImage {
        name: p.name.clone(),
        description: Some(plan.description.clone()),
        image_type: PrismImageType::DiskImage,
        source: ImageSource::VmDisk {
            disk_uuid: p.disk_uuid.clone(),
        },
        cluster_uuid: None,
        categories: plan.categories.clone(),
    };
    let step = format!("creating image '{}' from disk {}", p.name, p.n);
    let accepted = b
        .submit_create(&p.uuid, &step, b.prism.submit_image(&new, Some(&p.uuid)))
        .await?;
    b.wait_task(&accepted.task_uuid, &step, b.transfer_timeout)
        .await?;
    b.ledger.advance(&p.uuid, Stage::Ready);
    b.out
        .message(format!("Image '{}' ({}) is ready", p.name, p.uuid))
        .await;
    Ok(p.disk_size)
}
