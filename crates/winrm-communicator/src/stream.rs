//! Opening the byte stream under HTTP: TCP, optionally through a proxy's CONNECT tunnel,
//! optionally wrapped in TLS.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

use crate::error::WinRmError;
use crate::proxy::Proxy;

/// A plain or TLS stream.
pub(crate) enum MaybeTls {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Where and how to connect.
pub(crate) struct Dialer {
    /// `host:port` of the WinRM endpoint.
    pub target: String,
    /// The host alone (TLS server name).
    pub host: String,
    /// TLS config for HTTPS endpoints.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// The proxy, if one applies.
    pub proxy: Option<Proxy>,
    /// Limit for TCP connect + tunnel + TLS handshake.
    pub timeout: Duration,
}

impl Dialer {
    /// Opens a fresh stream to the endpoint.
    pub(crate) async fn dial(&self) -> Result<MaybeTls, WinRmError> {
        let addr = self
            .proxy
            .as_ref()
            .map_or(self.target.as_str(), |p| p.addr.as_str());
        let fail = |reason: String| WinRmError::Connect {
            addr: addr.to_string(),
            reason,
        };
        let work = async {
            let mut tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            if let (Some(proxy), Some(_)) = (&self.proxy, &self.tls) {
                tunnel(&mut tcp, &self.target, proxy)
                    .await
                    .map_err(|reason| {
                        fail(format!("proxy CONNECT to {}: {reason}", self.target))
                    })?;
            }
            match &self.tls {
                None => Ok(MaybeTls::Plain(tcp)),
                Some(config) => {
                    let name = ServerName::try_from(self.host.clone())
                        .map_err(|e| fail(format!("TLS server name {:?}: {e}", self.host)))?;
                    let tls = tokio_rustls::TlsConnector::from(config.clone())
                        .connect(name, tcp)
                        .await
                        .map_err(|e| fail(format!("TLS handshake: {e}")))?;
                    Ok(MaybeTls::Tls(Box::new(tls)))
                }
            }
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(fail(format!("no connection within {:?}", self.timeout))),
        }
    }
}

/// Sends `CONNECT target` to the proxy and reads its status line and headers.
async fn tunnel(tcp: &mut TcpStream, target: &str, proxy: &Proxy) -> Result<(), String> {
    let mut req = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if let Some(auth) = &proxy.authorization {
        req.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = Vec::with_capacity(256);
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err("the proxy's reply headers exceed 16 KiB".into());
        }
        let n = tcp.read(&mut byte).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the proxy closed the connection".into());
        }
        head.extend_from_slice(&byte);
    }
    let text = String::from_utf8_lossy(&head);
    let status = text.lines().next().unwrap_or_default().to_string();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    if code == "200" {
        Ok(())
    } else {
        Err(format!("proxy answered {status:?}"))
    }
}
