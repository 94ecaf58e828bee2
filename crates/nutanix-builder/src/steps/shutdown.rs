//! Stops the VM so its disks can be copied: the guest's `shutdown_command`, or an ACPI power
//! button press, then a hard power-off if it is still on after `shutdown_timeout` (the Go plugin
//! pulled the plug at once). With `disable_stop_instance` the build only waits for the guest to
//! stop itself.

use std::sync::Arc;
use std::time::Duration;

use prism::models::{PowerMechanism, PowerState};
use tokio::time::Instant;

use crate::context::{Ctx, TASK_TIMEOUT};
use crate::entities::Named;
use crate::error::BuildError;
use crate::plan::ShutdownPlan;

/// The step: the VM is off when it returns.
pub(crate) async fn run(
    b: &Ctx,
    how: &ShutdownPlan,
    vm: &Named,
    comm: Arc<dyn packer_rpc::Communicator>,
) -> Result<(), BuildError> {
    let (uuid, name) = (vm.uuid.clone(), vm.name.clone());
    let timeout = match how {
        ShutdownPlan::WaitForGuest(t) | ShutdownPlan::Command(_, t) | ShutdownPlan::Acpi(t) => *t,
    };
    let deadline = Instant::now() + timeout;

    if let ShutdownPlan::WaitForGuest(_) = how {
        b.out
            .say(format!(
                "Automatic instance stop disabled (disable_stop_instance). Waiting up to {} for VM '{name}' to shut itself down...",
                humantime::format_duration(timeout)
            ))
            .await;
        return if wait_off(b, &uuid, deadline).await? {
            b.out.message(format!("VM '{name}' is off")).await;
            Ok(())
        } else {
            Err(BuildError::ShutdownTimeout {
                vm: name,
                waited: timeout,
            })
        };
    }

    let graceful = match how {
        ShutdownPlan::Command(command, _) => {
            b.out
                .say(format!(
                    "Gracefully halting VM '{name}' with shutdown_command..."
                ))
                .await;
            let cmd = packer_rpc::RemoteCommand {
                command: command.clone(),
                stdin: None,
                stdout: None,
                stderr: None,
            };
            let exited = comm.start(cmd).await.map_err(|e| {
                BuildError::unexpected("sending shutdown_command", b.out.redact(&e))
            })?;
            // The guest going down usually drops the connection: the status does not matter.
            tokio::spawn(async move {
                if let Ok(status) = exited.await {
                    tracing::info!(status, "shutdown_command ended");
                }
            });
            true
        }
        ShutdownPlan::WaitForGuest(_) | ShutdownPlan::Acpi(_) => {
            b.out
                .say(format!("Shutting down VM '{name}' (ACPI power button)..."))
                .await;
            let vm = b.call("shutting down", b.prism.get_vm(&uuid)).await?;
            if vm.power_state() == Some(&PowerState::Off) {
                b.out.message(format!("VM '{name}' is already off")).await;
                return Ok(());
            }
            let wait = b.wait(timeout);
            match b.prism.power_off(&uuid, PowerMechanism::Acpi, &wait).await {
                Ok(_) => true,
                Err(_) if b.cancel.is_cancelled() => return Err(BuildError::Cancelled),
                Err(e) => {
                    b.out
                        .message(format!("ACPI shutdown did not work ({e}); powering off"))
                        .await;
                    false
                }
            }
        }
    };

    if graceful && wait_off(b, &uuid, deadline).await? {
        b.out.message(format!("VM '{name}' is off")).await;
        return Ok(());
    }
    if graceful {
        b.out
            .message(format!(
                "VM '{name}' is still on after shutdown_timeout ({}); powering it off",
                humantime::format_duration(timeout)
            ))
            .await;
    }
    let wait = b.wait(TASK_TIMEOUT);
    b.prism
        .power_off(&uuid, PowerMechanism::Hard, &wait)
        .await
        .map_err(|e| b.prism_err(&format!("powering off VM '{name}'"), e))?;
    if wait_off(b, &uuid, Instant::now() + Duration::from_secs(120)).await? {
        b.out.message(format!("VM '{name}' is off")).await;
        Ok(())
    } else {
        Err(BuildError::ShutdownTimeout {
            vm: name,
            waited: timeout,
        })
    }
}

/// Polls until the VM is off (true) or `deadline` passes (false).
async fn wait_off(b: &Ctx, uuid: &str, deadline: Instant) -> Result<bool, BuildError> {
    let mut delay = Duration::from_millis(200);
    loop {
        let vm = b
            .call("waiting for the VM to stop", b.prism.get_vm(uuid))
            .await?;
        if vm.power_state() == Some(&PowerState::Off) {
            return Ok(true);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        let wake = (now + delay).min(deadline);
        tokio::select! {
            biased;
            _ = b.cancel.cancelled() => return Err(BuildError::Cancelled),
            _ = tokio::time::sleep_until(wake) => {}
        }
        delay = delay.mul_f64(1.5).min(Duration::from_secs(5));
    }
}
