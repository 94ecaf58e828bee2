//! Process bootstrap as packer-plugin-sdk's `plugin.Server` does it: the magic cookie check, the
//! listener, the `5|0|unix|/path` line Packer reads from stdout, and ignoring Ctrl-C.

use std::io;
#[cfg(unix)]
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};
#[cfg(unix)]
use tracing::debug;

/// Environment variable Packer sets for every plugin it starts.
pub const MAGIC_COOKIE_KEY: &str = "PACKER_PLUGIN_MAGIC_COOKIE";
/// The value Packer puts in [`MAGIC_COOKIE_KEY`] (SDK `plugin.MagicCookieValue`).
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// The exact text Packer's SDK prints when a plugin is run by hand.
pub const MANUAL_START_MESSAGE: &str =
    "Please do not execute plugins directly. Packer will execute these for you.";

/// Plugin API version printed in the handshake line; every SDK release uses 5.0.
const API_VERSION: &str = "5|0";
/// Port range variables Packer sets; only used for the TCP listener (Windows).
const MIN_PORT_VAR: &str = "PACKER_PLUGIN_MIN_PORT";
const MAX_PORT_VAR: &str = "PACKER_PLUGIN_MAX_PORT";
/// Packer's defaults for those variables, used when they are absent.
const DEFAULT_MIN_PORT: i64 = 10_000;
const DEFAULT_MAX_PORT: i64 = 25_000;
/// How many random socket names to try before giving up.
#[cfg(unix)]
const SOCKET_NAME_ATTEMPTS: u32 = 64;

/// Why the plugin could not get Packer connected.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// The unix socket could not be created.
    #[error("cannot create the plugin unix socket {path}: {source}")]
    BindUnix {
        /// The socket path we tried.
        path: String,
        /// The OS error.
        source: io::Error,
    },
    /// Every random socket name we tried was taken.
    #[error("no free plugin socket name in {dir} after {attempts} attempts")]
    NoSocketName {
        /// The temporary directory.
        dir: String,
        /// How many names were tried.
        attempts: u32,
    },
    /// A port range variable is not an integer (Go: `strconv.ParseInt(v, 10, 32)`).
    #[error("{var}={value:?} is not a valid port number")]
    BadPortVar {
        /// The variable name.
        var: &'static str,
        /// Its value.
        value: String,
    },
    /// No port in the range could be bound (the SDK's "Couldn't bind plugin TCP listener").
    #[error("couldn't bind plugin TCP listener on 127.0.0.1 ports {min}..={max}")]
    NoFreePort {
        /// First port tried.
        min: i64,
        /// Last port tried.
        max: i64,
    },
    /// Accepting Packer's connection failed.
    #[error("accepting Packer's connection on {address}: {source}")]
    Accept {
        /// The listener address.
        address: String,
        /// The OS error.
        source: io::Error,
    },
}

/// Whether Packer started us: its magic cookie is in the environment. Without it the plugin
/// should print [`MANUAL_START_MESSAGE`] to stderr and exit 1, like SDK plugins.
pub fn cookie_present() -> bool {
    std::env::var_os(MAGIC_COOKIE_KEY).is_some_and(|v| v == MAGIC_COOKIE_VALUE)
}

/// Removes the socket file when dropped, so no exit path leaves it behind.
#[cfg(unix)]
#[derive(Debug)]
struct SocketFile(PathBuf);

#[cfg(unix)]
impl Drop for SocketFile {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.0) {
            debug!(path = %self.0.display(), "could not remove the plugin socket: {e}");
        }
    }
}

#[derive(Debug)]
enum Inner {
    #[cfg(unix)]
    Unix {
        listener: UnixListener,
        file: SocketFile,
    },
    Tcp {
        listener: TcpListener,
        address: String,
    },
}

/// The one-connection listener Packer dials after reading [`PluginListener::handshake_line`]:
/// a unix socket under the temporary directory on unix, TCP on 127.0.0.1 on Windows (as the SDK).
#[derive(Debug)]
pub struct PluginListener {
    inner: Inner,
}

impl PluginListener {
    /// Creates the listener: a fresh `packer-plugin<N>` socket in `std::env::temp_dir()` (which
    /// honours `$TMPDIR`) on unix; on Windows the first free port in
    /// `PACKER_PLUGIN_MIN_PORT..=PACKER_PLUGIN_MAX_PORT`.
    pub async fn bind() -> Result<Self, HandshakeError> {
        #[cfg(unix)]
        {
            Self::bind_unix_in(&std::env::temp_dir())
        }
        #[cfg(not(unix))]
        {
            let (min, max) = port_range(
                std::env::var(MIN_PORT_VAR).ok().as_deref(),
                std::env::var(MAX_PORT_VAR).ok().as_deref(),
            )?;
            Self::bind_tcp(min, max).await
        }
    }

    #[cfg(unix)]
    fn bind_unix_in(dir: &Path) -> Result<Self, HandshakeError> {
        for attempt in 0..SOCKET_NAME_ATTEMPTS {
            let path = dir.join(format!("packer-plugin{}", random_suffix(attempt)));
            match UnixListener::bind(&path) {
                Ok(listener) => {
                    return Ok(Self {
                        inner: Inner::Unix {
                            listener,
                            file: SocketFile(path),
                        },
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
                Err(source) => {
                    return Err(HandshakeError::BindUnix {
                        path: path.display().to_string(),
                        source,
                    })
                }
            }
        }
        Err(HandshakeError::NoSocketName {
            dir: dir.display().to_string(),
            attempts: SOCKET_NAME_ATTEMPTS,
        })
    }

    /// Binds the first free `127.0.0.1:<port>` with `min <= port <= max`, as the SDK's
    /// `serverListener_tcp`.
    #[cfg_attr(unix, allow(dead_code))]
    async fn bind_tcp(min: i64, max: i64) -> Result<Self, HandshakeError> {
        let mut port = min;
        while port <= max {
            if let Ok(p) = u16::try_from(port) {
                if let Ok(listener) = TcpListener::bind(("127.0.0.1", p)).await {
                    let address = listener
                        .local_addr()
                        .map(|a| a.to_string())
                        .unwrap_or_else(|_| format!("127.0.0.1:{p}"));
                    return Ok(Self {
                        inner: Inner::Tcp { listener, address },
                    });
                }
            }
            port += 1;
        }
        Err(HandshakeError::NoFreePort { min, max })
    }

    /// The line to print on stdout, without the newline: `5|0|unix|/tmp/packer-plugin123` or
    /// `5|0|tcp|127.0.0.1:10000`. Print it (plus `\n`) as the process's first stdout output and flush.
    pub fn handshake_line(&self) -> String {
        match &self.inner {
            #[cfg(unix)]
            Inner::Unix { file, .. } => format!("{API_VERSION}|unix|{}", file.0.display()),
            Inner::Tcp { address, .. } => format!("{API_VERSION}|tcp|{address}"),
        }
    }

    /// Accepts Packer's one connection, then closes the listener (and removes the socket file),
    /// as the SDK does.
    pub async fn accept_one(self) -> Result<Connection, HandshakeError> {
        match self.inner {
            #[cfg(unix)]
            Inner::Unix { listener, file } => {
                let accepted = listener.accept().await;
                drop(listener);
                let address = file.0.display().to_string();
                drop(file);
                match accepted {
                    Ok((stream, _)) => Ok(Connection::Unix(stream)),
                    Err(source) => Err(HandshakeError::Accept { address, source }),
                }
            }
            Inner::Tcp { listener, address } => match listener.accept().await {
                Ok((stream, _)) => Ok(Connection::Tcp(stream)),
                Err(source) => Err(HandshakeError::Accept { address, source }),
            },
        }
    }
}

/// Parses the port range variables like the SDK (base-10, 32-bit); absent ones take Packer's
/// defaults.
#[cfg_attr(unix, allow(dead_code))]
fn port_range(min: Option<&str>, max: Option<&str>) -> Result<(i64, i64), HandshakeError> {
    let parse = |var: &'static str, value: Option<&str>, default: i64| match value {
        None => Ok(default),
        Some(v) => v
            .parse::<i32>()
            .map(i64::from)
            .map_err(|_| HandshakeError::BadPortVar {
                var,
                value: v.to_string(),
            }),
    };
    Ok((
        parse(MIN_PORT_VAR, min, DEFAULT_MIN_PORT)?,
        parse(MAX_PORT_VAR, max, DEFAULT_MAX_PORT)?,
    ))
}

/// A hard-to-guess number for the socket name (the SDK uses `os.CreateTemp`'s random digits).
#[cfg(unix)]
fn random_suffix(attempt: u32) -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u32(attempt);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    (h.finish() >> 32) as u32
}

/// Packer's connection to the plugin: whichever socket kind the listener used.
#[derive(Debug)]
pub enum Connection {
    /// A unix socket connection (unix systems).
    #[cfg(unix)]
    Unix(UnixStream),
    /// A TCP connection (Windows).
    Tcp(TcpStream),
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_write(cx, data),
            Self::Tcp(s) => Pin::new(s).poll_write(cx, data),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_flush(cx),
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(unix)]
            Self::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

/// Ignore SIGINT/SIGTERM from now on (Packer cancels by RPC; a terminal Ctrl-C reaches our process
/// group). Like the SDK's `signal.Notify`, this installs a handler that does nothing rather than
/// `SIG_IGN`, so child processes we spawn later get the default disposition back at `exec`.
pub fn ignore_interrupts() -> io::Result<()> {
    #[cfg(unix)]
    {
        for sig in [libc::SIGINT, libc::SIGTERM] {
            install_noop_handler(sig)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
extern "C" fn noop_handler(_sig: libc::c_int) {}

/// The workspace's one `unsafe` block (the lint denies it everywhere else).
#[cfg(unix)]
#[allow(unsafe_code)]
fn install_noop_handler(sig: libc::c_int) -> io::Result<()> {
    // SAFETY: `sigaction` is given a fully initialised struct (zeroed, then an empty mask set by
    // `sigemptyset`) whose handler is an `extern "C"` function that touches nothing, so it is
    // async-signal-safe; the old action is not requested (null pointer is allowed).
    let rc = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = noop_handler as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(sig, &action, std::ptr::null_mut())
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_range_parsing() {
        assert_eq!(port_range(None, None).unwrap(), (10_000, 25_000));
        assert_eq!(
            port_range(Some("12000"), Some("12010")).unwrap(),
            (12_000, 12_010)
        );
        assert!(matches!(
            port_range(Some("x"), None),
            Err(HandshakeError::BadPortVar {
                var: MIN_PORT_VAR,
                ..
            })
        ));
        assert!(matches!(
            port_range(None, Some("99999999999")),
            Err(HandshakeError::BadPortVar {
                var: MAX_PORT_VAR,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn tcp_listener_takes_the_first_free_port_in_range() {
        // Occupy one port, then ask for a range starting at it: the next one must be chosen.
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = i64::from(taken.local_addr().unwrap().port());
        let Ok(l) = PluginListener::bind_tcp(port, port + 50).await else {
            return; // every port above it busy: nothing to check on this machine
        };
        let line = l.handshake_line();
        let got: i64 = line.rsplit(':').next().unwrap().parse().unwrap();
        assert!(line.starts_with("5|0|tcp|127.0.0.1:"), "{line}");
        assert!(got > port && got <= port + 50, "{line}");

        let addr = line.trim_start_matches("5|0|tcp|").to_string();
        let dial = tokio::spawn(async move { TcpStream::connect(addr).await });
        let conn = l.accept_one().await.unwrap();
        assert!(matches!(conn, Connection::Tcp(_)));
        dial.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn tcp_listener_reports_a_range_with_no_free_port() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = i64::from(taken.local_addr().unwrap().port());
        let err = PluginListener::bind_tcp(port, port).await.unwrap_err();
        assert!(matches!(err, HandshakeError::NoFreePort { .. }), "{err}");
        let err = PluginListener::bind_tcp(70_000, 70_001).await.unwrap_err();
        assert!(matches!(err, HandshakeError::NoFreePort { .. }), "{err}");
    }
}
