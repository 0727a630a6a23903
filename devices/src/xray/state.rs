//! The pure bookkeeping of the feed: files being written, files complete, files reported.
//!
//! No I/O: the feed task stats files and tells the [`Tracker`] what it saw and when; the
//! tracker answers which files are complete. That keeps the "exactly once" and "only when
//! complete" rules testable with explicit instants.
//!
//! - A file renamed into the directory ([`Hint::Arrived`]) is complete at once: writers
//!   rename only finished files.
//! - A file written in place ([`Hint::Changed`]) is complete once its size and mtime have
//!   not changed for `settle`, or when its writer closes it ([`Hint::Closed`]). An empty
//!   file waits [`EMPTY_SETTLE`] instead, so a writer that creates first and writes later
//!   is not cut short; a close of an empty file does not complete it.
//! - Reported files are remembered by path (bounded by `capacity`, oldest first out). When
//!   one is forgotten for room, the *horizon* moves up to its mtime: a file found later
//!   that is not newer than the horizon is taken as already reported, so a rescan of a
//!   never-pruned directory cannot report old files again.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// An empty file written in place is reported only after it stayed empty this long.
pub(super) const EMPTY_SETTLE: Duration = Duration::from_secs(10);

/// What the feed knows about a file at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Snapshot {
    /// Size in bytes.
    pub(super) len: u64,
    /// Last modification time.
    pub(super) modified: SystemTime,
}

/// Why the feed looked at a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hint {
    /// Renamed into the directory: complete now.
    Arrived,
    /// Created, written, or found by a rescan: complete once stable for `settle`.
    Changed,
    /// Closed by a writer after writing: complete now, unless empty.
    Closed,
}

/// A file that is complete and due to be reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Ready {
    pub(super) path: PathBuf,
    /// What it looked like when it was found complete.
    pub(super) snap: Snapshot,
}

#[derive(Debug)]
struct Pending {
    snap: Snapshot,
    stable_since: Instant,
}

#[derive(Debug)]
struct Reported {
    snap: Snapshot,
    /// Matches the entry in `order` that belongs to this report.
    seq: u64,
}

/// Files being written and files already reported.
#[derive(Debug)]
pub(super) struct Tracker {
    settle: Duration,
    capacity: usize,
    pending: HashMap<PathBuf, Pending>,
    reported: HashMap<PathBuf, Reported>,
    /// Reported paths, oldest first; entries whose `seq` no longer matches are stale.
    order: VecDeque<(PathBuf, u64)>,
    next_seq: u64,
    horizon: Option<SystemTime>,
}

impl Tracker {
    /// A tracker that completes in-place writes after `settle` and remembers `capacity` files.
    pub(super) fn new(settle: Duration, capacity: usize) -> Self {
        Self {
            settle,
            capacity: capacity.max(1),
            pending: HashMap::new(),
            reported: HashMap::new(),
            order: VecDeque::new(),
            next_seq: 0,
            horizon: None,
        }
    }

    /// Files that were in the directory before the run: remember them as reported.
    pub(super) fn baseline(&mut self, mut files: Vec<(PathBuf, Snapshot)>) {
        files.sort_by_key(|(path, snap)| (snap.modified, path.clone()));
        for (path, snap) in files {
            self.remember(path, snap);
        }
    }

    /// Whether `path` was reported already (and not removed since).
    pub(super) fn is_reported(&self, path: &Path) -> bool {
        self.reported.contains_key(path)
    }

    /// Whether `path` is reported or being watched until complete.
    pub(super) fn is_known(&self, path: &Path) -> bool {
        self.is_reported(path) || self.pending.contains_key(path)
    }

    /// Whether some file is waiting to become complete.
    pub(super) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The files waiting to become complete, to be statted again.
    pub(super) fn pending_paths(&self) -> Vec<PathBuf> {
        self.pending.keys().cloned().collect()
    }

    /// The feed saw `path` look like `snap` at `now`; returns it when it is complete now.
    pub(super) fn observe(
        &mut self,
        path: PathBuf,
        hint: Hint,
        snap: Snapshot,
        now: Instant,
    ) -> Option<Ready> {
        if let Some(old) = self.reported.get(&path) {
            // Only a rename onto a reported name brings a new file under an old name; any
            // other event for a reported file (a late one, or a touch) is not a new image.
            if hint != Hint::Arrived || old.snap == snap {
                return None;
            }
            self.reported.remove(&path);
        }
        let pending = self.pending.contains_key(&path);
        if hint == Hint::Changed && !pending && self.horizon.is_some_and(|h| snap.modified <= h) {
            return None;
        }
        if hint == Hint::Arrived || (hint == Hint::Closed && snap.len > 0) {
            self.pending.remove(&path);
            self.remember(path.clone(), snap);
            return Some(Ready { path, snap });
        }
        let entry = self.pending.entry(path).or_insert(Pending {
            snap,
            stable_since: now,
        });
        if entry.snap != snap {
            entry.snap = snap;
            entry.stable_since = now;
        }
        None
    }

    /// `path` was removed or renamed away: a later file of that name is a new file.
    pub(super) fn gone(&mut self, path: &Path) {
        self.pending.remove(path);
        self.reported.remove(path);
    }

    /// Forget every file that a complete listing of the directory no longer shows.
    pub(super) fn retain_present(&mut self, present: &HashSet<PathBuf>) {
        self.pending.retain(|p, _| present.contains(p));
        self.reported.retain(|p, _| present.contains(p));
        self.compact();
    }

    /// The pending files that have been stable long enough, oldest mtime first.
    pub(super) fn due(&mut self, now: Instant) -> Vec<Ready> {
        let settle = self.settle;
        let mut ready: Vec<Ready> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                let wait = if p.snap.len == 0 {
                    EMPTY_SETTLE
                } else {
                    settle
                };
                now.saturating_duration_since(p.stable_since) >= wait
            })
            .map(|(path, p)| Ready {
                path: path.clone(),
                snap: p.snap,
            })
            .collect();
        ready.sort_by(|a, b| (a.snap.modified, &a.path).cmp(&(b.snap.modified, &b.path)));
        for r in &ready {
            self.pending.remove(&r.path);
            self.remember(r.path.clone(), r.snap);
        }
        ready
    }

    fn remember(&mut self, path: PathBuf, snap: Snapshot) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.push_back((path.clone(), seq));
        self.reported.insert(path, Reported { snap, seq });
        while self.reported.len() > self.capacity {
            let Some((oldest, seq)) = self.order.pop_front() else {
                break;
            };
            if self.reported.get(&oldest).is_some_and(|r| r.seq == seq) {
                let r = self.reported.remove(&oldest).expect("checked above");
                self.horizon = Some(
                    self.horizon
                        .map_or(r.snap.modified, |h| h.max(r.snap.modified)),
                );
            }
        }
        if self.order.len() > 2 * self.capacity + 64 {
            self.compact();
        }
    }

    /// Drop the stale entries of `order`.
    fn compact(&mut self) {
        let reported = &self.reported;
        self.order
            .retain(|(p, seq)| reported.get(p).is_some_and(|r| r.seq == *seq));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTLE: Duration = Duration::from_millis(200);

    fn snap(len: u64, secs: u64) -> Snapshot {
        Snapshot {
            len,
            modified: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    fn p(name: &str) -> PathBuf {
        PathBuf::from(format!("/feed/{name}"))
    }

    #[test]
    fn a_renamed_file_is_ready_at_once_and_only_once() {
        let mut t = Tracker::new(SETTLE, 10);
        let now = Instant::now();
        let r = t.observe(p("a.png"), Hint::Arrived, snap(10, 1), now);
        assert_eq!(r.unwrap().path, p("a.png"));
        assert!(
            t.observe(p("a.png"), Hint::Arrived, snap(10, 1), now)
                .is_none()
        );
        assert!(
            t.observe(p("a.png"), Hint::Changed, snap(10, 1), now)
                .is_none()
        );
        assert!(
            t.observe(p("a.png"), Hint::Closed, snap(10, 1), now)
                .is_none()
        );
        assert!(t.due(now + SETTLE * 10).is_empty());
    }

    #[test]
    fn an_in_place_write_is_ready_only_after_it_stays_unchanged_for_settle() {
        let mut t = Tracker::new(SETTLE, 10);
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        assert!(
            t.observe(p("a.png"), Hint::Changed, snap(100, 1), t0)
                .is_none()
        );
        assert!(t.due(t0 + ms(150)).is_empty());
        t.observe(p("a.png"), Hint::Changed, snap(200, 1), t0 + ms(150));
        assert!(
            t.due(t0 + ms(300)).is_empty(),
            "growth restarts the settle time"
        );
        t.observe(p("a.png"), Hint::Changed, snap(200, 1), t0 + ms(300));
        let ready = t.due(t0 + ms(350));
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].snap.len, 200);
        assert!(t.due(t0 + ms(1000)).is_empty());
    }

    #[test]
    fn a_close_after_writing_completes_the_file_but_an_empty_close_does_not() {
        let mut t = Tracker::new(SETTLE, 10);
        let now = Instant::now();
        assert!(
            t.observe(p("a.png"), Hint::Closed, snap(0, 1), now)
                .is_none()
        );
        assert!(
            t.due(now + SETTLE * 2).is_empty(),
            "empty files wait longer"
        );
        let r = t.observe(p("a.png"), Hint::Closed, snap(5, 1), now + SETTLE);
        assert_eq!(r.unwrap().snap.len, 5);
    }

    #[test]
    fn an_empty_file_is_reported_once_it_stayed_empty_for_the_long_settle() {
        let mut t = Tracker::new(SETTLE, 10);
        let now = Instant::now();
        t.observe(p("a.png"), Hint::Changed, snap(0, 1), now);
        assert!(t.due(now + EMPTY_SETTLE / 2).is_empty());
        assert_eq!(t.due(now + EMPTY_SETTLE).len(), 1);
    }

    #[test]
    fn a_new_file_renamed_onto_a_reported_name_is_reported_again() {
        let mut t = Tracker::new(SETTLE, 10);
        let now = Instant::now();
        t.observe(p("a.png"), Hint::Arrived, snap(10, 1), now);
        assert!(
            t.observe(p("a.png"), Hint::Arrived, snap(12, 2), now)
                .is_some()
        );
    }

    #[test]
    fn a_removed_file_may_come_back_as_a_new_one() {
        let mut t = Tracker::new(SETTLE, 10);
        let now = Instant::now();
        t.observe(p("a.png"), Hint::Arrived, snap(10, 1), now);
        t.gone(&p("a.png"));
        assert!(
            t.observe(p("a.png"), Hint::Closed, snap(10, 1), now)
                .is_some()
        );
    }

    #[test]
    fn baseline_files_are_never_reported() {
        let mut t = Tracker::new(SETTLE, 10);
        let now = Instant::now();
        t.baseline(vec![(p("old.png"), snap(3, 1))]);
        assert!(
            t.observe(p("old.png"), Hint::Changed, snap(3, 1), now)
                .is_none()
        );
        assert!(t.due(now + SETTLE).is_empty());
    }

    #[test]
    fn forgetting_for_room_keeps_old_files_from_coming_back() {
        let mut t = Tracker::new(SETTLE, 2);
        let now = Instant::now();
        for (i, name) in ["a.png", "b.png", "c.png"].into_iter().enumerate() {
            t.observe(p(name), Hint::Arrived, snap(1, i as u64 + 1), now);
        }
        assert!(!t.is_known(&p("a.png")), "a was forgotten for room");
        // A rescan finds a again: not newer than the horizon, so not reported twice.
        t.observe(p("a.png"), Hint::Changed, snap(1, 1), now);
        assert!(t.due(now + SETTLE).is_empty());
        // A genuinely new file is still reported.
        t.observe(p("d.png"), Hint::Changed, snap(1, 9), now);
        assert_eq!(t.due(now + SETTLE).len(), 1);
    }

    #[test]
    fn memory_stays_bounded_under_churn() {
        let mut t = Tracker::new(SETTLE, 8);
        let now = Instant::now();
        for i in 0..10_000u64 {
            let path = p(&format!("{i}.png"));
            t.observe(path.clone(), Hint::Arrived, snap(1, i), now);
            if i % 3 == 0 {
                t.gone(&path);
            }
        }
        assert!(t.reported.len() <= 8);
        assert!(t.order.len() <= 2 * 8 + 64 + 1);
    }

    #[test]
    fn a_listing_forgets_files_that_are_gone() {
        let mut t = Tracker::new(SETTLE, 10);
        let now = Instant::now();
        t.observe(p("a.png"), Hint::Arrived, snap(1, 1), now);
        t.observe(p("b.png"), Hint::Changed, snap(1, 1), now);
        t.retain_present(&HashSet::new());
        assert!(!t.is_known(&p("a.png")) && !t.has_pending());
    }
}
