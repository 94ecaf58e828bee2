//! Packer's boot-time HTTP server (`http_directory`, `http_content`, `http_port_min/max`,
//! `http_bind_address`): what `StepHTTPServer` runs so that a VM being installed can fetch
//! its kickstart or preseed file, reachable as `{{ .HTTPIP }}:{{ .HTTPPort }}`.

mod handler;
mod route;

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::CdError;
use handler::{handle, Served};

/// Packer's `HTTPConfig` after defaults (Packer: ports 8000–9000, address `0.0.0.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpServe {
    /// `http_directory`: files served under `/`.
    pub directory: Option<PathBuf>,
    /// `http_content`: URL path (`/ks.cfg`) → body; wins over the directory. Packer forbids
    /// using both; that check belongs to config validation, not here.
    pub content: BTreeMap<String, String>,
    /// `http_bind_address`.
    pub bind_address: IpAddr,
    /// `http_port_min` (0 lets the OS choose, for tests).
    pub port_min: u16,
    /// `http_port_max`, inclusive.
    pub port_max: u16,
}

/// A running server; it stops accepting connections when dropped or shut down (requests
/// already being answered finish, as with Go's listener close).
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl HttpServer {
    /// The port chosen, for `{{ .HTTPPort }}` in boot commands.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The bound address and port.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, waits until open connections are done, and returns once the port is
    /// released (dropping does the same without waiting).
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts serving on the first free port of `port_min..=port_max` on `bind_address`.
///
/// Packer picks random ports in the range (and file-locks them because its VNC listener is
/// closed before use); we keep our listener open, so taking the first free one is race-free
/// and predictable.
pub async fn start_http_server(cfg: HttpServe) -> Result<HttpServer, CdError> {
    if cfg.port_min > cfg.port_max {
        return Err(CdError::PortRange {
            min: cfg.port_min,
            max: cfg.port_max,
        });
    }
    if let Some(dir) = &cfg.directory {
        let reason = match tokio::fs::metadata(dir).await {
            Ok(m) if m.is_dir() => None,
            Ok(_) => Some("is not a directory".to_owned()),
            Err(e) => Some(e.to_string()),
        };
        if let Some(reason) = reason {
            return Err(CdError::HttpDirectory {
                path: dir.clone(),
                reason,
            });
        }
    }
    let listener = bind_first_free(cfg.bind_address, cfg.port_min, cfg.port_max).await?;
    let addr = listener.local_addr().map_err(|source| CdError::Bind {
        address: cfg.bind_address,
        port: cfg.port_min,
        source,
    })?;
    let served = Served {
        content: cfg
            .content
            .into_iter()
            .map(|(k, v)| (route::content_key(&k), Bytes::from(v)))
            .collect(),
        directory: cfg.directory,
    };
    let app = Router::new().fallback(handle).with_state(Arc::new(served));
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "HTTP server stopped with an error");
        }
        tracing::debug!(%addr, "HTTP server stopped");
    });
    tracing::info!(%addr, "HTTP server started");
    Ok(HttpServer {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Binds the first port of the range that is not in use; ports we may not bind (below 1024
/// without privileges) are skipped too, any other failure stops the search.
async fn bind_first_free(address: IpAddr, min: u16, max: u16) -> Result<TcpListener, CdError> {
    for port in min..=max {
        match TcpListener::bind((address, port)).await {
            Ok(listener) => return Ok(listener),
            Err(e) if matches!(e.kind(), ErrorKind::AddrInUse | ErrorKind::PermissionDenied) => {
                continue
            }
            Err(source) => {
                return Err(CdError::Bind {
                    address,
                    port,
                    source,
                })
            }
        }
    }
    Err(CdError::NoFreePort { address, min, max })
}
