//! The glue to Packer's plugin RPC: [`packer_rpc::Communicator`] for [`WinRmCommunicator`], so
//! a builder can hand it straight to `Hook::run`. Errors become the plain strings Packer shows.

use packer_rpc::{BoxReader, BoxWriter, Communicator, FileInfo, RemoteCommand};
use tokio::sync::oneshot;

use crate::WinRmCommunicator;

#[async_trait::async_trait]
impl Communicator for WinRmCommunicator {
    async fn start(&self, cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, String> {
        let cmd = crate::RemoteCommand {
            command: cmd.command,
            stdin: cmd.stdin,
            stdout: cmd.stdout,
            stderr: cmd.stderr,
        };
        WinRmCommunicator::start(self, cmd)
            .await
            .map_err(|e| e.to_string())
    }

    async fn upload(
        &self,
        dst: &str,
        data: BoxReader,
        info: Option<FileInfo>,
    ) -> Result<(), String> {
        let info = info.map(|fi| crate::FileInfo {
            name: fi.name,
            size: fi.size,
        });
        WinRmCommunicator::upload(self, dst, data, info.as_ref())
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn upload_dir(&self, dst: &str, src: &str, exclude: &[String]) -> Result<(), String> {
        WinRmCommunicator::upload_dir(self, dst, src, exclude)
            .await
            .map_err(|e| e.to_string())
    }

    async fn download(&self, src: &str, out: BoxWriter) -> Result<(), String> {
        WinRmCommunicator::download(self, src, out)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn download_dir(&self, src: &str, dst: &str, exclude: &[String]) -> Result<(), String> {
        WinRmCommunicator::download_dir(self, src, dst, exclude)
            .await
            .map_err(|e| e.to_string())
    }
}
