//! A device connection that can be cut: by the device stopping, or by a PLC's
//! `plc_link_drop` fault.
//!
//! tokio-modbus runs each connection's request loop itself; [`LinkStream`] wraps the TCP
//! stream so that once its token is cancelled the loop reads end-of-stream, ends, and
//! drops (closes) the socket — the client sees its connection closed, as when a cable is
//! pulled and the device resets the session.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// A TCP stream that reads end-of-stream and refuses writes once `cut` is cancelled.
#[derive(Debug)]
pub(crate) struct LinkStream {
    inner: TcpStream,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
    is_cut: bool,
}

impl LinkStream {
    /// Wrap `inner`, to be cut when `cut` is cancelled.
    pub(crate) fn new(inner: TcpStream, cut: CancellationToken) -> Self {
        Self {
            inner,
            cut: Box::pin(cut.cancelled_owned()),
            is_cut: false,
        }
    }

    /// The TCP stream.
    pub(crate) fn get_ref(&self) -> &TcpStream {
        &self.inner
    }

    /// Whether the link was cut (registers `cx` to be woken when it is).
    fn cut(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.is_cut && self.cut.as_mut().poll(cx).is_ready() {
            self.is_cut = true;
        }
        self.is_cut
    }
}

fn aborted() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "device link cut")
}

impl AsyncRead for LinkStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.cut(cx) {
            // End of stream: the request loop ends and the socket is closed.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for LinkStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.cut(cx) {
            return Poll::Ready(Err(aborted()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
