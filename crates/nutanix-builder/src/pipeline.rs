//! The build, top to bottom as it runs. Each step takes what earlier steps produced and returns
//! what later ones need; optional steps run when the plan has their part.
//!
//! ```text
//! check template → resolve references → source images → [CD] → [HTTP server] → create VM
//!   → [type boot command] → [wait for IP] → connect → provision → [clear temporary key] → shut down
//!   → [remove CD-ROMs] → [images → [export]] → [VM template] → [OVA → [OVA export]]
//! ```

use std::sync::Arc;

use crate::communicators::SshAdapter;
use crate::context::{Ctx, Failed, Step};
use crate::entities::{ExportedFile, Named, OutputImage};
use crate::error::BuildError;
use crate::generated_data::{hook_data, Facts};
use crate::plan::{BuildPlan, CommPlan, Unbuildable};
use crate::ssh_key::{self, BuildKeys};
use crate::steps::{
    boot_command, cd_image, clean_vm, clear_keys, connect, create_vm, export, http_server, images,
    ova, provision, resolve, shutdown, source_images, template, wait_ip,
};

/// What the build holds or has learnt while it runs, for the end of the build: it closes the
/// connections, may run the error-cleanup provisioner, and fills the generated data.
#[derive(Default)]
pub(crate) struct Live {
    /// What Packer's hook data and generated data report.
    pub(crate) facts: Facts,
    /// The HTTP server, stopped at the end.
    pub(crate) http: Option<cdrom::HttpServer>,
    /// The SSH connection, closed at the end.
    pub(crate) ssh: Option<Arc<SshAdapter>>,
    /// The communicator, from the start of provisioning until the VM is being stopped: while it
    /// is here, a failure can run the error-cleanup provisioner on the VM.
    pub(crate) provisioning: Option<Arc<dyn packer_rpc::Communicator>>,
}

/// What a successful build made.
#[derive(Debug)]
pub(crate) struct Made {
    /// The cluster it ran on.
    pub(crate) cluster: Named,
    /// The VM.
    pub(crate) vm: Named,
    /// Output images.
    pub(crate) images: Vec<OutputImage>,
    /// Exported files.
    pub(crate) files: Vec<ExportedFile>,
    /// The VM template.
    pub(crate) template: Option<Named>,
    /// The OVA.
    pub(crate) ova: Option<prism::Ova>,
}

/// Checks the output files (they come and go, so not at Prepare) and prepares the SSH key.
async fn prepare(ctx: &Ctx, plan: &BuildPlan) -> Result<Option<BuildKeys>, BuildError> {
    let problems = plan.outputs.file_problems();
    if !problems.is_empty() {
        return Err(BuildError::Unsupported(Unbuildable(problems).to_string()));
    }
    match &plan.comm {
        CommPlan::Ssh(ssh) => ssh_key::prepare(&ssh.key, &ctx.out).await,
        CommPlan::None | CommPlan::WinRm(_) => Ok(None),
    }
}

/// Runs every step of `plan`.
pub(crate) async fn build(ctx: &Ctx, plan: &BuildPlan, live: &mut Live) -> Result<Made, Failed> {
    let keys = ctx.step(Step::Prepare, prepare(ctx, plan)).await?;
    live.facts.keys = keys.clone();
    let resolved = ctx.step(Step::Resolve, resolve::run(ctx, plan)).await?;
    let cluster = resolved.cluster.clone();
    live.facts.cluster = Some(cluster.clone());
    let disks = ctx
        .step(
            Step::SourceImages,
            source_images::run(ctx, &plan.vm.disks, &cluster),
        )
        .await?;
    for image in disks.iter().filter_map(|d| d.image()) {
        if !live.facts.source_images.contains(&image.image.uuid) {
            live.facts.source_images.push(image.image.uuid.clone());
        }
    }
    let cd = match &plan.cd {
        Some(cd) => Some(
            ctx.step(Step::CdIso, cd_image::run(ctx, cd, &plan.vm.name, &cluster))
                .await?,
        ),
        None => None,
    };
    if let Some(serve) = &plan.http {
        let (server, info) = ctx
            .step(Step::HttpServer, http_server::run(ctx, serve, &plan.config))
            .await?;
        live.http = Some(server);
        live.facts.http = Some(info);
    }
    let parts = create_vm::Parts {
        resolved: &resolved,
        disks: &disks,
        cd: cd.as_ref(),
        keys: keys.as_ref(),
    };
    let vm = ctx
        .step(Step::CreateVm, create_vm::run(ctx, plan, parts))
        .await?;
    live.facts.vm = Some(vm.vm.clone());
    if let Some(boot) = &plan.boot {
        let http = live.facts.http.clone();
        ctx.step(
            Step::BootCommand,
            boot_command::run(ctx, boot, &vm.vm, &cluster, http.as_ref()),
        )
        .await?;
    }
    let ip = match &plan.ip_wait {
        Some(wait) => Some(
            ctx.step(Step::WaitIp, wait_ip::run(ctx, wait, &vm.vm))
                .await?,
        ),
        None => None,
    };
    let connected = ctx
        .step(Step::Connect, connect::run(ctx, plan, ip, keys.as_ref()))
        .await?;
    live.facts.host = connected.host.clone();
    live.ssh = connected.ssh.clone();
    let comm = connected.comm;
    live.provisioning = Some(comm.clone());
    let data = hook_data(&plan.config, &live.facts);
    ctx.step(Step::Provision, provision::run(ctx, comm.clone(), data))
        .await?;
    if let (CommPlan::Ssh(ssh), Some(keys)) = (&plan.comm, &keys) {
        if ssh.clear_authorized_keys {
            ctx.step(Step::ClearKeys, clear_keys::run(ctx, comm.clone(), keys))
                .await?;
        }
    }
    live.provisioning = None;
    ctx.step(
        Step::Shutdown,
        shutdown::run(ctx, &plan.shutdown, &vm.vm, comm),
    )
    .await?;
    if plan.remove_cdroms {
        ctx.step(Step::CleanVm, clean_vm::run(ctx, &vm.vm, cd.as_ref()))
            .await?;
    }

    let mut made = Made {
        cluster,
        vm: vm.vm.clone(),
        images: Vec::new(),
        files: Vec::new(),
        template: None,
        ova: None,
    };
    if let Some(images_plan) = &plan.outputs.images {
        let images = ctx
            .step(Step::CreateImages, images::run(ctx, images_plan, &vm))
            .await?;
        live.facts.images = images.iter().map(|i| i.image.uuid.clone()).collect();
        if let Some(paths) = &images_plan.export {
            made.files = ctx
                .step(Step::Export, export::run(ctx, &images, paths))
                .await?;
        }
        made.images = images;
    }
    if let Some(t) = &plan.outputs.template {
        made.template = Some(
            ctx.step(Step::Template, template::run(ctx, t, &vm.vm))
                .await?,
        );
    }
    if let Some(o) = &plan.outputs.ova {
        let ova = ctx.step(Step::CreateOva, ova::run(ctx, o, &vm.vm)).await?;
        if let Some(path) = &o.export {
            let file = ctx
                .step(Step::ExportOva, export::run_ova(ctx, &ova, path))
                .await?;
            made.files.push(file);
        }
        made.ova = Some(ova);
    }
    Ok(made)
}
