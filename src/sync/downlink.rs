//! Applies downlink messages: each one checked, applied in one transaction at most once per
//! message id, and only then acknowledged to the broker (manual acks), so a crash between
//! the two means a redelivery that is recognised, never a message lost.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use customs_edge_protocol::downlink::{Ack, Downlink as Message};
use customs_edge_protocol::envelope::{self, EnvelopeError};
use std::collections::VecDeque;
use std::time::Duration;

use rumqttc::{AsyncClient, Publish};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use super::SyncStats;
use super::session::Incoming;

/// How soon acks the client could not queue are tried again.
const ACK_RETRY: Duration = Duration::from_millis(10);
use crate::store::downlink::{self as applied, Applied};
use crate::store::{Store, StoreError};

/// The downlink task.
pub(crate) struct Downlink {
    pub(crate) client: AsyncClient,
    pub(crate) store: Store,
    pub(crate) site: String,
    pub(crate) limit: usize,
    pub(crate) stats: Arc<SyncStats>,
    pub(crate) acks: mpsc::UnboundedSender<Ack>,
    /// The platform's keys, when signing is on: nothing unsigned is applied.
    pub(crate) keys: Option<Arc<super::signing::LinkKeys>>,
}

impl Downlink {
    pub(crate) async fn run(
        self,
        mut incoming: mpsc::UnboundedReceiver<Incoming>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        // Acks the client could not queue yet. This task never waits on the client: the
        // session may be waiting for this task to free budget, and only its polling makes
        // room in the client's queue.
        let mut unacked: VecDeque<Publish> = VecDeque::new();
        loop {
            while let Some(p) = unacked.front() {
                if self.client.try_ack(p).is_err() {
                    break;
                }
                unacked.pop_front();
            }
            let Incoming { publish, permit } = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(ACK_RETRY), if !unacked.is_empty() => continue,
                p = incoming.recv() => match p {
                    Some(p) => p,
                    None => return Ok(()),
                },
            };
            let handled = self.handle(&publish).await;
            drop(permit);
            match handled {
                // Applied (or dead-lettered) and committed: now the broker may forget it.
                // The ack needs the packet id, not the payload, which goes now.
                Ok(()) => unacked.push_back(Publish {
                    payload: bytes::Bytes::new(),
                    ..publish
                }),
                // Not stored: left unacknowledged so the broker delivers it again.
                Err(e) => {
                    error!(topic = %publish.topic, error = %e, "downlink message not applied; left for redelivery");
                }
            }
        }
    }

    /// Read and apply one message; `Err` only when the store could not take it.
    async fn handle(&self, publish: &Publish) -> anyhow::Result<()> {
        let topic = publish.topic.clone();
        let keys = self.keys.as_deref();
        let opened =
            super::signing::open_downlink(keys, &topic, &publish.payload, self.limit, &self.site);
        let (message_id, read) = match opened {
            Ok(env) => {
                let read = Message::from_envelope(&env).and_then(|m| {
                    let kind_in_topic = topic.rsplit('/').next().unwrap_or_default();
                    if kind_in_topic == m.kind() {
                        Ok(m)
                    } else {
                        Err(EnvelopeError::BadBody(format!(
                            "kind {:?} sent on the topic for {kind_in_topic:?}",
                            m.kind()
                        )))
                    }
                });
                // A signed acknowledgement taken once: replayed, it is dead-lettered.
                let read = match (read, keys) {
                    (Ok(Message::Ack(ack)), Some(k)) => k
                        .take_ack(&env.id, env.seq)
                        .map(|()| Message::Ack(ack))
                        .map_err(EnvelopeError::Unauthentic),
                    (read, _) => read,
                };
                (Some(env.id), read)
            }
            // Refused as a whole (a future schema, another site, too large): the id the
            // envelope carried still names the dead letter whenever it can be read.
            Err(e) => (envelope::peek_id(&publish.payload), Err(e)),
        };
        match read {
            Ok(Message::Ack(ack)) => {
                crate::audit_anchor::on_ack(&self.store, &ack).await;
                let _ = self.acks.send(ack);
                Ok(())
            }
            Ok(message) => {
                let id = message_id.unwrap_or_default();
                let kind = message.kind();
                let message_id = id.clone();
                let outcome = apply_in_parts(&self.store, message_id, message).await?;
                match outcome {
                    Applied::Now { records, refused } => {
                        self.stats.applied.fetch_add(1, Ordering::Relaxed);
                        self.stats
                            .applied_records
                            .fetch_add(records as u64, Ordering::Relaxed);
                        if refused > 0 {
                            warn!(id = %id, kind, records, refused, "downlink message applied; some items refused (kept as rejected input)");
                        } else {
                            debug!(id = %id, kind, records, "downlink message applied");
                        }
                    }
                    Applied::Before => {
                        self.stats.redelivered.fetch_add(1, Ordering::Relaxed);
                        info!(id = %id, kind, "downlink message delivered again; applied before, not applied twice");
                    }
                }
                Ok(())
            }
            Err(reason) => {
                self.stats.dead_letters.fetch_add(1, Ordering::Relaxed);
                warn!(topic = %topic, reason = reason.code(), detail = %reason, bytes = publish.payload.len(),
                    "downlink message dead-lettered");
                let payload = publish.payload.clone();
                self.store
                    .writer
                    .write(move |tx| {
                        applied::dead_letter(tx, &topic, &reason, message_id.as_deref(), &payload)
                    })
                    .await?;
                Ok(())
            }
        }
    }
}

/// Apply `message` in its [`applied::parts`]: queued together, and only the last awaited
/// (the writer commits one queue's writes in order, so the last one's commit covers them
/// all, and it fails unless every part before it committed). The outcome is the whole
/// message's.
async fn apply_in_parts(
    store: &Store,
    message_id: String,
    message: Message,
) -> Result<Applied, StoreError> {
    let mut parts = applied::parts(message);
    let last = parts.pop().expect("a message has at least one part");
    let early = parts.len();
    let mut queued = Vec::with_capacity(early);
    for (index, part) in parts.into_iter().enumerate() {
        let id = message_id.clone();
        queued.push(
            store
                .writer
                .submit(move |tx| applied::apply_early_part(tx, &id, index, &part))
                .await?,
        );
    }
    let mut outcome = store
        .writer
        .write(move |tx| applied::apply_last_part(tx, &message_id, early, &last))
        .await?;
    for part in queued {
        if let (Applied::Now { records: n, .. }, Applied::Now { records, .. }) =
            (part.committed().await?, &mut outcome)
        {
            *records += n;
        }
    }
    Ok(outcome)
}
