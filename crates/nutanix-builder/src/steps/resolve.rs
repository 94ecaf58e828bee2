//! Turns the names in the template into Prism UUIDs: cluster, subnets, project, GPUs, and
//! checks that every category exists (a typo fails here, with its name, instead of as a VM
//! create error). Lookups are server-side filtered and memoised by the client.

use std::collections::BTreeMap;

use prism::models::VmGpu;
use prism::ops::new_vm::NewNic;

use crate::context::Ctx;
use crate::entities::Named;
use crate::error::BuildError;
use crate::plan::{BuildPlan, Ref};

/// The template's references, as Prism knows them.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The Prism Element cluster.
    pub(crate) cluster: Named,
    /// The NICs, their subnets resolved, in template order.
    pub(crate) nics: Vec<NewNic>,
    /// The project.
    pub(crate) project: Option<Named>,
    /// GPUs to attach.
    pub(crate) gpus: Vec<VmGpu>,
}

/// The step.
pub(crate) async fn run(ctx: &Ctx, plan: &BuildPlan) -> Result<Resolved, BuildError> {
    let vm = &plan.vm;
    ctx.out
        .say("Resolving cluster, subnets, project, GPUs and categories...")
        .await;

    let cluster = match &vm.cluster {
        Ref::Uuid(uuid) => {
            let c = ctx
                .call(
                    &format!("looking up cluster {uuid}"),
                    ctx.prism.get_cluster(uuid),
                )
                .await?;
            if c.is_prism_central() {
                return Err(BuildError::unexpected(
                    "resolving cluster_uuid",
                    format!("{uuid} is Prism Central itself, which cannot run VMs; use a Prism Element cluster"),
                ));
            }
            c
        }
        Ref::Name(name) => {
            ctx.call("resolving cluster_name", ctx.prism.cluster_by_name(name))
                .await?
        }
    };
    let cluster = Named::of(
        "resolving the cluster",
        cluster.metadata.uuid.as_deref(),
        cluster.name(),
    )?;
    ctx.out
        .message(format!("Cluster: {} ({})", cluster.name, cluster.uuid))
        .await;

    let mut nics = Vec::new();
    for (i, nic) in vm.nics.iter().enumerate() {
        let step = format!("resolving the subnet of vm_nics[{i}]");
        let subnet = match &nic.subnet {
            Ref::Uuid(uuid) => ctx.call(&step, ctx.prism.get_subnet(uuid)).await?,
            Ref::Name(name) => {
                ctx.call(&step, ctx.prism.subnet_by_name(name, Some(&cluster.uuid)))
                    .await?
            }
        };
        let subnet = Named::of(&step, subnet.metadata.uuid.as_deref(), subnet.name())?;
        ctx.out
            .message(format!(
                "Subnet for NIC {}: {} ({})",
                i + 1,
                subnet.name,
                subnet.uuid
            ))
            .await;
        nics.push(NewNic {
            subnet: subnet.uuid,
            mac: nic.mac.clone(),
            ip: nic.ip.clone(),
        });
    }

    let project = match &vm.project {
        Some(name) => {
            let p = ctx
                .call("resolving project", ctx.prism.project_by_name(name))
                .await?;
            let p = Named::of("resolving project", p.metadata.uuid.as_deref(), p.name())?;
            ctx.out
                .message(format!("Project: {} ({})", p.name, p.uuid))
                .await;
            Some(p)
        }
        None => None,
    };

    let mut gpus = Vec::new();
    for name in &vm.gpus {
        let found = ctx
            .call(
                "resolving gpu",
                ctx.prism.find_gpu(name, Some(&cluster.uuid)),
            )
            .await?;
        ctx.out
            .message(format!(
                "GPU: {name} (device {:?}) on host {}",
                found.gpu.device_id, found.host_uuid
            ))
            .await;
        gpus.push(found.to_vm_gpu());
    }

    check_categories(ctx, plan).await?;
    Ok(Resolved {
        cluster,
        nics,
        project,
        gpus,
    })
}

/// Every category the VM and the images get must exist.
async fn check_categories(ctx: &Ctx, plan: &BuildPlan) -> Result<(), BuildError> {
    let image_categories: BTreeMap<String, Vec<String>> = plan
        .outputs
        .images
        .iter()
        .flat_map(|i| i.categories.iter())
        .map(|(k, v)| (k.clone(), vec![v.clone()]))
        .collect();
    let wanted = plan
        .vm
        .categories
        .iter()
        .map(|c| ("vm_categories", c))
        .chain(image_categories.iter().map(|c| ("image_categories", c)));
    let mut checked: Vec<(String, String)> = Vec::new();
    for (option, (key, values)) in wanted {
        for value in values {
            let pair = (key.clone(), value.clone());
            if checked.contains(&pair) {
                continue;
            }
            let exists = ctx
                .call(
                    &format!("checking {option}"),
                    ctx.prism.category_exists(key, value),
                )
                .await?;
            if !exists {
                return Err(BuildError::unexpected(
                    format!("checking {option}"),
                    format!(
                        "category {key}:{value} does not exist in Prism Central; create it first"
                    ),
                ));
            }
            checked.push(pair);
        }
    }
    if !checked.is_empty() {
        let list: Vec<String> = checked.iter().map(|(k, v)| format!("{k}:{v}")).collect();
        ctx.out
            .message(format!("Categories: {}", list.join(", ")))
            .await;
    }
    Ok(())
}
