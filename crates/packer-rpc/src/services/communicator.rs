//! Packer's `Communicator`: the builder's way into the machine, served to Packer's provisioners on
//! each hook stream (docs/design/plugin-protocol.md, 'Communicator').

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rmpv::Value;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::broker::{BoxStream, Broker};
use crate::codec::NIL_BODY;
use crate::msgpack::view::{self, Fields};
use crate::server::{CallError, Service};

/// A byte source handed to a communicator (stdin, upload contents).
pub type BoxReader = Box<dyn AsyncRead + Send + Unpin>;
/// A byte sink handed to a communicator (stdout, stderr, download contents).
pub type BoxWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// Packer's exit status for "the connection to the machine dropped" (`packer.CmdDisconnect`).
pub const CMD_DISCONNECT: i64 = 2_300_218;

/// A command a provisioner wants run on the machine. Streams are `None` when Packer has no
/// reader/writer for them.
pub struct RemoteCommand {
    /// The shell command line.
    pub command: String,
    /// Data for the command's stdin, until EOF.
    pub stdin: Option<BoxReader>,
    /// Where the command's stdout goes. Drop (or shut down) it when the command ends: Packer
    /// waits for EOF on stdout and stderr before it reads the exit status.
    pub stdout: Option<BoxWriter>,
    /// Where the command's stderr goes; same rule as stdout.
    pub stderr: Option<BoxWriter>,
}

/// File metadata Packer sends with an upload (the SDK's `fileInfo{N, S, M, T}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// Base name.
    pub name: String,
    /// Size in bytes.
    pub size: i64,
    /// Go `os.FileMode` bits (permissions in the low 9 bits, type bits high).
    pub mode: u32,
    /// Modification time; `None` is Go's zero time.
    pub mod_time: Option<DateTime<Utc>>,
}

/// What a builder provides so provisioners can reach the machine (SSH, WinRM, local).
/// Errors are plain strings: they go to the user verbatim through Packer.
#[async_trait::async_trait]
pub trait Communicator: Send + Sync + 'static {
    /// Returns once the command has STARTED; the receiver yields the exit status when it ends
    /// ([`CMD_DISCONNECT`] when the connection dropped).
    async fn start(&self, cmd: RemoteCommand) -> Result<oneshot::Receiver<i64>, String>;
    /// Writes `data` (until EOF) to the file `dst` on the machine.
    async fn upload(
        &self,
        dst: &str,
        data: BoxReader,
        info: Option<FileInfo>,
    ) -> Result<(), String>;
    /// Copies the local directory `src` to `dst` on the machine, skipping `exclude` patterns.
    async fn upload_dir(&self, dst: &str, src: &str, exclude: &[String]) -> Result<(), String>;
    /// Streams the file `src` on the machine into `out`.
    async fn download(&self, src: &str, out: BoxWriter) -> Result<(), String>;
    /// Copies the directory `src` on the machine to the local `dst`, skipping `exclude` patterns.
    async fn download_dir(&self, src: &str, dst: &str, exclude: &[String]) -> Result<(), String>;
}

/// Decodes the SDK's `*fileInfo` (nil → `None`).
pub(crate) fn decode_file_info(v: &Value) -> Result<Option<FileInfo>, view::ViewError> {
    if v.is_nil() {
        return Ok(None);
    }
    let f = Fields::new("fileInfo", v, &["N", "S", "M", "T"])?;
    Ok(Some(FileInfo {
        name: f.string("N")?,
        size: f.i64("S")?,
        mode: f.u32("M")?,
        mod_time: view::time("fileInfo.T", f.get("T"))?,
    }))
}

/// Encodes a [`FileInfo`] as the SDK's `fileInfo` (for tests and for a future client side).
pub fn encode_file_info(w: &mut crate::msgpack::Writer, info: Option<&FileInfo>) {
    match info {
        None => {
            w.nil();
        }
        Some(fi) => {
            w.map_len(4).str("N").str(&fi.name);
            w.str("S").int(fi.size);
            w.str("M").uint(u64::from(fi.mode));
            w.str("T").time(fi.mod_time);
        }
    }
}

/// The `Communicator` service on a hook stream.
pub(crate) struct CommunicatorService {
    comm: Arc<dyn Communicator>,
    broker: Broker,
}

impl CommunicatorService {
    pub(crate) fn new(comm: Arc<dyn Communicator>, broker: Broker) -> Self {
        Self { comm, broker }
    }

    async fn dial(&self, id: u32, what: &str) -> Result<BoxStream, CallError> {
        // Broker id 0 is the root stream, never a sub-stream Packer accepts.
        if id == 0 {
            return Err(CallError::Failed(format!(
                "no {what} stream id (0) in the request"
            )));
        }
        self.broker
            .dial(id)
            .await
            .map_err(|e| CallError::Failed(format!("dialing {what} stream {id}: {e}")))
    }

    async fn start(&self, args: Value) -> Result<Vec<u8>, CallError> {
        let f = Fields::new(
            "CommunicatorStartArgs",
            &args,
            &[
                "Command",
                "StdinStreamId",
                "StdoutStreamId",
                "StderrStreamId",
                "ResponseStreamId",
            ],
        )
        .map_err(CallError::failed)?;
        let command = f.string("Command").map_err(CallError::failed)?;
        let ids = [
            f.u32("StdinStreamId").map_err(CallError::failed)?,
            f.u32("StdoutStreamId").map_err(CallError::failed)?,
            f.u32("StderrStreamId").map_err(CallError::failed)?,
        ];
        let response_id = f.u32("ResponseStreamId").map_err(CallError::failed)?;

        // Dial in the SDK's order: stdin, stdout, stderr, then the response stream.
        let mut stdin_stream = None;
        let mut outputs = Vec::new();
        let mut stdout = None;
        let mut stderr = None;
        if ids[0] != 0 {
            stdin_stream = Some(self.dial(ids[0], "stdin").await?);
        }
        for (id, slot, what) in [
            (ids[1], &mut stdout, "stdout"),
            (ids[2], &mut stderr, "stderr"),
        ] {
            if id != 0 {
                let stream = self.dial(id, what).await?;
                let (writer, pump) = output_pipe(stream);
                *slot = Some(writer);
                outputs.push(pump);
            }
        }
        let mut response = self.dial(response_id, "response").await?;

        // stdin: the command reads our half; we keep the write half to close it at the end.
        let (stdin, mut stdin_closer) = match stdin_stream {
            Some(s) => {
                let (r, w) = tokio::io::split(s);
                (Some(Box::new(r) as BoxReader), Some(w))
            }
            None => (None, None),
        };
        let cmd = RemoteCommand {
            command,
            stdin,
            stdout,
            stderr,
        };
        let exited = match self.comm.start(cmd).await {
            Ok(exited) => exited,
            Err(e) => {
                let _ = response.shutdown().await;
                return Err(CallError::Failed(e));
            }
        };

        tokio::spawn(async move {
            let status = exited.await.unwrap_or_else(|_| {
                tracing::warn!("communicator dropped the exit status; reporting a disconnect");
                CMD_DISCONNECT
            });
            tracing::info!(status, "remote command ended");
            let finished = packer_schema::gob::encode_command_finished(status);
            let write = async {
                response.write_all(&finished).await?;
                response.flush().await?;
                response.shutdown().await
            };
            if let Err(e) = write.await {
                tracing::warn!(error = %e, "could not report the exit status to Packer");
            }
            for pump in outputs {
                let _ = pump.await;
            }
            if let Some(w) = stdin_closer.as_mut() {
                let _ = w.shutdown().await;
            }
        });
        Ok(NIL_BODY.to_vec())
    }

    async fn upload(&self, args: Value) -> Result<Vec<u8>, CallError> {
        let f = Fields::new(
            "CommunicatorUploadArgs",
            &args,
            &["Path", "ReaderStreamId", "FileInfo"],
        )
        .map_err(CallError::failed)?;
        let path = f.string("Path").map_err(CallError::failed)?;
        let id = f.u32("ReaderStreamId").map_err(CallError::failed)?;
        let info = decode_file_info(f.get("FileInfo")).map_err(CallError::failed)?;
        let stream = self.dial(id, "upload").await?;
        let (r, mut w) = tokio::io::split(stream);
        let result = self.comm.upload(&path, Box::new(r), info).await;
        let _ = w.shutdown().await;
        result.map_err(CallError::Failed)?;
        Ok(NIL_BODY.to_vec())
    }

    async fn download(&self, args: Value) -> Result<Vec<u8>, CallError> {
        let f = Fields::new(
            "CommunicatorDownloadArgs",
            &args,
            &["Path", "WriterStreamId"],
        )
        .map_err(CallError::failed)?;
        let path = f.string("Path").map_err(CallError::failed)?;
        let id = f.u32("WriterStreamId").map_err(CallError::failed)?;
        let stream = self.dial(id, "download").await?;
        let (writer, pump) = output_pipe(stream);
        let result = self.comm.download(&path, writer).await;
        // The stream is closed (EOF for Packer) before we reply, as the SDK's deferred Close does.
        let _ = pump.await;
        result.map_err(CallError::Failed)?;
        Ok(NIL_BODY.to_vec())
    }

    async fn dir(&self, args: Value, upload: bool) -> Result<Vec<u8>, CallError> {
        let what = if upload {
            "CommunicatorUploadDirArgs"
        } else {
            "CommunicatorDownloadDirArgs"
        };
        let f = Fields::new(what, &args, &["Dst", "Src", "Exclude"]).map_err(CallError::failed)?;
        let dst = f.string("Dst").map_err(CallError::failed)?;
        let src = f.string("Src").map_err(CallError::failed)?;
        let exclude = f.strings("Exclude").map_err(CallError::failed)?;
        let result = if upload {
            self.comm.upload_dir(&dst, &src, &exclude).await
        } else {
            self.comm.download_dir(&src, &dst, &exclude).await
        };
        result.map_err(CallError::Failed)?;
        Ok(NIL_BODY.to_vec())
    }
}

/// A writer for a communicator whose bytes are pumped into a broker stream; the stream is shut
/// down (EOF for Packer) once every handle to the writer is dropped or shut down. This way we
/// control the close even though the communicator owns the writer.
fn output_pipe(stream: BoxStream) -> (BoxWriter, tokio::task::JoinHandle<()>) {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let pump = tokio::spawn(async move {
        let (mut rd, _keep) = tokio::io::split(ours);
        let mut stream = stream;
        if let Err(e) = tokio::io::copy(&mut rd, &mut stream).await {
            tracing::debug!(error = %e, "output stream copy ended early");
        }
        let _ = stream.shutdown().await;
    });
    (Box::new(theirs), pump)
}

#[async_trait::async_trait]
impl Service for CommunicatorService {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        match method {
            "Start" => self.start(args).await,
            "Upload" => self.upload(args).await,
            "Download" => self.download(args).await,
            "UploadDir" => self.dir(args, true).await,
            "DownloadDir" => self.dir(args, false).await,
            _ => Err(CallError::NoMethod),
        }
    }
}
