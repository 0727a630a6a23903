//! What can go wrong talking to an ONVIF camera.
//!
//! The pure parsers return an [`ErrorKind`]; the client wraps it in an [`OnvifError`]
//! that also names the operation and the camera URL, so a log line or a CLI message reads
//! "GetProfiles on http://10.0.0.5/onvif/device_service: not authorized — check the user
//! name and password (camera said: Sender not Authorized)". Camera-supplied text is cut to
//! a short snippet; nothing a camera sends can make a parser panic.

use std::fmt;
use std::time::Duration;

use crate::http_auth::AuthError;

/// A SOAP fault a camera answered with (SOAP 1.2 `Code`/`Subcode`/`Reason`, or SOAP 1.1
/// `faultcode`/`faultstring`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// The fault code as written (`env:Sender`, `s:Receiver`, `SOAP-ENV:Client`).
    pub code: String,
    /// The subcodes, outermost first, as written (`ter:NotAuthorized`, `ter:InvalidArgVal`).
    pub subcodes: Vec<String>,
    /// The human-readable reason (first `Reason/Text`, or `faultstring`), cut to a snippet.
    pub reason: String,
}

impl SoapFault {
    /// Whether the code or a subcode has this local name (the prefix is ignored:
    /// `ter:NotAuthorized` and `tt:NotAuthorized` both match `NotAuthorized`).
    pub fn has_code(&self, local: &str) -> bool {
        std::iter::once(&self.code)
            .chain(&self.subcodes)
            .any(|c| local_part(c) == local)
    }

    /// Whether the camera refused the credentials: `ter:NotAuthorized` (ONVIF), or the
    /// WS-Security `wsse:FailedAuthentication` some firmwares send instead.
    pub fn is_not_authorized(&self) -> bool {
        self.has_code("NotAuthorized") || self.has_code("FailedAuthentication")
    }
}

impl fmt::Display for SoapFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code)?;
        for sub in &self.subcodes {
            write!(f, " / {sub}")?;
        }
        if !self.reason.is_empty() {
            write!(f, ": {}", self.reason)?;
        }
        Ok(())
    }
}

/// The local part of a QName (`ter:NotAuthorized` → `NotAuthorized`).
pub(crate) fn local_part(qname: &str) -> &str {
    qname.trim().rsplit(':').next().unwrap_or_default()
}

/// Why one ONVIF exchange failed, without the operation and URL (see [`OnvifError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrorKind {
    /// The camera refused the credentials: a `NotAuthorized` fault, or HTTP 401 after
    /// answering its challenge (or with no credentials to answer it with).
    #[error("not authorized — check the user name and password (camera said: {reason})")]
    Unauthorized {
        /// What the camera said: the fault reason, or `HTTP 401`.
        reason: String,
    },
    /// Any other SOAP fault.
    #[error("SOAP fault {0}")]
    Fault(SoapFault),
    /// The answer is not well-formed XML.
    #[error("bad XML at <{element}> (byte {offset}): {reason}")]
    Xml {
        /// Path of local element names where reading stopped (`Envelope/Body`).
        element: String,
        /// Byte offset in the answer.
        offset: u64,
        /// What was wrong.
        reason: String,
    },
    /// Well-formed XML whose root is not a SOAP `Envelope` with a `Body`.
    #[error("not a SOAP envelope: {0}")]
    NotSoap(String),
    /// The SOAP body holds another element than the expected response.
    #[error("expected <{expected}> in the SOAP body, got <{found}>")]
    UnexpectedBody {
        /// The response element expected (`GetProfilesResponse`).
        expected: &'static str,
        /// The local name found, or `nothing`.
        found: String,
    },
    /// A required element or attribute is absent or empty.
    #[error("{0} is missing")]
    Missing(String),
    /// An element's text is not of the expected form.
    #[error("{element} = `{value}` is not {expected}")]
    BadValue {
        /// Path of the element (`GetProfilesResponse/Profiles[0]/…/Width`).
        element: String,
        /// A snippet of the value.
        value: String,
        /// What it should be (`a number`, `a URI`).
        expected: &'static str,
    },
    /// An HTTP status other than success, with no SOAP fault in the body.
    #[error("HTTP {status}: {snippet}")]
    Http {
        /// The HTTP status code.
        status: u16,
        /// A snippet of the body.
        snippet: String,
    },
    /// No answer within the client's timeout.
    #[error("no answer within {0:?} — is the camera up and the address right?")]
    Timeout(Duration),
    /// Connecting or talking to the camera failed.
    #[error("{0}")]
    Transport(String),
    /// The answer is larger than accepted.
    #[error("answer larger than {0} bytes")]
    TooLarge(usize),
    /// The camera's HTTP authentication challenge could not be answered.
    #[error("HTTP authentication: {0}")]
    Auth(AuthError),
    /// A snapshot that is not a JPEG image.
    #[error("not a JPEG image (content type `{content_type}`, {len} bytes)")]
    NotAnImage {
        /// The Content-Type the camera sent.
        content_type: String,
        /// The body length.
        len: usize,
    },
    /// A URL that cannot be used.
    #[error("bad URL `{url}`: {reason}")]
    BadUrl {
        /// A snippet of the URL.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
}

impl ErrorKind {
    /// A stable snake_case code for counting failures by kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized { .. } => "onvif_unauthorized",
            Self::Fault(_) => "onvif_fault",
            Self::Xml { .. } => "onvif_bad_xml",
            Self::NotSoap(_) => "onvif_not_soap",
            Self::UnexpectedBody { .. } => "onvif_unexpected_body",
            Self::Missing(_) => "onvif_missing_field",
            Self::BadValue { .. } => "onvif_bad_value",
            Self::Http { .. } => "onvif_http_status",
            Self::Timeout(_) => "onvif_timeout",
            Self::Transport(_) => "onvif_transport",
            Self::TooLarge(_) => "onvif_too_large",
            Self::Auth(_) => "onvif_http_auth",
            Self::NotAnImage { .. } => "onvif_not_an_image",
            Self::BadUrl { .. } => "onvif_bad_url",
        }
    }

    /// Whether the camera could not be reached or did not answer in time (as opposed to
    /// answering something wrong): the camera may be rebooting.
    pub fn is_transport(&self) -> bool {
        matches!(self, Self::Timeout(_) | Self::Transport(_))
    }

    /// Wraps this kind with the operation and the URL it happened on.
    pub fn at(self, operation: &'static str, url: impl Into<String>) -> OnvifError {
        OnvifError {
            operation,
            url: url.into(),
            kind: self,
        }
    }
}

/// A failed ONVIF operation on one camera: which operation, which URL, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} on {url}: {kind}")]
pub struct OnvifError {
    /// The operation (`GetProfiles`, `snapshot`, `WS-Discovery`).
    pub operation: &'static str,
    /// The URL it was sent to.
    pub url: String,
    /// Why it failed.
    pub kind: ErrorKind,
}

impl OnvifError {
    /// Whether the camera refused the credentials.
    pub fn is_unauthorized(&self) -> bool {
        matches!(self.kind, ErrorKind::Unauthorized { .. })
    }
}

/// At most 120 characters of camera-supplied text, on one line, for error messages.
pub(crate) fn snippet(text: &str) -> String {
    const MAX: usize = 120;
    let flat: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let mut chars = flat.chars();
    let mut out: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}
