//! [`PlatformConfig`]: which broker, which sites, how the judge and the acks behave; and
//! the rumqttc options built from it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use rumqttc::{MqttOptions, TlsConfiguration, Transport};

/// Largest MQTT packet the platform reads or writes: a batch of 1,000 declaration lists
/// is about half a megabyte, far below this.
pub const MAX_PACKET_BYTES: usize = 32 * 1024 * 1024;

/// How the simulated platform connects and judges.
#[derive(Debug, Clone)]
pub struct PlatformConfig {
    /// Broker URL: `mqtt://host:port` (default port 1883) or `mqtts://host:port` (8883).
    pub broker: String,
    /// PEM file of the CA that signed the broker's certificate (`mqtts://`); without it
    /// the system's roots are used.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate for mutual TLS (with `client_key`).
    pub client_cert: Option<PathBuf>,
    /// PEM private key of `client_cert`.
    pub client_key: Option<PathBuf>,
    /// Broker user name.
    pub username: Option<String>,
    /// Broker password (with `username`).
    pub password: Option<String>,
    /// Topic prefix shared with the sites (`customs-edge`).
    pub prefix: String,
    /// Site codes (loctNo) to serve; at least one.
    pub sites: Vec<String>,
    /// MQTT client id; stable across restarts so the broker keeps the session
    /// (`clean_session = false`) while the platform is away.
    pub client_id: String,
    /// Acks of one stream go out at most this often, cumulatively: a 20,000 msg/s drain
    /// does not become 20,000 acks a second.
    pub ack_interval: Duration,
    /// Bodies of applied messages kept for [`Platform::applied`](super::Platform::applied),
    /// the first ones; counts are kept for every message regardless.
    pub keep_bodies: usize,
    /// When a stream has applied nothing yet, take the first sequence number seen as its
    /// start instead of expecting 1: for a platform restarted without its ledger while a
    /// site's outbox continues where the old one acknowledged.
    pub adopt_first_seq: bool,
    /// The first part of downlink message ids (`<origin>:down:<seq>`). The site applies a
    /// downlink id at most once, for good, so a platform restarted against the same site
    /// database needs a fresh origin or its new messages are taken for redeliveries.
    pub origin: String,
    /// MQTT keep-alive.
    pub keep_alive: Duration,
    /// Sign downlink and acks, and require signed uplink (`None`: neither).
    pub signing: Option<super::signing::Signing>,
}

impl Default for PlatformConfig {
    fn default() -> Self {
        Self {
            broker: "mqtt://127.0.0.1:1883".to_owned(),
            ca_file: None,
            client_cert: None,
            client_key: None,
            username: None,
            password: None,
            prefix: default_prefix(),
            sites: Vec::new(),
            client_id: "customs-edge-platform-sim".to_owned(),
            ack_interval: default_ack_interval(),
            keep_bodies: usize::MAX,
            adopt_first_seq: false,
            origin: "platform".to_owned(),
            keep_alive: Duration::from_secs(10),
            signing: None,
        }
    }
}

/// The topic prefix the site controller uses by default.
pub fn default_prefix() -> String {
    "customs-edge".to_owned()
}

/// 50 ms between acks of one stream.
pub fn default_ack_interval() -> Duration {
    Duration::from_millis(50)
}

/// A broker URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// `mqtts://`.
    pub tls: bool,
}

impl BrokerUrl {
    /// Parse `mqtt://host[:port]` or `mqtts://host[:port]` (`tcp://` and `ssl://` too).
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let (scheme, rest) = url
            .split_once("://")
            .with_context(|| format!("broker {url:?} is not mqtt://host:port or mqtts://"))?;
        let tls = match scheme {
            "mqtt" | "tcp" => false,
            "mqtts" | "ssl" => true,
            other => bail!("broker {url:?}: scheme {other:?} is not mqtt or mqtts"),
        };
        let rest = rest.trim_end_matches('/');
        let default_port = if tls { 8883 } else { 1883 };
        // `[::1]:1883` for IPv6 literals, `host:port` otherwise.
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6
                    .split_once(']')
                    .with_context(|| format!("broker {url:?}: no ] after an IPv6 address"))?;
                (host, after.strip_prefix(':'))
            }
            None => match rest.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            },
        };
        let port = match port {
            Some(p) => p
                .parse()
                .with_context(|| format!("broker {url:?}: port {p:?} is not a number"))?,
            None => default_port,
        };
        if host.is_empty() {
            bail!("broker {url:?} names no host");
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            tls,
        })
    }
}

impl PlatformConfig {
    /// A config for `sites` on `broker`, everything else default.
    pub fn new(broker: impl Into<String>, sites: &[&str]) -> Self {
        Self {
            broker: broker.into(),
            sites: sites.iter().map(|s| (*s).to_owned()).collect(),
            ..Self::default()
        }
    }

    /// Every problem with this config, in one message.
    pub fn validate(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        if let Err(e) = BrokerUrl::parse(&self.broker) {
            problems.push(format!("{e:#}"));
        }
        if self.sites.is_empty() {
            problems.push("sites: at least one site is needed".to_owned());
        }
        for (i, site) in self.sites.iter().enumerate() {
            if site.is_empty() || site.contains(['/', '+', '#']) {
                problems.push(format!(
                    "sites[{i}]: {site:?} is not a topic level (empty, or has / + #)"
                ));
            }
        }
        if self.prefix.is_empty() || self.prefix.contains(['+', '#']) {
            problems.push(format!("prefix: {:?} is not a topic prefix", self.prefix));
        }
        if self.client_id.is_empty() {
            problems.push("client_id: empty".to_owned());
        }
        if self.ack_interval.is_zero() {
            problems.push("ack_interval: must be more than zero".to_owned());
        }
        if self.client_cert.is_some() != self.client_key.is_some() {
            problems.push("client_cert and client_key go together".to_owned());
        }
        if self.password.is_some() && self.username.is_none() {
            problems.push("password without username".to_owned());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("invalid platform config:\n  - {}", problems.join("\n  - "))
        }
    }

    /// The rumqttc options: stable client id, persistent session, TLS files read now.
    pub fn mqtt_options(&self) -> anyhow::Result<MqttOptions> {
        let url = BrokerUrl::parse(&self.broker)?;
        let mut options = MqttOptions::new(&self.client_id, &url.host, url.port);
        options
            .set_clean_session(false)
            .set_keep_alive(self.keep_alive)
            .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES);
        if let Some(user) = &self.username {
            options.set_credentials(user, self.password.clone().unwrap_or_default());
        }
        if url.tls {
            options.set_transport(Transport::tls_with_config(self.tls()?));
        } else if self.ca_file.is_some() || self.client_cert.is_some() {
            bail!(
                "broker {:?} is plain mqtt:// but TLS files were given; use mqtts://",
                self.broker
            );
        }
        Ok(options)
    }

    fn tls(&self) -> anyhow::Result<TlsConfiguration> {
        let read = |path: &PathBuf, what: &str| {
            std::fs::read(path)
                .with_context(|| format!("cannot read the {what} {}", path.display()))
        };
        let Some(ca_file) = &self.ca_file else {
            return Ok(TlsConfiguration::default());
        };
        let ca = read(ca_file, "CA file")?;
        let client_auth = match (&self.client_cert, &self.client_key) {
            (Some(cert), Some(key)) => {
                Some((read(cert, "client certificate")?, read(key, "client key")?))
            }
            _ => None,
        };
        Ok(TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls_parse_with_default_ports() {
        let u = BrokerUrl::parse("mqtt://127.0.0.1:18830").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("127.0.0.1", 18830, false)
        );
        let u = BrokerUrl::parse("mqtts://broker.example").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("broker.example", 8883, true)
        );
        assert!(BrokerUrl::parse("http://x:1").is_err());
        assert!(BrokerUrl::parse("mqtt://x:port").is_err());
        assert!(BrokerUrl::parse("localhost:1883").is_err());
    }

    #[test]
    fn every_config_problem_is_named() {
        let cfg = PlatformConfig {
            broker: "ftp://x".to_owned(),
            sites: vec!["a/b".to_owned()],
            client_key: Some("k.pem".into()),
            ..PlatformConfig::default()
        };
        let err = format!("{:#}", cfg.validate().unwrap_err());
        for needle in ["scheme", "sites[0]", "client_cert"] {
            assert!(err.contains(needle), "{err}");
        }
        assert!(
            PlatformConfig::new("mqtt://h:1", &["S1"])
                .validate()
                .is_ok()
        );
    }
}
