//! A camera: its credentials can be read; over ONVIF its clock is compared with ours
//! (frames and plate events carry times that are legal records), its login is tried with
//! GetDeviceInformation, and its snapshot and stream are reached. A camera without ONVIF
//! is checked on the snapshot and stream URLs it is configured with; a plate camera that
//! only pushes events has nothing to reach.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use customs_edge_devices::onvif::{OnvifClient, OnvifError};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::Row;
use crate::config::{CameraConfig, CameraCredentials};

/// A camera clock this far from ours is worth a look.
pub const CLOCK_WARN: TimeDelta = TimeDelta::seconds(2);
/// A camera clock this far from ours fails the check.
pub const CLOCK_FAIL: TimeDelta = TimeDelta::seconds(10);

/// Every check of one camera.
pub(super) async fn check(i: usize, camera: CameraConfig, timeout: Duration) -> Vec<Row> {
    let subject = format!("camera {}", camera.id);
    let at = format!("cameras[{i}]");
    let mut rows = Vec::new();
    let credentials = if camera.has_login() {
        match camera.credentials() {
            Ok(c) => {
                rows.push(Row::ok(
                    &subject,
                    "credentials",
                    format!("user {:?} and its password are readable", c.username),
                ));
                Some(c)
            }
            Err(e) => {
                rows.push(Row::fail(&subject, "credentials", e));
                None
            }
        }
    } else {
        None
    };
    let (user, password) = credentials
        .as_ref()
        .map_or(("", ""), |c| (c.username.as_str(), c.password.as_str()));
    if let Some(url) = &camera.onvif_url {
        let client = match OnvifClient::new(url, user, password, timeout) {
            Ok(c) => c,
            Err(e) => {
                rows.push(Row::fail(
                    &subject,
                    "onvif",
                    format!("{e} ({at}.onvif_url)"),
                ));
                return rows;
            }
        };
        if !clock(&subject, &at, &client, &mut rows).await {
            return rows;
        }
        let login = Login {
            subject: &subject,
            at: &at,
            credentials: credentials.as_ref(),
            timeout,
        };
        login_and_media(&login, &camera, &client, &mut rows).await;
    } else {
        if let Some(url) = &camera.snapshot_url {
            let row = match OnvifClient::new(url, user, password, timeout) {
                Ok(client) => snapshot_row(&subject, &at, client.fetch_snapshot(url).await),
                Err(e) => Row::fail(&subject, "snapshot", e.to_string()),
            };
            rows.push(row);
        }
        if let Some(url) = &camera.stream_url {
            rows.push(stream(&subject, url, timeout).await);
        }
    }
    if rows.is_empty() {
        rows.push(Row::ok(
            &subject,
            "configured",
            "pushes its events; nothing to reach",
        ));
    }
    rows
}

/// GetSystemDateAndTime (no credentials) against our clock; `false` when the camera does
/// not answer at all (the other checks are then left out).
async fn clock(subject: &str, at: &str, client: &OnvifClient, rows: &mut Vec<Row>) -> bool {
    let before = Utc::now();
    let answer = client.system_date_and_time().await;
    let after = Utc::now();
    let sdt = match answer {
        Ok(sdt) => sdt,
        Err(e) if e.kind.is_transport() => {
            rows.push(Row::fail(
                subject,
                "reachable",
                format!("{e} ({at}.onvif_url)"),
            ));
            return false;
        }
        Err(e) => {
            rows.push(Row::fail(subject, "clock", e.to_string()));
            return true;
        }
    };
    rows.push(Row::ok(
        subject,
        "reachable",
        format!("{} answers ONVIF", client.device_url()),
    ));
    let Some(camera_utc) = sdt.utc else {
        rows.push(Row::warn(
            subject,
            "clock",
            "the camera does not report its UTC time",
        ));
        return true;
    };
    let ours = before + (after - before) / 2;
    let offset = camera_utc - ours;
    let secs = offset.num_milliseconds() as f64 / 1000.0;
    let how = format!(
        "camera clock {secs:+.1} s from ours (set by {}{}); the camera reports whole seconds",
        if sdt.date_time_type.is_empty() {
            "?"
        } else {
            &sdt.date_time_type
        },
        sdt.time_zone
            .as_deref()
            .map(|z| format!(", zone {z}"))
            .unwrap_or_default()
    );
    let abs = offset.abs();
    rows.push(if abs > CLOCK_FAIL {
        Row::fail(
            subject,
            "clock",
            format!("{how}: set the camera to NTP from the same source as this host"),
        )
    } else if abs > CLOCK_WARN {
        Row::warn(subject, "clock", how)
    } else {
        Row::ok(subject, "clock", how)
    });
    true
}

/// Who the checks after the clock are for.
struct Login<'a> {
    subject: &'a str,
    at: &'a str,
    credentials: Option<&'a CameraCredentials>,
    timeout: Duration,
}

/// GetDeviceInformation with the credentials, then a snapshot and the stream.
async fn login_and_media(
    login: &Login<'_>,
    camera: &CameraConfig,
    client: &OnvifClient,
    rows: &mut Vec<Row>,
) {
    let (subject, at) = (login.subject, login.at);
    if login.credentials.is_none() {
        return;
    }
    match client.device_information().await {
        Ok(d) => rows.push(Row::ok(
            subject,
            "login",
            format!(
                "{} {} firmware {} serial {}",
                d.manufacturer, d.model, d.firmware_version, d.serial_number
            ),
        )),
        Err(e) if e.is_unauthorized() => {
            rows.push(Row::fail(
                subject,
                "login",
                format!("the camera refused the credentials ({at}.username, password_env or password_file): {e}"),
            ));
            return;
        }
        Err(e) => {
            rows.push(Row::fail(subject, "login", e.to_string()));
            return;
        }
    }
    let profile = match client.profiles().await {
        Ok(p) if !p.is_empty() => p[0].token.clone(),
        Ok(_) => {
            rows.push(Row::fail(
                subject,
                "media",
                "the camera has no media profile",
            ));
            return;
        }
        Err(e) => {
            rows.push(Row::fail(subject, "media", e.to_string()));
            return;
        }
    };
    let snapshot = match &camera.snapshot_url {
        Some(url) => client.fetch_snapshot(url).await,
        None => client.snapshot(&profile).await,
    };
    rows.push(snapshot_row(subject, at, snapshot));
    let uri = match &camera.stream_url {
        Some(url) => url.clone(),
        None => match client.stream_uri(&profile).await {
            Ok(u) => u.uri,
            Err(e) => {
                rows.push(Row::fail(subject, "stream", e.to_string()));
                return;
            }
        },
    };
    rows.push(stream(subject, &uri, login.timeout).await);
}

fn snapshot_row(
    subject: &str,
    at: &str,
    snapshot: Result<customs_edge_devices::onvif::Snapshot, OnvifError>,
) -> Row {
    match snapshot {
        Ok(s) => Row::ok(
            subject,
            "snapshot",
            format!(
                "{} bytes of {} from {}",
                s.bytes.len(),
                s.content_type,
                s.uri
            ),
        ),
        Err(e) if e.is_unauthorized() => Row::fail(
            subject,
            "snapshot",
            format!(
                "the camera refused the credentials ({at}.username, password_env or password_file): {e}"
            ),
        ),
        Err(e) => Row::fail(subject, "snapshot", e.to_string()),
    }
}

/// The stream: an RTSP server answering OPTIONS, or an HTTP stream answering its headers
/// (a 401 counts as reachable: the login is what the snapshot check tried).
async fn stream(subject: &str, uri: &str, timeout: Duration) -> Row {
    let result = tokio::time::timeout(timeout, probe_stream(uri)).await;
    match result {
        Ok(Ok(detail)) => Row::ok(subject, "stream", detail),
        Ok(Err(e)) => Row::fail(subject, "stream", format!("{uri}: {e}")),
        Err(_) => Row::fail(
            subject,
            "stream",
            format!("{uri}: no answer within {timeout:?}"),
        ),
    }
}

async fn probe_stream(uri: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(uri).map_err(|e| format!("not a URL: {e}"))?;
    let host = url.host_str().ok_or("no host")?.to_owned();
    match url.scheme() {
        "rtsp" => {
            let port = url.port().unwrap_or(554);
            let mut tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| e.to_string())?;
            let mut bare = url.clone();
            let _ = bare.set_username("");
            let _ = bare.set_password(None);
            tcp.write_all(format!("OPTIONS {bare} RTSP/1.0\r\nCSeq: 1\r\n\r\n").as_bytes())
                .await
                .map_err(|e| e.to_string())?;
            let mut buf = [0u8; 256];
            let n = tcp.read(&mut buf).await.map_err(|e| e.to_string())?;
            let answer = String::from_utf8_lossy(&buf[..n]);
            let status = answer.lines().next().unwrap_or_default().to_owned();
            if status.starts_with("RTSP/1.0") {
                Ok(format!("{uri} answers RTSP ({status})"))
            } else {
                Err(format!("not an RTSP answer: {status:?}"))
            }
        }
        "http" | "https" => {
            let http = reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|e| e.to_string())?;
            let res = http.get(url).send().await.map_err(|e| e.to_string())?;
            let kind = res
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("no content type")
                .to_owned();
            match res.status().as_u16() {
                200 => Ok(format!("{uri} streams ({kind})")),
                401 => Ok(format!("{uri} is up and asks for a login")),
                other => Err(format!("HTTP {other}")),
            }
        }
        other => Err(format!(
            "scheme {other} is not a stream this controller reads"
        )),
    }
}
