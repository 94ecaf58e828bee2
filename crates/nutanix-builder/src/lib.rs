//! The `nutanix` build: what `Builder.Run` does, from resolving names to returning the artifact.
//!
//! ```text
//! check template → resolve references → source images → [CD] → create VM → [wait for IP]
//!   → connect → provision → shut down → [remove CD-ROMs] → [images → [export]]
//!   → [VM template] → [OVA → [OVA export]] → cleanup ledger (success, failure and cancel alike) → artifact
//! ```
//!
//! Layout: [`steps`] (one module per step, run by [`execute`]), [`ledger`] (what was created
//! and the rules for deleting it), [`ip`] (address selection), [`spec`] (the VM request),
//! [`hookdata`] and [`artifact`] (what Packer gets back), [`report`] (redacted output, progress),
//! [`comm`] (communicators), [`client`] (the Prism client). The pure parts are tested where they
//! are; [`tests`] runs whole builds against the simulator.

mod artifact;
mod builder;
mod client;
mod comm;
mod error;
mod hookdata;
mod interrupts;
mod ip;
mod journal;
mod ledger;
mod report;
mod spec;
mod state;
mod steps;
mod temp_key;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use nutanix_config::Config;
use packer_rpc::{Artifact, CancellationToken, RunContext};

use artifact::NutanixArtifact;
use error::BuildError;
use ledger::{Kind, Ledger, Outcome, Policy, PrismRemover};
use report::{Console, PackerConsole, Reporter};
use steps::{Build, Hooks, PackerHooks, Step};

/// Longest wait for one deletion at cleanup.
const DELETE_TIMEOUT: Duration = Duration::from_secs(600);

/// Longest cleanup, all deletions together: a deletion Prism queues behind a hung task must not
/// hold the build forever (a second Ctrl-C ends it sooner).
const CLEANUP_DEADLINE: Duration = Duration::from_secs(900);

pub use builder::NutanixBuilder;

/// `Builder.Run` for a prepared configuration.
pub(crate) async fn run(cfg: Config, ctx: RunContext) -> Result<Option<Arc<dyn Artifact>>, String> {
    let console: Arc<dyn Console> = Arc::new(PackerConsole(ctx.ui.clone()));
    let hooks: Arc<dyn Hooks> = Arc::new(PackerHooks(ctx.hook.clone()));
    let run_uuid = std::env::var("PACKER_RUN_UUID").unwrap_or_default();
    let client = match client::prism_client(&cfg) {
        Ok(c) => c,
        Err(e) => {
            let message = nutanix_config::redact(&e.to_string(), &cfg.secrets());
            ctx.ui.error(&message).await;
            return Err(message);
        }
    };
    let stop_cleanup = interrupts::watch(ctx.cancel.clone());
    let ends = Ends {
        cancel: ctx.cancel,
        stop_cleanup,
        cleanup_deadline: CLEANUP_DEADLINE,
        journal_dir: journal::default_dir(),
    };
    let finished = execute(cfg, client, console, hooks, ends, run_uuid).await?;
    Ok(finished.map(|a| a as Arc<dyn Artifact>))
}

/// How `-on-error` wants a failed build handled (Packer's plugin SDK runner semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnError {
    /// `cleanup` (the default): clean up.
    Cleanup,
    /// `abort`: keep everything, run no cleanup provisioner.
    Abort,
    /// `ask`: ask the user.
    Ask,
    /// `run-cleanup-provisioner`: run the cleanup provisioner, keep everything else.
    RunCleanupProvisioner,
}

impl OnError {
    fn parse(s: &str) -> Self {
        match s {
            "abort" => OnError::Abort,
            "ask" => OnError::Ask,
            "run-cleanup-provisioner" => OnError::RunCleanupProvisioner,
            _ => OnError::Cleanup,
        }
    }
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
    cfg: Config,
    client: prism::PrismClient,
    console: Arc<dyn Console>,
    hooks: Arc<dyn Hooks>,
    ends: Ends,
    run_uuid: String,
) -> Result<Option<Arc<NutanixArtifact>>, String> {
    let Ends {
        cancel,
        stop_cleanup,
        cleanup_deadline,
        journal_dir,
    } = ends;
    let out = Reporter::new(console, cfg.secrets());
    let ledger = match &journal_dir {
        Some(dir) => {
            report_dead_runs(&out, dir).await;
            let prism = format!(
                "{}:{}",
                cfg.cluster.nutanix_endpoint, cfg.cluster.nutanix_port
            );
            Ledger::journaled(journal::Journal::new(
                dir,
                &run_uuid,
                &cfg.packer.packer_build_name,
                prism,
            ))
        }
        None => Ledger::default(),
    };
    let mut b = Build {
        cfg: Arc::new(cfg),
        prism: client,
        out,
        cancel,
        hooks,
        st: state::BuildState::default(),
        ledger: Arc::new(ledger),
        run_uuid,
        ssh: None,
        http: None,
        started: std::time::Instant::now(),
    };

    let mut failure: Option<(Step, BuildError)> = None;
    let mut last = Step::Preflight;
    for step in steps::plan(&b.cfg) {
        last = step;
        if b.cancel.is_cancelled() {
            failure = Some((step, BuildError::Cancelled));
            break;
        }
        tracing::debug!(step = step.name(), "step starts");
        if let Err(e) = steps::run_step(&mut b, step).await {
            let e = if b.cancel.is_cancelled() {
                BuildError::Cancelled
            } else {
                e
            };
            failure = Some((step, e));
            break;
        }
        if b.cfg.packer.packer_debug {
            // `packer build -debug`: the SDK runner's pause between steps.
            let question = format!(
                "Pausing after run of step '{}'. Press enter to continue.",
                step.name()
            );
            tokio::select! {
                _ = b.cancel.cancelled() => {}
                _ = b.out.ask(&question) => {}
            }
        }
    }

    if failure.is_none() && b.cancel.is_cancelled() {
        // Cancelled after the last step: Packer drops an artifact returned after its context
        // was cancelled (never printed, never destroyed), so this build ends cancelled too.
        failure = Some((last, BuildError::Cancelled));
    }
    let outcome = match &failure {
        None => Outcome::Succeeded,
        Some((_, BuildError::Cancelled)) => Outcome::Cancelled,
        Some(_) => Outcome::Failed,
    };
    let (keep_on_error, cleanup_provisioner) = after_failure(&b, failure.as_ref()).await;
    if cleanup_provisioner && b.st.provision_started && !b.st.shutdown_started {
        steps::provision::cleanup(&b).await;
    }
    if let Some(ssh) = b.ssh.take() {
        ssh.close().await;
    }
    let mut http_info = None;
    if let Some((server, info)) = b.http.take() {
        server.shutdown().await;
        http_info = Some(info);
    }
    b.st.comm = None;

    let policy = Policy {
        vm_retain: b.cfg.vm_retain,
        vm_force_delete: b.cfg.vm_force_delete,
        keep_on_error,
    };
    if !b.ledger.entries().is_empty() {
        b.out.say("Cleaning up...").await;
    }
    let remover = PrismRemover {
        client: b.prism.clone(),
        timeout: DELETE_TIMEOUT,
    };
    let mut report = b
        .ledger
        .cleanup(
            outcome,
            policy,
            &remover,
            &b.out,
            &stop_cleanup,
            cleanup_deadline,
        )
        .await;
    if outcome == Outcome::Succeeded && b.cancel.is_cancelled() {
        // Cancelled while the successful build was cleaning up: its outputs would be dropped
        // by Packer unnamed, so they go the way of any cancelled build's, and say so.
        let late = Some((last, BuildError::Cancelled));
        let (keep_on_error, _) = after_failure(&b, late.as_ref()).await;
        for (entry, _) in report.kept.drain(..) {
            b.ledger.record(entry);
        }
        let policy = Policy {
            keep_on_error,
            ..policy
        };
        report = b
            .ledger
            .cleanup(
                Outcome::Cancelled,
                policy,
                &remover,
                &b.out,
                &stop_cleanup,
                cleanup_deadline,
            )
            .await;
        b.ledger.close(&report);
        return Err(BuildError::Cancelled.to_string());
    }
    b.ledger.close(&report);
    if let Some((_, e)) = failure {
        return Err(b.out.redact(&e.to_string()));
    }

    let deleted = |id: &str| report.deleted.iter().any(|e| e.id == id);
    let images: Vec<_> =
        b.st.images
            .iter()
            .filter(|i| !deleted(&i.image.uuid))
            .cloned()
            .collect();
    let files: Vec<_> =
        b.st.files
            .iter()
            .filter(|f| !deleted(&f.path.display().to_string()))
            .cloned()
            .collect();
    let vm = report
        .kept
        .iter()
        .find(|(e, _)| e.kind == Kind::Vm)
        .and_then(|_| b.st.vm.clone());
    let mut generated: BTreeMap<String, rmpv::Value> =
        hookdata::hook_data(&b.cfg, &b.st, http_info.as_ref(), &b.run_uuid)
            .into_iter()
            .collect();
    for (k, v) in hookdata::generated_data(&b.st) {
        generated.insert(k, rmpv::Value::from(v));
    }
    let Some(cluster) = b.st.cluster.clone() else {
        return Ok(None);
    };
    let template = b.st.template.clone().filter(|t| !deleted(&t.uuid));
    let ova =
        b.st.ova
            .as_ref()
            .filter(|a| !deleted(&a.uuid))
            .map(|a| state::Named {
                uuid: a.uuid.clone(),
                name: a.name.clone(),
            });
    let artifact = NutanixArtifact {
        images,
        files,
        vm,
        template,
        ova,
        cluster,
        generated,
        client: b.prism.clone(),
    };
    if artifact.is_empty() {
        b.out
            .say("The build produced no image, template, OVA, file or VM (image_skip = true): no artifact")
            .await;
        return Ok(None);
    }
    Ok(Some(Arc::new(artifact)))
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
async fn after_failure(b: &Build, failure: Option<&(Step, BuildError)>) -> (bool, bool) {
    let on_error = OnError::parse(&b.cfg.packer.packer_on_error);
    match failure {
        None => (false, false),
        Some((_, BuildError::Cancelled)) => {
            // Packer's runner skips cleanup on interrupt only with abort-like modes.
            let keep = matches!(on_error, OnError::Abort | OnError::RunCleanupProvisioner);
            let next = if keep {
                "keeping what was created (-on-error)"
            } else {
                "cleaning up"
            };
            b.out.error(format!("Build cancelled: {next}...")).await;
            (keep, false)
        }
        Some((step, e)) => {
            b.out
                .error(format!("Step \"{}\" failed: {e}", step.name()))
                .await;
            match on_error {
                OnError::Cleanup => (false, true),
                OnError::Abort => (true, false),
                OnError::RunCleanupProvisioner => (true, true),
                OnError::Ask => {
                    let keep = ask_abort(b).await;
                    (keep, !keep)
                }
            }
        }
    }
}

/// `-on-error=ask`: the SDK's question, without "retry" (the steps are not restartable).
/// Returns true to abort without cleanup.
async fn ask_abort(b: &Build) -> bool {
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
