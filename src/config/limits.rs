//! Connection limits of an HTTP listener (`web.limits`, `plate_events.limits`): how long a
//! peer may take over each part of a request, and how many connections it may hold.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::load::Problem;

/// Time limits and connection caps of one listener. The defaults suit a site: a console
/// or a camera sends its request head in milliseconds, and a site has tens of consoles and
/// cameras, not hundreds.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ListenLimits {
    /// Seconds a peer has to send a whole request head, counted from the connection (for
    /// its first request) or from its first byte (for a later one). A connection that
    /// sends nothing, or half a head, is closed after this.
    #[serde(default = "default_head_timeout_s")]
    pub head_timeout_s: f64,
    /// Seconds a request body may take in all, from its head. Responses are not limited:
    /// a live event stream or a camera's live view runs as long as its console watches.
    #[serde(default = "default_body_timeout_s")]
    pub body_timeout_s: f64,
    /// Seconds an idle keep-alive connection stays open between one response and the
    /// next request.
    #[serde(default = "default_idle_timeout_s")]
    pub idle_timeout_s: f64,
    /// Most connections open at once; more are closed as soon as they are accepted.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// Most connections open at once from one source address; more are closed as soon as
    /// they are accepted. A browser opens about six, plus its live event stream.
    #[serde(default = "default_max_per_ip")]
    pub max_per_ip: u32,
}

impl Default for ListenLimits {
    fn default() -> Self {
        Self {
            head_timeout_s: default_head_timeout_s(),
            body_timeout_s: default_body_timeout_s(),
            idle_timeout_s: default_idle_timeout_s(),
            max_connections: default_max_connections(),
            max_per_ip: default_max_per_ip(),
        }
    }
}

fn default_head_timeout_s() -> f64 {
    10.0
}

fn default_body_timeout_s() -> f64 {
    30.0
}

fn default_idle_timeout_s() -> f64 {
    60.0
}

fn default_max_connections() -> u32 {
    256
}

fn default_max_per_ip() -> u32 {
    32
}

impl ListenLimits {
    /// The head timeout as a duration.
    pub fn head_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.head_timeout_s)
    }

    /// The body timeout as a duration.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.body_timeout_s)
    }

    /// The idle keep-alive timeout as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.idle_timeout_s)
    }

    pub(super) fn validate(&self, out: &mut Vec<Problem>, at: &str) {
        for (field, value, max) in [
            ("head_timeout_s", self.head_timeout_s, 300.0),
            ("body_timeout_s", self.body_timeout_s, 3_600.0),
            ("idle_timeout_s", self.idle_timeout_s, 3_600.0),
        ] {
            if !(value.is_finite() && (0.1..=max).contains(&value)) {
                out.push(Problem::new(
                    format!("{at}.{field}"),
                    format!("must be between 0.1 and {max} seconds"),
                ));
            }
        }
        if !(1..=65_536).contains(&self.max_connections) {
            out.push(Problem::new(
                format!("{at}.max_connections"),
                "must be between 1 and 65536",
            ));
        }
        if self.max_per_ip == 0 || self.max_per_ip > self.max_connections {
            out.push(Problem::new(
                format!("{at}.max_per_ip"),
                "must be at least 1 and at most max_connections",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        let mut out = Vec::new();
        ListenLimits::default().validate(&mut out, "web.limits");
        assert!(out.is_empty(), "{out:?}");
    }

    #[test]
    fn every_bad_value_is_named_with_its_path() {
        let limits = ListenLimits {
            head_timeout_s: 0.0,
            body_timeout_s: f64::NAN,
            idle_timeout_s: 7_200.0,
            max_connections: 0,
            max_per_ip: 5,
        };
        let mut out = Vec::new();
        limits.validate(&mut out, "plate_events.limits");
        let paths: Vec<&str> = out.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "plate_events.limits.head_timeout_s",
                "plate_events.limits.body_timeout_s",
                "plate_events.limits.idle_timeout_s",
                "plate_events.limits.max_connections",
                "plate_events.limits.max_per_ip",
            ]
        );
    }
}
