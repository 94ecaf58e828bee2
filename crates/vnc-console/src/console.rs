//! [`Console`]: an open VNC console. The RFB handshake runs inside `connect`, under its deadline;
//! afterwards one task owns the connection: it keeps reading (so server messages never back up),
//! answers websocket pings, and writes key events in the order they are submitted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use rfb::client::{Client, ClientConfig, Event, ServerInfo};

use crate::error::{Attempt, ConsoleError};
use crate::link::{BoxIo, Link};
use crate::net::{exchange_deadline, step, Dialer};
use crate::rest::Rest;
use crate::target::{ConsoleTarget, Transport};
use crate::{v3, v4};

/// How long `close` waits for the connection task.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
/// Read buffer size.
const READ_CHUNK: usize = 64 * 1024;

enum Command {
    Key {
        keysym: u32,
        down: bool,
        done: oneshot::Sender<Result<(), ConsoleError>>,
    },
    Close {
        done: oneshot::Sender<()>,
    },
}

/// An open VNC console.
#[derive(Debug)]
pub struct Console {
    tx: mpsc::Sender<Command>,
    info: ServerInfo,
    via: String,
    failure: Arc<Mutex<Option<ConsoleError>>>,
    task: Option<JoinHandle<()>>,
}

impl Console {
    /// Opens the console of `target.vm_uuid` through Prism Central, trying `target.transports`
    /// in order; each attempt gets an equal share of the time left before `deadline`. When all
    /// fail, the error lists every attempt and its cause.
    pub async fn connect(
        target: &ConsoleTarget,
        deadline: Instant,
    ) -> Result<Console, ConsoleError> {
        let config = ClientConfig {
            password: target
                .vnc_password
                .as_ref()
                .map(|p| p.expose().as_bytes().to_vec()),
            ..ClientConfig::default()
        };
        attempt_all(target, deadline, |link, attempt_deadline| {
            let config = config.clone();
            async move { Console::handshake(link, config, attempt_deadline).await }
        })
        .await
        .inspect(|console| {
            tracing::info!(via = %console.via, name = %console.info.name, "VM console connected");
        })
    }

    /// Opens the websocket that carries a VM's console (same transports, order and errors as
    /// [`Console::connect`]) without speaking RFB on it: for tools that relay the bytes.
    pub async fn open_link(
        target: &ConsoleTarget,
        deadline: Instant,
    ) -> Result<Link, ConsoleError> {
        attempt_all(target, deadline, |link, _| async move { Ok(link) }).await
    }

    /// Runs RFB over an already open stream (a VNC server's TCP port, a test pipe).
    pub async fn over_stream(
        io: BoxIo,
        label: impl Into<String>,
        config: ClientConfig,
        deadline: Instant,
    ) -> Result<Console, ConsoleError> {
        Console::handshake(Link::raw(io, label), config, deadline).await
    }

    /// Connects to a VNC server's TCP address and runs RFB over it.
    pub async fn connect_tcp(
        addr: &str,
        config: ClientConfig,
        deadline: Instant,
    ) -> Result<Console, ConsoleError> {
        let what = format!("connect to VNC server {addr}");
        let sock = step(&what, deadline, async {
            tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| ConsoleError::io(what.clone(), &e))
        })
        .await?;
        let _ = sock.set_nodelay(true);
        Console::over_stream(
            Box::new(sock),
            format!("VNC server {addr}"),
            config,
            deadline,
        )
        .await
    }

    /// The handshake, then the connection task.
    async fn handshake(
        mut link: Link,
        config: ClientConfig,
        deadline: Instant,
    ) -> Result<Console, ConsoleError> {
        let mut client = Client::new(config);
        let what = format!("RFB handshake over {}", link.label());
        let info = step(&what, exchange_deadline(deadline), async {
            let mut buf = vec![0u8; READ_CHUNK];
            // The first pass decodes what arrived with the upgrade answer, if anything.
            let mut first = true;
            loop {
                let inbound = if std::mem::take(&mut first) {
                    link.decode(&[])?
                } else {
                    let n = match link.read(&mut buf).await {
                        Ok(n) => n,
                        Err(e) if closed_kind(&e) => {
                            let rfb = client.handle_eof();
                            return Err(ConsoleError::Closed(format!("{rfb} ({e})")));
                        }
                        Err(e) => return Err(ConsoleError::io(what.clone(), &e)),
                    };
                    if n == 0 {
                        return Err(ConsoleError::Rfb(client.handle_eof()));
                    }
                    link.decode(buf.get(..n).unwrap_or_default())?
                };
                client.handle_input(&inbound.data)?;
                let mut out = inbound.reply;
                out.extend(link.frame(&client.take_output()));
                link.write_all(&out)
                    .await
                    .map_err(|e| ConsoleError::io(what.clone(), &e))?;
                if let Some(reason) = inbound.closed {
                    let e = client.handle_eof();
                    return Err(ConsoleError::Closed(format!("{reason}; {e}")));
                }
                while let Some(event) = client.poll_event() {
                    if let Event::Connected(info) = event {
                        return Ok(info);
                    }
                }
            }
        })
        .await?;
        let via = link.label().to_string();
        let failure = Arc::new(Mutex::new(None));
        let (tx, rx) = mpsc::channel(64);
        let task = tokio::spawn(run(link, client, rx, failure.clone()));
        Ok(Console {
            tx,
            info,
            via,
            failure,
            task: Some(task),
        })
    }

    /// What the server said about itself (size, name, version, security type).
    pub fn info(&self) -> &ServerInfo {
        &self.info
    }

    /// How the console was reached, e.g. `v4 token websocket at wss://pc:9440/...`.
    pub fn via(&self) -> &str {
        &self.via
    }

    /// Presses (`down`) or releases a key (an X11 keysym, see [`rfb::keysym`]). Returns once
    /// the event is written. Cancel-safe: a dropped call either sent the whole event or none of
    /// it, never part.
    pub async fn key(&self, keysym: u32, down: bool) -> Result<(), ConsoleError> {
        let (done, wait) = oneshot::channel();
        if self
            .tx
            .send(Command::Key { keysym, down, done })
            .await
            .is_err()
        {
            return Err(self.failure());
        }
        match wait.await {
            Ok(r) => r,
            Err(_) => Err(self.failure()),
        }
    }

    /// Closes the connection (a websocket close frame first) and waits for it to end.
    pub async fn close(mut self) -> Result<(), ConsoleError> {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Close { done }).await.is_ok() {
            let _ = tokio::time::timeout(CLOSE_WAIT, wait).await;
        }
        if let Some(task) = self.task.take() {
            if tokio::time::timeout(CLOSE_WAIT, task).await.is_err() {
                tracing::debug!("console task did not end in time");
            }
        }
        Ok(())
    }

    fn failure(&self) -> ConsoleError {
        lock(&self.failure)
            .clone()
            .unwrap_or_else(|| ConsoleError::Closed("the console task ended".into()))
    }
}

/// Tries each transport of `target` in order, each with an equal share of the time left, and
/// runs `then` on the first link that opens; collects every failure.
async fn attempt_all<T, F, Fut>(
    target: &ConsoleTarget,
    deadline: Instant,
    then: F,
) -> Result<T, ConsoleError>
where
    F: Fn(Link, Instant) -> Fut,
    Fut: std::future::Future<Output = Result<T, ConsoleError>>,
{
    if target.transports.is_empty() {
        return Err(ConsoleError::Config("no console transport to try".into()));
    }
    target.origin()?;
    let dialer = Dialer::new(target)?;
    let rest = Rest::new(target, dialer.proxy())?;
    let mut attempts = Vec::new();
    let count = target.transports.len();
    for (i, transport) in target.transports.iter().enumerate() {
        let left = deadline.saturating_duration_since(Instant::now());
        let share = left / u32::try_from(count - i).unwrap_or(1);
        let attempt_deadline = Instant::now() + share;
        let mut what = transport.label().to_string();
        let result = async {
            let link = match transport {
                Transport::V4Token => {
                    v4::open(target, &dialer, &rest, attempt_deadline, &mut what).await?
                }
                Transport::V3Cookie => {
                    v3::open(target, &dialer, &rest, attempt_deadline, &mut what).await?
                }
            };
            then(link, attempt_deadline).await
        }
        .await;
        match result {
            Ok(t) => return Ok(t),
            Err(e) => {
                tracing::debug!(attempt = %what, error = %e, "console transport failed");
                attempts.push(Attempt {
                    what,
                    cause: e.to_string(),
                });
            }
        }
    }
    Err(ConsoleError::AllAttemptsFailed(attempts))
}

/// Errors that mean the peer went away (a reset is how some servers hang up).
fn closed_kind(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe
    )
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The connection task.
async fn run(
    mut link: Link,
    mut client: Client,
    mut rx: mpsc::Receiver<Command>,
    failure: Arc<Mutex<Option<ConsoleError>>>,
) {
    let mut buf = vec![0u8; READ_CHUNK];
    let label = link.label().to_string();
    let fail = |e: ConsoleError| {
        tracing::debug!(via = %label, error = %e, "console connection ended");
        *lock(&failure) = Some(e);
    };
    loop {
        tokio::select! {
            read = link.read(&mut buf) => {
                let n = match read {
                    Ok(0) => {
                        fail(ConsoleError::Closed(format!("the server closed {}", link.label())));
                        break;
                    }
                    Ok(n) => n,
                    Err(e) => {
                        fail(ConsoleError::Closed(format!("reading {}: {e}", link.label())));
                        break;
                    }
                };
                let inbound = match link.decode(buf.get(..n).unwrap_or_default()) {
                    Ok(i) => i,
                    Err(e) => { fail(e); break; }
                };
                let mut out = inbound.reply;
                if let Err(e) = client.handle_input(&inbound.data) {
                    fail(ConsoleError::Closed(format!("RFB: {e}")));
                    break;
                }
                while let Some(event) = client.poll_event() {
                    tracing::trace!(?event, "console server message");
                }
                out.extend(link.frame(&client.take_output()));
                if let Err(e) = link.write_all(&out).await {
                    fail(ConsoleError::Closed(format!("writing {}: {e}", link.label())));
                    break;
                }
                if let Some(reason) = inbound.closed {
                    fail(ConsoleError::Closed(format!("{reason} ({})", link.label())));
                    break;
                }
            }
            cmd = rx.recv() => match cmd {
                Some(Command::Key { keysym, down, done }) => {
                    let result = match client.key_event(keysym, down) {
                        Ok(()) => {
                            let bytes = link.frame(&client.take_output());
                            link.write_all(&bytes).await.map_err(|e| {
                                ConsoleError::Closed(format!("writing {}: {e}", link.label()))
                            })
                        }
                        Err(e) => Err(ConsoleError::Rfb(e)),
                    };
                    let broken = result.is_err();
                    if let Err(e) = &result {
                        fail(e.clone());
                    }
                    let _ = done.send(result);
                    if broken {
                        break;
                    }
                }
                Some(Command::Close { done }) => {
                    link.close().await;
                    fail(ConsoleError::Closed("closed by the build".into()));
                    let _ = done.send(());
                    return;
                }
                None => {
                    link.close().await;
                    return;
                }
            }
        }
    }
    link.close().await;
    // Answer whatever is still queued with the failure instead of leaving callers waiting.
    rx.close();
    while let Some(cmd) = rx.recv().await {
        let e = lock(&failure)
            .clone()
            .unwrap_or_else(|| ConsoleError::Closed("the console connection ended".into()));
        match cmd {
            Command::Key { done, .. } => {
                let _ = done.send(Err(e));
            }
            Command::Close { done } => {
                let _ = done.send(());
            }
        }
    }
}
