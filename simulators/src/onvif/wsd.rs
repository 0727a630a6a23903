//! WS-Discovery (2005/04, as ONVIF uses it) on the wire, no sockets: read a `Probe`,
//! decide whether it matches the camera, and write `ProbeMatches`, `Hello` and `Bye`.

use std::fmt::Write as _;

use sha1::{Digest as _, Sha1};
use uuid::{Builder, Uuid};

use customs_edge_devices::onvif::ns;
use customs_edge_devices::xml::Element;

use super::soap::{escape, read_xml};

/// Action of a Probe.
const PROBE: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe";
/// Action of ProbeMatches.
const PROBE_MATCHES: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches";
/// Action of Hello.
const HELLO: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello";
/// Action of Bye.
const BYE: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/Bye";
/// `To` of an answer to a probe.
const ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
/// Scope matching by string comparison (the default is RFC 3986 prefix matching).
const MATCH_STRCMP: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0";

/// The types the camera is: an ONVIF network video transmitter and device.
const TYPES: [(&str, &str); 2] = [(ns::DN, "NetworkVideoTransmitter"), (ns::TDS, "Device")];

/// A probe, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    /// Its `MessageID`, which the answer relates to.
    pub(crate) message_id: String,
    /// Requested types as (namespace, local name); the namespace is empty when the
    /// prefix was not declared.
    pub(crate) types: Vec<(String, String)>,
    /// Requested scopes.
    pub(crate) scopes: Vec<String>,
    /// `Scopes/@MatchBy`, if given.
    pub(crate) match_by: Option<String>,
}

/// Reads a datagram: `Ok(None)` for a well-formed message that is not a probe (a Hello, a
/// Bye, another device's ProbeMatches, our own announcements looping back).
pub(crate) fn parse_probe(text: &str) -> Result<Option<Probe>, String> {
    let doc = read_xml(text)?;
    let header = doc.child_ns(ns::SOAP_ENV, "Header");
    let field = |name: &str| {
        header
            .and_then(|h| h.child_ns(ns::WSA, name))
            .map(|e| e.text().to_owned())
    };
    let Some(body) = doc.child_ns(ns::SOAP_ENV, "Body") else {
        return Ok(None);
    };
    let Some(probe) = body.child_ns(ns::WSD, "Probe") else {
        return Ok(None);
    };
    if field("Action").is_some_and(|a| a != PROBE) {
        return Ok(None);
    }
    let message_id = field("MessageID").ok_or("a probe without MessageID")?;
    let types = probe
        .child_ns(ns::WSD, "Types")
        .map(Element::text_qnames)
        .unwrap_or_default();
    let scopes_el = probe.child_ns(ns::WSD, "Scopes");
    Ok(Some(Probe {
        message_id,
        types,
        scopes: scopes_el
            .map(|e| e.text().split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
        match_by: scopes_el.and_then(|e| e.attr("MatchBy")).map(str::to_owned),
    }))
}

/// Whether the camera (with these scopes) answers `probe`: every requested type is one of
/// its types (by namespace and name; by name alone when the probe's prefix was not
/// declared), and every requested scope matches one of its scopes.
pub(crate) fn matches(probe: &Probe, scopes: &[String]) -> bool {
    let types_ok = probe.types.iter().all(|(type_ns, name)| {
        TYPES
            .iter()
            .any(|(ns, local)| local == name && (type_ns.is_empty() || type_ns == ns))
    });
    let strcmp = probe.match_by.as_deref() == Some(MATCH_STRCMP);
    let scopes_ok = probe.scopes.iter().all(|wanted| {
        scopes.iter().any(|have| {
            if strcmp {
                have == wanted
            } else {
                scope_prefix_matches(wanted, have)
            }
        })
    });
    types_ok && scopes_ok
}

/// RFC 3986 matching as WS-Discovery defines it: scheme and authority equal (any case),
/// and the probe's path segments a prefix of the scope's.
fn scope_prefix_matches(wanted: &str, have: &str) -> bool {
    let wanted = wanted.trim_end_matches('/');
    let have_l = have.to_ascii_lowercase();
    let wanted_l = wanted.to_ascii_lowercase();
    let split = |s: &str| -> Option<usize> {
        s.find("://")
            .map(|i| i + 3)
            .and_then(|i| s[i..].find('/').map(|j| i + j))
    };
    let (Some(wa), Some(ha)) = (split(&wanted_l), split(&have_l)) else {
        return wanted_l == have_l;
    };
    if wanted_l[..wa] != have_l[..ha] {
        return false;
    }
    let (wp, hp) = (&wanted[wa..], &have[ha..]);
    hp == wp || (hp.starts_with(wp) && hp.as_bytes().get(wp.len()) == Some(&b'/'))
}

/// What the camera announces.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Advert<'a> {
    /// `urn:uuid:...`, stable.
    pub(crate) endpoint: &'a str,
    pub(crate) scopes: &'a [String],
    /// The device service URL.
    pub(crate) xaddr: &'a str,
    /// `AppSequence/@InstanceId`: grows with every boot.
    pub(crate) instance_id: u64,
    /// `AppSequence/@MessageNumber`: grows with every message.
    pub(crate) message_number: u64,
}

fn envelope(
    action: &str,
    to: &str,
    message_id: &str,
    relates_to: Option<&str>,
    advert: &Advert<'_>,
    body: &str,
) -> String {
    let relates = relates_to.map_or(String::new(), |r| {
        format!("<wsa:RelatesTo>{}</wsa:RelatesTo>", escape(r))
    });
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<SOAP-ENV:Envelope xmlns:SOAP-ENV="{env}" xmlns:wsa="{wsa}" xmlns:wsd="{wsd}" xmlns:dn="{dn}" xmlns:tds="{tds}">"#,
            "<SOAP-ENV:Header><wsa:MessageID>{id}</wsa:MessageID>{relates}<wsa:To>{to}</wsa:To>",
            "<wsa:Action>{action}</wsa:Action>",
            r#"<wsd:AppSequence InstanceId="{iid}" MessageNumber="{num}"/></SOAP-ENV:Header>"#,
            "<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
        ),
        env = ns::SOAP_ENV,
        wsa = ns::WSA,
        wsd = ns::WSD,
        dn = ns::DN,
        tds = ns::TDS,
        id = message_id,
        relates = relates,
        to = to,
        action = action,
        iid = advert.instance_id,
        num = advert.message_number,
        body = body,
    )
}

/// EndpointReference, Types, Scopes, XAddrs and MetadataVersion.
fn description(advert: &Advert<'_>) -> String {
    let mut scopes = String::new();
    for (i, s) in advert.scopes.iter().enumerate() {
        let _ = write!(scopes, "{}{}", if i > 0 { " " } else { "" }, escape(s));
    }
    format!(
        concat!(
            "<wsa:EndpointReference><wsa:Address>{}</wsa:Address></wsa:EndpointReference>",
            "<wsd:Types>dn:NetworkVideoTransmitter tds:Device</wsd:Types>",
            "<wsd:Scopes>{}</wsd:Scopes><wsd:XAddrs>{}</wsd:XAddrs>",
            "<wsd:MetadataVersion>1</wsd:MetadataVersion>"
        ),
        escape(advert.endpoint),
        scopes,
        escape(advert.xaddr)
    )
}

/// The answer to a probe whose `MessageID` was `relates_to`.
pub(crate) fn probe_matches(advert: &Advert<'_>, relates_to: &str, message_id: &str) -> String {
    let body = format!(
        "<wsd:ProbeMatches><wsd:ProbeMatch>{}</wsd:ProbeMatch></wsd:ProbeMatches>",
        description(advert)
    );
    envelope(
        PROBE_MATCHES,
        ANONYMOUS,
        message_id,
        Some(relates_to),
        advert,
        &body,
    )
}

/// The multicast announcement at start.
pub(crate) fn hello(advert: &Advert<'_>, message_id: &str) -> String {
    let body = format!("<wsd:Hello>{}</wsd:Hello>", description(advert));
    envelope(HELLO, ns::DISCOVERY_URN, message_id, None, advert, &body)
}

/// The multicast announcement at shutdown.
pub(crate) fn bye(advert: &Advert<'_>, message_id: &str) -> String {
    let body = format!(
        "<wsd:Bye><wsa:EndpointReference><wsa:Address>{}</wsa:Address></wsa:EndpointReference></wsd:Bye>",
        escape(advert.endpoint)
    );
    envelope(BYE, ns::DISCOVERY_URN, message_id, None, advert, &body)
}

/// A fresh `urn:uuid:` (version 4, random).
pub(crate) fn new_message_id() -> String {
    Uuid::new_v4().urn().to_string()
}

/// The camera's endpoint reference: a name-based `urn:uuid:` (version 5 layout over
/// SHA-1 of `customs-edge onvif camera <name>`, no namespace UUID), the same at every
/// start and the same as earlier versions of the simulator gave.
pub(crate) fn endpoint_reference(name: &str) -> String {
    let hash = Sha1::digest(format!("customs-edge onvif camera {name}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    Builder::from_sha1_bytes(bytes)
        .into_uuid()
        .urn()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A probe as the `WSDiscovery` package writes it: random type prefixes declared on
    /// the envelope.
    const PYTHON_PROBE: &str = r#"<?xml version="1.0" ?><s:Envelope xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:pqrst="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action><a:MessageID>urn:uuid:1111</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To></s:Header><s:Body><d:Probe><d:Types>pqrst:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"#;

    fn scopes() -> Vec<String> {
        vec![
            "onvif://www.onvif.org/name/gate-1".to_owned(),
            "onvif://www.onvif.org/location/sanming".to_owned(),
        ]
    }

    #[test]
    fn python_probe_is_read_and_matched() {
        let probe = parse_probe(PYTHON_PROBE).unwrap().unwrap();
        assert_eq!(probe.message_id, "urn:uuid:1111");
        assert_eq!(
            probe.types,
            [(ns::DN.to_owned(), "NetworkVideoTransmitter".to_owned())]
        );
        assert!(matches(&probe, &scopes()));
    }

    #[test]
    fn other_types_and_scopes_do_not_match() {
        let mut probe = parse_probe(PYTHON_PROBE).unwrap().unwrap();
        probe.types = vec![("urn:printer".to_owned(), "Printer".to_owned())];
        assert!(!matches(&probe, &scopes()));
        probe.types.clear();
        probe.scopes = vec!["onvif://www.onvif.org/name/gate".to_owned()];
        assert!(
            !matches(&probe, &scopes()),
            "a partial segment is not a prefix"
        );
        probe.scopes = vec!["onvif://www.onvif.org/name".to_owned()];
        assert!(matches(&probe, &scopes()));
        probe.scopes = vec!["ONVIF://WWW.ONVIF.ORG/location/sanming/".to_owned()];
        assert!(matches(&probe, &scopes()));
    }

    #[test]
    fn our_own_announcements_are_not_probes() {
        let scopes = scopes();
        let advert = Advert {
            endpoint: "urn:uuid:x",
            scopes: &scopes,
            xaddr: "http://127.0.0.1:80/onvif/device_service",
            instance_id: 1,
            message_number: 1,
        };
        assert_eq!(parse_probe(&hello(&advert, "urn:uuid:h")), Ok(None));
        assert_eq!(parse_probe(&bye(&advert, "urn:uuid:b")), Ok(None));
        let answer = probe_matches(&advert, "urn:uuid:1111", "urn:uuid:m");
        let doc = read_xml(&answer).unwrap();
        assert_eq!(
            doc.descendant("RelatesTo").map(Element::text),
            Some("urn:uuid:1111")
        );
        assert_eq!(
            doc.descendant("Types").unwrap().text_qnames(),
            TYPES.map(|(n, l)| (n.to_owned(), l.to_owned()))
        );
    }

    #[test]
    fn endpoint_reference_is_stable_and_uuid_shaped() {
        let a = endpoint_reference("gate-1");
        assert_eq!(a, endpoint_reference("gate-1"));
        assert_ne!(a, endpoint_reference("gate-2"));
        assert_eq!(a.len(), "urn:uuid:".len() + 36);
        assert_eq!(&a[23..24], "5");
        // Computed with Python's hashlib and uuid: a camera keeps its identity.
        assert_eq!(a, "urn:uuid:e456105f-3f1d-5027-9720-58f10144d4d4");
        let id = new_message_id();
        assert_eq!((id.len(), &id[23..24]), ("urn:uuid:".len() + 36, "4"));
        assert_ne!(id, new_message_id());
    }
}
