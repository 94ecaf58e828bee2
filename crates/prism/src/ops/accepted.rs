//! Creates that return as soon as Prism ACCEPTS them, before their task ends.
//!
//! A builder must know about every entity it asked for from the moment Prism took the request,
//! so that a cancel or a task timeout while waiting cannot leave an entity nobody will delete.
//! [`PrismClient::create_vm`] and [`PrismClient::create_image`] await the task before returning
//! the UUID; these variants return the UUID and the task right away and leave the waiting (with
//! [`PrismClient::wait_task`]) to the caller, who records the entity first.
//!
//! Callers may also choose the UUID themselves in `metadata.uuid` (Prism v3 accepts a
//! client-chosen UUID on create): then the entity can be recorded even before the request is
//! sent, and a create whose outcome is unknown can still be cleaned up by UUID.

use reqwest::Method;

use crate::client::PrismClient;
use crate::error::PrismError;
use crate::models::{Image, Vm, VmIntentInput};
use crate::ops::images::NewImage;
use crate::ops::new_vm::NewVm;
use crate::transport::Retry;

/// A create Prism accepted: the new entity's UUID and the task that is creating it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// The entity's UUID.
    pub uuid: String,
    /// The task creating it; wait for it with [`PrismClient::wait_task`].
    pub task_uuid: String,
}

impl PrismClient {
    /// `POST /vms` of `new` as VM `uuid`, without waiting for the task. Sent once (see
    /// [`crate::transport`]).
    pub async fn submit_vm(&self, new: &NewVm, uuid: &str) -> Result<Accepted, PrismError> {
        self.submit_vm_body(&new.to_v3(uuid)).await
    }

    /// `POST /vms` of a v3 body as is: the one place a VM create is sent.
    pub(crate) async fn submit_vm_body(
        &self,
        input: &VmIntentInput,
    ) -> Result<Accepted, PrismError> {
        let op = format!("create VM '{}'", input.spec.name);
        let created: Vm = self
            .call(&op, Method::POST, &["vms"], Some(input), Retry::CreateOnce)
            .await?;
        let accepted = accepted(&op, created.metadata.uuid.clone(), created.task_uuid())?;
        tracing::info!(vm = %accepted.uuid, name = %input.spec.name, task = %accepted.task_uuid, "VM create accepted");
        Ok(accepted)
    }

    /// `POST /images` without waiting for the task. Sent once (see [`crate::transport`]).
    /// `uuid`, when given, is sent as `metadata.uuid` so the caller knows the UUID in advance.
    pub async fn submit_image(
        &self,
        new: &NewImage,
        uuid: Option<&str>,
    ) -> Result<Accepted, PrismError> {
        let op = format!("create image '{}'", new.name);
        let mut intent = new.to_intent();
        if let Some(uuid) = uuid {
            intent.metadata.uuid = Some(uuid.to_string());
        }
        let created: Image = self
            .call(
                &op,
                Method::POST,
                &["images"],
                Some(&intent),
                Retry::CreateOnce,
            )
            .await?;
        // A new image with this name exists now: forget memoised lookups of the name.
        self.forget_image_name(&new.name);
        let accepted = accepted(&op, created.metadata.uuid.clone(), created.task_uuid())?;
        tracing::info!(image = %accepted.uuid, name = %new.name, task = %accepted.task_uuid, "image create accepted");
        Ok(accepted)
    }
}

fn accepted(op: &str, uuid: Option<String>, task: Option<&str>) -> Result<Accepted, PrismError> {
    let uuid = uuid
        .filter(|u| !u.is_empty())
        .ok_or(PrismError::MissingField {
            op: op.to_string(),
            field: "metadata.uuid",
        })?;
    let task_uuid = task.ok_or(PrismError::MissingField {
        op: op.to_string(),
        field: "status.execution_context.task_uuid",
    })?;
    Ok(Accepted {
        uuid,
        task_uuid: task_uuid.to_string(),
    })
}
