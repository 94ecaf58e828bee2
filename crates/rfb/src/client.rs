//! The RFB client core: feed it the server's bytes in any split ([`Client::handle_input`]),
//! write what [`Client::take_output`] returns, read [`Client::poll_event`].
//!
//! The handshake runs on its own: ProtocolVersion, security (None, or VNC authentication with
//! the configured password), ClientInit (shared), ServerInit, then a SetEncodings naming only
//! Raw and CopyRect. After [`Event::Connected`], [`Client::key_event`] queues KeyEvent messages
//! and every server message keeps being decoded (see [`crate::client`]'s `session` module), so a
//! server that sends updates we never asked for cannot wedge the stream.

mod session;

use std::collections::VecDeque;
use std::fmt;

use crate::auth::{self, CHALLENGE_LEN};
use crate::error::RfbError;
use crate::pixel::{PixelFormat, PIXEL_FORMAT_LEN};
use crate::version::{Announced, Version, VERSION_LEN};
use crate::wire::{text, u16_at, u32_at, u8_at};
use crate::{SECURITY_NONE, SECURITY_VNC};

pub use session::Event;
use session::Msg;

/// Longest server name, failure reason or cut text we keep (longer cut text is skipped).
pub const MAX_TEXT: u32 = 1 << 20;
/// Encoding number of Raw rectangles.
pub const ENCODING_RAW: i32 = 0;
/// Encoding number of CopyRect rectangles.
pub const ENCODING_COPY_RECT: i32 = 1;

/// How the client connects.
#[derive(Clone)]
pub struct ClientConfig {
    /// VNC password; used when the server offers VNC authentication.
    pub password: Option<Vec<u8>>,
    /// ClientInit's shared flag: leave other viewers connected (what Prism's own console does).
    pub shared: bool,
    /// The highest version to speak (tests lower it to exercise 3.3 and 3.7).
    pub max_version: Version,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            password: None,
            shared: true,
            max_version: Version::V3_8,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("shared", &self.shared)
            .field("max_version", &self.max_version)
            .finish()
    }
}

/// What the handshake learned about the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// The version spoken.
    pub version: Version,
    /// The version the server announced, as `major.minor`.
    pub announced: String,
    /// The security type used.
    pub security: u8,
    /// Framebuffer width.
    pub width: u16,
    /// Framebuffer height.
    pub height: u16,
    /// The server's pixel format (we never change it).
    pub pixel_format: PixelFormat,
    /// The desktop name.
    pub name: String,
}

#[derive(Debug)]
enum Stage {
    Version,
    /// RFB 3.7/3.8: a count and a list of types.
    SecurityTypes,
    /// RFB 3.3: the server's single choice as a u32.
    SecurityType33,
    /// A u32 length and a reason string; the error it becomes.
    Reason(Why),
    Challenge,
    SecurityResult,
    ServerInit,
    Session(Msg),
    Failed(RfbError),
}

#[derive(Debug, Clone, Copy)]
enum Why {
    Refused,
    AuthFailed,
}

impl Stage {
    fn name(&self) -> &'static str {
        match self {
            Stage::Version => "the RFB version exchange",
            Stage::SecurityTypes | Stage::SecurityType33 => "security negotiation",
            Stage::Reason(_) => "the server's failure reason",
            Stage::Challenge => "VNC authentication (waiting for the challenge)",
            Stage::SecurityResult => "the security result",
            Stage::ServerInit => "ServerInit",
            Stage::Session(_) => "the session",
            Stage::Failed(_) => "a failed session",
        }
    }
}

/// The client state machine.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    stage: Stage,
    /// Bytes received and not yet consumed.
    buf: Vec<u8>,
    out: Vec<u8>,
    events: VecDeque<Event>,
    version: Version,
    announced: String,
    security: u8,
    pixel_format: PixelFormat,
}

impl Client {
    /// A client waiting for the server's ProtocolVersion.
    pub fn new(config: ClientConfig) -> Self {
        Self {
            config,
            stage: Stage::Version,
            buf: Vec::new(),
            out: Vec::new(),
            events: VecDeque::new(),
            version: Version::V3_8,
            announced: String::new(),
            security: 0,
            pixel_format: PixelFormat::RGB888,
        }
    }

    /// Whether the handshake is done and key events can be sent.
    pub fn is_ready(&self) -> bool {
        matches!(self.stage, Stage::Session(_))
    }

    /// Bytes to write to the server (empty when there is nothing).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Queues a KeyEvent (`keysym` is an X11 keysym, see [`crate::keysym`]).
    pub fn key_event(&mut self, keysym: u32, down: bool) -> Result<(), RfbError> {
        if !self.is_ready() {
            return Err(RfbError::NotReady("a key event"));
        }
        self.out.extend_from_slice(&[4, u8::from(down), 0, 0]);
        self.out.extend_from_slice(&keysym.to_be_bytes());
        Ok(())
    }

    /// The server closed the connection: always an error, naming what we were waiting for.
    pub fn handle_eof(&mut self) -> RfbError {
        match &self.stage {
            Stage::Failed(e) => e.clone(),
            stage => {
                let e = RfbError::Closed {
                    during: stage.name(),
                };
                self.stage = Stage::Failed(e.clone());
                e
            }
        }
    }

    /// Feeds bytes from the server. An error is final: the connection should be closed.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<(), RfbError> {
        if let Stage::Failed(e) = &self.stage {
            return Err(e.clone());
        }
        self.buf.extend_from_slice(input);
        match self.advance() {
            Ok(()) => Ok(()),
            Err(e) => {
                self.stage = Stage::Failed(e.clone());
                self.buf.clear();
                Err(e)
            }
        }
    }

    /// Consumes `n` bytes from the front of the buffer.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    /// Runs the state machine until it needs more bytes.
    fn advance(&mut self) -> Result<(), RfbError> {
        loop {
            let progressed = match &mut self.stage {
                Stage::Session(_) => self.session_step()?,
                _ => self.handshake_step()?,
            };
            if !progressed {
                return Ok(());
            }
        }
    }

    /// One handshake message, if complete; false when more bytes are needed.
    fn handshake_step(&mut self) -> Result<bool, RfbError> {
        match &self.stage {
            Stage::Version => {
                let Some(head) = self.buf.get(..VERSION_LEN) else {
                    return Ok(false);
                };
                let announced = Announced::parse(head)?;
                let version = announced.client_choice()?.min(self.config.max_version);
                self.announced = format!("{}.{}", announced.major, announced.minor);
                self.version = version;
                self.consume(VERSION_LEN);
                self.out.extend_from_slice(version.banner());
                self.stage = match version {
                    Version::V3_3 => Stage::SecurityType33,
                    Version::V3_7 | Version::V3_8 => Stage::SecurityTypes,
                };
            }
            Stage::SecurityTypes => {
                let Some(count) = u8_at(&self.buf, 0) else {
                    return Ok(false);
                };
                if count == 0 {
                    self.consume(1);
                    self.stage = Stage::Reason(Why::Refused);
                    return Ok(true);
                }
                let Some(types) = self.buf.get(1..1 + usize::from(count)) else {
                    return Ok(false);
                };
                let chosen = self.choose_security(types)?;
                self.consume(1 + usize::from(count));
                self.out.push(chosen);
                self.start_security(chosen);
            }
            Stage::SecurityType33 => {
                let Some(t) = u32_at(&self.buf, 0) else {
                    return Ok(false);
                };
                self.consume(4);
                match t {
                    0 => self.stage = Stage::Reason(Why::Refused),
                    1 | 2 => {
                        let chosen = self.choose_security(&[t as u8])?;
                        self.start_security(chosen);
                    }
                    other => {
                        return Err(RfbError::NoCommonSecurity {
                            offered: vec![other],
                        })
                    }
                }
            }
            Stage::Reason(why) => {
                let why = *why;
                let Some(len) = u32_at(&self.buf, 0) else {
                    return Ok(false);
                };
                if len > MAX_TEXT {
                    return Err(RfbError::TooLarge {
                        what: "the failure reason",
                        len: u64::from(len),
                        max: u64::from(MAX_TEXT),
                    });
                }
                let Some(reason) = self.buf.get(4..4 + len as usize) else {
                    return Ok(false);
                };
                let reason = text(reason);
                return Err(match why {
                    Why::Refused => RfbError::Refused { reason },
                    Why::AuthFailed => RfbError::AuthFailed {
                        security: self.security,
                        reason: Some(reason),
                    },
                });
            }
            Stage::Challenge => {
                let Some(bytes) = self.buf.get(..CHALLENGE_LEN) else {
                    return Ok(false);
                };
                let mut challenge = [0u8; CHALLENGE_LEN];
                challenge.copy_from_slice(bytes);
                let password = self.config.password.as_deref().unwrap_or_default();
                self.out
                    .extend_from_slice(&auth::response(password, &challenge));
                self.consume(CHALLENGE_LEN);
                self.stage = Stage::SecurityResult;
            }
            Stage::SecurityResult => {
                let Some(result) = u32_at(&self.buf, 0) else {
                    return Ok(false);
                };
                self.consume(4);
                if result == 0 {
                    self.send_client_init();
                } else if self.version == Version::V3_8 {
                    self.stage = Stage::Reason(Why::AuthFailed);
                } else {
                    return Err(RfbError::AuthFailed {
                        security: self.security,
                        reason: None,
                    });
                }
            }
            Stage::ServerInit => {
                let Some(name_len) = u32_at(&self.buf, 20) else {
                    return Ok(false);
                };
                if name_len > MAX_TEXT {
                    return Err(RfbError::TooLarge {
                        what: "the desktop name",
                        len: u64::from(name_len),
                        max: u64::from(MAX_TEXT),
                    });
                }
                let total = 24 + name_len as usize;
                let Some(msg) = self.buf.get(..total) else {
                    return Ok(false);
                };
                let malformed = || RfbError::Malformed {
                    what: "ServerInit",
                    detail: "short".into(),
                };
                let width = u16_at(msg, 0).ok_or_else(malformed)?;
                let height = u16_at(msg, 2).ok_or_else(malformed)?;
                let pf = PixelFormat::parse(msg.get(4..4 + PIXEL_FORMAT_LEN).unwrap_or_default())?;
                let name = text(msg.get(24..).unwrap_or_default());
                self.consume(total);
                self.pixel_format = pf;
                self.events.push_back(Event::Connected(ServerInfo {
                    version: self.version,
                    announced: self.announced.clone(),
                    security: self.security,
                    width,
                    height,
                    pixel_format: pf,
                    name,
                }));
                // SetEncodings: only what we can frame without decoding pixels.
                self.out.extend_from_slice(&[2, 0, 0, 2]);
                self.out.extend_from_slice(&ENCODING_RAW.to_be_bytes());
                self.out
                    .extend_from_slice(&ENCODING_COPY_RECT.to_be_bytes());
                self.stage = Stage::Session(Msg::Idle);
            }
            Stage::Session(_) | Stage::Failed(_) => return Ok(false),
        }
        Ok(true)
    }

    /// Picks a security type from those offered.
    fn choose_security(&self, offered: &[u8]) -> Result<u8, RfbError> {
        let has = |t| offered.contains(&t);
        if self.config.password.is_some() && has(SECURITY_VNC) {
            Ok(SECURITY_VNC)
        } else if has(SECURITY_NONE) {
            Ok(SECURITY_NONE)
        } else if has(SECURITY_VNC) {
            Err(RfbError::PasswordRequired)
        } else {
            Err(RfbError::NoCommonSecurity {
                offered: offered.iter().map(|t| u32::from(*t)).collect(),
            })
        }
    }

    fn start_security(&mut self, chosen: u8) {
        self.security = chosen;
        self.stage = if chosen == SECURITY_VNC {
            Stage::Challenge
        } else if self.version == Version::V3_8 {
            // 3.8 confirms even None with a SecurityResult; 3.3 and 3.7 go straight on.
            Stage::SecurityResult
        } else {
            self.send_client_init();
            return;
        };
    }

    fn send_client_init(&mut self) {
        self.out.push(u8::from(self.config.shared));
        self.stage = Stage::ServerInit;
    }
}
