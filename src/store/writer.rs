//! The single writer: one thread owns the write connection and commits in batches.

use std::time::Duration;

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
/// How long queued operations nobody waits for ([`Writer::submit`]) may wait for company
/// before they are committed on their own. Most of them ride along with the next awaited
/// write well before: one commit instead of several small ones, each of which would write
/// the same pages to the WAL again.
const LINGER: Duration = Duration::from_millis(5);

/// How often an idle writer wakes to beat its pulse.
const IDLE_BEAT: Duration = Duration::from_secs(1);

/// A `Clone` handle to the writer thread.
#[derive(Clone, Debug)]
pub struct Writer {
    tx: mpsc::Sender<Op>,
    /// Beaten by the thread every batch and every idle second (the service watchdog).
    pulse: crate::service::Pulse,
    /// Counts the committed batches that wrote an outbox message.
    outbox: watch::Receiver<u64>,
}

impl Writer {
    pub(super) fn spawn(conn: Connection, status: StoreStatus) -> Self {
        let (tx, rx) = mpsc::channel::<Op>(4096);
        let pulse = crate::service::Pulse::new();
        let beats = pulse.clone();
        let (outbox_tx, outbox) = watch::channel(0);
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(conn, rx, &status, &beats, &outbox_tx))
            .expect("spawn the store writer thread");
        Self { tx, pulse, outbox }
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
    /// Writes commit in the order they were submitted (one queue, one thread, batches in
    /// order), so once a later write has committed, every earlier one has too. A task can
    /// therefore queue a reading, go on, and rely on the commit of the decision it writes
    /// next to cover the reading as well.
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
        self.tx
            .send(Op { run, urgent })
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

fn run(
    mut conn: Connection,
    mut rx: mpsc::Receiver<Op>,
    status: &StoreStatus,
    pulse: &crate::service::Pulse,
    outbox: &watch::Sender<u64>,
) {
    // A runtime of this thread's own, only for waiting on the queue with a deadline.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("the store writer's timer");
    rt.block_on(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        loop {
            pulse.beat();
            let op = match tokio::time::timeout(IDLE_BEAT, rx.recv()).await {
                Ok(Some(op)) => op,
                Ok(None) => break,
                Err(_) => continue, // idle
            };
            let linger_until = tokio::time::Instant::now() + LINGER;
            let mut urgent = op.urgent;
            batch.push(op);
            let mut closed = false;
            while batch.len() < MAX_BATCH {
                let next = match rx.try_recv() {
                    Ok(op) => Some(op),
                    Err(mpsc::error::TryRecvError::Disconnected) => {
                        closed = true;
                        None
                    }
                    Err(mpsc::error::TryRecvError::Empty) if urgent => None,
                    Err(mpsc::error::TryRecvError::Empty) => {
                        match tokio::time::timeout_at(linger_until, rx.recv()).await {
                            Ok(Some(op)) => Some(op),
                            Ok(None) => {
                                closed = true;
                                None
                            }
                            Err(_) => None,
                        }
                    }
                };
                let Some(op) = next else { break };
                urgent |= op.urgent;
                batch.push(op);
            }
            commit(&mut conn, &mut batch, status);
            if super::outbox::take_enqueued() && !status.commit_failing() {
                outbox.send_modify(|n| *n = n.wrapping_add(1));
            }
            if closed {
                break;
            }
        }
    });
}

/// Run `batch` in one transaction and commit it; every operation hears the outcome.
///
/// A failed commit (disk full, an I/O error, no file handle to open the journal) fails
/// the batch, never the writer: the next batch tries again, so writing resumes by itself
/// once the disk has room. When a write inside fails so badly that SQLite rolls the whole
/// transaction back (it does for a full disk or an I/O error), the rest of the batch is not
/// run outside it: it fails with the batch.
fn commit(conn: &mut Connection, batch: &mut Vec<Op>, status: &StoreStatus) {
    let mut completions = Vec::with_capacity(batch.len());
    let outcome: Result<(), String> = match conn.transaction() {
        Ok(tx) => {
            let mut lost: Option<String> = None;
            for op in batch.drain(..) {
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
