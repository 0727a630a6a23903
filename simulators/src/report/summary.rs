//! The report's summary: counts, wrong lanes, misses, latency and slack percentiles.
//!
//! Each line keeps a running [`Tally`] (counts survive the eviction of old parcels from
//! the report); the site merges the tallies of the lines a report covers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Samples kept per line for the percentiles; beyond this (about 14 hours at 20
/// parcels/s) new parcels are counted but no longer sampled.
const MAX_SAMPLES: usize = 1_000_000;

/// Totals over the lines a report covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Parcels injected.
    pub injected: u64,
    /// Parcels that fell into a lane.
    pub dropped: u64,
    /// Parcels injected and not yet dropped.
    pub in_flight: u64,
    /// Of those, the ones still in the feeder.
    pub waiting: u64,
    /// Drops per lane number (every lane of every line is listed).
    pub lane_counts: BTreeMap<u16, u64>,
    /// Dropped parcels that had an expected lane.
    pub expected: u64,
    /// Dropped parcels whose lane differs from the expected one.
    pub wrong_lane: u64,
    /// Parcels with an expected lane that have not dropped (yet).
    pub unfinished_expected: u64,
    /// Dropped parcels that defaulted: no valid command came before the diverter.
    pub missed: u64,
    /// Lane commands accepted for a parcel before the diverter.
    pub accepted_commands: u64,
    /// Lane commands for a parcel already past the diverter.
    pub late_commands: u64,
    /// Accepted commands that changed a parcel's lane after its first command (the
    /// controller commanding it again, e.g. for a hold after its release decision).
    #[serde(default)]
    pub lane_changes: u64,
    /// Lane commands for a tracking number no parcel had.
    pub unknown_commands: u64,
    /// Lane commands refused with a Modbus exception.
    pub rejected_commands: u64,
    /// Command latency over dropped, commanded parcels (see `ParcelReport::latency_ms`).
    pub latency_ms: Stats,
    /// Slack over dropped, commanded parcels (see `ParcelReport::slack_ms`).
    pub slack_ms: Stats,
    /// Faults injected or raised.
    pub faults: u64,
    /// Dropped parcels no longer listed in `parcels` (memory bound); still counted here.
    pub evicted_parcels: u64,
}

/// Order statistics of a set of millisecond samples (`null` when there are none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Samples.
    pub count: u64,
    /// Smallest sample.
    pub min: Option<f64>,
    /// Median.
    pub p50: Option<f64>,
    /// 99th percentile (nearest rank).
    pub p99: Option<f64>,
    /// Largest sample.
    pub max: Option<f64>,
}

impl Stats {
    /// The statistics of `samples` (reordered in place).
    pub fn of(samples: &mut [f32]) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable_by(f32::total_cmp);
        let rank = |p: f64| {
            // Nearest rank: the smallest sample with at least p of them at or below it.
            let n = samples.len();
            let k = ((p * n as f64).ceil() as usize).clamp(1, n);
            round_us(f64::from(samples[k - 1]))
        };
        Self {
            count: samples.len() as u64,
            min: Some(round_us(f64::from(samples[0]))),
            p50: Some(rank(0.50)),
            p99: Some(rank(0.99)),
            max: Some(round_us(f64::from(samples[samples.len() - 1]))),
        }
    }
}

/// Milliseconds rounded to the microsecond.
pub(crate) fn round_us(ms: f64) -> f64 {
    (ms * 1000.0).round() / 1000.0
}

/// A line's running totals (or several lines' merged).
#[derive(Debug, Clone, Default)]
pub(crate) struct Tally {
    pub(crate) injected: u64,
    pub(crate) dropped: u64,
    pub(crate) in_flight: u64,
    pub(crate) waiting: u64,
    pub(crate) lane_counts: BTreeMap<u16, u64>,
    pub(crate) expected: u64,
    pub(crate) wrong_lane: u64,
    pub(crate) unfinished_expected: u64,
    pub(crate) missed: u64,
    pub(crate) accepted: u64,
    pub(crate) late: u64,
    pub(crate) lane_changes: u64,
    pub(crate) unknown: u64,
    pub(crate) rejected: u64,
    pub(crate) faults: u64,
    pub(crate) evicted: u64,
    pub(crate) latency_ms: Vec<f32>,
    pub(crate) slack_ms: Vec<f32>,
}

impl Tally {
    /// Count a sample of latency and/or slack.
    pub(crate) fn sample(&mut self, latency_ms: Option<f64>, slack_ms: Option<f64>) {
        if let Some(ms) = latency_ms
            && self.latency_ms.len() < MAX_SAMPLES
        {
            self.latency_ms.push(ms as f32);
        }
        if let Some(ms) = slack_ms
            && self.slack_ms.len() < MAX_SAMPLES
        {
            self.slack_ms.push(ms as f32);
        }
    }

    /// Add `other` into this one.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.injected += other.injected;
        self.dropped += other.dropped;
        self.in_flight += other.in_flight;
        self.waiting += other.waiting;
        for (lane, n) in &other.lane_counts {
            *self.lane_counts.entry(*lane).or_default() += n;
        }
        self.expected += other.expected;
        self.wrong_lane += other.wrong_lane;
        self.unfinished_expected += other.unfinished_expected;
        self.missed += other.missed;
        self.accepted += other.accepted;
        self.late += other.late;
        self.lane_changes += other.lane_changes;
        self.unknown += other.unknown;
        self.rejected += other.rejected;
        self.faults += other.faults;
        self.evicted += other.evicted;
        self.latency_ms.extend_from_slice(&other.latency_ms);
        self.slack_ms.extend_from_slice(&other.slack_ms);
    }

    /// The summary of these totals.
    pub(crate) fn summary(mut self) -> Summary {
        Summary {
            injected: self.injected,
            dropped: self.dropped,
            in_flight: self.in_flight,
            waiting: self.waiting,
            lane_counts: self.lane_counts,
            expected: self.expected,
            wrong_lane: self.wrong_lane,
            unfinished_expected: self.unfinished_expected,
            missed: self.missed,
            accepted_commands: self.accepted,
            late_commands: self.late,
            lane_changes: self.lane_changes,
            unknown_commands: self.unknown,
            rejected_commands: self.rejected,
            latency_ms: Stats::of(&mut self.latency_ms),
            slack_ms: Stats::of(&mut self.slack_ms),
            faults: self.faults,
            evicted_parcels: self.evicted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples: Vec<f32> = (1..=100).rev().map(|n| n as f32).collect();
        let stats = Stats::of(&mut samples);
        assert_eq!(
            (stats.count, stats.min, stats.p50, stats.p99, stats.max),
            (100, Some(1.0), Some(50.0), Some(99.0), Some(100.0))
        );
        assert_eq!(Stats::of(&mut []), Stats::default());
        assert_eq!(Stats::of(&mut [4.5]).p99, Some(4.5));
    }

    #[test]
    fn merged_tallies_add_counts_and_pool_samples() {
        let mut a = Tally {
            dropped: 1,
            lane_counts: BTreeMap::from([(1, 1), (3, 0)]),
            ..Tally::default()
        };
        a.sample(Some(2.0), Some(900.0));
        let mut b = Tally {
            dropped: 2,
            wrong_lane: 1,
            lane_counts: BTreeMap::from([(1, 0), (3, 2)]),
            ..Tally::default()
        };
        b.sample(Some(4.0), None);
        a.merge(&b);
        let s = a.summary();
        assert_eq!((s.dropped, s.wrong_lane), (3, 1));
        assert_eq!(s.lane_counts, BTreeMap::from([(1, 1), (3, 2)]));
        assert_eq!((s.latency_ms.count, s.latency_ms.max), (2, Some(4.0)));
        assert_eq!(s.slack_ms.min, Some(900.0));
    }
}
