//! Images: create (from a URL, empty for upload, from a VM disk), look up, delete.

use std::collections::BTreeMap;

use reqwest::Method;

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::lookup::LookupSpec;
use crate::models::{
    Checksum, Image, ImageIntentInput, ImageResources, ImageSpec, ImageType, Metadata, Reference,
};
use crate::tasks::Wait;
use crate::transport::Retry;

/// Where a new image's bytes come from.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageSource {
    /// Prism downloads from a URL, optionally verifying a checksum.
    Uri {
        /// The URL.
        uri: String,
        /// Checksum Prism verifies.
        checksum: Option<Checksum>,
    },
    /// No bytes yet: the caller uploads them with [`PrismClient::upload_image_file`].
    Upload,
    /// A copy of a VM disk (snapshot-to-image).
    VmDisk {
        /// The `vm_disk` uuid from the VM's `disk_list`.
        disk_uuid: String,
    },
}

/// What the builder asks for when it creates an image.
#[derive(Debug, Clone, PartialEq)]
pub struct NewImage {
    /// Name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Disk or ISO.
    pub image_type: ImageType,
    /// Where the bytes come from.
    pub source: ImageSource,
    /// Cluster to place the image on (without it Prism copies it everywhere).
    pub cluster_uuid: Option<String>,
    /// Image categories (one value per key: images use old-style `categories`).
    pub categories: BTreeMap<String, String>,
}

impl NewImage {
    /// The `POST /images` body.
    pub fn to_intent(&self) -> ImageIntentInput {
        let mut resources = ImageResources {
            image_type: Some(self.image_type.clone()),
            ..ImageResources::default()
        };
        match &self.source {
            ImageSource::Uri { uri, checksum } => {
                resources.source_uri = Some(uri.clone());
                resources.checksum = checksum.clone();
            }
            ImageSource::Upload => {}
            ImageSource::VmDisk { disk_uuid } => {
                resources.data_source_reference = Some(Reference::new("vm_disk", disk_uuid));
            }
        }
        if let Some(cluster) = &self.cluster_uuid {
            resources.initial_placement_ref_list = Some(vec![Reference::new("cluster", cluster)]);
        }
        let mut metadata = Metadata::of_kind("image");
        if !self.categories.is_empty() {
            metadata.categories = Some(self.categories.clone());
        }
        ImageIntentInput {
            api_version: None,
            metadata,
            spec: ImageSpec {
                name: self.name.clone(),
                description: self.description.clone(),
                resources,
                extra: Default::default(),
            },
        }
    }
}

fn lookup_spec() -> LookupSpec<'static, Image> {
    LookupSpec {
        label: "image",
        kind: "image",
        path: &["images", "list"],
        scope: None,
        name_of: Image::name,
        uuid_of: Image::uuid,
    }
}

impl PrismClient {
    /// Every image, or those matching a FIQL `filter`.
    pub async fn list_images(&self, filter: Option<&str>) -> Result<Vec<Image>, PrismError> {
        self.list_all(
            "list images",
            "image",
            &["images", "list"],
            filter.map(str::to_string),
        )
        .await
    }

    /// `GET /images/{uuid}`.
    pub async fn get_image(&self, uuid: &str) -> Result<Image, PrismError> {
        self.get_json(&format!("get image {uuid}"), &["images", uuid])
            .await
    }

    /// Every image named exactly `name` (not memoised: used for duplicate checks).
    pub async fn images_named(&self, name: &str) -> Result<Vec<Image>, PrismError> {
        self.find_exact(&lookup_spec(), name, |_: &Image| true)
            .await
    }

    /// The image named exactly `name`, optionally of one type (names often repeat across
    /// an ISO and a disk). Memoised; creating or deleting an image through this client
    /// forgets the name.
    pub async fn image_by_name(
        &self,
        name: &str,
        image_type: Option<&ImageType>,
    ) -> Result<Image, PrismError> {
        let key = format!(
            "{name}\u{0}{}",
            image_type.map(ImageType::as_str).unwrap_or("")
        );
        if let Some(hit) = self.memo(|m| m.images.get(&key).cloned()) {
            return Ok(hit);
        }
        let image = self
            .find_unique(&lookup_spec(), name, |i: &Image| match image_type {
                Some(t) => i.image_type() == Some(t),
                None => true,
            })
            .await?;
        self.memo(|m| m.images.insert(key, image.clone()));
        Ok(image)
    }

    pub(crate) fn forget_image_name(&self, name: &str) {
        let prefix = format!("{name}\u{0}");
        self.memo(|m| m.images.retain(|k, _| !k.starts_with(&prefix)));
    }

    /// Creates an image, waits for its task, and returns it as Prism now reports it.
    ///
    /// The POST is sent once (see [`crate::transport`]): if the connection drops after
    /// sending, [`PrismError::CreateOutcomeUnknown`] tells the caller to check by name.
    pub async fn create_image(&self, new: &NewImage, wait: &Wait) -> Result<Image, PrismError> {
        let accepted = self.submit_image(new, None).await?;
        let op = format!("create image '{}'", new.name);
        self.wait_task_with(&accepted.task_uuid, &op, wait).await?;
        self.get_image(&accepted.uuid).await
    }

    /// Deletes an image and waits for the deletion task. An image that is already gone
    /// (HTTP 404) counts as deleted, so cleanup can be repeated safely.
    pub async fn delete_image(&self, uuid: &str, wait: &Wait) -> Result<(), PrismError> {
        let op = format!("delete image {uuid}");
        self.memo(|m| m.images.retain(|_, i| i.uuid() != Some(uuid)));
        self.delete_entity(&op, &["images", uuid], wait).await
    }

    /// DELETE + wait, shared by images, VMs and OVAs.
    pub(crate) async fn delete_entity(
        &self,
        op: &str,
        segments: &[&str],
        wait: &Wait,
    ) -> Result<(), PrismError> {
        let answer = self
            .send(
                op,
                Method::DELETE,
                self.url(segments),
                None,
                Retry::Idempotent,
            )
            .await;
        let bytes = match answer {
            Ok(bytes) => bytes,
            Err(e) if e.is_not_found() => {
                tracing::info!(op, "already gone");
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        // VMs and images answer with the v3 intent shape, OVAs with a bare `task_uuid`.
        match super::ovas::answer_task_uuid(&bytes) {
            Some(task) => {
                self.wait_task_with(&task, op, wait).await?;
            }
            None => tracing::warn!(op, "Prism returned no deletion task; not waiting"),
        }
        Ok(())
    }
}
