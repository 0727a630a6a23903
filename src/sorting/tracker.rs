//! Where each parcel is on the belt, and which scans belong to it.
//!
//! Pure state: the line task feeds it PLC entries, belt speed and elapsed time, and scanner
//! messages. Positions are integrated from the belt speed the PLC reports, so a stopped belt
//! stops every parcel too. A scan belongs to the undecided parcel nearest the scanner,
//! within the configured window; a scan no parcel can own is reported as unassigned.

use std::collections::VecDeque;
use std::time::Duration;

use super::decision::Read;

/// One message from one scanner about a parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanRead {
    /// A code.
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
    /// Scanner reads so far.
    pub reads: Vec<ScanRead>,
    /// Lane number once decided.
    pub lane: Option<u16>,
}

impl Tracked {
    /// Merge the reads of all scanners into one verdict.
    pub fn merged_read(&self) -> Read {
        let mut codes: Vec<&str> = self
            .reads
            .iter()
            .filter_map(|r| match r {
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
}

/// Positions along the belt that the tracker needs.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// Where the scanners read.
    pub scanner_at_mm: f64,
    /// Where the diverter acts.
    pub diverter_at_mm: f64,
    /// Half-width of the window in which a scan may belong to a parcel.
    pub scan_window_mm: f64,
}

impl Geometry {
    /// Past this point no more scans can come: the decision is due.
    pub fn decide_at_mm(&self) -> f64 {
        self.scanner_at_mm + self.scan_window_mm
    }

    /// Past this point without a drop report, the parcel's drop is unconfirmed.
    pub fn give_up_at_mm(&self) -> f64 {
        self.diverter_at_mm + 2000.0
    }
}

/// All parcels between the photo-eye and their lane, oldest first.
#[derive(Debug)]
pub struct Tracker {
    geometry: Geometry,
    parcels: VecDeque<Tracked>,
}

impl Tracker {
    /// An empty belt.
    pub fn new(geometry: Geometry) -> Self {
        Self {
            geometry,
            parcels: VecDeque::new(),
        }
    }

    /// A parcel just passed the photo-eye.
    pub fn enter(&mut self, id: i64, tracking_no: u16) {
        self.parcels.push_back(Tracked {
            id,
            tracking_no,
            position_mm: 0.0,
            reads: Vec::new(),
            lane: None,
        });
    }

    /// Move every parcel by `elapsed` at `speed_mm_s`.
    pub fn advance(&mut self, elapsed: Duration, speed_mm_s: u16) {
        let d = elapsed.as_secs_f64() * f64::from(speed_mm_s);
        for p in &mut self.parcels {
            p.position_mm += d;
        }
    }

    /// Give a scan to the undecided parcel nearest the scanner; returns its record id.
    pub fn assign_scan(&mut self, read: ScanRead) -> Option<i64> {
        let g = self.geometry;
        let parcel = self
            .parcels
            .iter_mut()
            .filter(|p| p.lane.is_none())
            .map(|p| ((p.position_mm - g.scanner_at_mm).abs(), p))
            .filter(|(dist, _)| *dist <= g.scan_window_mm)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, p)| p)?;
        parcel.reads.push(read);
        Some(parcel.id)
    }

    /// Undecided parcels past the decision point: (record id, tracking number, merged read).
    pub fn due(&self) -> Vec<(i64, u16, Read)> {
        let at = self.geometry.decide_at_mm();
        self.parcels
            .iter()
            .filter(|p| p.lane.is_none() && p.position_mm >= at)
            .map(|p| (p.id, p.tracking_no, p.merged_read()))
            .collect()
    }

    /// Note the lane decided for a parcel.
    pub fn set_lane(&mut self, id: i64, lane: u16) {
        if let Some(p) = self.parcels.iter_mut().find(|p| p.id == id) {
            p.lane = Some(lane);
        }
    }

    /// Take the parcel with this tracking number off the belt (it dropped).
    pub fn remove_tracking(&mut self, tracking_no: u16) -> Option<Tracked> {
        let index = self
            .parcels
            .iter()
            .position(|p| p.tracking_no == tracking_no)?;
        self.parcels.remove(index)
    }

    /// Take off parcels far past the diverter with no drop report.
    pub fn take_overdue(&mut self) -> Vec<Tracked> {
        let limit = self.geometry.give_up_at_mm();
        let (overdue, keep): (Vec<_>, Vec<_>) =
            self.parcels.drain(..).partition(|p| p.position_mm > limit);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> Tracker {
        Tracker::new(Geometry {
            scanner_at_mm: 600.0,
            diverter_at_mm: 3000.0,
            scan_window_mm: 300.0,
        })
    }

    #[test]
    fn a_scan_goes_to_the_parcel_under_the_scanner() {
        let mut t = tracker();
        t.enter(1, 1);
        t.advance(Duration::from_millis(1400), 500); // parcel 1 at 700 mm
        t.enter(2, 2); // parcel 2 at 0 mm
        assert_eq!(t.assign_scan(ScanRead::Code("A".into())), Some(1));
    }

    #[test]
    fn a_scan_with_no_parcel_nearby_is_unassigned() {
        let mut t = tracker();
        t.enter(1, 1);
        assert_eq!(t.assign_scan(ScanRead::Code("A".into())), None);
    }

    #[test]
    fn a_stopped_belt_keeps_parcels_where_they_are() {
        let mut t = tracker();
        t.enter(1, 1);
        t.advance(Duration::from_secs(60), 0);
        assert!(t.due().is_empty());
        t.advance(Duration::from_secs(2), 500);
        assert_eq!(t.due().len(), 1);
    }

    #[test]
    fn reads_merge_into_one_verdict() {
        let mut t = tracker();
        t.enter(1, 1);
        t.advance(Duration::from_millis(1200), 500);
        t.assign_scan(ScanRead::NoRead);
        t.assign_scan(ScanRead::Code("A".into()));
        t.assign_scan(ScanRead::Code("A".into()));
        t.advance(Duration::from_secs(1), 500);
        assert_eq!(t.due(), vec![(1, 1, Read::Code("A".into()))]);
    }

    #[test]
    fn two_codes_on_one_parcel_are_a_conflict() {
        let mut t = tracker();
        t.enter(1, 1);
        t.advance(Duration::from_millis(1200), 500);
        t.assign_scan(ScanRead::Code("A".into()));
        t.assign_scan(ScanRead::Code("B".into()));
        t.advance(Duration::from_secs(1), 500);
        assert_eq!(t.due()[0].2, Read::Conflict(vec!["A".into(), "B".into()]));
    }

    #[test]
    fn decided_parcels_are_not_due_again_and_leave_on_drop() {
        let mut t = tracker();
        t.enter(7, 3);
        t.advance(Duration::from_secs(2), 500);
        assert_eq!(t.due()[0].2, Read::Nothing);
        t.set_lane(7, 3);
        assert!(t.due().is_empty());
        assert_eq!(t.remove_tracking(3).map(|p| p.id), Some(7));
        assert!(t.is_empty());
    }
}
