//! The judge's findings as plain data: what `GET /ledger` serves, what `--report-file`
//! holds, and what [`Platform::wait_until`](super::Platform::wait_until) predicates read.
//! Readable back with serde.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A snapshot of everything the platform has seen and done (bodies excepted: see
/// [`Platform::applied`](super::Platform::applied)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// Connected to the broker now.
    pub connected: bool,
    /// Subscribed to every site's topics in the current session.
    pub subscribed: bool,
    /// Connections made (ConnAcks received), the first one included.
    pub connects: u64,
    /// The last connection error, if any.
    pub last_error: Option<String>,
    /// Sums over every site and stream.
    pub totals: Totals,
    /// Per site code.
    pub sites: BTreeMap<String, SiteLedger>,
    /// Uplink payloads that are not an envelope of a known stream of the site whose topic
    /// they came on; not applied.
    pub malformed_uplink: u64,
    /// The first few of them, for diagnosis.
    pub malformed_samples: Vec<MalformedUplink>,
    /// Records applied twice under two sequence numbers (the first few).
    pub doubles: Vec<DoubleEffect>,
    /// Applied messages that break the contract (the first few).
    pub problems: Vec<Problem>,
    /// Downlink publishing.
    pub downlink: DownlinkCounters,
    /// The ack fault switches as they stand.
    pub acks: AckSettings,
}

/// Counts summed over every site and stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Messages applied.
    pub applied: u64,
    /// Resends of messages already applied, ignored.
    pub resent: u64,
    /// Messages that arrived ahead of a missing one, ignored.
    pub gaps: u64,
    /// Records applied a second time under another sequence number: double effects.
    pub applied_twice: u64,
    /// Applied messages that break the contract (see [`Ledger::problems`]).
    pub invalid: u64,
    /// Signed uplink payloads that carried more than one envelope (a batch).
    #[serde(default)]
    pub batches: u64,
}

/// One site as the platform sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SiteLedger {
    /// The site's retained presence (`online`/`offline`), if it has published one.
    pub presence: Option<String>,
    /// When the presence last changed (RFC 3339 UTC).
    pub presence_at: Option<String>,
    /// Presence messages received.
    pub presence_changes: u64,
    /// Per uplink stream name.
    pub streams: BTreeMap<String, StreamLedger>,
    /// The last downlink sequence number sent to this site.
    pub down_seq: u64,
}

/// One uplink stream of one site.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamLedger {
    /// Messages applied.
    pub applied: u64,
    /// Resends (sequence number at or below `last_applied`), ignored.
    pub resent: u64,
    /// Arrivals ahead of a missing sequence number, ignored (the site resends them).
    pub gaps: u64,
    /// Records applied a second time under another sequence number.
    pub applied_twice: u64,
    /// Applied messages that break the contract.
    pub invalid: u64,
    /// The highest sequence number applied; every one before it is applied too.
    pub last_applied: u64,
    /// The sequence number the stream started at (1, unless adopted).
    pub first_seq: Option<u64>,
    /// The highest sequence number acknowledged (sent, or dropped by the fault switch).
    pub acked: u64,
    /// Ack messages published.
    pub acks_sent: u64,
    /// Ack messages dropped by the fault switch.
    pub acks_dropped: u64,
    /// When the first message was applied (RFC 3339 UTC).
    pub first_applied_at: Option<String>,
    /// When the last one was.
    pub last_applied_at: Option<String>,
    /// Applied messages per second between the first and the last, when both exist.
    pub drain_rate_per_s: Option<f64>,
    /// Applied messages per kind.
    pub kinds: BTreeMap<String, u64>,
}

/// An uplink payload that could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MalformedUplink {
    /// The topic it came on.
    pub topic: String,
    /// Reason code: the envelope's (`malformed`, `wrong_site`, ...), `stream_mismatch`,
    /// `unknown_stream`, `bad_seq`.
    pub reason: String,
    /// The reason in words.
    pub detail: String,
    /// Payload size.
    pub bytes: usize,
    /// The first bytes of the payload, lossily as text.
    pub head: String,
    /// When it arrived.
    pub received_at: String,
}

/// A record applied twice: the bug the judge is there to catch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoubleEffect {
    /// Site code.
    pub site: String,
    /// Stream name.
    pub stream: String,
    /// The record, e.g. `sort_result 41` or `alarm 3 raised`.
    pub record: String,
    /// The sequence number that applied it first.
    pub first_seq: u64,
    /// The sequence number that applied it again.
    pub seq: u64,
}

/// An applied message that breaks the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Site code.
    pub site: String,
    /// Stream name.
    pub stream: String,
    /// Its sequence number.
    pub seq: u64,
    /// Its kind.
    pub kind: String,
    /// What is wrong.
    pub detail: String,
}

/// One applied uplink message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedMessage {
    /// Site code.
    pub site: String,
    /// Stream name.
    pub stream: String,
    /// Sequence number.
    pub seq: u64,
    /// Message id.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// The envelope's `created`.
    pub created: String,
    /// When the platform applied it (RFC 3339 UTC).
    pub applied_at: String,
    /// The body; `null` once [`PlatformConfig::keep_bodies`](super::PlatformConfig) are kept.
    pub body: serde_json::Value,
}

/// Downlink publishing counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownlinkCounters {
    /// Messages handed to the MQTT client (acks and raw payloads included).
    pub published: u64,
    /// Of those, confirmed by the broker (QoS 1 PUBACK). Messages unconfirmed when the
    /// broker loses the session (restart without persistence) are lost with it.
    pub confirmed: u64,
    /// Messages per kind (`raw` for [`Platform::publish_raw`](super::Platform::publish_raw)).
    pub kinds: BTreeMap<String, u64>,
}

/// The ack fault switches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct AckSettings {
    /// No acks go out while set; they resume, cumulatively, when cleared.
    pub paused: bool,
    /// Fraction of acks dropped instead of published (0 to 1).
    pub drop_rate: f64,
}

impl Ledger {
    /// One stream of one site, if it has seen traffic.
    pub fn stream(&self, site: &str, stream: &str) -> Option<&StreamLedger> {
        self.sites.get(site)?.streams.get(stream)
    }

    /// The highest applied sequence number of a stream (0 before the first).
    pub fn last_applied(&self, site: &str, stream: &str) -> u64 {
        self.stream(site, stream).map_or(0, |s| s.last_applied)
    }

    /// One line for logs and the binary's exit.
    pub fn summary_line(&self) -> String {
        let t = &self.totals;
        format!(
            "platform-sim: applied={} resent={} gaps={} applied_twice={} invalid={} \
             malformed_uplink={} downlink_published={} downlink_confirmed={}",
            t.applied,
            t.resent,
            t.gaps,
            t.applied_twice,
            t.invalid,
            self.malformed_uplink,
            self.downlink.published,
            self.downlink.confirmed
        )
    }
}
