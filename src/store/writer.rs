//! The single writer: one thread owns the write connection and commits in batches.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

mod thread;

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

/// How long queued operations nobody waits for ([`Writer::submit`]) may wait for company
/// before they are committed on their own. Most of them ride along with the next awaited
/// write well before: one commit instead of several small ones, each of which would write
/// the same pages to the WAL again.
const LINGER: Duration = Duration::from_millis(5);

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
        let queues = thread::Queues {
            control: control_rx,
            bulk: bulk_rx,
            carried: VecDeque::new(),
            without_bulk: 0,
        };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || thread::run(conn, queues, &status, &beats, &outbox_tx))
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
