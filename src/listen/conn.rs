//! One connection: hyper's HTTP/1 server on the socket, with a watch on what the peer has
//! done, so that a peer that sends nothing, half a head or half a body is closed on time,
//! and a response that streams (a live event stream, a camera's live view) is never cut.
//!
//! The watch knows three things: whether a request is being answered (from the service:
//! its head came, its response has not finished), when the connection last became idle
//! (accepted, or a response finished) and when the first byte after that came (from the
//! socket). From them:
//!
//! | the connection | closed after |
//! |---|---|
//! | new, nothing sent yet | `head_timeout` from the accept |
//! | a head begun (bytes came, no request yet) | `head_timeout` from its first byte |
//! | idle between two requests | `idle_timeout` from the end of the response |
//! | a request being answered | never by the watch; its body is bounded by `body_timeout` |

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt as _;
use tracing::debug;

use super::Settings;
use super::caps::Admitted;
use bodies::{BodyDeadline, Finishing};

mod bodies;

/// How often a connection's watch looks again when no deadline is nearer.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// How long a connection may finish its response after shutdown began.
const DRAIN: Duration = Duration::from_secs(2);

/// Which limit closed a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// No whole request head in time.
    Head,
    /// Idle too long between requests.
    Idle,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Head => "head",
            Self::Idle => "idle",
        }
    }
}

/// What the peer has done, as far as the limits care.
#[derive(Debug)]
struct Activity {
    /// A `std` mutex: a few field updates per read and per request, never across `.await`.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Requests whose response has not finished (HTTP/1: at most one at a time).
    in_flight: u32,
    /// When the connection was accepted or its last response finished.
    idle_since: Instant,
    /// Whether a request was answered on it already.
    served: bool,
    /// When the first byte came since `idle_since`.
    head_started: Option<Instant>,
}

impl Activity {
    fn new(now: Instant) -> Self {
        Self {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: now,
                served: false,
                head_started: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bytes_read(&self) {
        let mut s = self.lock();
        if s.in_flight == 0 && s.head_started.is_none() {
            s.head_started = Some(Instant::now());
        }
    }

    /// A request head came: the connection is busy until the guard is dropped.
    fn begin(self: &Arc<Self>) -> InFlight {
        self.lock().in_flight += 1;
        InFlight(Arc::clone(self))
    }

    /// When the connection must be closed unless something happens, and why.
    fn deadline(&self, settings: &Settings) -> Option<(Instant, Phase)> {
        let s = self.lock();
        if s.in_flight > 0 {
            return None;
        }
        Some(match s.head_started {
            Some(t) => (t + settings.head_timeout, Phase::Head),
            None if !s.served => (s.idle_since + settings.head_timeout, Phase::Head),
            None => (s.idle_since + settings.idle_timeout, Phase::Idle),
        })
    }
}

/// A request being answered; dropped when its response has been written (or abandoned).
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.in_flight -= 1;
        if s.in_flight == 0 {
            s.idle_since = Instant::now();
            s.served = true;
            s.head_started = None;
        }
    }
}

/// The socket, telling the watch when bytes come.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serve one accepted connection until it ends, a limit closes it, or shutdown (then its
/// response in progress gets [`DRAIN`] to finish). On a TLS listener the handshake comes
/// first and must finish within the handshake timeout (the head timeout unless set).
pub(super) async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    settings: Arc<Settings>,
    admitted: Admitted,
    shutdown: CancellationToken,
) {
    let activity = Arc::new(Activity::new(Instant::now()));
    let watched = Watched {
        stream,
        activity: Arc::clone(&activity),
    };
    let listener = settings.label;
    match settings.tls.clone() {
        None => drive(watched, peer, router, &settings, &activity, &shutdown).await,
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(settings.handshake_timeout, acceptor.accept(watched));
            let shaken = tokio::select! {
                shaken = handshake => shaken,
                () = shutdown.cancelled() => return,
            };
            match shaken {
                Ok(Ok(tls)) => drive(tls, peer, router, &settings, &activity, &shutdown).await,
                Ok(Err(e)) => {
                    debug!(listener, %peer, error = %e, "TLS handshake failed");
                    crate::metrics::record_tls_failure(listener, "handshake");
                }
                Err(_) => {
                    debug!(listener, %peer, "TLS handshake not finished in time");
                    crate::metrics::record_tls_failure(listener, "timeout");
                }
            }
        }
    }
    drop(admitted);
}

/// HTTP/1 on `io` (the socket, or TLS over it) under the watch of `activity`.
async fn drive<I>(
    io: I,
    peer: SocketAddr,
    router: Router,
    settings: &Settings,
    activity: &Arc<Activity>,
    shutdown: &CancellationToken,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let (body_timeout, listener) = (settings.body_timeout, settings.label);
    let requests = Arc::clone(activity);
    let (tls, hsts) = (settings.tls.is_some(), settings.hsts.clone());
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let in_flight = requests.begin();
        let router = router.clone();
        let hsts = hsts.clone();
        let mut req = req.map(|body| {
            let sleep = (!http_body::Body::is_end_stream(&body))
                .then(|| Box::pin(tokio::time::sleep(body_timeout)));
            Body::new(BodyDeadline {
                body,
                sleep,
                timeout: body_timeout,
                listener,
            })
        });
        req.extensions_mut().insert(ConnectInfo(peer));
        if tls {
            req.extensions_mut().insert(super::tls::ServedOverTls);
        }
        async move {
            let Ok(mut response) = router.oneshot(req).await;
            if let Some(hsts) = hsts {
                response
                    .headers_mut()
                    .insert(axum::http::header::STRICT_TRANSPORT_SECURITY, hsts);
            }
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(Finishing {
                    body,
                    _in_flight: in_flight,
                })
            }))
        }
    });
    let conn = settings.http.serve_connection(io, service);
    let mut conn = std::pin::pin!(conn);
    let mut draining: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let wake = match draining {
            Some(until) => until,
            None => activity
                .deadline(settings)
                .map_or(now + CHECK_EVERY, |(at, _)| at.min(now + CHECK_EVERY)),
        };
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    debug!(listener, %peer, error = %e, "connection ended with an error");
                }
                break;
            }
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if draining.is_some_and(|until| now >= until) {
                    break;
                }
                if draining.is_none()
                    && let Some((at, phase)) = activity.deadline(settings)
                    && now >= at
                {
                    debug!(listener, %peer, phase = phase.as_str(), "connection closed: no request in time");
                    crate::metrics::record_connection_timeout(listener, phase.as_str());
                    break;
                }
            }
            () = shutdown.cancelled(), if draining.is_none() => {
                conn.as_mut().graceful_shutdown();
                draining = Some(Instant::now() + DRAIN);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings::for_tests(Duration::from_secs(5), Duration::from_secs(60))
    }

    #[tokio::test]
    async fn a_connection_gets_the_head_timeout_then_the_idle_timeout_between_requests() {
        let s = settings();
        let t0 = Instant::now();
        let a = Arc::new(Activity::new(t0));
        assert_eq!(
            a.deadline(&s),
            Some((t0 + Duration::from_secs(5), Phase::Head)),
            "a new connection must send its head within the head timeout"
        );
        let request = a.begin();
        assert_eq!(
            a.deadline(&s),
            None,
            "a request being answered is never cut"
        );
        drop(request);
        let (at, phase) = a.deadline(&s).unwrap();
        assert_eq!(phase, Phase::Idle);
        assert!(at >= t0 + Duration::from_secs(60));
        a.bytes_read();
        let (at, phase) = a.deadline(&s).unwrap();
        assert_eq!(phase, Phase::Head, "a head begun must finish in time");
        assert!(at < t0 + Duration::from_secs(60));
        let _next = a.begin();
        a.bytes_read();
        assert_eq!(a.deadline(&s), None, "body bytes do not start a head");
    }
}
