//! Alarms as the consoles' header and alarm page show them: every alarm that still needs
//! someone (open, or cleared but never acknowledged: an e-stop nobody saw must not vanish
//! because it let go) and the history of every alarm raised, cleared and acknowledged, with
//! who and when.

use rusqlite::{Connection, params};
use serde::Serialize;

use super::StoreError;

/// One alarm with its whole life: raised, cleared, acknowledged.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AlarmRecord {
    /// Record id (negative: held in memory until the store can take it).
    pub id: i64,
    /// When it was raised (UTC).
    pub at: String,
    /// What raised it (`line:L1:plc`, `gate:K1`, `controller:store`, …).
    pub source: String,
    /// What kind of alarm (a stable code; the consoles word it).
    pub kind: String,
    /// The technical detail, as the device or task reported it.
    pub detail: String,
    /// The parcel it concerns, if any.
    pub parcel_id: Option<i64>,
    /// When its condition went away, if it has.
    pub cleared_at: Option<String>,
    /// Who acknowledged it, if anyone yet.
    pub acked_by: Option<String>,
    /// When it was acknowledged (stored UTC).
    pub acked_at: Option<String>,
}

const COLUMNS: &str = "id, at, source, kind, detail, parcel_id, cleared_at, acked_by, acked_at";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<AlarmRecord> {
    Ok(AlarmRecord {
        id: r.get(0)?,
        at: r.get(1)?,
        source: r.get(2)?,
        kind: r.get(3)?,
        detail: r.get(4)?,
        parcel_id: r.get(5)?,
        cleared_at: r.get(6)?,
        acked_by: r.get(7)?,
        acked_at: r.get(8)?,
    })
}

/// Alarms that need someone: not cleared yet, or cleared without anyone acknowledging them;
/// newest first, at most `limit`.
pub fn needing_attention(conn: &Connection, limit: u32) -> Result<Vec<AlarmRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alarms WHERE cleared_at IS NULL
         UNION
         SELECT {COLUMNS} FROM alarms WHERE acked_by IS NULL
         ORDER BY at DESC, id DESC LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], record)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Every alarm raised in `[from, to)` (RFC 3339 UTC; either may be absent), newest first,
/// at most `limit`.
pub fn history(
    conn: &Connection,
    from: Option<&str>,
    to: Option<&str>,
    limit: u32,
) -> Result<Vec<AlarmRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM alarms
         WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at < ?2)
         ORDER BY at DESC, id DESC LIMIT ?3"
    ))?;
    let rows = stmt.query_map(params![from, to, limit], record)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, alarms};

    #[tokio::test]
    async fn a_cleared_alarm_needs_attention_until_acknowledged_and_history_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (estop, scale) = store
            .writer
            .write(|tx| {
                let estop = alarms::raise(tx, "line:L1:plc", "estop", "E-stop", None)?;
                let scale = alarms::raise(tx, "line:L1:scale", "scale_fault", "x", None)?;
                alarms::clear(tx, "line:L1:plc", "estop")?;
                Ok((estop, scale))
            })
            .await
            .unwrap();
        let ids = |list: Vec<AlarmRecord>| list.into_iter().map(|a| a.id).collect::<Vec<_>>();
        let attention = store
            .reader
            .read(|c| needing_attention(c, 50))
            .await
            .unwrap();
        assert_eq!(ids(attention.clone()), vec![scale, estop]);
        assert!(attention[1].cleared_at.is_some(), "{attention:?}");

        store
            .writer
            .write(move |tx| alarms::acknowledge(tx, estop, "cao.zuo"))
            .await
            .unwrap();
        let attention = store
            .reader
            .read(|c| needing_attention(c, 50))
            .await
            .unwrap();
        assert_eq!(
            ids(attention),
            vec![scale],
            "acknowledged and cleared: done"
        );

        let all = store
            .reader
            .read(|c| history(c, None, None, 50))
            .await
            .unwrap();
        assert_eq!(ids(all.clone()), vec![scale, estop]);
        let e = &all[1];
        assert_eq!(e.acked_by.as_deref(), Some("cao.zuo"));
        assert!(e.cleared_at.is_some() && e.acked_at.is_some(), "{e:?}");
        let none = store
            .reader
            .read(|c| history(c, Some("2999-01-01T00:00:00Z"), None, 50))
            .await
            .unwrap();
        assert!(none.is_empty());
    }
}
