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
use super::xml::{self, Element, escape};

/// SOAP 1.2 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://www.w3.org/2003/05/soap-envelope";
/// ONVIF device management service namespace (`tds:`).
pub const DEVICE_NS: &str = "http://www.onvif.org/ver10/device/wsdl";
/// ONVIF media service (version 1) namespace (`trt:`).
pub const MEDIA_NS: &str = "http://www.onvif.org/ver10/media/wsdl";
/// ONVIF schema namespace (`tt:`).
pub const SCHEMA_NS: &str = "http://www.onvif.org/ver10/schema";
/// WS-Security extension namespace (`wsse:`).
pub const WSSE_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
/// WS-Security utility namespace (`wsu:`).
pub const WSU_NS: &str =
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
/// The `Type` of a digest password.
pub const PASSWORD_DIGEST_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";
/// The `EncodingType` of a base64 nonce.
pub const BASE64_ENCODING_TYPE: &str = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary";

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
            wsse = WSSE_NS,
            wsu = WSU_NS,
            user = escape(&self.username),
            ptype = PASSWORD_DIGEST_TYPE,
            digest = self.password_digest,
            etype = BASE64_ENCODING_TYPE,
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
        s = SOAP_ENV_NS,
        tds = DEVICE_NS,
        trt = MEDIA_NS,
        tt = SCHEMA_NS,
        header = header,
        body = body,
    )
}

/// Parses a SOAP answer and returns the body's element named `expected` (local name).
/// A fault becomes [`ErrorKind::Unauthorized`] (for `NotAuthorized`) or
/// [`ErrorKind::Fault`].
pub(crate) fn open_response(text: &str, expected: &'static str) -> Result<Element, ErrorKind> {
    let mut body = open_body(text)?;
    let Some(first) = body.children.first() else {
        return Err(ErrorKind::UnexpectedBody {
            expected,
            found: "nothing".into(),
        });
    };
    if first.name == "Fault" {
        return Err(fault_error(parse_fault(first)));
    }
    match body.children.iter().position(|c| c.name == expected) {
        Some(i) => Ok(body.children.swap_remove(i)),
        None => Err(ErrorKind::UnexpectedBody {
            expected,
            found: snippet(&first.name),
        }),
    }
}

/// The `Body` element of a SOAP envelope (1.1 or 1.2: only local names are checked).
pub(crate) fn open_body(text: &str) -> Result<Element, ErrorKind> {
    open_envelope(text).map(|(_, body)| body)
}

/// The `Header` (if any) and `Body` elements of a SOAP envelope.
pub(crate) fn open_envelope(text: &str) -> Result<(Option<Element>, Element), ErrorKind> {
    let mut root = xml::parse(text)?;
    if root.name != "Envelope" {
        return Err(ErrorKind::NotSoap(format!(
            "root element is <{}>",
            snippet(&root.name)
        )));
    }
    let body = match root.children.iter().position(|c| c.name == "Body") {
        Some(i) => root.children.swap_remove(i),
        None => return Err(ErrorKind::NotSoap("the envelope has no <Body>".into())),
    };
    let header = root
        .children
        .iter()
        .position(|c| c.name == "Header")
        .map(|i| root.children.swap_remove(i));
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
