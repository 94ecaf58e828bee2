//! The `Builder` service Packer calls on broker stream 0 (docs/design/plugin-protocol.md,
//! 'Builder').

use std::sync::{Arc, Mutex};

use rmpv::Value;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::client::Client;
use crate::error::ServeError;
use crate::msgpack::{view, Writer};
use crate::server::{self, CallError, Registry, Service};
use crate::services::artifact::{Artifact, ArtifactService};
use crate::services::hook::Hook;
use crate::services::prepare::decode_prepare_args;
use crate::services::ui::Ui;

/// How `Builder.ConfigSpec` encodes the schema: chosen by Packer with `--protobuf` (Packer 1.12+
/// with every plugin speaking protocol v2), gob otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecEncoding {
    /// gob of `hcldec.ObjectSpec` (Packer 1.7 to 1.11, mixed plugin sets, `PACKER_FORCE_GOB`).
    Gob,
    /// protobuf `Spec{object}` (started with `--protobuf`).
    Protobuf,
}

/// What a builder's Prepare found. Empty lists go to Packer as nil, as Go builders send them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrepareOutcome {
    /// Names of values the builder generates at run time (`build.<Name>` in templates).
    pub generated_vars: Vec<String>,
    /// Warnings Packer shows without failing.
    pub warnings: Vec<String>,
    /// The validation error (all problems in one message), or `None` when the config is valid.
    pub error: Option<String>,
}

/// Everything a build can use while it runs.
pub struct RunContext {
    /// Packer's terminal.
    pub ui: Ui,
    /// Packer's hooks (provisioners).
    pub hook: Hook,
    /// Cancelled when Packer sends `Builder.Cancel` (Ctrl-C, `-on-error=abort`).
    pub cancel: CancellationToken,
}

/// A Packer builder, as the protocol layer drives it.
#[async_trait::async_trait]
pub trait Builder: Send + Sync + 'static {
    /// The HCL2 schema of the builder's configuration.
    fn config_spec(&self) -> packer_schema::ObjectSpec;
    /// Validates a configuration; called once per build before Run.
    async fn prepare(&self, input: packer_schema::PrepareInput) -> PrepareOutcome;
    /// Runs the build. `Ok(None)` means "no artifact"; `Err` is shown to the user verbatim.
    async fn run(&self, ctx: RunContext) -> Result<Option<Arc<dyn Artifact>>, String>;
}

/// The `Builder` service.
pub(crate) struct BuilderService {
    builder: Arc<dyn Builder>,
    encoding: SpecEncoding,
    broker: Broker,
    /// The token of the current (or last) Run; `None` before the first Run.
    run_cancel: Mutex<Option<CancellationToken>>,
}

impl BuilderService {
    pub(crate) fn new(builder: Arc<dyn Builder>, encoding: SpecEncoding, broker: Broker) -> Self {
        Self {
            builder,
            encoding,
            broker,
            run_cancel: Mutex::new(None),
        }
    }

    fn config_spec(&self) -> Result<Vec<u8>, CallError> {
        let spec = self.builder.config_spec();
        let bytes = match self.encoding {
            SpecEncoding::Gob => packer_schema::gob::encode_object_spec(&spec),
            SpecEncoding::Protobuf => packer_schema::proto::encode_object_spec(&spec),
        };
        encode_config_spec_response(&bytes).map_err(CallError::failed)
    }

    async fn prepare(&self, args: Value) -> Result<Vec<u8>, CallError> {
        let input = decode_prepare_args(&args).map_err(CallError::failed)?;
        let outcome = self.builder.prepare(input).await;
        encode_prepare_response(&outcome)
    }

    async fn run(&self, args: Value) -> Result<Vec<u8>, CallError> {
        let p1 = view::u32("Builder.Run stream id", &args).map_err(CallError::failed)?;
        if p1 == 0 {
            return Err(CallError::Failed(
                "Builder.Run: stream id 0 is the root stream".into(),
            ));
        }
        let stream =
            self.broker.dial(p1).await.map_err(|e| {
                CallError::Failed(format!("dialing Packer's Ui/Hook stream {p1}: {e}"))
            })?;
        let client = Client::new(stream, format!("Ui/Hook stream {p1}"));
        let cancel = CancellationToken::new();
        *self.run_cancel.lock().unwrap_or_else(|p| p.into_inner()) = Some(cancel.clone());
        let ctx = RunContext {
            ui: Ui::new(client.clone()),
            hook: Hook::with_broker(client.clone(), self.broker.clone(), cancel.clone()),
            cancel,
        };
        let result = self.builder.run(ctx).await;
        client.close();
        let artifact = result.map_err(CallError::Failed)?;
        let id = match artifact {
            None => 0,
            Some(artifact) => {
                let id = self.broker.next_id();
                let registry = Registry::new();
                registry.register("Artifact", Arc::new(ArtifactService::new(artifact)));
                let broker = self.broker.clone();
                // Accept before replying with the id: Packer dials it at once.
                tokio::spawn(async move {
                    match broker.accept(id).await {
                        Ok(stream) => {
                            let label = format!("artifact stream {id}");
                            match server::serve(stream, registry, &label).await {
                                Ok(()) | Err(ServeError::Io(_)) => {}
                                Err(e) => {
                                    tracing::warn!(stream = id, error = %e, "artifact serving failed")
                                }
                            }
                        }
                        Err(e) => {
                            tracing::warn!(stream = id, error = %e, "Packer never dialed the artifact stream")
                        }
                    }
                });
                id
            }
        };
        let mut w = Writer::new();
        w.uint(u64::from(id));
        w.finish().map_err(CallError::failed)
    }

    fn cancel(&self) -> Result<Vec<u8>, CallError> {
        // Before any Run there is nothing to cancel (the Go SDK would panic here).
        if let Some(token) = self
            .run_cancel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            tracing::info!("Packer cancelled the build");
            token.cancel();
        }
        Ok(crate::codec::NIL_BODY.to_vec())
    }
}

/// Encodes `ConfigSpecResponse{ConfigSpec []byte}`.
pub(crate) fn encode_config_spec_response(
    spec: &[u8],
) -> Result<Vec<u8>, crate::msgpack::EncodeError> {
    let mut w = Writer::new();
    w.map_len(1).str("ConfigSpec").bin(spec);
    w.finish()
}

/// Encodes `BuilderPrepareResponse{GeneratedVars, Warnings, Error *BasicError}`.
pub(crate) fn encode_prepare_response(outcome: &PrepareOutcome) -> Result<Vec<u8>, CallError> {
    fn list(v: &[String]) -> Option<&[String]> {
        if v.is_empty() {
            None
        } else {
            Some(v)
        }
    }
    let mut w = Writer::new();
    w.map_len(3);
    w.str("GeneratedVars")
        .strings(list(&outcome.generated_vars));
    w.str("Warnings").strings(list(&outcome.warnings));
    w.str("Error");
    match &outcome.error {
        None => w.nil(),
        Some(message) => w.map_len(1).str("Message").str(message),
    };
    w.finish().map_err(CallError::failed)
}

#[async_trait::async_trait]
impl Service for BuilderService {
    async fn call(&self, method: &str, args: Value) -> Result<Vec<u8>, CallError> {
        match method {
            "ConfigSpec" => self.config_spec(),
            "Prepare" => self.prepare(args).await,
            "Run" => self.run(args).await,
            "Cancel" => self.cancel(),
            _ => Err(CallError::NoMethod),
        }
    }
}
