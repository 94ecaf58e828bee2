//! The communicators the build hands to Packer's provisioners: SSH (the `ssh-communicator`
//! crate behind Packer's `Communicator` trait) and "none" (provisioners that run locally still
//! work; anything that needs the VM gets a clear error instead of a crash).

use async_trait::async_trait;
use packer_rpc::{BoxReader, BoxWriter, Communicator, FileInfo, RemoteCommand};
use ssh_communicator::SshCommunicator;
use tokio::sync::oneshot;

use crate::plan::BuildPlan;
use crate::ssh_key::BuildKeys;

/// `communicator = "none"`: there is no connection to the VM.
pub(crate) struct NoneCommunicator;

const NONE: &str = "communicator = \"none\": this build has no connection to the VM, so provisioners that run on it (shell, file, ...) cannot work; use shell-local, or set communicator = \"ssh\"";

#[async_trait]
impl Communicator for NoneCommunicator {
    async fn start(&self, _cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, String> {
        Err(NONE.to_string())
    }
    async fn upload(
        &self,
        _dst: &str,
        _data: BoxReader,
        _info: Option<FileInfo>,
    ) -> Result<(), String> {
        Err(NONE.to_string())
    }
    async fn upload_dir(&self, _dst: &str, _src: &str, _exclude: &[String]) -> Result<(), String> {
        Err(NONE.to_string())
    }
    async fn download(&self, _src: &str, _out: BoxWriter) -> Result<(), String> {
        Err(NONE.to_string())
    }
    async fn download_dir(
        &self,
        _src: &str,
        _dst: &str,
        _exclude: &[String],
    ) -> Result<(), String> {
        Err(NONE.to_string())
    }
}

/// The SSH communicator, seen through Packer's trait. Error texts are redacted.
pub(crate) struct SshAdapter {
    inner: SshCommunicator,
    secrets: Vec<String>,
}

impl SshAdapter {
    /// Wraps a connected communicator.
    pub(crate) fn new(inner: SshCommunicator, secrets: Vec<String>) -> Self {
        Self { inner, secrets }
    }

    fn err(&self, e: ssh_communicator::SshError) -> String {
        nutanix_config::redact(&e.to_string(), &self.secrets)
    }

    /// Says goodbye to the server.
    pub(crate) async fn close(&self) {
        self.inner.close().await;
    }
}

#[async_trait]
impl Communicator for SshAdapter {
    async fn start(&self, cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, String> {
        let cmd = ssh_communicator::RemoteCommand {
            command: cmd.command,
            stdin: cmd.stdin,
            stdout: cmd.stdout,
            stderr: cmd.stderr,
        };
        self.inner.start(cmd).await.map_err(|e| self.err(e))
    }

    async fn upload(
        &self,
        dst: &str,
        data: BoxReader,
        info: Option<FileInfo>,
    ) -> Result<(), String> {
        let info = info.map(|i| ssh_communicator::FileInfo {
            name: i.name,
            size: i.size,
            mode: i.mode,
            mod_time: i.mod_time.map(std::time::SystemTime::from),
        });
        self.inner
            .upload(dst, data, info)
            .await
            .map_err(|e| self.err(e))
    }

    async fn upload_dir(&self, dst: &str, src: &str, exclude: &[String]) -> Result<(), String> {
        self.inner
            .upload_dir(dst, src, exclude)
            .await
            .map_err(|e| self.err(e))
    }

    async fn download(&self, src: &str, out: BoxWriter) -> Result<(), String> {
        self.inner.download(src, out).await.map_err(|e| self.err(e))
    }

    async fn download_dir(&self, src: &str, dst: &str, exclude: &[String]) -> Result<(), String> {
        self.inner
            .download_dir(src, dst, exclude)
            .await
            .map_err(|e| self.err(e))
    }
}

/// What must never reach a message from the communicator: the template's secrets plus the
/// build's private key.
pub(crate) fn secrets(plan: &BuildPlan, keys: Option<&BuildKeys>) -> Vec<String> {
    let mut out = plan.secrets();
    if let Some(k) = keys.filter(|k| !k.private_key().is_empty()) {
        out.push(k.private_key().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn none_communicator_explains_itself() {
        let err = NoneCommunicator
            .upload_dir("/tmp", "/x", &[])
            .await
            .unwrap_err();
        assert!(err.contains("communicator = \"none\""), "{err}");
    }
}
