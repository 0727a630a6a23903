//! The single writer: one thread owns the write connection and commits in batches.
//!
//! Two classes of work share it. **Control** work — what a sorting line, a gate lane, an
//! operator or officer at a console, or an alarm writes ([`Writer::write`],
//! [`Writer::submit`]) — is what something in the field waits on. **Bulk** work — what the
//! platform link ingests and acknowledges, retention, statistics, telemetry, imports
//! ([`Writer::write_bulk`]) — moves many rows and waits on nobody. Each class has its own
//! queue; the thread takes queued control work first, a batch with control work in it is
//! committed without lingering and never waits for bulk work to be taken up, and a bulk
//! turn stops taking bulk work as soon as control work is queued (or after [`BULK_SLICE`]),
//! so a control write waits behind at most the one bulk operation that was running when it
//! came. Bulk is the explicit opt-in: a new caller of `write` is control.

use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction};
use tokio::sync::{mpsc, oneshot, watch};

use super::StoreError;
use super::status::StoreStatus;

/// Called once the batch an operation ran in has committed (or failed to, with why).
type Completion = Box<dyn FnOnce(Result<(), &str>) + Send>;
/// What an operation runs inside the batch's transaction (`None`: there is none, it could
/// not begin or SQLite rolled it back); returns its completion and, when the operation
/// failed in SQLite, SQLite's message.
type Run = Box<dyn FnOnce(Option<&Transaction<'_>>) -> (Completion, Option<String>) + Send>;

/// An operation and whether its caller waits for it.
struct Op {
    run: Run,
    /// Someone waits for the commit ([`Writer::write`]): commit without lingering.
    urgent: bool,
}

/// Most operations folded into one transaction.
const MAX_BATCH: usize = 512;
/// How long queued control operations nobody waits for ([`Writer::submit`]) may wait for
/// company before they are committed on their own. Most of them ride along with the next
/// awaited write well before: one commit instead of several small ones, each of which would
/// write the same pages to the WAL again.
const LINGER: Duration = Duration::from_millis(5);
/// A bulk turn takes no further bulk operation once it has run this long: bulk work is
/// folded into few commits, and a batch's commit (the pages it wrote, copied to the WAL)
/// stays short for the control write that may come next.
const BULK_SLICE: Duration = Duration::from_millis(4);
/// Control batches in a row while bulk work waits, after which one bulk turn goes first:
/// the platform link and retention keep moving however busy the lines are.
const CONTROL_STREAK: u32 = 8;

/// Queue capacities: control work is small and frequent; bulk callers each wait for their
/// write, so few bulk operations are ever queued at once.
const CONTROL_QUEUE: usize = 4096;
const BULK_QUEUE: usize = 1024;

/// How often an idle writer wakes to beat its pulse.
const IDLE_BEAT: Duration = Duration::from_secs(1);

/// A `Clone` handle to the writer thread.
#[derive(Clone, Debug)]
pub struct Writer {
    /// Control work: the lines, the gate lanes, the consoles, alarms.
    control: mpsc::Sender<Op>,
    /// Bulk work: ingest, acks, retention, statistics, telemetry, imports.
    bulk: mpsc::Sender<Op>,
    /// Beaten by the thread every batch and every idle second (the service watchdog).
    pulse: crate::service::Pulse,
    /// Counts the committed batches that wrote an outbox message.
    outbox: watch::Receiver<u64>,
}

impl Writer {
    pub(super) fn spawn(conn: Connection, status: StoreStatus) -> Self {
        let (control, control_rx) = mpsc::channel::<Op>(CONTROL_QUEUE);
        let (bulk, bulk_rx) = mpsc::channel::<Op>(BULK_QUEUE);
        let pulse = crate::service::Pulse::new();
        let beats = pulse.clone();
        let (outbox_tx, outbox) = watch::channel(0);
        let queues = Queues {
            control: control_rx,
            bulk: bulk_rx,
        };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, queues, &status, &beats, &outbox_tx))
            .expect("spawn the store writer thread");
        Self {
            control,
            bulk,
            pulse,
            outbox,
        }
    }

    /// Changes each time a batch that wrote an outbox message has committed: the
    /// publisher waits on it, so an uplink message leaves as soon as it is committed.
    pub fn outbox_commits(&self) -> watch::Receiver<u64> {
        self.outbox.clone()
    }

    /// The pulse the writer thread beats, for the service watchdog.
    pub fn pulse(&self) -> crate::service::Pulse {
        self.pulse.clone()
    }

    /// Run `f` in a write transaction as control work; resolves only after that
    /// transaction committed.
    ///
    /// `f` runs inside its own savepoint: when it returns an error, its changes are rolled
    /// back and the rest of the batch still commits.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        queue(&self.control, f, true).await?.committed().await
    }

    /// Queue `f` as control work and return as soon as it is queued;
    /// [`Submitted::committed`] resolves when it has committed, at the latest [`LINGER`]
    /// later.
    ///
    /// Control writes commit in the order they were submitted (one queue, one thread,
    /// batches in order), so once a later control write ([`Writer::write`] or `submit`) has
    /// committed, every earlier one has too. A task can therefore queue a reading, go on,
    /// and rely on the commit of the decision it writes next to cover the reading as well.
    /// A bulk write ([`Writer::write_bulk`]) is not covered: it is ordered only among bulk
    /// writes.
    pub async fn submit<R, F>(&self, f: F) -> Result<Submitted<R>, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        queue(&self.control, f, false).await
    }

    /// Run `f` in a write transaction as bulk work; resolves only after that transaction
    /// committed.
    ///
    /// For work nothing in the field waits on: ingest from the platform, acks, retention,
    /// statistics, telemetry, imports. Control work goes first, so keep each `f` short
    /// (a few milliseconds: cut long work into steps, each its own `write_bulk`). Bulk
    /// writes commit in the order they were queued among themselves; control writes may
    /// commit before an earlier bulk write. Like [`Writer::write`], `f` runs in its own
    /// savepoint.
    pub async fn write_bulk<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        queue(&self.bulk, f, true).await?.committed().await
    }
}

/// Wrap `f` as an operation and queue it on `to`.
async fn queue<R, F>(to: &mpsc::Sender<Op>, f: F, urgent: bool) -> Result<Submitted<R>, StoreError>
where
    R: Send + 'static,
    F: FnOnce(&Transaction<'_>) -> Result<R, StoreError> + Send + 'static,
{
    let (done_tx, done_rx) = oneshot::channel();
    let run: Run = Box::new(move |tx: Option<&Transaction<'_>>| {
        let result = tx.map(|tx| in_savepoint(tx, f));
        let sqlite_error = match &result {
            Some(Err(StoreError::Sqlite(e))) => Some(e.to_string()),
            _ => None,
        };
        let complete: Completion = Box::new(move |commit: Result<(), &str>| {
            let final_result = match (result, commit) {
                (Some(Ok(value)), Ok(())) => Ok(value),
                (Some(Err(e)), _) => Err(e),
                (Some(Ok(_)) | None, Err(e)) => Err(StoreError::CommitFailed(e.to_owned())),
                (None, Ok(())) => Err(StoreError::CommitFailed("not run".to_owned())),
            };
            let _ = done_tx.send(final_result);
        });
        (complete, sqlite_error)
    });
    to.send(Op { run, urgent })
        .await
        .map_err(|_| StoreError::WriterGone)?;
    Ok(Submitted(done_rx))
}

/// A queued write.
#[derive(Debug)]
pub struct Submitted<R>(oneshot::Receiver<Result<R, StoreError>>);

impl<R> Submitted<R> {
    /// Wait until the write has committed (or failed).
    pub async fn committed(self) -> Result<R, StoreError> {
        self.0.await.map_err(|_| StoreError::WriterGone)?
    }

    /// The outcome if the write's batch has committed (or failed) already, without waiting.
    pub fn try_committed(&mut self) -> Option<Result<R, StoreError>> {
        match self.0.try_recv() {
            Ok(result) => Some(result),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(StoreError::WriterGone)),
        }
    }
}

fn in_savepoint<R>(
    tx: &Transaction<'_>,
    f: impl FnOnce(&Transaction<'_>) -> Result<R, StoreError>,
) -> Result<R, StoreError> {
    tx.execute_batch("SAVEPOINT op")?;
    match f(tx) {
        Ok(value) => {
            tx.execute_batch("RELEASE op")?;
            Ok(value)
        }
        Err(e) => {
            tx.execute_batch("ROLLBACK TO op; RELEASE op")?;
            Err(e)
        }
    }
}

/// The writer thread's two queues.
struct Queues {
    control: mpsc::Receiver<Op>,
    bulk: mpsc::Receiver<Op>,
}

/// What the thread does next.
enum Turn {
    /// Commit queued control work (this first).
    Control(Op),
    /// Run bulk work, starting with this, until control work is queued or the slice is up.
    Bulk(Op),
    /// Nothing queued for [`IDLE_BEAT`].
    Idle,
    /// Every handle is gone and both queues are empty.
    Closed,
}

impl Queues {
    /// The next turn: queued control work first, unless bulk work has waited through
    /// [`CONTROL_STREAK`] control batches (`bulk_first`).
    async fn next(&mut self, bulk_first: bool) -> Turn {
        if bulk_first && let Ok(op) = self.bulk.try_recv() {
            return Turn::Bulk(op);
        }
        let control_closed = match self.control.try_recv() {
            Ok(op) => return Turn::Control(op),
            Err(e) => e == mpsc::error::TryRecvError::Disconnected,
        };
        let bulk_closed = match self.bulk.try_recv() {
            Ok(op) => return Turn::Bulk(op),
            Err(e) => e == mpsc::error::TryRecvError::Disconnected,
        };
        if control_closed && bulk_closed {
            return Turn::Closed;
        }
        // Nothing queued: wait for either, control first when both come at once.
        let wait = async {
            tokio::select! {
                biased;
                Some(op) = self.control.recv(), if !control_closed => Turn::Control(op),
                Some(op) = self.bulk.recv(), if !bulk_closed => Turn::Bulk(op),
                // One queue closed while waiting: both close together (one handle holds
                // both), so look again, which drains what is left.
                else => Turn::Idle,
            }
        };
        tokio::time::timeout(IDLE_BEAT, wait)
            .await
            .unwrap_or(Turn::Idle)
    }
}

fn run(
    mut conn: Connection,
    mut queues: Queues,
    status: &StoreStatus,
    pulse: &crate::service::Pulse,
    outbox: &watch::Sender<u64>,
) {
    // A runtime of this thread's own, only for waiting on the queues with a deadline.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("the store writer's timer");
    rt.block_on(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        // Control batches committed in a row while bulk work waited.
        let mut streak = 0;
        loop {
            pulse.beat();
            match queues.next(streak >= CONTROL_STREAK).await {
                Turn::Closed => break,
                Turn::Idle => continue,
                Turn::Control(op) => {
                    gather_control(&mut queues.control, op, &mut batch).await;
                    commit(&mut conn, &mut batch, status, |_| None);
                    streak = if queues.bulk.is_empty() {
                        0
                    } else {
                        streak + 1
                    };
                }
                Turn::Bulk(op) => {
                    batch.push(op);
                    let began = Instant::now();
                    let mut control_came = false;
                    // Bulk operations one by one while the slice lasts and no control
                    // work is queued; control work that comes meanwhile is taken into
                    // this batch (no linger) and ends the bulk turn.
                    commit(&mut conn, &mut batch, status, |ran| {
                        if ran >= MAX_BATCH {
                            return None;
                        }
                        if control_came || !queues.control.is_empty() {
                            control_came = true;
                            return queues.control.try_recv().ok();
                        }
                        if began.elapsed() >= BULK_SLICE {
                            return None;
                        }
                        queues.bulk.try_recv().ok()
                    });
                    streak = 0;
                }
            }
            if super::outbox::take_enqueued() && !status.commit_failing() {
                outbox.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    });
}

/// Fill `batch` with `first` and the control work queued behind it: at once when someone
/// waits for any of it, else lingering up to [`LINGER`] for an awaited write to ride with.
async fn gather_control(rx: &mut mpsc::Receiver<Op>, first: Op, batch: &mut Vec<Op>) {
    let linger_until = tokio::time::Instant::now() + LINGER;
    let mut urgent = first.urgent;
    batch.push(first);
    while batch.len() < MAX_BATCH {
        let next = match rx.try_recv() {
            Ok(op) => Some(op),
            Err(mpsc::error::TryRecvError::Disconnected) => None,
            Err(mpsc::error::TryRecvError::Empty) if urgent => None,
            Err(mpsc::error::TryRecvError::Empty) => {
                tokio::time::timeout_at(linger_until, rx.recv())
                    .await
                    .ok()
                    .flatten()
            }
        };
        let Some(op) = next else { break };
        urgent |= op.urgent;
        batch.push(op);
    }
}

/// Run `batch`, then whatever `more` hands out (asked with the number of operations run so
/// far, until it says `None`), in one transaction and commit it; every operation hears the
/// outcome.
///
/// A failed commit (disk full, an I/O error, no file handle to open the journal) fails
/// the batch, never the writer: the next batch tries again, so writing resumes by itself
/// once the disk has room. When a write inside fails so badly that SQLite rolls the whole
/// transaction back (it does for a full disk or an I/O error), the rest of the batch is not
/// run outside it: it fails with the batch, and `more` is not asked again (what it would
/// have handed out stays queued for the next batch).
fn commit(
    conn: &mut Connection,
    batch: &mut Vec<Op>,
    status: &StoreStatus,
    mut more: impl FnMut(usize) -> Option<Op>,
) {
    let mut completions = Vec::with_capacity(batch.len());
    let outcome: Result<(), String> = match conn.transaction() {
        Ok(tx) => {
            let mut lost: Option<String> = None;
            let mut queued = batch.drain(..);
            loop {
                let op = match queued.next() {
                    Some(op) => op,
                    None if lost.is_none() => match more(completions.len()) {
                        Some(op) => op,
                        None => break,
                    },
                    None => break,
                };
                if lost.is_some() {
                    completions.push((op.run)(None).0);
                    continue;
                }
                let (complete, error) = (op.run)(Some(&tx));
                completions.push(complete);
                if tx.is_autocommit() {
                    lost = Some(
                        error.unwrap_or_else(|| "SQLite rolled the transaction back".to_owned()),
                    );
                }
            }
            drop(queued);
            match lost {
                Some(why) => Err(why),
                None => tx.commit().map_err(|e| e.to_string()),
            }
        }
        Err(e) => {
            let why = e.to_string();
            completions.extend(batch.drain(..).map(|op| (op.run)(None).0));
            Err(why)
        }
    };
    batch.clear();
    match &outcome {
        Ok(()) => status.committed(Ok(())),
        Err(e) => {
            if status.commit_failing() {
                tracing::debug!(error = %e, "store batch failed to commit");
            } else {
                tracing::error!(error = %e, "store batch failed to commit; the store keeps trying");
            }
            crate::metrics::record_commit_failure();
            status.committed(Err(e));
        }
    }
    for complete in completions {
        complete(outcome.as_ref().copied().map_err(String::as_str));
    }
}

#[cfg(test)]
#[path = "writer_tests.rs"]
mod tests;
