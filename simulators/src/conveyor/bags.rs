//! The release lane's bags (总包), as they physically are: every parcel that falls into the
//! release lane goes into the lane's open bag; someone closes it by scanning a bag label at
//! the lane (the bag-label scanner sends that label to the controller), and takes an
//! intercepted parcel back out by scanning its label there. This is the ground truth a
//! gate's judge checks a truck's load against: which parcel is in which bag.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Conveyor;
use crate::conveyor::{ScanEvent, ScannerId};

/// Longest bag label accepted, in characters (the controller's limit too).
pub const BAG_NO_MAX_CHARS: usize = 64;

/// One bag of a release lane, in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BagRecord {
    /// Line id.
    pub line: String,
    /// The release lane it stands at.
    pub lane: u16,
    /// 1, 2, … per line, in the order the bags were opened.
    pub seq: u64,
    /// The label scanned when it was closed (`totalPackageNo`); `null` while open.
    pub bag_no: Option<String>,
    /// When its first parcel fell in.
    pub opened_at: DateTime<Utc>,
    /// When its label was scanned.
    pub closed_at: Option<DateTime<Utc>>,
    /// Sim ids of the parcels in it now, in the order they fell in.
    pub parcels: Vec<u64>,
    /// Sim ids of the parcels taken back out (scanned at the lane for retrieval).
    pub retrieved: Vec<u64>,
}

/// Why a bag-label or retrieval scan did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BagScanError {
    /// No parcel fell into the release lane since the last bag was closed.
    #[error("the release lane of line {0} has no open bag")]
    NoOpenBag(String),
    /// A label that is empty or too long.
    #[error("a bag label has 1 to {BAG_NO_MAX_CHARS} characters, got {0:?}")]
    BadLabel(String),
    /// That label closed another bag already.
    #[error("bag label {0} was already used")]
    LabelUsed(String),
    /// No parcel with that code is in a bag of this line.
    #[error("no parcel with code {0} is in a bag of line {1}")]
    NotInBag(String, String),
}

/// The line's bags, open and closed (the oldest evicted past the report's keep).
#[derive(Debug, Default)]
pub(super) struct Bags {
    list: VecDeque<Bag>,
    next_seq: u64,
}

#[derive(Debug, Clone)]
struct Bag {
    seq: u64,
    lane: u16,
    /// The label scanned when it was closed.
    label: Option<String>,
    opened: Duration,
    closed: Option<Duration>,
    parcels: Vec<u64>,
    retrieved: Vec<u64>,
}

impl Bags {
    /// Put parcel `id`, fallen into release lane `lane`, in that lane's open bag; its seq.
    pub(super) fn put(&mut self, id: u64, lane: u16, now: Duration) -> u64 {
        if let Some(open) = self
            .list
            .iter_mut()
            .rev()
            .find(|b| b.lane == lane && b.closed.is_none())
        {
            open.parcels.push(id);
            return open.seq;
        }
        self.next_seq += 1;
        self.list.push_back(Bag {
            seq: self.next_seq,
            lane,
            label: None,
            opened: now,
            closed: None,
            parcels: vec![id],
            retrieved: Vec::new(),
        });
        self.next_seq
    }

    fn evict(&mut self, keep: usize) {
        while self.list.len() > keep && self.list.front().is_some_and(|b| b.closed.is_some()) {
            self.list.pop_front();
        }
    }
}

impl Conveyor {
    /// Someone scans bag label `bag_no` at the release lane: its open bag is closed with
    /// that number, and the bag-label scanner sends the label. Returns the bag and the
    /// frame to send.
    pub fn close_bag(
        &mut self,
        now: Duration,
        bag_no: &str,
    ) -> Result<(BagRecord, ScanEvent), BagScanError> {
        let now = self.advance(now);
        let label = bag_no.trim();
        if label.is_empty() || label.chars().count() > BAG_NO_MAX_CHARS {
            return Err(BagScanError::BadLabel(bag_no.to_owned()));
        }
        if self
            .bags
            .list
            .iter()
            .any(|b| b.label.as_deref() == Some(label))
        {
            return Err(BagScanError::LabelUsed(label.to_owned()));
        }
        let lane = self.config.release_lane;
        let bag = self
            .bags
            .list
            .iter_mut()
            .rev()
            .find(|b| b.lane == lane && b.closed.is_none())
            .ok_or_else(|| BagScanError::NoOpenBag(self.id.clone()))?;
        bag.label = Some(label.to_owned());
        bag.closed = Some(now);
        let bag = bag.clone();
        self.bags.evict(super::REPORT_KEEP);
        Ok((self.bag_record(&bag), Self::bag_frame(label)))
    }

    /// Someone takes the parcel labelled `code` back out of its bag (an interception's
    /// retrieval) and scans its label at the lane. Returns the parcel's sim id and the
    /// frame to send.
    pub fn retrieve(
        &mut self,
        now: Duration,
        code: &str,
    ) -> Result<(u64, ScanEvent), BagScanError> {
        self.advance(now);
        let code = code.trim();
        let found = self.parcels.iter().find_map(|p| {
            (p.spec.code.as_deref() == Some(code))
                .then_some(p.bag)
                .flatten()
                .map(|bag| (p.id, bag))
        });
        let Some((id, seq)) = found else {
            return Err(BagScanError::NotInBag(code.to_owned(), self.id.clone()));
        };
        let bag = self
            .bags
            .list
            .iter_mut()
            .find(|b| b.seq == seq && b.parcels.contains(&id))
            .ok_or_else(|| BagScanError::NotInBag(code.to_owned(), self.id.clone()))?;
        bag.parcels.retain(|p| *p != id);
        bag.retrieved.push(id);
        if let Some(p) = self.parcel_mut(id) {
            p.retrieved = true;
        }
        Ok((id, Self::bag_frame(code)))
    }

    fn bag_frame(code: &str) -> ScanEvent {
        ScanEvent {
            parcel_id: 0,
            scanner: ScannerId::Bag,
            code: Some(code.to_owned()),
        }
    }

    /// Put a parcel that fell into the release lane in its bag (from the drop).
    pub(super) fn bag_drop(&mut self, id: u64, lane: u16, now: Duration) {
        if lane != self.config.release_lane {
            return;
        }
        let seq = self.bags.put(id, lane, now);
        if let Some(p) = self.parcel_mut(id) {
            p.bag = Some(seq);
        }
    }

    fn bag_record(&self, b: &Bag) -> BagRecord {
        BagRecord {
            line: self.id.clone(),
            lane: b.lane,
            seq: b.seq,
            bag_no: b.label.clone(),
            opened_at: self.wall(b.opened),
            closed_at: b.closed.map(|c| self.wall(c)),
            parcels: b.parcels.clone(),
            retrieved: b.retrieved.clone(),
        }
    }

    /// Every bag kept, oldest first.
    pub fn bag_records(&self) -> Vec<BagRecord> {
        self.bags.list.iter().map(|b| self.bag_record(b)).collect()
    }
}

impl Conveyor {
    /// The labels of the parcels in the bag labelled `bag_no` now (retrieved ones are out;
    /// `None` for an unreadable label); `None` when no bag has that label.
    pub fn bag_codes(&self, bag_no: &str) -> Option<Vec<Option<String>>> {
        let bag = self
            .bags
            .list
            .iter()
            .find(|b| b.label.as_deref() == Some(bag_no))?;
        Some(
            bag.parcels
                .iter()
                .map(|id| {
                    let index = self.parcels.binary_search_by_key(id, |p| p.id).ok()?;
                    self.parcels[index].spec.code.clone()
                })
                .collect(),
        )
    }

    /// Whether a parcel labelled `code` fell into the release lane and is still there (not
    /// taken back out).
    pub fn in_release_lane(&self, code: &str) -> bool {
        self.parcels.iter().any(|p| {
            p.spec.code.as_deref() == Some(code)
                && p.dropped
                    .is_some_and(|(lane, _)| lane == self.config.release_lane)
                && !p.retrieved
        })
    }
}
