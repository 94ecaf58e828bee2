//! Turns the names in the template into Prism UUIDs: cluster, subnets, project, GPUs, and
//! checks that every category exists (a typo fails here, with its name, instead of as a VM
//! create error). Lookups are server-side filtered and memoised by the client.

use std::collections::BTreeMap;

use super::Build;
use crate::error::BuildError;
use crate::state::Named;

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let cfg = b.cfg.clone();
    b.out
        .say("Resolving cluster, subnets, project, GPUs and categories...")
        .await;

    let cluster = match (&cfg.vm.cluster_uuid, &cfg.vm.cluster_name) {
        (Some(uuid), _) => {
            let c = b
                .cancellable(async {
                    b.prism
                        .get_cluster(uuid)
                        .await
                        .map_err(|e| b.prism_err(&format!("looking up cluster {uuid}"), e))
                })
                .await?;
            if c.is_prism_central() {
                return Err(BuildError::unexpected(
                    "resolving cluster_uuid",
                    format!("{uuid} is Prism Central itself, which cannot run VMs; use a Prism Element cluster"),
                ));
            }
            c
        }
        (None, Some(name)) => {
            b.cancellable(async {
                b.prism
                    .cluster_by_name(name)
                    .await
                    .map_err(|e| b.prism_err("resolving cluster_name", e))
            })
            .await?
        }
        (None, None) => {
            return Err(BuildError::unexpected(
                "resolving the cluster",
                "neither cluster_name nor cluster_uuid is set",
            ))
        }
    };
    let cluster = Named {
        uuid: cluster.uuid().to_string(),
        name: cluster.name().to_string(),
    };
    b.out
        .message(format!("Cluster: {} ({})", cluster.name, cluster.uuid))
        .await;

    let mut subnets = Vec::new();
    for (i, nic) in cfg.vm.vm_nics.iter().enumerate() {
        let step = format!("resolving the subnet of vm_nics[{i}]");
        let subnet = match (&nic.subnet_uuid, &nic.subnet_name) {
            (Some(uuid), _) => {
                b.cancellable(async {
                    b.prism
                        .get_subnet(uuid)
                        .await
                        .map_err(|e| b.prism_err(&step, e))
                })
                .await?
            }
            (None, Some(name)) => {
                b.cancellable(async {
                    b.prism
                        .subnet_by_name(name, Some(&cluster.uuid))
                        .await
                        .map_err(|e| b.prism_err(&step, e))
                })
                .await?
            }
            (None, None) => {
                return Err(BuildError::unexpected(
                    step,
                    "no subnet_name or subnet_uuid",
                ))
            }
        };
        b.out
            .message(format!(
                "Subnet for NIC {}: {} ({})",
                i + 1,
                subnet.name(),
                subnet.uuid()
            ))
            .await;
        subnets.push(subnet.uuid().to_string());
    }

    let project = match &cfg.vm.project {
        Some(name) => {
            let p = b
                .cancellable(async {
                    b.prism
                        .project_by_name(name)
                        .await
                        .map_err(|e| b.prism_err("resolving project", e))
                })
                .await?;
            b.out
                .message(format!("Project: {} ({})", p.name(), p.uuid()))
                .await;
            Some(Named {
                uuid: p.uuid().to_string(),
                name: p.name().to_string(),
            })
        }
        None => None,
    };

    let mut gpus = Vec::new();
    for g in &cfg.vm.gpu {
        let found = b
            .cancellable(async {
                b.prism
                    .find_gpu(&g.name, Some(&cluster.uuid))
                    .await
                    .map_err(|e| b.prism_err("resolving gpu", e))
            })
            .await?;
        b.out
            .message(format!(
                "GPU: {} (device {:?}) on host {}",
                g.name, found.gpu.device_id, found.host_uuid
            ))
            .await;
        gpus.push(found.to_vm_gpu());
    }

    let mut vm_categories: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut image_categories: BTreeMap<String, String> = BTreeMap::new();
    let wanted = cfg
        .vm
        .vm_categories
        .iter()
        .map(|c| ("vm_categories", c))
        .chain(
            cfg.image_categories
                .iter()
                .filter(|_| !cfg.image_skip)
                .map(|c| ("image_categories", c)),
        );
    let mut checked: Vec<(String, String)> = Vec::new();
    for (option, c) in wanted {
        let pair = (c.key.clone(), c.value.clone());
        if !checked.contains(&pair) {
            let exists = b
                .cancellable(async {
                    b.prism
                        .category_exists(&c.key, &c.value)
                        .await
                        .map_err(|e| b.prism_err(&format!("checking {option}"), e))
                })
                .await?;
            if !exists {
                return Err(BuildError::unexpected(
                    format!("checking {option}"),
                    format!(
                        "category {}:{} does not exist in Prism Central; create it first",
                        c.key, c.value
                    ),
                ));
            }
            checked.push(pair);
        }
        if option == "vm_categories" {
            let values = vm_categories.entry(c.key.clone()).or_default();
            if !values.contains(&c.value) {
                values.push(c.value.clone());
            }
        } else {
            image_categories.insert(c.key.clone(), c.value.clone());
        }
    }
    if !checked.is_empty() {
        let list: Vec<String> = checked.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        b.out
            .message(format!("Categories: {}", list.join(", ")))
            .await;
    }

    b.st.cluster = Some(cluster);
    b.st.subnets = subnets;
    b.st.project = project;
    b.st.gpus = gpus;
    b.st.vm_categories = vm_categories;
    b.st.image_categories = image_categories;
    Ok(())
}
