//! The server side: challenges out, `Authorization` headers in, a bounded nonce book.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use super::{
    Algorithm, AuthError, Challenge, Credentials, DigestChallenge, DigestInput, constant_time_eq,
    cut,
};

/// How a request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthScheme {
    /// Basic: the password was sent in clear.
    Basic,
    /// Digest with this algorithm.
    Digest(Algorithm),
}

/// Issues challenges and verifies credentials for one realm.
///
/// It is shared by every connection of a listener (`&self` methods, `Send + Sync`): the
/// nonce book sits behind a `std::sync::Mutex` held for a map lookup only, never across
/// an `.await`. The book holds at most `max_nonces` nonces; issuing one more forgets the
/// oldest, whose client then gets a `stale=true` challenge and carries on with a new one.
#[derive(Debug)]
pub struct Authenticator {
    realm: String,
    /// Returned unchanged by clients; derived from the key so it is the same for every
    /// challenge of this authenticator.
    opaque: String,
    /// Secret that nonces are derived from, so they cannot be predicted.
    key: [u8; 32],
    lifetime: Duration,
    max_nonces: usize,
    /// The nonces issued and not yet forgotten. A `std` mutex: held for a lookup only.
    book: Mutex<NonceBook>,
}

/// Nonces issued, in order of issue, with the counts seen for each.
#[derive(Debug, Default)]
struct NonceBook {
    issued: u64,
    nonces: HashMap<String, NonceState>,
    /// Issue order, for forgetting the oldest; may name nonces already forgotten.
    order: VecDeque<String>,
}

/// What is known of one issued nonce.
#[derive(Debug, Clone, Copy)]
struct NonceState {
    issued_at: Instant,
    /// Highest nonce count accepted.
    max_nc: u32,
    /// Bit `i` set: count `max_nc - i` was accepted. Counts may arrive out of order (a
    /// client posting concurrently); each is accepted once, within a 64-count window.
    seen: u64,
}

impl NonceState {
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

impl Authenticator {
    /// How long a nonce is accepted after it was issued, by default.
    pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(300);
    /// Most nonces remembered at once, by default.
    pub const DEFAULT_MAX_NONCES: usize = 1024;

    /// An authenticator for `realm`; `key` is a random secret the nonces are derived from.
    pub fn new(realm: impl Into<String>, key: [u8; 32]) -> Self {
        let opaque = hex::encode(Sha256::digest([&key[..], b"opaque"].concat()))[..32].to_owned();
        Self {
            realm: realm.into(),
            opaque,
            key,
            lifetime: Self::DEFAULT_NONCE_LIFETIME,
            max_nonces: Self::DEFAULT_MAX_NONCES,
            book: Mutex::new(NonceBook::default()),
        }
    }

    /// The same with another nonce lifetime and book size (at least 1).
    #[must_use]
    pub fn with_limits(mut self, lifetime: Duration, max_nonces: usize) -> Self {
        self.lifetime = lifetime;
        self.max_nonces = max_nonces.max(1);
        self
    }

    /// The protection space.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// How many nonces are remembered now.
    pub fn nonces_held(&self) -> usize {
        self.lock().nonces.len()
    }

    /// Issues a fresh nonce at `now`.
    pub fn issue_nonce(&self, now: Instant) -> String {
        let mut book = self.lock();
        while let Some(oldest) = book.order.front() {
            let expired = book
                .nonces
                .get(oldest)
                .is_none_or(|s| now.saturating_duration_since(s.issued_at) > self.lifetime);
            if !expired && book.order.len() < self.max_nonces {
                break;
            }
            if let Some(oldest) = book.order.pop_front() {
                book.nonces.remove(&oldest);
            }
        }
        book.issued += 1;
        let seed = [&self.key[..], &book.issued.to_le_bytes()].concat();
        let nonce = hex::encode(Sha256::digest(seed))[..32].to_owned();
        book.order.push_back(nonce.clone());
        book.nonces.insert(
            nonce.clone(),
            NonceState {
                issued_at: now,
                max_nc: 0,
                seen: 0,
            },
        );
        nonce
    }

    /// The challenges for a `401`, best first, sharing one fresh nonce: Digest SHA-256,
    /// Digest MD5, Basic. `stale` tells a client whose credentials were right to retry
    /// with the new nonce.
    pub fn challenges(&self, stale: bool, now: Instant) -> Vec<Challenge> {
        let nonce = self.issue_nonce(now);
        let digest = |algorithm| {
            Challenge::Digest(DigestChallenge {
                realm: self.realm.clone(),
                nonce: nonce.clone(),
                opaque: Some(self.opaque.clone()),
                algorithm,
                qop: vec!["auth".to_owned()],
                stale,
            })
        };
        vec![
            digest(Algorithm::Sha256),
            digest(Algorithm::Md5),
            Challenge::Basic {
                realm: self.realm.clone(),
            },
        ]
    }

    /// Verifies an `Authorization` header for a request of `method` to `uri` (its path
    /// and query as in the request line) against `user` and `password`.
    ///
    /// Digest must use MD5 or SHA-256 with `qop=auth`, this realm and opaque, the
    /// request's `uri`, a nonce issued here within its lifetime and a nonce count not
    /// used before with it. The response is checked before the nonce, so a wrong
    /// password never consumes a count, and compared in constant time.
    pub fn verify(
        &self,
        authorization: &str,
        method: &str,
        uri: &str,
        user: &str,
        password: &str,
        now: Instant,
    ) -> Result<AuthScheme, AuthError> {
        let d = match Credentials::parse(authorization)? {
            Credentials::Basic {
                username,
                password: sent,
            } => {
                let user_ok = constant_time_eq(username.as_bytes(), user.as_bytes());
                let password_ok = constant_time_eq(sent.as_bytes(), password.as_bytes());
                return if user_ok & password_ok {
                    Ok(AuthScheme::Basic)
                } else {
                    Err(AuthError::WrongCredentials)
                };
            }
            Credentials::Digest(d) => d,
        };
        if !matches!(d.algorithm, Algorithm::Md5 | Algorithm::Sha256) {
            return Err(AuthError::UnsupportedAlgorithm(
                d.algorithm.name().to_owned(),
            ));
        }
        let qop = d.qop.as_deref().ok_or(AuthError::MissingParam("qop"))?;
        if !qop.eq_ignore_ascii_case("auth") {
            return Err(AuthError::UnsupportedQop(cut(qop)));
        }
        let nc = d.nc.ok_or(AuthError::MissingParam("nc"))?;
        let cnonce = d
            .cnonce
            .as_deref()
            .ok_or(AuthError::MissingParam("cnonce"))?;
        if d.realm != self.realm {
            return Err(AuthError::WrongRealm(cut(&d.realm)));
        }
        if d.uri != uri {
            return Err(AuthError::UriMismatch {
                sent: cut(&d.uri),
                request: cut(uri),
            });
        }
        if d.opaque.as_deref().is_some_and(|o| o != self.opaque) {
            return Err(AuthError::OpaqueMismatch);
        }
        let nc_hex = format!("{nc:08x}");
        let expected = DigestInput {
            algorithm: d.algorithm,
            username: user,
            realm: &self.realm,
            password,
            method,
            uri,
            nonce: &d.nonce,
            qop: Some(("auth", &nc_hex, cnonce)),
        }
        .response();
        let user_ok = constant_time_eq(d.username.as_bytes(), user.as_bytes());
        let response_ok = constant_time_eq(
            d.response.to_ascii_lowercase().as_bytes(),
            expected.as_bytes(),
        );
        if !(user_ok & response_ok) {
            return Err(AuthError::WrongCredentials);
        }
        self.use_nonce(&d.nonce, nc, now)?;
        Ok(AuthScheme::Digest(d.algorithm))
    }

    /// Records a use of `nonce` with count `nc`.
    fn use_nonce(&self, nonce: &str, nc: u32, now: Instant) -> Result<(), AuthError> {
        let mut book = self.lock();
        let state = book.nonces.get_mut(nonce).ok_or(AuthError::UnknownNonce)?;
        if now.saturating_duration_since(state.issued_at) > self.lifetime {
            book.nonces.remove(nonce);
            return Err(AuthError::StaleNonce);
        }
        if state.accept(nc) {
            Ok(())
        } else {
            Err(AuthError::Replay { nc })
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, NonceBook> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
