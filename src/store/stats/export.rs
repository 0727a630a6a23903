//! The parcels of a range, page by page in the order they entered, for the CSV export
//! that streams them.

use rusqlite::{Connection, params};

use super::Range;
use crate::store::StoreError;

/// One parcel as the `parcels` export lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParcelRow {
    /// Record id.
    pub id: i64,
    /// When it entered the line (stored UTC).
    pub entered_at: String,
    /// The line it went through.
    pub line_id: String,
    /// The waybill read, if any.
    pub logistics_no: Option<String>,
    /// `release`, `inspection`, `exception`; `None` before the decision.
    pub lane_kind: Option<String>,
    /// The lane number decided.
    pub lane: Option<i64>,
    /// Every reason code of the decision.
    pub reasons: Vec<String>,
    /// `in_flight`, `sorted`, `lane_mismatch`, `unconfirmed`, `interrupted`.
    pub outcome: String,
}

/// Where the previous page ended: the last parcel's `entered_at` and id.
pub type Cursor = (String, i64);

/// Up to `limit` parcels of `range` after `after`, in the order they entered.
pub fn parcel_page(
    conn: &Connection,
    range: Range,
    after: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<ParcelRow>, StoreError> {
    let (from, to) = range.bounds();
    let (after_at, after_id) = after.cloned().unwrap_or((String::new(), i64::MIN));
    // The index gives `entered_at, id` order; the lower bound starts the walk at the cursor.
    let lower = if after_at > from {
        after_at.clone()
    } else {
        from
    };
    let mut stmt = conn.prepare_cached(
        "SELECT id, entered_at, line_id, logistics_no, lane_kind, lane, reasons, outcome
         FROM parcels
         WHERE entered_at >= ?1 AND entered_at < ?2 AND (entered_at > ?3 OR (entered_at = ?3 AND id > ?4))
         ORDER BY entered_at, id LIMIT ?5",
    )?;
    let rows = stmt.query_map(params![lower, to, after_at, after_id, limit as i64], |r| {
        let reasons: Option<String> = r.get(6)?;
        Ok(ParcelRow {
            id: r.get(0)?,
            entered_at: r.get(1)?,
            line_id: r.get(2)?,
            logistics_no: r.get(3)?,
            lane_kind: r.get(4)?,
            lane: r.get(5)?,
            reasons: reasons.map(|text| reason_list(&text)).unwrap_or_default(),
            outcome: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The stored JSON array of reasons; the text itself when it is not one.
fn reason_list(text: &str) -> Vec<String> {
    serde_json::from_str(text).unwrap_or_else(|_| vec![text.to_owned()])
}
