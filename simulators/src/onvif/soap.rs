//! SOAP 1.2 as ONVIF uses it: the request envelope (operation, WS-Security UsernameToken,
//! parameters), the response envelope, and ONVIF faults (`env:Sender` /
//! `ter:NotAuthorized` and friends) with the HTTP status each goes out with.

use super::wsse::UsernameToken;
use super::xml::{Doc, XmlError};

/// Namespaces of the messages.
pub mod ns {
    /// SOAP 1.2 envelope.
    pub const SOAP_ENV: &str = "http://www.w3.org/2003/05/soap-envelope";
    /// SOAP 1.1 envelope (refused with `env:VersionMismatch`).
    pub const SOAP11_ENV: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    /// WS-Security extensions.
    pub const WSSE: &str =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    /// ONVIF device service.
    pub const TDS: &str = "http://www.onvif.org/ver10/device/wsdl";
    /// ONVIF media service (ver10).
    pub const TRT: &str = "http://www.onvif.org/ver10/media/wsdl";
    /// ONVIF schema types.
    pub const TT: &str = "http://www.onvif.org/ver10/schema";
    /// ONVIF error codes.
    pub const TER: &str = "http://www.onvif.org/ver10/error";
    /// ONVIF network (discovery types).
    pub const DN: &str = "http://www.onvif.org/ver10/network/wsdl";
    /// WS-Addressing as WS-Discovery 2005/04 uses it.
    pub const WSA: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
    /// WS-Discovery 2005/04.
    pub const WSD: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
}

/// The `Content-Type` of every SOAP answer.
pub const CONTENT_TYPE: &str = "application/soap+xml; charset=utf-8";

/// One SOAP request, read.
#[derive(Debug, Clone)]
pub(crate) struct SoapRequest {
    /// Local name of the first element of the Body: the operation, e.g. `GetProfiles`.
    pub(crate) action: String,
    /// Its namespace (`tds`, `trt`, ...).
    pub(crate) action_ns: String,
    /// The UsernameToken of the `wsse:Security` header, if any.
    pub(crate) token: Option<UsernameToken>,
    doc: Doc,
    op: usize,
}

impl SoapRequest {
    /// Reads a request; anything that is not a SOAP 1.2 envelope with an operation in its
    /// Body is a fault to send back.
    pub(crate) fn parse(text: &str) -> Result<Self, Fault> {
        let doc = Doc::parse(text).map_err(|e: XmlError| Fault::well_formed(&e.to_string()))?;
        let root = doc.root();
        if root.is(ns::SOAP11_ENV, "Envelope") {
            return Err(Fault::version_mismatch());
        }
        if !root.is(ns::SOAP_ENV, "Envelope") {
            return Err(Fault::well_formed(&format!(
                "the root element is `{}`, not a SOAP 1.2 Envelope",
                root.name
            )));
        }
        let body = doc
            .child(0, ns::SOAP_ENV, "Body")
            .ok_or_else(|| Fault::well_formed("the envelope has no Body"))?;
        let op = doc
            .children(body)
            .next()
            .ok_or_else(|| Fault::well_formed("the Body is empty"))?;
        let token = doc
            .path(
                0,
                &[
                    (ns::SOAP_ENV, "Header"),
                    (ns::WSSE, "Security"),
                    (ns::WSSE, "UsernameToken"),
                ],
            )
            .map(|t| username_token(&doc, t));
        let element = &doc.elements[op];
        Ok(Self {
            action: element.name.clone(),
            action_ns: element.ns.clone(),
            token,
            op,
            doc,
        })
    }

    /// The text of the first element inside the operation with this local name, e.g.
    /// `ProfileToken`, `Category`, `Protocol`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.doc.descendant(self.op, name).map(|e| e.text.as_str())
    }
}

/// The UsernameToken under element `t` (children matched by local name: clients differ in
/// the namespace they put `Created` in).
fn username_token(doc: &Doc, t: usize) -> UsernameToken {
    let field = |name: &str| {
        doc.children(t)
            .map(|i| &doc.elements[i])
            .find(|e| e.name == name)
    };
    let password = field("Password");
    UsernameToken {
        username: field("Username")
            .map(|e| e.text.clone())
            .unwrap_or_default(),
        password: password.map(|e| e.text.clone()).unwrap_or_default(),
        digest: password
            .and_then(|e| e.attr("Type"))
            .is_some_and(|ty| ty.ends_with("#PasswordDigest")),
        nonce: field("Nonce").map(|e| e.text.clone()),
        created: field("Created").map(|e| e.text.clone()),
    }
}

/// A SOAP 1.2 answer around `body` (already XML), with the ONVIF prefixes declared.
pub(crate) fn envelope(body: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<env:Envelope xmlns:env="{env}" xmlns:tds="{tds}" xmlns:trt="{trt}" "#,
            r#"xmlns:tt="{tt}" xmlns:ter="{ter}"><env:Body>{body}</env:Body></env:Envelope>"#
        ),
        env = ns::SOAP_ENV,
        tds = ns::TDS,
        trt = ns::TRT,
        tt = ns::TT,
        ter = ns::TER,
        body = body,
    )
}

/// An ONVIF fault: SOAP code, `ter:` subcodes, reason, and the HTTP status it is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    /// HTTP status: 400 for `env:Sender`, 500 for `env:Receiver` (SOAP 1.2 HTTP binding).
    pub(crate) status: u16,
    /// `env:Sender`, `env:Receiver` or `env:VersionMismatch`.
    pub(crate) code: &'static str,
    /// Nested subcodes, outermost first, e.g. `["ter:InvalidArgVal", "ter:NoProfile"]`.
    pub(crate) subcodes: Vec<&'static str>,
    /// Human-readable reason (English).
    pub(crate) reason: String,
}

impl Fault {
    fn sender(subcodes: Vec<&'static str>, reason: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: "env:Sender",
            subcodes,
            reason: reason.into(),
        }
    }

    /// `env:Sender` / `ter:NotAuthorized`: no, or a wrong, UsernameToken.
    pub(crate) fn not_authorized() -> Self {
        Self::sender(vec!["ter:NotAuthorized"], "Sender not Authorized")
    }

    /// `env:Sender` / `ter:WellFormed`: the request is not a readable SOAP 1.2 message.
    pub(crate) fn well_formed(reason: &str) -> Self {
        Self::sender(
            vec!["ter:WellFormed"],
            format!("Well-formed Error: {reason}"),
        )
    }

    /// `env:VersionMismatch`: a SOAP 1.1 envelope.
    pub(crate) fn version_mismatch() -> Self {
        Self {
            status: 400,
            code: "env:VersionMismatch",
            subcodes: Vec::new(),
            reason: "Only SOAP 1.2 is supported".to_owned(),
        }
    }

    /// `env:Sender` / `ter:InvalidArgVal` / `ter:NoProfile`.
    pub(crate) fn no_profile(token: &str) -> Self {
        Self::sender(
            vec!["ter:InvalidArgVal", "ter:NoProfile"],
            format!("No profile with token `{}`", cut(token)),
        )
    }

    /// `env:Receiver` / `ter:ActionNotSupported` (/ `ter:NoSuchService`).
    pub(crate) fn action_not_supported(what: &str, no_such_service: bool) -> Self {
        let mut subcodes = vec!["ter:ActionNotSupported"];
        if no_such_service {
            subcodes.push("ter:NoSuchService");
        }
        Self {
            status: 500,
            code: "env:Receiver",
            subcodes,
            reason: format!("Optional Action Not Implemented: {}", cut(what)),
        }
    }

    /// The whole answer envelope.
    pub(crate) fn to_xml(&self) -> String {
        let mut code = String::new();
        for sub in self.subcodes.iter().rev() {
            code = format!("<env:Subcode><env:Value>{sub}</env:Value>{code}</env:Subcode>");
        }
        envelope(&format!(
            concat!(
                "<env:Fault><env:Code><env:Value>{}</env:Value>{}</env:Code>",
                r#"<env:Reason><env:Text xml:lang="en">{}</env:Text></env:Reason></env:Fault>"#
            ),
            self.code,
            code,
            escape(&self.reason)
        ))
    }
}

/// Escapes text for XML content and attribute values.
pub(crate) fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::escape(text)
}

/// At most 64 characters of `s`, for echoing client input.
fn cut(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<soap-env:Envelope xmlns:soap-env="http://www.w3.org/2003/05/soap-envelope">
  <soap-env:Header>
    <wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
      <wsse:UsernameToken>
        <wsse:Username>admin</wsse:Username>
        <wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">abc=</wsse:Password>
        <wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">bm9uY2U=</wsse:Nonce>
        <wsu:Created xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">2026-11-27T08:00:00Z</wsu:Created>
      </wsse:UsernameToken>
    </wsse:Security>
  </soap-env:Header>
  <soap-env:Body>
    <ns0:GetSnapshotUri xmlns:ns0="http://www.onvif.org/ver10/media/wsdl">
      <ns0:ProfileToken>main</ns0:ProfileToken>
    </ns0:GetSnapshotUri>
  </soap-env:Body>
</soap-env:Envelope>"#;

    #[test]
    fn a_zeep_request_gives_its_operation_token_and_parameters() {
        let req = SoapRequest::parse(REQUEST).unwrap();
        assert_eq!(
            (req.action.as_str(), req.action_ns.as_str()),
            ("GetSnapshotUri", ns::TRT)
        );
        assert_eq!(req.param("ProfileToken"), Some("main"));
        let token = req.token.unwrap();
        assert_eq!(token.username, "admin");
        assert!(token.digest);
        assert_eq!(token.nonce.as_deref(), Some("bm9uY2U="));
        assert_eq!(token.created.as_deref(), Some("2026-11-27T08:00:00Z"));
    }

    #[test]
    fn junk_and_soap_11_get_the_right_faults() {
        let junk = SoapRequest::parse("not xml").unwrap_err();
        assert_eq!(junk.subcodes, ["ter:WellFormed"]);
        let v11 = SoapRequest::parse(
            r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#,
        )
        .unwrap_err();
        assert_eq!(v11.code, "env:VersionMismatch");
    }

    #[test]
    fn fault_nests_its_subcodes() {
        let xml = Fault::no_profile("x<y").to_xml();
        assert!(xml.contains(
            "<env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:InvalidArgVal</env:Value>\
             <env:Subcode><env:Value>ter:NoProfile</env:Value></env:Subcode></env:Subcode>"
        ));
        assert!(xml.contains("x&lt;y"));
        let doc = Doc::parse(&xml).unwrap();
        assert!(doc.descendant(0, "Fault").is_some());
    }
}
