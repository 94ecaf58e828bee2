//! Packer's `Artifact`: what a build produced, served on its own broker stream for as long as
//! Packer lives (post-processors and HCP Packer query it after Run returns).

use std::sync::Arc;

use rmpv::Value;

use crate::codec::NIL_BODY;
use crate::msgpack::{view, Writer};
use crate::server::{CallError, Service};

/// The result of a successful build, as Packer queries it.
#[async_trait::async_trait]
pub trait Artifact: Send + Sync + 'static {
    /// The builder's unique id (post-processors check it to accept an artifact).
    fn builder_id(&self) -> String;
    /// Local files that make up the artifact (often none for cloud images).
    fn files(&self) -> Vec<String>;
    /// The artifact's id (for Nutanix, the image UUID or UUIDs).
    fn id(&self) -> String;
    /// A human-readable description Packer prints at the end of the build.
    fn string(&self) -> String;
    /// Named extra data: `generated_data` (must be a map), `par.artifact.metadata` (HCP Packer).
    /// Nil when unknown.
    fn state(&self, name: &str) -> Value;
    /// Deletes the artifact (`packer build` on a failed post-processor with keep_input_artifact
    /// false). A failure is reported to Packer as the RPC error string.
    async fn destroy(&self) -> Result<(), String>;
}

/// The `Artifact` service.
pub(crate) struct ArtifactService {
    artifact: Arc<dyn Artifact>,
}

impl ArtifactService {
    pub(crate) fn new(artifact: Arc<dyn Artifact>) -> Self {
        Self { artifact }
    }
}

fn finish(w: Writer) -> Result<Vec<u8>, CallError> {
    w.finish().map_err(CallError::failed)
}

#[async_trait::async_trait]
impl Service for ArtifactService {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        let a = &self.artifact;
        let mut w = Writer::new();
        match method {
            "BuilderId" => {
                w.str(&a.builder_id());
            }
            "Files" => {
                let files = a.files();
                // Go builders return a nil slice for "no files"; Packer reads both the same.
                w.strings(if files.is_empty() { None } else { Some(&files) });
            }
            "Id" => {
                w.str(&a.id());
            }
            "String" => {
                w.str(&a.string());
            }
            "State" => {
                let name = view::string("Artifact.State name", &args).map_err(CallError::failed)?;
                w.value(&a.state(&name));
            }
            "Destroy" => {
                a.destroy().await.map_err(CallError::Failed)?;
                return Ok(NIL_BODY.to_vec());
            }
            _ => return Err(CallError::NoMethod),
        }
        finish(w)
    }
}
