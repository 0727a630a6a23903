//! HTTP Basic (RFC 7617) and Digest (RFC 7616) authentication, both sides, no sockets.
//!
//! Plate cameras push events to the controller over HTTP and authenticate the way their
//! firmware does: Basic, or Digest with MD5 or SHA-256 and `qop="auth"`.
//!
//! - Server side: an [`Authenticator`] issues [`Challenge`]s (Digest SHA-256 and Digest
//!   MD5 sharing one nonce, and Basic, or only the Digest or only the Basic ones) and
//!   verifies an `Authorization` header for a method and request URI against one user's
//!   password: the `uri` parameter must be the request's, the nonce one it signed and not
//!   expired, and each nonce count is accepted once (replays are refused). Nonces are
//!   signed, not stored, so challenges cost no memory; only nonces that came back with
//!   the right password are remembered, in a bounded book.
//! - Client side: [`Challenge::parse_all`] reads a `WWW-Authenticate` header,
//!   [`Challenge::preferred`] picks Digest SHA-256 over Digest MD5 over Basic, and
//!   [`Challenge::authorization`] builds the `Authorization` value for a request.
//!
//! Every refusal is an [`AuthError`] with a stable [`AuthError::code`]; the ones a
//! client with the right password can recover from by taking a fresh nonce say so in
//! [`AuthError::is_stale`].

mod credentials;
mod nonce;
mod params;
mod server;

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use md5::Md5;
use sha2::{Digest as _, Sha256};

pub use credentials::{Credentials, DigestResponse};
use params::{parse_list, quote};
pub use server::{AuthScheme, Authenticator};

/// Why an `Authorization` or `WWW-Authenticate` header was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The header does not follow the grammar.
    #[error("malformed header: {0}")]
    Malformed(String),
    /// A scheme other than Basic or Digest.
    #[error("unsupported auth scheme `{0}`")]
    UnsupportedScheme(String),
    /// A Digest algorithm other than MD5 and SHA-256 (and their `-sess` forms).
    #[error("unsupported digest algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// A `qop` other than `auth`, or none where one is required.
    #[error("unsupported qop `{0}`")]
    UnsupportedQop(String),
    /// A parameter this implementation does not support (`userhash=true`, `username*`).
    #[error("unsupported parameter `{0}`")]
    UnsupportedParam(&'static str),
    /// A required parameter is absent.
    #[error("missing parameter `{0}`")]
    MissingParam(&'static str),
    /// A parameter's value is unusable.
    #[error("parameter `{name}` = `{value}` is not valid")]
    BadParam {
        /// The parameter.
        name: &'static str,
        /// A snippet of its value.
        value: String,
    },
    /// The response names another realm.
    #[error("realm `{0}` is not this server's")]
    WrongRealm(String),
    /// The `uri` parameter is not the request's path and query.
    #[error("uri `{sent}` does not match the request `{request}`")]
    UriMismatch {
        /// The `uri` parameter.
        sent: String,
        /// The request's path and query.
        request: String,
    },
    /// The `opaque` parameter is not the one the server sent.
    #[error("opaque does not match")]
    OpaqueMismatch,
    /// Wrong user name or password (the two are not told apart).
    #[error("wrong user name or password")]
    WrongCredentials,
    /// A nonce this server did not issue, or one it has forgotten.
    #[error("unknown nonce")]
    UnknownNonce,
    /// A nonce this server issued that has expired.
    #[error("expired nonce")]
    StaleNonce,
    /// A nonce count already used with this nonce.
    #[error("nonce count {nc:08x} already used (replay)")]
    Replay {
        /// The refused nonce count.
        nc: u32,
    },
    /// No challenge in a `WWW-Authenticate` header that this client can answer.
    #[error("no usable challenge in WWW-Authenticate")]
    NoUsableChallenge,
}

impl AuthError {
    /// A stable snake_case code for counting refusals by kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "auth_malformed",
            Self::UnsupportedScheme(_) => "auth_unsupported_scheme",
            Self::UnsupportedAlgorithm(_) => "auth_unsupported_algorithm",
            Self::UnsupportedQop(_) => "auth_unsupported_qop",
            Self::UnsupportedParam(_) => "auth_unsupported_param",
            Self::MissingParam(_) => "auth_missing_param",
            Self::BadParam { .. } => "auth_bad_param",
            Self::WrongRealm(_) => "auth_wrong_realm",
            Self::UriMismatch { .. } => "auth_uri_mismatch",
            Self::OpaqueMismatch => "auth_opaque_mismatch",
            Self::WrongCredentials => "auth_wrong_credentials",
            Self::UnknownNonce => "auth_unknown_nonce",
            Self::StaleNonce => "auth_stale_nonce",
            Self::Replay { .. } => "auth_replay",
            Self::NoUsableChallenge => "auth_no_usable_challenge",
        }
    }

    /// Whether the credentials were right and only the nonce was not: the server should
    /// challenge again with `stale=true` and a fresh nonce (RFC 7616 section 3.3).
    pub fn is_stale(&self) -> bool {
        matches!(
            self,
            Self::UnknownNonce | Self::StaleNonce | Self::Replay { .. }
        )
    }
}

/// A Digest hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5`, the default when a challenge names none.
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256`.
    Sha256,
    /// `SHA-256-sess`.
    Sha256Sess,
}

impl Algorithm {
    /// The name as written in headers.
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
        }
    }

    /// The algorithm named `name` (any case), if supported.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Md5, Self::Md5Sess, Self::Sha256, Self::Sha256Sess]
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name.trim()))
    }

    fn is_sess(self) -> bool {
        matches!(self, Self::Md5Sess | Self::Sha256Sess)
    }

    /// Lower-case hex of the hash of `data`.
    fn hash(self, data: &str) -> String {
        match self {
            Self::Md5 | Self::Md5Sess => hex::encode(Md5::digest(data.as_bytes())),
            Self::Sha256 | Self::Sha256Sess => hex::encode(Sha256::digest(data.as_bytes())),
        }
    }
}

/// The inputs of a Digest `response` (RFC 7616 section 3.4.1).
#[derive(Debug, Clone, Copy)]
struct DigestInput<'a> {
    algorithm: Algorithm,
    username: &'a str,
    realm: &'a str,
    password: &'a str,
    method: &'a str,
    uri: &'a str,
    nonce: &'a str,
    /// `(qop, nc as 8 hex digits, cnonce)`; `None` for an RFC 2069 challenge without qop.
    qop: Option<(&'a str, &'a str, &'a str)>,
}

impl DigestInput<'_> {
    /// The `response` value, lower-case hex.
    fn response(&self) -> String {
        let alg = self.algorithm;
        let mut ha1 = alg.hash(&format!(
            "{}:{}:{}",
            self.username, self.realm, self.password
        ));
        if alg.is_sess() {
            let cnonce = self.qop.map_or("", |(_, _, cnonce)| cnonce);
            ha1 = alg.hash(&format!("{ha1}:{}:{cnonce}", self.nonce));
        }
        let ha2 = alg.hash(&format!("{}:{}", self.method, self.uri));
        match self.qop {
            Some((qop, nc, cnonce)) => {
                alg.hash(&format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", self.nonce))
            }
            None => alg.hash(&format!("{ha1}:{}:{ha2}", self.nonce)),
        }
    }
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="…"`.
    Basic {
        /// The protection space.
        realm: String,
    },
    /// `Digest realm="…", nonce="…", …`.
    Digest(DigestChallenge),
}

/// The parameters of a Digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    /// The protection space.
    pub realm: String,
    /// The server's nonce.
    pub nonce: String,
    /// Data the client returns unchanged.
    pub opaque: Option<String>,
    /// The hash algorithm.
    pub algorithm: Algorithm,
    /// The qop values offered (`auth`, `auth-int`); empty for an RFC 2069 challenge.
    pub qop: Vec<String>,
    /// The previous request had the right credentials and an expired or unknown nonce.
    pub stale: bool,
}

impl Challenge {
    /// The challenges this client can answer in one `WWW-Authenticate` value, in order.
    /// Other schemes, and Digest challenges with an algorithm not supported here, are
    /// skipped; a value that does not follow the grammar is an error.
    pub fn parse_all(header: &str) -> Result<Vec<Self>, AuthError> {
        let mut out = Vec::new();
        for item in parse_list(header)? {
            if item.is("Basic") {
                out.push(Self::Basic {
                    realm: item.get("realm").unwrap_or_default().to_owned(),
                });
            } else if item.is("Digest") {
                let Some(algorithm) = item
                    .get("algorithm")
                    .map_or(Some(Algorithm::Md5), Algorithm::parse)
                else {
                    continue;
                };
                out.push(Self::Digest(DigestChallenge {
                    realm: item
                        .get("realm")
                        .ok_or(AuthError::MissingParam("realm"))?
                        .to_owned(),
                    nonce: item
                        .get("nonce")
                        .ok_or(AuthError::MissingParam("nonce"))?
                        .to_owned(),
                    opaque: item.get("opaque").map(str::to_owned),
                    algorithm,
                    qop: item.get("qop").map_or_else(Vec::new, |q| {
                        q.split(',')
                            .map(|s| s.trim().to_ascii_lowercase())
                            .filter(|s| !s.is_empty())
                            .collect()
                    }),
                    stale: item
                        .get("stale")
                        .is_some_and(|s| s.eq_ignore_ascii_case("true")),
                }));
            }
        }
        Ok(out)
    }

    /// The challenge to answer: Digest SHA-256 over Digest MD5 over Basic (the first of
    /// equals); Digest challenges offering only `auth-int` are not answerable.
    pub fn preferred(challenges: &[Self]) -> Option<&Self> {
        let rank = |c: &Self| match c {
            Self::Digest(d) if !d.qop.is_empty() && !d.offers_auth() => 0,
            Self::Digest(d) if matches!(d.algorithm, Algorithm::Sha256 | Algorithm::Sha256Sess) => {
                3
            }
            Self::Digest(_) => 2,
            Self::Basic { .. } => 1,
        };
        let mut best: Option<&Self> = None;
        for c in challenges.iter().filter(|c| rank(c) > 0) {
            if best.is_none_or(|b| rank(c) > rank(b)) {
                best = Some(c);
            }
        }
        best
    }

    /// The `Authorization` value answering this challenge for a request of `method` to
    /// `uri` (path and query, as sent in the request line). `cnonce` and `nc` are used by
    /// Digest only: a fresh client nonce and the count of requests made with this nonce,
    /// from 1.
    pub fn authorization(
        &self,
        method: &str,
        uri: &str,
        user: &str,
        password: &str,
        cnonce: &str,
        nc: u32,
    ) -> Result<String, AuthError> {
        match self {
            Self::Basic { .. } => Ok(basic_authorization(user, password)),
            Self::Digest(d) => d.authorization(method, uri, user, password, cnonce, nc),
        }
    }
}

impl DigestChallenge {
    fn offers_auth(&self) -> bool {
        self.qop.iter().any(|q| q == "auth")
    }

    /// The `Authorization` value answering this challenge; see [`Challenge::authorization`].
    pub fn authorization(
        &self,
        method: &str,
        uri: &str,
        user: &str,
        password: &str,
        cnonce: &str,
        nc: u32,
    ) -> Result<String, AuthError> {
        let qop = if self.qop.is_empty() {
            None
        } else if self.offers_auth() {
            Some("auth")
        } else {
            return Err(AuthError::UnsupportedQop(cut(&self.qop.join(", "))));
        };
        let nc_hex = format!("{nc:08x}");
        let input = DigestInput {
            algorithm: self.algorithm,
            username: user,
            realm: &self.realm,
            password,
            method,
            uri,
            nonce: &self.nonce,
            qop: qop.map(|q| (q, nc_hex.as_str(), cnonce)),
        };
        let mut params = vec![
            format!("username={}", quote(user)),
            format!("realm={}", quote(&self.realm)),
            format!("uri={}", quote(uri)),
            format!("algorithm={}", self.algorithm.name()),
            format!("nonce={}", quote(&self.nonce)),
        ];
        if let Some(qop) = qop {
            params.push(format!("nc={nc_hex}"));
            params.push(format!("cnonce={}", quote(cnonce)));
            params.push(format!("qop={qop}"));
        }
        params.push(format!("response={}", quote(&input.response())));
        if let Some(opaque) = &self.opaque {
            params.push(format!("opaque={}", quote(opaque)));
        }
        Ok(format!("Digest {}", params.join(", ")))
    }
}

impl fmt::Display for Challenge {
    /// The challenge as a `WWW-Authenticate` value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Basic { realm } => write!(f, "Basic realm={}, charset=\"UTF-8\"", quote(realm)),
            Self::Digest(d) => {
                write!(f, "Digest realm={}", quote(&d.realm))?;
                if !d.qop.is_empty() {
                    write!(f, ", qop={}", quote(&d.qop.join(", ")))?;
                }
                write!(
                    f,
                    ", algorithm={}, nonce={}",
                    d.algorithm.name(),
                    quote(&d.nonce)
                )?;
                if let Some(opaque) = &d.opaque {
                    write!(f, ", opaque={}", quote(opaque))?;
                }
                if d.stale {
                    f.write_str(", stale=true")?;
                }
                Ok(())
            }
        }
    }
}

/// The `Authorization` value for Basic: `Basic base64(user:password)`, UTF-8.
pub fn basic_authorization(user: &str, password: &str) -> String {
    format!("Basic {}", BASE64.encode(format!("{user}:{password}")))
}

/// Compares two byte strings in time that depends on their length only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// At most 64 characters of peer-supplied text, for error messages.
fn cut(text: &str) -> String {
    const MAX: usize = 64;
    let mut chars = text.chars();
    let mut out: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[path = "http_auth_tests.rs"]
mod tests;
