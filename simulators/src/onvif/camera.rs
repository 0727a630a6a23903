//! The state one camera's tasks share (clock, password, fault switches, boot, RTSP port)
//! and [`RunningCamera`], the handle its owner keeps; the counters are in `stats`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use customs_edge_devices::http_auth::Authenticator;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::config::OnvifCameraConfig;
use super::feed::Feed;
use super::messages::{Ctx, DEVICE_PATH, MEDIA_PATH, rtsp_url, snapshot_url, stream_url};
pub(crate) use super::stats::bump;
use super::stats::{CameraStats, Counters};
use super::wsse::TokenChecker;

/// Realm of the camera's HTTP Digest/Basic challenges.
const REALM: &str = "onvif-camera";

/// One power cycle of the HTTP server.
#[derive(Debug)]
struct Boot {
    /// Cancelled when this boot ends (reboot or shutdown): every connection and stream of
    /// it dies.
    token: CancellationToken,
    /// While rebooting: when the server comes back.
    down_until: Option<Instant>,
}

/// Everything the camera's tasks share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The configuration (its `password` is only the initial one).
    pub(crate) cfg: OnvifCameraConfig,
    /// The bound HTTP address.
    pub(crate) http_addr: SocketAddr,
    /// The stable WS-Discovery endpoint reference, `urn:uuid:...`.
    pub(crate) endpoint: String,
    /// The bound unicast WS-Discovery address, if discovery is on.
    pub(crate) discovery_addr: Option<SocketAddr>,
    /// Whether the multicast group was joined.
    pub(crate) multicast_joined: AtomicBool,
    /// The RTSP server's port once it came up; 0 = no RTSP (off, or GStreamer missing).
    pub(crate) rtsp_port: AtomicU16,
    /// One feed per profile, in config order.
    pub(crate) feeds: Vec<Arc<Feed>>,
    /// HTTP Digest/Basic for snapshots and streams.
    pub(crate) http_auth: Authenticator,
    /// WS-Security UsernameToken checks.
    pub(crate) tokens: TokenChecker,
    pub(crate) counters: Counters,
    /// Stops the camera.
    pub(crate) shutdown: CancellationToken,
    /// Fired when every task has ended.
    pub(crate) finished: CancellationToken,
    /// The current password. A `std` mutex: read or replaced, never held across `.await`.
    password: Mutex<String>,
    /// Bumped at every password change, watched by the RTSP server's supervisor.
    password_changes: watch::Sender<u64>,
    stream_stopped: AtomicBool,
    junk: AtomicBool,
    /// Delay of every answer in ms; 0 = none.
    slow_ms: AtomicU64,
    /// The current boot. A `std` mutex: held to read or swap a token.
    boot: Mutex<Boot>,
    /// Number of the current boot (1 at start), watched by discovery to say Hello.
    boots: watch::Sender<u64>,
}

impl Shared {
    /// The state of a camera about to start.
    pub(crate) fn new(
        cfg: OnvifCameraConfig,
        http_addr: SocketAddr,
        discovery_addr: Option<SocketAddr>,
        feeds: Vec<Arc<Feed>>,
        shutdown: CancellationToken,
    ) -> Self {
        let window = Duration::from_secs(cfg.token_window_s);
        Self {
            endpoint: super::wsd::endpoint_reference(&cfg.name),
            password: Mutex::new(cfg.password.clone()),
            http_auth: Authenticator::new(REALM, rand::random()),
            tokens: TokenChecker::new(window),
            boot: Mutex::new(Boot {
                token: shutdown.child_token(),
                down_until: None,
            }),
            boots: watch::Sender::new(1),
            cfg,
            http_addr,
            discovery_addr,
            multicast_joined: AtomicBool::new(false),
            rtsp_port: AtomicU16::new(0),
            password_changes: watch::Sender::new(0),
            feeds,
            counters: Counters::default(),
            shutdown,
            finished: CancellationToken::new(),
            stream_stopped: AtomicBool::new(false),
            junk: AtomicBool::new(false),
            slow_ms: AtomicU64::new(0),
        }
    }

    /// The camera's clock: true UTC plus the configured skew.
    pub(crate) fn camera_now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.cfg.clock_skew_s)
    }

    /// The current password.
    pub(crate) fn password(&self) -> String {
        self.password
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the password (SOAP, HTTP and RTSP alike).
    pub(crate) fn set_password(&self, password: String) {
        *self.password.lock().unwrap_or_else(PoisonError::into_inner) = password;
        self.password_changes.send_modify(|n| *n += 1);
    }

    /// Watches password changes.
    pub(crate) fn watch_password(&self) -> watch::Receiver<u64> {
        self.password_changes.subscribe()
    }

    /// The RTSP port, when the RTSP server came up.
    pub(crate) fn rtsp_port(&self) -> Option<u16> {
        match self.rtsp_port.load(Ordering::Relaxed) {
            0 => None,
            port => Some(port),
        }
    }

    /// What SOAP answers depend on, for a client that reached the camera at `base`.
    pub(crate) fn ctx<'a>(&'a self, base: &'a str, now: DateTime<Utc>) -> Ctx<'a> {
        let ip = match self.http_addr.ip() {
            IpAddr::V4(v4) if !v4.is_unspecified() => v4,
            _ => {
                let host = base.strip_prefix("http://").unwrap_or(base);
                (host.rsplit_once(':').map_or(host, |(h, _)| h))
                    .parse()
                    .unwrap_or(Ipv4Addr::LOCALHOST)
            }
        };
        Ctx {
            cfg: &self.cfg,
            base,
            now,
            ip,
            http_port: self.http_addr.port(),
            rtsp_port: self.rtsp_port(),
            discoverable: self.multicast_joined.load(Ordering::Relaxed),
            endpoint: &self.endpoint,
        }
    }

    /// Whether the stream is stopped (frames are not sent).
    pub(crate) fn stream_stopped(&self) -> bool {
        self.stream_stopped.load(Ordering::Relaxed)
    }

    /// Whether streams and snapshots send junk instead of JPEG.
    pub(crate) fn junk(&self) -> bool {
        self.junk.load(Ordering::Relaxed)
    }

    /// The delay of every answer, if the camera is slow.
    pub(crate) fn slow(&self) -> Option<Duration> {
        match self.slow_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    fn boot(&self) -> MutexGuard<'_, Boot> {
        self.boot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The token of the current boot.
    pub(crate) fn boot_token(&self) -> CancellationToken {
        self.boot().token.clone()
    }

    /// Whether the camera is rebooting.
    pub(crate) fn is_down(&self) -> bool {
        self.boot().down_until.is_some()
    }

    /// When a reboot in progress ends.
    pub(crate) fn down_until(&self) -> Option<Instant> {
        self.boot().down_until
    }

    /// Ends the current boot for `down` (or longer, if a reboot is already under way).
    pub(crate) fn reboot(&self, down: Duration) {
        let mut boot = self.boot();
        let until = Instant::now() + down;
        boot.down_until = Some(boot.down_until.map_or(until, |u| u.max(until)));
        boot.token.cancel();
    }

    /// Starts a new boot after a reboot: a fresh token; discovery says Hello again.
    pub(crate) fn begin_boot(&self) -> CancellationToken {
        let token = self.shutdown.child_token();
        {
            let mut boot = self.boot();
            boot.token = token.clone();
            boot.down_until = None;
        }
        self.boots.send_modify(|n| *n += 1);
        token
    }

    /// Watches the boot number.
    pub(crate) fn watch_boots(&self) -> watch::Receiver<u64> {
        self.boots.subscribe()
    }

    /// `http://ip:port` of the camera for its own URLs: the bound address, loopback when
    /// bound to all interfaces.
    pub(crate) fn base_url(&self) -> String {
        base_url(self.http_addr)
    }

    /// The feed of a profile.
    pub(crate) fn feed(&self, token: &str) -> Option<&Arc<Feed>> {
        self.feeds.iter().find(|f| f.profile.token == token)
    }
}

/// `http://ip:port` for `addr`, with loopback for an unspecified IP.
pub(crate) fn base_url(addr: SocketAddr) -> String {
    let ip = match addr.ip() {
        ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, addr.port()))
}

/// A running simulated ONVIF camera. Cheap to clone; every clone drives the same camera.
/// It stops when the `shutdown` token given to [`super::start`] is cancelled.
#[derive(Debug, Clone)]
pub struct RunningCamera {
    pub(crate) shared: Arc<Shared>,
}

impl RunningCamera {
    /// The address the HTTP server is bound to.
    pub fn http_addr(&self) -> SocketAddr {
        self.shared.http_addr
    }

    /// `http://ip:port`.
    pub fn base_url(&self) -> String {
        self.shared.base_url()
    }

    /// The device service: `http://ip:port/onvif/device_service`.
    pub fn device_service_url(&self) -> String {
        format!("{}{DEVICE_PATH}", self.base_url())
    }

    /// The media service as advertised: `http://ip:port/onvif/media_service`.
    pub fn media_service_url(&self) -> String {
        format!("{}{MEDIA_PATH}", self.base_url())
    }

    /// The snapshot URL of the first profile.
    pub fn snapshot_url(&self) -> String {
        snapshot_url(&self.base_url(), &self.shared.cfg.profiles[0].token)
    }

    /// The snapshot URL of a profile (not checked).
    pub fn snapshot_url_for(&self, profile: &str) -> String {
        snapshot_url(&self.base_url(), profile)
    }

    /// The MJPEG stream URL of the first profile.
    pub fn stream_url(&self) -> String {
        stream_url(&self.base_url(), &self.shared.cfg.profiles[0].token)
    }

    /// The MJPEG stream URL of a profile (not checked).
    pub fn stream_url_for(&self, profile: &str) -> String {
        stream_url(&self.base_url(), profile)
    }

    /// The RTSP server's port, when it runs (`OnvifCameraConfig::rtsp` and GStreamer's
    /// RTSP server available).
    pub fn rtsp_port(&self) -> Option<u16> {
        self.shared.rtsp_port()
    }

    /// The RTSP (H.264) URL of a profile (not checked), when the RTSP server runs.
    pub fn rtsp_url_for(&self, profile: &str) -> Option<String> {
        let base = self.base_url();
        let host = base.trim_start_matches("http://");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        self.rtsp_port().map(|port| rtsp_url(host, port, profile))
    }

    /// The configuration the camera was started with.
    pub fn config(&self) -> &OnvifCameraConfig {
        &self.shared.cfg
    }

    /// The stable WS-Discovery endpoint reference (`urn:uuid:...`, from the name).
    pub fn endpoint_reference(&self) -> &str {
        &self.shared.endpoint
    }

    /// Where directed WS-Discovery probes are answered (`None` with discovery off).
    pub fn discovery_addr(&self) -> Option<SocketAddr> {
        self.shared.discovery_addr
    }

    /// Whether the camera joined the WS-Discovery multicast group.
    pub fn multicast_joined(&self) -> bool {
        self.shared.multicast_joined.load(Ordering::Relaxed)
    }

    /// The camera's clock now (true UTC plus the configured skew).
    pub fn camera_now(&self) -> DateTime<Utc> {
        self.shared.camera_now()
    }

    /// Stops (`true`) or resumes sending MJPEG frames. Connections stay open and silent,
    /// like an encoder that hangs; snapshots still work.
    pub fn set_stream_stopped(&self, stopped: bool) {
        self.shared.stream_stopped.store(stopped, Ordering::Relaxed);
    }

    /// Reboots: every HTTP connection and stream is cut at once, connections are refused
    /// for `down`, discovery is silent; then the server is back and says Hello.
    pub fn reboot(&self, down: Duration) {
        self.shared.reboot(down);
    }

    /// Whether the HTTP server is up (not rebooting).
    pub fn is_up(&self) -> bool {
        !self.shared.is_down()
    }

    /// Makes MJPEG streams send random bytes instead of JPEG parts, and snapshots answer
    /// random bytes as `image/jpeg` (`true`), or go back to normal.
    pub fn set_junk(&self, junk: bool) {
        self.shared.junk.store(junk, Ordering::Relaxed);
    }

    /// Delays every answer (SOAP, snapshot, stream start, discovery) by `delay`; `None`
    /// answers at once.
    pub fn set_slow(&self, delay: Option<Duration>) {
        let ms = delay.map_or(0, |d| d.as_millis().clamp(1, u128::from(u64::MAX)) as u64);
        self.shared.slow_ms.store(ms, Ordering::Relaxed);
    }

    /// Changes the password, as if someone did on the camera's web page: the old one is
    /// refused from now on, by SOAP, HTTP and RTSP.
    pub fn set_password(&self, password: impl Into<String>) {
        self.shared.set_password(password.into());
    }

    /// The counters so far.
    pub fn stats(&self) -> CameraStats {
        let c = &self.shared.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CameraStats {
            frames_sent: load(&c.frames_sent),
            snapshots_served: load(&c.snapshots_served),
            auth_failures: load(&c.auth_failures),
            soap_requests: c.soap_counts(),
            probes_answered: load(&c.probes_answered),
            boots: *self.shared.boots.borrow(),
            stream_clients: load(&c.stream_clients),
        }
    }

    /// Waits until every task of the camera has ended (after shutdown; Bye is sent).
    pub async fn stopped(&self) {
        self.shared.finished.cancelled().await;
    }
}
