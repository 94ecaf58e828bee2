//! Clusters.

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::lookup::LookupSpec;
use crate::models::Cluster;

fn spec() -> LookupSpec<'static, Cluster> {
    LookupSpec {
        label: "cluster",
        kind: "cluster",
        path: &["clusters", "list"],
        scope: None,
        name_of: Cluster::name,
        uuid_of: Cluster::uuid,
    }
}

impl PrismClient {
    /// Every cluster, Prism Central's own pseudo-cluster included.
    pub async fn list_clusters(&self) -> Result<Vec<Cluster>, PrismError> {
        self.list_all("list clusters", "cluster", &["clusters", "list"], None)
            .await
    }

    /// `GET /clusters/{uuid}`.
    pub async fn get_cluster(&self, uuid: &str) -> Result<Cluster, PrismError> {
        self.get_json(&format!("get cluster {uuid}"), &["clusters", uuid])
            .await
    }

    /// The Prism Element cluster named exactly `name` (Prism Central itself never matches:
    /// it cannot host VMs). Memoised for the life of the client.
    pub async fn cluster_by_name(&self, name: &str) -> Result<Cluster, PrismError> {
        if let Some(hit) = self.memo(|m| m.clusters.get(name).cloned()) {
            return Ok(hit);
        }
        let cluster = self
            .find_unique(&spec(), name, |c: &Cluster| !c.is_prism_central())
            .await?;
        self.memo(|m| m.clusters.insert(name.to_string(), cluster.clone()));
        Ok(cluster)
    }
}
