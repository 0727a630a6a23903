//! [`OnvifClient`]: one camera's device and media services over HTTP.
//!
//! Authenticated calls carry a WS-Security UsernameToken whose `Created` is on the
//! camera's clock: the first one reads the clock (GetSystemDateAndTime needs no
//! credentials) and keeps the offset; when a camera refuses a token, the clock is read
//! again (cameras reboot and lose their time) and the call is retried once if it moved.
//! HTTP Basic or Digest is answered whenever a camera asks, SOAP and snapshots alike.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use chrono::{TimeDelta, Utc};
use reqwest::{Method, StatusCode, Url};

use super::device::{
    Capabilities, DeviceInformation, GetCapabilities, GetDeviceInformation, GetServices,
    GetSystemDateAndTime, Service, SystemDateAndTime,
};
use super::error::{ErrorKind, OnvifError, snippet};
use super::http::{HttpAuth, RequestBody};
use super::media::{GetProfiles, GetSnapshotUri, GetStreamUri, MediaUri, Profile, StreamSetup};
use super::soap::{UsernameToken, envelope, fault_error, fault_in};
use super::{Operation, ServiceKind};

/// Largest SOAP answer read (an NVR's GetProfiles with many channels is a few 100 KiB).
const MAX_SOAP_BYTES: usize = 4 * 1024 * 1024;
/// Largest snapshot read.
const MAX_SNAPSHOT_BYTES: usize = 16 * 1024 * 1024;
/// A clock that moved by at least this much between two readings is worth a retry.
const CLOCK_MOVED: TimeDelta = TimeDelta::seconds(2);

/// A snapshot fetched from a camera.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The URI it came from.
    pub uri: String,
    /// The Content-Type the camera sent (`image/jpeg`).
    pub content_type: String,
    /// The image.
    pub bytes: Bytes,
}

/// The camera's clock as last read.
#[derive(Debug, Clone, Copy, Default)]
struct Clock {
    /// Camera UTC minus our UTC, once read.
    offset: Option<TimeDelta>,
    /// Whether a reading was tried (a camera that does not answer it is not asked on
    /// every call).
    tried: bool,
}

/// A client for one ONVIF camera (device service URL plus credentials).
#[derive(Debug)]
pub struct OnvifClient {
    http: reqwest::Client,
    device_url: Url,
    timeout: Duration,
    auth: HttpAuth,
    /// A `std::sync::Mutex`: held to copy or set the value, never across `.await`.
    clock: Mutex<Clock>,
    /// The media service address, once found. Same kind of mutex, same reason.
    media_url: Mutex<Option<Url>>,
}

impl OnvifClient {
    /// A client for the device service at `device_service_url`
    /// (`http://host/onvif/device_service`). An empty `username` means no credentials:
    /// only what a camera answers anonymously (GetSystemDateAndTime) will work.
    /// `timeout` bounds each HTTP exchange.
    pub fn new(
        device_service_url: &str,
        username: &str,
        password: &str,
        timeout: Duration,
    ) -> Result<Self, OnvifError> {
        let at = |kind: ErrorKind| kind.at("connect", device_service_url);
        let device_url = parse_url(device_service_url).map_err(at)?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            // Cameras are on the site network: never through an HTTP_PROXY from the
            // environment.
            .no_proxy()
            .build()
            .map_err(|e| at(ErrorKind::Transport(e.to_string())))?;
        let credentials =
            (!username.is_empty()).then(|| (username.to_owned(), password.to_owned()));
        Ok(Self {
            http,
            device_url,
            timeout,
            auth: HttpAuth::new(credentials),
            clock: Mutex::new(Clock::default()),
            media_url: Mutex::new(None),
        })
    }

    /// The device service URL.
    pub fn device_url(&self) -> &str {
        self.device_url.as_str()
    }

    /// Camera clock minus ours, once GetSystemDateAndTime answered with a UTC time.
    pub fn clock_offset(&self) -> Option<TimeDelta> {
        self.lock_clock().offset
    }

    /// GetSystemDateAndTime, without credentials; records the camera's clock offset used
    /// for the UsernameToken `Created`.
    pub async fn system_date_and_time(&self) -> Result<SystemDateAndTime, OnvifError> {
        self.read_clock().await
    }

    /// GetCapabilities (category All).
    pub async fn capabilities(&self) -> Result<Capabilities, OnvifError> {
        self.call(&GetCapabilities).await
    }

    /// GetServices.
    pub async fn services(&self) -> Result<Vec<Service>, OnvifError> {
        self.call(&GetServices).await
    }

    /// GetDeviceInformation.
    pub async fn device_information(&self) -> Result<DeviceInformation, OnvifError> {
        self.call(&GetDeviceInformation).await
    }

    /// GetProfiles, on the media service.
    pub async fn profiles(&self) -> Result<Vec<Profile>, OnvifError> {
        self.call(&GetProfiles).await
    }

    /// GetSnapshotUri for a profile token.
    pub async fn snapshot_uri(&self, profile: &str) -> Result<MediaUri, OnvifError> {
        self.call(&GetSnapshotUri {
            profile: profile.to_owned(),
        })
        .await
    }

    /// GetStreamUri for a profile token, RTP unicast over RTSP. A camera may answer with
    /// an HTTP (MJPEG) URI instead; that is returned as is.
    pub async fn stream_uri(&self, profile: &str) -> Result<MediaUri, OnvifError> {
        self.stream_uri_with(profile, StreamSetup::RtspUnicast)
            .await
    }

    /// GetStreamUri for a profile token with another stream setup.
    pub async fn stream_uri_with(
        &self,
        profile: &str,
        setup: StreamSetup,
    ) -> Result<MediaUri, OnvifError> {
        self.call(&GetStreamUri {
            profile: profile.to_owned(),
            setup,
        })
        .await
    }

    /// A snapshot of a profile: GetSnapshotUri, then the image over HTTP (Digest or Basic
    /// when the camera asks).
    pub async fn snapshot(&self, profile: &str) -> Result<Snapshot, OnvifError> {
        let uri = self.snapshot_uri(profile).await?;
        self.fetch_snapshot(&uri.uri).await
    }

    /// Fetches a snapshot URI. A host other than the device URL's is replaced by it (a
    /// camera behind NAT, or with a factory address, announces one it cannot be reached
    /// at). The answer must be an image (`image/*`, or JPEG bytes under another type).
    pub async fn fetch_snapshot(&self, uri: &str) -> Result<Snapshot, OnvifError> {
        let url = parse_url(uri)
            .map(|u| rebase(&self.device_url, u))
            .map_err(|k| k.at("snapshot", uri))?;
        let at = |kind: ErrorKind| kind.at("snapshot", url.as_str());
        let answer = self
            .auth
            .send(
                &self.http,
                Method::GET,
                &url,
                None,
                MAX_SNAPSHOT_BYTES,
                self.timeout,
            )
            .await
            .map_err(at)?;
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(at(ErrorKind::Unauthorized {
                reason: "HTTP 401 on the snapshot URI".into(),
            }));
        }
        if !answer.status.is_success() {
            return Err(at(ErrorKind::Http {
                status: answer.status.as_u16(),
                snippet: snippet(&String::from_utf8_lossy(&answer.body)),
            }));
        }
        let is_jpeg = answer.body.starts_with(&[0xFF, 0xD8, 0xFF]);
        let declared = answer.content_type.to_ascii_lowercase();
        let ok = if declared.starts_with("image/jpeg") || declared.starts_with("image/jpg") {
            is_jpeg
        } else {
            is_jpeg || (declared.starts_with("image/") && !answer.body.is_empty())
        };
        if !ok {
            return Err(at(ErrorKind::NotAnImage {
                content_type: answer.content_type,
                len: answer.body.len(),
            }));
        }
        Ok(Snapshot {
            uri: url.to_string(),
            content_type: answer.content_type,
            bytes: answer.body,
        })
    }

    /// Calls an operation on its service, with credentials when it needs them.
    pub async fn call<O: Operation>(&self, op: &O) -> Result<O::Output, OnvifError> {
        let url = match O::SERVICE {
            ServiceKind::Device => self.device_url.clone(),
            ServiceKind::Media => self.media_url().await?,
        };
        self.call_at(op, &url).await
    }

    /// The media service address: from GetCapabilities, else GetServices, else the device
    /// service address itself (many cameras serve every service there).
    async fn media_url(&self) -> Result<Url, OnvifError> {
        if let Some(url) = self
            .media_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
        {
            return Ok(url);
        }
        let found = match self.call_at(&GetCapabilities, &self.device_url).await {
            Ok(caps) => caps.media,
            Err(e) if e.is_unauthorized() => return Err(e),
            Err(_) => None,
        };
        let found = match found {
            Some(x) => Some(x),
            None => match self.call_at(&GetServices, &self.device_url).await {
                Ok(services) => services
                    .into_iter()
                    .find(Service::is_media)
                    .map(|s| s.xaddr),
                Err(e) if e.is_unauthorized() => return Err(e),
                Err(_) => None,
            },
        };
        let url = found
            .and_then(|x| parse_url(&x).ok())
            .map_or_else(|| self.device_url.clone(), |u| rebase(&self.device_url, u));
        *self
            .media_url
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(url.clone());
        Ok(url)
    }

    async fn call_at<O: Operation>(&self, op: &O, url: &Url) -> Result<O::Output, OnvifError> {
        let at = |kind: ErrorKind| kind.at(O::NAME, url.as_str());
        let secure = O::AUTHENTICATED && self.auth.credentials().is_some();
        if secure && !self.lock_clock().tried {
            // Best effort: a camera that does not tell its time gets our own.
            let _ = self.read_clock().await;
        }
        let first = self.exchange(op, url, secure).await;
        match first {
            Err(ErrorKind::Unauthorized { .. }) if secure => {
                let before = self.clock_offset();
                let _ = self.read_clock().await;
                let after = self.clock_offset();
                let moved = match (before, after) {
                    (Some(b), Some(a)) => (a - b).abs() >= CLOCK_MOVED,
                    (b, a) => b != a,
                };
                if moved {
                    self.exchange(op, url, secure).await.map_err(at)
                } else {
                    first.map_err(at)
                }
            }
            other => other.map_err(at),
        }
    }

    /// GetSystemDateAndTime on the device service; keeps the clock offset.
    async fn read_clock(&self) -> Result<SystemDateAndTime, OnvifError> {
        let url = &self.device_url;
        let before = Utc::now();
        let result = self.exchange(&GetSystemDateAndTime, url, false).await;
        let after = Utc::now();
        let mut clock = self.lock_clock();
        clock.tried = true;
        let sdt = result.map_err(|k| k.at(GetSystemDateAndTime::NAME, url.as_str()))?;
        if let Some(camera) = sdt.utc {
            let ours = before + (after - before) / 2;
            clock.offset = Some(camera - ours);
        }
        Ok(sdt)
    }

    /// One SOAP request and its answer.
    async fn exchange<O: Operation>(
        &self,
        op: &O,
        url: &Url,
        secure: bool,
    ) -> Result<O::Output, ErrorKind> {
        let token = match self.auth.credentials() {
            Some((user, password)) if secure => {
                let now = Utc::now() + self.clock_offset().unwrap_or_default();
                let nonce: [u8; 16] = rand::random();
                Some(UsernameToken::new(user, password, &nonce, now))
            }
            _ => None,
        };
        let body = RequestBody {
            content_type: format!(
                "application/soap+xml; charset=utf-8; action=\"{}/{}\"",
                O::SERVICE.namespace(),
                O::NAME
            ),
            text: envelope(&op.body(), token.as_ref()),
        };
        let answer = self
            .auth
            .send(
                &self.http,
                Method::POST,
                url,
                Some(&body),
                MAX_SOAP_BYTES,
                self.timeout,
            )
            .await?;
        let text = String::from_utf8_lossy(&answer.body);
        if answer.status.is_success() {
            return O::parse_response(&text);
        }
        if let Some(fault) = fault_in(&text) {
            return Err(fault_error(fault));
        }
        if answer.status == StatusCode::UNAUTHORIZED {
            return Err(ErrorKind::Unauthorized {
                reason: if self.auth.credentials().is_some() {
                    "HTTP 401".into()
                } else {
                    "HTTP 401 — this camera needs credentials".into()
                },
            });
        }
        Err(ErrorKind::Http {
            status: answer.status.as_u16(),
            snippet: snippet(&text),
        })
    }

    fn lock_clock(&self) -> std::sync::MutexGuard<'_, Clock> {
        self.clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An http(s) URL, or why not.
fn parse_url(text: &str) -> Result<Url, ErrorKind> {
    let url = Url::parse(text.trim()).map_err(|e| ErrorKind::BadUrl {
        url: snippet(text),
        reason: e.to_string(),
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(ErrorKind::BadUrl {
            url: snippet(text),
            reason: "not an http:// or https:// URL with a host".into(),
        });
    }
    Ok(url)
}

/// `url` with the scheme, host and port of `device` when its host differs (a camera
/// announcing an address it cannot be reached at); otherwise `url` unchanged.
pub(crate) fn rebase(device: &Url, url: Url) -> Url {
    if url.host_str() == device.host_str() {
        return url;
    }
    let mut out = device.clone();
    out.set_path(url.path());
    out.set_query(url.query());
    out.set_fragment(None);
    let _ = out.set_username(url.username());
    let _ = out.set_password(url.password());
    out
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
