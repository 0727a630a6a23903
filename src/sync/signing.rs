//! The link's keys at run time (`[platform.signing]`): every uplink payload sealed with the
//! site's key, every downlink payload opened with the platform's keys, and acknowledgements
//! refused when they repeat one already taken. The wire format is
//! `customs_edge_protocol::signed`; `docs/security.md` says how to set the keys up.

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Context as _;
use customs_edge_protocol::envelope::{self, Envelope, EnvelopeError};
use customs_edge_protocol::signed::{SealKey, SignatureError, TrustedKeys};

use crate::config::SigningConfig;

/// The site's key, the platform's keys and the acknowledgement replay guard.
#[derive(Debug)]
pub struct LinkKeys {
    seal: SealKey,
    trusted: TrustedKeys,
    uplink_valid_s: i64,
    /// The downlink sequence number of the last acknowledgement taken, per sender (the
    /// message id without its number). The platform numbers acks with its other downlink
    /// messages in one stream, in wire order, so an ack at or below it is a replay.
    /// `std::sync::Mutex`: held for a map lookup, never across an `.await`.
    last_ack: Mutex<HashMap<String, u64>>,
}

impl LinkKeys {
    /// Read the site's key file and the platform's keys.
    pub fn load(config: &SigningConfig) -> anyhow::Result<Self> {
        let path = &config.site_key_file;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("platform.signing.site_key_file {}", path.display()))?;
        let seal = SealKey::from_hex(&text).map_err(|e| {
            anyhow::anyhow!("platform.signing.site_key_file {}: {e}", path.display())
        })?;
        let trusted = config
            .trusted()
            .map_err(|e| anyhow::anyhow!("platform.signing.platform_keys: {e}"))?;
        Ok(Self::new(
            seal,
            trusted,
            i64::try_from(config.uplink_valid_s).unwrap_or(i64::MAX),
        ))
    }

    /// From keys in hand.
    pub fn new(seal: SealKey, trusted: TrustedKeys, uplink_valid_s: i64) -> Self {
        Self {
            seal,
            trusted,
            uplink_valid_s,
            last_ack: Mutex::new(HashMap::new()),
        }
    }

    /// The signed payload of an uplink message on `topic`.
    pub fn seal(&self, topic: &str, payload: &[u8]) -> Vec<u8> {
        self.seal
            .seal(topic, payload, now_s().saturating_add(self.uplink_valid_s))
    }

    /// One signed payload carrying the uplink envelopes `msgs` of `topic`, in order; a
    /// single envelope is sealed as a single message.
    pub fn seal_batch(&self, topic: &str, msgs: &[&[u8]]) -> Vec<u8> {
        match msgs {
            [one] => self.seal(topic, one),
            _ => self
                .seal
                .seal_batch(topic, msgs, now_s().saturating_add(self.uplink_valid_s)),
        }
    }

    /// The platform's keys.
    pub fn trusted(&self) -> &TrustedKeys {
        &self.trusted
    }

    /// Accept the downlink acknowledgement with `message_id` and sequence number `seq`
    /// only if it comes after the last one taken from the same sender.
    pub fn take_ack(&self, message_id: &str, seq: u64) -> Result<(), SignatureError> {
        let sender = message_id
            .rsplit_once(':')
            .map_or(message_id, |(sender, _)| sender);
        let mut last = self
            .last_ack
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match last.get(sender) {
            Some(&before) if seq <= before => Err(SignatureError::Replayed(format!(
                "acknowledgement {message_id} is not newer than {sender}:{before}, already taken"
            ))),
            _ => {
                last.insert(sender.to_owned(), seq);
                Ok(())
            }
        }
    }
}

/// Open a downlink payload: with keys, only a signed one for this topic, then the
/// envelope inside it; without, the envelope as it is. Size is checked first, so an
/// oversized payload costs no signature check. The body is kept as its raw text, to be read
/// straight into its kind's types.
pub fn open_downlink(
    keys: Option<&LinkKeys>,
    topic: &str,
    payload: &[u8],
    limit: usize,
    site: &str,
) -> Result<Envelope<envelope::RawBody>, EnvelopeError> {
    let Some(keys) = keys else {
        return envelope::open(payload, limit, site);
    };
    if payload.len() > limit {
        return envelope::open(payload, limit, site);
    }
    let opened = keys
        .trusted
        .open(topic, payload, now_s())
        .map_err(EnvelopeError::Unauthentic)?;
    envelope::open(opened.msg, limit, site)
}

/// Now, in unix seconds.
pub fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (SealKey, LinkKeys) {
        let platform = SealKey::from_seed(&[7; 32]);
        let mut trusted = TrustedKeys::default();
        trusted.add(platform.public());
        let site = LinkKeys::new(SealKey::from_seed(&[8; 32]), trusted, 3600);
        (platform, site)
    }

    #[test]
    fn an_ack_is_taken_once_and_only_newer_ones_after_it() {
        let (_, site) = keys();
        assert!(site.take_ack("platform:down:5", 5).is_ok());
        let again = site.take_ack("platform:down:5", 5).unwrap_err();
        assert_eq!(again.code(), "replayed");
        assert!(site.take_ack("platform:down:3", 3).is_err());
        assert!(site.take_ack("platform:down:6", 6).is_ok());
        assert!(site.take_ack("other:down:1", 1).is_ok());
    }

    #[test]
    fn a_downlink_opens_only_signed_for_its_topic() {
        let (platform, site) = keys();
        let env = br#"{"schema":1,"id":"p:down:1","stream":"down","seq":1,"site":"S1","created":"2026-12-06T00:00:00.000Z","kind":"ack","body":{"stream":"decisions","seq":3}}"#;
        let topic = "customs-edge/S1/down/ack";
        let sealed = platform.seal(topic, env, now_s() + 60);
        let opened = open_downlink(Some(&site), topic, &sealed, 4096, "S1").unwrap();
        assert_eq!(opened.seq, 1);
        let bare = open_downlink(Some(&site), topic, env, 4096, "S1").unwrap_err();
        assert_eq!(bare.code(), "unsigned");
        assert!(open_downlink(None, topic, env, 4096, "S1").is_ok());
        let big = open_downlink(Some(&site), topic, &sealed, 100, "S1").unwrap_err();
        assert_eq!(big.code(), "too_large");
    }
}
