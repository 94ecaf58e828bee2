//! Hosts and their GPUs.

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::models::{GpuVendor, Host, HostGpu, ListRequest, ListResponse, VmGpu};

/// A GPU found in the inventory, with the host that has it.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuMatch {
    /// Host UUID.
    pub host_uuid: String,
    /// Cluster of the host, when Prism says.
    pub cluster_uuid: Option<String>,
    /// The GPU.
    pub gpu: HostGpu,
}

impl GpuMatch {
    /// The `gpu_list` entry that requests this GPU for a VM.
    pub fn to_vm_gpu(&self) -> VmGpu {
        VmGpu {
            device_id: self.gpu.device_id,
            vendor: self.gpu.vendor.as_ref().map(normalize_vendor),
            mode: self.gpu.mode.clone(),
            extra: Default::default(),
        }
    }
}

/// Host inventories report vendors in Prism's internal spelling (`kNvidia`), while a VM's
/// `gpu_list` takes the API enum (`NVIDIA`); the v4 Go plugin maps them the same way.
pub fn normalize_vendor(vendor: &GpuVendor) -> GpuVendor {
    match vendor {
        GpuVendor::Other(raw) => match raw.to_ascii_lowercase().trim_start_matches('k') {
            "nvidia" => GpuVendor::Nvidia,
            "intel" => GpuVendor::Intel,
            "amd" => GpuVendor::Amd,
            _ => vendor.clone(),
        },
        known => known.clone(),
    }
}

impl PrismClient {
    /// Every host. The first request is `{"kind":"host"}` as the Go client sends it (some PCs
    /// reject paging on hosts); further pages are asked for only if Prism says there are more.
    pub async fn list_hosts(&self) -> Result<Vec<Host>, PrismError> {
        let op = "list hosts";
        let first = ListRequest {
            kind: "host".to_string(),
            ..ListRequest::default()
        };
        let response: ListResponse<Host> = self.list_page(op, &["hosts", "list"], &first).await?;
        let total = response.metadata.total_matches.unwrap_or(0);
        let mut hosts = response.entities;
        while (hosts.len() as u64) < total {
            let page = ListRequest {
                kind: "host".to_string(),
                length: Some(self.inner.config.page_size.max(1)),
                offset: Some(u32::try_from(hosts.len()).unwrap_or(u32::MAX)),
                ..ListRequest::default()
            };
            let more: ListResponse<Host> = self.list_page(op, &["hosts", "list"], &page).await?;
            if more.entities.is_empty() {
                break;
            }
            hosts.extend(more.entities);
        }
        Ok(hosts)
    }

    /// Every GPU of every host (optionally only hosts of one cluster).
    pub async fn list_gpus(&self, cluster_uuid: Option<&str>) -> Result<Vec<GpuMatch>, PrismError> {
        let hosts = self.list_hosts().await?;
        Ok(hosts
            .iter()
            .filter(|h| match (cluster_uuid, h.cluster_uuid()) {
                (Some(want), Some(have)) => want == have,
                _ => true,
            })
            .filter_map(|h| Some((h, h.uuid()?)))
            .flat_map(|(h, host_uuid)| {
                h.status.resources.gpu_list.iter().map(move |gpu| GpuMatch {
                    host_uuid: host_uuid.to_string(),
                    cluster_uuid: h.cluster_uuid().map(str::to_string),
                    gpu: gpu.clone(),
                })
            })
            .collect())
    }

    /// The first GPU named exactly `name` (preferring assignable ones), or NotFound.
    pub async fn find_gpu(
        &self,
        name: &str,
        cluster_uuid: Option<&str>,
    ) -> Result<GpuMatch, PrismError> {
        let gpus = self.list_gpus(cluster_uuid).await?;
        let mut named: Vec<GpuMatch> = gpus.into_iter().filter(|g| g.gpu.name == name).collect();
        named.sort_by_key(|g| g.gpu.assignable != Some(true));
        named
            .into_iter()
            .next()
            .ok_or_else(|| PrismError::NotFound {
                kind: "GPU",
                name: name.to_string(),
                scope: cluster_uuid.map(|c| format!("on cluster {c}")),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendors_are_normalised() {
        assert_eq!(
            normalize_vendor(&GpuVendor::from_wire("kNvidia")),
            GpuVendor::Nvidia
        );
        assert_eq!(
            normalize_vendor(&GpuVendor::from_wire("kIntel")),
            GpuVendor::Intel
        );
        assert_eq!(
            normalize_vendor(&GpuVendor::from_wire("kAmd")),
            GpuVendor::Amd
        );
        assert_eq!(normalize_vendor(&GpuVendor::Nvidia), GpuVendor::Nvidia);
        assert_eq!(
            normalize_vendor(&GpuVendor::from_wire("kMatrox")),
            GpuVendor::from_wire("kMatrox")
        );
    }
}
