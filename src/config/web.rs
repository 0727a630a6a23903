//! `[web]`: the console and API listener, the proxies in front of it, and the TLS it
//! serves itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ListenLimits;
use super::load::Problem;
use super::validate::check_listen;

/// The HTTP server for the consoles, the API and `/healthz`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Address to listen on, `host:port`.
    #[serde(default = "default_web_listen")]
    pub listen: String,
    /// Time limits and connection caps of this listener.
    #[serde(default)]
    pub limits: ListenLimits,
    /// The proxies in front of the console (addresses or CIDR blocks, e.g. `127.0.0.1`,
    /// `10.20.0.0/24`): only a request from one of them has its `X-Forwarded-For` believed
    /// (its last address not itself a trusted proxy is the client). Without `[web.tls]` the
    /// console speaks plain HTTP, so a listen address other than loopback is refused unless
    /// a proxy — which terminates TLS — is declared here.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// TLS served by the console itself: with it, a listen address reachable from other
    /// hosts needs no proxy in front.
    #[serde(default)]
    pub tls: Option<WebTls>,
}

/// `[web.tls]`: the console's certificate, served with rustls (TLS 1.2 and 1.3).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebTls {
    /// The server certificate chain (PEM): the site's certificate first, then any
    /// intermediates. Its names must include the address the consoles use.
    pub cert_file: PathBuf,
    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1); readable by the
    /// controller's user only.
    pub key_file: PathBuf,
    /// Seconds a new connection has to finish its TLS handshake; one that opens a socket
    /// and sends nothing, or half a handshake, is closed after this.
    #[serde(default = "default_handshake_timeout_s")]
    pub handshake_timeout_s: f64,
    /// `max-age` of the `Strict-Transport-Security` header sent on every response, in
    /// seconds (0: the header tells browsers to forget the rule).
    #[serde(default = "default_hsts_max_age_s")]
    pub hsts_max_age_s: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            listen: default_web_listen(),
            limits: ListenLimits::default(),
            trusted_proxies: Vec::new(),
            tls: None,
        }
    }
}

fn default_web_listen() -> String {
    "127.0.0.1:8080".into()
}

fn default_handshake_timeout_s() -> f64 {
    10.0
}

fn default_hsts_max_age_s() -> u64 {
    // One year: what browsers' preload rules ask for.
    31_536_000
}

impl WebConfig {
    /// The trusted proxies, parsed (entries that do not parse are left out; `validate`
    /// names them).
    pub fn proxies(&self) -> Vec<ipnet::IpNet> {
        self.trusted_proxies
            .iter()
            .filter_map(|p| parse_proxy(p).ok())
            .collect()
    }

    pub(super) fn validate(&self, out: &mut Vec<Problem>) {
        if let Err(message) = check_listen(&self.listen) {
            out.push(Problem::new("web.listen", message));
        }
        for (i, proxy) in self.trusted_proxies.iter().enumerate() {
            if let Err(message) = parse_proxy(proxy) {
                out.push(Problem::new(format!("web.trusted_proxies[{i}]"), message));
            }
        }
        if let Ok(addr) = self.listen.parse::<SocketAddr>()
            && !addr.ip().is_loopback()
            && self.trusted_proxies.is_empty()
            && self.tls.is_none()
        {
            out.push(Problem::new(
                "web.listen",
                format!(
                    "{addr} is reachable from other hosts, and without [web.tls] the console \
                     speaks plain HTTP (passwords, session cookies): give it a certificate in \
                     [web.tls], or listen on 127.0.0.1 behind a TLS-terminating proxy and name \
                     it in web.trusted_proxies"
                ),
            ));
        }
        self.limits.validate(out, "web.limits");
        if let Some(tls) = &self.tls {
            tls.validate(out, "web.tls");
        }
    }
}

impl WebTls {
    /// The handshake timeout as a duration.
    pub fn handshake_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.handshake_timeout_s)
    }

    /// Every problem with the files (the message names the field and the file) and the
    /// timeout.
    pub(super) fn validate(&self, out: &mut Vec<Problem>, at: &str) {
        let value = self.handshake_timeout_s;
        if !(value.is_finite() && (0.1..=300.0).contains(&value)) {
            out.push(Problem::new(
                format!("{at}.handshake_timeout_s"),
                "must be between 0.1 and 300 seconds",
            ));
        }
        if let Err(message) = crate::listen::tls::load(&self.cert_file, &self.key_file) {
            out.push(Problem::new(at, message));
        }
    }

    /// The `Strict-Transport-Security` value sent on every response.
    pub fn hsts(&self) -> axum::http::HeaderValue {
        axum::http::HeaderValue::from_str(&format!(
            "max-age={}; includeSubDomains",
            self.hsts_max_age_s
        ))
        .expect("digits make a header value")
    }
}

/// A `trusted_proxies` entry: an address or a CIDR block.
pub fn parse_proxy(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{text:?} is not an address or a CIDR block (10.20.0.0/24)"))
}
