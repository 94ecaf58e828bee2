//! What a build hands back to Packer: every image that survived the build (the Go plugin named
//! only the first disk's), the exported files, the generated data, and HCP Packer metadata.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use rmpv::Value;

use crate::entities::{ExportedFile, Named, OutputImage};
use crate::ledger::{Entry, Kind, PrismRemover, Remover};

/// Longest wait for one deletion when Packer destroys the artifact.
const DESTROY_TIMEOUT: Duration = Duration::from_secs(600);

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
    /// The VM template (`template { create = true }`).
    pub(crate) template: Option<Named>,
    /// The OVA on Prism Central (`ova { create = true }`).
    pub(crate) ova: Option<Named>,
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
        self.images.is_empty()
            && self.files.is_empty()
            && self.vm.is_none()
            && self.template.is_none()
            && self.ova.is_none()
    }

    /// Everything the artifact names on Prism Central, for Id, String and HCP metadata.
    fn outputs(&self) -> Outputs<'_> {
        Outputs {
            images: &self.images,
            files: &self.files,
            vm: self.vm.as_ref(),
            template: self.template.as_ref(),
            ova: self.ova.as_ref(),
        }
    }
}

/// A borrowed view of what a build produced.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Outputs<'a> {
    /// Images, in disk order.
    pub(crate) images: &'a [OutputImage],
    /// Exported files.
    pub(crate) files: &'a [ExportedFile],
    /// The kept VM.
    pub(crate) vm: Option<&'a Named>,
    /// The VM template.
    pub(crate) template: Option<&'a Named>,
    /// The OVA.
    pub(crate) ova: Option<&'a Named>,
}

/// `Id`: the image UUIDs, comma-separated; without images, the template's id, else the OVA's,
/// else the kept VM's.
pub(crate) fn artifact_id(o: Outputs<'_>) -> String {
    if !o.images.is_empty() {
        return o
            .images
            .iter()
            .map(|i| i.image.uuid.as_str())
            .collect::<Vec<_>>()
            .join(",");
    }
    o.template
        .or(o.ova)
        .or(o.vm)
        .map(|n| n.uuid.clone())
        .unwrap_or_default()
}

/// `String`: what Packer prints under "Builds finished".
pub(crate) fn artifact_string(o: Outputs<'_>, cluster: &Named) -> String {
    let mut lines = Vec::new();
    for i in o.images {
        lines.push(format!(
            "image '{}' ({}) on cluster {}",
            i.image.name, i.image.uuid, cluster.name
        ));
    }
    if let Some(t) = o.template {
        lines.push(format!("VM template '{}' ({})", t.name, t.uuid));
    }
    if let Some(a) = o.ova {
        lines.push(format!("OVA '{}' ({}) on Prism Central", a.name, a.uuid));
    }
    for f in o.files {
        lines.push(format!(
            "file {} ({} bytes, sha256 {})",
            f.path.display(),
            f.bytes,
            f.sha256
        ));
    }
    if let Some(v) = o.vm {
        lines.push(format!("VM '{}' ({}) retained", v.name, v.uuid));
    }
    if lines.is_empty() {
        return "no output".to_string();
    }
    lines.join("\n")
}

/// `par.artifact.metadata`: one HCP Packer image entry per image, then one for the template and
/// one for the OVA (keys of the SDK's `registry/image.Image`; `Labels.kind` tells them apart).
pub(crate) fn hcp_metadata(o: Outputs<'_>, cluster: &Named) -> Value {
    let common = |kind: &str, name: &str| {
        let mut labels = vec![
            (Value::from("kind"), Value::from(kind)),
            (Value::from("image_name"), Value::from(name)),
            (
                Value::from("cluster_uuid"),
                Value::from(cluster.uuid.clone()),
            ),
        ];
        if let Some(v) = o.vm {
            labels.push((Value::from("vm_name"), Value::from(v.name.clone())));
        }
        labels
    };
    let entry = |id: &str, source: &str, labels: Vec<(Value, Value)>| {
        Value::Map(vec![
            (Value::from("ImageID"), Value::from(id)),
            (Value::from("ProviderName"), Value::from("nutanix")),
            (
                Value::from("ProviderRegion"),
                Value::from(cluster.name.clone()),
            ),
            (Value::from("SourceImageID"), Value::from(source)),
            (Value::from("Labels"), Value::Map(labels)),
        ])
    };
    let first_source = o
        .images
        .first()
        .and_then(|i| i.source_image_uuid.as_deref())
        .unwrap_or_default();
    let mut entries: Vec<Value> = o
        .images
        .iter()
        .map(|i| {
            let mut labels = common("image", &i.image.name);
            labels.push((
                Value::from("disk_number"),
                Value::from(i.disk_number.to_string()),
            ));
            if let Some(size) = i.size_bytes {
                labels.push((Value::from("size_bytes"), Value::from(size.to_string())));
            }
            entry(
                &i.image.uuid,
                i.source_image_uuid.as_deref().unwrap_or_default(),
                labels,
            )
        })
        .collect();
    if let Some(t) = o.template {
        entries.push(entry(&t.uuid, first_source, common("vm_template", &t.name)));
    }
    if let Some(a) = o.ova {
        entries.push(entry(&a.uuid, first_source, common("ova", &a.name)));
    }
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
        artifact_id(self.outputs())
    }

    fn string(&self) -> String {
        artifact_string(self.outputs(), &self.cluster)
    }

    fn state(&self, name: &str) -> Value {
        match name {
            "generated_data" => Value::Map(
                self.generated
                    .iter()
                    .map(|(k, v)| (Value::from(k.clone()), v.clone()))
                    .collect(),
            ),
            "par.artifact.metadata" => hcp_metadata(self.outputs(), &self.cluster),
            _ => Value::Nil,
        }
    }

    async fn destroy(&self) -> Result<(), String> {
        // The same deletions cleanup does, by the same rules of "already gone".
        let remover = PrismRemover {
            client: self.client.clone(),
            timeout: DESTROY_TIMEOUT,
        };
        let named = |kind, n: &Named| Entry::requested(kind, &n.uuid, &n.name);
        let entries = self
            .images
            .iter()
            .map(|i| named(Kind::OutputImage, &i.image))
            .chain(self.template.iter().map(|t| named(Kind::Template, t)))
            .chain(self.ova.iter().map(|a| named(Kind::Ova, a)))
            .chain(self.files.iter().map(|f| {
                let path = f.path.display().to_string();
                Entry::requested(Kind::LocalFile, &path, &path)
            }));
        let mut problems = Vec::new();
        for entry in entries {
            if let Err(e) = remover.remove(&entry).await {
                problems.push(format!("{entry}: {e}"));
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
        let o = Outputs {
            images: &images,
            ..Outputs::default()
        };
        assert_eq!(artifact_id(o), "u1,u2");
        let files = [ExportedFile {
            path: PathBuf::from("out/golden.img"),
            bytes: 5,
            sha256: "ab".into(),
        }];
        let s = artifact_string(Outputs { files: &files, ..o }, &cluster());
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
        let kept_vm = Outputs {
            vm: Some(&vm),
            ..Outputs::default()
        };
        assert_eq!(artifact_id(kept_vm), "vm");
        let template = Named {
            uuid: "tpl".into(),
            name: "golden-tpl".into(),
        };
        let ova = Named {
            uuid: "ova".into(),
            name: "golden-ova".into(),
        };
        let no_images = Outputs {
            template: Some(&template),
            ova: Some(&ova),
            ..kept_vm
        };
        assert_eq!(artifact_id(no_images), "tpl");
        let s = artifact_string(no_images, &cluster());
        assert!(s.contains("VM template 'golden-tpl' (tpl)"), "{s}");
        assert!(s.contains("OVA 'golden-ova' (ova) on Prism Central"), "{s}");
        assert!(s.contains("VM 'v' (vm) retained"), "{s}");
    }

    #[test]
    fn hcp_metadata_has_the_sdk_image_keys() {
        let images = [img("u1", "golden", 1, Some("src"))];
        let template = Named {
            uuid: "tpl".into(),
            name: "golden-tpl".into(),
        };
        let o = Outputs {
            images: &images,
            template: Some(&template),
            ..Outputs::default()
        };
        let v = hcp_metadata(o, &cluster());
        // Decoded by Packer with mapstructure into registry/image.Image.
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json[0]["ImageID"], "u1");
        assert_eq!(json[0]["ProviderName"], "nutanix");
        assert_eq!(json[0]["ProviderRegion"], "PE-Cluster-1");
        assert_eq!(json[0]["SourceImageID"], "src");
        assert_eq!(json[0]["Labels"]["image_name"], "golden");
        assert_eq!(json[0]["Labels"]["disk_number"], "1");
        assert_eq!(json[0]["Labels"]["kind"], "image");
        assert_eq!(json[1]["ImageID"], "tpl");
        assert_eq!(json[1]["SourceImageID"], "src");
        assert_eq!(json[1]["Labels"]["kind"], "vm_template");
        assert_eq!(json.as_array().unwrap().len(), 2);
    }
}
