//! `Builder.Run`: the pipeline, then the end of every build: the error-cleanup provisioner, the
//! cleanup ledger (success, failure and cancel alike, bounded by a deadline and a second
//! Ctrl-C), and the artifact.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use packer_rpc::{Artifact, CancellationToken, RunContext};

use crate::artifact::NutanixArtifact;
use crate::context::{Ctx, Failed, Hooks, PackerHooks};
use crate::error::BuildError;
use crate::generated_data::{generated_data, hook_data};
use crate::journal;
use crate::ledger::{CleanupReport, Kind, Ledger, Outcome, Policy, PrismRemover};
use crate::pipeline::{self, Live, Made};
use crate::plan::{BuildPlan, OnError};
use crate::steps::provision;
use crate::ui::{Console, PackerConsole, Reporter};

/// Longest wait for one deletion at cleanup.
const DELETE_TIMEOUT: Duration = Duration::from_secs(600);

/// Longest cleanup, all deletions together: a deletion Prism queues behind a hung task must not
/// hold the build forever (a second Ctrl-C ends it sooner).
const CLEANUP_DEADLINE: Duration = Duration::from_secs(900);

/// `Builder.Run` for a prepared plan.
pub(crate) async fn run(
    plan: BuildPlan,
    ctx: RunContext,
) -> Result<Option<Arc<dyn Artifact>>, String> {
    let console: Arc<dyn Console> = Arc::new(PackerConsole(ctx.ui.clone()));
    let hooks: Arc<dyn Hooks> = Arc::new(PackerHooks(ctx.hook.clone()));
    let run_uuid = std::env::var("PACKER_RUN_UUID").unwrap_or_default();
    let client = match crate::prism_client::prism_client(&plan.config) {
        Ok(c) => c,
        Err(e) => {
            let message = nutanix_config::redact(&e.to_string(), &plan.secrets());
            ctx.ui.error(&message).await;
            return Err(message);
        }
    };
    let stop_cleanup = crate::interrupts::watch(ctx.cancel.clone());
    let ends = Ends {
        cancel: ctx.cancel,
        stop_cleanup,
        cleanup_deadline: CLEANUP_DEADLINE,
        journal_dir: journal::default_dir(),
    };
    let finished = execute(plan, client, console, hooks, ends, run_uuid).await?;
    Ok(finished.map(|a| a as Arc<dyn Artifact>))
}

/// How a build can be ended early.
pub(crate) struct Ends {
    /// Packer cancelled the build (Ctrl-C).
    pub(crate) cancel: CancellationToken,
    /// Stop cleaning up (a second Ctrl-C): leave the rest and name it.
    pub(crate) stop_cleanup: CancellationToken,
    /// Longest cleanup.
    pub(crate) cleanup_deadline: Duration,
    /// Where the ledger is journaled for crash-safe cleanup (none: not journaled).
    pub(crate) journal_dir: Option<std::path::PathBuf>,
}

/// The whole build with its dependencies given: the seam the in-process tests use.
pub(crate) async fn execute(
    plan: BuildPlan,
    client: prism::PrismClient,
    console: Arc<dyn Console>,
    hooks: Arc<dyn Hooks>,
    ends: Ends,
    run_uuid: String,
) -> Result<Option<Arc<NutanixArtifact>>, String> {
    let out = Reporter::new(console, plan.secrets());
    let ledger = match &ends.journal_dir {
        Some(dir) => {
            report_dead_runs(&out, dir).await;
            let cl = &plan.config.cluster;
            let prism = format!("{}:{}", cl.nutanix_endpoint, cl.nutanix_port);
            Ledger::journaled(journal::Journal::new(
                dir,
                &run_uuid,
                &plan.config.packer.packer_build_name,
                prism,
            ))
        }
        None => Ledger::default(),
    };
    let ctx = Ctx::new(
        client,
        out,
        ends.cancel.clone(),
        hooks,
        Arc::new(ledger),
        plan.config.cluster.transfer_timeout(),
        plan.debug,
    );
    let mut live = Live::default();
    live.facts.run_uuid = run_uuid;
    let mut result = Box::pin(pipeline::build(&ctx, &plan, &mut live)).await;
    if result.is_ok() && ctx.cancel.is_cancelled() {
        // Cancelled after the last step: Packer drops an artifact returned after its context
        // was cancelled (never printed, never destroyed), so this build ends cancelled too.
        result = Err(late_cancel(&ctx));
    }
    let failure = result.as_ref().err();
    let outcome = match failure.map(|f| &f.error) {
        None => Outcome::Succeeded,
        Some(BuildError::Cancelled) => Outcome::Cancelled,
        Some(_) => Outcome::Failed,
    };
    let (keep_on_error, cleanup_provisioner) = after_failure(&ctx, plan.on_error, failure).await;
    if let (true, Some(comm)) = (cleanup_provisioner, live.provisioning.take()) {
        let data = hook_data(&plan.config, &live.facts);
        provision::cleanup(&ctx, comm, data).await;
    }
    if let Some(ssh) = live.ssh.take() {
        ssh.close().await;
    }
    if let Some(server) = live.http.take() {
        server.shutdown().await;
    }

    let policy = Policy {
        vm_retain: plan.outputs.vm_retain,
        vm_force_delete: plan.outputs.vm_force_delete,
        keep_on_error,
    };
    if !ctx.ledger.entries().is_empty() {
        ctx.out.say("Cleaning up...").await;
    }
    let remover = PrismRemover {
        client: ctx.prism.clone(),
        timeout: DELETE_TIMEOUT,
    };
    let cleanup = |outcome, policy| {
        ctx.ledger.cleanup(
            outcome,
            policy,
            &remover,
            &ctx.out,
            &ends.stop_cleanup,
            ends.cleanup_deadline,
        )
    };
    let mut report = cleanup(outcome, policy).await;
    if outcome == Outcome::Succeeded && ctx.cancel.is_cancelled() {
        // Cancelled while the successful build was cleaning up: its outputs would be dropped
        // by Packer unnamed, so they go the way of any cancelled build's, and say so.
        let late = late_cancel(&ctx);
        let (keep_on_error, _) = after_failure(&ctx, plan.on_error, Some(&late)).await;
        for (entry, _) in report.kept.drain(..) {
            ctx.ledger.record(entry);
        }
        let policy = Policy {
            keep_on_error,
            ..policy
        };
        report = cleanup(Outcome::Cancelled, policy).await;
        ctx.ledger.close(&report);
        return Err(BuildError::Cancelled.to_string());
    }
    ctx.ledger.close(&report);
    match result {
        Err(f) => Err(ctx.out.redact(&f.error.to_string())),
        Ok(made) => Ok(artifact(&ctx, &plan, &live, made, &report).await),
    }
}

/// A cancel that came after the last step, named after it.
fn late_cancel(ctx: &Ctx) -> Failed {
    Failed {
        step: ctx
            .ran()
            .last()
            .copied()
            .unwrap_or(crate::context::Step::Prepare),
        error: BuildError::Cancelled,
    }
}

/// What Packer gets back: the outputs that survived cleanup.
async fn artifact(
    ctx: &Ctx,
    plan: &BuildPlan,
    live: &Live,
    made: Made,
    report: &CleanupReport,
) -> Option<Arc<NutanixArtifact>> {
    let deleted = |id: &str| report.deleted.iter().any(|e| e.id == id);
    let kept_vm = report.kept.iter().any(|(e, _)| e.kind == Kind::Vm);
    let mut generated: BTreeMap<String, rmpv::Value> =
        hook_data(&plan.config, &live.facts).into_iter().collect();
    for (k, v) in generated_data(&live.facts) {
        generated.insert(k, rmpv::Value::from(v));
    }
    let artifact = NutanixArtifact {
        images: made
            .images
            .into_iter()
            .filter(|i| !deleted(&i.image.uuid))
            .collect(),
        files: made
            .files
            .into_iter()
            .filter(|f| !deleted(&f.path.display().to_string()))
            .collect(),
        vm: kept_vm.then_some(made.vm),
        template: made.template.filter(|t| !deleted(&t.uuid)),
        ova: made
            .ova
            .filter(|a| !deleted(&a.uuid))
            .map(|a| crate::entities::Named {
                uuid: a.uuid,
                name: a.name,
            }),
        cluster: made.cluster,
        generated,
        client: ctx.prism.clone(),
    };
    if artifact.is_empty() {
        ctx.out
            .say("The build produced no image, template, OVA, file or VM (image_skip = true): no artifact")
            .await;
        return None;
    }
    Some(Arc::new(artifact))
}

/// Names what builds that never finished (killed plugin) or could not clean up left behind,
/// and removes their partial downloads.
async fn report_dead_runs(out: &Reporter, dir: &std::path::Path) {
    let dir = dir.to_path_buf();
    let found = tokio::task::spawn_blocking(move || journal::leftovers(&dir))
        .await
        .unwrap_or_default();
    for left in found {
        let run = &left.record.run;
        for part in &left.removed_parts {
            out.message(format!(
                "Removed {} (a partial download of build '{}', started {}, that did not finish)",
                part.display(),
                run.build_name,
                run.started_at
            ))
            .await;
        }
        if left.record.entries.is_empty() {
            continue;
        }
        let how = if left.record.finished {
            "could not remove"
        } else {
            "was stopped before it could clean up (the plugin process ended) and may have left"
        };
        let list: Vec<String> = left.record.entries.iter().map(|e| e.to_string()).collect();
        out.error(format!(
            "Warning: build '{}' (started {}, on Prism Central {}) {how}: {}. Delete them by hand; the list is in {}",
            run.build_name,
            run.started_at,
            run.prism,
            list.join(", "),
            left.path.display()
        ))
        .await;
    }
}

/// What `-on-error` asks for after a failure or cancel: `(keep everything, run the
/// error-cleanup provisioner)`. Says what happened first.
async fn after_failure(ctx: &Ctx, on_error: OnError, failure: Option<&Failed>) -> (bool, bool) {
    match failure {
        None => (false, false),
        Some(Failed {
            error: BuildError::Cancelled,
            ..
        }) => {
            // Packer's runner skips cleanup on interrupt only with abort-like modes.
            let keep = matches!(on_error, OnError::Abort | OnError::RunCleanupProvisioner);
            let next = if keep {
                "keeping what was created (-on-error)"
            } else {
                "cleaning up"
            };
            ctx.out.error(format!("Build cancelled: {next}...")).await;
            (keep, false)
        }
        Some(Failed { step, error }) => {
            ctx.out
                .error(format!("Step \"{}\" failed: {error}", step.name()))
                .await;
            match on_error {
                OnError::Cleanup => (false, true),
                OnError::Abort => (true, false),
                OnError::RunCleanupProvisioner => (true, true),
                OnError::Ask => {
                    let keep = ask_abort(ctx).await;
                    (keep, !keep)
                }
            }
        }
    }
}

/// `-on-error=ask`: the SDK's question, without "retry" (the steps are not restartable).
/// Returns true to abort without cleanup.
async fn ask_abort(b: &Ctx) -> bool {
    for _ in 0..5 {
        if b.cancel.is_cancelled() {
            return false;
        }
        let answer = tokio::select! {
            _ = b.cancel.cancelled() => return false,
            a = b.out.ask("[c] Clean up and exit, [a] abort without cleanup?") => a,
        };
        match answer {
            Err(e) => {
                tracing::warn!(error = %e, "could not ask; cleaning up");
                return false;
            }
            Ok(line) => match line
                .trim()
                .to_ascii_lowercase()
                .chars()
                .next()
                .unwrap_or('c')
            {
                'c' => return false,
                'a' => return true,
                _ => b.out.say(format!("Incorrect input: {line:?}")).await,
            },
        }
    }
    false
}
