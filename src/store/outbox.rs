//! The outbox: uplink messages for the central platform, written in the same transaction
//! as the record they describe, each stream numbered from 1 without gaps.
//!
//! A row stays until the platform acknowledges its stream up to its sequence number. The
//! quota counts the bodies waiting: above [`WARN_FRACTION`] of it an alarm is raised; above
//! [`BULK_STOP_FRACTION`] the bulk streams (telemetry, statistics) stop growing — each
//! message not written is counted in `suppressed` and the alarm says so — while the
//! priority streams are always written: a decision is never dropped for want of space.

use customs_edge_protocol::uplink::Stream;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{StoreError, alarms};

/// Fraction of the quota at which the `outbox_filling` alarm is raised.
pub const WARN_FRACTION: f64 = 0.5;
/// Fraction of the quota above which bulk streams are not written.
pub const BULK_STOP_FRACTION: f64 = 0.9;
/// The alarm source for the outbox.
pub const ALARM_SOURCE: &str = "platform:outbox";

/// Turn the outbox on (a platform is configured) or off, and set its quota.
pub fn configure(tx: &Transaction<'_>, enabled: bool, quota_bytes: u64) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE outbox_settings SET enabled = ?1, quota_bytes = ?2 WHERE id = 1",
        params![enabled, quota_bytes as i64],
    )?;
    Ok(())
}

thread_local! {
    /// Set when a message is written in the writer thread's current batch: after the
    /// batch commits, the writer tells the publisher ([`super::Writer::outbox_commits`]),
    /// so a message goes out as soon as it is committed instead of at the next poll.
    static ENQUEUED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a message was written on this thread since the last call (and clear that).
pub(in crate::store) fn take_enqueued() -> bool {
    ENQUEUED.with(|e| e.replace(false))
}

/// Whether a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enqueued {
    /// Written with this sequence number.
    Seq(u64),
    /// No platform is configured: nothing to write.
    Disabled,
    /// A bulk message not written because the outbox is over its quota (counted).
    Suppressed,
}

/// Write an uplink message of `kind` on `stream` with `body`, in the caller's transaction.
pub fn enqueue<B: Serialize>(
    tx: &Transaction<'_>,
    stream: Stream,
    kind: &str,
    body: &B,
) -> Result<Enqueued, StoreError> {
    let (enabled, quota): (bool, i64) = tx
        .prepare_cached("SELECT enabled, quota_bytes FROM outbox_settings WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    if !enabled {
        return Ok(Enqueued::Disabled);
    }
    let body = serde_json::to_string(body)
        .map_err(|e| StoreError::Invalid(format!("outbox body of {kind}: {e}")))?;
    let name = stream.as_str();
    let pending_before = pending_bytes(tx)?;
    if stream.is_bulk() && pending_before as f64 > quota as f64 * BULK_STOP_FRACTION {
        tx.prepare_cached(
            "INSERT INTO outbox_streams (stream, suppressed) VALUES (?1, 1)
             ON CONFLICT (stream) DO UPDATE SET suppressed = suppressed + 1",
        )?
        .execute([name])?;
        return Ok(Enqueued::Suppressed);
    }
    let seq: i64 = tx
        .prepare_cached(
            "INSERT INTO outbox_streams (stream, next_seq, pending_rows, pending_bytes) VALUES (?1, 2, 1, ?2)
             ON CONFLICT (stream) DO UPDATE SET next_seq = next_seq + 1,
                pending_rows = pending_rows + 1, pending_bytes = pending_bytes + excluded.pending_bytes
             RETURNING next_seq - 1",
        )?
        .query_row(params![name, body.len() as i64], |r| r.get(0))?;
    tx.prepare_cached(
        "INSERT INTO outbox (stream, seq, kind, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![name, seq, kind, body, super::now()])?;
    ENQUEUED.with(|e| e.set(true));
    let warn_at = quota as f64 * WARN_FRACTION;
    let after = pending_before + body.len() as i64;
    if pending_before as f64 <= warn_at && after as f64 > warn_at {
        let detail = format!(
            "outbox holds {} MiB of unacknowledged messages, over {:.0} % of its {} MiB quota; \
             telemetry and statistics stop at {:.0} %",
            after >> 20,
            WARN_FRACTION * 100.0,
            quota >> 20,
            BULK_STOP_FRACTION * 100.0
        );
        alarms::raise(tx, ALARM_SOURCE, "outbox_filling", &detail, None)?;
    }
    Ok(Enqueued::Seq(seq as u64))
}

fn pending_bytes(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT coalesce(sum(pending_bytes), 0) FROM outbox_streams")?
        .query_row([], |r| r.get(0))?)
}

/// The platform has applied `stream` up to `seq`: drop those rows. Returns how many left;
/// an ack at or below the one held already changes nothing.
pub fn ack(tx: &Transaction<'_>, stream: &str, seq: u64) -> Result<usize, StoreError> {
    let seq = seq as i64;
    let held: Option<(i64, i64)> = tx
        .prepare_cached("SELECT acked_seq, next_seq FROM outbox_streams WHERE stream = ?1")?
        .query_row([stream], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((acked, next)) = held else {
        return Err(StoreError::Invalid(format!(
            "ack for stream {stream:?}, which this site never sent"
        )));
    };
    if seq <= acked {
        return Ok(0);
    }
    if seq >= next {
        return Err(StoreError::Invalid(format!(
            "ack for {stream}:{seq}, beyond the last message written ({})",
            next - 1
        )));
    }
    let (rows, bytes): (i64, i64) = tx
        .prepare_cached(
            "SELECT count(*), coalesce(sum(length(CAST(body AS BLOB))), 0) FROM outbox
             WHERE stream = ?1 AND seq > ?2 AND seq <= ?3",
        )?
        .query_row(params![stream, acked, seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
    tx.prepare_cached("DELETE FROM outbox WHERE stream = ?1 AND seq > ?2 AND seq <= ?3")?
        .execute(params![stream, acked, seq])?;
    tx.prepare_cached(
        "UPDATE outbox_streams SET acked_seq = ?2, acked_at = ?3,
            pending_rows = pending_rows - ?4, pending_bytes = pending_bytes - ?5
         WHERE stream = ?1",
    )?
    .execute(params![stream, seq, super::now(), rows, bytes])?;
    let (quota,): (i64,) = tx
        .prepare_cached("SELECT quota_bytes FROM outbox_settings WHERE id = 1")?
        .query_row([], |r| Ok((r.get(0)?,)))?;
    if (pending_bytes(tx)? as f64) < quota as f64 * WARN_FRACTION * 0.8 {
        alarms::clear(tx, ALARM_SOURCE, "outbox_filling")?;
    }
    Ok(rows as usize)
}

/// One message read back for sending.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Sequence number in its stream.
    pub seq: u64,
    /// Message kind.
    pub kind: String,
    /// Body JSON.
    pub body: String,
    /// When the record was written.
    pub created_at: String,
}

/// Messages of `stream` after `after`, in order, at most `limit`.
pub fn read_after(
    conn: &Connection,
    stream: &str,
    after: u64,
    limit: usize,
) -> Result<Vec<Pending>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, kind, body, created_at FROM outbox WHERE stream = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![stream, after as i64, limit as i64], |r| {
        Ok(Pending {
            seq: r.get::<_, i64>(0)? as u64,
            kind: r.get(1)?,
            body: r.get(2)?,
            created_at: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The state of one stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StreamState {
    /// Stream name.
    pub stream: String,
    /// Highest sequence number written.
    pub last_seq: u64,
    /// Highest sequence number the platform acknowledged.
    pub acked_seq: u64,
    /// Messages waiting.
    pub pending_rows: u64,
    /// Their body bytes.
    pub pending_bytes: u64,
    /// Bulk messages not written for want of space.
    pub suppressed: u64,
}

/// Every stream's state.
pub fn streams(conn: &Connection) -> Result<Vec<StreamState>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT stream, next_seq - 1, acked_seq, pending_rows, pending_bytes, suppressed
         FROM outbox_streams ORDER BY stream",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(StreamState {
            stream: r.get(0)?,
            last_seq: r.get::<_, i64>(1)? as u64,
            acked_seq: r.get::<_, i64>(2)? as u64,
            pending_rows: r.get::<_, i64>(3)? as u64,
            pending_bytes: r.get::<_, i64>(4)? as u64,
            suppressed: r.get::<_, i64>(5)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    async fn store_with_quota(quota: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .writer
            .write(move |tx| configure(tx, true, quota))
            .await
            .unwrap();
        (dir, store)
    }

    fn put(tx: &Transaction<'_>, stream: Stream, n: usize) -> Result<Vec<Enqueued>, StoreError> {
        (0..n)
            .map(|i| {
                enqueue(
                    tx,
                    stream,
                    "statistics",
                    &serde_json::json!({ "n": i, "pad": "x".repeat(100) }),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn streams_are_numbered_from_1_without_gaps_and_acks_remove_rows() {
        let (_dir, store) = store_with_quota(1 << 20).await;
        let seqs = store
            .writer
            .write(|tx| {
                let mut a = put(tx, Stream::Decisions, 3)?;
                a.extend(put(tx, Stream::Health, 2)?);
                Ok(a)
            })
            .await
            .unwrap();
        assert_eq!(seqs, [1, 2, 3, 1, 2].map(Enqueued::Seq));
        let removed = store
            .writer
            .write(|tx| ack(tx, "decisions", 2))
            .await
            .unwrap();
        assert_eq!(removed, 2);
        // An old or repeated ack changes nothing; one beyond what was written is refused.
        assert_eq!(
            store
                .writer
                .write(|tx| ack(tx, "decisions", 1))
                .await
                .unwrap(),
            0
        );
        assert!(
            store
                .writer
                .write(|tx| ack(tx, "decisions", 9))
                .await
                .is_err()
        );
        let left = store
            .reader
            .read(|c| read_after(c, "decisions", 0, 10))
            .await
            .unwrap();
        assert_eq!(left.iter().map(|p| p.seq).collect::<Vec<_>>(), [3]);
        let states = store.reader.read(streams).await.unwrap();
        let d = states.iter().find(|s| s.stream == "decisions").unwrap();
        assert_eq!((d.last_seq, d.acked_seq, d.pending_rows), (3, 2, 1));
        // A row written after the ack continues the numbering.
        let next = store
            .writer
            .write(|tx| put(tx, Stream::Decisions, 1))
            .await
            .unwrap();
        assert_eq!(next, [Enqueued::Seq(4)]);
    }

    #[tokio::test]
    async fn without_a_platform_nothing_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let r = store
            .writer
            .write(|tx| put(tx, Stream::Decisions, 1))
            .await
            .unwrap();
        assert_eq!(r, [Enqueued::Disabled]);
    }

    #[tokio::test]
    async fn near_the_quota_an_alarm_is_raised_and_bulk_stops_but_decisions_never_do() {
        // ~150 bytes a message: the alarm at 50 % of 3000 bytes, bulk stops above 90 %.
        let (_dir, store) = store_with_quota(3000).await;
        let results = store
            .writer
            .write(|tx| put(tx, Stream::Stats, 30))
            .await
            .unwrap();
        let written = results
            .iter()
            .filter(|r| matches!(r, Enqueued::Seq(_)))
            .count();
        let suppressed = results
            .iter()
            .filter(|r| **r == Enqueued::Suppressed)
            .count();
        assert!(written > 0 && suppressed > 0, "{results:?}");
        assert_eq!(written + suppressed, 30);
        let decisions = store
            .writer
            .write(|tx| put(tx, Stream::Decisions, 10))
            .await
            .unwrap();
        assert!(
            decisions.iter().all(|r| matches!(r, Enqueued::Seq(_))),
            "{decisions:?}"
        );
        let (alarms, suppressed_on_record): (i64, i64) = store
            .reader
            .read(|c| {
                Ok((
                    c.query_row(
                        "SELECT count(*) FROM alarms WHERE kind = 'outbox_filling' AND cleared_at IS NULL",
                        [],
                        |r| r.get(0),
                    )?,
                    c.query_row("SELECT suppressed FROM outbox_streams WHERE stream = 'stats'", [], |r| r.get(0))?,
                ))
            })
            .await
            .unwrap();
        assert_eq!(alarms, 1, "raised once, not per message");
        assert_eq!(
            suppressed_on_record, suppressed as i64,
            "every suppressed message counted"
        );
        // Acknowledging most of it clears the alarm.
        store
            .writer
            .write(move |tx| {
                ack(tx, "stats", written as u64)?;
                ack(tx, "decisions", 10)
            })
            .await
            .unwrap();
        let open: i64 = store
            .reader
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM alarms WHERE kind = 'outbox_filling' AND cleared_at IS NULL",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(open, 0);
    }
}
