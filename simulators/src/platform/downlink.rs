//! Publishing to a site: every downlink kind in a versioned [`Envelope`] on
//! `<prefix>/<site>/down/<kind>`, numbered per site in one `down` stream (acks included),
//! and raw bytes to any topic for malformed-payload tests.

use chrono::{SecondsFormat, Utc};
use customs_edge_protocol::declaration::DeclarationList;
use customs_edge_protocol::downlink::{
    self, ExitPermit, ExpectedArrival, Instruction, PermitStatusUpdate, StatusUpdate, kind,
};
use customs_edge_protocol::envelope::{self, Envelope, SCHEMA_VERSION};
use rumqttc::QoS;
use serde::Serialize;

use super::config::MAX_PACKET_BYTES;
use super::running::Platform;
use super::signing::Seal;

/// The stream name of every downlink message.
pub const DOWN_STREAM: &str = "down";
/// Room left in a packet for the topic and the MQTT header.
const PACKET_OVERHEAD: usize = 64 * 1024;

/// A downlink message as published.
#[derive(Debug, Clone)]
pub struct Published {
    /// Its sequence number.
    pub seq: u64,
    /// Where it went.
    pub topic: String,
    /// The payload exactly as sent (the signed wrapper, when signed).
    pub payload: Vec<u8>,
}

/// Why a downlink message was not published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The site is not one this platform serves.
    #[error("site {0:?} is not served by this platform")]
    UnknownSite(String),
    /// Larger than an MQTT packet the platform writes.
    #[error("the message is {bytes} bytes, more than the {limit} a packet may carry")]
    TooLarge {
        /// Payload size.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// The body did not serialize.
    #[error("cannot encode the message: {0}")]
    Encode(#[from] serde_json::Error),
    /// The MQTT client has stopped (the platform is shutting down).
    #[error("the MQTT client has stopped: {0}")]
    Closed(#[from] rumqttc::ClientError),
}

impl Platform {
    /// Publish `body` as a downlink message of `kind` to `site`; returns its sequence
    /// number. The body is not checked against the kind: this is also how a test sends
    /// a well-formed envelope with a body the site must refuse.
    pub async fn publish_downlink<B: Serialize + Sync>(
        &self,
        site: &str,
        kind: &str,
        body: &B,
    ) -> Result<u64, PublishError> {
        self.publish_downlink_with(site, kind, body, &Seal::Platform)
            .await
            .map(|p| p.seq)
    }

    /// [`Platform::publish_downlink`] sealed as `seal` says (a forged or expired
    /// signature, or none); returns the payload as sent, so a test can replay it.
    pub async fn publish_downlink_with<B: Serialize + Sync>(
        &self,
        site: &str,
        kind: &str,
        body: &B,
        seal: &Seal,
    ) -> Result<Published, PublishError> {
        if !self.sites().iter().any(|s| s == site) {
            return Err(PublishError::UnknownSite(site.to_owned()));
        }
        let topic = self.topics(site).down(kind);
        // Held until the message is queued so that sequence order is wire order.
        let _order = self.shared.send_lock.lock().await;
        let seq = self.shared.lock().down_seqs.get(site).copied().unwrap_or(0) + 1;
        let message = Envelope {
            schema: SCHEMA_VERSION,
            id: envelope::message_id(&self.shared.config.origin, DOWN_STREAM, seq),
            stream: DOWN_STREAM.to_owned(),
            seq,
            site: site.to_owned(),
            created: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            kind: kind.to_owned(),
            body,
        };
        let payload = self.seal_payload(&topic, serde_json::to_vec(&message)?, seal);
        check_size(payload.len())?;
        self.client
            .publish(topic.clone(), QoS::AtLeastOnce, false, payload.clone())
            .await?;
        self.shared.update(|s| {
            s.down_seqs.insert(site.to_owned(), seq);
            s.downlink.published += 1;
            *s.downlink.kinds.entry(kind.to_owned()).or_default() += 1;
        });
        Ok(Published {
            seq,
            topic,
            payload,
        })
    }

    /// New or replaced declaration lists, in one message.
    pub async fn publish_lists(
        &self,
        site: &str,
        lists: Vec<DeclarationList>,
    ) -> Result<u64, PublishError> {
        self.publish_downlink(site, kind::LISTS, &downlink::Lists { lists })
            .await
    }

    /// Customs status updates, in one message.
    pub async fn publish_list_status(
        &self,
        site: &str,
        updates: Vec<StatusUpdate>,
    ) -> Result<u64, PublishError> {
        self.publish_downlink(site, kind::LIST_STATUS, &downlink::ListStatus { updates })
            .await
    }

    /// New or replaced exit permits, in one message.
    pub async fn publish_permits(
        &self,
        site: &str,
        permits: Vec<ExitPermit>,
    ) -> Result<u64, PublishError> {
        self.publish_downlink(site, kind::PERMITS, &downlink::Permits { permits })
            .await
    }

    /// Exit permit status updates, in one message.
    pub async fn publish_permit_status(
        &self,
        site: &str,
        updates: Vec<PermitStatusUpdate>,
    ) -> Result<u64, PublishError> {
        self.publish_downlink(
            site,
            kind::PERMIT_STATUS,
            &downlink::PermitStatus { updates },
        )
        .await
    }

    /// Customs instructions, in one message.
    pub async fn publish_instructions(
        &self,
        site: &str,
        instructions: Vec<Instruction>,
    ) -> Result<u64, PublishError> {
        self.publish_downlink(
            site,
            kind::INSTRUCTIONS,
            &downlink::Instructions { instructions },
        )
        .await
    }

    /// Expected arrivals (a bill on a truck, by plate), in one message.
    pub async fn publish_arrivals(
        &self,
        site: &str,
        arrivals: Vec<ExpectedArrival>,
    ) -> Result<u64, PublishError> {
        self.publish_downlink(site, kind::ARRIVALS, &downlink::Arrivals { arrivals })
            .await
    }

    /// Publish `payload` as it is to any topic (QoS 1), e.g. a malformed message to a
    /// site's downlink.
    pub async fn publish_raw(
        &self,
        topic: &str,
        payload: impl Into<Vec<u8>>,
        retain: bool,
    ) -> Result<(), PublishError> {
        let payload = payload.into();
        check_size(payload.len())?;
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload)
            .await?;
        self.shared.update(|s| {
            s.downlink.published += 1;
            *s.downlink.kinds.entry("raw".to_owned()).or_default() += 1;
        });
        Ok(())
    }
}

fn check_size(bytes: usize) -> Result<(), PublishError> {
    let limit = MAX_PACKET_BYTES - PACKET_OVERHEAD;
    if bytes > limit {
        return Err(PublishError::TooLarge { bytes, limit });
    }
    Ok(())
}
