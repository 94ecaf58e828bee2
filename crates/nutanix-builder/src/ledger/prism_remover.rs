//! Deleting for real: a Prism deletion awaited with a deadline, or a local file; an output whose
//! id Prism picks is found by its task, name and source VM first.

use std::time::Duration;

use async_trait::async_trait;

use super::cleanup::Remover;
use super::{kind_word, Entry, Kind, Pending};

/// The real remover: Prism deletions awaited with a deadline, and local files.
pub(crate) struct PrismRemover {
    /// The build's client.
    pub(crate) client: prism::PrismClient,
    /// Longest wait for one deletion task.
    pub(crate) timeout: Duration,
}

#[async_trait]
impl Remover for PrismRemover {
    async fn remove(&self, entry: &Entry) -> Result<(), String> {
        // A fresh token: cleanup runs after a cancel too, and must not be cancelled by it.
        let wait = prism::Wait::new(self.timeout);
        if let Some(pending) = &entry.pending {
            return self.remove_pending(entry, pending, &wait).await;
        }
        let result = match entry.kind {
            Kind::Vm => self.client.delete_vm(&entry.id, &wait).await,
            Kind::SourceImage | Kind::CdImage | Kind::OutputImage => {
                self.client.delete_image(&entry.id, &wait).await
            }
            Kind::Template => self.client.delete_template(&entry.id, &wait).await,
            Kind::Ova => self.client.delete_ova(&entry.id, &wait).await,
            Kind::LocalFile => {
                return match tokio::fs::remove_file(&entry.id).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        result.map_err(|e| e.to_string())
    }
}

impl PrismRemover {
    /// An output whose UUID the build never learnt: let its task end (so nothing appears after
    /// cleanup), then delete whatever it made, found by name and, for OVAs, by source VM.
    async fn remove_pending(
        &self,
        entry: &Entry,
        pending: &Pending,
        wait: &prism::Wait,
    ) -> Result<(), String> {
        if let Some(task) = &pending.task_uuid {
            let purpose = format!("creating {} '{}'", kind_word(entry.kind), entry.name);
            match self.client.wait_task_with(task, &purpose, wait).await {
                Ok(_) | Err(prism::PrismError::TaskFailed { .. }) => {}
                Err(e) => return Err(format!("its creation task {task} did not end: {e}")),
            }
        }
        let made: Vec<String> = match entry.kind {
            Kind::Template => self
                .client
                .templates_named(&entry.name)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|t| t.ext_id)
                .filter(|id| !pending.known_before.contains(id))
                .collect(),
            Kind::Ova => self
                .client
                .ovas_named(&entry.name)
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|o| o.parent_vm_uuid.as_deref() == Some(pending.vm_uuid.as_str()))
                .map(|o| o.uuid)
                .filter(|id| !pending.known_before.contains(id))
                .collect(),
            _ => Vec::new(),
        };
        for id in made {
            let result = match entry.kind {
                Kind::Template => self.client.delete_template(&id, wait).await,
                _ => self.client.delete_ova(&id, wait).await,
            };
            result.map_err(|e| format!("{id}: {e}"))?;
        }
        Ok(())
    }
}
