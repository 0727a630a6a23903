//! The listener's counters, shared with the web API.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// What the plate-camera listener has done since it started.
#[derive(Debug, Default)]
pub struct CameraStats {
    /// Plate reads accepted and handed to their lane (no-reads included).
    accepted: AtomicU64,
    /// Of those, reads without a plate.
    no_reads: AtomicU64,
    /// Well-formed events that are not plate reads (heartbeats, video loss): acknowledged
    /// and dropped.
    not_plate: AtomicU64,
    /// `401`s that asked for credentials or a fresh nonce: the normal Digest handshake.
    challenges: AtomicU64,
    /// Requests whose credentials were wrong, malformed, replayed or of the wrong scheme.
    auth_failures: AtomicU64,
    /// Requests answered `429` unchecked: too many wrong credentials.
    throttled: AtomicU64,
    /// Events refused, by reason code. A `std` mutex: held for one map update, and the
    /// codes are a fixed set of `&'static str`, so the map stays small.
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

/// A snapshot of [`CameraStats`], for the JSON API.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CameraStatsView {
    /// Plate reads accepted and handed to their lane (no-reads included).
    pub accepted: u64,
    /// Of those, reads without a plate.
    pub no_reads: u64,
    /// Events that were not plate reads, acknowledged and dropped.
    pub not_plate_events: u64,
    /// `401` challenges (first contact, stale nonce).
    pub challenges: u64,
    /// Requests refused for wrong, malformed or replayed credentials, or the wrong scheme.
    pub auth_failures: u64,
    /// Requests answered `429` without being checked, after too many wrong credentials.
    pub throttled: u64,
    /// Events refused, by reason code (`plate_event_bad_xml`, `lane_busy`, …).
    pub rejected: BTreeMap<String, u64>,
}

impl CameraStats {
    /// The counters now.
    pub fn snapshot(&self) -> CameraStatsView {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CameraStatsView {
            accepted: get(&self.accepted),
            no_reads: get(&self.no_reads),
            not_plate_events: get(&self.not_plate),
            challenges: get(&self.challenges),
            auth_failures: get(&self.auth_failures),
            throttled: get(&self.throttled),
            rejected: self
                .rejected
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|(code, n)| ((*code).to_owned(), *n))
                .collect(),
        }
    }

    pub(super) fn accepted(&self, no_read: bool) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
        if no_read {
            self.no_reads.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn not_plate(&self) {
        self.not_plate.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn challenged(&self) {
        self.challenges.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn auth_failed(&self) {
        self.auth_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn rejected(&self, code: &'static str) {
        *self
            .rejected
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(code)
            .or_insert(0) += 1;
    }
}
