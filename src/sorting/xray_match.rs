//! Which X-ray images belong to which parcel: pure state, explicit times, no I/O.
//!
//! The line task tells the [`XrayMatcher`] when each parcel's leading edge reaches the
//! X-ray tunnel ([`XrayMatcher::entered`]) and asks, for every image the feed reports, whom
//! it belongs to ([`XrayMatcher::image`]), by the image's `produced_at` (its file mtime).
//!
//! **The rule.** An image belongs to the parcel that most recently entered the X-ray at or
//! before the image was produced, if it was produced no later than `window` (default 10 s)
//! after that entry. The machine writes several views per parcel, so one parcel collects
//! several images. Everything else is a [`Match::Orphan`] with its [`OrphanReason`]: kept
//! as evidence, linked to no parcel, and counted.
//!
//! **Its limit.** The rule cannot tell two parcels apart while both are inside the tunnel:
//! once the later one has entered, every image produced after that belongs to it, even a
//! view of the earlier parcel that the machine writes late. The earlier parcel then has
//! fewer views than the machine writes and the later one more; the line task compares
//! [`XrayMatcher::images_for`] with the configured views per parcel and treats both as
//! not cleanly imaged (fail closed) rather than guess. A site whose parcels are spaced
//! more closely than the tunnel is long needs the machine's own parcel number in its file
//! names instead.
//!
//! **Clocks.** `entered` times come from the controller's clock and `produced_at` from the
//! filesystem that holds the machine's files; on a network share that is the machine's
//! clock, and a skew between the two shifts every image against its parcel. Memory is
//! bounded by the *entry* times only (a wild image time cannot flush the parcels): entries
//! older than twice the window before the newest entry are dropped, and at most
//! [`MAX_TRACKED`] are kept.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, SystemTime};

/// Images produced within this long after a parcel entered belong to it, by default.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(10);

/// Most parcels remembered at once, whatever the times say.
pub const MAX_TRACKED: usize = 4096;

/// Whom an image belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// It is a view of this parcel.
    Parcel {
        /// The parcel's record id.
        parcel_id: i64,
        /// How many images the parcel has now, this one included (1 for the first view).
        view: usize,
    },
    /// It belongs to no parcel: keep it as evidence, link it to nothing, count it.
    Orphan {
        /// Why nothing took it.
        reason: OrphanReason,
    },
}

/// Why an image belongs to no parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanReason {
    /// No parcel still remembered entered the X-ray at or before the image was produced.
    NoParcel,
    /// The latest parcel before it entered longer than the window before the image.
    OutsideWindow {
        /// That parcel.
        parcel_id: i64,
        /// How long after its entry the image was produced.
        after: Duration,
    },
    /// It would belong to a parcel whose images were already closed by `forget` (its lane
    /// was decided); the caller may still link it to that parcel as late evidence.
    ParcelClosed {
        /// That parcel.
        parcel_id: i64,
    },
}

impl OrphanReason {
    /// A stable code for counters and storage.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoParcel => "no_parcel",
            Self::OutsideWindow { .. } => "outside_window",
            Self::ParcelClosed { .. } => "parcel_closed",
        }
    }
}

impl fmt::Display for OrphanReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoParcel => f.write_str("no parcel entered the X-ray before the image"),
            Self::OutsideWindow { parcel_id, after } => write!(
                f,
                "produced {after:?} after parcel {parcel_id} entered the X-ray, outside the window"
            ),
            Self::ParcelClosed { parcel_id } => {
                write!(f, "parcel {parcel_id} was already decided")
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    parcel_id: i64,
    at: SystemTime,
    images: usize,
    /// Forgotten by the caller; kept until pruned so it still bounds its predecessor.
    closed: bool,
}

/// Matches X-ray images to the parcels that entered the tunnel before them.
#[derive(Debug, Clone)]
pub struct XrayMatcher {
    window: Duration,
    /// Sorted by entry time; among equal times, in the order they were told.
    entries: VecDeque<Entry>,
    newest_entry: Option<SystemTime>,
    orphans: u64,
}

impl Default for XrayMatcher {
    fn default() -> Self {
        Self::new(DEFAULT_WINDOW)
    }
}

impl XrayMatcher {
    /// A matcher whose images belong to a parcel up to `window` after its entry.
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            entries: VecDeque::new(),
            newest_entry: None,
            orphans: 0,
        }
    }

    /// How long after a parcel's entry its images may come.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The parcel `parcel_id` reached the X-ray tunnel at `at`. Told again, the later
    /// entry replaces the earlier one.
    pub fn entered(&mut self, parcel_id: i64, at: SystemTime) {
        self.entries.retain(|e| e.parcel_id != parcel_id);
        let idx = self.entries.partition_point(|e| e.at <= at);
        self.entries.insert(
            idx,
            Entry {
                parcel_id,
                at,
                images: 0,
                closed: false,
            },
        );
        self.newest_entry = Some(self.newest_entry.map_or(at, |n| n.max(at)));
        self.prune();
    }

    /// Whom the image produced at `produced_at` belongs to; counts it there.
    pub fn image(&mut self, produced_at: SystemTime) -> Match {
        let idx = self.entries.partition_point(|e| e.at <= produced_at);
        let reason = match idx.checked_sub(1).map(|i| &mut self.entries[i]) {
            None => OrphanReason::NoParcel,
            Some(entry) => {
                let after = produced_at
                    .duration_since(entry.at)
                    .unwrap_or(Duration::ZERO);
                if after > self.window {
                    OrphanReason::OutsideWindow {
                        parcel_id: entry.parcel_id,
                        after,
                    }
                } else if entry.closed {
                    OrphanReason::ParcelClosed {
                        parcel_id: entry.parcel_id,
                    }
                } else {
                    entry.images += 1;
                    return Match::Parcel {
                        parcel_id: entry.parcel_id,
                        view: entry.images,
                    };
                }
            }
        };
        self.orphans += 1;
        Match::Orphan { reason }
    }

    /// Images matched to the parcel so far; 0 once it was forgotten or dropped.
    pub fn images_for(&self, parcel_id: i64) -> usize {
        self.entries
            .iter()
            .find(|e| e.parcel_id == parcel_id && !e.closed)
            .map_or(0, |e| e.images)
    }

    /// The parcel is decided: later images that would belong to it become orphans
    /// ([`OrphanReason::ParcelClosed`]) rather than going to the parcel before it.
    pub fn forget(&mut self, parcel_id: i64) {
        if let Some(e) = self.entries.iter_mut().find(|e| e.parcel_id == parcel_id) {
            e.closed = true;
        }
    }

    /// Images that belonged to no parcel, since the start.
    pub fn orphans(&self) -> u64 {
        self.orphans
    }

    /// Parcels remembered now (open or forgotten but not yet dropped).
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }

    /// Drop entries no image can still belong to: older than twice the window before
    /// the newest entry (one window of slack for images reported late).
    fn prune(&mut self) {
        if let Some(cutoff) = self
            .newest_entry
            .and_then(|n| n.checked_sub(self.window.saturating_mul(2)))
        {
            while self.entries.front().is_some_and(|e| e.at < cutoff) {
                self.entries.pop_front();
            }
        }
        while self.entries.len() > MAX_TRACKED {
            self.entries.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000) + Duration::from_millis(ms)
    }

    fn parcel(parcel_id: i64, view: usize) -> Match {
        Match::Parcel { parcel_id, view }
    }

    #[test]
    fn every_view_produced_after_a_parcel_entered_belongs_to_it() {
        let mut m = XrayMatcher::default();
        m.entered(1, t(0));
        assert_eq!(m.image(t(1_500)), parcel(1, 1));
        assert_eq!(m.image(t(1_520)), parcel(1, 2));
        assert_eq!(m.images_for(1), 2);
        assert_eq!(m.orphans(), 0);
    }

    #[test]
    fn an_image_belongs_to_the_parcel_that_entered_last_before_it() {
        let mut m = XrayMatcher::default();
        m.entered(1, t(0));
        m.entered(2, t(3_000));
        assert_eq!(m.image(t(2_000)), parcel(1, 1));
        assert_eq!(m.image(t(4_000)), parcel(2, 1));
        assert_eq!((m.images_for(1), m.images_for(2)), (1, 1));
    }

    #[test]
    fn an_image_produced_at_the_instant_of_entry_belongs_to_that_parcel() {
        let mut m = XrayMatcher::default();
        m.entered(1, t(0));
        m.entered(2, t(1_000));
        assert_eq!(m.image(t(1_000)), parcel(2, 1));
    }

    #[test]
    fn the_window_includes_its_end_and_nothing_after() {
        let mut m = XrayMatcher::new(Duration::from_secs(10));
        m.entered(7, t(0));
        assert_eq!(m.image(t(10_000)), parcel(7, 1));
        let late = m.image(t(10_001));
        assert_eq!(
            late,
            Match::Orphan {
                reason: OrphanReason::OutsideWindow {
                    parcel_id: 7,
                    after: Duration::from_millis(10_001)
                }
            }
        );
        assert_eq!(m.orphans(), 1);
        assert_eq!(
            m.images_for(7),
            1,
            "the orphan is not counted for the parcel"
        );
    }

    #[test]
    fn an_image_produced_before_any_parcel_entered_is_an_orphan() {
        let mut m = XrayMatcher::default();
        assert_eq!(
            m.image(t(0)),
            Match::Orphan {
                reason: OrphanReason::NoParcel
            }
        );
        m.entered(1, t(5_000));
        assert!(matches!(m.image(t(4_999)), Match::Orphan { .. }));
        assert_eq!(m.orphans(), 2);
    }

    #[test]
    fn with_two_parcels_in_the_tunnel_the_later_entry_takes_the_later_images() {
        // The documented limit: parcel 1's second view, written after parcel 2 entered,
        // is counted for parcel 2. The line task sees 1 view short and 2 over.
        let mut m = XrayMatcher::default();
        m.entered(1, t(0));
        m.entered(2, t(800));
        assert_eq!(m.image(t(700)), parcel(1, 1));
        assert_eq!(m.image(t(900)), parcel(2, 1));
        assert_eq!(m.image(t(1_700)), parcel(2, 2));
        assert_eq!(m.image(t(1_750)), parcel(2, 3));
        assert_eq!((m.images_for(1), m.images_for(2)), (1, 3));
    }

    #[test]
    fn a_decided_parcel_does_not_hand_its_late_images_to_the_parcel_before_it() {
        let mut m = XrayMatcher::default();
        m.entered(1, t(0));
        m.entered(2, t(2_000));
        m.forget(2);
        assert_eq!(m.images_for(2), 0);
        assert_eq!(
            m.image(t(2_500)),
            Match::Orphan {
                reason: OrphanReason::ParcelClosed { parcel_id: 2 }
            }
        );
        assert_eq!(m.images_for(1), 0);
        assert_eq!(m.image(t(1_000)), parcel(1, 1), "parcel 1 is still open");
    }

    #[test]
    fn parcels_told_out_of_order_are_matched_in_time_order() {
        let mut m = XrayMatcher::default();
        m.entered(2, t(2_000));
        m.entered(1, t(1_000));
        assert_eq!(m.image(t(1_500)), parcel(1, 1));
        assert_eq!(m.image(t(2_500)), parcel(2, 1));
    }

    #[test]
    fn a_parcel_told_twice_keeps_only_its_later_entry() {
        let mut m = XrayMatcher::default();
        m.entered(1, t(0));
        m.entered(1, t(5_000));
        assert!(matches!(m.image(t(1_000)), Match::Orphan { .. }));
        assert_eq!(m.image(t(5_500)), parcel(1, 1));
        assert_eq!(m.tracked(), 1);
    }

    #[test]
    fn memory_stays_bounded_by_the_window() {
        let mut m = XrayMatcher::new(Duration::from_secs(10));
        for i in 0..100_000u64 {
            m.entered(i as i64, t(i * 50));
        }
        // 20 s of parcels 50 ms apart, and the newest one.
        assert!(m.tracked() <= 401, "{}", m.tracked());
        assert_eq!(m.image(t(99_999 * 50 + 10)), parcel(99_999, 1));
    }

    #[test]
    fn a_wild_image_time_does_not_flush_the_parcels() {
        let mut m = XrayMatcher::default();
        m.entered(1, t(0));
        let year_later = t(365 * 24 * 3_600 * 1_000);
        assert!(matches!(m.image(year_later), Match::Orphan { .. }));
        assert_eq!(m.image(t(100)), parcel(1, 1));
    }

    #[test]
    fn orphan_reasons_have_codes_and_readable_text() {
        let r = OrphanReason::OutsideWindow {
            parcel_id: 3,
            after: Duration::from_secs(12),
        };
        assert_eq!(r.code(), "outside_window");
        assert!(r.to_string().contains("parcel 3"));
    }
}
