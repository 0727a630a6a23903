use chrono::{DateTime, Utc};

use super::*;
use crate::onvif::error::ErrorKind;
use crate::onvif::{fixture, xml};

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

#[test]
fn password_digest_matches_the_onvif_programmers_guide_example() {
    // ONVIF Application Programmer's Guide, the UsernameToken example.
    let nonce = BASE64.decode("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
    assert_eq!(
        password_digest(&nonce, "2010-09-16T07:50:45Z", "userpassword"),
        "tuOSpGlFlIXsozq4HFNeeGeFLEI="
    );
}

#[test]
fn password_digest_known_answer_computed_by_hand() {
    // python3: base64(sha1(bytes(range(16)) + b"2024-05-01T08:00:00Z" + b"Hik12345"))
    let nonce: Vec<u8> = (0u8..16).collect();
    let token = UsernameToken::new("admin", "Hik12345", &nonce, at("2024-05-01T08:00:00.750Z"));
    assert_eq!(token.created, "2024-05-01T08:00:00Z", "whole seconds, Z");
    assert_eq!(token.nonce, "AAECAwQFBgcICQoLDA0ODw==");
    assert_eq!(token.password_digest, "h65yIEALy8MZmBtbbRnGQMmy9bI=");
}

#[test]
fn envelope_with_username_token_reads_back() {
    let nonce = [7u8; 16];
    let token = UsernameToken::new("ad<m>&in", "pw", &nonce, at("2025-03-14T02:30:15Z"));
    let text = envelope("<trt:GetProfiles/>", Some(&token));
    assert!(!text.contains("pw<"), "the password itself is never sent");
    let root = xml::parse(&text).unwrap();
    assert_eq!(root.name(), "Envelope");
    let ut = root
        .at(&["Header", "Security", "UsernameToken"])
        .expect("wsse:Security/UsernameToken in the header");
    assert_eq!(ut.text_at(&["Username"]), Some("ad<m>&in"));
    let password = ut.child("Password").unwrap();
    assert_eq!(password.attr("Type"), Some(ns::PASSWORD_DIGEST));
    assert_eq!(password.text(), token.password_digest);
    assert_eq!(
        ut.child("Nonce").unwrap().attr("EncodingType"),
        Some(ns::BASE64_BINARY)
    );
    assert_eq!(ut.text_at(&["Nonce"]), Some(token.nonce.as_str()));
    assert_eq!(ut.text_at(&["Created"]), Some("2025-03-14T02:30:15Z"));
    assert!(root.at(&["Body", "GetProfiles"]).is_some());
    assert!(text.contains(r#"xmlns:s="http://www.w3.org/2003/05/soap-envelope""#));
}

#[test]
fn envelope_without_credentials_has_no_header() {
    let text = envelope("<tds:GetSystemDateAndTime/>", None);
    let root = xml::parse(&text).unwrap();
    assert!(root.child("Header").is_none());
    assert!(root.at(&["Body", "GetSystemDateAndTime"]).is_some());
}

#[test]
fn not_authorized_fault_is_unauthorized() {
    let err = open_response(
        &fixture("hik_fault_not_authorized.xml"),
        "GetProfilesResponse",
    )
    .unwrap_err();
    let ErrorKind::Unauthorized { reason } = &err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("not authorized"), "{reason}");
    assert_eq!(err.code(), "onvif_unauthorized");
    assert!(
        err.to_string().contains("check the user name and password"),
        "{err}"
    );
}

#[test]
fn other_faults_keep_code_subcodes_and_reason() {
    let err = open_response(
        &fixture("axis_fault_no_profile.xml"),
        "GetStreamUriResponse",
    )
    .unwrap_err();
    let ErrorKind::Fault(fault) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(fault.code, "SOAP-ENV:Sender");
    assert_eq!(fault.subcodes, ["ter:InvalidArgVal", "ter:NoProfile"]);
    assert!(fault.has_code("NoProfile") && !fault.is_not_authorized());
    assert!(fault.reason.contains("does not exist"), "{fault}");
    assert!(err.to_string().contains("ter:NoProfile"), "{err}");
}

#[test]
fn soap_1_1_faults_are_read_too() {
    let err = open_response(&fixture("soap11_fault.xml"), "GetProfilesResponse").unwrap_err();
    assert_eq!(
        err,
        ErrorKind::Fault(SoapFault {
            code: "s:Client".into(),
            subcodes: vec![],
            reason: "Action not supported".into()
        })
    );
    let wsse = "<Envelope><Body><Fault><Code><Value>Sender</Value><Subcode>
        <Value>wsse:FailedAuthentication</Value></Subcode></Code></Fault></Body></Envelope>";
    assert!(matches!(
        open_response(wsse, "X").unwrap_err(),
        ErrorKind::Unauthorized { .. }
    ));
}

#[test]
fn answers_that_are_not_the_expected_response_are_refused() {
    let cases: [(&str, &str); 6] = [
        ("<html><body>404</body></html>", "not a SOAP envelope"),
        ("<Envelope><Header/></Envelope>", "no <Body>"),
        ("<Envelope><Body/></Envelope>", "got <nothing>"),
        (
            "<s:Envelope xmlns:s='x'><s:Body><Other/></s:Body></s:Envelope>",
            "got <Other>",
        ),
        ("<Envelope><Body><GetProfilesResponse>", "ends before"),
        ("HTTP/1.1 200 OK", "text outside"),
    ];
    for (text, says) in cases {
        let err = open_response(text, "GetProfilesResponse").unwrap_err();
        assert!(err.to_string().contains(says), "{text}: {err}");
    }
}
