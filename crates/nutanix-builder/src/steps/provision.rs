//! Runs Packer's provisioners (`Hook.Run("packer_provision")`) with the communicator and the
//! hook data, and, after a failure, the `error-cleanup-provisioner` (`packer_cleanup_provision`).

use std::sync::Arc;

use crate::context::Ctx;
use crate::error::BuildError;

/// Packer's hook names.
const PROVISION: &str = "packer_provision";
const CLEANUP_PROVISION: &str = "packer_cleanup_provision";

/// The step.
pub(crate) async fn run(
    ctx: &Ctx,
    comm: Arc<dyn packer_rpc::Communicator>,
    data: packer_rpc::HookData,
) -> Result<(), BuildError> {
    // Not wrapped in `cancellable`: on cancel the hook tells Packer (Hook.Cancel) and waits for
    // Packer to stop its provisioners, so nothing keeps running on the VM during cleanup.
    match ctx.hooks.run(PROVISION, data, comm).await {
        Ok(()) => Ok(()),
        Err(_) if ctx.cancel.is_cancelled() => Err(BuildError::Cancelled),
        Err(message) => Err(BuildError::Provision(ctx.out.redact(&message))),
    }
}

/// Runs the error-cleanup provisioner, if the template has one (Packer runs nothing otherwise).
pub(crate) async fn cleanup(
    ctx: &Ctx,
    comm: Arc<dyn packer_rpc::Communicator>,
    data: packer_rpc::HookData,
) {
    ctx.out
        .say("Provisioning step had errors: Running the cleanup provisioner, if present...")
        .await;
    if let Err(e) = ctx.hooks.run(CLEANUP_PROVISION, data, comm).await {
        ctx.out
            .error(format!("Cleanup provisioner failed: {e}"))
            .await;
    }
}
