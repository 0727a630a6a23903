//! Where each parcel is on the belt, and what has been measured of it.
//!
//! Pure state: the line task feeds it PLC entries and weighings, belt speed and elapsed
//! time, scanner messages and X-ray images. Positions are integrated from the belt speed the
//! PLC reports, so a stopped belt stops every parcel too. A scan belongs to the undecided
//! parcel nearest the scanner within the window; a weighing names its tracking number. When
//! the line loses sight of the belt (PLC link down, heartbeat frozen) every parcel on it is
//! marked `tracking_lost`: it takes no more scans and can only go to the exception lane.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use customs_edge_devices::line_plc::WeightRecord;

use super::decision::Read;

/// One message from one scanner about a parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanRead {
    /// The code read off the label.
    Code(String),
    /// The scanner saw the parcel but could not read it.
    NoRead,
}

/// A parcel on the belt.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Store record id.
    pub id: i64,
    /// PLC tracking number.
    pub tracking_no: u16,
    /// Distance of its front from the entry photo-eye, in mm.
    pub position_mm: f64,
    /// Scanner reads so far: (scanner, read).
    pub reads: Vec<(String, ScanRead)>,
    /// The scale's weighing, if one came.
    pub weight: Option<WeightRecord>,
    /// X-ray views matched so far.
    pub xray_images: u32,
    /// Lane number once decided.
    pub lane: Option<u16>,
    /// The line lost sight of it.
    pub tracking_lost: bool,
    /// Belt time (see [`Tracker::clock`]) at which it reached the diverter.
    pub at_diverter: Option<Duration>,
}

impl Tracked {
    /// Merge the reads of all scanners into one verdict.
    pub fn merged_read(&self) -> Read {
        let mut codes: Vec<&str> = self
            .reads
            .iter()
            .filter_map(|(_, r)| match r {
                ScanRead::Code(c) => Some(c.as_str()),
                ScanRead::NoRead => None,
            })
            .collect();
        codes.sort_unstable();
        codes.dedup();
        match codes.as_slice() {
            [] if self.reads.is_empty() => Read::Nothing,
            [] => Read::NoRead,
            [one] => Read::Code((*one).to_owned()),
            many => Read::Conflict(many.iter().map(|c| (*c).to_owned()).collect()),
        }
    }

    fn scanners_reported(&self) -> usize {
        let mut names: Vec<&str> = self.reads.iter().map(|(s, _)| s.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.len()
    }
}

/// Positions and timing the tracker needs.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Where the dynamic scale weighs, if the line has one.
    pub scale_at_mm: Option<f64>,
    /// Where the scanners read.
    pub scanner_at_mm: f64,
    /// Where the X-ray tunnel begins, if the line has an X-ray feed.
    pub xray_at_mm: Option<f64>,
    /// Where the X-ray tunnel ends.
    pub xray_exit_at_mm: Option<f64>,
    /// Where the diverter acts.
    pub diverter_at_mm: f64,
    /// Half-width of the window in which a scan or weighing may belong to a parcel.
    pub window_mm: f64,
    /// Scanners on the line.
    pub scanners: usize,
    /// X-ray views per parcel (0 without X-ray).
    pub xray_views: u32,
    /// How long before the diverter the command must be in the PLC.
    pub lead: Duration,
}

/// What moving the belt made happen.
#[derive(Debug, Default, PartialEq)]
pub struct Moved {
    /// Parcels whose front passed the X-ray entrance, and how long ago (interpolated
    /// within the step, so the time does not depend on when the poll came).
    pub entered_xray: Vec<(i64, Duration)>,
    /// Parcels whose front passed the X-ray exit, and how long ago.
    pub exited_xray: Vec<(i64, Duration)>,
}

/// All parcels between the photo-eye and their lane, oldest first.
#[derive(Debug)]
pub struct Tracker {
    geometry: Geometry,
    parcels: VecDeque<Tracked>,
    /// Belt time: the sum of elapsed time fed to `advance` (whether or not the belt moved).
    clock: Duration,
    /// When the belt was last advanced.
    last_advance: Option<Instant>,
    speed_mm_s: u16,
}

impl Tracker {
    /// An empty belt.
    pub fn new(geometry: Geometry) -> Self {
        Self {
            geometry,
            parcels: VecDeque::new(),
            clock: Duration::ZERO,
            last_advance: None,
            speed_mm_s: 0,
        }
    }

    /// A parcel passed the photo-eye and is now `position_mm` past it (the PLC stamps the
    /// entry, so a poll that came late does not put it behind); `tracking_lost` when it
    /// entered while the line could not see the belt (its real position is unknown).
    pub fn enter(&mut self, id: i64, tracking_no: u16, tracking_lost: bool, position_mm: f64) {
        self.parcels.push_back(Tracked {
            id,
            tracking_no,
            position_mm,
            reads: Vec::new(),
            weight: None,
            xray_images: 0,
            lane: None,
            tracking_lost,
            at_diverter: None,
        });
    }

    /// Move every parcel to where it is at `now`, at `speed_mm_s` since the last advance.
    pub fn advance(&mut self, now: Instant, speed_mm_s: u16) -> Moved {
        let elapsed = self
            .last_advance
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.last_advance = Some(now);
        self.clock += elapsed;
        self.speed_mm_s = speed_mm_s;
        let d = elapsed.as_secs_f64() * f64::from(speed_mm_s);
        let g = self.geometry;
        let mut moved = Moved::default();
        for p in &mut self.parcels {
            let before = p.position_mm;
            p.position_mm += d;
            // How long ago the front crossed `x` during this step, if it did.
            let crossed = |x: Option<f64>| {
                x.filter(|&x| before < x && p.position_mm >= x)
                    .map(|x| Duration::from_secs_f64((p.position_mm - x) / f64::from(speed_mm_s)))
            };
            if let Some(ago) = crossed(g.xray_at_mm) {
                moved.entered_xray.push((p.id, ago));
            }
            if let Some(ago) = crossed(g.xray_exit_at_mm) {
                moved.exited_xray.push((p.id, ago));
            }
            if p.at_diverter.is_none() && p.position_mm >= g.diverter_at_mm {
                p.at_diverter = Some(self.clock);
            }
        }
        moved
    }

    /// Every parcel on the belt loses its tracking (the line could not see the belt).
    pub fn lose_tracking(&mut self) -> Vec<i64> {
        self.parcels
            .iter_mut()
            .filter(|p| !p.tracking_lost && p.lane.is_none())
            .map(|p| {
                p.tracking_lost = true;
                p.id
            })
            .collect()
    }

    /// Give a scan to its parcel; returns the parcel's id.
    ///
    /// Parcels pass a scanner in the order they entered, and a scanner sends one message
    /// per parcel (its code or the no-read string), so a message belongs to the **oldest**
    /// undecided parcel this scanner has not reported yet that is within the window of the
    /// scanner. Order, not the nearest estimate, decides: a position estimate that lags by
    /// part of a pitch then still finds the right parcel. A scanner repeating its last
    /// message while that parcel is still under it (a double read) adds to that parcel.
    /// Positions are taken to the moment `at` the message came (the belt is only known at
    /// each poll), so a message handled late, or between two polls, still finds its parcel.
    pub fn assign_scan(&mut self, scanner: &str, read: ScanRead, at: Instant) -> Option<i64> {
        let g = self.geometry;
        let since_poll = match self.last_advance {
            Some(t) if at >= t => (at - t).as_secs_f64(),
            Some(t) => -(t - at).as_secs_f64(),
            None => 0.0,
        };
        let back = -since_poll * f64::from(self.speed_mm_s);
        let at_scanner = |p: &Tracked| {
            p.lane.is_none()
                && !p.tracking_lost
                && (p.position_mm - back - g.scanner_at_mm).abs() <= g.window_mm
        };
        let reported = |p: &Tracked| p.reads.iter().any(|(s, _)| s == scanner);
        let last = self.parcels.iter().rposition(reported);
        if let Some(i) = last {
            let p = &self.parcels[i];
            let same = p
                .reads
                .iter()
                .rev()
                .find(|(s, _)| s == scanner)
                .is_some_and(|(_, r)| *r == read);
            if same && at_scanner(p) {
                let p = &mut self.parcels[i];
                p.reads.push((scanner.to_owned(), read));
                return Some(p.id);
            }
        }
        let parcel = self
            .parcels
            .iter_mut()
            .find(|p| at_scanner(p) && !reported(p))?;
        parcel.reads.push((scanner.to_owned(), read));
        Some(parcel.id)
    }

    /// Give a weighing to the parcel with its tracking number; returns its id.
    pub fn assign_weight(&mut self, weight: WeightRecord) -> Option<i64> {
        let parcel = self
            .parcels
            .iter_mut()
            .find(|p| p.tracking_no == weight.tracking_no && p.lane.is_none())?;
        parcel.weight = Some(weight);
        Some(parcel.id)
    }

    /// Count an X-ray view for a parcel still on the belt; false when it is gone.
    pub fn add_xray_image(&mut self, id: i64) -> bool {
        self.parcels
            .iter_mut()
            .find(|p| p.id == id)
            .map(|p| p.xray_images += 1)
            .is_some()
    }

    fn inputs_complete(&self, p: &Tracked) -> bool {
        let g = self.geometry;
        let past = |station: f64| p.position_mm >= station + g.window_mm;
        let scans = p.scanners_reported() >= g.scanners || past(g.scanner_at_mm);
        let weight = g.scale_at_mm.is_none_or(|s| p.weight.is_some() || past(s));
        let xray = g.xray_views == 0 || p.xray_images >= g.xray_views;
        scans && weight && xray
    }

    fn at_deadline(&self, p: &Tracked) -> bool {
        let g = self.geometry;
        let lead_mm = g.lead.as_secs_f64() * f64::from(self.speed_mm_s);
        // A stopped belt has no deadline; a parcel already past the scanners' window waits
        // for nothing more from them.
        self.speed_mm_s > 0 && p.position_mm >= g.diverter_at_mm - lead_mm
    }

    /// Undecided parcels whose decision is due: at the deadline always, and also as soon as
    /// every input is in when `when_complete`. A parcel whose tracking is lost is due at
    /// once: nothing it could still get would be trusted.
    pub fn due(&self, when_complete: bool) -> Vec<&Tracked> {
        self.parcels
            .iter()
            .filter(|p| p.lane.is_none())
            .filter(|p| {
                p.tracking_lost || self.at_deadline(p) || (when_complete && self.inputs_complete(p))
            })
            .collect()
    }

    /// Note the lane decided for a parcel.
    pub fn set_lane(&mut self, id: i64, lane: u16) {
        if let Some(p) = self.parcels.iter_mut().find(|p| p.id == id) {
            p.lane = Some(lane);
        }
    }

    /// Note a lane commanded again for a decided parcel (a late hold).
    pub fn set_lane_again(&mut self, id: i64, lane: u16) {
        self.set_lane(id, lane);
    }

    /// The parcel with this record id, while it is on the belt.
    pub fn get(&self, id: i64) -> Option<&Tracked> {
        self.parcels.iter().find(|p| p.id == id)
    }

    /// Whether the parcel is on the belt and already decided.
    pub fn is_decided(&self, id: i64) -> bool {
        self.parcels.iter().any(|p| p.id == id && p.lane.is_some())
    }

    /// Take the parcel with this tracking number off the belt (it dropped).
    pub fn remove_tracking(&mut self, tracking_no: u16) -> Option<Tracked> {
        let index = self
            .parcels
            .iter()
            .position(|p| p.tracking_no == tracking_no)?;
        self.parcels.remove(index)
    }

    /// Take off parcels that reached the diverter more than `timeout` of belt time ago with
    /// no drop report.
    pub fn take_unconfirmed(&mut self, timeout: Duration) -> Vec<Tracked> {
        let now = self.clock;
        let (overdue, keep): (Vec<_>, Vec<_>) = self.parcels.drain(..).partition(|p| {
            p.at_diverter
                .is_some_and(|t| now.checked_sub(t).unwrap() > timeout)
        });
        self.parcels = keep.into();
        overdue
    }

    /// Parcels on the belt.
    pub fn len(&self) -> usize {
        self.parcels.len()
    }

    /// Whether the belt is empty.
    pub fn is_empty(&self) -> bool {
        self.parcels.is_empty()
    }

    /// The parcels on the belt with the time left until each one's decision.
    pub fn on_belt(&self) -> Vec<super::belt::OnBelt> {
        let g = self.geometry;
        let speed = f64::from(self.speed_mm_s);
        let deadline_mm = g.diverter_at_mm - g.lead.as_secs_f64() * speed;
        self.parcels
            .iter()
            .map(|p| super::belt::OnBelt {
                parcel_id: p.id,
                tracking_no: p.tracking_no,
                position_mm: p.position_mm,
                lane: p.lane,
                code: p.merged_read().code().map(str::to_owned),
                xray_views: p.xray_images,
                tracking_lost: p.tracking_lost,
                deadline_in_ms: (p.lane.is_none() && !p.tracking_lost && speed > 0.0)
                    .then(|| ((deadline_mm - p.position_mm).max(0.0) / speed * 1000.0) as u64),
            })
            .collect()
    }
}

#[cfg(test)]
impl Tracker {
    /// Advance by `elapsed` from the last advance (tests drive time by hand).
    fn advance_by(&mut self, elapsed: Duration, speed_mm_s: u16) -> Moved {
        let now = self.last_advance.unwrap_or_else(Instant::now) + elapsed;
        if self.last_advance.is_none() {
            self.last_advance = now.checked_sub(elapsed);
        }
        self.advance(now, speed_mm_s)
    }

    /// The time of the last advance (tests stamp messages with it).
    fn now(&self) -> Instant {
        self.last_advance.unwrap_or_else(Instant::now)
    }
}

#[cfg(test)]
#[path = "tracker_tests.rs"]
mod tests;
