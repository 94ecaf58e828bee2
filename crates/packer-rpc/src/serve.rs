//! Wiring: from Packer's connection to the Builder service on broker stream 0.

use std::io::Write;
use std::sync::Arc;

use packer_mux::handshake::{ignore_interrupts, PluginListener};
use packer_mux::{Broker, Mode, Session, StreamBroker};

use crate::broker::Broker as DynBroker;
use crate::error::ServeError;
use crate::server::{self, Registry};
use crate::services::builder::{Builder, BuilderService, SpecEncoding};

/// Everything `start builder` does after the cookie check: bind, print the handshake line on
/// stdout (flushed, and nothing else ever on stdout), ignore SIGINT/SIGTERM, accept Packer, serve
/// Builder on broker stream 0, return when the root stream / session ends (after calls in flight,
/// such as a Run still cleaning up, have finished).
pub async fn serve_builder(
    builder: Arc<dyn Builder>,
    encoding: SpecEncoding,
) -> Result<(), ServeError> {
    let transport = |e: &dyn std::fmt::Display| ServeError::Transport(e.to_string());
    let listener = PluginListener::bind().await.map_err(|e| transport(&e))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", listener.handshake_line())?;
        out.flush()?;
    }
    ignore_interrupts()?;
    let conn = listener.accept_one().await.map_err(|e| transport(&e))?;
    tracing::info!("Packer connected");
    let session = Session::new(conn, Mode::Server);
    let broker = Broker::new(session.clone());
    let result = serve_builder_on(broker, builder, encoding).await;
    if let Some(reason) = session.close_reason() {
        tracing::info!(%reason, "session ended");
    }
    session.close();
    result
}

/// Serves `builder` over any broker: accepts broker stream 0 and serves the `Builder` service on it
/// until Packer closes it. The seam the tests use with an in-memory broker.
pub async fn serve_builder_on<B: StreamBroker>(
    broker: B,
    builder: Arc<dyn Builder>,
    encoding: SpecEncoding,
) -> Result<(), ServeError> {
    let broker: DynBroker = Arc::new(broker);
    let stream = broker
        .accept(0)
        .await
        .map_err(|e| ServeError::Transport(format!("accepting broker stream 0: {e}")))?;
    let registry = Registry::new();
    registry.register(
        "Builder",
        Arc::new(BuilderService::new(builder, encoding, broker.clone())),
    );
    match server::serve(stream, registry, "root stream 0").await {
        // Packer ending the session abruptly (its Client.Close closes the connection) is how a
        // plugin's life normally ends; the Go SDK's ServeCodec returns quietly here too.
        Err(ServeError::Io(e)) => {
            tracing::info!(error = %e, "root stream closed by the connection ending");
            Ok(())
        }
        other => other,
    }
}
