//! Packer's `Hook`: how a builder hands a running machine to Packer's provisioners.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::client::Client;
use crate::error::RpcError;
use crate::msgpack::{EncodeError, Writer};
use crate::server::{self, Registry};
use crate::services::communicator::{Communicator, CommunicatorService};
use crate::services::ui::ForwardingUi;

/// The data a builder passes to `Hook.Run` (the SDK's "generated data": `Host`, `Port`, `User`,
/// `ID`, ...). String keys, because Packer's `CastDataToMap` drops any other key. Integers are
/// sent as Go signed ints, so `Port` arrives as the Go `int` Packer expects.
pub type HookData = BTreeMap<String, rmpv::Value>;

/// `HookRunArgs{Name, Data, StreamId}` with `Data` as a map of string keys.
pub(crate) fn encode_hook_run_args(
    name: &str,
    data: &HookData,
    stream_id: u32,
) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::new();
    w.map_len(3).str("Name").str(name);
    w.str("Data").map_len(data.len());
    for (k, v) in data {
        w.str(k).value(v);
    }
    w.str("StreamId").uint(u64::from(stream_id));
    w.finish()
}

/// Runs Packer's hooks (provisioners) against a machine. Cheap to clone.
#[derive(Clone)]
pub struct Hook {
    client: Client,
    broker: Broker,
    cancel: CancellationToken,
}

impl Hook {
    pub(crate) fn with_broker(client: Client, broker: Broker, cancel: CancellationToken) -> Self {
        Self {
            client,
            broker,
            cancel,
        }
    }

    /// A Hook over an RPC client whose peer serves Packer's `Hook` (and `Ui`), opening hook
    /// streams through `broker`; `cancel` is the build's token (Hook.Cancel is sent when it fires).
    /// Public so builder tests can run against their own fake Packer.
    pub fn new<B: packer_mux::StreamBroker>(
        client: Client,
        broker: B,
        cancel: CancellationToken,
    ) -> Self {
        Self::with_broker(client, Arc::new(broker), cancel)
    }

    /// Runs hook `name` (`packer_provision`, `packer_cleanup_provision`) with `data`, serving
    /// `comm` and a Ui forwarder on a fresh broker stream while Packer's provisioners use them.
    /// When the build is cancelled meanwhile, Packer is sent `Hook.Cancel` and this still waits
    /// for Packer's answer (the provisioner's error, normally).
    pub async fn run(
        &self,
        name: &str,
        data: HookData,
        comm: Arc<dyn Communicator>,
    ) -> Result<(), RpcError> {
        let id = self.broker.next_id();
        let registry = Registry::new();
        registry.register(
            "Communicator",
            Arc::new(CommunicatorService::new(comm, self.broker.clone())),
        );
        registry.register(
            "Ui",
            Arc::new(ForwardingUi::new(self.client.clone(), registry.clone())),
        );
        // Accept before publishing the id: Packer dials it as soon as Hook.Run arrives.
        let broker = self.broker.clone();
        tokio::spawn(async move {
            match broker.accept(id).await {
                Ok(stream) => {
                    let label = format!("hook stream {id}");
                    if let Err(e) = server::serve(stream, registry, &label).await {
                        tracing::warn!(stream = id, error = %e, "hook stream serving failed");
                    }
                }
                Err(e) => {
                    tracing::warn!(stream = id, error = %e, "Packer never dialed the hook stream")
                }
            }
        });

        let args = encode_hook_run_args(name, &data, id).map_err(|e| RpcError::Encode {
            method: "Hook.Run".into(),
            reason: e.to_string(),
        })?;

        let call = self.client.call("Hook.Run", &args);
        tokio::pin!(call);
        tokio::select! {
            result = &mut call => return result.map(drop),
            () = self.cancel.cancelled() => {}
        }
        tracing::info!(hook = name, "build cancelled: sending Hook.Cancel");
        let client = self.client.clone();
        tokio::spawn(async move {
            if let Err(e) = client.call("Hook.Cancel", &[0xc0]).await {
                tracing::warn!(error = %e, "Hook.Cancel failed");
            }
        });
        call.await.map(drop)
    }
}
