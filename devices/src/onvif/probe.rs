//! WS-Discovery (2005/04, the version ONVIF uses) messages, without sockets: the Probe a
//! client sends and the ProbeMatches cameras answer with, and the ONVIF scopes in them.

use super::error::{ErrorKind, snippet};
use super::ns;
use super::soap::open_envelope;
use super::xml::{Element, escape};

/// The device types a client probes for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeType {
    /// `dn:NetworkVideoTransmitter`: cameras and encoders (Profile S).
    NetworkVideoTransmitter,
    /// `tds:Device`: any ONVIF device; some firmwares answer only this.
    Device,
}

impl ProbeType {
    /// Both, in the order a client sends them.
    pub const ALL: [Self; 2] = [Self::NetworkVideoTransmitter, Self::Device];

    /// `(prefix, namespace, local name)`.
    fn qname(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::NetworkVideoTransmitter => ("dn", ns::DN, "NetworkVideoTransmitter"),
            Self::Device => ("tds", ns::TDS, "Device"),
        }
    }
}

/// A Probe for `types` with this message id (`uuid:…`), as one UDP datagram.
pub fn probe_message(message_id: &str, types: ProbeType) -> String {
    let (prefix, ns, local) = types.qname();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<s:Envelope xmlns:s="{s}" xmlns:a="{a}" xmlns:d="{d}" xmlns:{p}="{ns}">"#,
            "<s:Header>",
            r#"<a:Action s:mustUnderstand="1">{d}/Probe</a:Action>"#,
            "<a:MessageID>{id}</a:MessageID>",
            "<a:ReplyTo><a:Address>{a}/role/anonymous</a:Address></a:ReplyTo>",
            r#"<a:To s:mustUnderstand="1">{to}</a:To>"#,
            "</s:Header>",
            "<s:Body><d:Probe><d:Types>{p}:{local}</d:Types></d:Probe></s:Body>",
            "</s:Envelope>"
        ),
        s = ns::SOAP_ENV,
        a = ns::WSA,
        d = ns::WSD,
        to = ns::DISCOVERY_URN,
        p = prefix,
        ns = ns,
        id = escape(message_id),
        local = local,
    )
}

/// A fresh `uuid:` message id (random, version 4).
pub fn new_message_id() -> String {
    format!("uuid:{}", uuid::Uuid::new_v4().hyphenated())
}

/// One ProbeMatch: a device that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeMatch {
    /// The endpoint reference address: the device's stable identity (`urn:uuid:…`).
    pub endpoint: String,
    /// Its types (`dn:NetworkVideoTransmitter`, `tds:Device`), as written.
    pub types: Vec<String>,
    /// Its scopes (`onvif://www.onvif.org/name/…`).
    pub scopes: Vec<String>,
    /// The device service addresses (`http://10.0.0.5/onvif/device_service`).
    pub xaddrs: Vec<String>,
    /// The metadata version, if given.
    pub metadata_version: Option<u64>,
    /// The message id this answers (`RelatesTo`), if given.
    pub relates_to: Option<String>,
}

/// Reads a ProbeMatches datagram. Anything else (a Hello, a Probe from another client,
/// junk) is an error; so is a match without an endpoint address or without an http(s)
/// XAddr (a device this client could not talk to).
pub fn parse_probe_matches(xml: &str) -> Result<Vec<ProbeMatch>, ErrorKind> {
    let (header, body) = open_envelope(xml)?;
    let relates_to = header.and_then(|h| h.text_at(&["RelatesTo"]).map(snippet));
    let matches = body
        .child("ProbeMatches")
        .ok_or_else(|| ErrorKind::UnexpectedBody {
            expected: "ProbeMatches",
            found: body
                .children()
                .first()
                .map_or_else(|| "nothing".into(), |c| snippet(c.name())),
        })?;
    let mut out = Vec::new();
    for (i, m) in matches.children_named("ProbeMatch").enumerate() {
        out.push(probe_match(
            m,
            &format!("ProbeMatches/ProbeMatch[{i}]"),
            relates_to.clone(),
        )?);
    }
    if out.is_empty() {
        return Err(ErrorKind::Missing("ProbeMatches/ProbeMatch".into()));
    }
    Ok(out)
}

fn probe_match(m: &Element, at: &str, relates_to: Option<String>) -> Result<ProbeMatch, ErrorKind> {
    let endpoint = m
        .text_at(&["EndpointReference", "Address"])
        .ok_or_else(|| ErrorKind::Missing(format!("{at}/EndpointReference/Address")))?;
    let list = |name: &str| -> Vec<String> {
        m.text_at(&[name])
            .map(|t| t.split_whitespace().take(64).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let xaddrs: Vec<String> = list("XAddrs")
        .into_iter()
        .filter(|x| {
            let lower = x.to_ascii_lowercase();
            lower.starts_with("http://") || lower.starts_with("https://")
        })
        .collect();
    if xaddrs.is_empty() {
        return Err(ErrorKind::Missing(format!(
            "{at}/XAddrs (an http:// address)"
        )));
    }
    Ok(ProbeMatch {
        endpoint: snippet(endpoint),
        types: list("Types"),
        scopes: list("Scopes"),
        xaddrs,
        metadata_version: m.text_at(&["MetadataVersion"]).and_then(|v| v.parse().ok()),
        relates_to,
    })
}

/// The values of ONVIF scopes of one kind (`name`, `hardware`, `location`, `type`,
/// `Profile`), percent-decoded: `onvif://www.onvif.org/name/HIKVISION%20DS-2CD` gives
/// `HIKVISION DS-2CD`; a multi-segment location (`location/city/sanming`) keeps its
/// slashes.
pub fn scope_values(scopes: &[String], kind: &str) -> Vec<String> {
    scopes
        .iter()
        .filter_map(|s| {
            let rest = s.strip_prefix("onvif://www.onvif.org/")?;
            let value = rest.strip_prefix(kind)?.strip_prefix('/')?;
            let decoded = percent_decode(value);
            (!decoded.is_empty()).then_some(decoded)
        })
        .collect()
}

/// `%XX` decoded as UTF-8 (lossy), trimmed; `+` is kept (scopes are URIs, not forms)
/// and a `%` not followed by two hex digits stays as it is.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .trim()
        .to_owned()
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
