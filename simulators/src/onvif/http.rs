//! The camera's HTTP server: routes, the slow switch, Digest/Basic checks, snapshots, and
//! the boot loop that lets a reboot cut every connection and refuse new ones.

use std::future::{Future as _, IntoFuture as _};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use customs_edge_devices::http_auth::AuthError;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tracing::{debug, info, warn};

use super::camera::{Shared, bump};
use super::messages::{DEVICE_PATH, MEDIA_PATH, SNAPSHOT_PATH, STREAM_PATH};
use super::{mjpeg, service};

/// Largest SOAP request accepted.
const MAX_REQUEST: usize = 64 * 1024;
/// How long a boot's connections get to end after a reboot cut them.
const CUT_GRACE: Duration = Duration::from_secs(2);

/// The routes of one camera.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(DEVICE_PATH, post(service::soap))
        .route(MEDIA_PATH, post(service::soap))
        .route(SNAPSHOT_PATH, get(snapshot))
        .route(&format!("{STREAM_PATH}/{{token}}"), get(mjpeg::stream))
        .layer(middleware::from_fn_with_state(Arc::clone(&shared), slow))
        .layer(DefaultBodyLimit::max(MAX_REQUEST))
        .with_state(shared)
}

/// Serves boot after boot until shutdown: a reboot ends the boot (its connections die),
/// the listener is closed for the downtime, then bound again at the same address.
pub(crate) async fn serve(shared: Arc<Shared>, first: TcpListener) {
    let router = router(Arc::clone(&shared));
    let mut listener = Some(first);
    let mut boot = shared.boot_token();
    loop {
        let Some(bound) = listener.take() else { break };
        let server = axum::serve(
            CuttableListener {
                inner: bound,
                boot: boot.clone(),
            },
            router.clone(),
        )
        .with_graceful_shutdown(boot.clone().cancelled_owned())
        .into_future();
        let cut = async {
            boot.cancelled().await;
            tokio::time::sleep(CUT_GRACE).await;
        };
        tokio::select! {
            result = server => {
                if let Err(err) = result {
                    warn!(camera = %shared.cfg.name, "HTTP server failed: {err}");
                }
            }
            () = cut => {}
        }
        if shared.shutdown.is_cancelled() {
            break;
        }
        let until = shared.down_until().unwrap_or_else(Instant::now);
        let down_ms = until.saturating_duration_since(Instant::now()).as_millis();
        info!(camera = %shared.cfg.name, down_ms, "camera rebooting");
        tokio::select! {
            () = tokio::time::sleep_until(until.into()) => {}
            () = shared.shutdown.cancelled() => break,
        }
        // A reboot asked for during the downtime pushed `down_until` further.
        while let Some(later) = shared.down_until().filter(|u| *u > Instant::now()) {
            tokio::select! {
                () = tokio::time::sleep_until(later.into()) => {}
                () = shared.shutdown.cancelled() => return,
            }
        }
        listener = bind_again(&shared).await;
        boot = shared.begin_boot();
        info!(camera = %shared.cfg.name, "camera up again");
    }
}

/// Binds the camera's address again, retrying while it is taken, until shutdown.
async fn bind_again(shared: &Shared) -> Option<TcpListener> {
    let mut warned = false;
    loop {
        match TcpListener::bind(shared.http_addr).await {
            Ok(l) => return Some(l),
            Err(err) if !warned => {
                let (camera, addr) = (&shared.cfg.name, shared.http_addr);
                warn!(%camera, %addr, "cannot bind again, retrying: {err}");
                warned = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
            () = shared.shutdown.cancelled() => return None,
        }
    }
}

/// A TCP listener whose connections fail, read and write, once their boot ends: a
/// reboot cuts idle keep-alive connections and streams alike.
struct CuttableListener {
    inner: TcpListener,
    boot: CancellationToken,
}

impl axum::serve::Listener for CuttableListener {
    type Io = CuttableConn;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((io, peer)) => {
                    let _ = io.set_nodelay(true);
                    let cut = Box::pin(self.boot.clone().cancelled_owned());
                    return (
                        CuttableConn {
                            io,
                            cut,
                            dead: false,
                        },
                        peer,
                    );
                }
                Err(err) => {
                    debug!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// One connection of a boot.
struct CuttableConn {
    io: TcpStream,
    cut: Pin<Box<WaitForCancellationFutureOwned>>,
    dead: bool,
}

impl CuttableConn {
    /// An error once the boot has ended (and registers the waker until then).
    fn check(&mut self, cx: &mut Context<'_>) -> io::Result<()> {
        if !self.dead && self.cut.as_mut().poll(cx).is_ready() {
            self.dead = true;
        }
        if self.dead {
            Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "camera rebooted",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for CuttableConn {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CuttableConn {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check(cx)?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// The `slow` switch: every request waits before it is handled.
async fn slow(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    if let Some(delay) = shared.slow() {
        let boot = shared.boot_token();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = boot.cancelled() => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        }
    }
    next.run(request).await
}

/// Checks HTTP Digest or Basic credentials; the `Err` is the `401` to send.
pub(crate) fn authorize(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<(), Box<Response>> {
    let now = Instant::now();
    let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let (stale, reason) = match headers.get(header::AUTHORIZATION) {
        None => (false, "credentials required".to_owned()),
        Some(value) => {
            let verified = std::str::from_utf8(value.as_bytes())
                .map_err(|_| AuthError::Malformed("Authorization is not UTF-8".to_owned()))
                .and_then(|v| {
                    let user = &shared.cfg.username;
                    shared.http_auth.verify(
                        v,
                        method.as_str(),
                        target,
                        user,
                        &shared.password(),
                        now,
                    )
                });
            match verified {
                Ok(_) => return Ok(()),
                Err(e) if e.is_stale() && !matches!(e, AuthError::Replay { .. }) => {
                    (true, e.to_string())
                }
                Err(e) => {
                    bump(&shared.counters.auth_failures);
                    let camera = &shared.cfg.name;
                    info!(%camera, code = e.code(), "HTTP authentication failed: {e}");
                    (false, e.to_string())
                }
            }
        }
    };
    let mut response = (
        StatusCode::UNAUTHORIZED,
        format!("401 Unauthorized: {reason}\n"),
    )
        .into_response();
    for challenge in shared.http_auth.challenges(stale, now) {
        if let Ok(value) = HeaderValue::from_str(&challenge.to_string()) {
            response
                .headers_mut()
                .append(header::WWW_AUTHENTICATE, value);
        }
    }
    Err(Box::new(response))
}

/// `?profile=` of a snapshot (the first profile when absent).
#[derive(Debug, Deserialize)]
pub(crate) struct SnapshotQuery {
    profile: Option<String>,
}

/// `GET /onvif/snapshot?profile=<token>`: one JPEG, behind Digest/Basic.
async fn snapshot(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<SnapshotQuery>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = authorize(&shared, &method, &uri, &headers) {
        return *denied;
    }
    let token = query
        .profile
        .unwrap_or_else(|| shared.cfg.profiles[0].token.clone());
    let Some(feed) = shared.feed(&token) else {
        return (
            StatusCode::NOT_FOUND,
            format!(
                "no profile `{}`\n",
                token.chars().take(64).collect::<String>()
            ),
        )
            .into_response();
    };
    let (body, stamp) = if shared.junk() {
        (Bytes::from(mjpeg::junk(16 * 1024)), shared.camera_now())
    } else {
        match feed.snapshot(shared.camera_now()).await {
            Ok(frame) => (frame.jpeg.clone(), frame.captured_at),
            Err(err) => {
                warn!(camera = %shared.cfg.name, "snapshot failed: {err:#}");
                return (StatusCode::INTERNAL_SERVER_ERROR, "snapshot failed\n").into_response();
            }
        }
    };
    bump(&shared.counters.snapshots_served);
    let mut response = Response::new(Body::from(body));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&mjpeg::timestamp(stamp)) {
        h.insert("x-timestamp", v);
    }
    response
}
