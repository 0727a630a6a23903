//! The platform's side of signed messages (`customs_edge_protocol::signed`): downlink and
//! acks sealed with the platform's key (which a test may rotate while running), uplink
//! opened with each site's own public keys, and the audit anchors the sites sent, exported
//! as signed files for `customs-edge audit verify --anchor`.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use customs_edge_protocol::envelope::{self, Envelope};
use customs_edge_protocol::signed::{SealKey, SignatureError, TrustedKeys};
use customs_edge_protocol::uplink::{AnchorExport, AuditAnchor, anchor_export_topic, kind};
use serde_json::Value;

use super::config::MAX_PACKET_BYTES;
use super::running::Platform;

/// How long an exported anchor file's signature is valid: it is evidence, kept for years.
const EXPORT_VALID: Duration = Duration::from_secs(10 * 366 * 24 * 3600);

/// Signing on the platform's side.
#[derive(Debug, Clone)]
pub struct Signing {
    /// The platform's key: every downlink message and ack is sealed with it.
    pub key: SealKey,
    /// Each site's public keys; its uplink must verify with one of them. A site not named
    /// here has all its uplink refused.
    pub site_keys: BTreeMap<String, TrustedKeys>,
    /// How long a downlink signature is valid: long enough for a site that is away to get
    /// the messages the broker keeps for it.
    pub valid_for: Duration,
}

impl Signing {
    /// Sign with `key`, accept each site's uplink signed by the key given for it.
    pub fn new(key: SealKey, sites: &[(&str, &SealKey)]) -> Self {
        let site_keys = sites
            .iter()
            .map(|(site, k)| {
                let mut trusted = TrustedKeys::default();
                trusted.add(k.public());
                ((*site).to_owned(), trusted)
            })
            .collect();
        Self {
            key,
            site_keys,
            valid_for: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// How a downlink message is sealed (tests send forged and expired ones).
#[derive(Debug, Clone)]
pub enum Seal {
    /// With the platform's current key, valid for the configured time (unsigned when the
    /// platform does not sign).
    Platform,
    /// With this key, valid until this unix time (boxed: a key is 256 bytes and more).
    With(Box<SealKey>, i64),
    /// Not at all: a bare envelope.
    Unsigned,
}

/// Now in unix seconds.
pub(crate) fn now_s() -> i64 {
    Utc::now().timestamp()
}

impl Platform {
    /// Sign from now on with `key` (a rotation: the sites must trust it already).
    pub fn rotate_key(&self, key: SealKey) {
        if let Some(s) = self.shared.lock().signing.as_mut() {
            s.key = key;
        }
    }

    /// The public key the platform signs with now, as hex (for a site's config).
    pub fn public_key_hex(&self) -> Option<String> {
        self.shared
            .lock()
            .signing
            .as_ref()
            .map(|s| s.key.public_hex())
    }

    /// `payload` for `topic` as `seal` says.
    pub(crate) fn seal_payload(&self, topic: &str, payload: Vec<u8>, seal: &Seal) -> Vec<u8> {
        match seal {
            Seal::Unsigned => payload,
            Seal::With(key, exp) => key.seal(topic, &payload, *exp),
            Seal::Platform => {
                let state = self.shared.lock();
                match &state.signing {
                    Some(s) => {
                        let valid = i64::try_from(s.valid_for.as_secs()).unwrap_or(i64::MAX);
                        s.key.seal(topic, &payload, now_s().saturating_add(valid))
                    }
                    None => payload,
                }
            }
        }
    }

    /// The envelopes of an uplink payload of `site`, in order: checked against the site's
    /// keys when the platform signs (a single message or a batch), the payload as it is
    /// otherwise.
    pub(crate) fn open_uplink<'a>(
        &self,
        topic: &str,
        site: &str,
        payload: &'a [u8],
    ) -> Result<Vec<&'a [u8]>, SignatureError> {
        let keys = {
            let state = self.shared.lock();
            match &state.signing {
                None => return Ok(vec![payload]),
                Some(s) => s.site_keys.get(site).cloned(),
            }
        };
        let keys =
            keys.ok_or_else(|| SignatureError::UnknownKey(format!("(no key for site {site})")))?;
        keys.open_many(topic, payload, now_s()).map(|o| o.msgs)
    }

    /// Keep the newest audit anchor of `site` when an applied officer message is one.
    pub(crate) fn note_anchor(&self, site: &str, envelope_bytes: &[u8], now: DateTime<Utc>) {
        let Ok(env): Result<Envelope<Value>, _> =
            envelope::open(envelope_bytes, MAX_PACKET_BYTES, site)
        else {
            return;
        };
        if env.kind != kind::AUDIT_ANCHOR {
            return;
        }
        let Ok(anchor) = serde_json::from_value::<AuditAnchor>(env.body) else {
            return;
        };
        let export = AnchorExport {
            site: site.to_owned(),
            audit_seq: anchor.audit_seq,
            hash: anchor.hash,
            entry_at: anchor.entry_at,
            received_at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        self.shared.update(|s| {
            let newer = s
                .anchors
                .get(site)
                .is_none_or(|a| a.audit_seq <= export.audit_seq);
            if newer {
                s.anchors.insert(site.to_owned(), export);
            }
        });
    }

    /// The newest audit anchor `site` sent, as the platform holds it.
    pub fn anchor(&self, site: &str) -> Option<AnchorExport> {
        self.shared.lock().anchors.get(site).cloned()
    }

    /// The newest audit anchor of `site` as a file for `customs-edge audit verify
    /// --anchor`: signed with the platform's key when it signs, a bare wrapper otherwise.
    pub fn export_anchor(&self, site: &str) -> Option<Vec<u8>> {
        let export = self.anchor(site)?;
        let msg = serde_json::to_vec(&export).ok()?;
        let state = self.shared.lock();
        let valid = i64::try_from(EXPORT_VALID.as_secs()).unwrap_or(i64::MAX);
        if let Some(s) = &state.signing {
            return Some(
                s.key
                    .seal(&anchor_export_topic(site), &msg, now_s() + valid),
            );
        }
        let mut out = b"{\"msg\":".to_vec();
        out.extend_from_slice(&msg);
        out.push(b'}');
        Some(out)
    }
}
