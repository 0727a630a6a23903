//! X-ray views: the feed reports each image file, the matcher says whose it is, the line
//! records the view as a reading of that parcel (so the decision can count it) and hands
//! the file to the evidence worker, which keeps a content-addressed copy (thumbnail on request)
//! and links it to the parcel off the decision path.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use customs_edge_devices::xray::{XrayEvent, XrayImage};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::Line;
use crate::evidence::{EvidenceKind, EvidenceStore};
use crate::health::State;
use crate::sorting::xray_match::Match;
use crate::store::evidence_rows::{self, Origin, RECORD_PARCEL};
use crate::store::{Store, StoreError, parcels};

/// A file for the evidence worker.
#[derive(Debug)]
pub(super) struct EvidenceJob {
    image: XrayImage,
    parcel_id: Option<i64>,
    /// `late_view` when the parcel was already decided.
    role: Option<&'static str>,
}

impl Line {
    /// Ask the cameras watching `point` for their frame of parcel `id` at the moment that
    /// was `ago` before now (never waits: the video worker keeps the frames off this task).
    pub(super) fn moment(&self, id: i64, point: crate::video::Point, ago: Duration) {
        if let Some(video) = &self.video {
            video.moment(crate::video::Moment {
                record_kind: crate::store::evidence_rows::RECORD_PARCEL,
                record_id: id,
                point,
                at: chrono::Utc::now() - chrono::TimeDelta::from_std(ago).unwrap_or_default(),
            });
        }
    }

    /// A parcel's front reached the X-ray tunnel.
    pub(super) async fn parcel_entered_xray(
        &mut self,
        id: i64,
        ago: Duration,
    ) -> Result<(), StoreError> {
        let now = SystemTime::now();
        let when = now.checked_sub(ago).unwrap_or(now);
        let at = crate::store::timestamp(when.into());
        if let Some(x) = self.xray.as_mut() {
            x.matcher.entered(id, when);
        }
        self.record(move |tx| parcels::record_xray_entered(tx, id, &at))
            .await
    }

    pub(super) async fn on_xray(&mut self, event: XrayEvent) -> Result<(), StoreError> {
        let source = format!("line:{}:xray", self.id());
        let image = match event {
            XrayEvent::Watching { dir, by_events } => {
                let how = if by_events { "file events" } else { "polling" };
                self.health.set(
                    &source,
                    State::Ok,
                    format!("watching {} by {how}", dir.display()),
                );
                return Ok(());
            }
            XrayEvent::Error { reason } => {
                warn!(line = %self.id(), %reason, "X-ray feed problem");
                self.health.set(&source, State::Down, reason);
                return Ok(());
            }
            XrayEvent::Image(image) => image,
        };
        let Some(matched) = self
            .xray
            .as_mut()
            .map(|x| x.matcher.image(image.produced_at))
        else {
            return Ok(());
        };
        let (parcel_id, role) = match matched {
            Match::Parcel { parcel_id, view } => {
                let on_belt = self.tracker.add_xray_image(parcel_id);
                debug!(line = %self.id(), parcel = parcel_id, view, path = %image.path.display(), on_belt, "X-ray view");
                let path = image.path.display().to_string();
                let at = crate::store::timestamp(image.produced_at.into());
                self.record(move |tx| parcels::record_xray_view(tx, parcel_id, &path, &at))
                    .await?;
                (
                    Some(parcel_id),
                    (!on_belt || self.tracker.is_decided(parcel_id)).then_some("late_view"),
                )
            }
            Match::Orphan { reason } => {
                warn!(line = %self.id(), path = %image.path.display(), %reason, "X-ray image belongs to no parcel; kept unlinked");
                (None, None)
            }
        };
        let job = EvidenceJob {
            image,
            parcel_id,
            role,
        };
        let queued = self
            .xray
            .as_ref()
            .is_some_and(|x| x.evidence.try_send(job).is_ok());
        if !queued {
            warn!(line = %self.id(), "evidence worker behind or gone; the X-ray file stays in the machine's directory");
        }
        Ok(())
    }
}

/// The X-ray side of a line.
pub(super) struct LineXray {
    pub(super) matcher: crate::sorting::xray_match::XrayMatcher,
    pub(super) evidence: mpsc::Sender<EvidenceJob>,
}

/// Keep each file as evidence and link it, one at a time, until `shutdown`.
pub(super) async fn evidence_worker(
    line_id: String,
    mut jobs: mpsc::Receiver<EvidenceJob>,
    store: Store,
    files: EvidenceStore,
    shutdown: CancellationToken,
) {
    loop {
        let job = tokio::select! {
            () = shutdown.cancelled() => return,
            job = jobs.recv() => match job { Some(job) => job, None => return },
        };
        let path: PathBuf = job.image.path.clone();
        let files = files.clone();
        let kept =
            match tokio::task::spawn_blocking(move || files.keep(&path, EvidenceKind::XrayView))
                .await
            {
                Ok(Ok(kept)) => kept,
                Ok(Err(e)) => {
                    warn!(line = %line_id, error = %e, "X-ray view could not be kept as evidence");
                    continue;
                }
                Err(e) => {
                    warn!(line = %line_id, error = %e, "evidence task failed");
                    continue;
                }
            };
        if let Some(error) = &kept.decode_error {
            warn!(line = %line_id, %error, "X-ray view kept, but it does not decode");
        }
        let name = job
            .image
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        let produced = crate::store::timestamp(job.image.produced_at.into());
        // Queued, not awaited: it commits with the line's next awaited write (one commit
        // instead of one per view); its outcome is looked at without holding up the next.
        let queued = store
            .writer
            .submit(move |tx| {
                let origin = Origin {
                    source_name: name.as_deref(),
                    produced_at: Some(&produced),
                };
                let id = evidence_rows::insert(tx, &kept, origin, &crate::store::now())?;
                if let Some(parcel) = job.parcel_id {
                    evidence_rows::link(tx, id, RECORD_PARCEL, parcel, job.role)?;
                }
                Ok(())
            })
            .await;
        let line_id = line_id.clone();
        tokio::spawn(async move {
            let written = match queued {
                Ok(q) => q.committed().await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                warn!(line = %line_id, error = %e, "X-ray evidence not recorded");
            }
        });
    }
}
