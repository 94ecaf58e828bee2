//! Images: the builder's inputs (source images, CD ISOs) and outputs (disk snapshots).

use serde::{Deserialize, Serialize};

use super::common::{ExecutionContext, Extra, MessageResource, Metadata, Reference};
use super::enums::{ChecksumAlgorithm, ImageType};

/// A checksum Prism verifies a source download against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checksum {
    /// Algorithm.
    pub checksum_algorithm: ChecksumAlgorithm,
    /// Lower-case hex digest.
    pub checksum_value: String,
}

/// `spec.resources` of an image: where its bytes come from and where it is placed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageResources {
    /// Disk or ISO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_type: Option<ImageType>,
    /// URL Prism downloads the image from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    /// Checksum of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
    /// An entity to copy the image from: a `vm_disk` for snapshot-to-image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source_reference: Option<Reference>,
    /// Clusters the image is placed on (without it Prism copies the image to every cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_placement_ref_list: Option<Vec<Reference>>,
    /// CPU architecture (`X86_64`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The desired state of an image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageSpec {
    /// Image name (not unique in Prism).
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Resources.
    #[serde(default)]
    pub resources: ImageResources,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `status.resources` of an image: what Prism actually holds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageStatusResources {
    /// Disk or ISO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_type: Option<ImageType>,
    /// Where it was downloaded from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    /// Checksum Prism computed or verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
    /// Size in bytes; the default size of a disk cloned from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// URLs the bytes can be fetched from.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retrieval_uri_list: Vec<String>,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The observed state of an image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageStatus {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `PENDING`, `COMPLETE`, `ERROR`...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// Errors when `state` is `ERROR`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub message_list: Vec<MessageResource>,
    /// The task carrying out the last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_context: Option<ExecutionContext>,
    /// Resources.
    #[serde(default)]
    pub resources: ImageStatusResources,
    /// Fields not modelled here.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An image as Prism returns it (GET, list entity, or create response).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Image {
    /// API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Metadata (uuid, spec_version, categories).
    #[serde(default)]
    pub metadata: Metadata,
    /// Desired state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<ImageSpec>,
    /// Observed state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ImageStatus>,
}

impl Image {
    /// UUID; `None` when Prism answered without one (the caller says which entity lacked it).
    pub fn uuid(&self) -> Option<&str> {
        self.metadata.uuid.as_deref().filter(|u| !u.is_empty())
    }

    /// Name from the spec, else the status, else the metadata.
    pub fn name(&self) -> &str {
        self.spec
            .as_ref()
            .map(|s| s.name.as_str())
            .filter(|n| !n.is_empty())
            .or_else(|| {
                self.status
                    .as_ref()
                    .map(|s| s.name.as_str())
                    .filter(|n| !n.is_empty())
            })
            .or(self.metadata.name.as_deref())
            .unwrap_or_default()
    }

    /// Size in bytes, if Prism reported it.
    pub fn size_bytes(&self) -> Option<u64> {
        self.status.as_ref()?.resources.size_bytes
    }

    /// Image type from the status, falling back to the spec.
    pub fn image_type(&self) -> Option<&ImageType> {
        self.status
            .as_ref()
            .and_then(|s| s.resources.image_type.as_ref())
            .or_else(|| self.spec.as_ref()?.resources.image_type.as_ref())
    }

    /// Source URI from the status, falling back to the spec.
    pub fn source_uri(&self) -> Option<&str> {
        self.status
            .as_ref()
            .and_then(|s| s.resources.source_uri.as_deref())
            .or_else(|| self.spec.as_ref()?.resources.source_uri.as_deref())
    }

    /// The task of the last change, from `status.execution_context`.
    pub fn task_uuid(&self) -> Option<&str> {
        self.status
            .as_ref()?
            .execution_context
            .as_ref()?
            .task_uuid()
    }
}

/// Body of `POST /images`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageIntentInput {
    /// Optional API version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Metadata; kind must be `image`.
    pub metadata: Metadata,
    /// The image to create.
    pub spec: ImageSpec,
}
