//! Packer's `Ui`: our client of the Ui Packer serves on the Run stream, the progress-tracking
//! sub-service, and the forwarding Ui we serve on every hook stream.

use std::sync::Arc;

use rmpv::Value;

use crate::client::Client;
use crate::error::RpcError;
use crate::msgpack::{view, EncodeError, Writer};
use crate::server::{CallError, Registry, Service};

/// The user's terminal, as Packer exposes it to a builder during `Run`. Cheap to clone.
///
/// Messages go to Packer verbatim, and Packer's own filter only knows Packer's secrets: redact
/// anything sensitive before calling these.
#[derive(Clone)]
pub struct Ui {
    client: Client,
}

/// A progress bar Packer draws for a transfer (`Ui.NewTrackProgress`), fed with byte counts.
pub struct Progress {
    client: Client,
    /// `"Ui" + id`, the service Packer registered for this bar.
    service: String,
}

fn str_arg(s: &str) -> Vec<u8> {
    let mut w = Writer::new();
    w.str(s);
    w.finish().unwrap_or_else(|_| vec![0xc0])
}

impl Ui {
    /// A Ui over an RPC client whose peer serves Packer's `Ui` service (what Builder.Run dials).
    /// Public so builder tests can point a Ui at their own fake server.
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn notify(&self, method: &str, args: Vec<u8>) {
        if let Err(e) = self.client.call(method, &args).await {
            tracing::warn!(method, error = %e, "Ui call failed");
        }
    }

    /// Prints a line (Go `Ui.Say`). Failures are logged, as in the SDK: a build never fails
    /// because a message could not be shown.
    pub async fn say(&self, message: &str) {
        self.notify("Ui.Say", str_arg(message)).await;
    }

    /// Prints a line (Go `Ui.Message`, the deprecated alias of Say, kept for old Packer UIs).
    pub async fn message(&self, message: &str) {
        self.notify("Ui.Message", str_arg(message)).await;
    }

    /// Prints an error line (Go `Ui.Error`).
    pub async fn error(&self, message: &str) {
        self.notify("Ui.Error", str_arg(message)).await;
    }

    /// Emits a machine-readable line (`-machine-readable`), Go `Ui.Machine(category, args...)`.
    pub async fn machine(&self, category: &str, args: &[String]) {
        match encode_machine_args(category, args) {
            Ok(body) => self.notify("Ui.Machine", body).await,
            Err(e) => tracing::warn!(error = %e, "Ui.Machine arguments too large"),
        }
    }

    /// Asks the user a question and returns the answer; Packer answers with an error such as
    /// `interrupted` when the build is cancelled meanwhile.
    pub async fn ask(&self, query: &str) -> Result<String, RpcError> {
        let reply = self.client.call("Ui.Ask", &str_arg(query)).await?;
        view::string("Ui.Ask reply", &reply).map_err(|e| RpcError::BadReply {
            method: "Ui.Ask".into(),
            reason: e.to_string(),
        })
    }

    /// Starts a progress bar for `src` of `total` bytes (Go `Ui.TrackProgress` with
    /// CurrentSize 0).
    pub async fn track_progress(&self, src: &str, total: i64) -> Result<Progress, RpcError> {
        let args = encode_track_progress_args(src, total, 0).map_err(|e| RpcError::Encode {
            method: "Ui.NewTrackProgress".into(),
            reason: e.to_string(),
        })?;
        let reply = self.client.call("Ui.NewTrackProgress", &args).await?;
        let id =
            view::string("Ui.NewTrackProgress reply", &reply).map_err(|e| RpcError::BadReply {
                method: "Ui.NewTrackProgress".into(),
                reason: e.to_string(),
            })?;
        Ok(Progress {
            client: self.client.clone(),
            service: format!("Ui{id}"),
        })
    }
}

/// `UiMachineArgs{Category, Args}`; no args is a nil slice, as Go's variadic call sends it.
pub(crate) fn encode_machine_args(category: &str, args: &[String]) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::new();
    w.map_len(2).str("Category").str(category);
    w.str("Args")
        .strings(if args.is_empty() { None } else { Some(args) });
    w.finish()
}

/// `TrackProgressParameters{Src, TotalSize, CurrentSize}` (field order matters for bytes).
pub(crate) fn encode_track_progress_args(
    src: &str,
    total: i64,
    current: i64,
) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::new();
    w.map_len(3).str("Src").str(src);
    w.str("TotalSize").int(total);
    w.str("CurrentSize").int(current);
    w.finish()
}

impl Progress {
    /// Advances the bar by `n` bytes (`Ui<id>.Add`, a Go `int`). Failures are logged.
    pub async fn add(&self, n: i64) {
        let mut w = Writer::new();
        w.int(n);
        let method = format!("{}.Add", self.service);
        if let Err(e) = self
            .client
            .call(&method, &w.finish().unwrap_or_default())
            .await
        {
            tracing::warn!(%method, error = %e, "progress update failed");
        }
    }

    /// Finishes the bar (`Ui<id>.Close`). Failures are logged.
    pub async fn close(self) {
        let method = format!("{}.Close", self.service);
        if let Err(e) = self.client.call(&method, &[0xc0]).await {
            tracing::warn!(%method, error = %e, "progress close failed");
        }
    }
}

/// The `Ui` service we serve on a hook stream: Packer's provisioners print through it, and the
/// SDK forwards every call to the Ui of the Run stream. We forward raw values (re-encoded with Go
/// typing), so nothing is lost, and register a forwarder for each progress bar Packer creates.
pub(crate) struct ForwardingUi {
    upstream: Client,
    /// The hook server's registry, for `Ui<id>` progress services.
    registry: Registry,
}

impl ForwardingUi {
    pub(crate) fn new(upstream: Client, registry: Registry) -> Self {
        Self { upstream, registry }
    }
}

async fn forward(upstream: &Client, method: &str, args: &Value) -> Result<Vec<u8>, CallError> {
    let mut w = Writer::new();
    w.value(args);
    let body = w.finish().map_err(CallError::failed)?;
    let reply = match upstream.call(method, &body).await {
        Ok(v) => v,
        Err(RpcError::Remote { message }) => return Err(CallError::Failed(message)),
        Err(e) => return Err(CallError::failed(e)),
    };
    let mut w = Writer::new();
    w.value(&reply);
    w.finish().map_err(CallError::failed)
}

#[async_trait::async_trait]
impl Service for ForwardingUi {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        match method {
            "Ask" | "Say" | "Message" | "Error" | "Machine" => {
                forward(&self.upstream, &format!("Ui.{method}"), &args).await
            }
            "NewTrackProgress" => {
                let reply = forward(&self.upstream, "Ui.NewTrackProgress", &args).await?;
                // The reply is the id; register the same id here so Add/Close reach upstream.
                let mut rd: &[u8] = &reply;
                let id = rmpv::decode::read_value(&mut rd)
                    .ok()
                    .and_then(|v| view::string("id", &v).ok())
                    .unwrap_or_default();
                let service = format!("Ui{id}");
                self.registry.register(
                    service.clone(),
                    Arc::new(ForwardingProgress {
                        upstream: self.upstream.clone(),
                        service,
                        registry: self.registry.clone(),
                    }),
                );
                Ok(reply)
            }
            _ => Err(CallError::NoMethod),
        }
    }
}

/// Forwards `Ui<id>.Add` / `Ui<id>.Close` for one progress bar, and unregisters itself on Close.
struct ForwardingProgress {
    upstream: Client,
    service: String,
    registry: Registry,
}

#[async_trait::async_trait]
impl Service for ForwardingProgress {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        match method {
            "Add" => forward(&self.upstream, &format!("{}.Add", self.service), &args).await,
            "Close" => {
                let result =
                    forward(&self.upstream, &format!("{}.Close", self.service), &args).await;
                self.registry.unregister(&self.service);
                result
            }
            _ => Err(CallError::NoMethod),
        }
    }
}
