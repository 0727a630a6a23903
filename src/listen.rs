//! Serving HTTP on a listener that a careless or hostile peer cannot exhaust: the console
//! and API server and the plate-camera listener both serve through [`serve`].
//!
//! - An accept loop of our own: each connection is counted against the listener's caps
//!   (in total and per source address, [`caps`]); one beyond either is closed at once,
//!   before it is served or holds a file handle for long. Running out of file handles
//!   (`EMFILE`) pauses accepting briefly instead of spinning.
//! - Each admitted connection is served by hyper's HTTP/1 connection builder with a watch
//!   ([`conn`]) that closes it when its request head, its body or its idle keep-alive wait
//!   takes too long; responses that stream (SSE, a camera's live view) are never cut.
//! - [`nofile`] raises the open-file limit at start and fits the caps into it.
//!
//! The router sees each request as `axum::serve` would give it, with the peer's
//! `ConnectInfo<SocketAddr>` (the login limiter and the camera log read it).

pub(crate) mod caps;
mod conn;
pub mod nofile;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioTimer;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::ListenLimits;
use caps::Caps;

/// How long accepting pauses when the process is out of file handles.
const OUT_OF_FILES_PAUSE: Duration = Duration::from_millis(100);
/// At most one warning per this about refused connections (the rest are counted).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// A listener's limits as its connections use them.
#[derive(Clone)]
pub(crate) struct Settings {
    /// Which listener (`web`, `plate_events`): log field and metric label.
    label: &'static str,
    head_timeout: Duration,
    body_timeout: Duration,
    idle_timeout: Duration,
    http: hyper::server::conn::http1::Builder,
    /// Set on a listener that serves TLS: each connection's handshake comes first.
    tls: Option<tokio_rustls::TlsAcceptor>,
    /// How long that handshake may take from the accept (the head timeout unless set).
    handshake_timeout: Duration,
    /// `Strict-Transport-Security` for every response, when set (the console over TLS).
    hsts: Option<axum::http::HeaderValue>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("label", &self.label)
            .field("head_timeout", &self.head_timeout)
            .field("body_timeout", &self.body_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("tls", &self.tls.is_some())
            .field("handshake_timeout", &self.handshake_timeout)
            .field("hsts", &self.hsts)
            .finish_non_exhaustive()
    }
}

impl Settings {
    fn new(label: &'static str, limits: &ListenLimits) -> Self {
        let (head, idle) = (limits.head_timeout(), limits.idle_timeout());
        let mut http = hyper::server::conn::http1::Builder::new();
        // hyper's own header timer restarts whenever it waits for a head, idle or not: a
        // backstop at the longer of the two; the connection's watch applies each exactly.
        http.timer(TokioTimer::new())
            .header_read_timeout(head.max(idle))
            .keep_alive(true);
        Self {
            label,
            head_timeout: head,
            body_timeout: limits.body_timeout(),
            idle_timeout: idle,
            http,
            tls: None,
            handshake_timeout: head,
            hsts: None,
        }
    }

    #[cfg(test)]
    fn for_tests(head_timeout: Duration, idle_timeout: Duration) -> Self {
        let limits = ListenLimits {
            head_timeout_s: head_timeout.as_secs_f64(),
            idle_timeout_s: idle_timeout.as_secs_f64(),
            ..ListenLimits::default()
        };
        Self::new("test", &limits)
    }
}

/// A bound listener and the limits it serves under, ready for [`Server::run`] (again,
/// after a restart: the socket stays bound).
#[derive(Debug, Clone)]
pub struct Server {
    listener: Arc<TcpListener>,
    router: Router,
    settings: Arc<Settings>,
    caps: Caps,
}

impl Server {
    /// Serve `router` on `listener` under `limits`; `max_connections` is the total cap
    /// after fitting it into the open-file limit ([`nofile::fit`]).
    pub fn new(
        label: &'static str,
        listener: TcpListener,
        router: Router,
        limits: &ListenLimits,
        max_connections: u32,
    ) -> Self {
        Self {
            listener: Arc::new(listener),
            router,
            settings: Arc::new(Settings::new(label, limits)),
            caps: Caps::new(max_connections, limits.max_per_ip.min(max_connections)),
        }
    }

    /// The same, serving TLS with `config` (from [`tls::load`]) on every connection.
    #[must_use]
    pub fn with_tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        let mut settings = (*self.settings).clone();
        settings.tls = Some(tls::acceptor(config));
        self.settings = Arc::new(settings);
        self
    }

    /// With TLS: a handshake not finished `timeout` after the accept closes the connection
    /// (a peer that opens a socket and never sends its ClientHello).
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        let mut settings = (*self.settings).clone();
        settings.handshake_timeout = timeout;
        self.settings = Arc::new(settings);
        self
    }

    /// Put `Strict-Transport-Security: value` on every response (a TLS listener's).
    #[must_use]
    pub fn with_hsts(mut self, value: axum::http::HeaderValue) -> Self {
        let mut settings = (*self.settings).clone();
        settings.hsts = Some(value);
        self.settings = Arc::new(settings);
        self
    }

    /// Where it listens: the port the system picked when bound to port 0.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accept and serve until `shutdown`, then give open connections a moment to finish.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let label = self.settings.label;
        info!(listener = label, addr = %self.listener.local_addr()?, max_connections = self.caps.max_total(),
            max_per_ip = self.caps.max_per_ip(), head_timeout = ?self.settings.head_timeout,
            body_timeout = ?self.settings.body_timeout, idle_timeout = ?self.settings.idle_timeout,
            tls = self.settings.tls.is_some(), "listening");
        let mut connections = JoinSet::new();
        let mut refusals = Refusals::default();
        loop {
            while connections.try_join_next().is_some() {}
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) if out_of_files(&e) => {
                    refusals.out_of_files(label, &e);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(OUT_OF_FILES_PAUSE) => continue,
                    }
                }
                Err(e) => {
                    debug!(listener = label, error = %e, "accept failed");
                    continue;
                }
            };
            let admitted = match self.caps.admit(peer.ip()) {
                Ok(admitted) => admitted,
                Err(why) => {
                    drop(stream);
                    refusals.refused(label, why, peer, &self.caps);
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            crate::metrics::set_connections_open(label, self.caps.open());
            connections.spawn(conn::serve(
                stream,
                peer,
                self.router.clone(),
                Arc::clone(&self.settings),
                admitted,
                shutdown.clone(),
            ));
        }
        while connections.join_next().await.is_some() {}
        crate::metrics::set_connections_open(label, 0);
        Ok(())
    }
}

/// Whether an accept failed for want of file handles (the process's or the system's).
fn out_of_files(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(23 | 24)) // ENFILE, EMFILE
}

/// Refused connections, counted, and warned about at most every [`WARN_EVERY`].
#[derive(Debug, Default)]
struct Refusals {
    last_warned: Option<tokio::time::Instant>,
    since_warned: u64,
}

impl Refusals {
    fn due(&mut self) -> Option<u64> {
        self.since_warned += 1;
        let now = tokio::time::Instant::now();
        if self.last_warned.is_some_and(|t| now - t < WARN_EVERY) {
            return None;
        }
        self.last_warned = Some(now);
        Some(std::mem::take(&mut self.since_warned))
    }

    fn refused(&mut self, label: &'static str, why: caps::Refused, peer: SocketAddr, caps: &Caps) {
        crate::metrics::record_connection_refused(label, why.as_str());
        debug!(listener = label, %peer, cap = why.as_str(), "connection refused");
        if let Some(refused) = self.due() {
            warn!(listener = label, %peer, cap = why.as_str(), open = caps.open(), refused,
                "refusing connections over the cap");
        }
    }

    fn out_of_files(&mut self, label: &'static str, e: &std::io::Error) {
        crate::metrics::record_connection_refused(label, "out_of_files");
        if let Some(times) = self.due() {
            warn!(listener = label, error = %e, times, "out of file handles; accepting pauses");
        }
    }
}
