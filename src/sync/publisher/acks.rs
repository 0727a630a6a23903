//! The platform's acks applied to the outbox in parts.

use crate::store::outbox;
use crate::store::{Store, StoreError};

/// Most outbox rows one write deletes for an ack: about a millisecond of the store writer.
/// The platform acknowledges what it applied every so often, thousands of messages at once
/// when the backlog drains.
const ACK_ROWS_PER_PART: u64 = 256;

/// Most writes an ack is cut into (a larger ack's parts are larger).
const ACK_MOST_PARTS: u64 = 64;

/// Apply the ack of `stream` up to `seq` (sent, and acknowledged up to `acked` before) as
/// writes of a few hundred rows each, queued together and committed in order: one batch,
/// unless a line's or a gate's write comes in between, which then waits for one part, not
/// for the whole ack. Each part is an ack up to a lower seq, which commits on its own. The
/// rows deleted in all.
pub(super) async fn ack_in_parts(
    store: &Store,
    stream: &str,
    acked: u64,
    seq: u64,
) -> Result<usize, StoreError> {
    let step = ACK_ROWS_PER_PART.max(seq.saturating_sub(acked).div_ceil(ACK_MOST_PARTS));
    let mut early = Vec::new();
    let mut upto = acked.saturating_add(step);
    while upto < seq {
        let name = stream.to_owned();
        early.push(
            store
                .writer
                .submit(move |tx| outbox::ack(tx, &name, upto))
                .await?,
        );
        upto = upto.saturating_add(step);
    }
    let name = stream.to_owned();
    let mut rows = store
        .writer
        .write(move |tx| outbox::ack(tx, &name, seq))
        .await?;
    for part in early {
        rows += part.committed().await?;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use customs_edge_protocol::uplink::Stream;

    use super::*;

    /// A store whose telemetry stream holds `n` messages (seq 1..=n).
    async fn outbox_of(n: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .writer
            .write(move |tx| {
                outbox::configure(tx, true, 1 << 30)?;
                for i in 0..n {
                    outbox::enqueue(
                        tx,
                        Stream::Telemetry,
                        "test",
                        &serde_json::json!({ "i": i }),
                    )?;
                }
                Ok(())
            })
            .await
            .unwrap();
        (dir, store)
    }

    async fn telemetry(store: &Store) -> outbox::StreamState {
        store
            .reader
            .read(outbox::streams)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.stream == "telemetry")
            .unwrap()
    }

    #[tokio::test]
    async fn an_ack_of_thousands_is_applied_in_parts_and_deletes_each_row_once() {
        let (_dir, store) = outbox_of(3000).await;
        assert_eq!(
            ack_in_parts(&store, "telemetry", 0, 2500).await.unwrap(),
            2500
        );
        let state = telemetry(&store).await;
        assert_eq!((state.acked_seq, state.pending_rows), (2500, 500));
        // An ack of what is acknowledged already deletes nothing more.
        assert_eq!(ack_in_parts(&store, "telemetry", 0, 2500).await.unwrap(), 0);
        assert_eq!(
            ack_in_parts(&store, "telemetry", 2500, 3000).await.unwrap(),
            500
        );
        assert_eq!(telemetry(&store).await.pending_rows, 0);
    }

    #[tokio::test]
    async fn an_ack_past_the_last_message_is_refused_whole() {
        let (_dir, store) = outbox_of(100).await;
        // As on_ack passes it when the ack is beyond what was sent: one part.
        let refused = ack_in_parts(&store, "telemetry", 5000, 5000).await;
        assert!(
            refused
                .unwrap_err()
                .to_string()
                .contains("beyond the last message written")
        );
        let state = telemetry(&store).await;
        assert_eq!(
            (state.acked_seq, state.pending_rows),
            (0, 100),
            "nothing deleted"
        );
    }
}
