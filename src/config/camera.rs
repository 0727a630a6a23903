//! The config of one camera: where its stream is, who it logs in as, how it is captured,
//! and which points of the site it watches (the records its frames evidence).
//!
//! Camera ids may follow the 20-digit customs camera coding (海关视频监控摄像头编码):
//! customs district (4), site (3), controlling department (1), industry `10` (2), device
//! type `131`/`132` (3), site category (2), location (2), sequence (3). An id made of
//! digits only is taken to be one and checked field by field.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::load::Problem;
use super::validate::{required, url_with_scheme};
use super::{Config, PlateAuth};

/// One camera: a plate camera of a gate lane, a surveillance camera, or both.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Camera id; may follow the 20-digit customs camera coding. Required.
    #[serde(default)]
    pub id: String,
    /// Name burned into evidence frames (the camera's position, in Chinese as customs
    /// writes it: `三明海关 跨境电商监管作业场所 X光机出口`).
    #[serde(default)]
    pub name: String,
    /// ONVIF device service URL (`http://host/onvif/device_service`). Without
    /// `stream_url`, the stream and snapshot URIs are asked from it (GetStreamUri,
    /// GetSnapshotUri of the first profile).
    #[serde(default)]
    pub onvif_url: Option<String>,
    /// Stream URI (RTSP or HTTP MJPEG), without credentials (they come from `username`
    /// and `password_env`/`password_file`).
    #[serde(default)]
    pub stream_url: Option<String>,
    /// Snapshot URI (HTTP, JPEG), polled while the stream is down; asked from ONVIF when
    /// absent and `onvif_url` is set.
    #[serde(default)]
    pub snapshot_url: Option<String>,
    /// The camera's user name (not a secret); or `username_env`.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the camera user name.
    #[serde(default)]
    pub username_env: Option<String>,
    /// Environment variable holding the camera password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the camera password (readable by the controller only), when it does
    /// not come from `password_env`.
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    /// A plate camera: how it proves itself when it posts events, `digest` (the default)
    /// or `basic`. Only that scheme is taken from it.
    #[serde(default)]
    pub plate_auth: PlateAuth,
    /// Capture this camera's stream into its frame ring. Default: when it has a stream
    /// (`stream_url`, or `onvif_url` to ask one from).
    #[serde(default)]
    pub capture: Option<bool>,
    /// Points whose records this camera's frames evidence: `line:<id>:xray_exit`,
    /// `line:<id>:decision`, `gate:<id>`.
    #[serde(default)]
    pub points: Vec<String>,
    /// No frame for this long (seconds) and the stream is reconnected; also the read
    /// timeout of one frame.
    #[serde(default = "default_watchdog_s")]
    pub watchdog_s: f64,
    /// Longest wait for the stream to open (seconds).
    #[serde(default = "default_open_timeout_s")]
    pub open_timeout_s: f64,
    /// Longest pause between two reconnection attempts (seconds); the pause doubles from
    /// 0.25 s up to this.
    #[serde(default = "default_reconnect_max_s")]
    pub reconnect_max_s: f64,
    /// Seconds of frames kept in memory, so an event's frame can be found after it.
    #[serde(default = "default_ring_seconds")]
    pub ring_seconds: f64,
    /// Most memory the frame ring may take (MiB); the oldest frames go first.
    #[serde(default = "default_ring_max_mb")]
    pub ring_max_mb: u64,
    /// While the stream is down, poll the snapshot URI this often (ms); 0 = never.
    #[serde(default = "default_snapshot_poll_ms")]
    pub snapshot_poll_ms: u64,
}

fn default_watchdog_s() -> f64 {
    3.0
}

fn default_open_timeout_s() -> f64 {
    5.0
}

fn default_reconnect_max_s() -> f64 {
    30.0
}

fn default_ring_seconds() -> f64 {
    10.0
}

fn default_ring_max_mb() -> u64 {
    32
}

fn default_snapshot_poll_ms() -> u64 {
    1000
}

impl Default for CameraConfig {
    /// No id, no source, every capture setting at its default.
    fn default() -> Self {
        Self {
            id: String::new(),
            name: String::new(),
            onvif_url: None,
            stream_url: None,
            snapshot_url: None,
            username: None,
            username_env: None,
            password_env: None,
            password_file: None,
            plate_auth: PlateAuth::default(),
            capture: None,
            points: Vec::new(),
            watchdog_s: default_watchdog_s(),
            open_timeout_s: default_open_timeout_s(),
            reconnect_max_s: default_reconnect_max_s(),
            ring_seconds: default_ring_seconds(),
            ring_max_mb: default_ring_max_mb(),
            snapshot_poll_ms: default_snapshot_poll_ms(),
        }
    }
}

impl CameraConfig {
    /// A camera with this id, name and stream and every capture default.
    pub fn with_stream(id: &str, name: &str, stream_url: &str) -> Self {
        Self {
            id: id.to_owned(),
            name: name.to_owned(),
            stream_url: Some(stream_url.to_owned()),
            ..Self::default()
        }
    }

    /// Whether its stream is captured (`capture`, or by default when it has a stream).
    pub fn captures(&self) -> bool {
        self.capture
            .unwrap_or(self.stream_url.is_some() || self.onvif_url.is_some())
    }

    /// Whether it logs in at all (a user name is configured).
    pub fn has_login(&self) -> bool {
        self.username.is_some() || self.username_env.is_some()
    }
}

/// A point of the site whose records cameras evidence, as written in `points`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PointSpec {
    /// `line:<id>:xray_exit`: a parcel leaving the X-ray machine.
    XrayExit(String),
    /// `line:<id>:decision`: a parcel's lane decision.
    Decision(String),
    /// `gate:<id>`: a truck at a gate lane (plate read, pass).
    Gate(String),
}

impl PointSpec {
    /// Read `line:<id>:xray_exit`, `line:<id>:decision` or `gate:<id>`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{s:?} is not a point; expected line:<id>:xray_exit, line:<id>:decision or gate:<id>"
            )
        };
        if let Some(gate) = s.strip_prefix("gate:") {
            return (!gate.is_empty() && !gate.contains(':'))
                .then(|| Self::Gate(gate.to_owned()))
                .ok_or_else(bad);
        }
        let rest = s.strip_prefix("line:").ok_or_else(bad)?;
        let (line, what) = rest.rsplit_once(':').ok_or_else(bad)?;
        if line.is_empty() || line.contains(':') {
            return Err(bad());
        }
        match what {
            "xray_exit" => Ok(Self::XrayExit(line.to_owned())),
            "decision" => Ok(Self::Decision(line.to_owned())),
            _ => Err(bad()),
        }
    }

    /// The canonical text (what [`PointSpec::parse`] reads).
    pub fn key(&self) -> String {
        match self {
            Self::XrayExit(line) => format!("line:{line}:xray_exit"),
            Self::Decision(line) => format!("line:{line}:decision"),
            Self::Gate(gate) => format!("gate:{gate}"),
        }
    }
}

/// Customs site categories (摄像头场所分类代码), digits 14–15 of a camera code.
const SITE_CATEGORIES: &[u8] = &[
    1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 31, 32, 33,
    34, 35, 36, 41, 51,
];

/// Check a 20-digit customs camera code field by field; `Err` says which field is wrong.
pub fn check_customs_camera_code(code: &str) -> Result<(), String> {
    if code.len() != 20 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{} characters: a customs camera code has exactly 20 digits",
            code.chars().count()
        ));
    }
    let field = |range: std::ops::Range<usize>| &code[range];
    let num = |range: std::ops::Range<usize>| code[range].parse::<u32>().unwrap_or_default();
    if num(0..4) == 0 {
        return Err("digits 1-4 (customs district code) must not be 0000".into());
    }
    if !matches!(field(7..8), "1" | "2" | "3" | "5" | "6") {
        return Err(format!(
            "digit 8 (controlling department) is {}; expected 1 customs, 2 public security, 3 border defence, 5 enterprise or 6 other",
            field(7..8)
        ));
    }
    if field(8..10) != "10" {
        return Err(format!(
            "digits 9-10 (industry) are {}; customs is 10",
            field(8..10)
        ));
    }
    if !matches!(field(10..13), "131" | "132") {
        return Err(format!(
            "digits 11-13 (device type) are {}; expected 131 camera or 132 network camera",
            field(10..13)
        ));
    }
    if !SITE_CATEGORIES.contains(&(num(13..15) as u8)) {
        return Err(format!(
            "digits 14-15 (site category) are {}; not a customs site category",
            field(13..15)
        ));
    }
    Ok(())
}

/// Check one camera entry; `plate` when a gate lane names it as its plate camera.
pub(super) fn validate_camera(
    out: &mut Vec<Problem>,
    at: &str,
    camera: &CameraConfig,
    plate: bool,
    config: &Config,
) {
    if required(out, format!("{at}.id"), &camera.id, "a camera id")
        && camera.id.bytes().all(|b| b.is_ascii_digit())
        && let Err(message) = check_customs_camera_code(&camera.id)
    {
        out.push(Problem::new(format!("{at}.id"), message));
    }
    if plate {
        // A plate camera pushes its events to us and must prove who it is.
        if !camera.has_login() {
            out.push(Problem::new(
                format!("{at}.username"),
                "required for a plate camera: username or username_env",
            ));
        }
        if camera.password_env.is_none() && camera.password_file.is_none() {
            out.push(Problem::new(
                format!("{at}.password_env"),
                "required for a plate camera: password_env or password_file",
            ));
        }
        if camera.plate_auth == PlateAuth::Basic
            && let Some(why) = config.plate_events.basic_refused()
        {
            out.push(Problem::new(format!("{at}.plate_auth"), why));
        }
    } else if camera.has_login() && camera.password_env.is_none() && camera.password_file.is_none()
    {
        out.push(Problem::new(
            format!("{at}.password_env"),
            "a user name is set: the password comes from password_env or password_file",
        ));
    }
    let urls = [
        ("onvif_url", &camera.onvif_url, &["http", "https"][..]),
        (
            "stream_url",
            &camera.stream_url,
            &["rtsp", "http", "https"][..],
        ),
        ("snapshot_url", &camera.snapshot_url, &["http", "https"][..]),
    ];
    for (field, url, schemes) in urls {
        let Some(url) = url else { continue };
        let path = format!("{at}.{field}");
        if url_with_scheme(out, path.clone(), url, schemes).is_some() && has_userinfo(url) {
            out.push(Problem::new(
                path,
                "credentials do not belong in the URL: use username and password_env or password_file",
            ));
        }
    }
    if camera.onvif_url.is_none() && camera.stream_url.is_none() && !plate {
        out.push(Problem::new(at.to_owned(), "needs onvif_url or stream_url"));
    }
    if camera.capture == Some(true) && camera.onvif_url.is_none() && camera.stream_url.is_none() {
        out.push(Problem::new(
            format!("{at}.capture"),
            "capture needs stream_url (or onvif_url to ask the stream from)",
        ));
    }
    validate_capture(out, at, camera);
    validate_points(out, at, camera, config);
}

fn validate_capture(out: &mut Vec<Problem>, at: &str, camera: &CameraConfig) {
    let ranges = [
        ("watchdog_s", camera.watchdog_s, 0.5, 60.0),
        ("open_timeout_s", camera.open_timeout_s, 0.5, 60.0),
        ("reconnect_max_s", camera.reconnect_max_s, 0.25, 600.0),
        ("ring_seconds", camera.ring_seconds, 1.0, 300.0),
    ];
    for (field, value, min, max) in ranges {
        if !(value.is_finite() && (min..=max).contains(&value)) {
            out.push(Problem::new(
                format!("{at}.{field}"),
                format!("must be between {min} and {max} seconds"),
            ));
        }
    }
    if !(1..=1024).contains(&camera.ring_max_mb) {
        out.push(Problem::new(
            format!("{at}.ring_max_mb"),
            "must be between 1 and 1024",
        ));
    }
    if camera.snapshot_poll_ms != 0 && !(100..=60_000).contains(&camera.snapshot_poll_ms) {
        out.push(Problem::new(
            format!("{at}.snapshot_poll_ms"),
            "must be 0 (never) or between 100 and 60000",
        ));
    }
}

fn validate_points(out: &mut Vec<Problem>, at: &str, camera: &CameraConfig, config: &Config) {
    let lines: HashSet<&str> = config.lines.iter().map(|l| l.id.as_str()).collect();
    let gates: HashSet<&str> = config.gates.iter().map(|g| g.id.as_str()).collect();
    let mut seen = HashSet::new();
    for (j, text) in camera.points.iter().enumerate() {
        let path = format!("{at}.points[{j}]");
        let point = match PointSpec::parse(text) {
            Ok(point) => point,
            Err(message) => {
                out.push(Problem::new(path, message));
                continue;
            }
        };
        let missing = match &point {
            PointSpec::XrayExit(line) | PointSpec::Decision(line) => {
                (!lines.contains(line.as_str())).then(|| format!("no line with id {line:?}"))
            }
            PointSpec::Gate(gate) => {
                (!gates.contains(gate.as_str())).then(|| format!("no gate with id {gate:?}"))
            }
        };
        if let Some(message) = missing {
            out.push(Problem::new(path, message));
        } else if !seen.insert(point) {
            out.push(Problem::new(path, format!("{text:?} is listed twice")));
        }
    }
    if !camera.points.is_empty() && !camera.captures() {
        out.push(Problem::new(
            format!("{at}.points"),
            "a camera that is not captured has no frames to evidence points with",
        ));
    }
}

/// Whether `scheme://user[:pass]@host…` carries credentials.
fn has_userinfo(url: &str) -> bool {
    url.split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or_default())
        .is_some_and(|authority| authority.contains('@'))
}

#[cfg(test)]
#[path = "camera_tests.rs"]
mod tests;
