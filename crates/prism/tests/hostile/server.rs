//! A small raw HTTP/1.1 (and HTTPS) server that misbehaves on purpose: it answers each request
//! with a scripted [`Reply`] (redirects anywhere, trickled heads and bodies, resets, bad chunked
//! encoding, short bodies) and records what it was sent. One request per connection.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == &name.to_ascii_lowercase())
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Status and JSON body.
    Json(u16, String),
    /// A redirect with this status and Location.
    Redirect(u16, String),
    /// 200 with this Content-Length, then one byte per interval, forever.
    TrickleBody(u64, Duration),
    /// A status line, then one header byte per interval, forever.
    TrickleHead(Duration),
    /// A TCP reset after reading the request.
    Reset,
    /// Close without answering.
    Close,
    /// 200 with Content-Length 100 and only 10 bytes, then close.
    ShortBody,
    /// 200 chunked with a chunk size that is not hex.
    BadChunk,
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A running hostile server.
pub struct Hostile {
    pub port: u16,
    tls: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.task.abort();
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Stream for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Stream for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

impl Hostile {
    /// Plain HTTP on 127.0.0.1.
    pub async fn http(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Self {
        Self::start(None, Arc::new(handler)).await
    }

    /// HTTPS on 127.0.0.1 with this server config.
    pub async fn https(
        config: Arc<rustls::ServerConfig>,
        handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
    ) -> Self {
        Self::start(Some(config), Arc::new(handler)).await
    }

    async fn start(tls: Option<Arc<rustls::ServerConfig>>, handler: Arc<Handler>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let is_tls = tls.is_some();
        let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
        let (seen2, conns2) = (seen.clone(), connections.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                conns2.fetch_add(1, Ordering::SeqCst);
                let (acceptor, handler, seen) = (acceptor.clone(), handler.clone(), seen2.clone());
                tokio::spawn(async move {
                    let stream: Box<dyn Stream> = match acceptor {
                        Some(a) => match a.accept(sock).await {
                            Ok(s) => Box::new(s),
                            Err(_) => return, // the client refused our certificate
                        },
                        None => Box::new(sock),
                    };
                    serve(stream, handler, seen).await;
                });
            }
        });
        Hostile {
            port,
            tls: is_tls,
            seen,
            connections,
            task,
        }
    }

    /// `http(s)://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// TCP connections accepted so far (TLS handshakes included, completed or not).
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn read_request(stream: &mut Box<dyn Stream>) -> Option<Seen> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > 1 << 20 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Seen {
        method,
        path,
        headers,
        body,
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        401 => "Unauthorized",
        403 => "Forbidden",
        _ => "Whatever",
    }
}

async fn serve(mut stream: Box<dyn Stream>, handler: Arc<Handler>, seen: Arc<Mutex<Vec<Seen>>>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    seen.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    let _ = match reply {
        Reply::Json(status, body) => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reason(status),
                body.len()
            );
            write_all(&mut stream, [head.as_bytes(), body.as_bytes()].concat()).await
        }
        Reply::Redirect(status, location) => {
            let head = format!(
                "HTTP/1.1 {status} {}\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                reason(status)
            );
            write_all(&mut stream, head.into_bytes()).await
        }
        Reply::TrickleBody(len, every) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n["
            );
            if write_all(&mut stream, head.into_bytes()).await.is_err() {
                return;
            }
            loop {
                tokio::time::sleep(every).await;
                if write_all(&mut stream, b" ".to_vec()).await.is_err() {
                    return;
                }
            }
        }
        Reply::TrickleHead(every) => {
            if write_all(&mut stream, b"HTTP/1.1 200 OK\r\nX-Slow: ".to_vec())
                .await
                .is_err()
            {
                return;
            }
            loop {
                tokio::time::sleep(every).await;
                if write_all(&mut stream, b"a".to_vec()).await.is_err() {
                    return;
                }
            }
        }
        Reply::Reset => {
            let _ = stream.tcp().set_zero_linger();
            drop(stream);
            return;
        }
        Reply::Close => {
            let _ = stream.shutdown().await;
            return;
        }
        Reply::ShortBody => {
            let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"entities\"";
            let result = write_all(&mut stream, text.as_bytes().to_vec()).await;
            let _ = stream.shutdown().await;
            result
        }
        Reply::BadChunk => {
            let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
            let result = write_all(&mut stream, text.as_bytes().to_vec()).await;
            let _ = stream.shutdown().await;
            result
        }
    };
    // Let the client read everything before the socket goes away.
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut sink)).await;
}

async fn write_all(stream: &mut Box<dyn Stream>, bytes: Vec<u8>) -> std::io::Result<()> {
    stream.write_all(&bytes).await?;
    stream.flush().await
}

/// A self-signed certificate and its server config, the way `openssl req -x509` makes one by
/// default (basicConstraints CA:TRUE), with the given subjectAltNames (none: the common name
/// alone names the host) and common name.
pub struct SelfSigned {
    pub pem: String,
    pub config: Arc<rustls::ServerConfig>,
}

pub fn self_signed_ca_true(common_name: &str, sans: &[&str]) -> SelfSigned {
    self_signed(common_name, sans, true)
}

/// A self-signed end-entity certificate (CA:FALSE).
pub fn self_signed_leaf(common_name: &str, sans: &[&str]) -> SelfSigned {
    self_signed(common_name, sans, false)
}

fn self_signed(common_name: &str, sans: &[&str], ca: bool) -> SelfSigned {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, common_name);
    if ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let cert = params.self_signed(&key).unwrap();
    let der = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.der().clone()], der)
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    SelfSigned {
        pem: cert.pem(),
        config: Arc::new(config),
    }
}
