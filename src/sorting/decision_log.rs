//! The lines' decision log: a parcel's decision is appended here, then its lane is
//! commanded, then the decision commits to the store.
//!
//! Why: a decision used to wait for its commit before the command went out, and the commit
//! waited for the store writer's batch (every other line's writes, a slice of the platform
//! link's bulk work) and two hand-overs between threads. Under the whole site that wait was
//! nearly all of a decision's tail (`scripts/bench-site.sh`: the commit stage ≤ 1 ms in 41 %
//! of decisions, the read and the command ≤ 0.5 ms in 89-97 %). An append is one `write(2)`
//! on the line's own thread.
//!
//! Durability is the store's own: SQLite commits in WAL mode with `synchronous=NORMAL`, a
//! `write(2)` of the WAL frames without `fsync`, so a committed decision survives the
//! process crashing, not the power failing before the kernel writes it back. An append here
//! is the same `write(2)`. Rule 2 (written to local storage before it is acknowledged
//! anywhere) holds: the log is local storage, and the diverter hears of a decision only
//! after it is in the log.
//!
//! Each record is one JSON line in a segment file (`<data_dir>/decisions/NNNNNNNNNN.jsonl`);
//! a new segment starts after [`SEGMENT_BYTES`]. A segment is deleted once every decision in
//! it has committed to the store; a segment with one that failed is kept. At the next start
//! [`DecisionLog::open`] hands back every record of the segments left, and the controller
//! stores those the store does not have ([`replay`]): a crash between the append and the
//! commit, or a commit that failed. The directory is locked while a controller runs, so two
//! cannot share it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::OptionalExtension as _;
use serde::{Deserialize, Serialize};

use crate::store::parcels::{self, DecisionRow};
use crate::store::{Store, StoreError, Submitted, files};

/// The log's directory inside the data directory.
pub const DIR: &str = "decisions";
/// A segment grows to about this size before the next one starts.
pub const SEGMENT_BYTES: u64 = 4 << 20;
const LOCK: &str = "lock";
const SUFFIX: &str = ".jsonl";

/// One decision as logged: what [`parcels::record_decision`] stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    /// Parcel record id.
    pub parcel_id: i64,
    /// The line that decided.
    pub line_id: String,
    /// The PLC's tracking number the lane was commanded for.
    pub tracking_no: u16,
    /// When it was decided (the store's timestamp format).
    pub decided_at: String,
    /// The agreed barcode read.
    pub logistics_no: Option<String>,
    /// `read`, `no_read`, `conflict` or `none`.
    pub read_status: String,
    /// Lane number.
    pub lane: u16,
    /// `release`, `inspection` or `exception`.
    pub lane_kind: String,
    /// Reason codes, JSON array.
    pub reasons_json: String,
    /// The facts the decision used, JSON.
    pub inputs_json: String,
    /// Risk signals, JSON.
    pub risk_json: String,
    /// The e-commerce company, from the manifest.
    pub ebc_code: Option<String>,
    /// The weight was out of tolerance.
    pub weight_mismatch: bool,
}

impl Logged {
    /// The row [`parcels::record_decision`] stores.
    pub fn row(&self) -> DecisionRow<'_> {
        DecisionRow {
            parcel_id: self.parcel_id,
            decided_at: &self.decided_at,
            logistics_no: self.logistics_no.as_deref(),
            read_status: &self.read_status,
            lane: self.lane,
            lane_kind: &self.lane_kind,
            reasons_json: &self.reasons_json,
            inputs_json: &self.inputs_json,
            risk_json: &self.risk_json,
            ebc_code: self.ebc_code.as_deref(),
            weight_mismatch: self.weight_mismatch,
        }
    }
}

/// Which segment a logged decision is in; handed back with its commit's outcome
/// ([`DecisionLog::settled`]).
#[derive(Debug)]
#[must_use = "settle it once the decision's commit is known"]
pub struct Ticket(u64);

/// Why the log could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The directory or a segment could not be read or made.
    #[error("decision log {}: {source}", dir.display())]
    Io {
        /// The log's directory.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Another controller holds the log.
    #[error("decision log {} is in use by another controller", dir.display())]
    InUse {
        /// The log's directory.
        dir: PathBuf,
    },
}

/// What a start found in the log: the records of the segments a run left.
#[derive(Debug, Default)]
pub struct Recovered {
    /// The records, oldest first.
    pub records: Vec<Logged>,
    /// Lines that were not a whole record (the last one of a crashed append), skipped.
    pub torn: usize,
    segments: Vec<PathBuf>,
}

impl Recovered {
    /// Delete the segments once their records are stored.
    pub fn done(self) {
        for path in self.segments {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), error = %e, "decision log segment not removed");
            }
        }
    }
}

/// The log; shared by the lines (`Arc`), each append under a short lock.
#[derive(Debug)]
pub struct DecisionLog {
    dir: PathBuf,
    /// [`SEGMENT_BYTES`], smaller in tests.
    segment_bytes: u64,
    inner: Mutex<Inner>,
    _lock: File,
}

#[derive(Debug, Default)]
struct Inner {
    /// The segment appended to, once one is open.
    file: Option<File>,
    segment: u64,
    bytes: u64,
    /// Segments with decisions not yet settled, or one that failed.
    open: BTreeMap<u64, Segment>,
}

#[derive(Debug, Default)]
struct Segment {
    outstanding: u32,
    keep: bool,
}

impl DecisionLog {
    /// Open the log in `data_dir`, locked for this process; what earlier runs left.
    pub fn open(data_dir: &Path) -> Result<(Arc<Self>, Recovered), LogError> {
        let dir = data_dir.join(DIR);
        let io = |source| LogError::Io {
            dir: dir.clone(),
            source,
        };
        files::create_private_dir(&dir).map_err(io)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join(LOCK))
            .map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(LogError::InUse { dir });
        }
        let mut segments: Vec<(u64, PathBuf)> = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let number = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(SUFFIX))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(n) = number {
                segments.push((n, path));
            }
        }
        segments.sort();
        let mut recovered = Recovered::default();
        for (_, path) in &segments {
            let file = File::open(path).map_err(io)?;
            for line in BufReader::new(file).split(b'\n') {
                match serde_json::from_slice::<Logged>(&line.map_err(io)?) {
                    Ok(record) => recovered.records.push(record),
                    Err(_) => recovered.torn += 1,
                }
            }
        }
        recovered.segments = segments.iter().map(|(_, p)| p.clone()).collect();
        let inner = Inner {
            segment: segments.last().map_or(0, |(n, _)| *n),
            ..Inner::default()
        };
        let log = Self {
            dir,
            segment_bytes: SEGMENT_BYTES,
            inner: Mutex::new(inner),
            _lock: lock,
        };
        Ok((Arc::new(log), recovered))
    }

    /// [`DecisionLog::open`], waiting up to `wait` for a controller that is stopping in
    /// this process (a restart) to let go of the log.
    pub async fn open_waiting(
        data_dir: &Path,
        wait: std::time::Duration,
    ) -> Result<(Arc<Self>, Recovered), LogError> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            match Self::open(data_dir) {
                Err(LogError::InUse { .. }) if tokio::time::Instant::now() < until => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                other => return other,
            }
        }
    }

    /// Append `record`; once this returns it is in the log (the kernel has it).
    pub fn append(&self, record: &Logged) -> std::io::Result<Ticket> {
        let mut line = serde_json::to_vec(record)?;
        line.push(b'\n');
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if inner.file.is_none() || inner.bytes >= self.segment_bytes {
            self.start_segment(&mut inner)?;
        }
        let segment = inner.segment;
        let written = inner.file.as_mut().map(|f| f.write_all(&line));
        if let Some(Err(e)) = written {
            // Part of the line may be in the file: the next record goes to a new segment,
            // so a torn line is only ever a segment's last.
            inner.file = None;
            return Err(e);
        }
        inner.bytes += line.len() as u64;
        inner.open.entry(segment).or_default().outstanding += 1;
        Ok(Ticket(segment))
    }

    /// The decision of `ticket` committed to the store, or failed to (its segment is kept
    /// for the next start).
    #[allow(clippy::needless_pass_by_value)] // taken, so that a ticket is settled once
    pub fn settled(&self, ticket: Ticket, committed: bool) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(s) = inner.open.get_mut(&ticket.0) {
            s.outstanding = s.outstanding.saturating_sub(1);
            s.keep |= !committed;
        }
        self.retire(&mut inner);
    }

    fn segment_path(&self, n: u64) -> PathBuf {
        self.dir.join(format!("{n:010}{SUFFIX}"))
    }

    fn start_segment(&self, inner: &mut Inner) -> std::io::Result<()> {
        inner.file = None;
        let n = inner.segment + 1;
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .mode(0o600)
            .open(self.segment_path(n))?;
        inner.segment = n;
        inner.bytes = 0;
        inner.file = Some(file);
        inner.open.insert(n, Segment::default());
        self.retire(inner);
        Ok(())
    }

    /// Delete the segments no longer appended to whose decisions all committed.
    fn retire(&self, inner: &mut Inner) {
        let current = inner.file.is_some().then_some(inner.segment);
        let done: Vec<u64> = inner
            .open
            .iter()
            .filter(|(n, s)| Some(**n) != current && s.outstanding == 0 && !s.keep)
            .map(|(n, _)| *n)
            .collect();
        for n in done {
            inner.open.remove(&n);
            let path = self.segment_path(n);
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(file = %path.display(), error = %e, "decision log segment not removed");
            }
        }
    }
}

/// What [`replay`] did with the records a start found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Stored now: the store did not have them.
    pub stored: usize,
    /// The store had a decision for the parcel already.
    pub known: usize,
    /// No such parcel in the store.
    pub orphaned: usize,
}

/// Store the decisions of `records` that the store does not have, in one transaction.
pub async fn replay(store: &Store, records: Vec<Logged>) -> Result<Replayed, StoreError> {
    if records.is_empty() {
        return Ok(Replayed::default());
    }
    store
        .writer
        .write(move |tx| {
            let mut done = Replayed::default();
            for record in &records {
                let decided: Option<Option<String>> = tx
                    .prepare_cached("SELECT decided_at FROM parcels WHERE id = ?1")?
                    .query_row([record.parcel_id], |r| r.get(0))
                    .optional()?;
                match decided {
                    None => done.orphaned += 1,
                    Some(Some(_)) => done.known += 1,
                    Some(None) => {
                        parcels::record_decision(tx, &record.row())?;
                        done.stored += 1;
                    }
                }
            }
            Ok(done)
        })
        .await
}

/// One line's decisions, logged and queued to the store, until their commits are known.
#[derive(Debug)]
pub struct LineDecisions {
    log: Arc<DecisionLog>,
    /// Queued commits, with the ticket of the log record (none for a retry).
    queued: Vec<(Submitted<()>, Option<Ticket>, Arc<Logged>)>,
    /// Logged decisions whose commit failed: queued again once the store commits.
    unstored: Vec<Arc<Logged>>,
}

impl LineDecisions {
    /// A line's handle on `log`.
    pub fn new(log: Arc<DecisionLog>) -> Self {
        Self {
            log,
            queued: Vec::new(),
            unstored: Vec::new(),
        }
    }

    /// Log `record`, then queue its commit through `store` (a line's control handle,
    /// after the readings it queued before). An error: it is not in the log, and its lane
    /// must not be commanded.
    pub async fn log(&mut self, store: &Store, record: Logged) -> std::io::Result<()> {
        let ticket = self.log.append(&record)?;
        self.queue(store, Arc::new(record), Some(ticket)).await;
        Ok(())
    }

    async fn queue(&mut self, store: &Store, record: Arc<Logged>, ticket: Option<Ticket>) {
        let row = Arc::clone(&record);
        let submitted = store
            .writer
            .submit(move |tx| parcels::record_decision(tx, &row.row()))
            .await;
        if let Ok(submitted) = submitted {
            self.queued.push((submitted, ticket, record));
        } else {
            if let Some(ticket) = ticket {
                self.log.settled(ticket, false);
            }
            self.unstored.push(record);
        }
    }

    /// Look at the queued commits without waiting, and queue again those that failed once
    /// the store commits again: whether any is still pending, and a failure seen.
    pub async fn settle(&mut self, store: &Store) -> (bool, Option<StoreError>) {
        let mut failed = None;
        let mut pending = Vec::with_capacity(self.queued.len());
        for (mut submitted, ticket, record) in self.queued.drain(..) {
            match submitted.try_committed() {
                None => pending.push((submitted, ticket, record)),
                Some(outcome) => {
                    if let Some(ticket) = ticket {
                        self.log.settled(ticket, outcome.is_ok());
                    }
                    match outcome {
                        Ok(()) => {}
                        // No such parcel: trying again cannot help (the log keeps it).
                        Err(e @ StoreError::NotFound(_)) => {
                            tracing::error!(parcel = record.parcel_id, line = %record.line_id, error = %e,
                                "a logged decision cannot be stored");
                            failed = Some(e);
                        }
                        Err(e) => {
                            tracing::warn!(parcel = record.parcel_id, line = %record.line_id, error = %e,
                                "a logged decision did not commit: stored once the store commits again (and at the next start, from the log)");
                            self.unstored.push(record);
                            failed = Some(e);
                        }
                    }
                }
            }
        }
        self.queued = pending;
        if !self.unstored.is_empty() && !store.status().commit_failing() && failed.is_none() {
            for record in std::mem::take(&mut self.unstored) {
                self.queue(store, record, None).await;
            }
        }
        (!self.queued.is_empty(), failed)
    }
}

#[cfg(test)]
#[path = "decision_log_tests.rs"]
mod tests;
