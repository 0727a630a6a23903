//! SOAP 1.2 as ONVIF uses it: the request envelope (operation, WS-Security UsernameToken,
//! parameters), the response envelope, and ONVIF faults (`env:Sender` /
//! `ter:NotAuthorized` and friends) with the HTTP status each goes out with.

use customs_edge_devices::onvif::ns;
pub(crate) use customs_edge_devices::xml::escape;
use customs_edge_devices::xml::{self, Element, ReadOptions, XmlError};

use super::wsse::UsernameToken;

/// How requests and probes are read: namespaces resolved (the operation and the
/// discovery types are told apart by namespace), small bounds (a datagram or a request
/// from anyone on the network).
const READ: ReadOptions<'static> = ReadOptions {
    max_depth: 32,
    max_elements: 2000,
    namespaces: true,
    ..ReadOptions::DEFAULT
};

/// Reads a request or a probe; the error says what was wrong, for a fault or the log.
pub(crate) fn read_xml(text: &str) -> Result<Element, String> {
    xml::parse(text, &READ).map_err(|e| match e {
        XmlError::Malformed { offset, reason, .. } => {
            format!("malformed XML at byte {offset}: {reason}")
        }
        XmlError::UnexpectedRoot(name) => format!("unexpected root element <{name}>"),
    })
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
    /// The operation element.
    op: Element,
}

impl SoapRequest {
    /// Reads a request; anything that is not a SOAP 1.2 envelope with an operation in its
    /// Body is a fault to send back.
    pub(crate) fn parse(text: &str) -> Result<Self, Fault> {
        let root = read_xml(text).map_err(|reason| Fault::well_formed(&reason))?;
        if root.is(ns::SOAP11_ENV, "Envelope") {
            return Err(Fault::version_mismatch());
        }
        if !root.is(ns::SOAP_ENV, "Envelope") {
            return Err(Fault::well_formed(&format!(
                "the root element is `{}`, not a SOAP 1.2 Envelope",
                root.name()
            )));
        }
        let op = root
            .child_ns(ns::SOAP_ENV, "Body")
            .ok_or_else(|| Fault::well_formed("the envelope has no Body"))?
            .children()
            .first()
            .ok_or_else(|| Fault::well_formed("the Body is empty"))?
            .clone();
        let token = root
            .child_ns(ns::SOAP_ENV, "Header")
            .and_then(|h| h.child_ns(ns::WSSE, "Security"))
            .and_then(|s| s.child_ns(ns::WSSE, "UsernameToken"))
            .map(username_token);
        Ok(Self {
            action: op.name().to_owned(),
            action_ns: op.namespace().to_owned(),
            token,
            op,
        })
    }

    /// The text of the first element inside the operation with this local name, e.g.
    /// `ProfileToken`, `Category`, `Protocol`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.op.descendant(name).map(Element::text)
    }
}

/// The UsernameToken in element `t` (children matched by local name: clients differ in
/// the namespace they put `Created` in).
fn username_token(t: &Element) -> UsernameToken {
    let text = |name: &str| t.child(name).map(|e| e.text().to_owned());
    let password = t.child("Password");
    UsernameToken {
        username: text("Username").unwrap_or_default(),
        password: text("Password").unwrap_or_default(),
        digest: password
            .and_then(|e| e.attr("Type"))
            .is_some_and(|ty| ty.ends_with("#PasswordDigest")),
        nonce: text("Nonce"),
        created: text("Created"),
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

    /// `env:Sender` / `ter:InvalidArgVal` / `ter:NoConfig`: no configuration with that
    /// token.
    pub(crate) fn no_config(token: &str) -> Self {
        Self::sender(
            vec!["ter:InvalidArgVal", "ter:NoConfig"],
            format!("No configuration with token `{}`", cut(token)),
        )
    }

    /// `env:Sender` / `ter:InvalidArgVal` / `ter:InvalidStreamSetup`.
    pub(crate) fn invalid_stream_setup(reason: &str) -> Self {
        Self::sender(
            vec!["ter:InvalidArgVal", "ter:InvalidStreamSetup"],
            format!("Invalid stream setup: {reason}"),
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
        let doc = read_xml(&xml).unwrap();
        assert!(doc.descendant("Fault").is_some());
    }
}
