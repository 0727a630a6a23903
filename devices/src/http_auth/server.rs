//! The server side: challenges out, `Authorization` headers in. Nonces are signed, not
//! stored ([`super::nonce`]): handing out challenges costs no memory, and only requests
//! with the right password are remembered, for their nonce counts.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use super::nonce::{self, NonceSigner, Refused, ReplayBook};
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
/// It is shared by every connection of a listener (`&self` methods, `Send + Sync`). A
/// nonce is signed with the key and carries its issue time, so issuing one stores
/// nothing, and a nonce is good for `lifetime` after it was issued whatever else was
/// issued since. The replay book behind a `std::sync::Mutex` (held for a map update only,
/// never across an `.await`) holds at most `max_nonces` nonces, and only ones that came
/// back with the right password.
#[derive(Debug)]
pub struct Authenticator {
    realm: String,
    /// Returned unchanged by clients; derived from the key so it is the same for every
    /// challenge of this authenticator.
    opaque: String,
    signer: NonceSigner,
    epoch: Instant,
    lifetime: Duration,
    max_nonces: usize,
    /// Nonce counts taken. A `std` mutex: held for one map update.
    book: Mutex<ReplayBook>,
}

impl Authenticator {
    /// How long a nonce is accepted after it was issued, by default.
    pub const DEFAULT_NONCE_LIFETIME: Duration = Duration::from_secs(300);
    /// Most nonces in use remembered at once, by default.
    pub const DEFAULT_MAX_NONCES: usize = 1024;

    /// An authenticator for `realm`; `key` is a random secret the nonces are signed with.
    pub fn new(realm: impl Into<String>, key: [u8; 32]) -> Self {
        let opaque = hex::encode(Sha256::digest([&key[..], b"opaque"].concat()))[..32].to_owned();
        let epoch = Instant::now();
        Self {
            realm: realm.into(),
            opaque,
            signer: NonceSigner::new(key, epoch),
            epoch,
            lifetime: Self::DEFAULT_NONCE_LIFETIME,
            max_nonces: Self::DEFAULT_MAX_NONCES,
            book: Mutex::new(ReplayBook::default()),
        }
    }

    /// The same with another nonce lifetime and replay book size (at least 1).
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

    /// How many nonces in use are remembered now (issuing one adds none).
    pub fn nonces_held(&self) -> usize {
        self.lock().len()
    }

    /// A fresh nonce issued at `now`.
    pub fn issue_nonce(&self, now: Instant) -> String {
        self.signer.issue(now)
    }

    /// The challenges for a `401`, best first, sharing one fresh nonce: Digest SHA-256,
    /// Digest MD5, Basic. `stale` tells a client whose credentials were right to retry
    /// with the new nonce.
    pub fn challenges(&self, stale: bool, now: Instant) -> Vec<Challenge> {
        let mut out = self.digest_challenges(stale, now);
        out.push(self.basic_challenge());
        out
    }

    /// Digest SHA-256 and Digest MD5 sharing one fresh nonce, for a server that takes
    /// Digest only.
    pub fn digest_challenges(&self, stale: bool, now: Instant) -> Vec<Challenge> {
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
        vec![digest(Algorithm::Sha256), digest(Algorithm::Md5)]
    }

    /// The Basic challenge, for a server that takes Basic only (no nonce).
    pub fn basic_challenge(&self) -> Challenge {
        Challenge::Basic {
            realm: self.realm.clone(),
        }
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
        let credentials = Credentials::parse(authorization)?;
        self.verify_credentials(&credentials, method, uri, user, password, now)
    }

    /// [`Authenticator::verify`] for credentials already read, so a caller can refuse a
    /// scheme before any password is checked.
    pub fn verify_credentials(
        &self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
        user: &str,
        password: &str,
        now: Instant,
    ) -> Result<AuthScheme, AuthError> {
        let d = match credentials {
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

    /// Takes count `nc` of `nonce`: signed here, within its lifetime, the count unused.
    fn use_nonce(&self, nonce: &str, nc: u32, now: Instant) -> Result<(), AuthError> {
        let (id, issued_at) = self.signer.open(nonce).ok_or(AuthError::UnknownNonce)?;
        if now.saturating_duration_since(issued_at) > self.lifetime {
            return Err(AuthError::StaleNonce);
        }
        let expired_before = now
            .checked_sub(self.lifetime)
            .map(|t| t.saturating_duration_since(self.epoch).as_millis())
            .and_then(|ms| u64::try_from(ms).ok())
            .map(nonce::id_at);
        match self.lock().take(id, nc, expired_before, self.max_nonces) {
            Ok(()) => Ok(()),
            Err(Refused::Forgotten) => Err(AuthError::StaleNonce),
            Err(Refused::Replay) => Err(AuthError::Replay { nc }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ReplayBook> {
        self.book.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
