//! Gate statistics: passes per hour, and how long trucks stay between entry and exit.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{ARRIVAL_LOOKBACK, GateHour, Range, hour_key, hour_label};
use crate::store::{StoreError, timestamp};

/// Gate passes per hour of `hours`.
pub(super) fn gate_passes_per_hour(
    conn: &Connection,
    range: Range,
    hours: &[DateTime<Utc>],
) -> Result<Vec<GateHour>, StoreError> {
    let (from, to) = range.bounds();
    let mut stmt = conn.prepare_cached(
        "SELECT substr(at, 1, 13), direction, verdict, count(*) FROM gate_passes
         WHERE at >= ?1 AND at < ?2 GROUP BY 1, 2, 3",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    let mut by_hour: HashMap<String, GateHour> = HashMap::new();
    while let Some(r) = rows.next()? {
        let key: String = r.get(0)?;
        let direction: String = r.get(1)?;
        let verdict: String = r.get(2)?;
        let n = r.get::<_, i64>(3)? as u64;
        let h = by_hour.entry(key).or_insert_with(|| GateHour {
            hour: String::new(),
            entered: 0,
            left: 0,
            refused: 0,
            overridden: 0,
        });
        if verdict == "refused" {
            h.refused += n;
            continue;
        }
        if verdict == "override" {
            h.overridden += n;
        }
        if direction == "in" {
            h.entered += n;
        } else {
            h.left += n;
        }
    }
    Ok(hours
        .iter()
        .map(|at| {
            let mut h = by_hour.remove(&hour_key(*at)).unwrap_or(GateHour {
                hour: String::new(),
                entered: 0,
                left: 0,
                refused: 0,
                overridden: 0,
            });
            h.hour = hour_label(*at);
            h
        })
        .collect())
}

/// Mean seconds from a truck's entry to its exit, over the exits in the range. An exit is
/// paired with the plate's latest entry since its previous exit; refused passes moved no
/// truck and are left out.
pub(super) fn avg_stay_s(conn: &Connection, range: Range) -> Result<Option<f64>, StoreError> {
    let (from, to) = range.bounds();
    let since = timestamp(range.from - ARRIVAL_LOOKBACK);
    let mut stmt = conn.prepare_cached(
        "SELECT plate, direction, at FROM gate_passes
         WHERE at >= ?1 AND at < ?2 AND verdict <> 'refused' AND plate IS NOT NULL
         ORDER BY plate, at, id",
    )?;
    let mut rows = stmt.query(params![since, to])?;
    let (mut plate, mut entry): (Option<String>, Option<DateTime<Utc>>) = (None, None);
    let (mut total_s, mut trucks) = (0.0, 0u64);
    while let Some(r) = rows.next()? {
        let this: String = r.get(0)?;
        let direction: String = r.get(1)?;
        let at: String = r.get(2)?;
        if plate.as_deref() != Some(this.as_str()) {
            plate = Some(this);
            entry = None;
        }
        let Ok(when) = DateTime::parse_from_rfc3339(&at).map(|t| t.with_timezone(&Utc)) else {
            continue;
        };
        if direction == "in" {
            entry = Some(when);
        } else if let Some(arrived) = entry.take()
            && at >= from
        {
            total_s += (when - arrived).as_seconds_f64();
            trucks += 1;
        }
    }
    Ok((trucks > 0).then(|| total_s / trucks as f64))
}
