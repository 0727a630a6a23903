//! The single writer: one thread owns the write connection and commits in batches.

use std::collections::VecDeque;
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

/// An operation, whether its caller waits for it, and since when it is queued.
struct Op {
    run: Run,
    /// Someone waits for the commit ([`Writer::write`]): commit without lingering.
    urgent: bool,
    queued: Instant,
}

/// Which of the writer's two queues a handle's writes wait in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Queue {
    /// The control loops' writes (a parcel's decision, a truck's pass): each batch takes
    /// these first, and a batch of bulk writes stops taking more when one arrives.
    Control,
    /// Everything else: the platform link, consoles, video, housekeeping.
    Bulk,
}

/// Most operations folded into one transaction.
const MAX_BATCH: usize = 512;
/// How long queued operations nobody waits for ([`Writer::submit`]) may wait for company
/// before they are committed on their own. Most of them ride along with the next awaited
/// write well before: one commit instead of several small ones, each of which would write
/// the same pages to the WAL again.
const LINGER: Duration = Duration::from_millis(5);

/// Batches in a row that may go without bulk operations while control writes keep coming;
/// the next one takes bulk ones too, so a flood of control writes cannot stop the rest.
const CONTROL_STREAK: u32 = 8;

/// How often an idle writer wakes to beat its pulse.
const IDLE_BEAT: Duration = Duration::from_secs(1);

/// A `Clone` handle to the writer thread.
///
/// The writer keeps two queues. A handle from [`Writer::for_control`] queues in the
/// control queue, every other one in the bulk queue. A control write waits at most for the
/// one bulk write running when it arrives and the commit after it, not for the bulk
/// writes queued before it: under a backlog of platform messages a parcel's decision still
/// commits in a millisecond or two.
#[derive(Clone, Debug)]
pub struct Writer {
    control: mpsc::Sender<Op>,
    bulk: mpsc::Sender<Op>,
    queue: Queue,
    /// Beaten by the thread every batch and every idle second (the service watchdog).
    pulse: crate::service::Pulse,
    /// Counts the committed batches that wrote an outbox message.
    outbox: watch::Receiver<u64>,
}

impl Writer {
    pub(super) fn spawn(conn: Connection, status: StoreStatus) -> Self {
        let (control, control_rx) = mpsc::channel::<Op>(4096);
        let (bulk, bulk_rx) = mpsc::channel::<Op>(4096);
        let pulse = crate::service::Pulse::new();
        let beats = pulse.clone();
        let (outbox_tx, outbox) = watch::channel(0);
        let queues = Queues {
            control: control_rx,
            bulk: bulk_rx,
            carried: VecDeque::new(),
            without_bulk: 0,
        };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, queues, &status, &beats, &outbox_tx))
            .expect("spawn the store writer thread");
        Self {
            control,
            bulk,
            queue: Queue::Bulk,
            pulse,
            outbox,
        }
    }

    /// A handle whose writes go in the control queue, ahead of the bulk writes: for the
    /// sorting lines and the gate lanes only (they are few and small; anything heavy
    /// queued here would delay the decisions it is meant to spare).
    #[must_use]
    pub fn for_control(&self) -> Self {
        Self {
            queue: Queue::Control,
            ..self.clone()
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

    /// Run `f` in a write transaction; resolves only after that transaction committed.
    ///
    /// `f` runs inside its own savepoint: when it returns an error, its changes are rolled
    /// back and the rest of the batch still commits.
    pub async fn write<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        self.queue(f, true).await?.committed().await
    }

    /// Queue `f` and return as soon as it is queued; [`Submitted::committed`] resolves when
    /// it has committed, at the latest [`LINGER`] later.
    ///
    /// Writes through handles of one queue (control or bulk) commit in the order they were
    /// submitted, so once a later write has committed, every earlier one has too. A task
    /// can therefore queue a reading, go on, and rely on the commit of the decision it
    /// writes next through the same handle to cover the reading as well. Between the two
    /// queues there is no such order: a control write can commit before a bulk write
    /// queued earlier.
    pub async fn submit<R, F>(&self, f: F) -> Result<Submitted<R>, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        self.queue(f, false).await
    }

    async fn queue<R, F>(&self, f: F, urgent: bool) -> Result<Submitted<R>, StoreError>
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
        let queue = match self.queue {
            Queue::Control => &self.control,
            Queue::Bulk => &self.bulk,
        };
        queue
            .send(Op {
                run,
                urgent,
                queued: Instant::now(),
            })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        Ok(Submitted(done_rx))
    }
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

/// The writer thread's two queues, and the bulk operations a batch took but left for the
/// next one when control writes arrived (they run first in the next batch, keeping the
/// bulk queue's order).
struct Queues {
    control: mpsc::Receiver<Op>,
    bulk: mpsc::Receiver<Op>,
    carried: VecDeque<Op>,
    /// Batches in a row that ran no bulk operation.
    without_bulk: u32,
}

impl Queues {
    /// The next bulk operation ready now: a carried one, else one from the bulk queue.
    /// `Err(())` when the bulk queue is closed (every handle is gone).
    fn try_bulk(&mut self) -> Result<Option<Op>, ()> {
        if let Some(op) = self.carried.pop_front() {
            return Ok(Some(op));
        }
        match self.bulk.try_recv() {
            Ok(op) => Ok(Some(op)),
            Err(mpsc::error::TryRecvError::Empty) => Ok(None),
            Err(mpsc::error::TryRecvError::Disconnected) => Err(()),
        }
    }

    /// Wait up to `until` for the next operation, control first; `None` when `until` came
    /// first, `Some(None)` when every handle is gone.
    async fn next_until(&mut self, until: Instant) -> Option<Option<(Op, Queue)>> {
        if let Ok(op) = self.control.try_recv() {
            return Some(Some((op, Queue::Control)));
        }
        if let Some(op) = self.carried.pop_front() {
            return Some(Some((op, Queue::Bulk)));
        }
        // Every handle holds both senders, so the queues close together; what the bulk
        // queue still holds then is written before the thread ends.
        tokio::select! {
            biased;
            Some(op) = self.control.recv() => Some(Some((op, Queue::Control))),
            op = self.bulk.recv() => Some(op.map(|op| (op, Queue::Bulk))),
            () = tokio::time::sleep_until(until.into()) => None,
        }
    }
}

/// One transaction's operations, control first.
#[derive(Default)]
struct Batch {
    control: Vec<Op>,
    bulk: VecDeque<Op>,
    urgent: bool,
}

impl Batch {
    fn len(&self) -> usize {
        self.control.len() + self.bulk.len()
    }

    fn push(&mut self, op: Op, queue: Queue) {
        self.urgent |= op.urgent;
        match queue {
            Queue::Control => self.control.push(op),
            Queue::Bulk => self.bulk.push_back(op),
        }
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
    let timings = crate::metrics::StoreWriterTimings::default();
    rt.block_on(async move {
        loop {
            pulse.beat();
            let (op, queue) = match queues.next_until(Instant::now() + IDLE_BEAT).await {
                Some(Some(first)) => first,
                Some(None) => break,
                None => continue, // idle
            };
            let mut batch = Batch::default();
            batch.push(op, queue);
            let closed = gather(&mut queues, &mut batch).await;
            commit(&mut conn, batch, &mut queues, status, &timings);
            if super::outbox::take_enqueued() && !status.commit_failing() {
                outbox.send_modify(|n| *n = n.wrapping_add(1));
            }
            if closed {
                break;
            }
        }
    });
}

/// Fill `batch` with what is queued: every control operation ready, then (unless a
/// control operation is awaited) bulk ones, lingering for company while nobody waits.
/// Returns whether the queues closed.
async fn gather(queues: &mut Queues, batch: &mut Batch) -> bool {
    let linger_until = Instant::now() + LINGER;
    while batch.len() < MAX_BATCH {
        match queues.control.try_recv() {
            Ok(op) => batch.push(op, Queue::Control),
            Err(_) => break,
        }
    }
    // An awaited control write commits with what is ready now and nothing more; after a
    // streak of such batches, with one bulk write.
    if batch.control.iter().any(|op| op.urgent) {
        if queues.without_bulk >= CONTROL_STREAK
            && let Ok(Some(op)) = queues.try_bulk()
        {
            batch.push(op, Queue::Bulk);
        }
        return false;
    }
    while batch.len() < MAX_BATCH {
        match queues.try_bulk() {
            Ok(Some(op)) => {
                batch.push(op, Queue::Bulk);
                continue;
            }
            Ok(None) => {}
            Err(()) => return true,
        }
        if batch.urgent {
            break;
        }
        match queues.next_until(linger_until).await {
            Some(Some((op, queue))) => {
                let awaited_control = queue == Queue::Control && op.urgent;
                batch.push(op, queue);
                if awaited_control {
                    break;
                }
            }
            Some(None) => return true,
            None => break,
        }
    }
    false
}

/// Run `batch` in one transaction and commit it; every operation hears the outcome.
///
/// Control operations run first. Before each bulk operation the control queue is looked
/// at: when a control write has arrived, the bulk operations not yet run are carried to
/// the next batch, the control writes run, and the batch commits.
///
/// A failed commit (disk full, an I/O error, no file handle to open the journal) fails
/// the batch, never the writer: the next batch tries again, so writing resumes by itself
/// once the disk has room. When a write inside fails so badly that SQLite rolls the whole
/// transaction back (it does for a full disk or an I/O error), the rest of the batch is not
/// run outside it: it fails with the batch.
fn commit(
    conn: &mut Connection,
    mut batch: Batch,
    queues: &mut Queues,
    status: &StoreStatus,
    timings: &crate::metrics::StoreWriterTimings,
) {
    let started = Instant::now();
    let mut completions = Vec::with_capacity(batch.len());
    let mut running = Running {
        lost: None,
        completions: &mut completions,
        started,
        timings,
    };
    let outcome: Result<(), String> = match conn.transaction() {
        Ok(tx) => {
            for op in batch.control.drain(..) {
                running.run(op, Queue::Control, &tx);
            }
            // At least one bulk operation runs in a batch that holds any, so they progress
            // however often control writes come.
            let mut bulk_ran = false;
            while let Some(op) = batch.bulk.pop_front() {
                if bulk_ran && !queues.control.is_empty() && running.lost.is_none() {
                    batch.bulk.push_front(op);
                    break;
                }
                running.run(op, Queue::Bulk, &tx);
                bulk_ran = true;
            }
            queues.without_bulk = if bulk_ran {
                0
            } else {
                queues.without_bulk.saturating_add(1)
            };
            // What came in the control queue meanwhile (or stopped the bulk writes).
            let mut taken = 0;
            while taken < MAX_BATCH && running.lost.is_none() {
                let Ok(op) = queues.control.try_recv() else {
                    break;
                };
                running.run(op, Queue::Control, &tx);
                taken += 1;
            }
            let ran = started.elapsed();
            let outcome = match running.lost.take() {
                Some(why) => Err(why),
                None => tx.commit().map_err(|e| e.to_string()),
            };
            timings.batch(ran, started.elapsed().saturating_sub(ran));
            outcome
        }
        Err(e) => {
            let why = e.to_string();
            for op in batch.control.drain(..).chain(batch.bulk.drain(..)) {
                completions.push((op.run)(None).0);
            }
            Err(why)
        }
    };
    // The bulk operations left for the next batch go before anything queued after them.
    while let Some(op) = batch.bulk.pop_back() {
        queues.carried.push_front(op);
    }
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

/// The operations of one transaction as they run.
struct Running<'a> {
    /// Why the transaction is gone, once SQLite rolled it back: the rest only hear so.
    lost: Option<String>,
    completions: &'a mut Vec<Completion>,
    started: Instant,
    timings: &'a crate::metrics::StoreWriterTimings,
}

impl Running<'_> {
    fn run(&mut self, op: Op, queue: Queue, tx: &Transaction<'_>) {
        if op.urgent {
            self.timings.waited(
                queue == Queue::Control,
                self.started.saturating_duration_since(op.queued),
            );
        }
        if self.lost.is_some() {
            self.completions.push((op.run)(None).0);
            return;
        }
        let (complete, error) = (op.run)(Some(tx));
        self.completions.push(complete);
        if tx.is_autocommit() {
            self.lost =
                Some(error.unwrap_or_else(|| "SQLite rolled the transaction back".to_owned()));
        }
    }
}
