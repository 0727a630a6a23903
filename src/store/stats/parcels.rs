//! Parcel statistics: parcels per hour, the breakdowns by trade mode, country and HS
//! chapter, lanes and weighings, each a walk of the `parcels_entered_at` index.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, params};

use super::{HourCount, KeyCount, LaneCounts, Range, UNKNOWN, hour_label};
use crate::store::{StoreError, timestamp};

/// Parcels in `[?1, ?2)`.
pub(super) const HOUR_SQL: &str =
    "SELECT count(*) FROM parcels WHERE entered_at >= ?1 AND entered_at < ?2";

/// Parcels per hour of `hours`, each counted on the index alone (a sort of the range's
/// parcels by hour would cost more than all the hours' counts together).
pub(super) fn parcels_per_hour(
    conn: &Connection,
    range: Range,
    hours: &[DateTime<Utc>],
) -> Result<Vec<HourCount>, StoreError> {
    let mut stmt = conn.prepare_cached(HOUR_SQL)?;
    let mut counts = Vec::with_capacity(hours.len());
    for hour in hours {
        let from = timestamp((*hour).max(range.from));
        let to = timestamp((*hour + TimeDelta::hours(1)).min(range.to));
        let count: i64 = stmt.query_row(params![from, to], |r| r.get(0))?;
        counts.push(HourCount {
            hour: hour_label(*hour),
            count: count as u64,
        });
    }
    Ok(counts)
}

#[derive(Default)]
pub(super) struct Breakdown {
    pub(super) total: u64,
    pub(super) lanes: LaneCounts,
    pub(super) trade_modes: BTreeMap<String, u64>,
    pub(super) countries: BTreeMap<String, u64>,
    pub(super) weighed: u64,
    pub(super) mismatched: u64,
}

/// The trade modes a declaration list may carry.
const TRADE_MODES: [&str; 4] = ["9610", "9710", "9810", "1210"];

/// Parcels of `[?1, ?2)` by destination country, with lanes, trade modes and weighings
/// summed per country. A weight mismatch is the decision's `weight_out_of_tolerance`
/// reason, also kept as the `weight_mismatch` flag; either counts. Only a stable weighing
/// can be compared, so those are the parcels weighed.
pub(super) const BREAKDOWN_SQL: &str =
    "SELECT coalesce(nullif(trim(l.country), ''), 'unknown'), count(*),
            sum(p.lane_kind = 'release'), sum(p.lane_kind = 'inspection'),
            sum(p.lane_kind = 'exception'),
            sum(l.trade_mode = '9610'), sum(l.trade_mode = '9710'),
            sum(l.trade_mode = '9810'), sum(l.trade_mode = '1210'),
            sum(p.lane_kind IS NOT NULL AND (p.weight_stable = 1 OR p.weight_mismatch = 1)),
            sum(p.lane_kind IS NOT NULL AND (p.weight_mismatch = 1
                OR instr(p.reasons, '\"weight_out_of_tolerance') > 0))
     FROM parcels p LEFT JOIN declaration_lists l ON l.logistics_no = p.logistics_no
     WHERE p.entered_at >= ?1 AND p.entered_at < ?2
     GROUP BY 1";

/// One pass over the range joined to the lists, grouped by country (the one breakdown
/// whose values are not known beforehand); everything else is summed within the groups.
pub(super) fn breakdown(conn: &Connection, range: Range) -> Result<Breakdown, StoreError> {
    let (from, to) = range.bounds();
    let mut stmt = conn.prepare_cached(BREAKDOWN_SQL)?;
    let mut rows = stmt.query(params![from, to])?;
    let mut b = Breakdown::default();
    let mut modes = [0u64; TRADE_MODES.len()];
    while let Some(r) = rows.next()? {
        let n = |i: usize| -> rusqlite::Result<u64> {
            Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0) as u64)
        };
        let count = n(1)?;
        b.total += count;
        b.countries.insert(r.get(0)?, count);
        b.lanes.release += n(2)?;
        b.lanes.inspection += n(3)?;
        b.lanes.exception += n(4)?;
        for (i, m) in modes.iter_mut().enumerate() {
            *m += n(5 + i)?;
        }
        b.weighed += n(9)?;
        b.mismatched += n(10)?;
    }
    b.lanes.pending = b.total - b.lanes.decided();
    for (mode, n) in TRADE_MODES.iter().zip(modes) {
        if n > 0 {
            b.trade_modes.insert((*mode).to_owned(), n);
        }
    }
    let unknown = b.total - modes.iter().sum::<u64>();
    if unknown > 0 {
        b.trade_modes.insert(UNKNOWN.to_owned(), unknown);
    }
    Ok(b)
}

/// The goods lines of each parcel of `[?1, ?2)`, parcel by parcel (one row with a null
/// code for a parcel without any).
pub(super) const GOODS_SQL: &str = "SELECT p.id, g.gcode
    FROM parcels p LEFT JOIN declaration_goods g ON g.logistics_no = p.logistics_no
    WHERE p.entered_at >= ?1 AND p.entered_at < ?2
    ORDER BY p.entered_at, p.id";

/// Parcels per HS chapter, each parcel once per chapter of its goods: the goods come
/// parcel by parcel, and a parcel's chapters are a bit set (deduplicating in SQL would
/// sort every goods line of the range).
pub(super) fn by_hs_chapter(conn: &Connection, range: Range) -> Result<Vec<KeyCount>, StoreError> {
    let (from, to) = range.bounds();
    let mut stmt = conn.prepare_cached(GOODS_SQL)?;
    let mut rows = stmt.query(params![from, to])?;
    // Chapters 00 to 99, and 100 for a parcel without any.
    let mut counts = [0u64; 101];
    let (mut parcel, mut seen) = (None, 0u128);
    let close = |mut seen: u128, counts: &mut [u64; 101]| {
        if seen == 0 {
            counts[100] += 1;
        }
        while seen != 0 {
            counts[seen.trailing_zeros() as usize] += 1;
            seen &= seen - 1;
        }
    };
    while let Some(r) = rows.next()? {
        let id = r.get_ref(0)?.as_i64().map_err(rusqlite::Error::from)?;
        if parcel != Some(id) {
            if parcel.is_some() {
                close(seen, &mut counts);
            }
            (parcel, seen) = (Some(id), 0);
        }
        if let ValueRef::Text(code) = r.get_ref(1)?
            && let Some(ch) = chapter(code)
        {
            seen |= 1 << ch;
        }
    }
    if parcel.is_some() {
        close(seen, &mut counts);
    }
    let named = counts
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(ch, n)| {
            let key = if ch == 100 {
                UNKNOWN.to_owned()
            } else {
                format!("{ch:02}")
            };
            (key, *n)
        });
    Ok(ranked(named.collect()))
}

/// The HS chapter of a code: its first two digits (after any spaces).
fn chapter(code: &[u8]) -> Option<u32> {
    match code.trim_ascii_start() {
        [a, b, ..] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
        }
        _ => None,
    }
}

/// Most first, then by key.
pub(super) fn ranked(counts: BTreeMap<String, u64>) -> Vec<KeyCount> {
    let mut list: Vec<KeyCount> = counts
        .into_iter()
        .map(|(key, count)| KeyCount { key, count })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    list
}
