//! One SSH connection: the transport (direct, SOCKS5/HTTP proxy, or a bastion's `direct-tcpip`
//! channel), the handshake and authentication, all under the per-attempt handshake timeout.
//!
//! [`ConnectPlan`] is computed once from the configuration (keys loaded, algorithms checked);
//! [`establish`] makes one attempt and says precisely what failed, so the retry loop can decide.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use russh::client::{self, Handle, Msg, Session};
use russh::keys::PublicKeyOrCertificate;
use russh::{Channel, ChannelOpenFailure};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tracing::{debug, info};

use crate::auth::{self, AuthMethod};
use crate::config::{join_host_port, ProxyKind, SshConfig};
use crate::error::SshError;
use crate::keys::load_identities;
use crate::proxy::{self, ProxyAuth};
use crate::retry::FailureKind;

/// Go's `ConnectFunc` dial timeout.
const DIAL_TIMEOUT: Duration = Duration::from_secs(15);
/// Intervals of silence (each answered by a keep-alive) before the connection is declared dead.
/// Go never gives up on missing replies; we bound the hang at 6 intervals (30 s by default).
const KEEPALIVE_MAX: usize = 6;

/// Anything that carries SSH bytes.
pub(crate) trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Transport for T {}

/// Our side of russh's callbacks.
pub(crate) struct ClientHandler {
    /// Where to relay agent channels the server opens (agent forwarding), if enabled.
    agent_forward: Option<PathBuf>,
}

impl client::Handler for ClientHandler {
    type Error = russh::Error;

    /// Packer does not check host keys (`ssh.InsecureIgnoreHostKey`): the VM was created
    /// moments ago and its key is unknown. Neither do we.
    async fn check_server_key(
        &mut self,
        _server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(true)
    }

    async fn auth_banner(
        &mut self,
        banner: &str,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        debug!(target: "ssh", banner = %banner.trim(), "server banner");
        Ok(())
    }

    async fn server_channel_open_agent_forward(
        &mut self,
        channel: Channel<Msg>,
        reply: client::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        match &self.agent_forward {
            Some(sock) => {
                reply.accept().await;
                let sock = sock.clone();
                tokio::spawn(async move {
                    let mut remote = channel.into_stream();
                    match tokio::net::UnixStream::connect(&sock).await {
                        Ok(mut local) => {
                            let _ = tokio::io::copy_bidirectional(&mut remote, &mut local).await;
                        }
                        Err(e) => {
                            debug!(target: "ssh", error = %e, "agent forwarding: local agent unreachable")
                        }
                    }
                });
            }
            None => {
                reply
                    .reject(ChannelOpenFailure::AdministrativelyProhibited)
                    .await
            }
        }
        Ok(())
    }
}

/// An authenticated connection; the bastion's connection, if any, lives as long as it.
pub(crate) struct Connection {
    pub(crate) handle: Handle<ClientHandler>,
    _bastion: Option<Handle<ClientHandler>>,
}

enum Route {
    Direct,
    Proxy {
        kind: ProxyKind,
        addr: String,
        auth: Option<ProxyAuth>,
    },
    Bastion(Box<BastionPlan>),
}

struct BastionPlan {
    host: String,
    port: u16,
    addr: String,
    user: String,
    methods: Vec<AuthMethod>,
}

/// Everything one connection attempt needs, prepared once.
pub(crate) struct ConnectPlan {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) addr: String,
    user: String,
    methods: Vec<AuthMethod>,
    ssh: Arc<client::Config>,
    bastion_ssh: Arc<client::Config>,
    handshake_timeout: Duration,
    route: Route,
    /// The agent socket to relay forwarded agent channels to (when forwarding is on).
    pub(crate) agent_forward: Option<PathBuf>,
}

/// The agent socket: explicit, else `SSH_AUTH_SOCK`.
fn agent_socket(cfg: &SshConfig) -> Option<PathBuf> {
    cfg.agent_socket
        .clone()
        .or_else(|| std::env::var_os("SSH_AUTH_SOCK").map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty())
}

impl ConnectPlan {
    /// Loads keys and checks options; failures here are configuration errors, never retried.
    pub(crate) fn new(cfg: &SshConfig, now: SystemTime) -> Result<Self, SshError> {
        cfg.validate()?;
        let agent = agent_socket(cfg);
        let agent_for_auth = if cfg.agent_auth {
            Some(agent.clone().ok_or_else(|| {
                SshError::Agent("ssh_agent_auth is set but SSH_AUTH_SOCK is not".into())
            })?)
        } else {
            None
        };
        let identities = load_identities(&cfg.private_keys, cfg.certificate_file.as_deref(), now)?;
        let methods = auth::target_methods(agent_for_auth, &identities, cfg.password.as_deref());
        if methods.is_empty() {
            return Err(SshError::Config(
                "no SSH authentication method: set ssh_password, ssh_private_key_file, a temporary key pair or ssh_agent_auth"
                    .into(),
            ));
        }

        let keepalive_interval = cfg.keep_alive_interval.filter(|d| !d.is_zero());
        let inactivity_timeout = cfg.read_write_timeout.filter(|d| !d.is_zero());
        let ssh = client::Config {
            preferred: crate::algorithms::preferred(&cfg.ciphers, &cfg.key_exchange_algorithms)?,
            keepalive_interval,
            keepalive_max: KEEPALIVE_MAX,
            inactivity_timeout,
            nodelay: true,
            ..client::Config::default()
        };
        // Go's bastion config sets no algorithm preferences: library defaults there.
        let bastion_ssh = Arc::new(client::Config {
            preferred: crate::algorithms::preferred(&[], &[])?,
            keepalive_interval,
            keepalive_max: KEEPALIVE_MAX,
            inactivity_timeout,
            nodelay: true,
            ..client::Config::default()
        });

        let route = if let Some(b) = &cfg.bastion {
            let bastion_agent = if b.agent_auth {
                Some(agent.clone().ok_or_else(|| {
                    SshError::Agent("ssh_bastion_agent_auth is set but SSH_AUTH_SOCK is not".into())
                })?)
            } else {
                None
            };
            let keys: Vec<_> = b
                .private_key_file
                .iter()
                .map(|p| crate::config::PrivateKeySource::File(p.clone()))
                .collect();
            let identities = load_identities(&keys, b.certificate_file.as_deref(), now)?;
            let port = if b.port == 0 { 22 } else { b.port };
            Route::Bastion(Box::new(BastionPlan {
                host: b.host.clone(),
                port,
                addr: join_host_port(&b.host, port),
                user: b.username.clone(),
                methods: auth::bastion_methods(
                    b.interactive,
                    b.password.as_deref(),
                    &identities,
                    bastion_agent,
                ),
            }))
        } else if let Some(p) = &cfg.proxy {
            let port = if p.port == 0 { 1080 } else { p.port };
            Route::Proxy {
                kind: p.kind,
                addr: join_host_port(&p.host, port),
                auth: p.username.as_ref().map(|u| ProxyAuth {
                    username: u.clone(),
                    password: p.password.clone().unwrap_or_default(),
                }),
            }
        } else {
            Route::Direct
        };

        let agent_forward = if cfg.disable_agent_forwarding {
            None
        } else {
            agent.filter(|p| p.exists())
        };
        Ok(Self {
            host: cfg.host.clone(),
            port: cfg.port,
            addr: cfg.address(),
            user: cfg.username.clone(),
            methods,
            ssh: Arc::new(ssh),
            bastion_ssh,
            handshake_timeout: cfg.handshake_timeout,
            route,
            agent_forward,
        })
    }
}

/// Which retry rule applies to a failed attempt.
pub(crate) fn classify(e: &SshError) -> FailureKind {
    match e {
        SshError::Dial { .. } | SshError::Proxy { .. } | SshError::Bastion { .. } => {
            FailureKind::Dial
        }
        SshError::Auth { .. } => FailureKind::Auth,
        _ => FailureKind::Handshake,
    }
}

/// Opens a TCP connection with Go's 15 s dial timeout.
async fn dial_tcp(host: &str, port: u16) -> Result<TcpStream, SshError> {
    let addr = join_host_port(host, port);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let stream = tokio::time::timeout(DIAL_TIMEOUT, TcpStream::connect((bare, port)))
        .await
        .map_err(|_| SshError::Dial {
            addr: addr.clone(),
            source: std::io::Error::new(std::io::ErrorKind::TimedOut, "dial timed out after 15s"),
        })?
        .map_err(|source| SshError::Dial { addr, source })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// One connection attempt: transport, handshake, authentication.
pub(crate) async fn establish(plan: &ConnectPlan) -> Result<Connection, SshError> {
    let (stream, bastion): (Box<dyn Transport>, Option<Handle<ClientHandler>>) = match &plan.route {
        Route::Direct => (Box::new(dial_tcp(&plan.host, plan.port).await?), None),
        Route::Proxy { kind, addr, auth } => {
            let (phost, pport) = split_addr(addr);
            let mut tcp = dial_tcp(phost, pport).await?;
            let handshake = match kind {
                ProxyKind::Socks5 => {
                    proxy::socks5_connect(&mut tcp, &plan.host, plan.port, auth.as_ref()).await
                }
                ProxyKind::HttpConnect => {
                    proxy::http_connect(&mut tcp, &plan.host, plan.port, auth.as_ref()).await
                }
            };
            handshake.map_err(|e| SshError::Proxy {
                proxy: addr.clone(),
                target: plan.addr.clone(),
                reason: e.to_string(),
            })?;
            (Box::new(tcp), None)
        }
        Route::Bastion(b) => {
            let (stream, handle) = via_bastion(plan, b).await.map_err(|e| SshError::Bastion {
                addr: b.addr.clone(),
                source: Box::new(e),
            })?;
            (Box::new(stream), Some(handle))
        }
    };
    let handler = ClientHandler {
        agent_forward: plan.agent_forward.clone(),
    };
    let handle = handshake(
        plan.ssh.clone(),
        stream,
        handler,
        &plan.user,
        &plan.methods,
        &plan.addr,
        plan.handshake_timeout,
    )
    .await?;
    info!(target: "ssh", addr = %plan.addr, user = %plan.user, "SSH connection established");
    Ok(Connection {
        handle,
        _bastion: bastion,
    })
}

async fn handshake(
    config: Arc<client::Config>,
    stream: Box<dyn Transport>,
    handler: ClientHandler,
    user: &str,
    methods: &[AuthMethod],
    addr: &str,
    limit: Duration,
) -> Result<Handle<ClientHandler>, SshError> {
    let attempt = async {
        let mut handle = client::connect_stream(config, stream, handler)
            .await
            .map_err(|e| SshError::Handshake {
                addr: addr.to_string(),
                reason: e.to_string(),
            })?;
        auth::authenticate(&mut handle, user, methods, addr).await?;
        Ok(handle)
    };
    if limit.is_zero() {
        return attempt.await;
    }
    tokio::time::timeout(limit, attempt)
        .await
        .map_err(|_| SshError::HandshakeTimeout {
            addr: addr.to_string(),
            after: limit,
        })?
}

async fn via_bastion(
    plan: &ConnectPlan,
    b: &BastionPlan,
) -> Result<(russh::ChannelStream<Msg>, Handle<ClientHandler>), SshError> {
    let tcp = dial_tcp(&b.host, b.port).await?;
    let handler = ClientHandler {
        agent_forward: None,
    };
    let handle = handshake(
        plan.bastion_ssh.clone(),
        Box::new(tcp),
        handler,
        &b.user,
        &b.methods,
        &b.addr,
        plan.handshake_timeout,
    )
    .await?;
    debug!(target: "ssh", bastion = %b.addr, target = %plan.addr, "connected to bastion; opening direct-tcpip");
    let bare = plan.host.trim_start_matches('[').trim_end_matches(']');
    let channel = handle
        .channel_open_direct_tcpip(bare, u32::from(plan.port), "127.0.0.1", 0)
        .await
        .map_err(|e| SshError::Channel(format!("direct-tcpip to {}: {e}", plan.addr)))?;
    Ok((channel.into_stream(), handle))
}

fn split_addr(addr: &str) -> (&str, u16) {
    match addr.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().unwrap_or(0)),
        None => (addr, 0),
    }
}

/// Asks the server to forward our agent (Go's `connectToAgent`); failures are only logged.
pub(crate) async fn request_agent_forwarding(conn: &Connection) {
    let channel = match conn.handle.channel_open_session().await {
        Ok(c) => c,
        Err(e) => {
            debug!(target: "ssh", error = %e, "agent forwarding: cannot open a session");
            return;
        }
    };
    let mut channel = channel;
    if let Err(e) = channel.agent_forward(true).await {
        debug!(target: "ssh", error = %e, "agent forwarding request failed");
        return;
    }
    let reply = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(msg) = channel.wait().await {
            match msg {
                russh::ChannelMsg::Success => return true,
                russh::ChannelMsg::Failure => return false,
                _ => {}
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    let _ = channel.close().await;
    if reply {
        info!(target: "ssh", "agent forwarding enabled");
    } else {
        debug!(target: "ssh", "the server refused agent forwarding");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_classes() {
        let dial = SshError::Dial {
            addr: "a".into(),
            source: std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        };
        assert_eq!(classify(&dial), FailureKind::Dial);
        let auth = SshError::Auth {
            user: "u".into(),
            addr: "a".into(),
            tried: "none".into(),
        };
        assert_eq!(classify(&auth), FailureKind::Auth);
        // Bastion auth failures are transport failures for the target, as in Go.
        let bastion = SshError::Bastion {
            addr: "b".into(),
            source: Box::new(auth),
        };
        assert_eq!(classify(&bastion), FailureKind::Dial);
        let hs = SshError::HandshakeTimeout {
            addr: "a".into(),
            after: Duration::from_secs(1),
        };
        assert_eq!(classify(&hs), FailureKind::Handshake);
    }

    #[test]
    fn plan_requires_some_auth_method() {
        let cfg = SshConfig {
            host: "h".into(),
            username: "u".into(),
            ..Default::default()
        };
        assert!(matches!(
            ConnectPlan::new(&cfg, SystemTime::now()),
            Err(SshError::Config(_))
        ));
        let cfg = SshConfig {
            password: Some("p".into()),
            ..cfg
        };
        assert!(ConnectPlan::new(&cfg, SystemTime::now()).is_ok());
    }

    #[test]
    fn agent_auth_without_a_socket_fails_fast() {
        let cfg = SshConfig {
            host: "h".into(),
            username: "u".into(),
            agent_auth: true,
            agent_socket: Some(PathBuf::new()),
            ..Default::default()
        };
        // An explicit empty path counts as "no agent", whatever SSH_AUTH_SOCK says.
        assert!(matches!(
            ConnectPlan::new(&cfg, SystemTime::now()),
            Err(SshError::Agent(_))
        ));
    }
}
