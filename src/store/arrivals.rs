//! Expected arrivals (运抵预报): the bills the platform says a truck is bringing, kept by
//! `billNo` until the truck passes an entry gate.
//!
//! The platform's `arrivals` downlink writes them ([`upsert`], from
//! [`super::downlink::apply`]); the gate loop looks up what a plate brings
//! ([`expected_for_plate`]), marks each bill arrived with its gate pass ([`mark_arrived`])
//! and sends its CEB507 arrival report ([`ExpectedArrival::arrival_report`]) in the same
//! transaction. An arrived bill stays arrived: a later notice for it is refused, not
//! applied.

use customs_edge_protocol::downlink;
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::StoreError;
use crate::gates::arrival::{ExpectedArrival, ExpectedItem};

/// The values of `expected_arrivals.status`.
pub mod status {
    /// Announced by the platform; the truck has not passed an entry gate with it yet.
    pub const EXPECTED: &str = "expected";
    /// The truck passed an entry gate with it; its arrival report was sent.
    pub const ARRIVED: &str = "arrived";
}

/// What [`upsert`] did with a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    /// Stored, new or replacing an expected bill.
    Stored,
    /// Not applied: the bill arrived already.
    AlreadyArrived {
        /// When it arrived.
        arrived_at: Option<String>,
        /// The gate pass that brought it.
        gate_pass_id: Option<i64>,
    },
}

/// Store a notice from the platform, replacing the bill's earlier notice (plate and
/// waybills) while it is still expected; a bill that has arrived is left as it is.
pub fn upsert(
    tx: &Transaction<'_>,
    notice: &downlink::ExpectedArrival,
    now: &str,
) -> Result<Upserted, StoreError> {
    let held: Option<(String, Option<String>, Option<i64>)> = tx
        .prepare_cached(
            "SELECT status, arrived_at, gate_pass_id FROM expected_arrivals WHERE bill_no = ?1",
        )?
        .query_row([&notice.bill_no], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    if let Some((state, arrived_at, gate_pass_id)) = held
        && state != status::EXPECTED
    {
        return Ok(Upserted::AlreadyArrived {
            arrived_at,
            gate_pass_id,
        });
    }
    tx.prepare_cached(
        "INSERT INTO expected_arrivals (bill_no, vehicle_no, status, received_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (bill_no) DO UPDATE SET vehicle_no = excluded.vehicle_no,
            updated_at = excluded.updated_at",
    )?
    .execute(params![
        notice.bill_no,
        notice.vehicle_no,
        status::EXPECTED,
        now
    ])?;
    tx.prepare_cached("DELETE FROM expected_arrival_items WHERE bill_no = ?1")?
        .execute([&notice.bill_no])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO expected_arrival_items (bill_no, seq, logistics_no, total_package_no)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (i, item) in notice.items.iter().enumerate() {
        insert.execute(params![
            notice.bill_no,
            i as i64 + 1,
            item.logistics_no,
            item.total_package_no
        ])?;
    }
    Ok(Upserted::Stored)
}

/// Plates of the trucks still expected: what an entry lane resolves misreads against.
pub fn expected_plates(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT DISTINCT vehicle_no FROM expected_arrivals WHERE status = ?1 ORDER BY vehicle_no",
    )?;
    let rows = stmt.query_map([status::EXPECTED], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The bills still expected on the truck with `plate`, the longest expected first, each
/// with its waybills.
pub fn expected_for_plate(
    conn: &Connection,
    plate: &str,
) -> Result<Vec<ExpectedArrival>, StoreError> {
    let mut bills = conn.prepare_cached(
        "SELECT bill_no, vehicle_no, received_at, updated_at FROM expected_arrivals
         WHERE vehicle_no = ?1 AND status = ?2 ORDER BY received_at, rowid",
    )?;
    let mut out: Vec<ExpectedArrival> = bills
        .query_map(params![plate, status::EXPECTED], |r| {
            Ok(ExpectedArrival {
                bill_no: r.get(0)?,
                vehicle_no: r.get(1)?,
                received_at: r.get(2)?,
                updated_at: r.get(3)?,
                items: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut items = conn.prepare_cached(
        "SELECT logistics_no, total_package_no FROM expected_arrival_items
         WHERE bill_no = ?1 ORDER BY seq",
    )?;
    for bill in &mut out {
        bill.items = items
            .query_map([&bill.bill_no], |r| {
                Ok(ExpectedItem {
                    logistics_no: r.get(0)?,
                    total_package_no: r.get(1)?,
                })
            })?
            .collect::<Result<_, _>>()?;
    }
    Ok(out)
}

/// Bill `bill_no` arrived with the entry `gate_pass_id` at `at`. `true` when it was
/// expected and is now arrived; `false` when it is unknown or arrived before (nothing is
/// changed then). Sends nothing: the caller writes the arrival report in the same
/// transaction.
pub fn mark_arrived(
    tx: &Transaction<'_>,
    bill_no: &str,
    gate_pass_id: i64,
    at: &str,
) -> Result<bool, StoreError> {
    let n = tx
        .prepare_cached(
            "UPDATE expected_arrivals SET status = ?4, gate_pass_id = ?2, arrived_at = ?3
             WHERE bill_no = ?1 AND status = ?5",
        )?
        .execute(params![
            bill_no,
            gate_pass_id,
            at,
            status::ARRIVED,
            status::EXPECTED
        ])?;
    Ok(n == 1)
}

#[cfg(test)]
#[path = "arrivals_tests.rs"]
mod tests;
