//! A hold wins whenever it comes (brief, rule 5): a status leaving 800, an inspect or hold
//! instruction, or an officer flag that arrives after a parcel was decided for release.
//!
//! Everything here runs inside the writer's transactions, which are serialised, so a hold
//! and a drop can never pass each other unseen:
//!
//! - the hold's own write ([`after_hold`]) finds the parcels of the waybill already decided
//!   for release: one still in flight gets a **late hold** row that its line picks up on its
//!   next poll ([`pending_for_line`]) to command the lane again; one that has dropped into a
//!   release lane gets an **interception** at once;
//! - a drop into a release lane ([`on_release_drop`]) looks for a hold that stands against
//!   the parcel (or a decision that was not release) and opens the interception then; it
//!   also settles the parcel's pending late holds by where it really fell;
//! - a decision for release committed while a hold was being written ([`check_decision`])
//!   gets its late hold too.
//!
//! Interceptions themselves (alarm, retrieval, list) are in [`interceptions`].

pub mod interceptions;
pub mod revisions;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::StoreError;
use super::instructions;
use crate::sorting::waybill::InstructionKind;

pub use interceptions::{InterceptionView, Retrieval};
pub use revisions::{Revision, revise_decision};

/// What a hold names: one parcel (an officer's flag from the X-ray view) or every parcel
/// of a waybill (a status change, an instruction, a flag by number).
#[derive(Debug, Clone, Copy)]
pub enum HoldTarget<'a> {
    /// One parcel record.
    Parcel(i64),
    /// Every parcel read with this waybill.
    Waybill(&'a str),
}

/// What became of a hold that came after a release decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LateOutcome {
    /// The line is acting on it (the parcel is on the belt).
    Pending,
    /// The lane was commanded again before the diverter: the parcel goes to inspection.
    Recommanded,
    /// Too late: the parcel dropped into the release lane; an interception is open.
    Intercepted,
}

impl LateOutcome {
    fn parse(s: Option<&str>) -> Self {
        match s {
            Some("recommanded") => Self::Recommanded,
            Some("intercepted") => Self::Intercepted,
            _ => Self::Pending,
        }
    }
}

/// A hold that came after a parcel's release decision, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LateHold {
    /// The late hold's record id.
    pub id: i64,
    /// The parcel it concerns.
    pub parcel_id: i64,
    /// The parcel's line.
    pub line_id: String,
    /// What came: `status:500`, `instruction:inspect`, `officer_flag:7`, ...
    pub cause: String,
    /// What became of it so far.
    pub outcome: LateOutcome,
    /// The interception opened for it, if it was too late.
    pub interception_id: Option<i64>,
}

/// A hold handed to a line: the parcel is on its belt, decided for release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingHold {
    /// The late hold's record id (lines read on from the highest seen).
    pub id: i64,
    /// The parcel held, by record id.
    pub parcel_id: i64,
    /// What came.
    pub cause: String,
}

/// The hold that stands against a parcel now, if any: its customs status is not 800, an
/// inspect or hold instruction stands for its waybill, or an officer flagged it (or its
/// waybill). `None` when it may leave.
pub fn hold_against(conn: &Connection, parcel_id: i64) -> Result<Option<String>, StoreError> {
    let waybill: Option<Option<String>> = conn
        .prepare_cached("SELECT logistics_no FROM parcels WHERE id = ?1")?
        .query_row([parcel_id], |r| r.get(0))
        .optional()?;
    let Some(waybill) = waybill else {
        return Err(StoreError::NotFound(format!("parcel {parcel_id}")));
    };
    let flag: Option<i64> = conn
        .prepare_cached(
            "SELECT id FROM officer_flags WHERE parcel_id = ?1 OR (?2 IS NOT NULL AND logistics_no = ?2)
             ORDER BY id LIMIT 1",
        )?
        .query_row(params![parcel_id, waybill], |r| r.get(0))
        .optional()?;
    if let Some(flag) = flag {
        return Ok(Some(format!("officer_flag:{flag}")));
    }
    let Some(waybill) = waybill else {
        return Ok(Some("no_waybill".to_owned()));
    };
    if let Some(kind @ (InstructionKind::Inspect | InstructionKind::Hold)) =
        instructions::standing_instruction(conn, &waybill)?
    {
        return Ok(Some(format!("instruction:{}", kind.as_str())));
    }
    let status: Option<i32> = conn
        .prepare_cached("SELECT return_status FROM declaration_lists WHERE logistics_no = ?1")?
        .query_row([&waybill], |r| r.get(0))
        .optional()?;
    Ok(match status {
        Some(800) => None,
        Some(s) => Some(format!("status:{s}")),
        None => Some("no_declaration_list".to_owned()),
    })
}

/// A hold was just written (in `tx`): act on the parcels it names that were already
/// decided for release. One in flight gets a late hold for its line; one that dropped into
/// a release lane gets an interception. Returns what was done, one entry per parcel.
pub fn after_hold(
    tx: &Transaction<'_>,
    target: HoldTarget<'_>,
    cause: &str,
) -> Result<Vec<LateHold>, StoreError> {
    let (sql, key): (&str, rusqlite::types::Value) = match target {
        HoldTarget::Parcel(id) => (
            "SELECT id, line_id, outcome, bag_id FROM parcels WHERE id = ?1 AND lane_kind = 'release'",
            id.into(),
        ),
        HoldTarget::Waybill(no) => (
            "SELECT id, line_id, outcome, bag_id FROM parcels
             WHERE logistics_no = ?1 AND lane_kind = 'release'",
            no.to_owned().into(),
        ),
    };
    let released: Vec<(i64, String, String, Option<i64>)> = tx
        .prepare_cached(sql)?
        .query_map([key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<Result<_, _>>()?;
    let mut done = Vec::new();
    for (parcel_id, line_id, outcome, bag_id) in released {
        if outcome == "in_flight" {
            done.push(insert_late_hold(tx, parcel_id, &line_id, cause)?);
        } else if bag_id.is_some() {
            // It dropped into a release lane: too late for the diverter.
            let interception = interceptions::open(tx, parcel_id, cause)?;
            let mut hold = insert_late_hold(tx, parcel_id, &line_id, cause)?;
            resolve_one(tx, hold.id, LateOutcome::Intercepted, Some(interception.id))?;
            hold.outcome = LateOutcome::Intercepted;
            hold.interception_id = Some(interception.id);
            done.push(hold);
        }
        // Released but unconfirmed or interrupted: it is in no bag, so no permit can carry
        // it out (the gate's load check holds any truck that names it).
    }
    Ok(done)
}

/// A release decision was just written for `parcel_id`: if a hold already stands against
/// it (one committed while the line was deciding), hand it to the line at once.
pub fn check_decision(tx: &Transaction<'_>, parcel_id: i64) -> Result<(), StoreError> {
    if let Some(cause) = hold_against(tx, parcel_id)? {
        let line_id: String = tx
            .prepare_cached("SELECT line_id FROM parcels WHERE id = ?1")?
            .query_row([parcel_id], |r| r.get(0))?;
        insert_late_hold(
            tx,
            parcel_id,
            &line_id,
            &format!("{cause} (while deciding)"),
        )?;
    }
    Ok(())
}

fn insert_late_hold(
    tx: &Transaction<'_>,
    parcel_id: i64,
    line_id: &str,
    cause: &str,
) -> Result<LateHold, StoreError> {
    tx.prepare_cached(
        "INSERT INTO late_holds (parcel_id, line_id, cause, at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![parcel_id, line_id, cause, super::now()])?;
    Ok(LateHold {
        id: tx.last_insert_rowid(),
        parcel_id,
        line_id: line_id.to_owned(),
        cause: cause.to_owned(),
        outcome: LateOutcome::Pending,
        interception_id: None,
    })
}

fn resolve_one(
    tx: &Transaction<'_>,
    id: i64,
    outcome: LateOutcome,
    interception_id: Option<i64>,
) -> Result<(), StoreError> {
    let name = match outcome {
        LateOutcome::Pending => return Ok(()),
        LateOutcome::Recommanded => "recommanded",
        LateOutcome::Intercepted => "intercepted",
    };
    tx.prepare_cached(
        "UPDATE late_holds SET outcome = ?2, resolved_at = ?3, interception_id = ?4 WHERE id = ?1",
    )?
    .execute(params![id, name, super::now(), interception_id])?;
    Ok(())
}

/// Settle every pending late hold of `parcel_id` (the PLC took the new lane, or the
/// parcel dropped).
pub fn resolve(
    tx: &Transaction<'_>,
    parcel_id: i64,
    outcome: LateOutcome,
    interception_id: Option<i64>,
) -> Result<usize, StoreError> {
    let ids: Vec<i64> = tx
        .prepare_cached("SELECT id FROM late_holds WHERE parcel_id = ?1 AND outcome IS NULL")?
        .query_map([parcel_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        resolve_one(tx, *id, outcome, interception_id)?;
    }
    Ok(ids.len())
}

/// A parcel dropped into a release lane (already put in its bag): open its interception
/// when it should not be there (a hold stands, or it was not decided for release), and
/// settle its pending late holds. Returns the interception opened, if any.
pub fn on_release_drop(
    tx: &Transaction<'_>,
    parcel_id: i64,
) -> Result<Option<InterceptionView>, StoreError> {
    let kind: Option<String> = tx
        .prepare_cached("SELECT lane_kind FROM parcels WHERE id = ?1")?
        .query_row([parcel_id], |r| r.get(0))?;
    let cause = match kind.as_deref() {
        Some("release") => hold_against(tx, parcel_id)?,
        Some(other) => Some(format!("decided:{other}")),
        None => Some("undecided".to_owned()),
    };
    let Some(cause) = cause else {
        resolve(tx, parcel_id, LateOutcome::Recommanded, None)?;
        return Ok(None);
    };
    let interception = interceptions::open(tx, parcel_id, &cause)?;
    resolve(
        tx,
        parcel_id,
        LateOutcome::Intercepted,
        Some(interception.id),
    )?;
    Ok(Some(interception))
}

/// Late holds for `line_id`'s parcels still waiting for the line, after record `after`.
pub fn pending_for_line(
    conn: &Connection,
    line_id: &str,
    after: i64,
) -> Result<Vec<PendingHold>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, parcel_id, cause FROM late_holds
             WHERE line_id = ?1 AND outcome IS NULL AND id > ?2 ORDER BY id",
        )?
        .query_map(params![line_id, after], |r| {
            Ok(PendingHold {
                id: r.get(0)?,
                parcel_id: r.get(1)?,
                cause: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

/// One late hold as it stands now.
pub fn get(conn: &Connection, id: i64) -> Result<Option<LateHold>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT id, parcel_id, line_id, cause, outcome, interception_id FROM late_holds WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(LateHold {
                id: r.get(0)?,
                parcel_id: r.get(1)?,
                line_id: r.get(2)?,
                cause: r.get(3)?,
                outcome: LateOutcome::parse(r.get::<_, Option<String>>(4)?.as_deref()),
                interception_id: r.get(5)?,
            })
        })
        .optional()?)
}

#[cfg(test)]
#[path = "holds_tests.rs"]
mod tests;
