//! `vm_clean { cdrom = true }`: removes every CD-ROM from the stopped VM before images or a kept
//! VM are made from it, so installers and the cd_files CD do not follow the VM around.

use prism::models::DeviceType;

use crate::context::{Ctx, TASK_TIMEOUT};
use crate::entities::Named;
use crate::error::BuildError;

/// The step; `cd` is the build's CD image, no longer attached afterwards.
pub(crate) async fn run(b: &Ctx, vm: &Named, cd: Option<&Named>) -> Result<(), BuildError> {
    let (uuid, name) = (&vm.uuid, &vm.name);
    b.out
        .say(format!("Removing CD-ROMs from VM '{name}'..."))
        .await;
    let wait = b.wait(TASK_TIMEOUT);
    let mut removed = 0usize;
    b.prism
        .update_vm(
            uuid,
            "remove CD-ROMs",
            |spec| {
                if let Some(disks) = spec.resources.disk_list.as_mut() {
                    let before = disks.len();
                    disks.retain(|d| d.device_type() != Some(&DeviceType::Cdrom));
                    removed = before.saturating_sub(disks.len());
                }
                Ok(())
            },
            &wait,
        )
        .await
        .map_err(|e| b.prism_err(&format!("removing CD-ROMs from VM '{name}'"), e))?;
    if let Some(cd) = cd {
        b.ledger.detach(&cd.uuid);
    }
    b.out.message(format!("Removed {removed} CD-ROM(s)")).await;
    Ok(())
}
