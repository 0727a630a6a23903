//! What a simulated ONVIF camera is: identity, credentials, video source, media profiles,
//! clock and discovery.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Smallest and largest width or height a profile may have, in pixels.
const SIZE_RANGE: std::ops::RangeInclusive<u32> = 64..=4096;

/// One media profile: a JPEG encoder fed by the camera's video source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// The profile token clients pass to `GetSnapshotUri`/`GetStreamUri` and that names
    /// the stream path (`/stream/{token}`): letters, digits, `_` and `-` only.
    pub token: String,
    /// Frame width in pixels, a multiple of 8 (JPEG blocks), 64..=4096.
    pub width: u32,
    /// Frame height in pixels, a multiple of 8.
    pub height: u32,
    /// Frames per second of the MJPEG stream (1..=60).
    pub fps: u32,
    /// JPEG quality, 1..=100 (75 when absent).
    #[serde(default = "default_quality")]
    pub quality: u8,
}

/// The JPEG quality of a profile that names none.
fn default_quality() -> u8 {
    75
}

impl ProfileConfig {
    /// A profile with the default quality (75).
    pub fn new(token: impl Into<String>, width: u32, height: u32, fps: u32) -> Self {
        Self {
            token: token.into(),
            width,
            height,
            fps,
            quality: default_quality(),
        }
    }
}

/// A simulated ONVIF camera. `Default` gives a camera on `127.0.0.1:0` with user `admin`,
/// a main profile 1280x720 and a sub profile 640x360 at 10 fps, no clock skew and no
/// discovery (tests turn on what they need).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OnvifCameraConfig {
    /// Camera name: the `onvif://www.onvif.org/name/...` scope and the source of the
    /// stable WS-Discovery endpoint reference (`urn:uuid:` derived from it).
    pub name: String,
    /// Where the HTTP server (SOAP, snapshot, MJPEG) listens; port 0 takes a free port.
    pub http_listen: SocketAddr,
    /// The one user of the camera.
    pub username: String,
    /// Its password (changeable at run time with `RunningCamera::set_password`).
    pub password: String,
    /// Video source width: the `Bounds` of the source configuration; no profile is wider.
    pub width: u32,
    /// Video source height; no profile is taller.
    pub height: u32,
    /// Video source frame rate; no profile is faster.
    pub fps: u32,
    /// `GetDeviceInformation` Manufacturer.
    pub manufacturer: String,
    /// `GetDeviceInformation` Model, also the `hardware` scope.
    pub model: String,
    /// `GetDeviceInformation` SerialNumber.
    pub serial: String,
    /// `GetDeviceInformation` FirmwareVersion.
    pub firmware: String,
    /// The `onvif://www.onvif.org/location/...` scope.
    pub location: String,
    /// Media profiles, at least one; `GetProfiles` lists them in this order.
    pub profiles: Vec<ProfileConfig>,
    /// The camera's clock minus true UTC, in seconds: what `GetSystemDateAndTime` says,
    /// what the frames show and stamp, and what WS-Security `Created` times are checked
    /// against. A client that does not correct for it is refused.
    pub clock_skew_s: i64,
    /// How far a UsernameToken's `Created` may be from the camera's clock, in seconds,
    /// either way.
    pub token_window_s: u64,
    /// Answer WS-Discovery probes at all (the unicast responder, and the multicast one
    /// when `discovery_multicast`).
    pub discovery: bool,
    /// Join 239.255.255.250:3702 (shared with other listeners on the host) on the
    /// interface of `http_listen`, answer probes sent there, and send Hello at start and
    /// Bye at shutdown, out of that interface only. With a loopback `http_listen` there is
    /// no multicast at all (nothing leaves the host; unicast probes are still answered).
    /// A failure to join is logged and the camera carries on unicast only.
    pub discovery_multicast: bool,
    /// Where the unicast WS-Discovery responder listens (directed probes); port 0 takes a
    /// free port.
    pub discovery_unicast: SocketAddr,
    /// Serve every profile over RTSP as well (H.264 over RTP, RTSP Digest with the
    /// camera's credentials) through GStreamer's RTSP server, run as a child process fed
    /// with the camera's own frames; `GetStreamUri` then answers `rtsp://` for RTP over
    /// UDP, TCP or RTSP. Without GStreamer's RTSP server installed the camera says so and
    /// runs without it. Off in `Default` (tests turn it on); on in `onvif-camera-sim`.
    pub rtsp: bool,
    /// Port of the RTSP server, on the HTTP listen address; 0 takes a free port.
    pub rtsp_port: u16,
    /// The Python that runs the RTSP server: it needs GStreamer's bindings (`gi`, Debian's
    /// `python3-gi`). Absent: `/usr/bin/python3` when it exists, else `python3`.
    pub rtsp_python: Option<PathBuf>,
}

impl Default for OnvifCameraConfig {
    fn default() -> Self {
        Self {
            name: "sim-camera".to_owned(),
            http_listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            username: "admin".to_owned(),
            password: "admin123".to_owned(),
            width: 1280,
            height: 720,
            fps: 10,
            manufacturer: "customs-edge".to_owned(),
            model: "SIM-IPC-720".to_owned(),
            serial: "SIM0000001".to_owned(),
            firmware: env!("CARGO_PKG_VERSION").to_owned(),
            location: "sanming".to_owned(),
            profiles: vec![
                ProfileConfig::new("main", 1280, 720, 10),
                ProfileConfig::new("sub", 640, 360, 10),
            ],
            clock_skew_s: 0,
            token_window_s: 60,
            discovery: false,
            discovery_multicast: false,
            discovery_unicast: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            rtsp: false,
            rtsp_port: 0,
            rtsp_python: None,
        }
    }
}

impl OnvifCameraConfig {
    /// A default camera named `name` whose source and profiles follow `width` x `height`
    /// at `fps`: `main` at the full size and `sub` at half of it (rounded down to 8).
    pub fn sized(name: impl Into<String>, width: u32, height: u32, fps: u32) -> Self {
        let half = |v: u32| (v / 2 / 8 * 8).max(8);
        Self {
            name: name.into(),
            width,
            height,
            fps,
            profiles: vec![
                ProfileConfig::new("main", width, height, fps),
                ProfileConfig::new("sub", half(width), half(height), fps),
            ],
            ..Self::default()
        }
    }

    /// The profile with this token.
    pub fn profile(&self, token: &str) -> Option<&ProfileConfig> {
        self.profiles.iter().find(|p| p.token == token)
    }

    /// Every problem with this config, each naming its field.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.name.trim().is_empty() {
            problems.push("name: must not be empty".to_owned());
        }
        if self.username.is_empty() || self.username.contains(':') {
            problems.push("username: must be non-empty, without ':'".to_owned());
        }
        if !SIZE_RANGE.contains(&self.width) || !SIZE_RANGE.contains(&self.height) {
            problems.push(format!(
                "width/height: {}x{} is outside {SIZE_RANGE:?}",
                self.width, self.height
            ));
        }
        if !(1..=60).contains(&self.fps) {
            problems.push(format!("fps: {} is outside 1..=60", self.fps));
        }
        if self.profiles.is_empty() {
            problems.push("profiles: at least one is needed".to_owned());
        }
        for (i, p) in self.profiles.iter().enumerate() {
            let at = format!("profiles[{i}]");
            let token_ok = !p.token.is_empty()
                && p.token.len() <= 64
                && p.token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !token_ok {
                problems.push(format!(
                    "{at}.token: `{}` must be 1..=64 of A-Z a-z 0-9 _ -",
                    p.token
                ));
            }
            if self.profiles[..i].iter().any(|q| q.token == p.token) {
                problems.push(format!("{at}.token: `{}` is used twice", p.token));
            }
            let sized = |v: u32| SIZE_RANGE.contains(&v) && v.is_multiple_of(8);
            if !sized(p.width) || !sized(p.height) {
                problems.push(format!(
                    "{at}: {}x{} must be multiples of 8 within {SIZE_RANGE:?}",
                    p.width, p.height
                ));
            }
            if p.width > self.width || p.height > self.height {
                problems.push(format!(
                    "{at}: {}x{} is larger than the source {}x{}",
                    p.width, p.height, self.width, self.height
                ));
            }
            if !(1..=self.fps.max(1)).contains(&p.fps) {
                problems.push(format!("{at}.fps: {} is outside 1..={}", p.fps, self.fps));
            }
            if !(1..=100).contains(&p.quality) {
                problems.push(format!("{at}.quality: {} is outside 1..=100", p.quality));
            }
        }
        if self.token_window_s == 0 {
            problems.push("token_window_s: must be at least 1".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_camera_is_valid_with_main_and_sub_profiles() {
        let cfg = OnvifCameraConfig::default();
        assert_eq!(cfg.validate(), Ok(()));
        let sizes: Vec<_> = cfg.profiles.iter().map(|p| (p.width, p.height)).collect();
        assert_eq!(sizes, [(1280, 720), (640, 360)]);
    }

    #[test]
    fn every_problem_is_named() {
        let mut cfg = OnvifCameraConfig::sized("c", 640, 360, 10);
        cfg.profiles.push(ProfileConfig::new("main", 1280, 721, 30));
        let problems = cfg.validate().unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("used twice")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("multiples of 8")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("larger than the source"))
        );
        assert!(problems.iter().any(|p| p.starts_with("profiles[2].fps")));
    }
}
