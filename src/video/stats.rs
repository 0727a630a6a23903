//! What each camera is doing: state, frame rate, frames, drops, reconnects, errors by
//! kind and the last one, evidence kept; as a JSON snapshot for `GET /api/cameras` and as
//! the `camera:<id>` entry of [`Health`].
//!
//! Every fault goes through [`CameraStats::error`] (or [`CameraStats::snapshot_error`]),
//! which counts it by [`ErrorKind`], keeps it as the last error and logs it (once per kind
//! and origin every [`LOG_EVERY`], with how many were not logged), so a camera sending
//! junk ten times a second fills no disk.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tracing::{info, warn};

use super::ring::{FrameSource, RingFill};
use crate::health::{Health, State};

/// The same kind of error is logged at most this often per camera.
pub const LOG_EVERY: Duration = Duration::from_secs(10);
/// The frame rate is measured over this window.
const FPS_WINDOW: Duration = Duration::from_secs(5);

/// What a camera's capture is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CameraState {
    /// Not yet tried.
    Starting,
    /// Opening the stream.
    Connecting,
    /// Frames are coming.
    Streaming,
    /// The stream is down; reconnecting with backoff (snapshots may be coming).
    Down,
    /// Capture ended (shutdown).
    Stopped,
}

/// A kind of capture fault, counted per camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The camera refused the user name or password.
    Unauthorized,
    /// Nothing answers at the camera's address.
    Unreachable,
    /// The stream did not open (other reasons, or not known).
    Open,
    /// No frame within the watchdog time.
    Stall,
    /// The stream broke before the watchdog time: bad data or the connection closed.
    Stream,
    /// A frame that is not a whole JPEG (junk on the wire).
    BadFrame,
    /// A decoded frame could not be encoded as JPEG.
    Encode,
    /// A snapshot could not be fetched or was not a JPEG.
    Snapshot,
    /// The stream URI could not be asked from the camera's ONVIF service.
    Onvif,
    /// The camera's config cannot be used (credentials missing).
    Config,
    /// An evidence frame could not be made or kept.
    Evidence,
}

impl ErrorKind {
    /// Name as counted and logged.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unauthorized => "unauthorized",
            Self::Unreachable => "unreachable",
            Self::Open => "open",
            Self::Stall => "stall",
            Self::Stream => "stream",
            Self::BadFrame => "bad_frame",
            Self::Encode => "encode",
            Self::Snapshot => "snapshot",
            Self::Onvif => "onvif",
            Self::Config => "config",
            Self::Evidence => "evidence",
        }
    }
}

/// The last fault of a camera.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LastError {
    /// Its kind.
    pub kind: ErrorKind,
    /// What happened, naming the camera.
    pub message: String,
    /// When (UTC).
    pub at: DateTime<Utc>,
}

/// One camera, as `GET /api/cameras` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CameraSnapshot {
    /// Camera id.
    pub id: String,
    /// Camera name.
    pub name: String,
    /// The stream URI, without credentials.
    pub stream: Option<String>,
    /// Capture state.
    pub state: CameraState,
    /// Since when (UTC).
    pub since: DateTime<Utc>,
    /// Frames per second received over the last few seconds.
    pub fps: f64,
    /// Frames kept from the stream.
    pub frames: u64,
    /// Frames kept from snapshots.
    pub snapshot_frames: u64,
    /// Frames received but not kept (not a whole JPEG, not encodable).
    pub drops: u64,
    /// Times the stream was opened again after it had been streaming or failed.
    pub reconnects: u64,
    /// Faults by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
    /// The latest fault, with its time and message; kept after the camera recovers.
    pub last_error: Option<LastError>,
    /// When the newest frame came (UTC).
    pub last_frame_at: Option<DateTime<Utc>>,
    /// How frames come: `jpeg` (MJPEG kept as sent) or `decoded` (encoded here).
    pub mode: Option<&'static str>,
    /// Frame width and height.
    pub size: Option<(u32, u32)>,
    /// How full the frame ring is.
    pub ring: RingFill,
    /// Evidence frames kept for records.
    pub evidence_kept: u64,
    /// Events for which this camera had no frame near enough.
    pub evidence_missing: u64,
}

#[derive(Debug)]
struct Inner {
    state: CameraState,
    since: DateTime<Utc>,
    frames: u64,
    snapshot_frames: u64,
    drops: u64,
    reconnects: u64,
    errors: BTreeMap<ErrorKind, u64>,
    last_error: Option<LastError>,
    last_frame_at: Option<DateTime<Utc>>,
    recent: VecDeque<Instant>,
    mode: Option<&'static str>,
    size: Option<(u32, u32)>,
    stream: Option<String>,
    last_snapshot: Option<Instant>,
    evidence_kept: u64,
    evidence_missing: u64,
    /// Per kind and origin (stream or snapshot): when last logged, and how many since
    /// then were not.
    logged: BTreeMap<(ErrorKind, bool), (Instant, u64)>,
}

/// Counters and state of one camera, shared by its capture thread, its snapshot poller,
/// the evidence worker and the API.
#[derive(Debug)]
pub struct CameraStats {
    id: String,
    name: String,
    health: Health,
    /// How long snapshots keep the camera `degraded` rather than `down`.
    snapshot_fresh: Duration,
    /// A `std` mutex: every update is a few field writes, never held across `.await`.
    inner: Mutex<Inner>,
}

impl CameraStats {
    /// Stats for camera `id`, reported to `health` as `camera:<id>`; snapshots polled every
    /// `snapshot_poll` keep it degraded rather than down.
    pub fn new(id: &str, name: &str, health: Health, snapshot_poll: Duration) -> Self {
        let stats = Self {
            id: id.to_owned(),
            name: name.to_owned(),
            health,
            snapshot_fresh: (snapshot_poll * 3).max(Duration::from_secs(3)),
            inner: Mutex::new(Inner {
                state: CameraState::Starting,
                since: Utc::now(),
                frames: 0,
                snapshot_frames: 0,
                drops: 0,
                reconnects: 0,
                errors: BTreeMap::new(),
                last_error: None,
                last_frame_at: None,
                recent: VecDeque::new(),
                mode: None,
                size: None,
                stream: None,
                last_snapshot: None,
                evidence_kept: 0,
                evidence_missing: 0,
                logged: BTreeMap::new(),
            }),
        };
        stats.report_health();
        stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The camera's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the capture is doing now (connecting, streaming, down…).
    pub fn state(&self) -> CameraState {
        self.lock().state
    }

    /// Move to `state` (logged and reported to health when it changes).
    pub fn set_state(&self, state: CameraState) {
        {
            let mut inner = self.lock();
            if inner.state == state {
                return;
            }
            info!(camera = %self.id, from = ?inner.state, to = ?state, "camera state");
            inner.state = state;
            inner.since = Utc::now();
        }
        self.report_health();
    }

    /// The stream URI (without credentials) and how its frames are taken.
    pub fn set_stream(&self, stream: &str, mode: &'static str) {
        let mut inner = self.lock();
        inner.stream = Some(stream.to_owned());
        inner.mode = Some(mode);
    }

    /// A frame of `size` was kept from `source` at `at`.
    pub fn frame(&self, source: FrameSource, at: DateTime<Utc>, size: (u32, u32)) {
        let now = Instant::now();
        let mut inner = self.lock();
        match source {
            FrameSource::Stream => {
                inner.frames += 1;
                inner.recent.push_back(now);
                while inner
                    .recent
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > FPS_WINDOW)
                {
                    inner.recent.pop_front();
                }
            }
            FrameSource::Snapshot => {
                inner.snapshot_frames += 1;
                inner.last_snapshot = Some(now);
            }
        }
        inner.last_frame_at = Some(at);
        inner.size = Some(size);
        let degraded_by_snapshot =
            source == FrameSource::Snapshot && inner.state != CameraState::Streaming;
        drop(inner);
        if degraded_by_snapshot {
            self.report_health();
        }
    }

    /// A frame was received but not kept.
    pub fn dropped(&self) {
        self.lock().drops += 1;
    }

    /// The stream is being opened again.
    pub fn reconnect(&self) {
        self.lock().reconnects += 1;
    }

    /// An evidence frame was kept (`true`) or none was near enough (`false`).
    pub fn evidence(&self, kept: bool) {
        let mut inner = self.lock();
        if kept {
            inner.evidence_kept += 1;
        } else {
            inner.evidence_missing += 1;
        }
    }

    /// Count a fault of the stream (or of the camera as a whole), keep it as the last
    /// one, log it (throttled per kind).
    pub fn error(&self, kind: ErrorKind, message: &str) {
        self.record(kind, message, false);
    }

    /// [`CameraStats::error`] for a snapshot, logged apart from the stream's faults (a
    /// refused snapshot must not hide the refused stream in the log, or the other way).
    pub fn snapshot_error(&self, kind: ErrorKind, message: &str) {
        self.record(kind, message, true);
    }

    fn record(&self, kind: ErrorKind, message: &str, snapshot: bool) {
        let now = Instant::now();
        let suppressed = {
            let mut inner = self.lock();
            *inner.errors.entry(kind).or_default() += 1;
            inner.last_error = Some(LastError {
                kind,
                message: message.to_owned(),
                at: Utc::now(),
            });
            match inner.logged.get_mut(&(kind, snapshot)) {
                Some((last, skipped)) if now.duration_since(*last) < LOG_EVERY => {
                    *skipped += 1;
                    None
                }
                Some((last, skipped)) => {
                    *last = now;
                    Some(std::mem::take(skipped))
                }
                None => {
                    inner.logged.insert((kind, snapshot), (now, 0));
                    Some(0)
                }
            }
        };
        if let Some(suppressed) = suppressed {
            warn!(camera = %self.id, kind = kind.as_str(), suppressed, "{message}");
        }
        self.report_health();
    }

    /// A copy for the API, with the ring's fill.
    pub fn snapshot(&self, ring: RingFill) -> CameraSnapshot {
        let inner = self.lock();
        let fps = match (inner.recent.front(), inner.recent.back()) {
            (Some(first), Some(last))
                if inner.recent.len() > 1 && last.elapsed() < Duration::from_secs(2) =>
            {
                let span = last.duration_since(*first).as_secs_f64();
                ((inner.recent.len() - 1) as f64 / span * 10.0).round() / 10.0
            }
            _ => 0.0,
        };
        CameraSnapshot {
            id: self.id.clone(),
            name: self.name.clone(),
            stream: inner.stream.clone(),
            state: inner.state,
            since: inner.since,
            fps,
            frames: inner.frames,
            snapshot_frames: inner.snapshot_frames,
            drops: inner.drops,
            reconnects: inner.reconnects,
            errors: inner.errors.clone(),
            last_error: inner.last_error.clone(),
            last_frame_at: inner.last_frame_at,
            mode: inner.mode,
            size: inner.size,
            ring,
            evidence_kept: inner.evidence_kept,
            evidence_missing: inner.evidence_missing,
        }
    }

    /// Report `camera:<id>` to health: ok while streaming, degraded while snapshots stand
    /// in, down otherwise (with the last error).
    fn report_health(&self) {
        let (state, detail) = {
            let inner = self.lock();
            let last = inner
                .last_error
                .as_ref()
                .map_or_else(String::new, |e| e.message.clone());
            let snapshots = inner
                .last_snapshot
                .is_some_and(|t| t.elapsed() < self.snapshot_fresh);
            match inner.state {
                CameraState::Starting => (State::Starting, "not yet connected".to_owned()),
                CameraState::Streaming => (State::Ok, "streaming".to_owned()),
                CameraState::Connecting if inner.frames == 0 && inner.errors.is_empty() => {
                    (State::Starting, "connecting".to_owned())
                }
                CameraState::Stopped => (State::Down, "capture stopped".to_owned()),
                _ if snapshots => (
                    State::Degraded,
                    format!("stream down, snapshots stand in: {last}"),
                ),
                _ => (State::Down, format!("stream down: {last}")),
            }
        };
        self.health
            .set(&format!("camera:{}", self.id), state, detail);
    }
}
