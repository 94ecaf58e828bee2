//! Starting, serving and stopping: the accept loop (plain TCP or TLS), one hyper HTTP/1.1
//! connection task per client, graceful shutdown, and the handle tests and the CLI hold.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::{SimArgs, SimConfig};
use crate::error::SimError;
use crate::faults::{Fault, FaultSet};
use crate::http::{lock, router, ConnControl, RequestRecord, Shared};
use crate::model::{Store, StoreConfig};

/// How long shutdown waits for in-flight requests before closing connections.
const GRACE: Duration = Duration::from_secs(5);
/// How long a client may take to finish the TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Entry point: `Simulator::start(config)` serves until the returned handle is shut down or dropped.
#[derive(Debug)]
pub struct Simulator;

/// A running simulator. Dropping it stops the server (without waiting); prefer [`SimHandle::shutdown`].
pub struct SimHandle {
    addr: SocketAddr,
    tls: bool,
    ca_pem: Option<String>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Binds the listener, builds the TLS identity if asked, and starts serving in the background.
    pub async fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
        if let Some(dir) = &cfg.upload_dir {
            std::fs::create_dir_all(dir).map_err(|source| SimError::UploadDir {
                path: dir.clone(),
                source,
            })?;
        }
        let mut faults = FaultSet::default();
        faults.add(cfg.faults.clone())?;
        let store_cfg = StoreConfig {
            task_duration: cfg.task_duration,
            ip_delay: cfg.ip_delay,
            vm_ip: cfg.vm_ip,
            refuse_deleting_images_in_use: cfg.refuse_deleting_images_in_use,
        };
        let epoch = chrono::Utc::now();
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::new(cfg.inventory.clone(), store_cfg.clone(), epoch)),
            faults: Mutex::new(faults),
            requests: Mutex::new(VecDeque::new()),
            clock: cfg.clock.clone(),
            username: cfg.username.clone(),
            password: cfg.password.clone(),
            api_key: cfg.api_key.clone(),
            upload_dir: cfg.upload_dir.clone(),
            max_body: cfg.max_body_bytes,
            max_logged: cfg.max_logged_requests.max(1),
            inventory: cfg.inventory.clone(),
            store_cfg,
            initial_faults: cfg.faults.clone(),
            epoch,
            consoles: Mutex::new(crate::console::Consoles::default()),
            console_password: cfg.console_password.clone(),
        });
        let (acceptor, ca_pem) = if let Some(pem) = &cfg.tls_identity {
            let config = crate::tls::from_pem(pem)?;
            (Some(tokio_rustls::TlsAcceptor::from(config)), None)
        } else if cfg.tls {
            let id = crate::tls::generate()?;
            (
                Some(tokio_rustls::TlsAcceptor::from(id.config)),
                Some(id.ca_pem),
            )
        } else {
            (None, None)
        };
        let listener = TcpListener::bind(cfg.listen)
            .await
            .map_err(|source| SimError::Bind {
                addr: cfg.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: cfg.listen,
            source,
        })?;
        let cancel = CancellationToken::new();
        let app = router(shared.clone());
        let task = tokio::spawn(accept_loop(listener, acceptor, app, cancel.clone()));
        let tls = cfg.tls || cfg.tls_identity.is_some();
        tracing::info!(%addr, tls, "prism simulator started");
        Ok(SimHandle {
            addr,
            tls,
            ca_pem,
            shared,
            cancel,
            task: Some(task),
        })
    }
}

impl SimHandle {
    /// `http(s)://127.0.0.1:PORT`, without a trailing slash and without the API prefix.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// PEM of the CA that signed the server certificate, when serving HTTPS.
    pub fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// Same as `GET /_sim/state`: VMs, images, tasks, OVAs, templates and faults.
    pub fn state_json(&self) -> Value {
        self.shared.state_json()
    }

    /// Same as `GET /_sim/requests`.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests()
    }

    /// Adds fault rules (same as `POST /_sim/faults`).
    pub fn add_faults(&self, faults: Vec<Fault>) -> Result<(), SimError> {
        lock(&self.shared.faults).add(faults).map(|_| ())
    }

    /// Removes all fault rules (same as `DELETE /_sim/faults`).
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// A handle for whoever plays the guests (the WinRM simulator, tests): see [`GuestPower`].
    pub fn guest_power(&self) -> GuestPower {
        GuestPower {
            shared: self.shared.clone(),
        }
    }

    /// Back to the inventory, start-time faults and an empty request log (same as `POST /_sim/reset`).
    pub fn reset(&self) {
        self.shared.reset();
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), then closes everything.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(t) = self.task.take() {
            if let Err(e) = t.await {
                tracing::warn!(error = %e, "simulator task ended abnormally");
            }
        }
    }
}

/// Lets a simulated guest turn its own VM off (Windows' sysprep `/shutdown` in the WinRM
/// simulator), as a guest-initiated shutdown does on AHV: no task, the VM is simply OFF.
#[derive(Clone)]
pub struct GuestPower {
    shared: Arc<Shared>,
}

impl GuestPower {
    /// Powers off every powered-on VM that reports `ip` (every powered-on VM when None) and
    /// returns their UUIDs.
    pub fn shut_down(&self, ip: Option<std::net::IpAddr>) -> Vec<String> {
        let now = self.shared.now();
        lock(&self.shared.store).guest_shutdown(now, ip)
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    cancel: CancellationToken,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((sock, peer)) => {
                    let _ = sock.set_nodelay(true);
                    conns.spawn(serve_socket(sock, peer, tls.clone(), app.clone(), cancel.clone()));
                }
                Err(e) => {
                    // Usually EMFILE or a reset during accept: back off briefly, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(GRACE, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::debug!(
            open = conns.len(),
            "closing connections still open after the grace period"
        );
        conns.abort_all();
    }
    tracing::info!("prism simulator stopped");
}

async fn serve_socket(
    sock: tokio::net::TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    app: Router,
    shutdown: CancellationToken,
) {
    match tls {
        None => serve_conn(sock, app, shutdown).await,
        Some(acceptor) => {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(sock)).await {
                Ok(Ok(stream)) => serve_conn(stream, app, shutdown).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn serve_conn<S>(io: S, app: Router, shutdown: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let drop_conn = CancellationToken::new();
    let ctl = ConnControl(drop_conn.clone());
    let svc = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ctl.clone());
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(svc))
        .with_upgrades();
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            _ = drop_conn.cancelled() => return, // drops the connection: the socket closes unanswered
            _ = shutdown.cancelled(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}

/// The `simulator` subcommand: starts a simulator from flags, prints
/// `prism simulator listening on URL` (and the CA PEM with `--self-signed-tls`) to stderr, and
/// serves until SIGINT or SIGTERM.
pub async fn run_cli(args: SimArgs) -> Result<(), SimError> {
    run_cli_with(args, |_| {}).await
}

/// [`run_cli`], calling `started` with the running simulator first (to connect guests to it).
pub async fn run_cli_with(args: SimArgs, started: impl FnOnce(&SimHandle)) -> Result<(), SimError> {
    let cfg = SimConfig::from_args(&args)?;
    let handle = Simulator::start(cfg).await?;
    started(&handle);
    // stderr, never stdout: stdout belongs to Packer's plugin handshake.
    eprintln!("prism simulator listening on {}", handle.base_url());
    if let Some(pem) = handle.ca_pem() {
        eprintln!("prism simulator CA certificate:\n{pem}");
    }
    wait_for_signal().await?;
    eprintln!("prism simulator shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> Result<(), SimError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).map_err(SimError::Signal)?;
        let mut int = signal(SignalKind::interrupt()).map_err(SimError::Signal)?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(SimError::Signal)
    }
}
