//! SOAP 1.2 envelopes with a WS-Security UsernameToken, and opening the answers.
//!
//! ONVIF authenticates SOAP calls with a UsernameToken whose password is a digest:
//! `Base64(SHA1(nonce bytes + Created + password))`, where `Created` is the time in UTC
//! *on the camera's clock* (cameras refuse tokens created too far from their own time, so
//! the client corrects its clock by the offset GetSystemDateAndTime showed).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, SecondsFormat, Utc};
use sha1::{Digest as _, Sha1};

use super::error::{ErrorKind, SoapFault, snippet};
use super::ns;
use super::xml::{self, Element, escape};

/// `Base64(SHA1(nonce + created + password))`: the WS-Security PasswordDigest.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(nonce);
    sha.update(created.as_bytes());
    sha.update(password.as_bytes());
    BASE64.encode(sha.finalize())
}

/// A time as written in `wsu:Created`: UTC, whole seconds, `Z` (`2010-09-16T07:50:45Z`).
pub fn created_timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A WS-Security UsernameToken with a digest password, ready to put in a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsernameToken {
    /// The user name.
    pub username: String,
    /// `Base64(SHA1(nonce + created + password))`.
    pub password_digest: String,
    /// The nonce, base64.
    pub nonce: String,
    /// The creation time on the camera's clock, as written.
    pub created: String,
}

impl UsernameToken {
    /// A token for `username`/`password` with this nonce, created at `created` (already
    /// corrected to the camera's clock).
    pub fn new(username: &str, password: &str, nonce: &[u8], created: DateTime<Utc>) -> Self {
        let created = created_timestamp(created);
        Self {
            username: username.to_owned(),
            password_digest: password_digest(nonce, &created, password),
            nonce: BASE64.encode(nonce),
            created,
        }
    }

    /// The `wsse:Security` header element.
    pub fn to_xml(&self) -> String {
        format!(
            concat!(
                r#"<wsse:Security s:mustUnderstand="1" xmlns:wsse="{wsse}" xmlns:wsu="{wsu}">"#,
                "<wsse:UsernameToken><wsse:Username>{user}</wsse:Username>",
                r#"<wsse:Password Type="{ptype}">{digest}</wsse:Password>"#,
                r#"<wsse:Nonce EncodingType="{etype}">{nonce}</wsse:Nonce>"#,
                "<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>"
            ),
            wsse = ns::WSSE,
            wsu = ns::WSU,
            user = escape(&self.username),
            ptype = ns::PASSWORD_DIGEST,
            digest = self.password_digest,
            etype = ns::BASE64_BINARY,
            nonce = self.nonce,
            created = self.created,
        )
    }
}

/// A SOAP 1.2 envelope around `body` (one element using the `tds:`, `trt:` and `tt:`
/// prefixes, which the envelope declares), with a UsernameToken header when given.
pub fn envelope(body: &str, security: Option<&UsernameToken>) -> String {
    let header = security.map_or_else(String::new, |t| {
        format!("<s:Header>{}</s:Header>", t.to_xml())
    });
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<s:Envelope xmlns:s="{s}" xmlns:tds="{tds}" xmlns:trt="{trt}" xmlns:tt="{tt}">"#,
            "{header}<s:Body>{body}</s:Body></s:Envelope>"
        ),
        s = ns::SOAP_ENV,
        tds = ns::TDS,
        trt = ns::TRT,
        tt = ns::TT,
        header = header,
        body = body,
    )
}

/// Parses a SOAP answer and returns the body's element named `expected` (local name).
/// A fault becomes [`ErrorKind::Unauthorized`] (for `NotAuthorized`) or
/// [`ErrorKind::Fault`].
pub(crate) fn open_response(text: &str, expected: &'static str) -> Result<Element, ErrorKind> {
    let mut body = open_body(text)?;
    let found = match body.children().first() {
        None => "nothing".into(),
        Some(first) if first.name() == "Fault" => return Err(fault_error(parse_fault(first))),
        Some(first) => snippet(first.name()),
    };
    body.take_child(expected)
        .ok_or(ErrorKind::UnexpectedBody { expected, found })
}

/// The `Body` element of a SOAP envelope (1.1 or 1.2: only local names are checked).
pub(crate) fn open_body(text: &str) -> Result<Element, ErrorKind> {
    open_envelope(text).map(|(_, body)| body)
}

/// The `Header` (if any) and `Body` elements of a SOAP envelope.
pub(crate) fn open_envelope(text: &str) -> Result<(Option<Element>, Element), ErrorKind> {
    let mut root = xml::parse(text)?;
    if root.name() != "Envelope" {
        return Err(ErrorKind::NotSoap(format!(
            "root element is <{}>",
            snippet(root.name())
        )));
    }
    let body = root
        .take_child("Body")
        .ok_or_else(|| ErrorKind::NotSoap("the envelope has no <Body>".into()))?;
    let header = root.take_child("Header");
    Ok((header, body))
}

/// The fault in a SOAP body, if it holds one.
pub(crate) fn fault_in(text: &str) -> Option<SoapFault> {
    let body = open_body(text).ok()?;
    body.child("Fault").map(parse_fault)
}

/// The error a fault stands for.
pub(crate) fn fault_error(fault: SoapFault) -> ErrorKind {
    if fault.is_not_authorized() {
        ErrorKind::Unauthorized {
            reason: if fault.reason.is_empty() {
                fault.to_string()
            } else {
                fault.reason
            },
        }
    } else {
        ErrorKind::Fault(fault)
    }
}

/// Reads a `Fault` element, SOAP 1.2 (`Code/Value`, nested `Subcode/Value`,
/// `Reason/Text`) or SOAP 1.1 (`faultcode`, `faultstring`). Absent parts are empty.
pub(crate) fn parse_fault(fault: &Element) -> SoapFault {
    if let Some(code) = fault.child("Code") {
        let mut subcodes = Vec::new();
        let mut sub = code.child("Subcode");
        while let Some(s) = sub {
            if subcodes.len() >= 8 {
                break;
            }
            if let Some(v) = s.text_at(&["Value"]) {
                subcodes.push(snippet(v));
            }
            sub = s.child("Subcode");
        }
        SoapFault {
            code: snippet(code.text_at(&["Value"]).unwrap_or_default()),
            subcodes,
            reason: snippet(fault.text_at(&["Reason", "Text"]).unwrap_or_default()),
        }
    } else {
        SoapFault {
            code: snippet(fault.text_at(&["faultcode"]).unwrap_or_default()),
            subcodes: Vec::new(),
            reason: snippet(fault.text_at(&["faultstring"]).unwrap_or_default()),
        }
    }
}

#[cfg(test)]
#[path = "soap_tests.rs"]
mod tests;
