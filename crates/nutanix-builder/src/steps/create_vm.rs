//! Creates the VM, powered on, in one request (as the Go plugin's v3 line does). Its UUID is
//! chosen here and recorded in the ledger before the request leaves, so even a create whose
//! answer is lost is cleaned up.

use super::{Build, TASK_TIMEOUT};
use crate::error::BuildError;
use crate::ledger::{Entry, Kind, Stage};
use crate::spec::vm_intent;
use crate::state::Named;

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let name = b.cfg.vm.vm_name.clone();
    let uuid = uuid::Uuid::new_v4().to_string();
    let input = vm_intent(&b.cfg, &b.st, &uuid)?;
    let cluster =
        b.st.cluster
            .as_ref()
            .map(|c| c.name.clone())
            .unwrap_or_default();
    b.out
        .say(format!("Creating VM '{name}' on cluster {cluster}..."))
        .await;
    b.ledger.record(Entry::requested(Kind::Vm, &uuid, &name));
    let step = format!("creating VM '{name}'");
    let accepted = b
        .submit_create(&uuid, &step, b.prism.submit_vm(&input))
        .await?;
    b.st.vm = Some(Named {
        uuid: uuid.clone(),
        name: name.clone(),
    });
    b.wait_task(&accepted.task_uuid, &step, TASK_TIMEOUT)
        .await?;
    b.ledger.advance(&uuid, Stage::Ready);

    let vm = b
        .cancellable(async {
            b.prism
                .get_vm(&uuid)
                .await
                .map_err(|e| b.prism_err("reading the new VM", e))
        })
        .await?;
    if vm.power_state() != Some(&prism::models::PowerState::On) {
        b.out.message(format!("Powering on VM '{name}'...")).await;
        let wait = b.wait(TASK_TIMEOUT);
        b.prism
            .power_on(&uuid, &wait)
            .await
            .map_err(|e| b.prism_err(&format!("powering on VM '{name}'"), e))?;
    }
    b.st.vm_disks = vm
        .data_disks()
        .into_iter()
        .map(|d| {
            (
                d.uuid.clone().unwrap_or_default(),
                d.disk_size_bytes.and_then(|s| u64::try_from(s).ok()),
            )
        })
        .collect();
    let host = vm
        .status
        .as_ref()
        .and_then(|s| s.resources.host_reference.as_ref())
        .and_then(|h| h.name.clone().or_else(|| Some(h.uuid.clone())))
        .filter(|h| !h.is_empty());
    match host {
        Some(h) => {
            b.out
                .message(format!(
                    "VM '{name}' ({uuid}) created and powered on, on host {h}"
                ))
                .await
        }
        None => {
            b.out
                .message(format!("VM '{name}' ({uuid}) created and powered on"))
                .await
        }
    }
    Ok(())
}
