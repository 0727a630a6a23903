//! A simulated licence-plate camera that pushes plate events to the controller over HTTP
//! the way real ones do.
//!
//! - Hikvision form: `multipart/form-data` with an `anpr.xml` `EventNotificationAlert`
//!   part and a `licensePlatePicture.jpg` part ([`hikvision_event`]).
//! - Dahua form: ITS JSON with `Picture.Plate`, `Picture.SnapInfo` and a base64
//!   `Picture.NormalPic` ([`dahua_event`]).
//! - The picture is generated ([`plate_jpeg`]): the plate's colour with a pattern drawn
//!   from its text.
//!
//! Authentication is none, Basic (sent with every request) or Digest: the first post gets
//! a `401` with `WWW-Authenticate`, is answered with the best Digest challenge (SHA-256
//! over MD5, [`customs_edge_devices::http_auth`]) and sent again once. The nonce is kept,
//! so later posts go through in one round trip with an increasing nonce count, until the
//! controller says the nonce is stale; then the new nonce is taken.

mod wire;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use customs_edge_devices::http_auth::{AuthError, Challenge, DigestChallenge, basic_authorization};
use customs_edge_devices::plate::PlateColor;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

pub use wire::{
    HIKVISION_BOUNDARY, PLATE_JPEG_HEIGHT, PLATE_JPEG_WIDTH, dahua_event, hikvision_event,
    hikvision_xml, plate_jpeg,
};

/// Which vendor's event form the camera posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraForm {
    /// Hikvision ISAPI: multipart with XML and JPEG parts.
    Hikvision,
    /// Dahua ITS: JSON with base64 pictures.
    Dahua,
}

/// How the camera authenticates to the controller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CameraAuth {
    /// No `Authorization` header.
    None,
    /// Basic, sent with every request.
    Basic,
    /// Digest, answering the controller's challenge.
    Digest,
}

/// One simulated camera.
#[derive(Debug, Clone)]
pub struct CameraSimConfig {
    /// The camera's id (Hikvision `channelName`, Dahua `SnapInfo.DeviceID`).
    pub camera_id: String,
    /// The full URL events are posted to, e.g. `http://127.0.0.1:8090/cameras/g1/events`.
    pub url: String,
    /// The event form.
    pub form: CameraForm,
    /// The authentication.
    pub auth: CameraAuth,
    /// User name for Basic or Digest.
    pub username: String,
    /// Password for Basic or Digest.
    pub password: String,
    /// Time allowed for each HTTP request.
    pub timeout: Duration,
}

/// What the camera saw: one plate read to post.
#[derive(Debug, Clone, PartialEq)]
pub struct Shot {
    /// The plate read; `None` is a no-read (Hikvision sends `unknown`, Dahua an empty
    /// `PlateNumber`).
    pub plate: Option<String>,
    /// Confidence 0..=1; sent as an integer percentage.
    pub confidence: f32,
    /// The plate's colour.
    pub color: PlateColor,
    /// When the vehicle was seen (sent in Beijing time).
    pub at: DateTime<Utc>,
    /// The lane number the camera reports.
    pub lane: u32,
}

/// How one post went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// The final HTTP status.
    pub status: u16,
    /// The final response body.
    pub body: String,
    /// A `401` challenge round trip happened within this post.
    pub challenged: bool,
    /// Time from the start of the post to the final response.
    pub elapsed: Duration,
}

/// Why a post got no HTTP answer, or could not answer the controller's challenge.
#[derive(Debug, thiserror::Error)]
pub enum CameraPostError {
    /// The configured URL does not parse.
    #[error("bad camera URL `{url}`: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Connecting, sending or reading failed (or timed out).
    #[error("post failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The `WWW-Authenticate` header could not be read or answered.
    #[error("cannot answer the challenge: {0}")]
    Challenge(#[from] AuthError),
}

/// A simulated plate camera: a `Clone` handle (clones share the HTTP client and the
/// Digest session).
#[derive(Debug, Clone)]
pub struct PlateCameraSim {
    cfg: Arc<CameraSimConfig>,
    client: reqwest::Client,
    /// The Digest nonce in use and its last count. A `std` mutex: held to bump the
    /// count, never across an `.await`.
    session: Arc<Mutex<Option<DigestSession>>>,
}

/// The nonce a warm camera reuses.
#[derive(Debug)]
struct DigestSession {
    challenge: DigestChallenge,
    nc: u32,
}

impl PlateCameraSim {
    /// A camera posting with `cfg`.
    pub fn new(cfg: CameraSimConfig) -> Self {
        Self::with_client(cfg, reqwest::Client::new())
    }

    /// A camera posting with `cfg` through `client`: one that trusts a test CA for an
    /// `https://` URL, or is bound to a source address of its own.
    pub fn with_client(cfg: CameraSimConfig, client: reqwest::Client) -> Self {
        Self {
            cfg: Arc::new(cfg),
            client,
            session: Arc::new(Mutex::new(None)),
        }
    }

    /// The camera's configuration.
    pub fn config(&self) -> &CameraSimConfig {
        &self.cfg
    }

    /// The Content-Type and body this camera posts for `shot`.
    pub fn body(&self, shot: &Shot) -> (String, Vec<u8>) {
        match self.cfg.form {
            CameraForm::Hikvision => hikvision_event(&self.cfg.camera_id, shot),
            CameraForm::Dahua => (
                "application/json".to_owned(),
                dahua_event(&self.cfg.camera_id, shot),
            ),
        }
    }

    /// Posts `shot` as an event.
    pub async fn post(&self, shot: &Shot) -> Result<Posted, CameraPostError> {
        let (content_type, body) = self.body(shot);
        self.post_body(&content_type, body).await
    }

    /// Posts any body with this camera's URL and authentication (tests send broken
    /// events this way).
    pub async fn post_body(
        &self,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> Result<Posted, CameraPostError> {
        let started = Instant::now();
        let url = Url::parse(&self.cfg.url).map_err(|e| CameraPostError::BadUrl {
            url: self.cfg.url.clone(),
            reason: e.to_string(),
        })?;
        let uri = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let body: Bytes = body.into();
        let mut authorization = match self.cfg.auth {
            CameraAuth::None => None,
            CameraAuth::Basic => Some(basic_authorization(&self.cfg.username, &self.cfg.password)),
            CameraAuth::Digest => self.next_digest(&uri)?,
        };
        let mut challenged = false;
        loop {
            let mut request = self
                .client
                .post(url.clone())
                .timeout(self.cfg.timeout)
                .header(CONTENT_TYPE, content_type)
                .body(body.clone());
            if let Some(value) = &authorization {
                request = request.header(AUTHORIZATION, value);
            }
            let response = request.send().await?;
            let status = response.status();
            let headers = response.headers().clone();
            let text = response.text().await?;
            if status == StatusCode::UNAUTHORIZED && self.cfg.auth == CameraAuth::Digest {
                if challenged {
                    // Refused after answering a fresh challenge: the credentials are wrong.
                    *self.session() = None;
                } else {
                    // Cold, or the nonce went stale (or was forgotten): take the new one.
                    let challenge = digest_challenge(&headers)?;
                    *self.session() = Some(DigestSession { challenge, nc: 0 });
                    authorization = self.next_digest(&uri)?;
                    challenged = true;
                    continue;
                }
            }
            return Ok(Posted {
                status: status.as_u16(),
                body: text,
                challenged,
                elapsed: started.elapsed(),
            });
        }
    }

    /// The Digest `Authorization` for the next request on the kept nonce, if there is one.
    fn next_digest(&self, uri: &str) -> Result<Option<String>, AuthError> {
        let mut session = self.session();
        let Some(s) = session.as_mut() else {
            return Ok(None);
        };
        s.nc += 1;
        let cnonce = format!("{:016x}", rand::random::<u64>());
        s.challenge
            .authorization(
                "POST",
                uri,
                &self.cfg.username,
                &self.cfg.password,
                &cnonce,
                s.nc,
            )
            .map(Some)
    }

    fn session(&self) -> MutexGuard<'_, Option<DigestSession>> {
        self.session.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The best Digest challenge among all `WWW-Authenticate` values of a `401`.
fn digest_challenge(headers: &HeaderMap) -> Result<DigestChallenge, AuthError> {
    let mut digests = Vec::new();
    for value in headers.get_all(WWW_AUTHENTICATE) {
        let Ok(text) = value.to_str() else { continue };
        // One unreadable value does not spoil the others.
        let Ok(challenges) = Challenge::parse_all(text) else {
            continue;
        };
        digests.extend(
            challenges
                .into_iter()
                .filter(|c| matches!(c, Challenge::Digest(_))),
        );
    }
    match Challenge::preferred(&digests) {
        Some(Challenge::Digest(d)) => Ok(d.clone()),
        _ => Err(AuthError::NoUsableChallenge),
    }
}
