//! Reaching Prism Central's origin: TCP (directly or through a CONNECT proxy), TLS with the
//! build's trust settings (`prism::tls`), and the websocket upgrade. Redirects are never
//! followed: a 3xx is reported with where it pointed, so credentials and tokens never leave
//! the origin they were meant for.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use prism::Scheme;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use rfb::ws::handshake;

use crate::error::ConsoleError;
use crate::link::BoxIo;
use crate::proxy::{connect_via, proxy_for, ProxyUrl};
use crate::target::ConsoleTarget;

/// Longest wait for one exchange with the server that should answer at once: the TCP and TLS
/// connect, the websocket upgrade, the RFB handshake. A console proxy answers these in well
/// under a second; one silent for this long is not going to answer, and giving up lets the next
/// transport have its turn (and a build fail in seconds) instead of one silent socket using the
/// whole connect budget.
pub(crate) const EXCHANGE_LIMIT: Duration = Duration::from_secs(10);

/// The deadline of one such exchange: [`EXCHANGE_LIMIT`] from now, or the caller's if sooner.
pub(crate) fn exchange_deadline(deadline: Instant) -> Instant {
    deadline.min(Instant::now() + EXCHANGE_LIMIT)
}

/// Runs `fut`, turning the deadline into a [`ConsoleError::Timeout`] that names `what`.
pub(crate) async fn step<T>(
    what: &str,
    deadline: Instant,
    fut: impl Future<Output = Result<T, ConsoleError>>,
) -> Result<T, ConsoleError> {
    let started = Instant::now();
    match tokio::time::timeout_at(deadline, fut).await {
        Ok(r) => r,
        Err(_) => Err(ConsoleError::Timeout {
            what: what.to_string(),
            after: started.elapsed(),
        }),
    }
}

/// Opens streams to the target's origin.
pub(crate) struct Dialer {
    host: String,
    port: u16,
    tls: Option<tokio_rustls::TlsConnector>,
    proxy: Option<ProxyUrl>,
}

impl Dialer {
    /// Resolves the proxy and builds the TLS configuration; fails only on configuration.
    pub(crate) fn new(target: &ConsoleTarget) -> Result<Self, ConsoleError> {
        let host = target
            .endpoint
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let https = target.scheme == Scheme::Https;
        let tls = if https {
            let config = prism::tls::client_config(&target.tls)
                .map_err(|e| ConsoleError::Config(e.to_string()))?;
            Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        let proxy = proxy_for(&target.proxy, https, &host, |k| std::env::var(k).ok())?;
        Ok(Self {
            host,
            port: target.port,
            tls,
            proxy,
        })
    }

    /// The proxy in use, if any.
    pub(crate) fn proxy(&self) -> Option<&ProxyUrl> {
        self.proxy.as_ref()
    }

    /// A connected (and, for https, TLS-wrapped) stream to the origin.
    pub(crate) async fn stream(&self) -> Result<BoxIo, ConsoleError> {
        let tcp = match &self.proxy {
            Some(p) => connect_via(p, &self.host, self.port).await?,
            None => {
                let s = TcpStream::connect((self.host.as_str(), self.port))
                    .await
                    .map_err(|e| {
                        ConsoleError::io(format!("connect to {}:{}", self.host, self.port), &e)
                    })?;
                let _ = s.set_nodelay(true);
                s
            }
        };
        let Some(tls) = &self.tls else {
            return Ok(Box::new(tcp));
        };
        let name = ServerName::try_from(self.host.clone()).map_err(|e| {
            ConsoleError::Config(format!(
                "'{}' is not a valid TLS server name: {e}",
                self.host
            ))
        })?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| ConsoleError::io(format!("TLS with {}:{}", self.host, self.port), &e))?;
        Ok(Box::new(stream))
    }
}

/// Sends the upgrade request for `target` (path and query) with `headers` and checks the
/// answer; returns the stream and any bytes that came after the 101 head.
pub(crate) async fn upgrade(
    mut io: BoxIo,
    request_target: &str,
    host_header: &str,
    headers: &[(String, String)],
) -> Result<(BoxIo, Vec<u8>), ConsoleError> {
    let key = handshake::client_key(rand::random());
    let request = handshake::client_request(request_target, host_header, &key, headers);
    io.write_all(&request)
        .await
        .map_err(|e| ConsoleError::io("send the websocket upgrade", &e))?;
    io.flush()
        .await
        .map_err(|e| ConsoleError::io("send the websocket upgrade", &e))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head, len) = loop {
        if let Some(done) = handshake::parse_response(&buf)? {
            break done;
        }
        let n = io
            .read(&mut chunk)
            .await
            .map_err(|e| ConsoleError::io("read the websocket upgrade answer", &e))?;
        if n == 0 {
            return Err(ConsoleError::Websocket(if buf.is_empty() {
                "the server closed the connection without answering the upgrade".into()
            } else {
                "the server closed the connection in the middle of its answer".into()
            }));
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    };
    let rest = buf.get(len..).unwrap_or_default().to_vec();
    if (300..400).contains(&head.status) {
        let location = head
            .header("location")
            .map(|l| l.split('?').next().unwrap_or_default().to_string())
            .unwrap_or_else(|| "nowhere".into());
        return Err(ConsoleError::Websocket(format!(
            "HTTP {} redirect to {location}, not followed (the console never follows \
             redirects, so credentials stay with Prism Central)",
            head.status
        )));
    }
    if head.status != 101 {
        let body: String = String::from_utf8_lossy(&rest)
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let body = if body.is_empty() {
            String::new()
        } else {
            format!(": {body}")
        };
        return Err(ConsoleError::Websocket(format!(
            "the upgrade was refused with HTTP {} {}{body}",
            head.status, head.reason
        )));
    }
    handshake::check_upgrade(&head, &key)?;
    Ok((io, rest))
}

/// `host:port` as the Host header writes it.
pub(crate) fn host_header(target: &ConsoleTarget) -> String {
    let host = target
        .endpoint
        .trim_start_matches('[')
        .trim_end_matches(']');
    if host.contains(':') {
        format!("[{host}]:{}", target.port)
    } else {
        format!("{host}:{}", target.port)
    }
}
