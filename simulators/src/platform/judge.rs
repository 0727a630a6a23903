//! The judge of a site's uplink, as pure state: it applies each (site, stream) exactly
//! once and in order, counts resends and gaps, catches a record applied twice, and says
//! which streams are due an ack. No I/O: the link feeds it, the ack task asks it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use customs_edge_protocol::envelope::{self, Envelope};
use customs_edge_protocol::uplink::Stream;
use serde_json::Value;

use super::config::MAX_PACKET_BYTES;
use super::ledger::{
    AppliedMessage, DoubleEffect, Ledger, MalformedUplink, Problem, StreamLedger, Totals,
};
use super::record::{self, RecordKey};

/// Malformed payloads kept for diagnosis.
const MALFORMED_SAMPLES: usize = 20;
/// Double effects and contract problems kept for diagnosis.
const DIAGNOSES: usize = 100;
/// Payload bytes quoted in a malformed sample.
const HEAD_BYTES: usize = 200;

/// What became of one uplink payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The next in its stream: applied.
    Applied,
    /// At or below the last applied: ignored.
    Resent,
    /// Ahead of a missing one: ignored.
    Gap,
    /// Not an envelope of a known stream of this site: ignored.
    Malformed,
}

/// The uplink judge of every site.
#[derive(Debug)]
pub(crate) struct Judge {
    /// Bodies still to keep before only counting.
    bodies_left: usize,
    /// See [`PlatformConfig::adopt_first_seq`](super::PlatformConfig::adopt_first_seq).
    adopt_first_seq: bool,
    sites: BTreeMap<String, SiteState>,
    totals: Totals,
    malformed: u64,
    malformed_samples: Vec<MalformedUplink>,
    doubles: Vec<DoubleEffect>,
    problems: Vec<Problem>,
}

#[derive(Debug, Default)]
struct SiteState {
    presence: Option<String>,
    presence_at: Option<DateTime<Utc>>,
    presence_changes: u64,
    streams: BTreeMap<String, StreamState>,
    /// Every record applied, with the sequence number that applied it.
    records: HashMap<RecordKey, u64>,
}

#[derive(Debug, Default)]
struct StreamState {
    /// Counts and seqs; its time fields are filled from the two below on a snapshot.
    counts: StreamLedger,
    first_at: Option<DateTime<Utc>>,
    last_at: Option<DateTime<Utc>>,
    /// Applied messages, in order (bodies of the first ones only).
    log: Vec<AppliedMessage>,
    /// A resend or a gap since the last ack: the site has not seen it, say it again.
    reack: bool,
}

/// An ack the ack task should send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AckDue {
    pub(crate) site: String,
    pub(crate) stream: String,
    pub(crate) seq: u64,
}

fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Judge {
    /// A judge of `sites`.
    pub(crate) fn new(sites: &[String], keep_bodies: usize, adopt_first_seq: bool) -> Self {
        Self {
            bodies_left: keep_bodies,
            adopt_first_seq,
            sites: sites
                .iter()
                .map(|s| (s.clone(), SiteState::default()))
                .collect(),
            totals: Totals::default(),
            malformed: 0,
            malformed_samples: Vec::new(),
            doubles: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Count a signed uplink payload that carried several envelopes.
    pub(crate) fn batch(&mut self) {
        self.totals.batches += 1;
    }

    pub(crate) fn malformed(
        &mut self,
        topic: &str,
        payload: &[u8],
        (reason, detail): (&str, String),
        now: DateTime<Utc>,
    ) {
        self.malformed += 1;
        if self.malformed_samples.len() < MALFORMED_SAMPLES {
            let head = &payload[..payload.len().min(HEAD_BYTES)];
            self.malformed_samples.push(MalformedUplink {
                topic: topic.to_owned(),
                reason: reason.to_owned(),
                detail,
                bytes: payload.len(),
                head: String::from_utf8_lossy(head).into_owned(),
                received_at: stamp(now),
            });
        }
    }

    /// Judge one payload that came on `topic`, i.e. on `<prefix>/<site>/up/<topic_stream>`.
    pub(crate) fn receive(
        &mut self,
        topic: &str,
        site: &str,
        topic_stream: &str,
        payload: &[u8],
        now: DateTime<Utc>,
    ) -> Outcome {
        if !self.sites.contains_key(site) {
            let why = format!("site {site:?} is not served");
            self.malformed(topic, payload, ("unknown_site", why), now);
            return Outcome::Malformed;
        }
        let envelope = match envelope::open(payload, MAX_PACKET_BYTES, site) {
            Ok(e) => e,
            Err(e) => {
                self.malformed(topic, payload, (e.code(), e.to_string()), now);
                return Outcome::Malformed;
            }
        };
        let (reason, detail) = if envelope.stream != topic_stream {
            let d = format!(
                "topic says stream {topic_stream:?}, envelope {:?}",
                envelope.stream
            );
            ("stream_mismatch", d)
        } else if Stream::parse(&envelope.stream).is_none() {
            (
                "unknown_stream",
                format!("no uplink stream {:?}", envelope.stream),
            )
        } else if envelope.seq == 0 {
            ("bad_seq", "sequence numbers start at 1".to_owned())
        } else {
            return self.sequence(site, envelope, now);
        };
        self.malformed(topic, payload, (reason, detail), now);
        Outcome::Malformed
    }

    /// Apply the envelope if it is the next of its stream.
    fn sequence(&mut self, site: &str, envelope: Envelope<Value>, now: DateTime<Utc>) -> Outcome {
        let adopt = self.adopt_first_seq;
        let state = self.sites.get_mut(site).expect("checked by receive");
        let stream = state.streams.entry(envelope.stream.clone()).or_default();
        let counts = &mut stream.counts;
        let expected = match counts.first_seq {
            None if adopt => envelope.seq,
            None => 1,
            Some(_) => counts.last_applied + 1,
        };
        if envelope.seq < expected {
            counts.resent += 1;
            self.totals.resent += 1;
            stream.reack = true;
            return Outcome::Resent;
        }
        if envelope.seq > expected {
            counts.gaps += 1;
            self.totals.gaps += 1;
            stream.reack = true;
            return Outcome::Gap;
        }
        self.apply(site, envelope, now);
        Outcome::Applied
    }

    fn apply(&mut self, site: &str, envelope: Envelope<Value>, now: DateTime<Utc>) {
        let state = self.sites.get_mut(site).expect("checked by receive");
        let stream_kind = Stream::parse(&envelope.stream).expect("checked by receive");
        let checked = record::check(stream_kind, &envelope.kind, &envelope.body);
        let mut problems = Vec::new();
        if let Some(p) = checked.problem {
            problems.push(p);
        }
        let id = envelope::message_id(site, &envelope.stream, envelope.seq);
        if envelope.id != id {
            problems.push(format!("id {:?} is not {id:?}", envelope.id));
        }
        let stream = state
            .streams
            .get_mut(&envelope.stream)
            .expect("made by sequence");
        let counts = &mut stream.counts;
        counts.first_seq.get_or_insert(envelope.seq);
        counts.last_applied = envelope.seq;
        counts.applied += 1;
        self.totals.applied += 1;
        *counts.kinds.entry(envelope.kind.clone()).or_default() += 1;
        stream.first_at.get_or_insert(now);
        stream.last_at = Some(now);
        if let Some(key) = checked.key
            && let Some(&first_seq) = state.records.get(&key)
        {
            counts.applied_twice += 1;
            self.totals.applied_twice += 1;
            if self.doubles.len() < DIAGNOSES {
                self.doubles.push(DoubleEffect {
                    site: site.to_owned(),
                    stream: envelope.stream.clone(),
                    record: key.to_string(),
                    first_seq,
                    seq: envelope.seq,
                });
            }
        } else if let Some(key) = checked.key {
            state.records.insert(key, envelope.seq);
        }
        if !problems.is_empty() {
            counts.invalid += 1;
            self.totals.invalid += 1;
            if self.problems.len() < DIAGNOSES {
                self.problems.push(Problem {
                    site: site.to_owned(),
                    stream: envelope.stream.clone(),
                    seq: envelope.seq,
                    kind: envelope.kind.clone(),
                    detail: problems.join("; "),
                });
            }
        }
        if self.bodies_left > 0 {
            self.bodies_left -= 1;
            stream.log.push(AppliedMessage {
                site: site.to_owned(),
                stream: envelope.stream,
                seq: envelope.seq,
                id: envelope.id,
                kind: envelope.kind,
                created: envelope.created,
                applied_at: stamp(now),
                body: envelope.body,
            });
        }
    }

    /// The site's retained presence message: `online`, `offline`, or empty when cleared.
    pub(crate) fn presence(&mut self, site: &str, payload: &[u8], now: DateTime<Utc>) {
        let Some(state) = self.sites.get_mut(site) else {
            return;
        };
        state.presence = presence_word(payload);
        state.presence_at = Some(now);
        state.presence_changes += 1;
    }

    /// The acks due now, each stream at most once; they count as sent or dropped only
    /// when the ack task says so with [`Judge::acked`].
    pub(crate) fn acks_due(&mut self) -> Vec<AckDue> {
        let mut due = Vec::new();
        for (site, state) in &mut self.sites {
            for (name, stream) in &mut state.streams {
                let c = &stream.counts;
                if c.last_applied > 0 && (c.last_applied > c.acked || stream.reack) {
                    stream.reack = false;
                    due.push(AckDue {
                        site: site.clone(),
                        stream: name.clone(),
                        seq: c.last_applied,
                    });
                }
            }
        }
        due
    }

    /// The ack for `due` was published (`sent`) or dropped on purpose (`!sent`).
    pub(crate) fn acked(&mut self, due: &AckDue, sent: bool) {
        let Some(stream) = self
            .sites
            .get_mut(&due.site)
            .and_then(|s| s.streams.get_mut(&due.stream))
        else {
            return;
        };
        let c = &mut stream.counts;
        c.acked = c.acked.max(due.seq);
        if sent {
            c.acks_sent += 1;
        } else {
            c.acks_dropped += 1;
        }
    }

    /// The ack for `due` could not be handed to the client: try again next time.
    pub(crate) fn ack_failed(&mut self, due: &AckDue) {
        if let Some(stream) = self
            .sites
            .get_mut(&due.site)
            .and_then(|s| s.streams.get_mut(&due.stream))
        {
            stream.reack = true;
        }
    }

    /// Say every stream's position again (after a reconnect: the last acks may be lost).
    pub(crate) fn reack_all(&mut self) {
        for state in self.sites.values_mut() {
            for stream in state.streams.values_mut() {
                stream.reack = true;
            }
        }
    }

    /// Fill the uplink part of a snapshot.
    pub(crate) fn fill(&self, ledger: &mut Ledger) {
        ledger.totals = self.totals;
        ledger.malformed_uplink = self.malformed;
        ledger.malformed_samples.clone_from(&self.malformed_samples);
        ledger.doubles.clone_from(&self.doubles);
        ledger.problems.clone_from(&self.problems);
        for (name, state) in &self.sites {
            let site = ledger.sites.entry(name.clone()).or_default();
            site.presence.clone_from(&state.presence);
            site.presence_at = state.presence_at.map(stamp);
            site.presence_changes = state.presence_changes;
            for (stream_name, stream) in &state.streams {
                let mut counts = stream.counts.clone();
                counts.first_applied_at = stream.first_at.map(stamp);
                counts.last_applied_at = stream.last_at.map(stamp);
                counts.drain_rate_per_s = match (stream.first_at, stream.last_at) {
                    (Some(first), Some(last)) if last > first => {
                        let secs = (last - first).as_seconds_f64();
                        Some((counts.applied - 1) as f64 / secs)
                    }
                    _ => None,
                };
                site.streams.insert(stream_name.clone(), counts);
            }
        }
    }

    /// The applied messages of a stream kept so far with a sequence number above `after`,
    /// at most `limit`.
    pub(crate) fn applied(
        &self,
        site: &str,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Vec<AppliedMessage> {
        let Some(log) = self
            .sites
            .get(site)
            .and_then(|s| s.streams.get(stream))
            .map(|s| &s.log)
        else {
            return Vec::new();
        };
        let start = log.partition_point(|m| m.seq <= after);
        log[start..].iter().take(limit).cloned().collect()
    }
}

/// `online`/`offline` from a presence payload: plain text, a JSON string, or a JSON
/// object with a `state` (or `status`) field; `None` for an empty (cleared) payload.
fn presence_word(payload: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(payload);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let word = match serde_json::from_str::<Value>(text) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(o)) => o
            .get("state")
            .or_else(|| o.get("status"))
            .and_then(Value::as_str)
            .map_or_else(|| text.to_owned(), str::to_owned),
        _ => text.to_owned(),
    };
    Some(word.chars().take(64).collect())
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
