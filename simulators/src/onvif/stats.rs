//! What a camera has done: [`CameraStats`] for its owner, and the counters behind it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

/// What the camera has done, since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraStats {
    /// MJPEG frames written to stream clients (all clients, all profiles).
    pub frames_sent: u64,
    /// Snapshots answered with `200`.
    pub snapshots_served: u64,
    /// Requests refused for wrong or missing credentials: SOAP `ter:NotAuthorized`
    /// answers and HTTP requests with wrong credentials (a first request without
    /// credentials, answered with a challenge, is not counted).
    pub auth_failures: u64,
    /// SOAP requests by operation (`GetProfiles`, ...; unreadable ones as `(malformed)`).
    pub soap_requests: BTreeMap<String, u64>,
    /// WS-Discovery probes answered with a ProbeMatch.
    pub probes_answered: u64,
    /// Times the HTTP server came up (1 + reboots completed).
    pub boots: u64,
    /// MJPEG clients connected now.
    pub stream_clients: u64,
}

/// Counters behind [`CameraStats`]; atomics, but the per-operation map sits behind a
/// `std` mutex held for one insert.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) frames_sent: AtomicU64,
    pub(crate) snapshots_served: AtomicU64,
    pub(crate) auth_failures: AtomicU64,
    pub(crate) probes_answered: AtomicU64,
    pub(crate) stream_clients: AtomicU64,
    soap: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    /// Counts one SOAP request for `action`.
    pub(crate) fn soap(&self, action: &str) {
        let mut map = self.soap.lock().unwrap_or_else(PoisonError::into_inner);
        *map.entry(action.chars().take(64).collect()).or_default() += 1;
    }

    /// The SOAP requests counted so far, by operation.
    pub(crate) fn soap_counts(&self) -> BTreeMap<String, u64> {
        self.soap
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
