//! VMs: create, read, update with spec_version, power, delete.

use reqwest::Method;

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::models::{PowerMechanism, PowerState, PowerStateMechanism, Vm, VmIntentInput, VmSpec};
use crate::tasks::Wait;
use crate::transport::Retry;

impl PrismClient {
    /// `GET /vms/{uuid}`.
    pub async fn get_vm(&self, uuid: &str) -> Result<Vm, PrismError> {
        self.get_json(&format!("get VM {uuid}"), &["vms", uuid])
            .await
    }

    /// Creates a VM, waits for its task and returns it as Prism now reports it.
    ///
    /// Sent once (see [`crate::transport`]): a connection lost after sending gives
    /// [`PrismError::CreateOutcomeUnknown`], never a blind second POST.
    pub async fn create_vm(&self, input: &VmIntentInput, wait: &Wait) -> Result<Vm, PrismError> {
        let accepted = self.submit_vm_body(input).await?;
        let op = format!("create VM '{}'", input.spec.name);
        self.wait_task_with(&accepted.task_uuid, &op, wait).await?;
        self.get_vm(&accepted.uuid).await
    }

    /// Read-modify-write of a VM spec: GET, apply `modify`, PUT with the `spec_version` that
    /// was read, wait for the task. On HTTP 409 (someone else changed the VM in between) the
    /// whole cycle is repeated, up to `ClientConfig::conflict_attempts` times. `purpose` names
    /// the change in errors and progress.
    pub async fn update_vm<F>(
        &self,
        uuid: &str,
        purpose: &str,
        mut modify: F,
        wait: &Wait,
    ) -> Result<Vm, PrismError>
    where
        F: FnMut(&mut VmSpec) -> Result<(), PrismError>,
    {
        let op = format!("{purpose} (VM {uuid})");
        let attempts = self.inner.config.conflict_attempts.max(1);
        for attempt in 1..=attempts {
            let current = self.get_vm(uuid).await?;
            let mut spec = current.spec.clone().ok_or(PrismError::MissingField {
                op: op.clone(),
                field: "spec",
            })?;
            modify(&mut spec)?;
            let input = VmIntentInput {
                api_version: current.api_version.clone(),
                metadata: current.metadata.clone(),
                spec,
            };
            let result: Result<Vm, PrismError> = self
                .call(
                    &op,
                    Method::PUT,
                    &["vms", uuid],
                    Some(&input),
                    Retry::Idempotent,
                )
                .await;
            match result {
                Ok(updated) => {
                    let task = updated.task_uuid().ok_or(PrismError::MissingField {
                        op: op.clone(),
                        field: "status.execution_context.task_uuid",
                    })?;
                    self.wait_task_with(task, &op, wait).await?;
                    return self.get_vm(uuid).await;
                }
                Err(PrismError::Api { status: 409, .. }) => {
                    tracing::info!(op, attempt, "spec_version conflict; re-reading the VM");
                }
                Err(e) => return Err(e),
            }
        }
        Err(PrismError::Conflict { op, attempts })
    }

    /// Powers a VM on.
    pub async fn power_on(&self, uuid: &str, wait: &Wait) -> Result<Vm, PrismError> {
        self.update_vm(
            uuid,
            "power on",
            |spec| {
                spec.resources.power_state = Some(PowerState::On);
                spec.resources.power_state_mechanism = None;
                Ok(())
            },
            wait,
        )
        .await
    }

    /// Powers a VM off: ACPI asks the guest to shut down, HARD cuts power.
    pub async fn power_off(
        &self,
        uuid: &str,
        mechanism: PowerMechanism,
        wait: &Wait,
    ) -> Result<Vm, PrismError> {
        let purpose = format!("power off ({mechanism})");
        self.update_vm(
            uuid,
            &purpose,
            |spec| {
                spec.resources.power_state = Some(PowerState::Off);
                spec.resources.power_state_mechanism = Some(PowerStateMechanism {
                    mechanism: Some(mechanism.clone()),
                    extra: Default::default(),
                });
                Ok(())
            },
            wait,
        )
        .await
    }

    /// Deletes a VM and waits for the task; an already-deleted VM (404) counts as deleted.
    pub async fn delete_vm(&self, uuid: &str, wait: &Wait) -> Result<(), PrismError> {
        self.delete_entity(&format!("delete VM {uuid}"), &["vms", uuid], wait)
            .await
    }
}
