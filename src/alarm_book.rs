//! The controller's alarms about itself — the store cannot commit, the disk is filling, a
//! task failed — which must show even while the store cannot take them.
//!
//! Each one lives in memory first ([`AlarmBook::raise`], [`AlarmBook::clear`]), so
//! `/healthz` and the consoles show it at once; [`AlarmBook::run`] writes the changes to the
//! store in the order they happened (with the times they happened), and keeps trying until
//! the store takes them. Their sources are all under [`SOURCE`].

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::store::alarms::{self, AlarmView};
use crate::store::{Store, StoreError};

/// Where the controller's own alarms come from: `controller:store`, `controller:disk`,
/// `controller:task:<name>`.
pub const SOURCE: &str = "controller";
/// How long to wait before writing again after the store refused the changes.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// A `Clone` handle on the controller's alarms.
#[derive(Debug, Clone, Default)]
pub struct AlarmBook {
    /// A `std` mutex: map and queue updates only, never held across `.await`.
    book: Arc<Mutex<Book>>,
    wake: Arc<Notify>,
}

#[derive(Debug, Default)]
struct Book {
    open: BTreeMap<(String, String), Open>,
    /// Changes not yet written to the store, oldest first.
    unwritten: VecDeque<Change>,
    /// Numbers the alarms not written yet (shown negated as their id).
    next_local: i64,
}

#[derive(Debug, Clone)]
struct Open {
    detail: String,
    at: String,
    /// Its id in the store, once written.
    id: Option<i64>,
    local: i64,
}

#[derive(Debug, Clone)]
enum Change {
    Raise {
        source: String,
        kind: String,
        detail: String,
        at: String,
    },
    Clear {
        source: String,
        kind: String,
        at: String,
    },
}

impl AlarmBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Raise `kind` from `source` (under [`SOURCE`]); an alarm already open keeps its time
    /// and takes the new detail. Returns whether it was newly raised.
    pub fn raise(&self, source: &str, kind: &str, detail: impl Into<String>) -> bool {
        let detail = detail.into();
        let mut book = self.lock();
        let key = (source.to_owned(), kind.to_owned());
        if let Some(open) = book.open.get_mut(&key) {
            open.detail = detail;
            return false;
        }
        let at = crate::store::now();
        book.next_local += 1;
        let local = book.next_local;
        book.open.insert(
            key,
            Open {
                detail: detail.clone(),
                at: at.clone(),
                id: None,
                local,
            },
        );
        book.unwritten.push_back(Change::Raise {
            source: source.to_owned(),
            kind: kind.to_owned(),
            detail,
            at,
        });
        drop(book);
        self.wake.notify_one();
        true
    }

    /// Clear `kind` from `source`; returns whether it was open.
    pub fn clear(&self, source: &str, kind: &str) -> bool {
        let mut book = self.lock();
        if book
            .open
            .remove(&(source.to_owned(), kind.to_owned()))
            .is_none()
        {
            return false;
        }
        book.unwritten.push_back(Change::Clear {
            source: source.to_owned(),
            kind: kind.to_owned(),
            at: crate::store::now(),
        });
        drop(book);
        self.wake.notify_one();
        true
    }

    /// Whether `kind` from `source` is open.
    pub fn is_open(&self, source: &str, kind: &str) -> bool {
        self.lock()
            .open
            .contains_key(&(source.to_owned(), kind.to_owned()))
    }

    /// The open alarms as the consoles show them, newest first; one not yet in the store
    /// has a negative id (it cannot be acknowledged until it is written).
    pub fn views(&self) -> Vec<AlarmView> {
        let book = self.lock();
        let mut views: Vec<AlarmView> = book
            .open
            .iter()
            .map(|((source, kind), open)| AlarmView {
                id: open.id.unwrap_or(-open.local),
                at: open.at.clone(),
                source: source.clone(),
                kind: kind.clone(),
                detail: open.detail.clone(),
                parcel_id: None,
                acked_by: None,
                acked_at: None,
            })
            .collect();
        views.sort_by(|a, b| b.at.cmp(&a.at));
        views
    }

    /// How many changes wait for the store.
    pub fn unwritten(&self) -> usize {
        self.lock().unwritten.len()
    }

    /// Write changes to `store` as they come, until `shutdown`; at the start, clear what a
    /// previous run left open under [`SOURCE`].
    pub async fn run(self, store: Store, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut stale_cleared = false;
        loop {
            if !stale_cleared {
                match store
                    .writer
                    .write(|tx| alarms::clear_under(tx, SOURCE))
                    .await
                {
                    Ok(n) => {
                        stale_cleared = true;
                        if n > 0 {
                            info!(cleared = n, "alarms a previous run left open cleared");
                        }
                    }
                    Err(e) => debug!(error = %e, "previous run's alarms not cleared yet"),
                }
            }
            let written = if stale_cleared {
                self.write_pending(&store).await
            } else {
                Err(StoreError::CommitFailed("waiting for the store".into()))
            };
            let pause = match written {
                Ok(()) => None,
                Err(e) => {
                    debug!(error = %e, pending = self.unwritten(), "alarms wait for the store");
                    Some(RETRY_EVERY)
                }
            };
            tokio::select! {
                () = shutdown.cancelled() => {
                    // One last try, so that a clear made while stopping is kept.
                    let _ = self.write_pending(&store).await;
                    return Ok(());
                }
                () = self.wake.notified(), if pause.is_none() => {}
                () = tokio::time::sleep(pause.unwrap_or_default()), if pause.is_some() => {}
            }
        }
    }

    /// Write every queued change in one transaction.
    async fn write_pending(&self, store: &Store) -> Result<(), StoreError> {
        let changes: Vec<Change> = self.lock().unwritten.iter().cloned().collect();
        if changes.is_empty() {
            return Ok(());
        }
        let n = changes.len();
        let ids = store
            .writer
            .write(move |tx| {
                let mut ids = Vec::new();
                for change in &changes {
                    match change {
                        Change::Raise {
                            source,
                            kind,
                            detail,
                            at,
                        } => {
                            let source = format!("{SOURCE}:{source}");
                            let id = alarms::raise_at(tx, at, &source, kind, detail, None)?;
                            ids.push((source, kind.clone(), at.clone(), id));
                        }
                        Change::Clear { source, kind, at } => {
                            alarms::clear_at(tx, at, &format!("{SOURCE}:{source}"), kind)?;
                        }
                    }
                }
                Ok(ids)
            })
            .await?;
        let mut book = self.lock();
        book.unwritten.drain(..n);
        for (source, kind, at, id) in ids {
            let source = source
                .strip_prefix(&format!("{SOURCE}:"))
                .unwrap_or(&source)
                .to_owned();
            if let Some(open) = book.open.get_mut(&(source, kind))
                && open.at == at
            {
                open.id = Some(id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_alarm_shows_at_once_and_reaches_the_store_with_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let book = AlarmBook::default();
        assert!(book.raise("store", "store_commit_failed", "database or disk is full"));
        assert!(!book.raise("store", "store_commit_failed", "still full"));
        let shown = book.views();
        assert_eq!(shown.len(), 1);
        assert!(shown[0].id < 0, "not in the store yet");
        assert_eq!(shown[0].detail, "still full");
        let raised_at = shown[0].at.clone();

        book.write_pending(&store).await.unwrap();
        let in_store = store
            .reader
            .read(|c| alarms::open(c, "controller", 10))
            .await
            .unwrap();
        assert_eq!(in_store.len(), 1);
        assert_eq!(in_store[0].source, "controller:store");
        assert_eq!(in_store[0].at, raised_at);
        assert_eq!(book.views()[0].id, in_store[0].id);

        assert!(book.clear("store", "store_commit_failed"));
        assert!(book.views().is_empty());
        book.write_pending(&store).await.unwrap();
        assert_eq!(book.unwritten(), 0);
        let open = store
            .reader
            .read(|c| alarms::open(c, "controller", 10))
            .await
            .unwrap();
        assert!(open.is_empty(), "{open:?}");
    }
}
