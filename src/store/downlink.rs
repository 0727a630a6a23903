//! Downlink messages from the platform applied to the store, once each, and the dead
//! letters of those that could not be.

use customs_edge_protocol::downlink::{Downlink, ExitPermit, Lists};
use customs_edge_protocol::envelope::EnvelopeError;
use customs_edge_protocol::uplink::{self, Stream};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::arrivals::{self, Upserted};
use super::instructions;
use super::{StoreError, manifests, outbox, parcels};
use crate::sorting::waybill::InstructionKind;

/// Most payload bytes a dead letter keeps.
const DEAD_LETTER_KEEP: usize = 64 * 1024;

/// What applying a downlink message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied now: this many records written, this many refused (kept as rejected input).
    Now {
        /// Records written.
        records: usize,
        /// Items of the message that could not apply (unknown waybill or permit, a bill
        /// that has arrived already).
        refused: usize,
    },
    /// The message id was applied before: nothing done.
    Before,
}

/// Most declaration lists applied in one write. The platform sends lists a thousand to a
/// message, about 20 ms of the store writer's time at once; cut into parts queued together,
/// the writer still commits them in one batch, but a line's or a gate's write that arrives
/// meanwhile waits for one part, not for the whole message.
pub const LISTS_PER_PART: usize = 100;

/// `message` cut into the parts applied one write each, in order: the early parts with
/// [`apply_early_part`], the last with [`apply`]. Only declaration lists are cut: applying
/// one again changes nothing, so when the controller stops between two parts, the platform
/// delivers the message again (it was never acknowledged) and it is applied whole.
pub fn parts(message: Downlink) -> Vec<Downlink> {
    match message {
        Downlink::Lists(Lists { lists }) if lists.len() > LISTS_PER_PART => {
            let mut parts = Vec::with_capacity(lists.len().div_ceil(LISTS_PER_PART));
            let mut lists = lists.into_iter().peekable();
            while lists.peek().is_some() {
                parts.push(Downlink::Lists(Lists {
                    lists: lists.by_ref().take(LISTS_PER_PART).collect(),
                }));
            }
            parts
        }
        message => vec![message],
    }
}

/// Apply part `index` (from 0) of a message cut by [`parts`], not its last, unless the
/// message was applied before: its items only. The parts leave a chain in a table of the
/// writer's connection (`temp.downlink_parts`: committed with them, gone on a restart), so
/// the last part ([`apply_last_part`]) records the message as applied only when every part
/// before it committed: a part that failed, or whose batch did, leaves the message to be
/// delivered again.
pub fn apply_early_part(
    tx: &Transaction<'_>,
    message_id: &str,
    index: usize,
    part: &Downlink,
) -> Result<Applied, StoreError> {
    let Downlink::Lists(Lists { lists }) = part else {
        return Err(StoreError::Invalid(format!(
            "only declaration lists are applied in parts, not {}",
            part.kind()
        )));
    };
    tx.execute_batch(
        "CREATE TEMP TABLE IF NOT EXISTS downlink_parts
            (message_id TEXT PRIMARY KEY, done INTEGER NOT NULL)",
    )?;
    if index == 0 {
        tx.prepare_cached("INSERT OR REPLACE INTO temp.downlink_parts VALUES (?1, 0)")?
            .execute([message_id])?;
    }
    parts_done(tx, message_id, index)?;
    tx.prepare_cached("UPDATE temp.downlink_parts SET done = done + 1 WHERE message_id = ?1")?
        .execute([message_id])?;
    let before = tx
        .prepare_cached("SELECT 1 FROM downlink_applied WHERE message_id = ?1")?
        .exists([message_id])?;
    if before {
        return Ok(Applied::Before);
    }
    let source = format!("platform:{message_id}");
    let now = super::now();
    for list in lists {
        manifests::upsert(tx, list, &source, &now)?;
    }
    Ok(Applied::Now {
        records: lists.len(),
        refused: 0,
    })
}

/// The last of a message's [`parts`], after `early` others: [`apply`], once the chain says
/// every earlier part committed.
pub fn apply_last_part(
    tx: &Transaction<'_>,
    message_id: &str,
    early: usize,
    part: &Downlink,
) -> Result<Applied, StoreError> {
    if early > 0 {
        parts_done(tx, message_id, early)?;
        tx.prepare_cached("DELETE FROM temp.downlink_parts WHERE message_id = ?1")?
            .execute([message_id])?;
    }
    apply(tx, message_id, part)
}

/// Fails unless `expected` parts of the message are recorded as done.
fn parts_done(tx: &Transaction<'_>, message_id: &str, expected: usize) -> Result<(), StoreError> {
    let done: Option<i64> = tx
        .prepare_cached("SELECT done FROM temp.downlink_parts WHERE message_id = ?1")?
        .query_row([message_id], |r| r.get(0))
        .optional()?;
    if done == Some(expected as i64) {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "part {} of downlink message {message_id}: {} of the parts before it were applied",
            expected + 1,
            done.unwrap_or(0)
        )))
    }
}

/// Apply one downlink message (not an ack) in the caller's transaction, unless its id was
/// applied before (or the last of its [`parts`]: its id is recorded then).
pub fn apply(
    tx: &Transaction<'_>,
    message_id: &str,
    message: &Downlink,
) -> Result<Applied, StoreError> {
    let new = tx
        .prepare_cached(
            "INSERT INTO downlink_applied (message_id, kind, applied_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (message_id) DO NOTHING",
        )?
        .execute(params![message_id, message.kind(), super::now()])?;
    if new == 0 {
        return Ok(Applied::Before);
    }
    let source = format!("platform:{message_id}");
    let now = super::now();
    let mut records = 0;
    let mut refused = 0;
    let mut refuse = |tx: &Transaction<'_>, what: String, item: String| {
        refused += 1;
        parcels::reject_input(tx, &now, &source, &what, &item)
    };
    match message {
        Downlink::Lists(b) => {
            for list in &b.lists {
                manifests::upsert(tx, list, &source, &now)?;
                records += 1;
            }
        }
        Downlink::ListStatus(b) => {
            for u in &b.updates {
                let n = tx
                    .prepare_cached(
                        "UPDATE declaration_lists SET return_status = ?2, return_info = ?3, source = ?4,
                            updated_at = ?5 WHERE logistics_no = ?1",
                    )?
                    .execute(params![u.logistics_no, u.return_status, u.return_info, source, now])?;
                if n == 0 {
                    refuse(
                        tx,
                        format!(
                            "status update {} for waybill {}, which has no declaration list here",
                            u.return_status, u.logistics_no
                        ),
                        serde_json::to_string(u).unwrap_or_default(),
                    )?;
                } else {
                    records += 1;
                    if u.return_status != 800 {
                        super::holds::after_hold(
                            tx,
                            super::holds::HoldTarget::Waybill(&u.logistics_no),
                            &format!("status:{}", u.return_status),
                        )?;
                    }
                }
            }
        }
        Downlink::Permits(b) => {
            for p in &b.permits {
                upsert_permit(tx, p, &now)?;
                records += 1;
            }
        }
        Downlink::PermitStatus(b) => {
            for u in &b.updates {
                let n = tx
                    .prepare_cached(
                        "UPDATE exit_permits SET status = ?2, updated_at = ?3 WHERE permit_no = ?1",
                    )?
                    .execute(params![u.permit_no, u.status, now])?;
                if n == 0 {
                    refuse(
                        tx,
                        format!(
                            "status update {} for exit permit {}, which is not held here",
                            u.status, u.permit_no
                        ),
                        serde_json::to_string(u).unwrap_or_default(),
                    )?;
                } else {
                    records += 1;
                }
            }
        }
        Downlink::Instructions(b) => {
            for i in &b.instructions {
                let kind = InstructionKind::parse(&i.action).ok_or_else(|| {
                    StoreError::Invalid(format!("instruction action {:?}", i.action))
                })?;
                instructions::add_instruction(
                    tx,
                    &i.logistics_no,
                    kind,
                    i.reason.as_deref(),
                    &source,
                    &i.issued_at,
                )?;
                records += 1;
                if kind != InstructionKind::Release {
                    super::holds::after_hold(
                        tx,
                        super::holds::HoldTarget::Waybill(&i.logistics_no),
                        &format!("instruction:{}", kind.as_str()),
                    )?;
                }
            }
        }
        Downlink::Arrivals(b) => {
            for a in &b.arrivals {
                match arrivals::upsert(tx, a, &now)? {
                    Upserted::Stored => records += 1,
                    Upserted::AlreadyArrived {
                        arrived_at,
                        gate_pass_id,
                    } => refuse(
                        tx,
                        format!(
                            "expected arrival of bill {} on {}: the bill already arrived at {} \
                             (gate pass {}); a notice for it is not applied",
                            a.bill_no,
                            a.vehicle_no,
                            arrived_at.as_deref().unwrap_or("?"),
                            gate_pass_id.map_or_else(|| "?".to_owned(), |id| id.to_string())
                        ),
                        serde_json::to_string(a).unwrap_or_default(),
                    )?,
                }
            }
        }
        Downlink::Ack(_) => {
            return Err(StoreError::Invalid(
                "an ack is applied to the outbox, not here".into(),
            ));
        }
    }
    Ok(Applied::Now { records, refused })
}

/// Insert or replace an exit permit with its items.
pub fn upsert_permit(tx: &Transaction<'_>, p: &ExitPermit, now: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO exit_permits (permit_no, vehicle_no, vehicle_weight_kg, frame_weight_kg, container_no,
            container_weight_kg, total_gross_weight_kg, status, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (permit_no) DO UPDATE SET vehicle_no = excluded.vehicle_no,
            vehicle_weight_kg = excluded.vehicle_weight_kg, frame_weight_kg = excluded.frame_weight_kg,
            container_no = excluded.container_no, container_weight_kg = excluded.container_weight_kg,
            total_gross_weight_kg = excluded.total_gross_weight_kg, status = excluded.status,
            updated_at = excluded.updated_at",
    )?
    .execute(params![
        p.permit_no,
        p.vehicle_no,
        p.vehicle_weight,
        p.frame_weight,
        p.container_no,
        p.container_weight,
        p.total_gross_weight,
        p.status,
        now
    ])?;
    tx.prepare_cached("DELETE FROM exit_permit_items WHERE permit_no = ?1")?
        .execute([&p.permit_no])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO exit_permit_items (permit_no, seq, bill_no, logistics_no, total_package_no)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, item) in p.items.iter().enumerate() {
        insert.execute(params![
            p.permit_no,
            i as i64 + 1,
            item.bill_no,
            item.logistics_no,
            item.total_package_no
        ])?;
    }
    Ok(())
}

/// Keep a downlink payload that could not be applied, and report it uplink; returns its id.
pub fn dead_letter(
    tx: &Transaction<'_>,
    topic: &str,
    error: &EnvelopeError,
    message_id: Option<&str>,
    payload: &[u8],
) -> Result<i64, StoreError> {
    let received_at = super::now();
    let detail = error.to_string();
    tx.prepare_cached(
        "INSERT INTO dead_letters (received_at, topic, reason, detail, message_id, bytes, payload)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        received_at,
        topic,
        error.code(),
        detail,
        message_id,
        payload.len() as i64,
        &payload[..payload.len().min(DEAD_LETTER_KEEP)]
    ])?;
    let id = tx.last_insert_rowid();
    let body = uplink::DeadLetter {
        dead_letter_id: id,
        topic: topic.to_owned(),
        reason: error.code().to_owned(),
        detail,
        message_id: message_id.map(str::to_owned),
        bytes: payload.len(),
        received_at,
    };
    outbox::enqueue(tx, Stream::Health, uplink::kind::DEAD_LETTER, &body)?;
    Ok(id)
}

/// A dead letter as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeadLetterRow {
    /// Record id.
    pub id: i64,
    /// When it came.
    pub received_at: String,
    /// Its topic.
    pub topic: String,
    /// Reason code.
    pub reason: String,
    /// Reason in words.
    pub detail: String,
    /// Message id, when the envelope could be read.
    pub message_id: Option<String>,
    /// Size in bytes.
    pub bytes: i64,
}

/// The most recent dead letters, newest first.
pub fn dead_letters(conn: &Connection, limit: u32) -> Result<Vec<DeadLetterRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, received_at, topic, reason, detail, message_id, bytes FROM dead_letters
         ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(DeadLetterRow {
            id: r.get(0)?,
            received_at: r.get(1)?,
            topic: r.get(2)?,
            reason: r.get(3)?,
            detail: r.get(4)?,
            message_id: r.get(5)?,
            bytes: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
#[path = "downlink_tests.rs"]
mod tests;
