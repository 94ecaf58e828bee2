//! The RFB server core the simulator runs for each console connection: it speaks 3.3, 3.7
//! and 3.8, offers None or (with a password) VNC authentication, serves a black framebuffer
//! (non-incremental update requests get a Raw rectangle of zeros, which is black in every pixel
//! format; incremental ones get nothing because nothing changes), and reports every client
//! message as a [`ServerEvent`], key events above all.

use std::collections::VecDeque;

use crate::auth::{self, CHALLENGE_LEN};
use crate::client::MAX_TEXT;
use crate::error::RfbError;
use crate::pixel::{PixelFormat, PIXEL_FORMAT_LEN};
use crate::version::{Announced, Version, VERSION_LEN};
use crate::wire::{u16_at, u32_at, u8_at};
use crate::{SECURITY_NONE, SECURITY_VNC};

/// How the server presents itself.
#[derive(Clone)]
pub struct ServerConfig {
    /// Desktop name sent in ServerInit.
    pub name: String,
    /// Framebuffer width.
    pub width: u16,
    /// Framebuffer height.
    pub height: u16,
    /// When set, VNC authentication is required with this password.
    pub password: Option<Vec<u8>>,
    /// The ProtocolVersion sent first; anything other than a real banner is for fault tests.
    pub banner: Vec<u8>,
    /// The VNC authentication challenge (the caller supplies the randomness).
    pub challenge: [u8; CHALLENGE_LEN],
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("name", &self.name)
            .field("width", &self.width)
            .field("height", &self.height)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// What the client did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// The client chose this version.
    Version(Version),
    /// Authentication succeeded with this security type.
    Authenticated(u8),
    /// VNC authentication failed; the server has answered and will close.
    AuthFailed,
    /// ClientInit: the session starts.
    ClientInit {
        /// Whether the client lets other viewers stay.
        shared: bool,
    },
    /// A key went down or up.
    Key {
        /// X11 keysym.
        keysym: u32,
        /// Pressed (true) or released.
        down: bool,
    },
    /// The pointer moved or clicked.
    Pointer {
        /// Button mask.
        buttons: u8,
        /// X position.
        x: u16,
        /// Y position.
        y: u16,
    },
    /// The client's encodings.
    Encodings(Vec<i32>),
    /// The client's pixel format.
    PixelFormat(PixelFormat),
    /// A framebuffer update request.
    UpdateRequest {
        /// Only changes wanted.
        incremental: bool,
    },
    /// The client's clipboard.
    CutText(Vec<u8>),
}

#[derive(Debug)]
enum Stage {
    Version,
    SecurityChoice,
    ChallengeResponse,
    ClientInit,
    Session,
    /// Skipping an oversized client cut text.
    Skip(u64),
    /// Authentication failed: the answer is queued, the connection should close.
    Closed,
    Failed(RfbError),
}

/// The server state machine.
#[derive(Debug)]
pub struct Server {
    config: ServerConfig,
    stage: Stage,
    buf: Vec<u8>,
    out: Vec<u8>,
    events: VecDeque<ServerEvent>,
    version: Version,
    pixel_format: PixelFormat,
}

impl Server {
    /// A server that has queued its ProtocolVersion.
    pub fn new(config: ServerConfig) -> Self {
        let out = config.banner.clone();
        Self {
            config,
            stage: Stage::Version,
            buf: Vec::new(),
            out,
            events: VecDeque::new(),
            version: Version::V3_8,
            pixel_format: PixelFormat::RGB888,
        }
    }

    /// The security type this server offers.
    fn offered(&self) -> u8 {
        if self.config.password.is_some() {
            SECURITY_VNC
        } else {
            SECURITY_NONE
        }
    }

    /// Bytes to send to the client.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Whether the connection should be closed once the output is written.
    pub fn is_closed(&self) -> bool {
        matches!(self.stage, Stage::Closed | Stage::Failed(_))
    }

    /// Feeds client bytes. An error is final.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<(), RfbError> {
        match &self.stage {
            Stage::Failed(e) => return Err(e.clone()),
            Stage::Closed => return Ok(()),
            _ => {}
        }
        self.buf.extend_from_slice(input);
        loop {
            match self.step() {
                Ok(true) => continue,
                Ok(false) => return Ok(()),
                Err(e) => {
                    self.stage = Stage::Failed(e.clone());
                    self.buf.clear();
                    return Err(e);
                }
            }
        }
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.buf.len());
        self.buf.drain(..n);
    }

    fn result(&mut self, ok: bool, reason: &str) {
        self.out.extend_from_slice(&u32::from(!ok).to_be_bytes());
        if !ok && self.version == Version::V3_8 {
            self.out
                .extend_from_slice(&(reason.len() as u32).to_be_bytes());
            self.out.extend_from_slice(reason.as_bytes());
        }
    }

    fn start_auth(&mut self, chosen: u8) {
        if chosen == SECURITY_VNC {
            self.out.extend_from_slice(&self.config.challenge);
            self.stage = Stage::ChallengeResponse;
        } else {
            if self.version == Version::V3_8 {
                self.result(true, "");
            }
            self.events.push_back(ServerEvent::Authenticated(chosen));
            self.stage = Stage::ClientInit;
        }
    }

    fn step(&mut self) -> Result<bool, RfbError> {
        match self.stage {
            Stage::Version => {
                let Some(head) = self.buf.get(..VERSION_LEN) else {
                    return Ok(false);
                };
                let version = Announced::parse(head)?.server_choice()?;
                self.consume(VERSION_LEN);
                self.version = version;
                self.events.push_back(ServerEvent::Version(version));
                let offered = self.offered();
                if version == Version::V3_3 {
                    self.out
                        .extend_from_slice(&u32::from(offered).to_be_bytes());
                    self.start_auth(offered);
                } else {
                    self.out.extend_from_slice(&[1, offered]);
                    self.stage = Stage::SecurityChoice;
                }
            }
            Stage::SecurityChoice => {
                let Some(chosen) = u8_at(&self.buf, 0) else {
                    return Ok(false);
                };
                self.consume(1);
                if chosen != self.offered() {
                    self.result(false, "security type not offered");
                    self.stage = Stage::Closed;
                    return Err(RfbError::Malformed {
                        what: "security choice",
                        detail: format!("type {chosen}, offered {}", self.offered()),
                    });
                }
                self.start_auth(chosen);
            }
            Stage::ChallengeResponse => {
                let Some(answer) = self.buf.get(..CHALLENGE_LEN) else {
                    return Ok(false);
                };
                let password = self.config.password.as_deref().unwrap_or_default();
                let ok = auth::verify(password, &self.config.challenge, answer);
                self.consume(CHALLENGE_LEN);
                self.result(ok, "Authentication failed");
                if ok {
                    self.events
                        .push_back(ServerEvent::Authenticated(SECURITY_VNC));
                    self.stage = Stage::ClientInit;
                } else {
                    self.events.push_back(ServerEvent::AuthFailed);
                    self.stage = Stage::Closed;
                    return Ok(false);
                }
            }
            Stage::ClientInit => {
                let Some(shared) = u8_at(&self.buf, 0) else {
                    return Ok(false);
                };
                self.consume(1);
                self.events.push_back(ServerEvent::ClientInit {
                    shared: shared != 0,
                });
                self.out.extend_from_slice(&self.config.width.to_be_bytes());
                self.out
                    .extend_from_slice(&self.config.height.to_be_bytes());
                self.out.extend_from_slice(&self.pixel_format.encode());
                let name = self.config.name.as_bytes();
                self.out
                    .extend_from_slice(&(name.len() as u32).to_be_bytes());
                self.out.extend_from_slice(name);
                self.stage = Stage::Session;
            }
            Stage::Session => return self.session_message(),
            Stage::Skip(left) => {
                if self.buf.is_empty() {
                    return Ok(false);
                }
                let n = usize::try_from(left)
                    .unwrap_or(usize::MAX)
                    .min(self.buf.len());
                self.consume(n);
                let left = left - n as u64;
                self.stage = if left == 0 {
                    Stage::Session
                } else {
                    Stage::Skip(left)
                };
            }
            Stage::Closed | Stage::Failed(_) => return Ok(false),
        }
        Ok(true)
    }

    /// One client message of the session, if complete.
    fn session_message(&mut self) -> Result<bool, RfbError> {
        let Some(kind) = u8_at(&self.buf, 0) else {
            return Ok(false);
        };
        let need = |n: usize, buf: &[u8]| buf.len() >= n;
        match kind {
            0 => {
                if !need(4 + PIXEL_FORMAT_LEN, &self.buf) {
                    return Ok(false);
                }
                let pf = PixelFormat::parse(self.buf.get(4..20).unwrap_or_default())?;
                self.pixel_format = pf;
                self.events.push_back(ServerEvent::PixelFormat(pf));
                self.consume(20);
            }
            2 => {
                let Some(n) = u16_at(&self.buf, 2) else {
                    return Ok(false);
                };
                let total = 4 + 4 * usize::from(n);
                if !need(total, &self.buf) {
                    return Ok(false);
                }
                let encodings = (0..usize::from(n))
                    .filter_map(|i| u32_at(&self.buf, 4 + 4 * i).map(|e| e as i32))
                    .collect();
                self.events.push_back(ServerEvent::Encodings(encodings));
                self.consume(total);
            }
            3 => {
                if !need(10, &self.buf) {
                    return Ok(false);
                }
                let incremental = u8_at(&self.buf, 1) != Some(0);
                let field = |at| u16_at(&self.buf, at).unwrap_or(0);
                let (x, y, w, h) = (field(2), field(4), field(6), field(8));
                self.consume(10);
                self.events
                    .push_back(ServerEvent::UpdateRequest { incremental });
                if !incremental {
                    self.black_rectangle(x, y, w, h);
                }
            }
            4 => {
                let Some(keysym) = u32_at(&self.buf, 4) else {
                    return Ok(false);
                };
                let down = u8_at(&self.buf, 1) != Some(0);
                self.events.push_back(ServerEvent::Key { keysym, down });
                self.consume(8);
            }
            5 => {
                let (Some(buttons), Some(x), Some(y)) = (
                    u8_at(&self.buf, 1),
                    u16_at(&self.buf, 2),
                    u16_at(&self.buf, 4),
                ) else {
                    return Ok(false);
                };
                self.events
                    .push_back(ServerEvent::Pointer { buttons, x, y });
                self.consume(6);
            }
            6 => {
                let Some(len) = u32_at(&self.buf, 4) else {
                    return Ok(false);
                };
                if len > MAX_TEXT {
                    self.consume(8);
                    self.stage = Stage::Skip(u64::from(len));
                    return Ok(true);
                }
                let total = 8 + len as usize;
                let Some(text) = self.buf.get(8..total) else {
                    return Ok(false);
                };
                self.events.push_back(ServerEvent::CutText(text.to_vec()));
                self.consume(total);
            }
            other => return Err(RfbError::UnknownClientMessage(other)),
        }
        Ok(true)
    }

    /// A FramebufferUpdate with one Raw rectangle of zeros, clipped to the framebuffer.
    fn black_rectangle(&mut self, x: u16, y: u16, w: u16, h: u16) {
        let x = x.min(self.config.width);
        let y = y.min(self.config.height);
        let w = w.min(self.config.width - x);
        let h = h.min(self.config.height - y);
        self.out.extend_from_slice(&[0, 0, 0, 1]);
        for v in [x, y, w, h] {
            self.out.extend_from_slice(&v.to_be_bytes());
        }
        self.out.extend_from_slice(&0i32.to_be_bytes());
        let len = u64::from(w) * u64::from(h) * self.pixel_format.bytes_per_pixel();
        self.out
            .resize(self.out.len() + usize::try_from(len).unwrap_or(0), 0);
    }
}
