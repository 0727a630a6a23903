//! How long a truck stays at a gate lane: from the pass (the truck on the loop, plates
//! read, verdict) to the lane clearing behind it, over the passes that let a truck through
//! in the range. A site whose lanes are all exits has no entry to pair with an exit, so the
//! arrival-to-departure mean stays null there; this one is always known.

use rusqlite::{Connection, params};

use super::{Range, StoreError};

/// Mean seconds from a pass to its lane clearing, over released and overridden passes
/// cleared in the range; null when none was.
pub(super) fn avg_lane_dwell_s(conn: &Connection, range: Range) -> Result<Option<f64>, StoreError> {
    let (from, to) = range.bounds();
    Ok(conn
        .prepare_cached(
            "SELECT avg((julianday(cleared_at) - julianday(at)) * 86400.0) FROM gate_passes
             WHERE at >= ?1 AND at < ?2 AND cleared_at IS NOT NULL AND verdict <> 'refused'",
        )?
        .query_row(params![from, to], |r| r.get(0))?)
}
