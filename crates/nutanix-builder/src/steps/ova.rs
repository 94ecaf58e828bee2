//! `ova { create = true }`: Prism Central packs the stopped VM into an OVA (`vms/{uuid}/export`).
//! Prism picks the OVA's UUID; the build finds it by name and source VM (ours alone), so an
//! older OVA with the same name is never taken for it, and cleanup can find it even when the
//! build stops while Prism is still packing.

use nutanix_config::OvaFormat;
use prism::OvaDiskFormat;

use crate::context::Ctx;
use crate::entities::Named;
use crate::error::BuildError;
use crate::ledger::Kind;
use crate::plan::OvaPlan;

/// The step: the OVA on Prism Central.
pub(crate) async fn run(b: &Ctx, plan: &OvaPlan, vm: &Named) -> Result<prism::Ova, BuildError> {
    let name = plan.name.clone();
    let format = match plan.format {
        OvaFormat::Vmdk => OvaDiskFormat::Vmdk,
        OvaFormat::Qcow2 => OvaDiskFormat::Qcow2,
    };
    let step = format!("creating OVA '{name}'");
    b.out
        .say(format!(
            "Creating OVA '{name}' ({}) from VM '{}'...",
            format_label(format),
            vm.name
        ))
        .await;
    let pending_id = b
        .ledger
        .record_pending(Kind::Ova, &name, &vm.uuid, Vec::new());
    let task = b
        .submit_create(
            &pending_id,
            &step,
            b.prism.submit_vm_export(&vm.uuid, &name, format),
        )
        .await?;
    b.ledger.set_task(&pending_id, &task);
    b.wait_task(&task, &step, b.long_task_timeout()).await?;

    let found = b
        .until_listed(&step, || b.prism.find_vm_ova(&name, &vm.uuid))
        .await?;
    let Some(ova) = found else {
        return Err(BuildError::unexpected(
            &step,
            format!(
                "task {task} succeeded, but after a minute Prism Central still lists no OVA named '{name}' made from VM {}",
                vm.uuid
            ),
        ));
    };
    b.ledger.identify(&pending_id, &ova.uuid);
    b.out
        .message(format!(
            "OVA '{name}' ({}{}) is ready",
            ova.uuid,
            ova.size_bytes
                .map(|s| format!(", {s} bytes"))
                .unwrap_or_default()
        ))
        .await;
    Ok(ova)
}

/// How messages name the disk format.
fn format_label(format: OvaDiskFormat) -> &'static str {
    match format {
        OvaDiskFormat::Vmdk => "VMDK disks",
        OvaDiskFormat::Qcow2 => "QCOW2 disks",
    }
}
