//! Checks a parsed config for everything serde cannot: required values, addresses, ranges,
//! uniqueness and cross-references. Every problem is collected with its path.

use std::collections::HashSet;
use std::net::SocketAddr;

mod line;

use line::validate_line;

use super::camera::validate_camera;
use super::load::Problem;
use super::{Config, PlatformConfig};

impl Config {
    /// Every problem in this config; empty when it is usable.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.site.code.trim().is_empty() {
            out.push(Problem::new(
                "site.code",
                "required: the customs supervision site code (loctNo)",
            ));
        }
        if self.storage.evidence_retention_days == 0 {
            out.push(Problem::new(
                "storage.evidence_retention_days",
                "must be at least 1 day",
            ));
        }
        if !(self.storage.evidence_quota_gb.is_finite() && self.storage.evidence_quota_gb >= 0.0) {
            out.push(Problem::new(
                "storage.evidence_quota_gb",
                "must be 0 (no quota) or more",
            ));
        }
        if !(60..=86_400).contains(&self.storage.purge_interval_s) {
            out.push(Problem::new(
                "storage.purge_interval_s",
                "must be between 60 and 86400 seconds",
            ));
        }
        if let Err(message) = check_data_dir(&self.storage.data_dir) {
            out.push(Problem::new("storage.data_dir", message));
        }
        if let Some(backup) = &self.backup {
            backup.validate(&mut out, &self.storage.data_dir);
        }
        self.storage.disk.validate(&mut out);
        self.web.validate(&mut out);
        unique(&mut out, "lines", self.lines.iter().map(|l| l.id.as_str()));
        for (i, line) in self.lines.iter().enumerate() {
            validate_line(&mut out, &format!("lines[{i}]"), line);
        }
        let camera_ids: HashSet<&str> = self.cameras.iter().map(|c| c.id.as_str()).collect();
        unique(&mut out, "gates", self.gates.iter().map(|g| g.id.as_str()));
        for (i, gate) in self.gates.iter().enumerate() {
            gate.validate(&mut out, &format!("gates[{i}]"), &camera_ids);
        }
        if !self.gates.is_empty() {
            self.plate_events.validate(&mut out);
        }
        for (i, operator) in self.operators.iter().enumerate() {
            operator.validate(&mut out, &format!("operators[{i}]"));
        }
        let mut plate_cameras: HashSet<&str> = HashSet::new();
        for (i, gate) in self.gates.iter().enumerate() {
            if let Some(camera) = gate.plate_camera.as_deref()
                && !plate_cameras.insert(camera)
            {
                out.push(Problem::new(
                    format!("gates[{i}].plate_camera"),
                    format!("camera {camera:?} already watches another lane; each lane needs its own plate camera"),
                ));
            }
        }
        unique(
            &mut out,
            "cameras",
            self.cameras.iter().map(|c| c.id.as_str()),
        );
        for (i, camera) in self.cameras.iter().enumerate() {
            validate_camera(
                &mut out,
                &format!("cameras[{i}]"),
                camera,
                plate_cameras.contains(camera.id.as_str()),
                self,
            );
        }
        if let Some(platform) = &self.platform {
            validate_platform(&mut out, platform);
            for (i, t) in platform.telemetry.iter().enumerate() {
                let at = format!("platform.telemetry[{i}]");
                if required(&mut out, format!("{at}.line"), &t.line, "the line id")
                    && !self.lines.iter().any(|l| l.id == t.line)
                {
                    out.push(Problem::new(
                        format!("{at}.line"),
                        format!("no line with id {:?}", t.line),
                    ));
                }
                if required(&mut out, format!("{at}.tag"), &t.tag, "the tag name")
                    && !crate::sync::telemetry::TAGS.contains(&t.tag.as_str())
                {
                    out.push(Problem::new(
                        format!("{at}.tag"),
                        format!(
                            "unknown tag {:?}; known: {}",
                            t.tag,
                            crate::sync::telemetry::TAGS.join(", ")
                        ),
                    ));
                }
                if !t.deadband.is_finite() || t.deadband < 0.0 {
                    out.push(Problem::new(
                        format!("{at}.deadband"),
                        "must be a non-negative number",
                    ));
                }
                if t.max_interval_s == 0 {
                    out.push(Problem::new(
                        format!("{at}.max_interval_s"),
                        "must be at least 1",
                    ));
                }
            }
        }
        out
    }
}

/// The data directory can be written: it exists and takes a file, or the nearest existing
/// parent takes a directory. Probes with a file it removes again.
fn check_data_dir(dir: &std::path::Path) -> Result<(), String> {
    if dir.as_os_str().is_empty() {
        return Err("required: where the database and evidence go".into());
    }
    let existing = dir
        .ancestors()
        .find(|p| !p.as_os_str().is_empty() && p.exists())
        .unwrap_or(std::path::Path::new("."));
    if !existing.is_dir() {
        return Err(format!("{} is not a directory", existing.display()));
    }
    let probe = existing.join(format!(".customs-edge-write-probe-{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!(
            "{} cannot be written ({e}): the controller keeps its database and evidence there",
            existing.display()
        )),
    }
}

fn unique<'a>(out: &mut Vec<Problem>, list: &str, ids: impl Iterator<Item = &'a str>) {
    let mut seen = HashSet::new();
    for (i, id) in ids.enumerate() {
        if !id.is_empty() && !seen.insert(id) {
            out.push(Problem::new(
                format!("{list}[{i}].id"),
                format!("duplicate id {id:?}"),
            ));
        }
    }
}

pub(super) fn required(out: &mut Vec<Problem>, path: String, value: &str, what: &str) -> bool {
    if value.trim().is_empty() {
        out.push(Problem::new(path, format!("required: {what}")));
        false
    } else {
        true
    }
}

/// A listen address must be a literal `ip:port`.
pub(super) fn check_listen(value: &str) -> Result<SocketAddr, String> {
    value.parse().map_err(|_| {
        format!("{value:?} is not an address to listen on; expected ip:port, e.g. 127.0.0.1:8080")
    })
}

/// A device address is `host:port` with a host name or IP and a non-zero port.
pub(crate) fn check_device_address(value: &str) -> Result<(), String> {
    if value.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad =
        || format!("{value:?} is not a device address; expected host:port, e.g. 192.168.10.20:502");
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
        })
        && !host
            .split('.')
            .all(|label| label.chars().all(|c| c.is_ascii_digit()));
    if port == 0 || !host_ok {
        Err(bad())
    } else {
        Ok(())
    }
}

pub(super) fn address(out: &mut Vec<Problem>, path: String, value: &str, what: &str) {
    if required(out, path.clone(), value, what)
        && let Err(message) = check_device_address(value)
    {
        out.push(Problem::new(path, message));
    }
}

fn validate_platform(out: &mut Vec<Problem>, platform: &PlatformConfig) {
    if !required(
        out,
        "platform.broker".into(),
        &platform.broker,
        "the broker URL, mqtt://host:port or mqtts://host:port",
    ) {
        return;
    }
    if let Some(scheme) = url_with_scheme(
        out,
        "platform.broker".into(),
        &platform.broker,
        &["mqtt", "mqtts"],
    ) && scheme == "mqtt"
        && platform.ca_file.is_some()
    {
        out.push(Problem::new(
            "platform.ca_file",
            "set, but the broker URL is mqtt:// (no TLS); use mqtts://",
        ));
    }
    if platform.broker.trim().starts_with("mqtt://")
        && (platform.username_env.is_some() || platform.password_env.is_some())
    {
        out.push(Problem::new(
            "platform.broker",
            "mqtt:// sends the user name and password in clear text: use mqtts:// with \
             username_env / password_env",
        ));
    }
    if platform.client_cert_file.is_some() != platform.client_key_file.is_some() {
        out.push(Problem::new(
            "platform.client_key_file",
            "client_cert_file and client_key_file go together",
        ));
    }
    for (field, value, min) in [
        ("keep_alive_s", platform.keep_alive_s, 5),
        ("ack_timeout_s", platform.ack_timeout_s, 1),
        ("window", u64::from(platform.window), 1),
        ("outbox_quota_mb", platform.outbox_quota_mb, 1),
        ("max_downlink_kb", platform.max_downlink_kb, 1),
        ("reconnect_min_ms", platform.reconnect_min_ms, 10),
        ("reconnect_max_ms", platform.reconnect_max_ms, 10),
    ] {
        if value < min {
            out.push(Problem::new(
                format!("platform.{field}"),
                format!("must be at least {min}"),
            ));
        }
    }
    if platform.reconnect_max_ms > 600_000 {
        out.push(Problem::new(
            "platform.reconnect_max_ms",
            "must be at most 600000 (10 min): a longer cap keeps the link down long after the broker is back",
        ));
    }
    if platform.reconnect_min_ms > platform.reconnect_max_ms {
        out.push(Problem::new(
            "platform.reconnect_min_ms",
            format!(
                "{} is more than reconnect_max_ms ({}): the first wait cannot exceed the longest",
                platform.reconnect_min_ms, platform.reconnect_max_ms
            ),
        ));
    }
    if !(0.0..=1.0).contains(&platform.reconnect_jitter) {
        out.push(Problem::new(
            "platform.reconnect_jitter",
            format!(
                "{} is not a fraction from 0 to 1 (0.25 spreads each wait over 75 % to 125 %)",
                platform.reconnect_jitter
            ),
        ));
    }
    if platform.topic_prefix.is_empty() || platform.topic_prefix.contains(['#', '+']) {
        out.push(Problem::new(
            "platform.topic_prefix",
            "must be non-empty and contain no MQTT wildcards",
        ));
    }
    if let Some(signing) = &platform.signing {
        signing.validate(out);
    }
}

/// Check `scheme://host:port[/...]`; returns the scheme when valid.
pub(super) fn url_with_scheme<'a>(
    out: &mut Vec<Problem>,
    path: String,
    url: &'a str,
    schemes: &[&str],
) -> Option<&'a str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        out.push(Problem::new(
            path,
            format!("{url:?} is not a URL; expected {}://host:port", schemes[0]),
        ));
        return None;
    };
    if !schemes.contains(&scheme) {
        out.push(Problem::new(
            path,
            format!("scheme {scheme:?} not supported here; use one of {schemes:?}"),
        ));
        return None;
    }
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let with_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:1")
    };
    if let Err(message) = check_device_address(&with_port) {
        out.push(Problem::new(path, message.replace(&with_port, url)));
        return None;
    }
    Some(scheme)
}

#[cfg(test)]
mod tests {
    use super::check_device_address;

    fn platform_problems(keys: &str) -> Vec<(String, String)> {
        let cfg: super::Config = toml::from_str(&format!(
            "[site]\ncode = \"S1\"\n[platform]\nbroker = \"mqtt://127.0.0.1:1883\"\n{keys}"
        ))
        .unwrap();
        cfg.validate()
            .into_iter()
            .filter(|p| p.path.starts_with("platform."))
            .map(|p| (p.path, p.message))
            .collect()
    }

    #[test]
    fn the_reconnect_backoff_is_checked() {
        assert!(platform_problems("").is_empty(), "the defaults are valid");
        assert!(
            platform_problems(
                "reconnect_min_ms = 100\nreconnect_max_ms = 3000\nreconnect_jitter = 0\n"
            )
            .is_empty()
        );
        let named = |keys: &str| -> Vec<String> {
            platform_problems(keys).into_iter().map(|p| p.0).collect()
        };
        assert_eq!(
            named("reconnect_min_ms = 5000\nreconnect_max_ms = 1000\n"),
            ["platform.reconnect_min_ms"]
        );
        assert_eq!(
            named("reconnect_min_ms = 0\n"),
            ["platform.reconnect_min_ms"]
        );
        assert_eq!(
            named("reconnect_max_ms = 3600000\n"),
            ["platform.reconnect_max_ms"]
        );
        assert_eq!(
            named("reconnect_jitter = 1.5\n"),
            ["platform.reconnect_jitter"]
        );
        assert_eq!(
            named("reconnect_jitter = nan\n"),
            ["platform.reconnect_jitter"]
        );
        let message = &platform_problems("reconnect_jitter = -0.1\n")[0].1;
        assert!(message.contains("from 0 to 1"), "{message}");
    }

    #[test]
    fn device_addresses_accept_ips_and_host_names() {
        assert!(check_device_address("192.168.10.20:502").is_ok());
        assert!(check_device_address("plc-1.site.local:502").is_ok());
        assert!(check_device_address("[::1]:502").is_ok());
    }

    #[test]
    fn device_addresses_reject_what_cannot_connect() {
        for bad in [
            "192.168.10.20",
            "plc:0",
            "plc:99999",
            "999.1.1.1:502",
            ":502",
            "a b:502",
        ] {
            assert!(
                check_device_address(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
