//! Type erasure over [`packer_mux::StreamBroker`], so the public service handles (`Ui`, `Hook`,
//! ...) are plain types rather than generic over the transport.

use std::io;
use std::sync::Arc;

use packer_mux::StreamBroker;
use tokio::io::{AsyncRead, AsyncWrite};

/// Any multiplexed byte stream.
pub(crate) trait ByteStream: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> ByteStream for T {}

/// A boxed broker stream.
pub(crate) type BoxStream = Box<dyn ByteStream>;

/// Object-safe form of [`StreamBroker`].
#[async_trait::async_trait]
pub(crate) trait DynBroker: Send + Sync + 'static {
    fn next_id(&self) -> u32;
    async fn dial(&self, id: u32) -> io::Result<BoxStream>;
    async fn accept(&self, id: u32) -> io::Result<BoxStream>;
}

#[async_trait::async_trait]
impl<B: StreamBroker> DynBroker for B {
    fn next_id(&self) -> u32 {
        StreamBroker::next_id(self)
    }
    async fn dial(&self, id: u32) -> io::Result<BoxStream> {
        Ok(Box::new(StreamBroker::dial(self, id).await?))
    }
    async fn accept(&self, id: u32) -> io::Result<BoxStream> {
        Ok(Box::new(StreamBroker::accept(self, id).await?))
    }
}

/// The shared, type-erased broker every service holds.
pub(crate) type Broker = Arc<dyn DynBroker>;
