//! The statistics answer, computed once per range every few seconds however many screens
//! ask.
//!
//! One computation costs milliseconds of CPU over a day of parcels; big screens, consoles
//! and scrapers asking at once would each pay it. Answers are kept as their JSON bytes per
//! range as asked (`from`, `to` as given; no `to` means "until now") for [`FRESH_FOR`], and
//! requests for a range being computed wait for that computation instead of starting
//! another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;

/// How long an answer is served before it is computed again.
pub(super) const FRESH_FOR: Duration = Duration::from_secs(5);

/// Ranges kept at most; beyond it, stale ones are dropped first.
const MAX_RANGES: usize = 64;

type Key = (Option<String>, Option<String>);
type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Bytes)>>>;

/// The cache, shared by the server's handlers (one per router, so two servers in one
/// process never see each other's figures).
#[derive(Debug, Clone, Default)]
pub(in crate::web) struct StatsCache {
    /// A `std` mutex: held only to find or insert a slot, never across `.await`.
    slots: Arc<Mutex<HashMap<Key, Slot>>>,
}

impl StatsCache {
    /// The answer for `key`, fresh within [`FRESH_FOR`], from `compute` when there is none.
    pub(super) async fn get_or_compute<F, Fut, E>(&self, key: Key, compute: F) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        let slot = self.slot(key);
        let mut held = slot.lock().await;
        if let Some((at, bytes)) = held.as_ref()
            && at.elapsed() < FRESH_FOR
        {
            return Ok(bytes.clone());
        }
        let bytes = compute().await?;
        *held = Some((Instant::now(), bytes.clone()));
        Ok(bytes)
    }

    fn slot(&self, key: Key) -> Slot {
        let mut slots = self.slots.lock().expect("stats cache lock");
        if slots.len() >= MAX_RANGES && !slots.contains_key(&key) {
            // A slot being computed or read is locked: keep it; drop the rest that are stale.
            slots.retain(|_, slot| {
                slot.try_lock().map_or(true, |held| {
                    held.as_ref()
                        .is_some_and(|(at, _)| at.elapsed() < FRESH_FOR)
                })
            });
            if slots.len() >= MAX_RANGES {
                slots.clear();
            }
        }
        Arc::clone(slots.entry(key).or_default())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_requests_for_one_range_share_one_computation() {
        let cache = StatsCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let key: Key = (Some("2026-11-27T00:00:00+08:00".into()), None);
        let asks = (0..20).map(|_| {
            let (cache, runs, key) = (cache.clone(), Arc::clone(&runs), key.clone());
            tokio::spawn(async move {
                cache
                    .get_or_compute(key, || async move {
                        runs.fetch_add(1, Ordering::SeqCst);
                        tokio::task::yield_now().await;
                        Ok::<_, ()>(Bytes::from_static(b"{\"parcels\":7}"))
                    })
                    .await
            })
        });
        for ask in asks.collect::<Vec<_>>() {
            assert_eq!(
                ask.await.unwrap().unwrap(),
                Bytes::from_static(b"{\"parcels\":7}")
            );
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn another_range_or_a_failure_is_not_served_from_the_cache() {
        let cache = StatsCache::default();
        let a = cache
            .get_or_compute((None, None), || async {
                Ok::<_, ()>(Bytes::from_static(b"a"))
            })
            .await;
        let b = cache
            .get_or_compute((Some("x".into()), None), || async {
                Ok::<_, ()>(Bytes::from_static(b"b"))
            })
            .await;
        assert_eq!(
            (a.unwrap(), b.unwrap()),
            (Bytes::from_static(b"a"), Bytes::from_static(b"b"))
        );
        let failed = cache
            .get_or_compute((Some("y".into()), None), || async {
                Err::<Bytes, _>("store down")
            })
            .await;
        assert_eq!(failed, Err("store down"));
        let retried = cache
            .get_or_compute((Some("y".into()), None), || async {
                Ok::<_, ()>(Bytes::from_static(b"y"))
            })
            .await;
        assert_eq!(
            retried,
            Ok(Bytes::from_static(b"y")),
            "a failure is not kept"
        );
    }
}
