//! Sends the outbox: each stream in sequence order, a window of messages ahead of the
//! platform's acknowledgements, priority streams before bulk ones.
//!
//! Delivery is go-back-N: the platform applies only the next sequence number of a stream
//! and acknowledges cumulatively. After a reconnect, or when the oldest unacknowledged
//! message of a stream was sent `ack_timeout_s` ago, the stream is sent again from that
//! message. The timeout runs from when that message was sent, not from the stream's last
//! acknowledgement: a quiet stream whose last ack is old sends a new message once. A row
//! leaves the outbox only when acknowledged, so a restart simply starts from what the
//! store holds.
//!
//! With signing on, the messages of one read leave in signed batches
//! (`customs_edge_protocol::signed`): up to [`SIGNED_BATCH`] envelopes or
//! [`SIGNED_BATCH_BYTES`] under one signature, so a backlog costs one signature per batch.
//! A batch is still go-back-N: the platform applies its envelopes in order, each by its
//! own sequence number.
//!
//! A message leaves as soon as it is committed: the store's writer says when a batch that
//! wrote to the outbox has committed, and a (re)connection starts a round at once, priority
//! streams first.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use customs_edge_protocol::SCHEMA_VERSION;
use customs_edge_protocol::downlink::Ack;
use customs_edge_protocol::envelope::message_id;
use customs_edge_protocol::topics::Topics;
use customs_edge_protocol::uplink::Stream;
use rumqttc::{AsyncClient, QoS};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{LinkEvent, SyncStats};
use crate::config::PlatformConfig;
use crate::store::Store;
use crate::store::outbox::{self, Pending};
use acks::ack_in_parts;

/// Rows read from the store at a time per stream.
mod acks;

const READ_BATCH: usize = 500;
/// Most envelopes sealed under one signature.
const SIGNED_BATCH: usize = 100;
/// Most envelope bytes sealed under one signature (a single larger envelope goes alone).
const SIGNED_BATCH_BYTES: usize = 256 * 1024;
/// How often an idle publisher looks at its streams without being told of a commit: for
/// ack timeouts, and for rows written by another process.
const IDLE_POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone, Default)]
struct Cursor {
    /// Highest seq the platform acknowledged.
    acked: u64,
    /// Highest seq sent since the last rewind.
    sent: u64,
    /// Highest seq ever sent by this process: anything at or below it sent again is a resend.
    high_water: u64,
    /// When each message sent since the last rewind and not yet acknowledged was sent, in
    /// seq order: the front is the oldest unacknowledged one, whose age is what times out.
    sent_at: VecDeque<(u64, Instant)>,
}

impl Cursor {
    /// How long ago the oldest unacknowledged message was sent, if one is out.
    fn oldest_unacked_age(&self) -> Option<Duration> {
        self.sent_at.front().map(|(_, at)| at.elapsed())
    }
}

/// The publisher task.
pub(crate) struct Publisher {
    client: AsyncClient,
    store: Store,
    topics: Topics,
    site: String,
    window: u64,
    ack_timeout: Duration,
    stats: Arc<SyncStats>,
    link: watch::Receiver<LinkEvent>,
    acks: mpsc::UnboundedReceiver<Ack>,
    /// Changes when the store commits a batch that wrote to the outbox.
    commits: watch::Receiver<u64>,
    cursors: BTreeMap<Stream, Cursor>,
    /// Seals every payload with the site's key when signing is on.
    keys: Option<Arc<super::signing::LinkKeys>>,
}

impl Publisher {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        client: AsyncClient,
        store: Store,
        topics: Topics,
        site: String,
        platform: &PlatformConfig,
        stats: Arc<SyncStats>,
        link: watch::Receiver<LinkEvent>,
        acks: mpsc::UnboundedReceiver<Ack>,
    ) -> Self {
        let commits = store.writer.outbox_commits();
        Self {
            client,
            commits,
            store,
            topics,
            site,
            window: u64::from(platform.window),
            ack_timeout: Duration::from_secs(platform.ack_timeout_s),
            stats,
            link,
            acks,
            cursors: BTreeMap::new(),
            keys: None,
        }
    }

    /// Sign every uplink message with these keys.
    pub(crate) fn with_keys(mut self, keys: Option<Arc<super::signing::LinkKeys>>) -> Self {
        self.keys = keys;
        self
    }

    pub(crate) async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        for state in self.store.reader.read(outbox::streams).await? {
            if let Some(stream) = Stream::parse(&state.stream) {
                self.cursors.insert(
                    stream,
                    Cursor {
                        acked: state.acked_seq,
                        sent: state.acked_seq,
                        high_water: state.acked_seq,
                        sent_at: VecDeque::new(),
                    },
                );
            }
        }
        let mut up = false;
        loop {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            while let Ok(ack) = self.acks.try_recv() {
                self.on_ack(&ack).await;
            }
            if self.link.has_changed().unwrap_or(false) {
                up = self.on_link();
            }
            // Seen before reading: a commit from now on wakes the wait below.
            self.commits.borrow_and_update();
            let sent = if up { self.send_round().await? } else { 0 };
            if sent == 0 {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    changed = self.link.changed() => {
                        if changed.is_err() {
                            return Ok(());
                        }
                        up = self.on_link();
                    }
                    Some(ack) = self.acks.recv() => self.on_ack(&ack).await,
                    _ = self.commits.changed() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
        }
    }

    /// One round: the priority streams, then the bulk ones only if the priority streams had
    /// nothing to send. Returns the number of messages published.
    async fn send_round(&mut self) -> anyhow::Result<usize> {
        self.check_ack_timeouts();
        let mut sent = 0;
        for stream in Stream::ALL.into_iter().filter(|s| !s.is_bulk()) {
            sent += self.send_some(stream).await?;
        }
        if sent == 0 {
            for stream in Stream::ALL.into_iter().filter(|s| s.is_bulk()) {
                sent += self.send_some(stream).await?;
            }
        }
        Ok(sent)
    }

    async fn send_some(&mut self, stream: Stream) -> anyhow::Result<usize> {
        let window = self.window;
        let cursor = self.cursors.entry(stream).or_default();
        let room = window.saturating_sub(cursor.sent - cursor.acked.min(cursor.sent));
        if room == 0 {
            return Ok(0);
        }
        let limit = READ_BATCH.min(usize::try_from(room).unwrap_or(usize::MAX));
        let after = cursor.sent;
        let rows = self
            .store
            .reader
            .read(move |c| outbox::read_after(c, stream.as_str(), after, limit))
            .await?;
        let topic = self.topics.up(stream.as_str());
        let mut envelopes: Vec<String> = rows
            .iter()
            .map(|row| envelope(&self.site, stream, row))
            .collect();
        let mut start = 0;
        while start < rows.len() {
            let (end, payload) = match &self.keys {
                Some(keys) => {
                    let end = batch_end(&envelopes, start);
                    let msgs: Vec<&[u8]> =
                        envelopes[start..end].iter().map(String::as_bytes).collect();
                    (end, keys.seal_batch(&topic, &msgs))
                }
                None => (
                    start + 1,
                    std::mem::take(&mut envelopes[start]).into_bytes(),
                ),
            };
            self.client
                .publish(topic.as_str(), QoS::AtLeastOnce, false, payload)
                .await?;
            let cursor = self.cursors.entry(stream).or_default();
            for row in &rows[start..end] {
                self.stats.published.fetch_add(1, Ordering::Relaxed);
                if row.seq <= cursor.high_water {
                    self.stats.resent.fetch_add(1, Ordering::Relaxed);
                }
                cursor.sent = row.seq;
                cursor.high_water = cursor.high_water.max(row.seq);
                cursor.sent_at.push_back((row.seq, Instant::now()));
            }
            start = end;
        }
        Ok(rows.len())
    }

    async fn on_ack(&mut self, ack: &Ack) {
        self.stats.acks.fetch_add(1, Ordering::Relaxed);
        let Some(stream) = Stream::parse(&ack.stream) else {
            warn!(stream = %ack.stream, seq = ack.seq, "ack for a stream this site does not have");
            return;
        };
        let cursor = self.cursors.entry(stream).or_default();
        if ack.seq <= cursor.acked {
            return;
        }
        // Cut only an ack of what this session has sent: an ack beyond it (left from before
        // a restart, or an error of the platform's) is one write, which the outbox
        // refuses whole when it is past anything written.
        let seq = ack.seq;
        let from = if seq <= cursor.high_water {
            cursor.acked
        } else {
            seq
        };
        match ack_in_parts(&self.store, &ack.stream, from, seq).await {
            Ok(n) => {
                debug!(stream = %ack.stream, seq, rows = n, "platform acknowledged");
                let cursor = self.cursors.entry(stream).or_default();
                cursor.acked = seq;
                cursor.sent = cursor.sent.max(seq);
                cursor.high_water = cursor.high_water.max(seq);
                while cursor.sent_at.front().is_some_and(|(s, _)| *s <= seq) {
                    cursor.sent_at.pop_front();
                }
            }
            Err(e) => warn!(stream = %ack.stream, seq, error = %e, "platform ack not applied"),
        }
    }

    /// Take the link's new state; on (re)connection everything unacknowledged goes again.
    fn on_link(&mut self) -> bool {
        let up = *self.link.borrow_and_update() == LinkEvent::Up;
        if up {
            self.rewind_all("connected");
        }
        up
    }

    fn rewind_all(&mut self, why: &str) {
        for (stream, cursor) in &mut self.cursors {
            if cursor.sent > cursor.acked {
                info!(
                    stream = stream.as_str(),
                    from = cursor.acked + 1,
                    to = cursor.sent,
                    why,
                    "sending the unacknowledged messages again"
                );
            }
            cursor.sent = cursor.acked;
            cursor.sent_at.clear();
        }
    }

    fn check_ack_timeouts(&mut self) {
        let timeout = self.ack_timeout;
        for (stream, cursor) in &mut self.cursors {
            if cursor.sent > cursor.acked
                && let Some(age) = cursor.oldest_unacked_age()
                && age >= timeout
            {
                warn!(
                    stream = stream.as_str(),
                    acked = cursor.acked,
                    sent = cursor.sent,
                    ?timeout,
                    ?age,
                    "no acknowledgement in time; sending the stream again from its first unacknowledged message"
                );
                cursor.sent = cursor.acked;
                cursor.sent_at.clear();
            }
        }
    }
}

/// Where the signed batch that starts at `start` ends (exclusive): at most
/// [`SIGNED_BATCH`] envelopes and [`SIGNED_BATCH_BYTES`], and never empty.
fn batch_end(envelopes: &[String], start: usize) -> usize {
    let mut bytes = 0;
    let mut end = start;
    for env in envelopes.iter().skip(start).take(SIGNED_BATCH) {
        bytes += env.len();
        if end > start && bytes > SIGNED_BATCH_BYTES {
            break;
        }
        end += 1;
    }
    end
}

/// The envelope around a stored body, as sent.
fn envelope(site: &str, stream: Stream, row: &Pending) -> String {
    let name = stream.as_str();
    let id = serde_json::to_string(&message_id(site, name, row.seq)).unwrap_or_default();
    let site = serde_json::to_string(site).unwrap_or_default();
    let kind = serde_json::to_string(&row.kind).unwrap_or_default();
    let created = serde_json::to_string(&row.created_at).unwrap_or_default();
    format!(
        r#"{{"schema":{SCHEMA_VERSION},"id":{id},"stream":"{name}","seq":{seq},"site":{site},"created":{created},"kind":{kind},"body":{body}}}"#,
        seq = row.seq,
        body = row.body
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use customs_edge_protocol::envelope::open;

    #[test]
    fn the_envelope_opens_as_the_protocol_defines_it() {
        let row = Pending {
            seq: 7,
            kind: "alarm".into(),
            body: r#"{"alarm_id":1}"#.into(),
            created_at: "2026-11-27T10:00:00.000Z".into(),
        };
        let text = envelope("3511\"W", Stream::Health, &row);
        let e = open::<serde_json::Value>(text.as_bytes(), 1 << 20, "3511\"W").unwrap();
        assert_eq!(e.id, "3511\"W:health:7");
        assert_eq!(e.stream, "health");
        assert_eq!(e.seq, 7);
        assert_eq!(e.kind, "alarm");
        assert_eq!(e.body["alarm_id"], 1);
    }

    #[test]
    fn a_signed_batch_is_bounded_by_count_and_bytes_and_never_empty() {
        let small = vec!["x".repeat(100); 250];
        assert_eq!(batch_end(&small, 0), SIGNED_BATCH);
        assert_eq!(batch_end(&small, 200), 250);
        let big = vec!["y".repeat(SIGNED_BATCH_BYTES / 3 + 1); 5];
        assert_eq!(batch_end(&big, 0), 2);
        let huge = vec!["z".repeat(SIGNED_BATCH_BYTES * 2); 2];
        assert_eq!(batch_end(&huge, 0), 1);
        assert_eq!(batch_end(&huge, 1), 2);
    }
}
