//! Decoding server messages after the handshake. We never ask for framebuffer updates and
//! never change the pixel format, but a server may still send updates (some do on connect),
//! colour maps, bells and cut text: each is framed and skipped, large payloads without
//! buffering them, so the stream stays in step.

use super::{Client, ServerInfo, Stage, ENCODING_COPY_RECT, ENCODING_RAW, MAX_TEXT};
use crate::error::RfbError;
use crate::wire::{u16_at, u32_at, u8_at};

/// Pseudo-encoding: the framebuffer changed size (no payload).
const ENCODING_DESKTOP_SIZE: i32 = -223;
/// Pseudo-encoding: the last rectangle of an update whose count was 0xFFFF (no payload).
const ENCODING_LAST_RECT: i32 = -224;

/// What the client reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The handshake finished; key events can be sent.
    Connected(ServerInfo),
    /// A FramebufferUpdate was read (and its pixels skipped).
    FramebufferUpdate {
        /// Rectangles it held.
        rectangles: u16,
    },
    /// The framebuffer changed size.
    DesktopResized {
        /// New width.
        width: u16,
        /// New height.
        height: u16,
    },
    /// A SetColourMapEntries was read (and skipped).
    ColourMap {
        /// First colour index.
        first: u16,
        /// Number of colours.
        count: u16,
    },
    /// The server rang the bell.
    Bell,
    /// The server's clipboard (Latin-1 text); longer than [`MAX_TEXT`] is skipped unreported.
    CutText(Vec<u8>),
}

/// Where the session decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Msg {
    /// Waiting for a message type.
    Idle,
    /// Inside a FramebufferUpdate: `left` rectangle headers still to read.
    Rects { left: u16, total: u16 },
    /// Discarding `bytes` payload bytes, then going on with `after`.
    Skip { bytes: u64, after: After },
    /// Collecting `len` bytes of cut text.
    CutText { len: u32 },
}

/// What follows skipped bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum After {
    Idle,
    Rects { left: u16, total: u16 },
}

impl Client {
    /// One step of session decoding; false when more bytes are needed.
    pub(super) fn session_step(&mut self) -> Result<bool, RfbError> {
        let Stage::Session(msg) = self.stage else {
            return Ok(false);
        };
        let next = match msg {
            Msg::Idle => {
                let Some(kind) = u8_at(&self.buf, 0) else {
                    return Ok(false);
                };
                match kind {
                    0 => {
                        let Some(count) = u16_at(&self.buf, 2) else {
                            return Ok(false);
                        };
                        self.consume(4);
                        self.rects_or_done(count, count)
                    }
                    1 => {
                        let (Some(first), Some(count)) =
                            (u16_at(&self.buf, 2), u16_at(&self.buf, 4))
                        else {
                            return Ok(false);
                        };
                        self.consume(6);
                        self.events.push_back(Event::ColourMap { first, count });
                        Msg::Skip {
                            bytes: 6 * u64::from(count),
                            after: After::Idle,
                        }
                    }
                    2 => {
                        self.consume(1);
                        self.events.push_back(Event::Bell);
                        Msg::Idle
                    }
                    3 => {
                        let Some(len) = u32_at(&self.buf, 4) else {
                            return Ok(false);
                        };
                        self.consume(8);
                        if len > MAX_TEXT {
                            Msg::Skip {
                                bytes: u64::from(len),
                                after: After::Idle,
                            }
                        } else {
                            Msg::CutText { len }
                        }
                    }
                    other => return Err(RfbError::UnknownServerMessage(other)),
                }
            }
            Msg::Rects { left, total } => {
                let Some(header) = self.buf.get(..12) else {
                    return Ok(false);
                };
                let (w, h, enc) = (
                    u16_at(header, 4).unwrap_or(0),
                    u16_at(header, 6).unwrap_or(0),
                    u32_at(header, 8).unwrap_or(0) as i32,
                );
                self.consume(12);
                let left = left.saturating_sub(1);
                match enc {
                    ENCODING_RAW => Msg::Skip {
                        bytes: u64::from(w) * u64::from(h) * self.pixel_format.bytes_per_pixel(),
                        after: After::Rects { left, total },
                    },
                    ENCODING_COPY_RECT => Msg::Skip {
                        bytes: 4,
                        after: After::Rects { left, total },
                    },
                    ENCODING_DESKTOP_SIZE => {
                        self.events.push_back(Event::DesktopResized {
                            width: w,
                            height: h,
                        });
                        self.rects_or_done(left, total)
                    }
                    ENCODING_LAST_RECT => self.rects_or_done(0, total),
                    other => return Err(RfbError::UnexpectedEncoding(other)),
                }
            }
            Msg::Skip { bytes, after } => {
                if self.buf.is_empty() {
                    return Ok(false);
                }
                let n = usize::try_from(bytes)
                    .unwrap_or(usize::MAX)
                    .min(self.buf.len());
                self.consume(n);
                let bytes = bytes - n as u64;
                if bytes > 0 {
                    Msg::Skip { bytes, after }
                } else {
                    match after {
                        After::Idle => Msg::Idle,
                        After::Rects { left, total } => self.rects_or_done(left, total),
                    }
                }
            }
            Msg::CutText { len } => {
                let Some(text) = self.buf.get(..len as usize) else {
                    return Ok(false);
                };
                self.events.push_back(Event::CutText(text.to_vec()));
                self.consume(len as usize);
                Msg::Idle
            }
        };
        // A zero-byte skip (an empty raw rectangle) resolves at once.
        let next = match next {
            Msg::Skip { bytes: 0, after } => match after {
                After::Idle => Msg::Idle,
                After::Rects { left, total } => self.rects_or_done(left, total),
            },
            other => other,
        };
        self.stage = Stage::Session(next);
        Ok(true)
    }

    /// The next rectangle, or the end of the update (reported) when none is left.
    fn rects_or_done(&mut self, left: u16, total: u16) -> Msg {
        if left == 0 {
            self.events
                .push_back(Event::FramebufferUpdate { rectangles: total });
            Msg::Idle
        } else {
            Msg::Rects { left, total }
        }
    }
}
