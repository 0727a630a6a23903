//! A reconnecting TCP client for one barcode scanner.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::codec::{ScanFrame, ScannerCodec};
use crate::backoff::Backoff;

/// What a scanner connection reports to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerEvent {
    /// A message arrived.
    Frame {
        /// Scanner name from config.
        scanner: Arc<str>,
        /// Wall-clock time the message was received.
        at: SystemTime,
        /// The decoded message.
        frame: ScanFrame,
    },
    /// The connection is up.
    Connected {
        /// Scanner name.
        scanner: Arc<str>,
    },
    /// The connection failed or closed; the client retries after `retry_in`.
    Disconnected {
        /// Scanner name.
        scanner: Arc<str>,
        /// What went wrong.
        error: String,
        /// Delay before the next attempt.
        retry_in: Duration,
    },
}

/// Connects to a scanner, decodes its stream and reconnects with exponential backoff.
#[derive(Debug, Clone)]
pub struct ScannerClient {
    name: Arc<str>,
    addr: SocketAddr,
    codec: ScannerCodec,
    max_backoff: Duration,
}

impl ScannerClient {
    /// A client for the scanner `name` at `addr`.
    pub fn new(name: impl Into<Arc<str>>, addr: SocketAddr, codec: ScannerCodec) -> Self {
        Self {
            name: name.into(),
            addr,
            codec,
            max_backoff: Duration::from_secs(5),
        }
    }

    /// Run until `shutdown` fires or the receiver of `events` is dropped.
    pub async fn run(self, events: mpsc::Sender<ScannerEvent>, shutdown: CancellationToken) {
        let mut backoff = Backoff::new(Duration::from_millis(100), self.max_backoff);
        loop {
            let error = tokio::select! {
                () = shutdown.cancelled() => return,
                result = self.session(&events, &mut backoff) => match result {
                    Ok(()) => "connection closed by the scanner".to_owned(),
                    Err(e) => e.to_string(),
                },
            };
            if events.is_closed() {
                return;
            }
            let wait = backoff.next_wait();
            let _ = events
                .send(ScannerEvent::Disconnected {
                    scanner: self.name.clone(),
                    error,
                    retry_in: wait,
                })
                .await;
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    async fn session(
        &self,
        events: &mpsc::Sender<ScannerEvent>,
        backoff: &mut Backoff,
    ) -> std::io::Result<()> {
        let stream = tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(self.addr))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            })??;
        stream.set_nodelay(true)?;
        backoff.reset();
        if events
            .send(ScannerEvent::Connected {
                scanner: self.name.clone(),
            })
            .await
            .is_err()
        {
            return Ok(());
        }
        let mut frames = FramedRead::new(stream, self.codec.clone());
        while let Some(frame) = frames.next().await {
            let event = ScannerEvent::Frame {
                scanner: self.name.clone(),
                at: SystemTime::now(),
                frame: frame?,
            };
            if events.send(event).await.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}
