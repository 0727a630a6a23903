//! The writer thread: gathers a batch from the two queues, runs it in one transaction and
//! commits it.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rusqlite::{Connection, Transaction};
use tokio::sync::{mpsc, watch};

use super::{Completion, LINGER, Op, Queue};
use crate::store::status::StoreStatus;

/// How often an idle writer wakes to beat its pulse.
const IDLE_BEAT: Duration = Duration::from_secs(1);

/// Batches in a row that may go without bulk operations while control writes keep coming;
/// the next one takes bulk ones too, so a flood of control writes cannot stop the rest.
const CONTROL_STREAK: u32 = 8;

/// Most operations folded into one transaction.
const MAX_BATCH: usize = 512;

/// How long a batch runs bulk operations before it commits and leaves the rest to the
/// next one. A control write that arrives meanwhile waits for the bulk operation running
/// and then for the commit of everything the batch wrote, so this bounds both: batches
/// filled with queued list parts (100 lists each) took 10-25 ms to run and commit under
/// the platform link's bulk work, most of a decision's tail latency there.
const BULK_BUDGET: Duration = Duration::from_millis(2);

/// The writer thread's two queues, and the bulk operations a batch took but left for the
/// next one when control writes arrived (they run first in the next batch, keeping the
/// bulk queue's order).
pub(super) struct Queues {
    pub(super) control: mpsc::Receiver<Op>,
    pub(super) bulk: mpsc::Receiver<Op>,
    pub(super) carried: VecDeque<Op>,
    /// Batches in a row that ran no bulk operation.
    pub(super) without_bulk: u32,
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

pub(super) fn run(
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
            if crate::store::outbox::take_enqueued() && !status.commit_failing() {
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
/// at: when a control write has arrived, or the batch has run for [`BULK_BUDGET`], the
/// bulk operations not yet run are carried to the next batch, the control writes run, and
/// the batch commits.
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
                let stop = !queues.control.is_empty() || started.elapsed() >= BULK_BUDGET;
                if bulk_ran && stop && running.lost.is_none() {
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
