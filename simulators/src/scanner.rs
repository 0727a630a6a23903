//! A barcode scanner (a line has two: `top` and `side`): a TCP server that streams every
//! frame the scanner sends to every connected client.
//!
//! Each frame of [`ScannerCodec`] — `STX code ETX` or `code CR LF`, with the
//! configured no-read string for an unreadable label — the same codec the controller's
//! client decodes with. Any number of clients may connect; each gets the scans made while
//! it is connected (there is no replay). Whatever a client sends is read and ignored; a
//! client that disconnects or stops reading is dropped without disturbing the others.

use std::io;

use customs_edge_devices::scanner::ScannerCodec;
use futures_util::SinkExt;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio_util::codec::FramedWrite;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::conveyor::{ScanEvent, ScannerId};
use crate::line::{Device, SharedLine};

/// Accept clients of `line`'s `scanner` on `listener` until `shutdown` fires, sending them
/// each frame that scanner sends.
pub async fn run(
    listener: TcpListener,
    codec: ScannerCodec,
    scanner: ScannerId,
    line: SharedLine,
    shutdown: CancellationToken,
) -> io::Result<()> {
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                // Per-connection errors (reset before accept, out of descriptors) must not
                // stop the scanner; the next accept may well succeed.
                Err(err) => {
                    warn!(line = line.id(), %scanner, %err, "scanner accept failed");
                    continue;
                }
            },
        };
        // Subscribe before spawning, so the client gets every scan from this moment on.
        let rx = line.subscribe(scanner);
        let guard = line.client_guard(Device::Scanner(scanner));
        let codec = codec.clone();
        let shutdown = shutdown.clone();
        let id = line.id().to_owned();
        tokio::spawn(async move {
            info!(line = id, %scanner, %peer, "scanner client connected");
            let why = serve_client(stream, codec, rx, shutdown).await;
            drop(guard);
            info!(line = id, %scanner, %peer, why, "scanner client disconnected");
        });
    }
}

/// Stream scans to one client; returns why the connection ended.
async fn serve_client(
    stream: TcpStream,
    codec: ScannerCodec,
    mut rx: broadcast::Receiver<ScanEvent>,
    shutdown: CancellationToken,
) -> &'static str {
    let _ = stream.set_nodelay(true);
    let (mut reader, writer) = stream.into_split();
    let mut frames = FramedWrite::new(writer, codec);
    let mut discard = [0u8; 256];
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return "shutdown",
            read = reader.read(&mut discard) => match read {
                Ok(0) | Err(_) => return "closed by the client",
                Ok(_) => {}
            },
            scan = rx.recv() => match scan {
                Ok(scan) => {
                    if let Err(err) = frames.send(scan.code.as_deref()).await {
                        debug!(%err, "scanner client write failed");
                        return "write failed";
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    warn!(missed, "scanner client too slow; scans skipped");
                }
                Err(RecvError::Closed) => return "scanner stopped",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conveyor::{Conveyor, LineConfig};
    use crate::line::Clock;
    use crate::parcel::NewParcel;
    use customs_edge_devices::scanner::Framing;
    use tokio::io::AsyncReadExt;
    use tokio::time::{Duration, Instant};

    async fn until(what: &str, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn every_client_gets_each_frame_and_a_gone_client_is_dropped() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Scanner at the photo-eye and short parcels: frames as soon as parcels enter.
        let config = LineConfig {
            belt_speed_mm_s: 10_000,
            scale_at_mm: 0,
            scanner_at_mm: 0,
            gap_mm: 0,
            ..LineConfig::default()
        };
        let clock = Clock::start();
        let line = SharedLine::new(
            Conveyor::new("L1", config, clock.epoch(), false),
            clock,
            None,
        );
        let shutdown = CancellationToken::new();
        let codec = ScannerCodec::new(Framing::CrLf, "NoRead", 80);
        let server = tokio::spawn(run(
            listener,
            codec,
            ScannerId::Side,
            line.clone(),
            shutdown.clone(),
        ));
        let clients = || line.connections().side_clients;

        let mut a = TcpStream::connect(addr).await.unwrap();
        let b = TcpStream::connect(addr).await.unwrap();
        until("two clients", || clients() == 2).await;
        drop(b);
        until("one client", || clients() == 1).await;

        for (id, code) in [(1, Some("SF1")), (2, None)] {
            let parcel = NewParcel {
                length_mm: 10,
                ..NewParcel::with_code(code)
            };
            line.with(|c, now| c.inject(now, id, parcel)).unwrap();
        }
        let ticker = tokio::spawn({
            let line = line.clone();
            async move {
                loop {
                    line.tick();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        let mut got = Vec::new();
        let mut buf = [0u8; 64];
        while got.len() < b"SF1\r\nNoRead\r\n".len() {
            let n = tokio::time::timeout(Duration::from_secs(10), a.read(&mut buf))
                .await
                .expect("scan in time")
                .unwrap();
            assert_ne!(n, 0, "server closed the connection");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"SF1\r\nNoRead\r\n");
        ticker.abort();

        shutdown.cancel();
        server.await.unwrap().unwrap();
        until("client released", || clients() == 0).await;
    }
}
