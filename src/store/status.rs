//! Whether the store can commit, and what is shed for want of disk: set by the writer
//! (each batch's outcome) and the free-space watch, read by `/healthz`, the controller's
//! alarms and whoever writes what may be shed.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::watch;

/// What is left out for want of disk, in the order it goes. Decisions, gate passes and
/// their readings, X-ray views and plate snapshots are never shed: they are written for as
/// long as the disk takes them, and when it takes nothing more the line fails closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shed {
    /// Everything is written.
    #[default]
    Nothing,
    /// PLC telemetry and statistics for the platform are not written.
    Bulk,
    /// Camera frames are not kept as evidence either.
    Evidence,
}

impl Shed {
    /// The level as a number, for the metric.
    pub fn level(self) -> u8 {
        match self {
            Self::Nothing => 0,
            Self::Bulk => 1,
            Self::Evidence => 2,
        }
    }
}

/// Free space on the data directory's file system, as last looked at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DiskSpace {
    /// Bytes free for the controller.
    pub free_bytes: u64,
    /// Size of the file system in bytes.
    pub total_bytes: u64,
}

impl DiskSpace {
    /// Free space in percent of the size.
    pub fn free_pct(&self) -> f64 {
        if self.total_bytes == 0 {
            return 0.0;
        }
        self.free_bytes as f64 / self.total_bytes as f64 * 100.0
    }
}

/// How long commits must go on succeeding after a failure before the store counts as
/// committing again: on a nearly full disk a small commit can fit where the next one does
/// not, and the state should not flap with each.
pub const RECOVER_AFTER: std::time::Duration = std::time::Duration::from_secs(3);

/// Commits that keep failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitFailing {
    /// When the first of them failed.
    pub since: DateTime<Utc>,
    /// The last error, as SQLite put it ("database or disk is full").
    pub error: String,
    /// Batches failed since.
    pub batches: u64,
    /// When the last one failed.
    #[serde(skip)]
    last_failed: std::time::Instant,
    /// A commit succeeded after the last failure.
    #[serde(skip)]
    succeeded_since: bool,
}

/// The store's health at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoreHealth {
    /// Set while commits fail; cleared by the next commit that succeeds.
    pub commit_failing: Option<CommitFailing>,
    /// What is shed now.
    pub shed: Shed,
    /// The data disk, once the free-space watch has looked.
    pub disk: Option<DiskSpace>,
}

/// A `Clone` handle on the store's health; subscribers hear of each change of state (not
/// of each failed batch while it stays failing).
#[derive(Debug, Clone, Default)]
pub struct StoreStatus(Arc<watch::Sender<StoreHealth>>);

impl StoreStatus {
    /// The health now.
    pub fn get(&self) -> StoreHealth {
        self.0.borrow().clone()
    }

    /// Told of every change of state.
    pub fn subscribe(&self) -> watch::Receiver<StoreHealth> {
        self.0.subscribe()
    }

    /// Whether commits are failing now.
    pub fn commit_failing(&self) -> bool {
        self.0.borrow().commit_failing.is_some()
    }

    /// Whether writes of this kind are shed now.
    pub fn sheds(&self, at: Shed) -> bool {
        at != Shed::Nothing && self.0.borrow().shed >= at
    }

    /// A batch committed (`Ok`) or failed (`Err` with SQLite's message). After failures,
    /// the store counts as committing again once commits have succeeded (and none failed)
    /// for [`RECOVER_AFTER`]; [`StoreStatus::settle`] looks again without a commit.
    pub(crate) fn committed(&self, outcome: Result<(), &str>) {
        let now = std::time::Instant::now();
        self.0
            .send_if_modified(|h| match (outcome, h.commit_failing.as_mut()) {
                (Ok(()), None) => false,
                (Ok(()), Some(failing)) => {
                    failing.succeeded_since = true;
                    Self::recovered(h, now)
                }
                (Err(error), Some(failing)) => {
                    failing.batches += 1;
                    failing.last_failed = now;
                    failing.succeeded_since = false;
                    error.clone_into(&mut failing.error);
                    false
                }
                (Err(error), None) => {
                    h.commit_failing = Some(CommitFailing {
                        since: Utc::now(),
                        error: error.to_owned(),
                        batches: 1,
                        last_failed: now,
                        succeeded_since: false,
                    });
                    true
                }
            });
    }

    /// Clear a failure that commits have put behind them for [`RECOVER_AFTER`].
    pub fn settle(&self) {
        let now = std::time::Instant::now();
        self.0.send_if_modified(|h| Self::recovered(h, now));
    }

    fn recovered(h: &mut StoreHealth, now: std::time::Instant) -> bool {
        let done = h.commit_failing.as_ref().is_some_and(|f| {
            f.succeeded_since && now.duration_since(f.last_failed) >= RECOVER_AFTER
        });
        if done {
            h.commit_failing = None;
        }
        done
    }

    /// The free-space watch looked at the disk and sets what is shed.
    pub(crate) fn set_disk(&self, disk: DiskSpace, shed: Shed) {
        self.0.send_if_modified(|h| {
            let changed = h.shed != shed || h.disk.is_none();
            h.disk = Some(disk);
            h.shed = shed;
            changed
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_store_is_one_change_until_a_commit_succeeds() {
        let status = StoreStatus::default();
        let mut changes = status.subscribe();
        status.committed(Ok(()));
        assert!(!changes.has_changed().unwrap());
        status.committed(Err("database or disk is full"));
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        status.committed(Err("database or disk is full"));
        assert!(
            !changes.has_changed().unwrap(),
            "still failing: no new change"
        );
        assert_eq!(status.get().commit_failing.unwrap().batches, 2);
        status.committed(Ok(()));
        assert!(
            status.commit_failing(),
            "one commit that fits is not recovery yet"
        );
        status.0.send_modify(|h| {
            let f = h.commit_failing.as_mut().unwrap();
            f.last_failed -= RECOVER_AFTER;
        });
        changes.mark_unchanged();
        status.settle();
        assert!(changes.has_changed().unwrap());
        assert!(!status.commit_failing());
    }

    #[test]
    fn shedding_goes_in_order() {
        let status = StoreStatus::default();
        let disk = DiskSpace {
            free_bytes: 1,
            total_bytes: 100,
        };
        status.set_disk(disk, Shed::Bulk);
        assert!(status.sheds(Shed::Bulk) && !status.sheds(Shed::Evidence));
        status.set_disk(disk, Shed::Evidence);
        assert!(status.sheds(Shed::Bulk) && status.sheds(Shed::Evidence));
        status.set_disk(disk, Shed::Nothing);
        assert!(!status.sheds(Shed::Bulk));
    }
}
