//! What a build hands back to Packer: every image that survived the build (the Go plugin named
//! only the first disk's), the exported files, the generated data, and HCP Packer metadata.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use rmpv::Value;

use super::state::{ExportedFile, Named, OutputImage};

/// The Go plugin's builder id; post-processors match on it.
pub(crate) const BUILDER_ID: &str = "packer.nutanix";

/// The result of a build.
#[derive(Debug)]
pub(crate) struct NutanixArtifact {
    /// Images kept after the build, in disk order.
    pub(crate) images: Vec<OutputImage>,
    /// Exported files.
    pub(crate) files: Vec<ExportedFile>,
    /// The VM, when kept (`vm_retain`).
    pub(crate) vm: Option<Named>,
    /// The cluster the images were made on.
    pub(crate) cluster: Named,
    /// Generated data plus the provisioners' hook data (`generated_data` state).
    pub(crate) generated: BTreeMap<String, Value>,
    /// For Destroy.
    pub(crate) client: prism::PrismClient,
}

impl NutanixArtifact {
    /// True when the build produced nothing worth an artifact (`image_skip` and no other output).
    pub(crate) fn is_empty(&self) -> bool {
        self.images.is_empty() && self.files.is_empty() && self.vm.is_none()
    }
}

/// `Id`: the image UUIDs, comma-separated; without images, the kept VM's UUID.
pub(crate) fn artifact_id(images: &[OutputImage], vm: Option<&Named>) -> String {
    if images.is_empty() {
        return vm.map(|v| v.uuid.clone()).unwrap_or_default();
    }
    images
        .iter()
        .map(|i| i.image.uuid.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// `String`: what Packer prints under "Builds finished".
pub(crate) fn artifact_string(
    images: &[OutputImage],
    files: &[ExportedFile],
    vm: Option<&Named>,
    cluster: &Named,
) -> String {
    let mut lines = Vec::new();
    for i in images {
        lines.push(format!(
            "image '{}' ({}) on cluster {}",
            i.image.name, i.image.uuid, cluster.name
        ));
    }
    for f in files {
        lines.push(format!(
            "file {} ({} bytes, sha256 {})",
            f.path.display(),
            f.bytes,
            f.sha256
        ));
    }
    if let Some(v) = vm {
        lines.push(format!("VM '{}' ({}) retained", v.name, v.uuid));
    }
    if lines.is_empty() {
        return "no output".to_string();
    }
    lines.join("\n")
}

/// `par.artifact.metadata`: one HCP Packer image entry per image (keys of the SDK's
/// `registry/image.Image`).
pub(crate) fn hcp_metadata(images: &[OutputImage], cluster: &Named, vm: Option<&Named>) -> Value {
    let entries = images
        .iter()
        .map(|i| {
            let mut labels = vec![
                (Value::from("image_name"), Value::from(i.image.name.clone())),
                (
                    Value::from("cluster_uuid"),
                    Value::from(cluster.uuid.clone()),
                ),
                (
                    Value::from("disk_number"),
                    Value::from(i.disk_number.to_string()),
                ),
            ];
            if let Some(v) = vm {
                labels.push((Value::from("vm_name"), Value::from(v.name.clone())));
            }
            if let Some(size) = i.size_bytes {
                labels.push((Value::from("size_bytes"), Value::from(size.to_string())));
            }
            Value::Map(vec![
                (Value::from("ImageID"), Value::from(i.image.uuid.clone())),
                (Value::from("ProviderName"), Value::from("nutanix")),
                (
                    Value::from("ProviderRegion"),
                    Value::from(cluster.name.clone()),
                ),
                (
                    Value::from("SourceImageID"),
                    Value::from(i.source_image_uuid.clone().unwrap_or_default()),
                ),
                (Value::from("Labels"), Value::Map(labels)),
            ])
        })
        .collect();
    Value::Array(entries)
}

#[async_trait]
impl packer_rpc::Artifact for NutanixArtifact {
    fn builder_id(&self) -> String {
        BUILDER_ID.to_string()
    }

    fn files(&self) -> Vec<String> {
        self.files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect()
    }

    fn id(&self) -> String {
        artifact_id(&self.images, self.vm.as_ref())
    }

    fn string(&self) -> String {
        artifact_string(&self.images, &self.files, self.vm.as_ref(), &self.cluster)
    }

    fn state(&self, name: &str) -> Value {
        match name {
            "generated_data" => Value::Map(
                self.generated
                    .iter()
                    .map(|(k, v)| (Value::from(k.clone()), v.clone()))
                    .collect(),
            ),
            "par.artifact.metadata" => hcp_metadata(&self.images, &self.cluster, self.vm.as_ref()),
            _ => Value::Nil,
        }
    }

    async fn destroy(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for i in &self.images {
            let wait = prism::Wait::new(Duration::from_secs(600));
            if let Err(e) = self.client.delete_image(&i.image.uuid, &wait).await {
                problems.push(format!("image '{}' ({}): {e}", i.image.name, i.image.uuid));
            }
        }
        for f in &self.files {
            if let Err(e) = tokio::fs::remove_file(&f.path).await {
                if e.kind() != std::io::ErrorKind::NotFound {
                    problems.push(format!("file {}: {e}", f.path.display()));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("could not destroy: {}", problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn img(uuid: &str, name: &str, n: usize, src: Option<&str>) -> OutputImage {
        OutputImage {
            image: Named {
                uuid: uuid.into(),
                name: name.into(),
            },
            source_image_uuid: src.map(str::to_string),
            disk_number: n,
            size_bytes: Some(1024),
        }
    }

    fn cluster() -> Named {
        Named {
            uuid: "cl".into(),
            name: "PE-Cluster-1".into(),
        }
    }

    #[test]
    fn id_lists_every_image_and_string_names_each() {
        let images = [
            img("u1", "golden", 1, Some("src")),
            img("u2", "golden-disk2", 2, None),
        ];
        assert_eq!(artifact_id(&images, None), "u1,u2");
        let files = [ExportedFile {
            path: PathBuf::from("out/golden.img"),
            bytes: 5,
            sha256: "ab".into(),
        }];
        let s = artifact_string(&images, &files, None, &cluster());
        assert!(s.contains("image 'golden' (u1)"), "{s}");
        assert!(s.contains("image 'golden-disk2' (u2)"), "{s}");
        assert!(
            s.contains("file out/golden.img (5 bytes, sha256 ab)"),
            "{s}"
        );
        let vm = Named {
            uuid: "vm".into(),
            name: "v".into(),
        };
        assert_eq!(artifact_id(&[], Some(&vm)), "vm");
    }

    #[test]
    fn hcp_metadata_has_the_sdk_image_keys() {
        let v = hcp_metadata(&[img("u1", "golden", 1, Some("src"))], &cluster(), None);
        // Decoded by Packer with mapstructure into registry/image.Image.
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json[0]["ImageID"], "u1");
        assert_eq!(json[0]["ProviderName"], "nutanix");
        assert_eq!(json[0]["ProviderRegion"], "PE-Cluster-1");
        assert_eq!(json[0]["SourceImageID"], "src");
        assert_eq!(json[0]["Labels"]["image_name"], "golden");
        assert_eq!(json[0]["Labels"]["disk_number"], "1");
    }
}
