//! Where a camera's pictures come from, and talking to it outside OpenCV.
//!
//! - The stream URI: `stream_url`, or asked from the camera's ONVIF service
//!   (GetProfiles, then GetStreamUri and GetSnapshotUri of the first profile with video)
//!   when only `onvif_url` is configured.
//! - Credentials go into the stream URL's userinfo for FFmpeg (which answers Basic and
//!   Digest for HTTP and RTSP); everywhere else the URL is shown without them.
//! - Snapshots over HTTP with Basic or Digest ([`customs_edge_devices::http_auth`]).
//! - When OpenCV cannot open a stream it does not say why; [`Http::diagnose`] asks the
//!   camera itself (HTTP GET, or RTSP DESCRIBE) so the error says "wrong user name or
//!   password" or "nothing listens" rather than "could not open".

use std::time::Duration;

use bytes::Bytes;
use customs_edge_devices::http_auth::Challenge;
use customs_edge_devices::onvif::OnvifClient;
use reqwest::{StatusCode, Url, header};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::jpeg::jpeg_size;
use super::stats::ErrorKind;
use crate::config::CameraConfig;

/// Largest snapshot read.
const MAX_SNAPSHOT_BYTES: usize = 16 * 1024 * 1024;
/// Largest RTSP answer head read while diagnosing.
const MAX_RTSP_HEAD: usize = 16 * 1024;

/// A camera's user name and password.
#[derive(Clone)]
pub(crate) struct Login {
    pub(crate) user: String,
    pub(crate) password: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A camera fault: its kind and a message that names the camera.
pub(crate) type Fault = (ErrorKind, String);

/// The URIs capture uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    /// Stream URI, without credentials.
    pub(crate) stream: String,
    /// Snapshot URI, without credentials, when there is one.
    pub(crate) snapshot: Option<String>,
}

/// `url` with `login` as its userinfo (percent-encoded), for FFmpeg.
pub(crate) fn with_userinfo(url: &str, login: Option<&Login>) -> Result<String, String> {
    let Some(login) = login else {
        return Ok(url.to_owned());
    };
    let mut parsed = Url::parse(url).map_err(|e| format!("{}: {e}", redact(url)))?;
    parsed
        .set_username(&login.user)
        .and_then(|()| parsed.set_password(Some(&login.password)))
        .map_err(|()| format!("{}: cannot carry credentials", redact(url)))?;
    Ok(parsed.into())
}

/// `url` without any userinfo, for logs and the API.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// The stream and snapshot URIs of `camera`: from its config, or from its ONVIF service.
pub(crate) async fn resolve(
    camera: &CameraConfig,
    label: &str,
    login: Option<&Login>,
    timeout: Duration,
) -> Result<Source, Fault> {
    if let Some(stream) = &camera.stream_url {
        return Ok(Source {
            stream: stream.clone(),
            snapshot: camera.snapshot_url.clone(),
        });
    }
    let Some(onvif) = &camera.onvif_url else {
        return Err((
            ErrorKind::Config,
            format!("{label}: no stream_url and no onvif_url"),
        ));
    };
    let fault = |e: &dyn std::fmt::Display| {
        (
            ErrorKind::Onvif,
            format!("{label}: stream URI from ONVIF: {e}"),
        )
    };
    let (user, password) = login.map_or(("", ""), |l| (l.user.as_str(), l.password.as_str()));
    let client = OnvifClient::new(onvif, user, password, timeout).map_err(|e| fault(&e))?;
    let profiles = client.profiles().await.map_err(|e| fault(&e))?;
    let profile = profiles
        .iter()
        .find(|p| p.video.is_some())
        .or(profiles.first())
        .ok_or_else(|| fault(&"the camera has no media profile"))?;
    let stream = client
        .stream_uri(&profile.token)
        .await
        .map_err(|e| fault(&e))?
        .uri;
    let snapshot = match &camera.snapshot_url {
        Some(url) => Some(url.clone()),
        None => client
            .snapshot_uri(&profile.token)
            .await
            .ok()
            .map(|m| m.uri),
    };
    Ok(Source {
        stream: redact(&stream),
        snapshot: snapshot.map(|s| redact(&s)),
    })
}

/// HTTP (and RTSP, for diagnosis) to one camera, with its login.
#[derive(Debug, Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    login: Option<Login>,
    timeout: Duration,
    label: String,
}

impl Http {
    /// A client for the camera called `label` in messages.
    pub(crate) fn new(label: &str, login: Option<Login>, timeout: Duration) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(timeout)
            // Cameras are on the site network: never through a proxy from the environment.
            .no_proxy()
            .build()
            .unwrap_or_default();
        Self {
            client,
            login,
            timeout,
            label: label.to_owned(),
        }
    }

    /// GET `url`, answering a Basic or Digest challenge once.
    async fn get(&self, url: &Url) -> Result<reqwest::Response, reqwest::Error> {
        let first = self.client.get(url.clone()).send().await?;
        let Some(login) = &self.login else {
            return Ok(first);
        };
        if first.status() != StatusCode::UNAUTHORIZED {
            return Ok(first);
        }
        let challenges: Vec<Challenge> = first
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| Challenge::parse_all(v).ok())
            .flatten()
            .collect();
        let Some(authorization) = Challenge::preferred(&challenges).and_then(|c| {
            c.authorization(
                "GET",
                &request_uri(url),
                &login.user,
                &login.password,
                &cnonce(),
                1,
            )
            .ok()
        }) else {
            return Ok(first);
        };
        self.client
            .get(url.clone())
            .header(header::AUTHORIZATION, authorization)
            .send()
            .await
    }

    /// A snapshot: the JPEG and its size.
    pub(crate) async fn snapshot(&self, url: &str) -> Result<(Bytes, (u32, u32)), Fault> {
        let label = &self.label;
        let shown = redact(url);
        let fault = |kind, what: String| (kind, format!("{label}: snapshot {shown}: {what}"));
        let parsed = Url::parse(url).map_err(|e| fault(ErrorKind::Config, e.to_string()))?;
        let response = tokio::time::timeout(self.timeout, self.get(&parsed))
            .await
            .map_err(|_| fault(ErrorKind::Snapshot, "no answer in time".into()))?
            .map_err(|e| fault(transport_kind(&e), transport_text(&e)))?;
        match response.status() {
            StatusCode::UNAUTHORIZED => {
                return Err(fault(
                    ErrorKind::Unauthorized,
                    "the camera refused the user name or password (HTTP 401)".into(),
                ));
            }
            s if !s.is_success() => return Err(fault(ErrorKind::Snapshot, format!("HTTP {s}"))),
            _ => {}
        }
        let body = tokio::time::timeout(self.timeout, read_limited(response, MAX_SNAPSHOT_BYTES))
            .await
            .map_err(|_| fault(ErrorKind::Snapshot, "body not received in time".into()))?
            .map_err(|e| fault(ErrorKind::Snapshot, e))?;
        let size =
            jpeg_size(&body).map_err(|p| fault(ErrorKind::Snapshot, format!("not a JPEG: {p}")))?;
        Ok((body, size))
    }

    /// Why the stream at `url` could not be opened, as the camera tells it; `waited` when
    /// the open ran into its timeout.
    pub(crate) async fn diagnose(&self, url: &str, waited: bool) -> Fault {
        let shown = redact(url);
        let label = &self.label;
        let (kind, why) = match tokio::time::timeout(self.timeout, self.probe(url, waited)).await {
            Ok(found) => found,
            Err(_) => (ErrorKind::Open, "no answer in time".to_owned()),
        };
        (
            kind,
            format!("{label}: stream {shown} cannot be opened: {why}"),
        )
    }

    async fn probe(&self, url: &str, waited: bool) -> Fault {
        let Ok(parsed) = Url::parse(url) else {
            return (ErrorKind::Config, "not a valid URL".into());
        };
        let status = match parsed.scheme() {
            "rtsp" => match self.rtsp_describe(&parsed).await {
                Ok(status) => status,
                Err(e) => return (io_kind(&e), e.to_string()),
            },
            _ => match self.get(&parsed).await {
                Ok(response) => response.status().as_u16(),
                Err(e) => return (transport_kind(&e), transport_text(&e)),
            },
        };
        match status {
            401 => (
                ErrorKind::Unauthorized,
                "the camera refused the user name or password (401)".into(),
            ),
            200 if waited => (
                ErrorKind::Open,
                "the camera answers, but no video came before the open timeout".into(),
            ),
            200 => (
                ErrorKind::Open,
                "the camera answers, but what it sends could not be read as video".into(),
            ),
            s => (ErrorKind::Open, format!("the camera answers {s}")),
        }
    }

    /// Send DESCRIBE (again with credentials when challenged); the status code.
    async fn rtsp_describe(&self, url: &Url) -> std::io::Result<u16> {
        let host = url.host_str().unwrap_or_default();
        let port = url.port().unwrap_or(554);
        let mut conn = tokio::net::TcpStream::connect((host, port)).await?;
        let plain = redact(url.as_str());
        let (mut status, mut head) = rtsp_request(&mut conn, &plain, 1, None).await?;
        if status == 401
            && let Some(login) = &self.login
        {
            let challenges: Vec<Challenge> = head
                .lines()
                .filter_map(|l| l.split_once(':'))
                .filter(|(name, _)| name.trim().eq_ignore_ascii_case("www-authenticate"))
                .filter_map(|(_, v)| Challenge::parse_all(v.trim()).ok())
                .flatten()
                .collect();
            if let Some(auth) = Challenge::preferred(&challenges).and_then(|c| {
                c.authorization(
                    "DESCRIBE",
                    &plain,
                    &login.user,
                    &login.password,
                    &cnonce(),
                    1,
                )
                .ok()
            }) {
                (status, head) = rtsp_request(&mut conn, &plain, 2, Some(&auth)).await?;
            }
        }
        drop(head);
        Ok(status)
    }
}

/// One RTSP request on `conn`; the status and the answer's head.
async fn rtsp_request(
    conn: &mut tokio::net::TcpStream,
    url: &str,
    cseq: u32,
    authorization: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let auth = authorization.map_or_else(String::new, |a| format!("Authorization: {a}\r\n"));
    let request = format!(
        "DESCRIBE {url} RTSP/1.0\r\nCSeq: {cseq}\r\nAccept: application/sdp\r\nUser-Agent: customs-edge\r\n{auth}\r\n"
    );
    conn.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).await?;
        if n == 0 || head.len() > MAX_RTSP_HEAD {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .filter(|_| text.starts_with("RTSP/"))
        .ok_or_else(|| std::io::Error::other("the answer is not RTSP"))?;
    Ok((status, text))
}

/// Path and query as sent in the request line (the Digest `uri`).
fn request_uri(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

fn cnonce() -> String {
    format!("{:016x}", rand::random::<u64>())
}

async fn read_limited(mut response: reqwest::Response, max: usize) -> Result<Bytes, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_text(&e))? {
        if body.len() + chunk.len() > max {
            return Err(format!("larger than {max} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

fn transport_kind(e: &reqwest::Error) -> ErrorKind {
    if e.is_connect() {
        ErrorKind::Unreachable
    } else {
        ErrorKind::Open
    }
}

/// A reqwest error without its URL (which may carry credentials).
fn transport_text(e: &reqwest::Error) -> String {
    let what = if e.is_connect() {
        "nothing answers at the camera's address (connection failed)"
    } else if e.is_timeout() {
        "no answer in time"
    } else {
        "the HTTP exchange failed"
    };
    let mut source = std::error::Error::source(e);
    let mut root = None;
    while let Some(s) = source {
        root = Some(s.to_string());
        source = s.source();
    }
    match root {
        Some(root) => format!("{what}: {root}"),
        None => what.to_owned(),
    }
}

fn io_kind(e: &std::io::Error) -> ErrorKind {
    use std::io::ErrorKind as Io;
    match e.kind() {
        Io::ConnectionRefused | Io::HostUnreachable | Io::NetworkUnreachable => {
            ErrorKind::Unreachable
        }
        _ => ErrorKind::Open,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_in_percent_encoded_and_never_come_out() {
        let login = Login {
            user: "admin".into(),
            password: "p@ss:w/rd".into(),
        };
        let url = with_userinfo("http://10.0.0.5:8080/stream/main?x=1", Some(&login)).unwrap();
        assert_eq!(
            url,
            "http://admin:p%40ss%3Aw%2Frd@10.0.0.5:8080/stream/main?x=1"
        );
        assert_eq!(redact(&url), "http://10.0.0.5:8080/stream/main?x=1");
        assert_eq!(redact("rtsp://cam/live@2"), "rtsp://cam/live@2");
        assert_eq!(
            with_userinfo("rtsp://cam:554/a", None).unwrap(),
            "rtsp://cam:554/a"
        );
    }
}
