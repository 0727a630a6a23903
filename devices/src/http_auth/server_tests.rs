//! The signed nonces as a client meets them: a flood of challenges leaves a camera's nonce
//! good, the replay book stays bounded and never lets a count through twice.

use std::time::{Duration, Instant};

use super::super::{Algorithm, AuthError, Challenge, DigestChallenge};
use super::Authenticator;

const URI: &str = "/cameras/gate1/events";

fn server() -> Authenticator {
    Authenticator::new("customs-edge", [7; 32])
}

fn offered(auth: &Authenticator, now: Instant) -> Vec<Challenge> {
    let header = auth
        .challenges(false, now)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    Challenge::parse_all(&header).unwrap()
}

fn digest_of(challenges: &[Challenge], algorithm: Algorithm) -> DigestChallenge {
    challenges
        .iter()
        .find_map(|c| match c {
            Challenge::Digest(d) if d.algorithm == algorithm => Some(d.clone()),
            _ => None,
        })
        .unwrap()
}

fn answer(d: &DigestChallenge, uri: &str, password: &str, nc: u32) -> String {
    d.authorization("POST", uri, "cam", password, "0a4f113b", nc)
        .unwrap()
}

#[test]
fn challenges_to_anyone_leave_a_camera_nonce_good() {
    let auth = server().with_limits(Duration::from_secs(60), 4);
    let now = Instant::now();
    let first = digest_of(&offered(&auth, now), Algorithm::Sha256);
    for _ in 0..10_000 {
        auth.issue_nonce(now);
    }
    assert_eq!(auth.nonces_held(), 0, "unanswered challenges are not kept");
    let verify = |d: &DigestChallenge, nc| {
        auth.verify(&answer(d, URI, "pw", nc), "POST", URI, "cam", "pw", now)
    };
    assert!(verify(&first, 1).is_ok(), "the first nonce is still good");
    assert_eq!(auth.nonces_held(), 1);
    assert_eq!(verify(&first, 1), Err(AuthError::Replay { nc: 1 }));
    assert!(verify(&first, 2).is_ok());
}

#[test]
fn replay_book_stays_bounded_and_a_forgotten_nonce_is_stale_never_replayed() {
    let auth = server().with_limits(Duration::from_secs(60), 4);
    let t0 = Instant::now();
    let verify = |d: &DigestChallenge, nc, at| {
        auth.verify(&answer(d, URI, "pw", nc), "POST", URI, "cam", "pw", at)
    };
    let oldest = digest_of(&offered(&auth, t0), Algorithm::Sha256);
    assert!(verify(&oldest, 1, t0).is_ok());
    for i in 1..=10 {
        let at = t0 + Duration::from_millis(10 * i);
        let d = digest_of(&offered(&auth, at), Algorithm::Md5);
        assert!(verify(&d, 1, at).is_ok());
        assert!(auth.nonces_held() <= 4);
    }
    assert_eq!(
        verify(&oldest, 2, t0 + Duration::from_millis(200)),
        Err(AuthError::StaleNonce),
        "pushed out of the book: a fresh nonce, never an unchecked count"
    );
    assert_eq!(
        verify(&oldest, 1, t0 + Duration::from_millis(200)),
        Err(AuthError::StaleNonce)
    );
}

#[test]
fn a_nonce_not_signed_here_is_unknown() {
    let auth = server();
    let other = Authenticator::new("customs-edge", [8; 32]);
    let now = Instant::now();
    let theirs = digest_of(&offered(&other, now), Algorithm::Sha256);
    assert_eq!(
        auth.verify(
            &answer(&theirs, URI, "pw", 1),
            "POST",
            URI,
            "cam",
            "pw",
            now
        ),
        Err(AuthError::OpaqueMismatch),
        "another key's opaque"
    );
    let mut forged = digest_of(&offered(&auth, now), Algorithm::Sha256);
    let mut tampered = forged.nonce.clone().into_bytes();
    tampered[0] = if tampered[0] == b'f' { b'e' } else { b'f' };
    forged.nonce = String::from_utf8(tampered).unwrap();
    assert_eq!(
        auth.verify(
            &answer(&forged, URI, "pw", 1),
            "POST",
            URI,
            "cam",
            "pw",
            now
        ),
        Err(AuthError::UnknownNonce),
        "an issue time changed by hand breaks the signature"
    );
}

#[test]
fn digest_only_and_basic_only_challenges() {
    let auth = server();
    let digest = auth.digest_challenges(false, Instant::now());
    assert_eq!(digest.len(), 2);
    assert!(digest.iter().all(|c| matches!(c, Challenge::Digest(_))));
    assert!(matches!(auth.basic_challenge(), Challenge::Basic { .. }));
}

#[test]
fn no_nonce_count_is_ever_taken_twice_whatever_the_book_forgets() {
    use rand::{Rng as _, SeedableRng as _};
    let auth = server().with_limits(Duration::from_secs(60), 8);
    let t0 = Instant::now();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let nonces: Vec<(DigestChallenge, Instant)> = (0..40)
        .map(|i| {
            let at = t0 + Duration::from_millis(5 * i);
            (digest_of(&offered(&auth, at), Algorithm::Sha256), at)
        })
        .collect();
    let mut taken = std::collections::HashSet::new();
    let mut now = t0 + Duration::from_millis(200);
    for _ in 0..5_000 {
        let n = rng.random_range(0..nonces.len());
        let nc = rng.random_range(1..12u32);
        now += Duration::from_millis(rng.random_range(0..3));
        let header = answer(&nonces[n].0, URI, "pw", nc);
        match auth.verify(&header, "POST", URI, "cam", "pw", now) {
            Ok(_) => assert!(taken.insert((n, nc)), "nonce {n} count {nc} taken twice"),
            Err(e) => assert!(e.is_stale(), "{e}"),
        }
        assert!(auth.nonces_held() <= 8);
    }
    assert!(taken.len() > 40, "some counts were taken: {}", taken.len());
}
