//! Subnets.

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::lookup::LookupSpec;
use crate::models::Subnet;

impl PrismClient {
    /// Every subnet, or those matching a FIQL `filter`.
    pub async fn list_subnets(&self, filter: Option<&str>) -> Result<Vec<Subnet>, PrismError> {
        self.list_all(
            "list subnets",
            "subnet",
            &["subnets", "list"],
            filter.map(str::to_string),
        )
        .await
    }

    /// Subnets usable on `cluster_uuid`: VLAN subnets of that cluster plus overlay subnets
    /// (which have no cluster). Filtered client-side on `cluster_reference`, as the Go plugin
    /// did: the v3 FIQL attribute for a subnet's cluster is not documented.
    pub async fn list_subnets_on_cluster(
        &self,
        cluster_uuid: &str,
    ) -> Result<Vec<Subnet>, PrismError> {
        let all = self.list_subnets(None).await?;
        Ok(all
            .into_iter()
            .filter(|s| s.cluster_uuid().is_none_or(|c| c == cluster_uuid))
            .collect())
    }

    /// `GET /subnets/{uuid}`.
    pub async fn get_subnet(&self, uuid: &str) -> Result<Subnet, PrismError> {
        self.get_json(&format!("get subnet {uuid}"), &["subnets", uuid])
            .await
    }

    /// The subnet named exactly `name`; with `cluster_uuid`, only subnets usable on that
    /// cluster count (so a name reused on two clusters is not ambiguous). Memoised.
    pub async fn subnet_by_name(
        &self,
        name: &str,
        cluster_uuid: Option<&str>,
    ) -> Result<Subnet, PrismError> {
        let key = (name.to_string(), cluster_uuid.map(str::to_string));
        if let Some(hit) = self.memo(|m| m.subnets.get(&key).cloned()) {
            return Ok(hit);
        }
        let spec = LookupSpec {
            label: "subnet",
            kind: "subnet",
            path: &["subnets", "list"],
            scope: cluster_uuid.map(|c| format!("on cluster {c}")),
            name_of: Subnet::name,
            uuid_of: Subnet::uuid,
        };
        let subnet = self
            .find_unique(&spec, name, |s: &Subnet| match cluster_uuid {
                Some(c) => s.cluster_uuid().is_none_or(|sc| sc == c),
                None => true,
            })
            .await?;
        self.memo(|m| m.subnets.insert(key, subnet.clone()));
        Ok(subnet)
    }
}
