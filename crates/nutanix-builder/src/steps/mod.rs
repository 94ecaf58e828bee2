//! The build steps, one module each, run in the order [`plan`] gives. A step reads the
//! template and what earlier steps found ([`BuildState`]), reports through the [`Reporter`], and
//! records everything it creates in the [`Ledger`] before asking Prism to create it. Steps have
//! no cleanup code of their own: the ledger's rules do all of it, once, at the end.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use nutanix_config::{Communicator, Config};
use packer_rpc::CancellationToken;

use super::error::BuildError;
use super::ledger::Ledger;
use super::report::{Reporter, TaskWatch};
use super::state::BuildState;

pub(crate) mod clean_vm;
pub(crate) mod clear_keys;
pub(crate) mod connect;
pub(crate) mod create_images;
pub(crate) mod create_vm;
pub(crate) mod export;
pub(crate) mod http;
pub(crate) mod iso;
pub(crate) mod ova;
pub(crate) mod preflight;
pub(crate) mod provision;
pub(crate) mod resolve;
pub(crate) mod shutdown;
pub(crate) mod source_images;
pub(crate) mod template;
pub(crate) mod upload;
pub(crate) mod wait_ip;

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

/// Everything a step works with.
pub(crate) struct Build {
    /// The prepared template.
    pub(crate) cfg: Arc<Config>,
    /// The one Prism client of the build.
    pub(crate) prism: prism::PrismClient,
    /// Packer's terminal, redacting.
    pub(crate) out: Reporter,
    /// Fires when Packer cancels the build.
    pub(crate) cancel: CancellationToken,
    /// Packer's provisioners.
    pub(crate) hooks: Arc<dyn Hooks>,
    /// What earlier steps found and made.
    pub(crate) st: BuildState,
    /// Everything created so far.
    pub(crate) ledger: Arc<Ledger>,
    /// `PACKER_RUN_UUID`.
    pub(crate) run_uuid: String,
    /// The SSH connection, to close it at the end.
    pub(crate) ssh: Option<Arc<super::comm::SshAdapter>>,
    /// The HTTP server and how the VM reaches it, while it runs.
    pub(crate) http: Option<(cdrom::HttpServer, super::hookdata::HttpInfo)>,
    /// When the build started.
    pub(crate) started: std::time::Instant,
}

/// Longest wait for an ordinary Prism task (the Go plugin's v3 limit).
pub(crate) const TASK_TIMEOUT: Duration = Duration::from_secs(600);

/// How long a template or OVA may take to show up in Prism's lists after its task succeeded.
pub(crate) const APPEAR_TIMEOUT: Duration = Duration::from_secs(60);

/// Longest wait for a template or OVA task (the Go plugin's limit for them), unless
/// nutanix_transfer_timeout is longer.
pub(crate) const LONG_TASK_TIMEOUT: Duration = Duration::from_secs(3600);

impl Build {
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
            .map_err(|e| BuildError::prism(purpose, e))
    }

    /// A `Wait` for operations that wait internally (update, power), with the build's cancel.
    pub(crate) fn wait(&self, timeout: Duration) -> prism::Wait {
        prism::Wait::new(timeout).with_cancel(self.cancel.clone())
    }

    /// Sends the create request of an entity already in the ledger under `id` (cancellable):
    /// a refusal (4xx) proves nothing was made, so the entry is dropped; an accepted request
    /// moves it to [`Stage::Accepted`](super::ledger::Stage::Accepted).
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
        self.ledger.advance(id, super::ledger::Stage::Accepted);
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
            let found = self
                .cancellable(async { look().await.map_err(|e| self.prism_err(step, e)) })
                .await?;
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
}

/// One step of the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Refuse what this version cannot do, before anything is created.
    Preflight,
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
            Step::Preflight => "check template",
            Step::Resolve => "resolve references",
            Step::SourceImages => "prepare source images",
            Step::CdIso => "create CD",
            Step::HttpServer => "start HTTP server",
            Step::CreateVm => "create VM",
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

/// The steps a template needs, in order.
pub(crate) fn plan(cfg: &Config) -> Vec<Step> {
    let mut steps = vec![Step::Preflight, Step::Resolve, Step::SourceImages];
    if !cfg.cd.cd_files.is_empty() || !cfg.cd.cd_content.is_empty() {
        steps.push(Step::CdIso);
    }
    if cfg.http.http_directory.is_some() || !cfg.http.http_content.is_empty() {
        steps.push(Step::HttpServer);
    }
    steps.push(Step::CreateVm);
    // Without a communicator nothing needs the address, and a guest without an agent or DHCP
    // would make the build wait for ip_wait_timeout for nothing.
    if cfg.comm.communicator != Communicator::None && !cfg.vm.vm_nics.is_empty() {
        steps.push(Step::WaitIp);
    }
    steps.extend([Step::Connect, Step::Provision]);
    if cfg.comm.communicator == Communicator::Ssh && cfg.comm.ssh.ssh_clear_authorized_keys {
        steps.push(Step::ClearKeys);
    }
    steps.push(Step::Shutdown);
    if cfg.vm.vm_clean.cdrom {
        steps.push(Step::CleanVm);
    }
    if !cfg.image_skip {
        steps.push(Step::CreateImages);
        if cfg.image_export {
            steps.push(Step::Export);
        }
    }
    if cfg.template.create {
        steps.push(Step::Template);
    }
    if cfg.ova.create || cfg.ova.export {
        steps.push(Step::CreateOva);
        if cfg.ova.export {
            steps.push(Step::ExportOva);
        }
    }
    steps
}

/// Runs one step.
pub(crate) async fn run_step(b: &mut Build, step: Step) -> Result<(), BuildError> {
    match step {
        Step::Preflight => preflight::run(b).await,
        Step::Resolve => resolve::run(b).await,
        Step::SourceImages => source_images::run(b).await,
        Step::CdIso => iso::run(b).await,
        Step::HttpServer => http::run(b).await,
        Step::CreateVm => create_vm::run(b).await,
        Step::WaitIp => wait_ip::run(b).await,
        Step::Connect => connect::run(b).await,
        Step::Provision => provision::run(b).await,
        Step::ClearKeys => clear_keys::run(b).await,
        Step::Shutdown => shutdown::run(b).await,
        Step::CleanVm => clean_vm::run(b).await,
        Step::CreateImages => create_images::run(b).await,
        Step::Export => export::run(b).await,
        Step::Template => template::run(b).await,
        Step::CreateOva => ova::run(b).await,
        Step::ExportOva => export::run_ova(b).await,
    }
}
