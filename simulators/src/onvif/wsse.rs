//! WS-Security UsernameToken (OASIS UsernameToken Profile 1.0) as ONVIF devices check it:
//! `PasswordDigest = Base64(SHA-1(nonce bytes + Created + password))`, `Created` within a
//! window of the camera's own clock, and each nonce accepted once.

use std::collections::{HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use sha1::{Digest as _, Sha1};

/// Most nonces remembered for replay detection.
const MAX_NONCES: usize = 8192;

/// `Base64(SHA-1(nonce + created + password))`, the PasswordDigest of a UsernameToken.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(nonce);
    sha.update(created.as_bytes());
    sha.update(password.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A UsernameToken as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UsernameToken {
    /// `Username`.
    pub(crate) username: String,
    /// `Password` text: the digest (Base64) or the clear password.
    pub(crate) password: String,
    /// Whether `Password/@Type` is PasswordDigest (absent means PasswordText).
    pub(crate) digest: bool,
    /// `Nonce` (Base64 text), if sent.
    pub(crate) nonce: Option<String>,
    /// `wsu:Created`, if sent.
    pub(crate) created: Option<String>,
}

/// Why a token was refused. Every variant answers `ter:NotAuthorized`; the reason is
/// logged, never sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenError {
    /// No UsernameToken in the Security header.
    #[error("no UsernameToken")]
    Missing,
    /// Wrong user name or password (not told apart).
    #[error("wrong user name or password")]
    Wrong,
    /// A digest without a Nonce or Created, or a Nonce that is not Base64.
    #[error("digest token without a usable Nonce and Created")]
    Incomplete,
    /// `Created` is not an xs:dateTime.
    #[error("Created `{0}` is not a date-time")]
    BadCreated(String),
    /// `Created` is too far from the camera's clock.
    #[error("Created {created} is {off_s} s off the camera's clock {camera}")]
    NotFresh {
        /// The token's time.
        created: String,
        /// The camera's time.
        camera: String,
        /// Token minus camera, in seconds.
        off_s: i64,
    },
    /// The nonce was used before.
    #[error("nonce used before (replay)")]
    Replay,
}

/// Checks UsernameTokens for one camera and remembers the nonces it accepted.
#[derive(Debug)]
pub(crate) struct TokenChecker {
    window: Duration,
    /// Accepted nonces, for the replay check. A `std` mutex: held for a set update only.
    seen: Mutex<SeenNonces>,
}

/// Nonces accepted recently, oldest first.
#[derive(Debug, Default)]
struct SeenNonces {
    set: HashSet<String>,
    order: VecDeque<(Instant, String)>,
}

impl TokenChecker {
    /// A checker accepting `Created` within `window` of the camera's clock either way.
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window,
            seen: Mutex::new(SeenNonces::default()),
        }
    }

    /// Verifies `token` for `user`/`password` at the camera's time `camera_now`.
    pub(crate) fn verify(
        &self,
        token: Option<&UsernameToken>,
        user: &str,
        password: &str,
        camera_now: DateTime<Utc>,
    ) -> Result<(), TokenError> {
        let token = token.ok_or(TokenError::Missing)?;
        if let Some(created) = &token.created {
            let at = DateTime::parse_from_rfc3339(created)
                .map_err(|_| TokenError::BadCreated(created.chars().take(40).collect()))?
                .with_timezone(&Utc);
            let off = at - camera_now;
            let window = chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::MAX);
            if off.abs() > window {
                return Err(TokenError::NotFresh {
                    created: created.clone(),
                    camera: camera_now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    off_s: off.num_seconds(),
                });
            }
        }
        let user_ok = constant_time_eq(token.username.as_bytes(), user.as_bytes());
        let password_ok = if token.digest {
            let (Some(nonce), Some(created)) = (&token.nonce, &token.created) else {
                return Err(TokenError::Incomplete);
            };
            let nonce = BASE64
                .decode(nonce.trim())
                .map_err(|_| TokenError::Incomplete)?;
            let expected = password_digest(&nonce, created, password);
            constant_time_eq(token.password.trim().as_bytes(), expected.as_bytes())
        } else {
            constant_time_eq(token.password.as_bytes(), password.as_bytes())
        };
        if !(user_ok & password_ok) {
            return Err(TokenError::Wrong);
        }
        match &token.nonce {
            Some(nonce) => self.remember(nonce),
            None => Ok(()),
        }
    }

    /// Records an accepted nonce; a nonce seen within twice the window is a replay.
    fn remember(&self, nonce: &str) -> Result<(), TokenError> {
        let now = Instant::now();
        let keep = self.window * 2;
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        while let Some((at, _)) = seen.order.front() {
            if now.duration_since(*at) <= keep && seen.order.len() < MAX_NONCES {
                break;
            }
            if let Some((_, old)) = seen.order.pop_front() {
                seen.set.remove(&old);
            }
        }
        if !seen.set.insert(nonce.to_owned()) {
            return Err(TokenError::Replay);
        }
        seen.order.push_back((now, nonce.to_owned()));
        Ok(())
    }
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-27T08:00:00Z";

    fn now() -> DateTime<Utc> {
        NOW.parse().unwrap()
    }

    fn token(nonce: &[u8], created: &str, password: &str) -> UsernameToken {
        UsernameToken {
            username: "admin".to_owned(),
            password: password_digest(nonce, created, password),
            digest: true,
            nonce: Some(BASE64.encode(nonce)),
            created: Some(created.to_owned()),
        }
    }

    #[test]
    fn digest_matches_the_ws_security_example() {
        // Computed independently with Python's hashlib and base64.
        let nonce = BASE64.decode("WScqanjCEAC4mQoBE07sAQ==").unwrap();
        assert_eq!(
            password_digest(&nonce, "2003-07-16T01:24:32Z", "taadtaadpstcsm"),
            "AtYMdWClJo7PIuTpqmhmEEoEZyc="
        );
    }

    #[test]
    fn right_digest_within_the_window_passes_once() {
        let checker = TokenChecker::new(Duration::from_secs(60));
        let t = token(b"nonce-1", "2026-11-27T08:00:30Z", "pw");
        assert_eq!(checker.verify(Some(&t), "admin", "pw", now()), Ok(()));
        assert_eq!(
            checker.verify(Some(&t), "admin", "pw", now()),
            Err(TokenError::Replay)
        );
    }

    #[test]
    fn wrong_password_missing_token_and_stale_created_are_refused() {
        let checker = TokenChecker::new(Duration::from_secs(60));
        let t = token(b"n2", "2026-11-27T08:00:00.123Z", "other");
        assert_eq!(
            checker.verify(Some(&t), "admin", "pw", now()),
            Err(TokenError::Wrong)
        );
        assert_eq!(
            checker.verify(None, "admin", "pw", now()),
            Err(TokenError::Missing)
        );
        let old = token(b"n3", "2026-11-27T07:58:59Z", "pw");
        assert!(matches!(
            checker.verify(Some(&old), "admin", "pw", now()),
            Err(TokenError::NotFresh { off_s: -61, .. })
        ));
    }

    #[test]
    fn clear_text_password_is_accepted() {
        let checker = TokenChecker::new(Duration::from_secs(60));
        let t = UsernameToken {
            username: "admin".to_owned(),
            password: "pw".to_owned(),
            digest: false,
            nonce: None,
            created: None,
        };
        assert_eq!(checker.verify(Some(&t), "admin", "pw", now()), Ok(()));
        assert_eq!(
            checker.verify(Some(&t), "admin", "nope", now()),
            Err(TokenError::Wrong)
        );
    }
}
