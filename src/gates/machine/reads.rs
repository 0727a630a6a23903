//! Plate reads waiting for their truck, and which truck each belongs to.
//!
//! A read belongs to the vehicle that was at the loop before the barrier when it was
//! received: a truck's reads are those received since it arrived, or up to
//! [`READ_LEAD`] before (cameras fire on video as the truck approaches), and after the
//! vehicle before it left that loop. Reads are assigned by when they were received, not
//! by what the lane was doing when they were handled, so a read that comes while the
//! barrier is still closing behind the previous truck waits for the next one.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use customs_edge_devices::plate::PlateRead;

use crate::gates::PlateEvent;
use crate::gates::verdict::Weight;

/// How long before the truck reached the loop a plate read may have come.
pub(crate) const READ_LEAD: Duration = Duration::from_secs(3);
/// Reads kept at most; a camera flooding the lane loses its oldest ones.
const MAX_KEPT: usize = 128;

/// The truck on the loop, as its verdict sees it now.
#[derive(Debug)]
pub(super) struct Truck {
    /// When it arrived.
    pub(super) since: Instant,
    /// Its reads so far.
    pub(super) reads: TruckReads,
    /// The weighbridge's word.
    pub(super) weight: Weight,
}

/// A truck's reads as its pass records them.
#[derive(Debug, Clone, Default)]
pub(super) struct TruckReads {
    /// The reads, oldest first.
    pub(super) reads: Vec<PlateRead>,
    /// Their snapshots as evidence (row id, SHA-256).
    pub(super) snapshots: Vec<(i64, String)>,
    /// When the last of them was received.
    pub(super) last: Option<Instant>,
}

/// The reads not yet known to belong to a vehicle that left.
#[derive(Debug)]
pub(super) struct Reads {
    events: VecDeque<PlateEvent>,
    /// When the last vehicle was seen gone from the loop before the barrier: reads
    /// received before were of it, or of one before it.
    after: Instant,
}

impl Reads {
    /// No reads, none owed to an earlier vehicle before `start`.
    pub(super) fn new(start: Instant) -> Self {
        Self {
            events: VecDeque::new(),
            after: start,
        }
    }

    /// Keep a read until its truck's verdict.
    pub(super) fn push(&mut self, event: PlateEvent) {
        if self.events.len() == MAX_KEPT {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }

    /// The vehicle on the loop before the barrier was seen gone at `now`: the reads so
    /// far were its own (or a vehicle's before it).
    pub(super) fn departed(&mut self, now: Instant) {
        self.after = self.after.max(now);
        let after = self.after;
        self.events.retain(|e| e.received >= after);
    }

    /// Forget reads that can belong to no truck arriving at `arrival` or later.
    pub(super) fn prune(&mut self, arrival: Instant) {
        let from = arrival.checked_sub(READ_LEAD).unwrap_or(arrival);
        self.events.retain(|e| e.received >= from);
    }

    /// The reads of the truck that arrived at `since`.
    pub(super) fn of_truck(&self, since: Instant) -> TruckReads {
        let from = since
            .checked_sub(READ_LEAD)
            .map_or(self.after, |t| t.max(self.after));
        let mut truck = TruckReads::default();
        for e in self.events.iter().filter(|e| e.received >= from) {
            truck.reads.push(e.read.clone());
            truck
                .snapshots
                .extend(e.evidence.iter().map(|r| (r.id, r.sha256.clone())));
            truck.last = truck.last.max(Some(e.received));
        }
        truck
    }
}
