//! What every step works with: the Prism client, Packer's terminal, the cancel token, the
//! ledger and Packer's hooks, plus the waits and the create protocol the steps share.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use packer_rpc::CancellationToken;

use crate::error::BuildError;
use crate::ledger::{Ledger, Stage};
use crate::ui::{Reporter, TaskWatch};

/// Packer's hooks (provisioners), as the build needs them.
#[async_trait]
pub(crate) trait Hooks: Send + Sync {
    /// Runs hook `name` with `data`, giving provisioners `comm`; `Err` is the provisioner's
    /// failure, verbatim.
    async fn run(
        &self,
        name: &str,
        data: packer_rpc::HookData,
        comm: Arc<dyn packer_rpc::Communicator>,
    ) -> Result<(), String>;
}

/// The real hooks: Packer's, over the plugin protocol.
pub(crate) struct PackerHooks(pub(crate) packer_rpc::Hook);

#[async_trait]
impl Hooks for PackerHooks {
    async fn run(
        &self,
        name: &str,
        data: packer_rpc::HookData,
        comm: Arc<dyn packer_rpc::Communicator>,
    ) -> Result<(), String> {
        self.0
            .run(name, data, comm)
            .await
            .map_err(|e| e.to_string())
    }
}

/// Longest wait for an ordinary Prism task (the Go plugin's v3 limit).
pub(crate) const TASK_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a template or OVA may take to show up in Prism's lists after its task succeeded.
pub(crate) const APPEAR_TIMEOUT: Duration = Duration::from_secs(60);

/// One step of the build, as messages and `-debug` pauses name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Output files that must not be overwritten, the SSH key.
    Prepare,
    /// Cluster, subnets, project, GPUs, categories.
    Resolve,
    /// Find, download or upload the images behind `vm_disks`.
    SourceImages,
    /// Build and upload the cd_files/cd_content ISO.
    CdIso,
    /// Serve http_directory / http_content.
    HttpServer,
    /// Create the VM, powered on.
    CreateVm,
    /// Type `boot_command` at the VM's console.
    BootCommand,
    /// Wait for a usable, settled IP address.
    WaitIp,
    /// Connect the communicator.
    Connect,
    /// Run Packer's provisioners.
    Provision,
    /// Remove the temporary SSH key from the guest (`ssh_clear_authorized_keys`).
    ClearKeys,
    /// Stop the VM.
    Shutdown,
    /// Remove CD-ROMs (`vm_clean { cdrom = true }`).
    CleanVm,
    /// One image per data disk.
    CreateImages,
    /// Download the images into output_directory.
    Export,
    /// Make a Prism Central VM template from the VM.
    Template,
    /// Make an OVA of the VM on Prism Central.
    CreateOva,
    /// Download the OVA into output_directory.
    ExportOva,
}

impl Step {
    /// How the step is named in messages (`Step "create VM" failed`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::Prepare => "check template",
            Step::Resolve => "resolve references",
            Step::SourceImages => "prepare source images",
            Step::CdIso => "create CD",
            Step::HttpServer => "start HTTP server",
            Step::CreateVm => "create VM",
            Step::BootCommand => "type boot command",
            Step::WaitIp => "wait for IP",
            Step::Connect => "connect",
            Step::Provision => "provision",
            Step::ClearKeys => "clear temporary SSH key",
            Step::Shutdown => "shut down",
            Step::CleanVm => "remove CD-ROMs",
            Step::CreateImages => "create images",
            Step::Export => "export images",
            Step::Template => "create VM template",
            Step::CreateOva => "create OVA",
            Step::ExportOva => "export OVA",
        }
    }
}

/// A step that did not finish, and why.
#[derive(Debug)]
pub(crate) struct Failed {
    /// The step.
    pub(crate) step: Step,
    /// Why.
    pub(crate) error: BuildError,
}

/// Everything a step works with.
pub(crate) struct Ctx {
    /// The one Prism client of the build.
    pub(crate) prism: prism::PrismClient,
    /// Packer's terminal, redacting.
    pub(crate) out: Reporter,
    /// Fires when Packer cancels the build.
    pub(crate) cancel: CancellationToken,
    /// Packer's provisioners.
    pub(crate) hooks: Arc<dyn Hooks>,
    /// Everything created so far.
    pub(crate) ledger: Arc<Ledger>,
    /// `nutanix_transfer_timeout`.
    pub(crate) transfer_timeout: Duration,
    /// `packer build -debug`: pause after every step.
    pub(crate) debug: bool,
    /// When the build started.
    pub(crate) started: std::time::Instant,
    /// The steps run so far, in order.
    ran: Mutex<Vec<Step>>,
}

impl Ctx {
    /// A context for one build.
    pub(crate) fn new(
        prism: prism::PrismClient,
        out: Reporter,
        cancel: CancellationToken,
        hooks: Arc<dyn Hooks>,
        ledger: Arc<Ledger>,
        transfer_timeout: Duration,
        debug: bool,
    ) -> Self {
        Self {
            prism,
            out,
            cancel,
            hooks,
            ledger,
            transfer_timeout,
            debug,
            started: std::time::Instant::now(),
            ran: Mutex::default(),
        }
    }

    /// Runs one step: not at all once cancelled; a failure during a cancel is the cancel;
    /// with `-debug`, the SDK runner's pause afterwards.
    pub(crate) async fn step<T>(
        &self,
        step: Step,
        work: impl Future<Output = Result<T, BuildError>>,
    ) -> Result<T, Failed> {
        let fail = |error| Failed { step, error };
        if self.cancel.is_cancelled() {
            return Err(fail(BuildError::Cancelled));
        }
        tracing::debug!(step = step.name(), "step starts");
        // On the heap: the pipeline's own state then stays small however large a step's is.
        let out = match Box::pin(work).await {
            Ok(out) => out,
            Err(_) if self.cancel.is_cancelled() => return Err(fail(BuildError::Cancelled)),
            Err(e) => return Err(fail(e)),
        };
        if let Ok(mut ran) = self.ran.lock() {
            ran.push(step);
        }
        if self.debug {
            let question = format!(
                "Pausing after run of step '{}'. Press enter to continue.",
                step.name()
            );
            tokio::select! {
                _ = self.cancel.cancelled() => {}
                _ = self.out.ask(&question) => {}
            }
        }
        Ok(out)
    }

    /// The steps that ran to the end, in order.
    pub(crate) fn ran(&self) -> Vec<Step> {
        self.ran.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Runs `work` unless the build is cancelled first.
    pub(crate) async fn cancellable<T>(
        &self,
        work: impl Future<Output = Result<T, BuildError>>,
    ) -> Result<T, BuildError> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(BuildError::Cancelled),
            out = work => out,
        }
    }

    /// A Prism call, cancellable, its error naming `what`.
    pub(crate) async fn call<T>(
        &self,
        what: &str,
        call: impl Future<Output = Result<T, prism::PrismError>>,
    ) -> Result<T, BuildError> {
        self.cancellable(async { call.await.map_err(|e| self.prism_err(what, e)) })
            .await
    }

    /// Waits for a Prism task (cancellable, with a deadline), showing its progress while it runs.
    pub(crate) async fn wait_task(
        &self,
        task_uuid: &str,
        purpose: &str,
        timeout: Duration,
    ) -> Result<prism::models::Task, BuildError> {
        let watch = TaskWatch::default();
        let wait = prism::Wait::new(timeout)
            .with_cancel(self.cancel.clone())
            .with_progress(watch.callback());
        let work = self.prism.wait_task_with(task_uuid, purpose, &wait);
        self.out
            .with_task_progress(&watch, work)
            .await
            .map_err(|e| self.prism_err(purpose, e))
    }

    /// A `Wait` for operations that wait internally (update, power), with the build's cancel.
    pub(crate) fn wait(&self, timeout: Duration) -> prism::Wait {
        prism::Wait::new(timeout).with_cancel(self.cancel.clone())
    }

    /// Sends the create request of an entity already in the ledger under `id` (cancellable):
    /// a refusal (4xx) proves nothing was made, so the entry is dropped; an accepted request
    /// moves it to [`Stage::Accepted`].
    pub(crate) async fn submit_create<T>(
        &self,
        id: &str,
        step: &str,
        create: impl Future<Output = Result<T, prism::PrismError>>,
    ) -> Result<T, BuildError> {
        let accepted = self
            .cancellable(async {
                create.await.map_err(|e| {
                    if matches!(e.status(), Some(400..=499)) {
                        self.ledger.forget(id);
                    }
                    self.prism_err(step, e)
                })
            })
            .await?;
        self.ledger.advance(id, Stage::Accepted);
        Ok(accepted)
    }

    /// Looks for something Prism just made until it shows up: Prism Central's lists are fed
    /// asynchronously, so an entity can appear a moment after its task succeeded (the Go plugin
    /// looked for a new OVA for a minute). Polls quickly at first, gives up after
    /// [`APPEAR_TIMEOUT`] with `None`.
    pub(crate) async fn until_listed<T, F, Fut>(
        &self,
        step: &str,
        mut look: F,
    ) -> Result<Option<T>, BuildError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, prism::PrismError>>,
    {
        let deadline = tokio::time::Instant::now() + APPEAR_TIMEOUT;
        let mut delay = Duration::from_millis(100);
        loop {
            let found = self.call(step, look()).await?;
            if found.is_some() || tokio::time::Instant::now() + delay > deadline {
                return Ok(found);
            }
            tracing::debug!(step, ?delay, "not listed yet; looking again");
            self.cancellable(async {
                tokio::time::sleep(delay).await;
                Ok(())
            })
            .await?;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// The Prism error of `step`, or `Cancelled` when the build was cancelled meanwhile.
    pub(crate) fn prism_err(&self, step: &str, e: prism::PrismError) -> BuildError {
        if self.cancel.is_cancelled() {
            return BuildError::Cancelled;
        }
        BuildError::prism(step, e)
    }

    /// The longest wait for a template or OVA task: an hour (the Go plugin's limit for them),
    /// or nutanix_transfer_timeout when that is longer.
    pub(crate) fn long_task_timeout(&self) -> Duration {
        self.transfer_timeout.max(Duration::from_secs(3600))
    }
}
