//! Alarms for the operators: device faults, unconfirmed drops, lost tracking, a filling
//! outbox. Each one raised or cleared also goes to the platform on the `health` stream.

use customs_edge_protocol::uplink::{self, Stream};
use rusqlite::{Transaction, params};

use super::{StoreError, outbox};

/// Raise an alarm; returns its id.
pub fn raise(
    tx: &Transaction<'_>,
    source: &str,
    kind: &str,
    detail: &str,
    parcel_id: Option<i64>,
) -> Result<i64, StoreError> {
    raise_at(tx, &super::now(), source, kind, detail, parcel_id)
}

/// Raise an alarm that was raised at `at` (held in memory until the store could take it);
/// returns its id.
pub fn raise_at(
    tx: &Transaction<'_>,
    at: &str,
    source: &str,
    kind: &str,
    detail: &str,
    parcel_id: Option<i64>,
) -> Result<i64, StoreError> {
    let at = at.to_owned();
    tx.prepare_cached(
        "INSERT INTO alarms (at, source, kind, detail, parcel_id) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![at, source, kind, detail, parcel_id])?;
    let id = tx.last_insert_rowid();
    let body = uplink::Alarm {
        alarm_id: id,
        state: "raised".into(),
        source: source.into(),
        alarm: kind.into(),
        detail: detail.into(),
        parcel_id,
        at,
    };
    outbox::enqueue(tx, Stream::Health, uplink::kind::ALARM, &body)?;
    Ok(id)
}

/// Clear every open alarm of `kind` from `source` (the condition went away).
pub fn clear(tx: &Transaction<'_>, source: &str, kind: &str) -> Result<usize, StoreError> {
    clear_at(tx, &super::now(), source, kind)
}

/// Clear every open alarm of `kind` from `source`, as of `at`.
pub fn clear_at(
    tx: &Transaction<'_>,
    at: &str,
    source: &str,
    kind: &str,
) -> Result<usize, StoreError> {
    let at = at.to_owned();
    let cleared: Vec<(i64, String, Option<i64>)> = tx
        .prepare_cached(
            "UPDATE alarms SET cleared_at = ?3 WHERE source = ?1 AND kind = ?2 AND cleared_at IS NULL
             RETURNING id, detail, parcel_id",
        )?
        .query_map(params![source, kind, at], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    for (id, detail, parcel_id) in &cleared {
        let body = uplink::Alarm {
            alarm_id: *id,
            state: "cleared".into(),
            source: source.into(),
            alarm: kind.into(),
            detail: detail.clone(),
            parcel_id: *parcel_id,
            at: at.clone(),
        };
        outbox::enqueue(tx, Stream::Health, uplink::kind::ALARM, &body)?;
    }
    Ok(cleared.len())
}

/// Clear every open alarm from `source` and the parts under it, whatever its kind (a
/// previous run's alarms about itself, which the new run raises again if they still hold).
pub fn clear_under(tx: &Transaction<'_>, source: &str) -> Result<usize, StoreError> {
    let open: Vec<(String, String)> = tx
        .prepare_cached(
            "SELECT DISTINCT source, kind FROM alarms
             WHERE cleared_at IS NULL AND (source = ?1 OR substr(source, 1, length(?1) + 1) = ?1 || ':')",
        )?
        .query_map([source], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    let mut cleared = 0;
    for (source, kind) in open {
        cleared += clear(tx, &source, &kind)?;
    }
    Ok(cleared)
}

/// An alarm as the consoles show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct AlarmView {
    /// Record id.
    pub id: i64,
    /// When it was raised.
    pub at: String,
    /// What raised it (`line:L1:plc`, …).
    pub source: String,
    /// What kind of alarm.
    pub kind: String,
    /// What happened, in words.
    pub detail: String,
    /// The parcel it concerns, if any.
    pub parcel_id: Option<i64>,
    /// Who acknowledged it, if anyone yet.
    pub acked_by: Option<String>,
    /// When it was acknowledged (stored UTC).
    pub acked_at: Option<String>,
}

/// Alarms not cleared yet from `source` and the parts under it (`line:L1` covers
/// `line:L1:plc`, not `line:L10`), newest first (at most `limit`).
pub fn open(
    conn: &rusqlite::Connection,
    source: &str,
    limit: u32,
) -> Result<Vec<AlarmView>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, source, kind, detail, parcel_id, acked_by, acked_at FROM alarms
         WHERE cleared_at IS NULL AND (source = ?1 OR substr(source, 1, length(?1) + 1) = ?1 || ':')
         ORDER BY at DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![source, limit], |r| {
        Ok(AlarmView {
            id: r.get(0)?,
            at: r.get(1)?,
            source: r.get(2)?,
            kind: r.get(3)?,
            detail: r.get(4)?,
            parcel_id: r.get(5)?,
            acked_by: r.get(6)?,
            acked_at: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An operator acknowledges alarm `id` (it stays open until its condition clears), with
/// its audit entry. `Ok(false)` when there is no such alarm; acknowledging twice keeps the
/// first.
pub fn acknowledge(tx: &Transaction<'_>, id: i64, actor: &str) -> Result<bool, StoreError> {
    let at = super::now();
    let found: Option<(String, String, Option<String>)> = rusqlite::OptionalExtension::optional(
        tx.prepare_cached("SELECT source, kind, acked_by FROM alarms WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))),
    )?;
    let Some((source, kind, acked_by)) = found else {
        return Ok(false);
    };
    if acked_by.is_some() {
        return Ok(true);
    }
    tx.prepare_cached("UPDATE alarms SET acked_by = ?2, acked_at = ?3 WHERE id = ?1")?
        .execute(params![id, actor, at])?;
    super::append_audit(
        tx,
        &at,
        actor,
        "acknowledge_alarm",
        &format!("alarm:{id}"),
        &serde_json::json!({ "source": source, "kind": kind }),
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_lines_open_alarms_are_its_own_and_acknowledging_is_audited_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (plc, cleared) = store
            .writer
            .write(|tx| {
                let plc = raise(tx, "line:L1:plc", "fault", "PLC reports DiverterJam", None)?;
                raise(
                    tx,
                    "line:L1",
                    "lane_mismatch",
                    "decided 2, fell into 3",
                    None,
                )?;
                raise(tx, "line:L10:plc", "fault", "another line", None)?;
                let cleared = raise(tx, "line:L1:xray", "xray_down", "gone", None)?;
                clear(tx, "line:L1:xray", "xray_down")?;
                Ok((plc, cleared))
            })
            .await
            .unwrap();
        let open_l1 = store.reader.read(|c| open(c, "line:L1", 50)).await.unwrap();
        let sources: Vec<&str> = open_l1.iter().map(|a| a.source.as_str()).collect();
        assert_eq!(sources.len(), 2, "{sources:?}");
        assert!(sources.contains(&"line:L1:plc") && sources.contains(&"line:L1"));
        assert!(!open_l1.iter().any(|a| a.id == cleared));

        for _ in 0..2 {
            let found = store
                .writer
                .write(move |tx| acknowledge(tx, plc, "op.zhang"))
                .await
                .unwrap();
            assert!(found);
        }
        assert!(
            !store
                .writer
                .write(|tx| acknowledge(tx, 999, "op.zhang"))
                .await
                .unwrap()
        );
        let audited: i64 = store
            .reader
            .read(|c| {
                Ok(c.query_row(
                    "SELECT count(*) FROM audit_log WHERE action = 'acknowledge_alarm'",
                    [],
                    |r| r.get(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(audited, 1, "the second acknowledgement keeps the first");
        let acked = store.reader.read(|c| open(c, "line:L1", 50)).await.unwrap();
        let plc_alarm = acked.iter().find(|a| a.id == plc).unwrap();
        assert_eq!(plc_alarm.acked_by.as_deref(), Some("op.zhang"));
    }
}
