//! How the line copes with what goes wrong around it: bad input kept for inspection
//! without flooding the disk, and store writes that fail counted and logged now and then
//! (the line goes on, failing closed, see [`super::decide`]).

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, warn};

use super::Line;
use crate::store::{StoreError, parcels};

impl Line {
    /// A write failed: logged at most every [`StoreFaults::WARN_EVERY`] with how many
    /// failed since; the store's own alarm and `/healthz` say what is wrong.
    pub(super) fn store_fault(&mut self, error: &StoreError) {
        if let Some(since) = self.store_faults.note() {
            warn!(line = %self.config.id, %error, failed_writes = since, "store writes failing; the line fails closed and goes on");
        } else {
            debug!(line = %self.config.id, %error, "store write failed");
        }
    }

    /// Keep a piece of bad input for inspection; the same kind of junk from the same source
    /// is stored at most once a minute with a repeat count, so a garbled device cannot flood
    /// the disk, and every occurrence is logged at debug level. Queued, not awaited.
    pub(super) async fn reject(
        &mut self,
        source: String,
        reason: String,
        payload: String,
    ) -> Result<(), StoreError> {
        let Some(repeats) = self.rejects.admit(&source, &reason) else {
            return Ok(());
        };
        let reason = if repeats > 0 {
            format!("{reason} (and {repeats} more like it in the last minute)")
        } else {
            reason
        };
        let at = crate::store::now();
        self.record(move |tx| parcels::reject_input(tx, &at, &source, &reason, &payload))
            .await
    }
}

/// Store writes that failed, for a warning now and then rather than one per write.
#[derive(Debug, Default)]
pub(super) struct StoreFaults {
    last_warned: Option<Instant>,
    since_warned: u64,
}

impl StoreFaults {
    const WARN_EVERY: Duration = Duration::from_secs(10);

    /// Count one; `Some(count since the last warning)` when it is time to warn again.
    fn note(&mut self) -> Option<u64> {
        self.since_warned += 1;
        let now = Instant::now();
        if self.last_warned.is_some_and(|t| now - t < Self::WARN_EVERY) {
            return None;
        }
        self.last_warned = Some(now);
        Some(std::mem::take(&mut self.since_warned))
    }
}

/// Rate limit for storing repeated bad input.
#[derive(Debug, Default)]
pub(super) struct RejectThrottle {
    /// (source, reason kind) → (last stored, suppressed since).
    seen: HashMap<(String, String), (Instant, u32)>,
}

impl RejectThrottle {
    const PERIOD: Duration = Duration::from_secs(60);

    /// `Some(suppressed count)` when this one should be stored.
    fn admit(&mut self, source: &str, reason: &str) -> Option<u32> {
        let kind: String = reason.chars().filter(|c| !c.is_ascii_digit()).collect();
        let now = Instant::now();
        let entry = self
            .seen
            .entry((source.to_owned(), kind))
            .or_insert((now - Self::PERIOD, 0));
        if now - entry.0 >= Self::PERIOD {
            let suppressed = entry.1;
            *entry = (now, 0);
            Some(suppressed)
        } else {
            entry.1 += 1;
            None
        }
    }
}
