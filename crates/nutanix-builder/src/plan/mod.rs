//! Parse, don't validate: at Prepare the template becomes a [`BuildPlan`], and from then on the
//! types carry what Prepare proved. `nutanix-config` has already checked every option and
//! their combinations; this module adds what only the builder can judge (what this version can
//! do, whether a temporary SSH key can reach the guest, the SSH settings as a whole) and shapes
//! the options into what the steps need: a disk source enum, name-or-UUID references, one boot
//! mode, one communicator, an `OnError`, durations and expanded paths.
//!
//! A template that cannot be built fails here, so `packer validate` says it.

mod boot;
mod comm;
mod outputs;
mod vm;

use std::path::Path;
use std::time::Duration;

use nutanix_config::{Communicator, Config, IpFilter};

pub(crate) use boot::BootPlan;
pub(crate) use comm::{CommPlan, SshKey, SshPlan};
pub(crate) use outputs::{ExistingImages, ImagesPlan, OnError, OutputsPlan, OvaPlan, TemplatePlan};
pub(crate) use vm::{Disk, Firmware, Guest, ImageSource, Ref, Vm};

/// Everything a build needs, as Prepare proved it.
#[derive(Debug, Clone)]
pub struct BuildPlan {
    /// The options as Prepare returned them: only the Prism connection, the boot command and
    /// the hook data read them still.
    pub(crate) config: Config,
    /// The VM.
    pub(crate) vm: Vm,
    /// The communicator.
    pub(crate) comm: CommPlan,
    /// How to wait for the IP: only when something needs it (a communicator without
    /// `ssh_host` / `winrm_host`, and a NIC).
    pub(crate) ip_wait: Option<IpWait>,
    /// The cd_files / cd_content CD.
    pub(crate) cd: Option<CdPlan>,
    /// Typing `boot_command` at the VM's console.
    pub(crate) boot: Option<BootPlan>,
    /// The HTTP server for http_directory / http_content.
    pub(crate) http: Option<cdrom::HttpServe>,
    /// How the VM is stopped.
    pub(crate) shutdown: ShutdownPlan,
    /// Remove every CD-ROM before images are made.
    pub(crate) remove_cdroms: bool,
    /// What the build produces.
    pub(crate) outputs: OutputsPlan,
    /// What survives a failure.
    pub(crate) on_error: OnError,
    /// `packer build -debug`: pause after every step.
    pub(crate) debug: bool,
}

/// How long and for what the build waits for the VM's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IpWait {
    /// `ip_wait_timeout`.
    pub(crate) timeout: Duration,
    /// `ip_settle_timeout`.
    pub(crate) settle: Duration,
    /// `ip_wait_address`.
    pub(crate) filter: IpFilter,
}

/// The CD made from local files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CdPlan {
    /// `cd_files`.
    pub(crate) files: Vec<String>,
    /// `cd_content`.
    pub(crate) content: std::collections::BTreeMap<String, String>,
    /// `cd_label`.
    pub(crate) label: Option<String>,
}

/// How the VM is stopped after provisioning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ShutdownPlan {
    /// `disable_stop_instance`: wait for the guest to stop itself.
    WaitForGuest(Duration),
    /// `shutdown_command` through the communicator, then power off after the timeout.
    Command(String, Duration),
    /// ACPI power button, then power off after the timeout.
    Acpi(Duration),
}

/// Collects what makes a template unbuildable.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<String>);

impl Problems {
    /// Something this version cannot do.
    pub(crate) fn refuse(&mut self, option: impl AsRef<str>, why: impl AsRef<str>) {
        self.0
            .push(format!("{}: {}", option.as_ref(), why.as_ref()));
    }

    /// An option combination that validation should have rejected; reported, never assumed.
    pub(crate) fn inconsistent(&mut self, option: String) {
        self.0.push(format!(
            "{option}: incomplete after validation (please report this as a bug)"
        ));
    }

    /// A problem stated in full.
    pub(crate) fn push(&mut self, problem: String) {
        self.0.push(problem);
    }
}

/// Why a template cannot be built, all problems at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this template cannot be built (nothing was created):\n  * {}", .0.join("\n  * "))]
pub struct Unbuildable(pub Vec<String>);

impl BuildPlan {
    /// The plan for a prepared configuration; `home` expands `~` in paths.
    pub fn new(config: Config, home: Option<&Path>) -> Result<BuildPlan, Unbuildable> {
        let mut p = Problems::default();
        let vm = vm::vm(&config, home, &mut p);
        let comm = comm::plan(&config, home, &mut p);
        let outputs = outputs::plan(&config, &mut p);
        let on_error = OnError::parse(&config.packer.packer_on_error, &mut p);
        let (Some(vm), Some(comm), Some(outputs), Some(on_error)) = (vm, comm, outputs, on_error)
        else {
            return Err(Unbuildable(p.0));
        };
        let c = &config;
        // ssh_host / winrm_host name where to connect: the VM's own address is not needed (it
        // may never report one, e.g. a static address Prism does not learn).
        let host_given = match &comm {
            CommPlan::Ssh(s) => s.host.is_some(),
            CommPlan::WinRm(w) => w.host.is_some(),
            CommPlan::None => false,
        };
        let ip_wait =
            (c.comm.communicator != Communicator::None && !vm.nics.is_empty() && !host_given)
                .then_some(IpWait {
                    timeout: c.wait_ip.ip_wait_timeout,
                    settle: c.wait_ip.ip_settle_timeout,
                    filter: c.wait_ip.ip_wait_address,
                });
        let cd = (!c.cd.cd_files.is_empty() || !c.cd.cd_content.is_empty()).then(|| CdPlan {
            files: c.cd.cd_files.clone(),
            content: c.cd.cd_content.clone(),
            label: c.cd.cd_label.clone(),
        });
        let timeout = c.shutdown.shutdown_timeout;
        let shutdown = match (&c.shutdown.shutdown_command, &comm) {
            _ if c.disable_stop_instance => ShutdownPlan::WaitForGuest(timeout),
            (Some(cmd), CommPlan::Ssh(_) | CommPlan::WinRm(_)) => {
                ShutdownPlan::Command(cmd.clone(), timeout)
            }
            _ => ShutdownPlan::Acpi(timeout),
        };
        let http = match (&c.http.http_directory, c.http.http_content.is_empty()) {
            (None, true) => None,
            (directory, _) => match c.http.http_bind_address.parse() {
                Ok(bind_address) => Some(cdrom::HttpServe {
                    directory: directory.as_ref().map(std::path::PathBuf::from),
                    content: c.http.http_content.clone(),
                    bind_address,
                    port_min: c.http.http_port_min,
                    port_max: c.http.http_port_max,
                }),
                Err(_) => {
                    p.inconsistent("http_bind_address".into());
                    return Err(Unbuildable(p.0));
                }
            },
        };
        if !p.0.is_empty() {
            return Err(Unbuildable(p.0));
        }
        let key_interval_env = std::env::var(boot_command::vnc::KEY_INTERVAL_ENV).ok();
        let boot = boot::plan(&c.boot, key_interval_env.as_deref());
        Ok(BuildPlan {
            boot,
            http,
            remove_cdroms: c.vm.vm_clean.cdrom,
            debug: c.packer.packer_debug,
            vm,
            comm,
            ip_wait,
            cd,
            shutdown,
            outputs,
            on_error,
            config,
        })
    }

    /// The communicator part alone, problems or not (tests of the SSH key handling).
    #[cfg(test)]
    pub(crate) fn comm_of(config: &Config) -> Option<CommPlan> {
        comm::plan(config, None, &mut Problems::default())
    }

    /// The secrets no message may show.
    pub(crate) fn secrets(&self) -> Vec<String> {
        self.config.secrets()
    }
}
