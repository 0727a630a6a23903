//! The listener plate cameras push their events to (`[plate_events]`): where it listens,
//! its TLS certificate, how large an event may be, and how wrong passwords are slowed
//! down. How each camera proves itself is the camera's `plate_auth`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::load::Problem;
use super::validate::check_listen;

/// How a plate camera proves who it is when it posts an event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateAuth {
    /// HTTP Digest (SHA-256 or MD5, `qop=auth`): the password never crosses the network.
    /// Basic credentials are refused, even right ones.
    #[default]
    Digest,
    /// HTTP Basic: the password is sent with every post, readable by anyone on the path
    /// unless the listener serves TLS (`plate_events.tls`). Digest is refused.
    Basic,
}

impl PlateAuth {
    /// `digest` or `basic`, as written in the config.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Digest => "digest",
            Self::Basic => "basic",
        }
    }
}

/// A certificate and its key, PEM files, for a listener that serves TLS.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerTls {
    /// The certificate chain (PEM), the listener's own certificate first.
    pub cert_file: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1), readable by the controller only.
    pub key_file: PathBuf,
}

/// How wrong credentials from a camera's address are slowed down.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlateAuthLimits {
    /// Wrong credentials for one camera from one address before any delay.
    #[serde(default = "default_free_failures")]
    pub free_failures: u32,
    /// The first delay after those (seconds); it doubles with each further failure.
    #[serde(default = "default_first_delay_s")]
    pub first_delay_s: f64,
    /// The longest delay (seconds).
    #[serde(default = "default_max_delay_s")]
    pub max_delay_s: f64,
    /// Wrong credentials for one camera from all addresses together in a minute; beyond
    /// them, addresses the camera has not posted from successfully wait the rest of the
    /// minute (an intruder with many addresses gets this many guesses a minute, and the
    /// camera at its usual address is not slowed at all).
    #[serde(default = "default_camera_failures_per_minute")]
    pub camera_failures_per_minute: u32,
    /// Most (camera, address) pairs remembered; beyond that the one not heard from the
    /// longest is forgotten, so a scan of many addresses cannot grow memory.
    #[serde(default = "default_max_sources")]
    pub max_sources: usize,
}

impl Default for PlateAuthLimits {
    fn default() -> Self {
        Self {
            free_failures: default_free_failures(),
            first_delay_s: default_first_delay_s(),
            max_delay_s: default_max_delay_s(),
            camera_failures_per_minute: default_camera_failures_per_minute(),
            max_sources: default_max_sources(),
        }
    }
}

fn default_free_failures() -> u32 {
    5
}
fn default_first_delay_s() -> f64 {
    1.0
}
fn default_max_delay_s() -> f64 {
    600.0
}
fn default_camera_failures_per_minute() -> u32 {
    30
}
fn default_max_sources() -> usize {
    4096
}

impl PlateAuthLimits {
    /// The first delay as a duration.
    pub fn first_delay(&self) -> Duration {
        Duration::from_secs_f64(self.first_delay_s.max(0.0))
    }

    /// The longest delay as a duration.
    pub fn max_delay(&self) -> Duration {
        Duration::from_secs_f64(self.max_delay_s.max(0.0))
    }

    fn validate(&self, out: &mut Vec<Problem>, at: &str) {
        if !(1..=100).contains(&self.free_failures) {
            out.push(Problem::new(
                format!("{at}.free_failures"),
                "must be between 1 and 100",
            ));
        }
        let ok = |v: f64, lo: f64, hi: f64| v.is_finite() && (lo..=hi).contains(&v);
        if !ok(self.first_delay_s, 0.1, 60.0) {
            out.push(Problem::new(
                format!("{at}.first_delay_s"),
                "must be between 0.1 and 60 seconds",
            ));
        }
        if !ok(self.max_delay_s, 1.0, 86_400.0) || self.max_delay_s < self.first_delay_s {
            out.push(Problem::new(
                format!("{at}.max_delay_s"),
                "must be between 1 and 86400 seconds, and at least first_delay_s",
            ));
        }
        if !(1..=10_000).contains(&self.camera_failures_per_minute) {
            out.push(Problem::new(
                format!("{at}.camera_failures_per_minute"),
                "must be between 1 and 10000",
            ));
        }
        if !(16..=1_000_000).contains(&self.max_sources) {
            out.push(Problem::new(
                format!("{at}.max_sources"),
                "must be between 16 and 1000000",
            ));
        }
    }
}

/// The listener plate cameras push their events to.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlateEventsConfig {
    /// `ip:port` to listen on; cameras post to `http(s)://<this>/cameras/<camera id>/events`.
    #[serde(default = "default_plate_listen")]
    pub listen: String,
    /// Serve HTTPS with this certificate and key (cameras then post to `https://`); plain
    /// HTTP when absent.
    #[serde(default)]
    pub tls: Option<ListenerTls>,
    /// Accept cameras with `plate_auth = "basic"` on a plain-HTTP listener reachable from
    /// other hosts: their passwords cross the network in clear with every post. Refused
    /// unless set; meant for old firmware that can do neither Digest nor HTTPS.
    #[serde(default)]
    pub allow_basic_without_tls: bool,
    /// Largest event accepted, in KiB (a JPEG or two and the XML or JSON around them).
    #[serde(default = "default_max_body_kb")]
    pub max_body_kb: u64,
    /// Largest single image accepted, in KiB.
    #[serde(default = "default_max_image_kb")]
    pub max_image_kb: u64,
    /// Time limits and connection caps of this listener.
    #[serde(default)]
    pub limits: super::ListenLimits,
    /// How wrong passwords are slowed down, per camera and source address.
    #[serde(default)]
    pub auth_limits: PlateAuthLimits,
}

impl Default for PlateEventsConfig {
    fn default() -> Self {
        Self {
            listen: default_plate_listen(),
            tls: None,
            allow_basic_without_tls: false,
            max_body_kb: default_max_body_kb(),
            max_image_kb: default_max_image_kb(),
            limits: super::ListenLimits::default(),
            auth_limits: PlateAuthLimits::default(),
        }
    }
}

fn default_plate_listen() -> String {
    "127.0.0.1:8081".into()
}
fn default_max_body_kb() -> u64 {
    8 * 1024
}
fn default_max_image_kb() -> u64 {
    4 * 1024
}

impl PlateEventsConfig {
    pub(super) fn validate(&self, out: &mut Vec<Problem>) {
        if let Err(message) = check_listen(&self.listen) {
            out.push(Problem::new("plate_events.listen", message));
        }
        if let Some(tls) = &self.tls
            && let Err(message) = crate::listen::tls::load(&tls.cert_file, &tls.key_file)
        {
            out.push(Problem::new("plate_events.tls", message));
        }
        if !(16..=65_536).contains(&self.max_body_kb) {
            out.push(Problem::new(
                "plate_events.max_body_kb",
                "must be between 16 and 65536",
            ));
        }
        if self.max_image_kb == 0 || self.max_image_kb > self.max_body_kb {
            out.push(Problem::new(
                "plate_events.max_image_kb",
                "must be above 0 and at most max_body_kb",
            ));
        }
        self.limits.validate(out, "plate_events.limits");
        self.auth_limits.validate(out, "plate_events.auth_limits");
    }

    /// Why a camera with Basic may not post here, if it may not: the listener speaks
    /// plain HTTP to other hosts and the site has not accepted passwords in clear.
    pub fn basic_refused(&self) -> Option<String> {
        if self.tls.is_some() || self.allow_basic_without_tls {
            return None;
        }
        let addr: SocketAddr = self.listen.parse().ok()?;
        (!addr.ip().is_loopback()).then(|| {
            format!(
                "basic sends the camera's password in clear with every post, and \
                 plate_events.listen ({addr}) is plain HTTP reachable from other hosts: use \
                 plate_auth = \"digest\", or give plate_events a tls certificate, or (old \
                 firmware only) set plate_events.allow_basic_without_tls = true"
            )
        })
    }

    /// Whether the listener takes Basic over plain HTTP from other hosts because the site
    /// said so: worth a warning at start.
    pub fn basic_in_clear(&self) -> bool {
        self.tls.is_none()
            && self.allow_basic_without_tls
            && self
                .listen
                .parse::<SocketAddr>()
                .is_ok_and(|a| !a.ip().is_loopback())
    }
}

#[cfg(test)]
#[path = "plate_events_tests.rs"]
mod tests;
