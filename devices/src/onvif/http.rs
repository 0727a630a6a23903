//! HTTP exchanges with a camera: answering its Basic or Digest challenge, reusing the
//! challenge for later requests (one round trip each, not two), and bounded body reads.
//!
//! Snapshots are behind HTTP authentication on most cameras, and some firmwares also want
//! it on the SOAP endpoints (on top of, or instead of, WS-Security): every request goes
//! through [`HttpAuth::send`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode, Url};

use super::error::{ErrorKind, snippet};
use crate::http_auth::Challenge;

/// Most origins whose challenge is remembered (a camera has one or two).
const MAX_ORIGINS: usize = 16;

/// What a camera answered.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
}

/// A request body and its content type.
pub(crate) struct RequestBody {
    pub(crate) content_type: String,
    pub(crate) text: String,
}

/// One camera's HTTP credentials and the challenges it issued.
pub(crate) struct HttpAuth {
    /// `(user, password)`; `None` to send no `Authorization`.
    credentials: Option<(String, String)>,
    /// The last challenge per origin and how many requests answered it. A
    /// `std::sync::Mutex`: held only to read or update the map, never across `.await`.
    challenges: Mutex<HashMap<String, (Challenge, u32)>>,
}

impl std::fmt::Debug for HttpAuth {
    /// The user name only: the password never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpAuth")
            .field("user", &self.credentials.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

impl HttpAuth {
    pub(crate) fn new(credentials: Option<(String, String)>) -> Self {
        Self {
            credentials,
            challenges: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()))
    }

    /// Sends one request; on 401 with a challenge it can answer, answers it once. Reads
    /// at most `limit` bytes of the body.
    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        method: Method,
        url: &Url,
        body: Option<&RequestBody>,
        limit: usize,
        timeout: Duration,
    ) -> Result<Answer, ErrorKind> {
        let origin = url.origin().ascii_serialization();
        let mut authorization = self.next_authorization(&origin, &method, url)?;
        let mut retried = false;
        loop {
            let mut req = client.request(method.clone(), url.clone());
            if let Some(b) = body {
                req = req
                    .header(CONTENT_TYPE, b.content_type.as_str())
                    .body(b.text.clone());
            }
            if let Some(a) = &authorization {
                req = req.header(AUTHORIZATION, a.as_str());
            }
            let resp = req.send().await.map_err(|e| transport(&e, timeout))?;
            if resp.status() == StatusCode::UNAUTHORIZED && !retried && self.credentials.is_some() {
                let mut offered = Vec::new();
                for value in resp.headers().get_all(WWW_AUTHENTICATE) {
                    let text = String::from_utf8_lossy(value.as_bytes());
                    offered.extend(Challenge::parse_all(&text).unwrap_or_default());
                }
                if let Some(chosen) = Challenge::preferred(&offered) {
                    self.remember(&origin, chosen.clone());
                    authorization = self.next_authorization(&origin, &method, url)?;
                    retried = true;
                    continue;
                }
            }
            return read(resp, limit, timeout).await;
        }
    }

    fn remember(&self, origin: &str, challenge: Challenge) {
        let mut map = self
            .challenges
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_ORIGINS && !map.contains_key(origin) {
            map.clear();
        }
        map.insert(origin.to_owned(), (challenge, 0));
    }

    /// The `Authorization` for the next request to `origin`, from its remembered
    /// challenge (nonce count advanced), if any.
    fn next_authorization(
        &self,
        origin: &str,
        method: &Method,
        url: &Url,
    ) -> Result<Option<String>, ErrorKind> {
        let Some((user, password)) = self.credentials() else {
            return Ok(None);
        };
        let (challenge, nc) = {
            let mut map = self
                .challenges
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some((challenge, nc)) = map.get_mut(origin) else {
                return Ok(None);
            };
            *nc += 1;
            (challenge.clone(), *nc)
        };
        let uri = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        let cnonce = format!("{:016x}", rand::random::<u64>());
        challenge
            .authorization(method.as_str(), &uri, user, password, &cnonce, nc)
            .map(Some)
            .map_err(ErrorKind::Auth)
    }
}

/// Reads the whole body, refusing more than `limit` bytes.
async fn read(
    mut resp: reqwest::Response,
    limit: usize,
    timeout: Duration,
) -> Result<Answer, ErrorKind> {
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .map(|v| snippet(&String::from_utf8_lossy(v.as_bytes())))
        .unwrap_or_default();
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ErrorKind::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e, timeout))? {
        if body.len() + chunk.len() > limit {
            return Err(ErrorKind::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer {
        status,
        content_type,
        body: body.into(),
    })
}

/// A reqwest failure as an [`ErrorKind`], with its causes.
pub(crate) fn transport(e: &reqwest::Error, timeout: Duration) -> ErrorKind {
    if e.is_timeout() {
        return ErrorKind::Timeout(timeout);
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    ErrorKind::Transport(text)
}
