//! The versioned envelope every message travels in.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The envelope schema version this build writes and accepts.
pub const SCHEMA_VERSION: u32 = 1;

/// One message, either direction.
///
/// `(site, stream, seq)` identifies a message for good: a resend carries the same triple
/// and the same `id`, so the receiver applies it once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope<B> {
    /// Envelope schema version ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// Message id, `<site>:<stream>:<seq>`; stable across resends.
    pub id: String,
    /// The stream this message belongs to; order is kept within a stream.
    pub stream: String,
    /// Position in the stream, from 1, without gaps.
    pub seq: u64,
    /// Site code (loctNo) of the site that sent it or is addressed.
    pub site: String,
    /// When the record the message describes was made (RFC 3339 UTC).
    pub created: String,
    /// Message kind; says how to read `body`.
    pub kind: String,
    /// The message itself.
    pub body: B,
}

/// The stable id of a message.
pub fn message_id(site: &str, stream: &str, seq: u64) -> String {
    format!("{site}:{stream}:{seq}")
}

/// Why a received payload could not be read as an envelope; `code()` is what a dead-letter
/// record stores.
#[derive(Debug, Clone, PartialEq)]
pub enum EnvelopeError {
    /// Larger than the receiver accepts.
    TooLarge {
        /// Payload size in bytes.
        bytes: usize,
        limit: usize,
    },
    /// Not valid UTF-8.
    NotUtf8(String),
    /// Not JSON, or not an envelope.
    Malformed(String),
    /// A schema version this build does not read.
    UnknownSchema(u32),
    /// Addressed to another site.
    WrongSite(String),
    /// A kind this build does not know.
    UnknownKind(String),
    /// The body does not fit its kind.
    BadBody(String),
    /// Not signed, signed by a key not trusted, altered, expired or replayed
    /// ([`crate::signed`]).
    Unauthentic(crate::signed::SignatureError),
}

impl EnvelopeError {
    /// Short reason code for storage and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::NotUtf8(_) => "not_utf8",
            Self::Malformed(_) => "malformed",
            Self::UnknownSchema(_) => "unknown_schema",
            Self::WrongSite(_) => "wrong_site",
            Self::UnknownKind(_) => "unknown_kind",
            Self::BadBody(_) => "bad_body",
            Self::Unauthentic(e) => e.code(),
        }
    }
}

impl std::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { bytes, limit } => {
                write!(
                    f,
                    "payload is {bytes} bytes, more than the {limit} accepted"
                )
            }
            Self::NotUtf8(e) => write!(f, "payload is not UTF-8: {e}"),
            Self::Malformed(e) => write!(f, "payload is not an envelope: {e}"),
            Self::UnknownSchema(v) => write!(
                f,
                "envelope schema version {v} is not {SCHEMA_VERSION}, the one this build reads"
            ),
            Self::WrongSite(s) => write!(f, "addressed to site {s:?}, not this one"),
            Self::UnknownKind(k) => write!(f, "unknown message kind {k:?}"),
            Self::BadBody(e) => write!(f, "body does not fit its kind: {e}"),
            Self::Unauthentic(e) => write!(f, "not authentic: {e}"),
        }
    }
}

impl std::error::Error for EnvelopeError {}

/// A body as an opened envelope holds it, before it is read by its kind: the raw JSON text
/// (`Box<RawValue>`, what the controller opens with: the body's types are read straight
/// from the text, with no tree built in between) or a tree (`Value`).
pub trait Body {
    /// The body read as `T`.
    fn read<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error>;
}

/// A body kept as its raw JSON text.
pub type RawBody = Box<RawValue>;

impl Body for RawBody {
    fn read<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.get())
    }
}

impl Body for serde_json::Value {
    fn read<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self)
    }
}

/// Read a payload as an envelope whose body is not read yet: size, UTF-8, JSON, schema
/// version and site are checked here; the body is read by its kind afterwards.
pub fn open<B: DeserializeOwned>(
    payload: &[u8],
    limit: usize,
    site: &str,
) -> Result<Envelope<B>, EnvelopeError> {
    /// The version alone, the rest of the document skipped without being built.
    #[derive(Deserialize)]
    struct Version {
        #[serde(default)]
        schema: Option<serde_json::Value>,
    }
    if payload.len() > limit {
        return Err(EnvelopeError::TooLarge {
            bytes: payload.len(),
            limit,
        });
    }
    let text = std::str::from_utf8(payload).map_err(|e| EnvelopeError::NotUtf8(e.to_string()))?;
    // The version first, so a future envelope with other fields is named as such.
    let probe: Version =
        serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    match probe.schema.as_ref().and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(SCHEMA_VERSION) => {}
        Some(v) => {
            return Err(EnvelopeError::UnknownSchema(
                u32::try_from(v).unwrap_or(u32::MAX),
            ));
        }
        None => {
            return Err(EnvelopeError::Malformed(
                "no numeric \"schema\" field".to_owned(),
            ));
        }
    }
    let envelope: Envelope<B> =
        serde_json::from_str(text).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    let mut lengths = crate::limits::Lengths::default();
    for (field, value, max) in [
        ("id", &envelope.id, crate::limits::MESSAGE_ID),
        ("stream", &envelope.stream, crate::limits::NAME),
        ("site", &envelope.site, crate::limits::SITE_CODE),
        ("created", &envelope.created, crate::limits::TIMESTAMP),
        ("kind", &envelope.kind, crate::limits::NAME),
    ] {
        lengths.check(|| field.to_owned(), value, max);
    }
    lengths.finish().map_err(EnvelopeError::Malformed)?;
    if envelope.site != site {
        return Err(EnvelopeError::WrongSite(envelope.site));
    }
    Ok(envelope)
}

/// Longest message id [`peek_id`] hands back; a longer one is not an id this protocol makes.
pub const MAX_ID_CHARS: usize = 256;

/// The `id` an envelope carries, read from a payload that [`open`] refused (an unknown
/// schema version, another site, a bad body, or larger than the receiver applies), so that
/// a dead letter still names the message it was. Only the top-level `id` is kept; the rest
/// of the document is skipped without being built, so even a large payload costs one pass
/// and no allocation beyond the id. `None` when the payload is not a JSON object or has no
/// string `id` of at most [`MAX_ID_CHARS`] characters.
pub fn peek_id(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<serde_json::Value>,
    }
    /// The envelope itself, or a signed wrapper around it (`{"sig", "key", "exp", "msg"}`).
    #[derive(Deserialize)]
    struct Probe {
        #[serde(default)]
        id: Option<serde_json::Value>,
        #[serde(default)]
        msg: Option<IdOnly>,
    }
    let probe: Probe = serde_json::from_slice(payload).ok()?;
    match probe.id.or(probe.msg.and_then(|m| m.id))? {
        serde_json::Value::String(id) if !id.is_empty() && id.chars().count() <= MAX_ID_CHARS => {
            Some(id)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_read_inside_a_signed_wrapper() {
        let wrapped = serde_json::json!({"sig": "00", "key": "ab", "exp": 1,
            "msg": {"schema": 99, "id": "P:lists:8", "body": {}}})
        .to_string();
        assert_eq!(peek_id(wrapped.as_bytes()).as_deref(), Some("P:lists:8"));
    }

    #[test]
    fn the_id_is_read_from_an_envelope_open_refuses() {
        let future = serde_json::json!({"schema": 99, "id": "P:lists:7", "stream": "lists",
            "seq": 7, "site": "3511W001", "body": {"whatever": [1, 2, 3]}, "extra": true})
        .to_string();
        assert_eq!(
            open::<RawBody>(future.as_bytes(), 1 << 20, "3511W001")
                .unwrap_err()
                .code(),
            "unknown_schema"
        );
        assert_eq!(peek_id(future.as_bytes()).as_deref(), Some("P:lists:7"));
        // Larger than the receiver applies: still named.
        let big = format!(r#"{{"id":"P:lists:8","body":"{}"}}"#, "x".repeat(4096));
        assert!(open::<RawBody>(big.as_bytes(), 1024, "3511W001").is_err());
        assert_eq!(peek_id(big.as_bytes()).as_deref(), Some("P:lists:8"));
        // Nothing to name.
        for bad in [
            &b"{ not json"[..],
            br#"{"id": 7}"#,
            br#"{"id": ""}"#,
            br#"["id", "x"]"#,
            b"\xff\xfe",
        ] {
            assert_eq!(peek_id(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let long = format!(r#"{{"id":"{}"}}"#, "a".repeat(MAX_ID_CHARS + 1));
        assert_eq!(peek_id(long.as_bytes()), None);
    }

    fn env(schema: u32, site: &str) -> String {
        serde_json::json!({
            "schema": schema, "id": "P:lists:1", "stream": "lists", "seq": 1, "site": site,
            "created": "2026-11-27T10:00:00.000Z", "kind": "lists", "body": {"lists": []}
        })
        .to_string()
    }

    #[test]
    fn a_good_envelope_opens() {
        let e = open::<RawBody>(env(1, "3511W001").as_bytes(), 1024, "3511W001").unwrap();
        assert_eq!(e.seq, 1);
        assert_eq!(e.kind, "lists");
    }

    #[test]
    fn each_bad_payload_gets_its_own_reason() {
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (vec![b'x'; 2000], "too_large"),
            (vec![0xff, 0xfe, b'{'], "not_utf8"),
            (b"{not json".to_vec(), "malformed"),
            (b"{\"kind\":\"lists\"}".to_vec(), "malformed"),
            (env(2, "3511W001").into_bytes(), "unknown_schema"),
            (env(1, "OTHER").into_bytes(), "wrong_site"),
        ];
        for (payload, code) in cases {
            let err = open::<RawBody>(&payload, 1024, "3511W001").unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert!(!err.to_string().is_empty());
        }
    }
}
