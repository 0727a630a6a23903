//! A line's belt as the consoles see it: what the PLC last said, and every parcel between
//! the photo-eye and its lane with how long an officer still has to judge it.
//!
//! The line task publishes a [`BeltView`] on a `watch` channel at most every
//! [`PUBLISH_EVERY`]; the line monitor draws it and the judging page counts down from it.

use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::watch;

use super::line::PlcSample;
use super::tracker::{Geometry, Tracker};

/// How often a line republishes its belt (positions change on every poll).
pub const PUBLISH_EVERY: Duration = Duration::from_millis(100);

/// One line's belt, live.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BeltView {
    /// Line id.
    pub line_id: String,
    /// Whether the last PLC poll succeeded.
    pub link_up: bool,
    /// Whether the belt runs.
    pub running: bool,
    /// An emergency stop is pressed.
    pub estop: bool,
    /// Belt speed, mm/s.
    pub speed_mm_s: u16,
    /// The PLC's fault, in its own words (e.g. `DiverterJam`), if any.
    pub fault: Option<String>,
    /// The X-ray machine runs.
    pub xray_running: bool,
    /// Where the scanners read, mm from the photo-eye.
    pub scanner_at_mm: f64,
    /// Where the X-ray tunnel begins and ends, when the line has one.
    pub xray_at_mm: Option<f64>,
    /// Where the X-ray tunnel ends.
    pub xray_exit_at_mm: Option<f64>,
    /// Where the diverter acts.
    pub diverter_at_mm: f64,
    /// Parcels on the belt, oldest (furthest along) first.
    pub parcels: Vec<OnBelt>,
}

/// One parcel on the belt.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OnBelt {
    /// Store record id.
    pub parcel_id: i64,
    /// PLC tracking number.
    pub tracking_no: u16,
    /// Front of the parcel, mm past the photo-eye.
    pub position_mm: f64,
    /// Lane decided, once decided.
    pub lane: Option<u16>,
    /// The waybill its scans agree on so far (the store has it only once decided).
    pub code: Option<String>,
    /// X-ray views matched so far.
    pub xray_views: u32,
    /// The line lost sight of it: it can only go to the exception lane.
    pub tracking_lost: bool,
    /// Milliseconds until its decision is due (a flag must be in before then); `None`
    /// once decided, when the belt stands still, or when tracking is lost.
    pub deadline_in_ms: Option<u64>,
}

/// Publishes one line's [`BeltView`], at most every [`PUBLISH_EVERY`].
#[derive(Debug, Clone)]
pub(crate) struct BeltPublisher {
    tx: watch::Sender<BeltView>,
    last: Option<Instant>,
}

impl BeltPublisher {
    /// A publisher for `line_id` with the line's fixed geometry.
    pub(crate) fn new(line_id: &str, g: &Geometry) -> Self {
        let view = BeltView {
            line_id: line_id.to_owned(),
            scanner_at_mm: g.scanner_at_mm,
            xray_at_mm: g.xray_at_mm,
            xray_exit_at_mm: g.xray_exit_at_mm,
            diverter_at_mm: g.diverter_at_mm,
            ..BeltView::default()
        };
        Self {
            tx: watch::channel(view).0,
            last: None,
        }
    }

    /// A receiver of the belt as it changes.
    pub(crate) fn subscribe(&self) -> watch::Receiver<BeltView> {
        self.tx.subscribe()
    }

    /// Publish the belt as it is now, unless it was published less than
    /// [`PUBLISH_EVERY`] ago and `force` is false.
    pub(crate) fn publish(&mut self, tracker: &Tracker, sample: &PlcSample, force: bool) {
        let now = Instant::now();
        if !force && self.last.is_some_and(|t| now - t < PUBLISH_EVERY) {
            return;
        }
        self.last = Some(now);
        let parcels = tracker.on_belt();
        self.tx.send_if_modified(|view| {
            let status = sample.status.as_ref();
            let next = BeltView {
                link_up: sample.link_up,
                running: status.is_some_and(|s| s.flags.running),
                estop: status.is_some_and(|s| s.flags.estop),
                speed_mm_s: status.map_or(0, |s| s.belt_speed_mm_s),
                fault: status.and_then(|s| s.fault).map(|f| format!("{f:?}")),
                xray_running: status.is_some_and(|s| s.flags.xray_running),
                parcels,
                ..view.clone()
            };
            let changed = next != *view;
            *view = next;
            changed
        });
    }
}
