//! One parcel's ground truth as the line keeps it, and its row in the report.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{LineConfig, ScannerId};
use crate::parcel::NewParcel;
use crate::report::{ParcelReport, ParcelState, ScanRecord, XrayImageRecord};

/// What happened to one parcel so far, in sim time.
#[derive(Debug, Clone)]
pub(super) struct Parcel {
    pub(super) id: u64,
    pub(super) spec: NewParcel,
    pub(super) injected_at: Duration,
    pub(super) tracking_no: Option<u16>,
    /// When it passed the photo-eye, and the belt odometer (µm) at that moment.
    pub(super) entered: Option<(Duration, u64)>,
    /// (time, weight pushed in g, stable).
    pub(super) weighed: Option<(Duration, u16, bool)>,
    /// Every frame sent: (scanner, code or no-read, time).
    pub(super) scans: Vec<(ScannerId, Option<String>, Duration)>,
    /// When its leading edge entered the X-ray tunnel.
    pub(super) xray_entered: Option<Duration>,
    /// Images written: (view, file name, time).
    pub(super) images: Vec<(u8, String, Duration)>,
    pub(super) first_command_at: Option<Duration>,
    /// Last accepted command: (lane, arrival time).
    pub(super) command: Option<(u16, Duration)>,
    /// Lane of the first accepted command.
    pub(super) first_lane: Option<u16>,
    /// Accepted commands that changed the lane after the first.
    pub(super) lane_changes: u32,
    /// (lane, time) once it dropped.
    pub(super) dropped: Option<(u16, Duration)>,
    pub(super) defaulted: bool,
    /// The bag (its seq) it fell into in the release lane.
    pub(super) bag: Option<u64>,
    /// Taken back out of its bag (an interception's retrieval).
    pub(super) retrieved: bool,
}

fn ms_between(from: Duration, to: Duration) -> f64 {
    let micros = to.as_micros() as f64 - from.as_micros() as f64;
    micros / 1000.0
}

impl Parcel {
    pub(super) fn new(id: u64, spec: NewParcel, now: Duration) -> Self {
        Self {
            id,
            spec,
            injected_at: now,
            tracking_no: None,
            entered: None,
            weighed: None,
            scans: Vec::new(),
            xray_entered: None,
            images: Vec::new(),
            first_command_at: None,
            command: None,
            first_lane: None,
            lane_changes: 0,
            dropped: None,
            defaulted: false,
            bag: None,
            retrieved: false,
        }
    }

    /// The frames each scanner sends for this parcel, per its label and scan options.
    pub(super) fn frames(&self) -> [(ScannerId, Vec<Option<String>>); 2] {
        let s = &self.spec;
        let label = if s.no_read { None } else { s.code.clone() };
        let top_times = if s.double_read { 2 } else { 1 };
        let top = vec![label.clone(); top_times];
        let side = if s.no_read || s.side_no_read {
            None
        } else {
            s.conflict.clone().or(label)
        };
        [(ScannerId::Top, top), (ScannerId::Side, vec![side])]
    }

    /// The latest input the controller needed: last scan, the weighing, last X-ray image.
    pub(super) fn last_input(&self) -> Option<Duration> {
        let scans = self.scans.iter().map(|s| s.2);
        let weighed = self.weighed.map(|w| w.0);
        let images = self.images.iter().map(|i| i.2);
        scans.chain(weighed).chain(images).max()
    }

    /// First command's arrival − last input, in ms.
    pub(super) fn latency_ms(&self) -> Option<f64> {
        Some(ms_between(self.last_input()?, self.first_command_at?))
    }

    /// Last accepted command's arrival to the drop, in ms.
    pub(super) fn slack_ms(&self) -> Option<f64> {
        let (_, dropped_at) = self.dropped?;
        let (_, command_at) = self.command?;
        Some(ms_between(command_at, dropped_at))
    }

    /// The lane it should end in, if the scenario said.
    pub(super) fn expected_lane(&self, config: &LineConfig) -> Option<u16> {
        self.spec.expect.map(|kind| config.lane_of(kind))
    }

    /// Dropped into a lane other than the expected one.
    pub(super) fn wrong_lane(&self, config: &LineConfig) -> bool {
        match (self.dropped, self.expected_lane(config)) {
            (Some((lane, _)), Some(expected)) => lane != expected,
            _ => false,
        }
    }

    pub(super) fn state(&self) -> ParcelState {
        match (self.entered, self.dropped) {
            (_, Some(_)) => ParcelState::Dropped,
            (Some(_), None) => ParcelState::OnBelt,
            (None, None) => ParcelState::Waiting,
        }
    }

    pub(super) fn to_report(
        &self,
        line: &str,
        config: &LineConfig,
        wall: impl Fn(Duration) -> DateTime<Utc>,
    ) -> ParcelReport {
        let s = &self.spec;
        let round = |ms: f64| crate::report::round_us(ms);
        ParcelReport {
            id: self.id,
            line: line.to_owned(),
            code: s.code.clone(),
            conflict: s.conflict.clone(),
            no_read: s.no_read,
            side_no_read: s.side_no_read,
            double_read: s.double_read,
            dense_object: s.dense_object,
            length_mm: s.length_mm,
            weight_kg: s.weight_kg,
            state: self.state(),
            tracking_no: self.tracking_no,
            injected_at: wall(self.injected_at),
            entered_at: self.entered.map(|e| wall(e.0)),
            weighed_at: self.weighed.map(|w| wall(w.0)),
            weighed_g: self.weighed.map(|w| w.1),
            weight_stable: self.weighed.map(|w| w.2),
            scans: self
                .scans
                .iter()
                .map(|(scanner, code, at)| ScanRecord {
                    scanner: *scanner,
                    code: code.clone(),
                    at: wall(*at),
                })
                .collect(),
            scanned_at: self.scans.iter().map(|s| s.2).max().map(&wall),
            xray_entered_at: self.xray_entered.map(&wall),
            xray_images: self
                .images
                .iter()
                .map(|(view, file, at)| XrayImageRecord {
                    view: *view,
                    file: file.clone(),
                    written_at: wall(*at),
                })
                .collect(),
            first_command_at: self.first_command_at.map(&wall),
            first_commanded_lane: self.first_lane,
            lane_changes: self.lane_changes,
            commanded_lane: self.command.map(|c| c.0),
            command_at: self.command.map(|c| wall(c.1)),
            lane: self.dropped.map(|d| d.0),
            dropped_at: self.dropped.map(|d| wall(d.1)),
            defaulted: self.defaulted,
            bag_seq: self.bag,
            retrieved: self.retrieved,
            slack_ms: self.slack_ms().map(round),
            last_input_at: self.last_input().map(&wall),
            latency_ms: self.latency_ms().map(round),
            expected: s.expect,
            expected_lane: self.expected_lane(config),
            wrong_lane: self.wrong_lane(config),
        }
    }
}
