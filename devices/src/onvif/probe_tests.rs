use super::*;
use crate::onvif::{fixture, xml};

#[test]
fn probe_message_is_a_ws_discovery_probe() {
    let text = probe_message("uuid:1234", ProbeType::NetworkVideoTransmitter);
    let root = xml::parse(&text).unwrap();
    assert_eq!(root.text_at(&["Header", "MessageID"]), Some("uuid:1234"));
    assert_eq!(
        root.text_at(&["Header", "Action"]),
        Some("http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe")
    );
    assert_eq!(
        root.text_at(&["Header", "To"]),
        Some("urn:schemas-xmlsoap-org:ws:2005:04:discovery")
    );
    assert_eq!(
        root.text_at(&["Body", "Probe", "Types"]),
        Some("dn:NetworkVideoTransmitter")
    );
    assert!(text.contains(r#"xmlns:dn="http://www.onvif.org/ver10/network/wsdl""#));
    let text = probe_message("uuid:1234", ProbeType::Device);
    assert!(text.contains("<d:Types>tds:Device</d:Types>"), "{text}");
    assert!(text.contains(r#"xmlns:tds="http://www.onvif.org/ver10/device/wsdl""#));
}

#[test]
fn message_ids_are_fresh_uuids() {
    let a = new_message_id();
    assert_ne!(a, new_message_id());
    assert_eq!(a.len(), "uuid:".len() + 36, "{a}");
    assert_eq!(&a[19..20], "4", "version 4: {a}");
}

#[test]
fn hikvision_probe_matches() {
    let m = parse_probe_matches(&fixture("hik_probe_matches.xml")).unwrap();
    assert_eq!(m.len(), 1);
    let m = &m[0];
    assert_eq!(m.endpoint, "urn:uuid:a3d2c8e0-1dd2-11b2-8000-c056e3a1b2c3");
    assert_eq!(m.types, ["dn:NetworkVideoTransmitter", "tds:Device"]);
    assert_eq!(m.xaddrs.len(), 2);
    assert_eq!(m.xaddrs[0], "http://192.168.1.64/onvif/device_service");
    assert_eq!(m.metadata_version, Some(10));
    assert_eq!(
        m.relates_to.as_deref(),
        Some("uuid:6f0d4c1e-8f4b-4a1d-9c1e-2b3c4d5e6f70")
    );
    assert_eq!(
        scope_values(&m.scopes, "name"),
        ["HIKVISION DS-2CD2T47G2-L"]
    );
    assert_eq!(scope_values(&m.scopes, "hardware"), ["DS-2CD2T47G2-L"]);
    assert_eq!(scope_values(&m.scopes, "location"), ["city/sanming"]);
    assert_eq!(scope_values(&m.scopes, "Profile"), ["Streaming", "G", "T"]);
}

#[test]
fn axis_probe_matches_with_utf8_scopes() {
    let m = parse_probe_matches(&fixture("axis_probe_matches.xml")).unwrap();
    let m = &m[0];
    assert_eq!(m.endpoint, "urn:uuid:0a1b2c3d-0000-4000-8000-00408c123456");
    assert_eq!(m.xaddrs, ["http://10.20.0.31/onvif/device_service"]);
    assert_eq!(scope_values(&m.scopes, "name"), ["AXIS P1455-LE"]);
    assert_eq!(
        scope_values(&m.scopes, "location"),
        ["country/china", "三明卡口1"]
    );
}

#[test]
fn probe_matches_that_cannot_be_used_are_errors() {
    let wrap = |inner: &str| {
        format!("<Envelope><Body><ProbeMatches>{inner}</ProbeMatches></Body></Envelope>")
    };
    let cases = [
        (wrap(""), "ProbeMatch is missing"),
        (
            wrap("<ProbeMatch><XAddrs>http://a/</XAddrs></ProbeMatch>"),
            "EndpointReference/Address is missing",
        ),
        (
            wrap(
                "<ProbeMatch><EndpointReference><Address>urn:x</Address></EndpointReference>\
                  <XAddrs>soap.udp://a/</XAddrs></ProbeMatch>",
            ),
            "XAddrs",
        ),
        (
            "<Envelope><Body><Hello/></Body></Envelope>".to_owned(),
            "expected <ProbeMatches>",
        ),
        ("<Envelope><Body><ProbeMatches>".to_owned(), "ends before"),
        ("\u{0}\u{1}".to_owned(), "bad XML"),
    ];
    for (text, says) in cases {
        let err = parse_probe_matches(&text).unwrap_err();
        assert!(err.to_string().contains(says), "{text}: {err}");
    }
}

#[test]
fn scope_values_ignore_other_scopes_and_bad_escapes() {
    let scopes: Vec<String> = [
        "onvif://www.onvif.org/name/A%2",
        "onvif://www.onvif.org/named/B",
        "http://example.com/name/C",
        "onvif://www.onvif.org/name/",
        "onvif://www.onvif.org/name/%FF%E4",
        "onvif://www.onvif.org/name/a+b%zz%20",
        "onvif://www.onvif.org/name/%E4%B8%89%e6%98%8E",
    ]
    .map(String::from)
    .into();
    assert_eq!(
        scope_values(&scopes, "name"),
        ["A%2", "\u{FFFD}\u{FFFD}", "a+b%zz", "三明"]
    );
}
