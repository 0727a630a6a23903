//! Signed messages on the platform link (Ed25519).
//!
//! With signing on, a payload is a wrapper around the envelope, which it carries as its
//! exact bytes:
//!
//! ```text
//! {"sig":"<128 hex>","key":"<16 hex>","exp":<unix seconds>,"msg":<the envelope JSON>}
//! ```
//!
//! The signature covers the topic, the key id, the expiry and the envelope's bytes exactly
//! as they stand between `"msg":` and the closing brace, each preceded by its length
//! ([`signed_bytes`]): no canonical JSON is needed, re-serialising nothing can change what
//! was signed, and a message signed for one topic (one site, one kind) does not verify on
//! another. `key` names the signing key by the first 8 bytes of its public key, so a
//! receiver holding two keys (a rotation) knows which one to use. `exp` bounds how long a
//! captured message can be replayed at all; the receiver's once-per-id rules refuse it
//! within that time.
//!
//! A batch carries several envelopes of one topic under one signature, in order:
//!
//! ```text
//! {"sig":"<128 hex>","key":"<16 hex>","exp":<unix seconds>,"msgs":[<envelope>,<envelope>,...]}
//! ```
//!
//! Its signature covers the same parts with [`BATCH_DOMAIN`] in place of [`DOMAIN`] and each
//! envelope's exact bytes in turn ([`signed_batch_bytes`]), so a batch signature never
//! verifies as a single message's nor the other way round, and no envelope can be taken
//! out of, added to or moved within a batch. A backlog drained in batches costs one
//! signature per batch instead of one per message.
//!
//! The platform signs every downlink message (acknowledgements included) with its key;
//! the site signs every uplink message with its own, a backlog in batches. Downlink is
//! never batched. `docs/mqtt/README.md` documents the wrapper for platform implementers.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::Deserialize;
use serde_json::value::RawValue;

/// What a signed payload's signed bytes start with: the scheme and its version.
pub const DOMAIN: &[u8] = b"customs-edge signed message v1";
/// What a signed batch's signed bytes start with.
pub const BATCH_DOMAIN: &[u8] = b"customs-edge signed batch v1";
/// Length of a key id in hex characters (the first 8 bytes of the public key).
pub const KEY_ID_HEX: usize = 16;

/// Why a payload was refused as unauthentic; `code()` is what a dead letter stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No wrapper: a bare envelope, or something else, where a signed message was required.
    Unsigned(String),
    /// A wrapper whose fields are missing or malformed.
    BadWrapper(String),
    /// Signed with a key the receiver does not hold.
    UnknownKey(String),
    /// The signature does not verify: changed in transit, signed for another topic, or
    /// forged.
    BadSignature,
    /// Its validity ended before it arrived.
    Expired {
        /// When it expired (unix seconds).
        exp: i64,
        /// The receiver's clock (unix seconds).
        now: i64,
    },
    /// Seen before (message id or sequence number): a replay.
    Replayed(String),
}

impl SignatureError {
    /// Short reason code for storage and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unsigned(_) => "unsigned",
            Self::BadWrapper(_) => "bad_signature_wrapper",
            Self::UnknownKey(_) => "unknown_key",
            Self::BadSignature => "bad_signature",
            Self::Expired { .. } => "expired",
            Self::Replayed(_) => "replayed",
        }
    }
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unsigned(why) => write!(f, "not signed ({why}); signed messages are required"),
            Self::BadWrapper(why) => write!(f, "signature wrapper unreadable: {why}"),
            Self::UnknownKey(id) => write!(f, "signed with key {id:?}, which is not trusted here"),
            Self::BadSignature => write!(f, "the signature does not verify"),
            Self::Expired { exp, now } => {
                write!(
                    f,
                    "expired at {exp} (unix s), {} s before it was read",
                    now - exp
                )
            }
            Self::Replayed(what) => write!(f, "replayed: {what}"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// The id of a public key: hex of its first 8 bytes.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(&key.as_bytes()[..KEY_ID_HEX / 2])
}

/// The bytes a signature covers (see the module documentation).
pub fn signed_bytes(topic: &str, key_id: &str, exp: i64, msg: &[u8]) -> Vec<u8> {
    length_prefixed(DOMAIN, topic, key_id, exp, &[msg])
}

/// The bytes a batch's signature covers: as [`signed_bytes`], under [`BATCH_DOMAIN`], with
/// every envelope in order.
pub fn signed_batch_bytes(topic: &str, key_id: &str, exp: i64, msgs: &[&[u8]]) -> Vec<u8> {
    length_prefixed(BATCH_DOMAIN, topic, key_id, exp, msgs)
}

/// Each part preceded by its length as 8 big-endian bytes.
fn length_prefixed(domain: &[u8], topic: &str, key_id: &str, exp: i64, msgs: &[&[u8]]) -> Vec<u8> {
    let exp = exp.to_string();
    let body: usize = msgs.iter().map(|m| m.len() + 8).sum();
    let mut out = Vec::with_capacity(domain.len() + topic.len() + body + 64);
    let head = [domain, topic.as_bytes(), key_id.as_bytes(), exp.as_bytes()];
    for part in head.into_iter().chain(msgs.iter().copied()) {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// A private signing key with its id.
#[derive(Clone)]
pub struct SealKey {
    key: SigningKey,
    id: String,
}

impl std::fmt::Debug for SealKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SealKey {
    /// The key from its 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let key = SigningKey::from_bytes(seed);
        let id = key_id(&key.verifying_key());
        Self { key, id }
    }

    /// The key from the text of a key file: the seed as 64 hex characters (whitespace
    /// around it ignored).
    pub fn from_hex(text: &str) -> Result<Self, String> {
        let bytes = hex::decode(text.trim()).map_err(|e| format!("not hex: {e}"))?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("{} bytes, not the 32 of an Ed25519 seed", b.len()))?;
        Ok(Self::from_seed(&seed))
    }

    /// The seed as hex, for a key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.key.to_bytes())
    }

    /// The public half as hex, for the other side's config.
    pub fn public_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// The public half.
    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// This key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The signed payload for `msg` (an envelope's JSON) on `topic`, valid until `exp`
    /// (unix seconds).
    pub fn seal(&self, topic: &str, msg: &[u8], exp: i64) -> Vec<u8> {
        let sig = self.key.sign(&signed_bytes(topic, &self.id, exp, msg));
        let mut out = self.wrapper_head(&sig, exp, msg.len(), "msg");
        out.extend_from_slice(msg);
        out.push(b'}');
        out
    }

    /// One signed payload carrying `msgs` (envelopes of `topic`, at least one) in order,
    /// valid until `exp` (unix seconds).
    pub fn seal_batch(&self, topic: &str, msgs: &[&[u8]], exp: i64) -> Vec<u8> {
        let sig = self
            .key
            .sign(&signed_batch_bytes(topic, &self.id, exp, msgs));
        let len = msgs.iter().map(|m| m.len() + 1).sum();
        let mut out = self.wrapper_head(&sig, exp, len, "msgs");
        out.push(b'[');
        for (i, msg) in msgs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(msg);
        }
        out.extend_from_slice(b"]}");
        out
    }

    /// The wrapper up to its last field's value: signature, key id, expiry, `"field":`.
    fn wrapper_head(&self, sig: &Signature, exp: i64, body: usize, field: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(body + 220);
        out.extend_from_slice(b"{\"sig\":\"");
        out.extend_from_slice(hex::encode(sig.to_bytes()).as_bytes());
        out.extend_from_slice(b"\",\"key\":\"");
        out.extend_from_slice(self.id.as_bytes());
        out.extend_from_slice(b"\",\"exp\":");
        out.extend_from_slice(exp.to_string().as_bytes());
        out.extend_from_slice(b",\"");
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(b"\":");
        out
    }
}

/// Public keys a receiver trusts (one, or two during a rotation).
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<(String, VerifyingKey)>,
}

/// What a verified payload carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened<'a> {
    /// The envelope's exact bytes.
    pub msg: &'a [u8],
    /// The id of the key that signed it.
    pub key: String,
    /// Its expiry (unix seconds).
    pub exp: i64,
}

/// What a verified payload that may be a batch carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedMany<'a> {
    /// The envelopes' exact bytes, in the order they were sealed (one for a single message).
    pub msgs: Vec<&'a [u8]>,
    /// The id of the key that signed them.
    pub key: String,
    /// Their expiry (unix seconds).
    pub exp: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(borrow)]
    sig: &'a str,
    #[serde(borrow)]
    key: &'a str,
    exp: i64,
    #[serde(borrow, default)]
    msg: Option<&'a RawValue>,
    #[serde(borrow, default)]
    msgs: Option<Vec<&'a RawValue>>,
}

impl TrustedKeys {
    /// Keys from their hex forms (64 hex characters each); `Err` names the bad one.
    pub fn from_hex<S: AsRef<str>>(keys: &[S]) -> Result<Self, String> {
        let mut out = Self::default();
        for (i, text) in keys.iter().enumerate() {
            let text = text.as_ref().trim();
            let bytes = hex::decode(text).map_err(|e| format!("key {i}: not hex: {e}"))?;
            let bytes: [u8; 32] = bytes
                .try_into()
                .map_err(|b: Vec<u8>| format!("key {i}: {} bytes, not 32", b.len()))?;
            let key = VerifyingKey::from_bytes(&bytes)
                .map_err(|e| format!("key {i}: not an Ed25519 public key: {e}"))?;
            out.add(key);
        }
        Ok(out)
    }

    /// Trust one more key.
    pub fn add(&mut self, key: VerifyingKey) {
        self.keys.push((key_id(&key), key));
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The ids of the keys held.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Check `payload` received on `topic` at `now` (unix seconds): a single message's
    /// wrapper, signed by a key held here over this topic, not expired. Returns the
    /// envelope's bytes. A batch is refused here: downlink is never batched.
    pub fn open<'a>(
        &self,
        topic: &str,
        payload: &'a [u8],
        now: i64,
    ) -> Result<Opened<'a>, SignatureError> {
        let wire = parse_wire(payload)?;
        let Wire {
            key,
            exp,
            msg,
            msgs,
            ..
        } = &wire;
        let msg = match (msg, msgs) {
            (Some(msg), None) => msg.get().as_bytes(),
            (None, Some(_)) => {
                return Err(SignatureError::BadWrapper(
                    "a batch (msgs) where a single message (msg) is expected".into(),
                ));
            }
            _ => return Err(one_of_msg_msgs()),
        };
        self.verify(&wire, &signed_bytes(topic, key, *exp, msg), now)?;
        Ok(Opened {
            msg,
            key: (*key).to_owned(),
            exp: *exp,
        })
    }

    /// Check `payload` received on `topic` at `now` (unix seconds) that may be a single
    /// message or a batch; returns the envelopes' bytes in order.
    pub fn open_many<'a>(
        &self,
        topic: &str,
        payload: &'a [u8],
        now: i64,
    ) -> Result<OpenedMany<'a>, SignatureError> {
        let wire = parse_wire(payload)?;
        let msgs: Vec<&'a [u8]> = match (&wire.msg, &wire.msgs) {
            (Some(msg), None) => vec![msg.get().as_bytes()],
            (None, Some(msgs)) if !msgs.is_empty() => {
                msgs.iter().map(|m| m.get().as_bytes()).collect()
            }
            (None, Some(_)) => {
                return Err(SignatureError::BadWrapper("a batch with no message".into()));
            }
            _ => return Err(one_of_msg_msgs()),
        };
        let signed = if wire.msg.is_some() {
            signed_bytes(topic, wire.key, wire.exp, msgs[0])
        } else {
            signed_batch_bytes(topic, wire.key, wire.exp, &msgs)
        };
        self.verify(&wire, &signed, now)?;
        Ok(OpenedMany {
            msgs,
            key: wire.key.to_owned(),
            exp: wire.exp,
        })
    }

    /// The key named, the signature over `signed`, then the expiry.
    fn verify(&self, wire: &Wire<'_>, signed: &[u8], now: i64) -> Result<(), SignatureError> {
        let (_, key) = self
            .keys
            .iter()
            .find(|(id, _)| id == wire.key)
            .ok_or_else(|| SignatureError::UnknownKey(wire.key.to_owned()))?;
        let sig: [u8; 64] = hex::decode(wire.sig)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| SignatureError::BadWrapper("sig is not 64 bytes of hex".into()))?;
        key.verify_strict(signed, &Signature::from_bytes(&sig))
            .map_err(|_| SignatureError::BadSignature)?;
        if wire.exp <= now {
            return Err(SignatureError::Expired { exp: wire.exp, now });
        }
        Ok(())
    }
}

/// The wrapper's fields, or why it is not one (a bare envelope is `Unsigned`).
fn parse_wire(payload: &[u8]) -> Result<Wire<'_>, SignatureError> {
    serde_json::from_slice(payload).map_err(|e| {
        let bare = payload.starts_with(b"{\"schema\"")
            || serde_json::from_slice::<serde_json::Value>(payload)
                .ok()
                .is_some_and(|v| v.get("sig").is_none());
        if bare {
            SignatureError::Unsigned("a bare envelope".to_owned())
        } else {
            SignatureError::BadWrapper(e.to_string())
        }
    })
}

fn one_of_msg_msgs() -> SignatureError {
    SignatureError::BadWrapper("exactly one of msg and msgs is required".into())
}

#[cfg(test)]
#[path = "signed_tests.rs"]
mod tests;
