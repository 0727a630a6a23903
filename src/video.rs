//! Video evidence: capture from the site's cameras, a frame ring per camera, and frames
//! tied to the records they evidence.
//!
//! - `capture` — one thread per camera: OpenCV's FFmpeg backend on the stream URI (RTSP
//!   or HTTP MJPEG) with open and read timeouts, a watchdog that reconnects with backoff.
//! - `source` — the stream URI (config, or ONVIF), credentials, snapshots over HTTP
//!   Basic/Digest, and asking a camera why its stream does not open.
//! - [`ring`] — the last seconds of frames as JPEG, bounded by age and bytes; the frame
//!   nearest a time.
//! - [`jpeg`] — telling a whole JPEG from junk without decoding it.
//! - [`burn`] — date and time at the top, camera name at the bottom, burned in.
//! - [`moments`] — [`Moment`]s from the line and the gates, kept as burned frames and
//!   linked to their records.
//! - [`stats`] — per camera: state, fps, drops, reconnects, errors; health `camera:<id>`.
//!
//! [`start`] spawns one task per captured camera (its capture thread and, while the
//! stream is down, a snapshot poller that keeps the ring fed; it also publishes the
//! camera's frame rate as the `customs_edge_camera_fps` metric) and the evidence worker;
//! the [`VideoHub`] it returns is how the line, the gates and the API reach them.

pub mod burn;
mod capture;
pub mod jpeg;
pub mod moments;
mod pacing;
pub mod ring;
mod source;
pub mod stats;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::{CameraConfig, Config, PointSpec};
use crate::evidence::EvidenceStore;
use crate::health::Health;
use crate::store::Store;
use crate::supervisor::Supervisor;
use ring::{Ring, RingLimits};
use source::{Http, Login};
use stats::{CameraStats, ErrorKind};

pub use moments::{Moment, Point, StoredEvidence};
pub use ring::{Frame, FrameSource};
pub use stats::{CameraSnapshot, CameraState};

/// Moments waiting for the evidence worker; more are dropped (and counted).
pub const MOMENT_QUEUE: usize = 1024;
/// How often each camera's frame rate is published as a metric.
const METRICS_EVERY: Duration = Duration::from_secs(2);
/// How long a camera's thread gets to stop after shutdown.
const CAPTURE_STOP: Duration = Duration::from_secs(4);

/// One captured camera: its config, ring and stats, shared by its capture thread, its
/// snapshot poller, the evidence worker and the API.
#[derive(Debug)]
pub(crate) struct CameraFeed {
    pub(crate) config: CameraConfig,
    /// `camera <id> (<name>)`, how messages name it.
    pub(crate) label: String,
    /// A `std` mutex: held for one push or one lookup, never across `.await`.
    ring: Mutex<Ring>,
    /// Time of the newest frame, for the evidence worker to wait on.
    pub(crate) newest: watch::Sender<Option<DateTime<Utc>>>,
    /// The snapshot URI once known (from config or ONVIF).
    pub(crate) snapshot_url: watch::Sender<Option<String>>,
    pub(crate) stats: CameraStats,
}

impl CameraFeed {
    fn new(config: CameraConfig, health: &Health) -> Self {
        let label = if config.name.trim().is_empty() {
            format!("camera {}", config.id)
        } else {
            format!("camera {} ({})", config.id, config.name.trim())
        };
        let limits = RingLimits {
            max_age: TimeDelta::milliseconds((config.ring_seconds * 1000.0) as i64),
            max_bytes: (config.ring_max_mb as usize) * 1024 * 1024,
        };
        let stats = CameraStats::new(
            &config.id,
            &config.name,
            health.clone(),
            Duration::from_millis(config.snapshot_poll_ms),
        );
        Self {
            snapshot_url: watch::Sender::new(config.snapshot_url.clone()),
            config,
            label,
            ring: Mutex::new(Ring::new(limits)),
            newest: watch::Sender::new(None),
            stats,
        }
    }

    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keep a frame received at `at`.
    pub(crate) fn push(
        &self,
        at: DateTime<Utc>,
        jpeg: Bytes,
        source: FrameSource,
        size: (u32, u32),
    ) {
        self.ring().push(at, jpeg, source);
        self.newest.send_replace(Some(at));
        self.stats.frame(source, at, size);
    }

    /// The frame nearest `at`.
    pub(crate) fn nearest(&self, at: DateTime<Utc>) -> Option<Frame> {
        self.ring().nearest(at)
    }

    /// The farthest a frame may be from an event and still evidence it.
    pub(crate) fn max_gap(&self) -> TimeDelta {
        moments::max_gap(self.config.snapshot_poll_ms)
    }

    fn snapshot(&self) -> CameraSnapshot {
        let fill = self.ring().fill();
        self.stats.snapshot(fill)
    }
}

/// The running video subsystem: a `Clone` handle.
#[derive(Debug, Clone)]
pub struct VideoHub {
    cameras: Arc<BTreeMap<String, Arc<CameraFeed>>>,
    moments: mpsc::Sender<Moment>,
    stored: broadcast::Sender<StoredEvidence>,
    counters: Arc<HubCounters>,
}

#[derive(Debug, Default)]
struct HubCounters {
    accepted: AtomicU64,
    dropped: AtomicU64,
}

/// The video subsystem, as `GET /api/cameras` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VideoOverview {
    /// Every captured camera.
    pub cameras: Vec<CameraSnapshot>,
    /// Moments taken for evidence.
    pub moments_accepted: u64,
    /// Moments dropped because the evidence queue was full.
    pub moments_dropped: u64,
}

impl VideoHub {
    /// Ask for the evidence frames of a moment. Never waits: when the queue is full the
    /// moment is dropped, counted and logged.
    pub fn moment(&self, moment: Moment) {
        match self.moments.try_send(moment) {
            Ok(()) => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                let n = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n == 1 || n.is_multiple_of(100) {
                    let m = e.into_inner();
                    warn!(record = m.record_kind, id = m.record_id, point = %m.point.key(), dropped = n,
                        "evidence queue full or closed; moment dropped");
                }
            }
        }
    }

    /// Every captured camera's state and counters.
    pub fn cameras(&self) -> Vec<CameraSnapshot> {
        self.cameras.values().map(|c| c.snapshot()).collect()
    }

    /// Cameras and evidence counters.
    pub fn overview(&self) -> VideoOverview {
        VideoOverview {
            cameras: self.cameras(),
            moments_accepted: self.counters.accepted.load(Ordering::Relaxed),
            moments_dropped: self.counters.dropped.load(Ordering::Relaxed),
        }
    }

    /// The frame of `camera` nearest `at`, if it is captured and has one.
    pub fn nearest(&self, camera: &str, at: DateTime<Utc>) -> Option<Frame> {
        self.cameras.get(camera)?.nearest(at)
    }

    /// Evidence frames as they are kept.
    pub fn subscribe(&self) -> broadcast::Receiver<StoredEvidence> {
        self.stored.subscribe()
    }
}

/// Start capture for the cameras of `config` that capture, and the evidence worker;
/// `None` when no camera is captured.
pub fn start(
    config: &Config,
    store: &Store,
    health: &Health,
    tasks: &mut Supervisor,
) -> anyhow::Result<Option<VideoHub>> {
    let files = EvidenceStore::new(&config.storage.data_dir);
    start_cameras(&config.cameras, files, store, health, tasks)
}

/// [`start`] for a list of cameras and an evidence store (tests, benchmarks).
pub fn start_cameras(
    cameras: &[CameraConfig],
    files: EvidenceStore,
    store: &Store,
    health: &Health,
    tasks: &mut Supervisor,
) -> anyhow::Result<Option<VideoHub>> {
    let captured: Vec<&CameraConfig> = cameras.iter().filter(|c| c.captures()).collect();
    if captured.is_empty() {
        return Ok(None);
    }
    // OpenCV's own warnings (timeouts it reports again) add nothing to our errors.
    let _ = opencv::core::set_log_level(opencv::core::LogLevel::LOG_LEVEL_ERROR);
    let mut feeds = BTreeMap::new();
    let mut by_point: HashMap<String, Vec<Arc<CameraFeed>>> = HashMap::new();
    for camera in captured {
        let feed = Arc::new(CameraFeed::new(camera.clone(), health));
        for point in camera
            .points
            .iter()
            .filter_map(|p| PointSpec::parse(p).ok())
        {
            by_point
                .entry(point.key())
                .or_default()
                .push(Arc::clone(&feed));
        }
        let login = if camera.has_login() {
            match camera.credentials() {
                Ok(c) => Ok(Some(Login {
                    user: c.username,
                    password: c.password,
                })),
                Err(message) => Err(message),
            }
        } else {
            Ok(None)
        };
        let task_feed = Arc::clone(&feed);
        tasks.spawn(format!("camera {}", camera.id), move |token| {
            run_camera(Arc::clone(&task_feed), login.clone(), token)
        });
        feeds.insert(camera.id.clone(), feed);
    }
    let (moments_tx, moments_rx) = mpsc::channel(MOMENT_QUEUE);
    let (stored, _) = broadcast::channel(256);
    let worker = moments::Worker {
        moments: moments_rx,
        by_point,
        files,
        store: store.clone(),
        stored: stored.clone(),
    };
    // The moments' queue outlives a failed run of the worker: it is held here, and each
    // run takes it for as long as it runs.
    let worker = Arc::new(tokio::sync::Mutex::new(worker));
    tasks.spawn("video evidence", move |token| {
        let worker = Arc::clone(&worker);
        async move { worker.lock().await.run(token).await }
    });
    info!(cameras = feeds.len(), "video capture started");
    Ok(Some(VideoHub {
        cameras: Arc::new(feeds),
        moments: moments_tx,
        stored,
        counters: Arc::default(),
    }))
}

/// One camera until shutdown: its capture thread and its snapshot poller.
async fn run_camera(
    feed: Arc<CameraFeed>,
    login: Result<Option<Login>, String>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let login = match login {
        Ok(login) => login,
        Err(message) => {
            // The site runs on without this camera; the error stays on show.
            feed.stats.error(ErrorKind::Config, &message);
            feed.stats.set_state(CameraState::Down);
            shutdown.cancelled().await;
            return Ok(());
        }
    };
    let timeout = Duration::from_secs_f64(feed.config.open_timeout_s);
    let http = Http::new(&feed.label, login.clone(), timeout);
    // Cancelled at shutdown, and also when this task is dropped (a runtime going away
    // without a shutdown): the thread must not outlive the runtime it calls into.
    let stop = shutdown.child_token();
    let _stop_on_drop = stop.clone().drop_guard();
    let capture = capture::Capture {
        feed: Arc::clone(&feed),
        login,
        http: http.clone(),
        runtime: tokio::runtime::Handle::current(),
        shutdown: stop,
    };
    let (done_tx, done_rx) = oneshot::channel::<()>();
    let tail: String = feed.config.id.chars().rev().take(11).collect();
    let thread_name = format!("cam-{}", tail.chars().rev().collect::<String>());
    std::thread::Builder::new()
        .name(thread_name)
        .spawn(move || {
            crate::cpu_priority::background();
            let _done = done_tx;
            loop {
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| capture.run()));
                if run.is_ok() || capture.shutdown.is_cancelled() {
                    break;
                }
                let message = format!(
                    "{}: capture failed unexpectedly; starting again",
                    capture.feed.label
                );
                capture.feed.stats.error(ErrorKind::Stream, &message);
                std::thread::sleep(Duration::from_secs(1));
            }
        })?;
    watch_over(&feed, &http, &shutdown).await;
    if tokio::time::timeout(CAPTURE_STOP, done_rx).await.is_err() {
        warn!(camera = %feed.config.id, "capture thread still closing the stream at shutdown");
    }
    Ok(())
}

/// Until shutdown: while the stream is down, fetch a snapshot every `snapshot_poll_ms`
/// into the ring; every [`METRICS_EVERY`], publish the frame rate as a metric.
async fn watch_over(feed: &CameraFeed, http: &Http, shutdown: &CancellationToken) {
    let poll = feed.config.snapshot_poll_ms;
    let mut snapshots = tokio::time::interval(Duration::from_millis(poll.max(100)));
    snapshots.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut gauge = tokio::time::interval(METRICS_EVERY);
    let urls = feed.snapshot_url.subscribe();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = gauge.tick() => publish_counts(feed),
            _ = snapshots.tick(), if poll > 0 => {
                if matches!(feed.stats.state(), CameraState::Streaming | CameraState::Starting) {
                    continue;
                }
                let url = urls.borrow().clone();
                if let Some(url) = url {
                    snapshot_once(feed, http, &url).await;
                }
            }
        }
    }
    publish_counts(feed);
}

async fn snapshot_once(feed: &CameraFeed, http: &Http, url: &str) {
    let asked = Utc::now();
    let started = std::time::Instant::now();
    match http.snapshot(url).await {
        Ok((jpeg, size)) => {
            // Taken somewhere between asking and receiving: stamp the middle.
            let half = TimeDelta::from_std(started.elapsed() / 2).unwrap_or_default();
            feed.push(asked + half, jpeg, FrameSource::Snapshot, size);
        }
        Err((kind, message)) => feed.stats.snapshot_error(kind, &message),
    }
}

/// A camera's counters for `/metrics`.
fn publish_counts(feed: &CameraFeed) {
    let s = feed.snapshot();
    crate::metrics::set_camera(
        &feed.config.id,
        crate::metrics::CameraCounts {
            fps: if s.state == CameraState::Streaming {
                s.fps
            } else {
                0.0
            },
            frames: s.frames,
            drops: s.drops,
            reconnects: s.reconnects,
            streaming: s.state == CameraState::Streaming,
        },
    );
}
