//! `template { create = true }`: a Prism Central VM template made from the stopped VM, through
//! the v4 content API (Prism Central has no v3 call for it). Prism picks the template's id, so
//! the ledger entry is "pending" until the build finds the new template: same-named templates
//! that existed before are listed first and never mistaken for ours.

use prism::NewTemplate;

use crate::context::Ctx;
use crate::entities::Named;
use crate::error::BuildError;
use crate::ledger::Kind;
use crate::plan::TemplatePlan;

/// The step: the new template.
pub(crate) async fn run(b: &Ctx, plan: &TemplatePlan, vm: &Named) -> Result<Named, BuildError> {
    let name = plan.name.clone();
    let step = format!("creating VM template '{name}'");
    b.out
        .say(format!(
            "Creating VM template '{name}' from VM '{}'...",
            vm.name
        ))
        .await;
    let before: Vec<String> = b
        .call(&step, b.prism.templates_named(&name))
        .await?
        .into_iter()
        .map(|t| t.ext_id)
        .collect();
    if !before.is_empty() {
        b.out
            .message(format!(
                "{} VM template(s) named '{name}' already exist ({}); Prism Central allows the same name twice, so a new one is created beside them",
                before.len(),
                before.join(", ")
            ))
            .await;
    }

    let pending_id = b
        .ledger
        .record_pending(Kind::Template, &name, &vm.uuid, before.clone());
    let new = NewTemplate {
        name: name.clone(),
        description: plan.description.clone(),
        vm_uuid: vm.uuid.clone(),
    };
    let task = b
        .submit_create(&pending_id, &step, b.prism.submit_template(&new))
        .await?;
    b.ledger.set_task(&pending_id, &task);
    b.wait_task(&task, &step, b.long_task_timeout()).await?;

    let newest = b
        .until_listed(&step, || async {
            let listed = b.prism.templates_named(&name).await?;
            Ok(listed
                .into_iter()
                .filter(|t| !before.contains(&t.ext_id))
                .max_by_key(|t| {
                    t.create_time
                        .as_deref()
                        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
                }))
        })
        .await?;
    let Some(template) = newest else {
        return Err(BuildError::unexpected(
            &step,
            format!("task {task} succeeded, but after a minute Prism Central still lists no new template named '{name}'"),
        ));
    };
    b.ledger.identify(&pending_id, &template.ext_id);
    b.out
        .message(format!(
            "VM template '{name}' ({}) is ready",
            template.ext_id
        ))
        .await;
    Ok(Named {
        uuid: template.ext_id,
        name,
    })
}
