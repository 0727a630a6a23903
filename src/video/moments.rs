//! Evidence frames tied to records: when a parcel leaves the X-ray machine, when its lane
//! is decided, when a truck is at a gate, the frame of each camera watching that point
//! nearest the event's own time is burned with the customs text, kept as evidence (with
//! its thumbnail) and linked to the record.
//!
//! The line and the gate loop hand a [`Moment`] to [`super::VideoHub::moment`], which never
//! waits (a full queue drops the moment and counts it). A worker takes the moments; for
//! each camera it waits until the ring holds a frame from after the moment (up to
//! [`WAIT_AFTER`]), so the nearest frame is really the nearest, then burns, keeps and links
//! it off the hot path. Each kept frame is announced as a [`StoredEvidence`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::CameraFeed;
use super::burn::{Osd, burn};
use super::ring::{Frame, FrameSource};
use super::stats::ErrorKind;
use crate::config::PointSpec;
use crate::evidence::{EvidenceKind, EvidenceStore, Made};
use crate::store::Store;
use crate::store::evidence_rows::{self, Origin};

/// How long the worker waits for a frame from after the moment.
pub const WAIT_AFTER: Duration = Duration::from_secs(1);
/// Cameras handled at once (each burns a frame on the blocking pool).
const CONCURRENT: usize = 16;
/// Time allowed after shutdown for frames being kept to be written.
const DRAIN: Duration = Duration::from_secs(3);

/// A point of the site that cameras watch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Point {
    /// A parcel leaving the X-ray machine of line `line`.
    XrayExit {
        /// The line id.
        line: String,
    },
    /// A parcel's lane decision on line `line`.
    Decision {
        /// The line id.
        line: String,
    },
    /// A truck at gate lane `gate` (plate read, pass).
    Gate {
        /// The gate lane id.
        gate: String,
    },
}

impl Point {
    /// As written in a camera's `points`: `line:L1:xray_exit`, `line:L1:decision`, `gate:01`.
    pub fn key(&self) -> String {
        self.spec().key()
    }

    fn spec(&self) -> PointSpec {
        match self {
            Self::XrayExit { line } => PointSpec::XrayExit(line.clone()),
            Self::Decision { line } => PointSpec::Decision(line.clone()),
            Self::Gate { gate } => PointSpec::Gate(gate.clone()),
        }
    }

    /// What happened there, for the link's role.
    fn what(&self) -> &'static str {
        match self {
            Self::XrayExit { .. } => "xray_exit",
            Self::Decision { .. } => "decision",
            Self::Gate { .. } => "gate",
        }
    }
}

/// Something that happened to a record at a point, at a time: its evidence frames are
/// wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    /// The record: [`evidence_rows::RECORD_PARCEL`] or [`evidence_rows::RECORD_GATE_PASS`].
    pub record_kind: &'static str,
    /// The record's id.
    pub record_id: i64,
    /// Where on the site it happened: which cameras see it.
    pub point: Point,
    /// When it happened (UTC), e.g. the PLC's time of the parcel at the X-ray exit.
    pub at: DateTime<Utc>,
}

/// An evidence frame kept and linked to its record.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvidence {
    /// The kind of record it is linked to (`parcel`, `gate_pass`).
    pub record_kind: &'static str,
    /// The record's id.
    pub record_id: i64,
    /// Where on the site the moment happened.
    pub point: Point,
    /// The camera whose frame it is.
    pub camera: String,
    /// Row id in `evidence`.
    pub evidence_id: i64,
    /// SHA-256 of the burned image.
    pub sha256: String,
    /// When the moment happened.
    pub moment_at: DateTime<Utc>,
    /// When the frame was received.
    pub frame_at: DateTime<Utc>,
    /// The frame's number in the camera's ring.
    pub frame_seq: u64,
    /// Stream or snapshot.
    pub source: FrameSource,
}

/// What the worker needs.
pub(crate) struct Worker {
    pub(crate) moments: mpsc::Receiver<Moment>,
    /// Cameras by point key.
    pub(crate) by_point: HashMap<String, Vec<Arc<CameraFeed>>>,
    pub(crate) files: EvidenceStore,
    pub(crate) store: Store,
    pub(crate) stored: broadcast::Sender<StoredEvidence>,
}

impl Worker {
    /// Take moments until shutdown, then let what is being kept finish (bounded). Camera
    /// frames are the first evidence shed when the disk runs low
    /// ([`crate::store::Shed::Evidence`]): their moments are counted and let go.
    pub(crate) async fn run(&mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let limit = Arc::new(Semaphore::new(CONCURRENT));
        let mut running = JoinSet::new();
        loop {
            let moment = tokio::select! {
                () = shutdown.cancelled() => break,
                Some(_) = running.join_next(), if !running.is_empty() => continue,
                m = self.moments.recv() => match m { Some(m) => m, None => break },
            };
            let Some(cameras) = self.by_point.get(&moment.point.key()) else {
                debug!(point = %moment.point.key(), "no camera watches this point");
                continue;
            };
            if self.store.status().sheds(crate::store::Shed::Evidence) {
                for _ in cameras {
                    crate::metrics::record_shed("camera_frame");
                }
                debug!(point = %moment.point.key(), "disk low: camera frame not kept");
                continue;
            }
            for feed in cameras {
                let permit = Arc::clone(&limit).acquire_owned().await?;
                let job = Job {
                    moment: moment.clone(),
                    feed: Arc::clone(feed),
                    files: self.files.clone(),
                    store: self.store.clone(),
                    stored: self.stored.clone(),
                };
                running.spawn(async move {
                    job.run().await;
                    drop(permit);
                });
            }
        }
        let _ = tokio::time::timeout(DRAIN, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        Ok(())
    }
}

/// One moment for one camera.
struct Job {
    moment: Moment,
    feed: Arc<CameraFeed>,
    files: EvidenceStore,
    store: Store,
    stored: broadcast::Sender<StoredEvidence>,
}

impl Job {
    async fn run(self) {
        let stats = &self.feed.stats;
        let label = &self.feed.label;
        let Some(frame) = self.nearest().await else {
            stats.evidence(false);
            stats.error(
                ErrorKind::Evidence,
                &format!(
                    "{label}: no frame near {} for {} {} ({})",
                    self.moment.at.to_rfc3339(),
                    self.moment.record_kind,
                    self.moment.record_id,
                    self.moment.point.key()
                ),
            );
            return;
        };
        match self.keep(&frame).await {
            Ok(stored) => {
                stats.evidence(true);
                let _ = self.stored.send(stored);
            }
            Err(message) => {
                stats.evidence(false);
                stats.error(ErrorKind::Evidence, &format!("{label}: {message}"));
            }
        }
    }

    /// The frame nearest the moment, once the ring has one from after it (or the wait is
    /// over); `None` when the nearest is too far away to show the moment.
    async fn nearest(&self) -> Option<Frame> {
        let at = self.moment.at;
        let mut newest = self.feed.newest.subscribe();
        let _ =
            tokio::time::timeout(WAIT_AFTER, newest.wait_for(|n| n.is_some_and(|t| t >= at))).await;
        let frame = self.feed.nearest(at)?;
        ((frame.at - at).abs() <= self.feed.max_gap()).then_some(frame)
    }

    async fn keep(&self, frame: &Frame) -> Result<StoredEvidence, String> {
        let feed = Arc::clone(&self.feed);
        let files = self.files.clone();
        let jpeg = frame.jpeg.clone();
        let (frame_at, seq) = (frame.at, frame.seq);
        let name = format!("camera-{}-{seq}.jpg", feed.config.id);
        let source = PathBuf::from(&name);
        let kept = tokio::task::spawn_blocking(move || {
            let osd = Osd::new(frame_at, &feed.config.id, &feed.config.name);
            let burned = burn(&jpeg, &osd).map_err(|e| format!("frame {seq} not burned: {e}"))?;
            // Camera frames are few (one per event and camera): the thumbnail is kept now,
            // made from the picture the burning decoded.
            let made = Made {
                jpeg: &burned.jpeg,
                width: burned.width,
                height: burned.height,
                thumbnail: &burned.thumbnail,
            };
            files
                .keep_made(&made, &source, EvidenceKind::CameraFrame)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("burning task failed: {e}"))??;
        let sha256 = kept.sha256.clone();
        let (kind, record) = (self.moment.record_kind, self.moment.record_id);
        let role = format!(
            "camera:{}:{}",
            self.feed.config.id,
            self.moment.point.what()
        );
        let produced = crate::store::timestamp(frame_at);
        let evidence_id = self
            .store
            .writer
            // Not urgent: rides along with the next batch of writes (at most 5 ms later).
            .submit(move |tx| {
                let origin = Origin {
                    source_name: Some(&name),
                    produced_at: Some(&produced),
                };
                let id = evidence_rows::insert(tx, &kept, origin, &crate::store::now())?;
                evidence_rows::link(tx, id, kind, record, Some(&role))?;
                Ok(id)
            })
            .await
            .map_err(|e| format!("evidence not stored: {e}"))?
            .committed()
            .await
            .map_err(|e| format!("evidence not stored: {e}"))?;
        Ok(StoredEvidence {
            record_kind: kind,
            record_id: record,
            point: self.moment.point.clone(),
            camera: self.feed.config.id.clone(),
            evidence_id,
            sha256,
            moment_at: self.moment.at,
            frame_at,
            frame_seq: seq,
            source: frame.source,
        })
    }
}

/// The farthest a frame may be from its moment and still evidence it: two snapshot
/// periods, and at least two seconds.
pub(crate) fn max_gap(snapshot_poll_ms: u64) -> TimeDelta {
    TimeDelta::milliseconds((2 * snapshot_poll_ms as i64).max(2000))
}
