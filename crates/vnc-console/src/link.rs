//! A byte link that carries RFB: a plain stream, or a websocket over a stream. Reading is
//! cancel-safe (it only fills a buffer); decoding is synchronous; writing happens outside any
//! `select!`, so a cancelled wait never loses or half-writes a message.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

use rfb::ws::{self, Decoder, Opcode, Role, WsEvent};

use crate::error::ConsoleError;

/// Any async byte stream.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A boxed stream.
pub type BoxIo = Box<dyn Io>;

/// What a chunk of received bytes amounted to.
#[derive(Debug, Default)]
pub struct Inbound {
    /// RFB bytes, in order.
    pub data: Vec<u8>,
    /// Bytes to send back at once (pongs, the answer to a close).
    pub reply: Vec<u8>,
    /// The peer closed the websocket: its code and reason.
    pub closed: Option<String>,
}

/// RFB's carrier.
pub struct Link {
    reader: ReadHalf<BoxIo>,
    writer: WriteHalf<BoxIo>,
    ws: Option<Decoder>,
    /// Bytes received with the upgrade answer (or otherwise before the link was made).
    pending: Vec<u8>,
    /// What this link is, for messages.
    label: String,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("label", &self.label)
            .field("websocket", &self.ws.is_some())
            .finish_non_exhaustive()
    }
}

impl Link {
    /// RFB straight over `io` (a VNC server's TCP port).
    pub fn raw(io: BoxIo, label: impl Into<String>) -> Self {
        let (reader, writer) = tokio::io::split(io);
        Self {
            reader,
            writer,
            ws: None,
            pending: Vec::new(),
            label: label.into(),
        }
    }

    /// RFB inside websocket frames over `io` (we are the websocket client), after a completed
    /// upgrade; `leftover` is what arrived after the 101 head.
    pub fn websocket(io: BoxIo, leftover: Vec<u8>, label: impl Into<String>) -> Self {
        let (reader, writer) = tokio::io::split(io);
        Self {
            reader,
            writer,
            ws: Some(Decoder::new(Role::Client)),
            pending: leftover,
            label: label.into(),
        }
    }

    /// What this link is.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Reads some bytes; 0 means end of stream. Cancel-safe.
    pub async fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf).await
    }

    /// Decodes received bytes (plus anything pending from the upgrade).
    pub fn decode(&mut self, raw: &[u8]) -> Result<Inbound, ConsoleError> {
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(raw);
        let Some(dec) = self.ws.as_mut() else {
            return Ok(Inbound {
                data: input,
                ..Inbound::default()
            });
        };
        dec.feed(&input)?;
        let mut inbound = Inbound::default();
        let client = true;
        while let Some(event) = dec.poll_event() {
            match event {
                WsEvent::Data(d) => inbound.data.extend_from_slice(&d),
                WsEvent::Ping(p) => {
                    inbound
                        .reply
                        .extend(ws::encode(Opcode::Pong, &p, mask(client)))
                }
                WsEvent::Pong(_) => {}
                WsEvent::Close { code, reason } => {
                    let payload = ws::close_payload(code.unwrap_or(1000), "");
                    inbound
                        .reply
                        .extend(ws::encode(Opcode::Close, &payload, mask(client)));
                    inbound.closed = Some(match code {
                        Some(c) if reason.is_empty() => format!("websocket closed with code {c}"),
                        Some(c) => format!("websocket closed with code {c}: {reason}"),
                        None => "websocket closed".to_string(),
                    });
                }
            }
        }
        Ok(inbound)
    }

    /// RFB bytes as they go on the wire (one binary frame on a websocket).
    pub fn frame(&self, data: &[u8]) -> Vec<u8> {
        match self.ws {
            Some(_) => ws::encode(Opcode::Binary, data, mask(true)),
            None => data.to_vec(),
        }
    }

    /// Writes and flushes.
    pub async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.writer.write_all(bytes).await?;
        self.writer.flush().await
    }

    /// Ends the link: a websocket close frame (1000) first, then a shutdown of the stream.
    pub async fn close(&mut self) {
        if self.ws.is_some() {
            let frame = ws::encode(Opcode::Close, &ws::close_payload(1000, ""), mask(true));
            let _ = self.writer.write_all(&frame).await;
        }
        let _ = self.writer.shutdown().await;
    }
}

/// A fresh random mask for a client frame; servers send none.
fn mask(client: bool) -> Option<[u8; 4]> {
    client.then(rand::random)
}
