//! Digest nonces that cost the server nothing to hand out, and the small book of the ones
//! in use that makes each nonce count good once.
//!
//! **Why signed nonces, not a book of issued ones.** Every `401` carries a fresh nonce, and
//! anyone may ask for a `401` without credentials. A server that remembers each nonce it
//! issued must bound that memory, so a caller that asks for enough challenges pushes out
//! the nonce a camera is using (the camera's next post is refused, and, under a steady
//! flood, so is its retry). Here a nonce is its issue time and a random salt, signed with
//! HMAC-SHA256 under the server's secret key: the server knows it issued a nonce, and
//! when, by checking the signature, without having kept it. Handing one out writes
//! nothing.
//!
//! **What is remembered, and by whom.** Only a nonce that came back with the right
//! password enters the [`ReplayBook`] (for its nonce counts, so a captured request cannot
//! be replayed): an unauthenticated caller cannot add to it or push anything out of it.
//! The book is bounded; when full, the nonce issued longest ago leaves it, and every nonce
//! issued at or before that one is answered as stale from then on (its client takes a
//! fresh nonce and posts again), so a forgotten nonce can never be replayed.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;

/// The signed part of a nonce: its issue time (milliseconds since the authenticator's
/// epoch, big-endian, so keys sort by issue time) and a random salt.
pub(super) type NonceId = [u8; 16];

/// Bytes of the HMAC kept in a nonce (128 bits).
const MAC_BYTES: usize = 16;

/// Makes and opens signed nonces.
#[derive(Debug)]
pub(super) struct NonceSigner {
    key: [u8; 32],
    /// Issue times are counted from here.
    epoch: Instant,
}

impl NonceSigner {
    pub(super) fn new(key: [u8; 32], epoch: Instant) -> Self {
        Self { key, epoch }
    }

    fn mac(&self, id: &NonceId) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(b"customs-edge digest nonce v1");
        mac.update(id);
        mac
    }

    /// A fresh nonce issued at `now`: 64 hex digits.
    pub(super) fn issue(&self, now: Instant) -> String {
        let ms = u64::try_from(now.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX);
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&ms.to_be_bytes());
        id[8..].copy_from_slice(&rand::random::<[u8; 8]>());
        let tag = self.mac(&id).finalize().into_bytes();
        let mut out = [0u8; 16 + MAC_BYTES];
        out[..16].copy_from_slice(&id);
        out[16..].copy_from_slice(&tag[..MAC_BYTES]);
        hex::encode(out)
    }

    /// The nonce's id and when it was issued, when this server signed it.
    pub(super) fn open(&self, nonce: &str) -> Option<(NonceId, Instant)> {
        if nonce.len() != 2 * (16 + MAC_BYTES) {
            return None;
        }
        let bytes = hex::decode(nonce).ok()?;
        let id: NonceId = bytes[..16].try_into().ok()?;
        // Constant time, over the kept bytes only.
        self.mac(&id).verify_truncated_left(&bytes[16..]).ok()?;
        let ms = u64::from_be_bytes(id[..8].try_into().ok()?);
        Some((id, self.epoch + Duration::from_millis(ms)))
    }
}

/// What is known of one nonce in use.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    /// Highest nonce count accepted.
    max_nc: u32,
    /// Bit `i` set: count `max_nc - i` was accepted. Counts may arrive out of order (a
    /// client posting concurrently); each is accepted once, within a 64-count window.
    seen: u64,
}

impl Counts {
    /// Records `nc`; false when it was used before or is too far behind the newest.
    fn accept(&mut self, nc: u32) -> bool {
        if nc == 0 {
            return false;
        }
        if nc > self.max_nc {
            let shift = nc - self.max_nc;
            self.seen = if shift >= 64 { 0 } else { self.seen << shift } | 1;
            self.max_nc = nc;
            return true;
        }
        let back = self.max_nc - nc;
        if back >= 64 || self.seen & (1 << back) != 0 {
            return false;
        }
        self.seen |= 1 << back;
        true
    }
}

/// Why a nonce count was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// Issued before the book's horizon and no longer in it: take a fresh nonce.
    Forgotten,
    /// This count was used before with this nonce.
    Replay,
}

/// The nonces that authenticated requests used, with their counts; bounded.
#[derive(Debug, Default)]
pub(super) struct ReplayBook {
    /// By id, so by issue time: the first is the oldest.
    nonces: BTreeMap<NonceId, Counts>,
    /// Every nonce with an id at or below this one and not in the book is refused.
    horizon: Option<NonceId>,
}

impl ReplayBook {
    /// How many nonces are held.
    pub(super) fn len(&self) -> usize {
        self.nonces.len()
    }

    /// Takes count `nc` of nonce `id` (signed and within its lifetime): once per count.
    /// Nonces issued before `expired_before` are dropped first; at most `max` are held.
    pub(super) fn take(
        &mut self,
        id: NonceId,
        nc: u32,
        expired_before: Option<NonceId>,
        max: usize,
    ) -> Result<(), Refused> {
        if let Some(cut) = expired_before {
            while self.nonces.first_key_value().is_some_and(|(k, _)| *k < cut) {
                self.nonces.pop_first();
            }
        }
        if let Some(counts) = self.nonces.get_mut(&id) {
            return if counts.accept(nc) {
                Ok(())
            } else {
                Err(Refused::Replay)
            };
        }
        if self.horizon.is_some_and(|h| id <= h) {
            return Err(Refused::Forgotten);
        }
        let mut counts = Counts::default();
        if !counts.accept(nc) {
            return Err(Refused::Replay);
        }
        if self.nonces.len() >= max.max(1) {
            // Full: the oldest nonce goes, unless this one is older still.
            match self.nonces.first_key_value() {
                Some((oldest, _)) if *oldest > id => return Err(Refused::Forgotten),
                _ => {}
            }
            while self.nonces.len() >= max.max(1) {
                let Some((oldest, _)) = self.nonces.pop_first() else {
                    break;
                };
                self.horizon = self.horizon.max(Some(oldest));
            }
        }
        self.nonces.insert(id, counts);
        Ok(())
    }
}

/// The id at the start of millisecond `ms`: every id issued before it sorts below.
pub(super) fn id_at(ms: u64) -> NonceId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&ms.to_be_bytes());
    id
}
