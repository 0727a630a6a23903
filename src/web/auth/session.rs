//! Session tokens and the session cookie.
//!
//! The cookie carries a random 256-bit token; the store keeps only its SHA-256. The cookie
//! is `HttpOnly` (no script reads it), `SameSite=Strict` (no other site's page sends it),
//! `Path=/`, and `Secure` when the request came over TLS (directly or through a proxy that
//! says `X-Forwarded-Proto: https`).

use axum::http::{HeaderMap, HeaderValue, Uri, header};
use sha2::{Digest as _, Sha256};

/// The session cookie's name.
pub const COOKIE: &str = "ce_session";
/// The header a cookie-authenticated change carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// A session ends after this long without a request (one shift).
pub const IDLE_TIMEOUT: chrono::TimeDelta = chrono::TimeDelta::hours(8);
/// A session ends this long after login, however active.
pub const MAX_AGE: chrono::TimeDelta = chrono::TimeDelta::hours(12);
/// `last_seen` is written at most this often per session (a write per request would
/// compete with the line's decisions for the single writer).
pub const TOUCH_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

/// A fresh random token: 32 bytes from the OS-seeded CSPRNG, as 64 hex digits.
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// A session's handle for listing and revoking it: 96 random bits as 24 hex digits,
/// unrelated to its token.
pub fn new_handle() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

/// SHA-256 of a token, hex: what the store keeps.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session token in the request's cookies, if any.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether the request reached us over TLS: an `https` URI, or a proxy saying so in
/// `X-Forwarded-Proto` or `Forwarded: proto=https`.
pub fn over_tls(uri: &Uri, headers: &HeaderMap) -> bool {
    let header_says = |name: &str, f: fn(&str) -> bool| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(f)
    };
    uri.scheme_str() == Some("https")
        || header_says("x-forwarded-proto", |v| {
            v.split(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        })
        || header_says("forwarded", |v| {
            v.split([';', ',']).any(|kv| {
                kv.trim().split_once('=').is_some_and(|(k, p)| {
                    k.eq_ignore_ascii_case("proto")
                        && p.trim_matches('"').eq_ignore_ascii_case("https")
                })
            })
        })
}

/// The `Set-Cookie` value that starts a session.
pub fn set_cookie(token: &str, secure: bool) -> HeaderValue {
    cookie(token, MAX_AGE.num_seconds(), secure)
}

/// The `Set-Cookie` value that makes the browser forget the session.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    cookie("", 0, secure)
}

fn cookie(value: &str, max_age_s: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}"
    ))
    .expect("a hex token makes a valid header value")
}

/// Compare two secrets in time that depends on their length only.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_found_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("lang=zh; ce_session=abc123 ; x=1"),
        );
        assert_eq!(token_from(&h).as_deref(), Some("abc123"));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("ce_session_old=zzz"),
        );
        assert_eq!(token_from(&h), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_behind_tls() {
        let c = set_cookie("t0k", false);
        let c = c.to_str().unwrap();
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"));
        assert!(!c.contains("Secure"));
        assert!(
            set_cookie("t0k", true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );

        let uri: Uri = "/api/login".parse().unwrap();
        let mut h = HeaderMap::new();
        assert!(!over_tls(&uri, &h));
        h.insert("x-forwarded-proto", HeaderValue::from_static("HTTPS"));
        assert!(over_tls(&uri, &h));
        let mut h = HeaderMap::new();
        h.insert(
            "forwarded",
            HeaderValue::from_static("for=10.0.0.9;proto=https"),
        );
        assert!(over_tls(&uri, &h));
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(token_sha256(&a).len(), 64);
        assert_ne!(token_sha256(&a), a);
        assert!(same_secret(&a, &a.clone()) && !same_secret(&a, &b) && !same_secret(&a, "x"));
    }
}
