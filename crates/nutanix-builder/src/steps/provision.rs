//! Runs Packer's provisioners (`Hook.Run("packer_provision")`) with the communicator and the
//! hook data, and, after a failure, the `error-cleanup-provisioner` (`packer_cleanup_provision`).

use std::sync::Arc;

use super::Build;
use crate::error::BuildError;
use crate::hookdata::hook_data;

/// Packer's hook names.
const PROVISION: &str = "packer_provision";
const CLEANUP_PROVISION: &str = "packer_cleanup_provision";

fn communicator(b: &Build) -> Result<Arc<dyn packer_rpc::Communicator>, BuildError> {
    b.st.comm
        .clone()
        .ok_or_else(|| BuildError::unexpected("provisioning", "no communicator is connected"))
}

/// The step.
pub(crate) async fn run(b: &mut Build) -> Result<(), BuildError> {
    let comm = communicator(b)?;
    let data = hook_data(&b.cfg, &b.st, b.http.as_ref().map(|(_, i)| i), &b.run_uuid);
    b.st.provision_started = true;
    // Not wrapped in `cancellable`: on cancel the hook tells Packer (Hook.Cancel) and waits for
    // Packer to stop its provisioners, so nothing keeps running on the VM during cleanup.
    match b.hooks.run(PROVISION, data, comm).await {
        Ok(()) => Ok(()),
        Err(_) if b.cancel.is_cancelled() => Err(BuildError::Cancelled),
        Err(message) => Err(BuildError::Provision(b.out.redact(&message))),
    }
}

/// Runs the error-cleanup provisioner, if the template has one (Packer runs nothing otherwise).
pub(crate) async fn cleanup(b: &Build) {
    let Ok(comm) = communicator(b) else { return };
    b.out
        .say("Provisioning step had errors: Running the cleanup provisioner, if present...")
        .await;
    let data = hook_data(&b.cfg, &b.st, b.http.as_ref().map(|(_, i)| i), &b.run_uuid);
    if let Err(e) = b.hooks.run(CLEANUP_PROVISION, data, comm).await {
        b.out
            .error(format!("Cleanup provisioner failed: {e}"))
            .await;
    }
}
