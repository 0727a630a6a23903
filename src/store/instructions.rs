//! Customs instructions and officer flags: what stands against a parcel besides its status.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use customs_edge_protocol::uplink::{self, Stream};

use super::{StoreError, outbox};
use crate::sorting::waybill::InstructionKind;

/// Record an instruction for a waybill; the newest one stands.
pub fn add_instruction(
    tx: &Transaction<'_>,
    logistics_no: &str,
    kind: InstructionKind,
    reason: Option<&str>,
    source: &str,
    issued_at: &str,
) -> Result<i64, StoreError> {
    tx.prepare_cached(
        "INSERT INTO customs_instructions (logistics_no, kind, reason, source, issued_at, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![logistics_no, kind.as_str(), reason, source, issued_at, super::now()])?;
    Ok(tx.last_insert_rowid())
}

/// The instruction that stands for a waybill, if any.
pub fn standing_instruction(
    conn: &Connection,
    logistics_no: &str,
) -> Result<Option<InstructionKind>, StoreError> {
    let kind: Option<String> = conn
        .prepare_cached("SELECT kind FROM customs_instructions WHERE logistics_no = ?1 ORDER BY id DESC LIMIT 1")?
        .query_row([logistics_no], |r| r.get(0))
        .optional()?;
    Ok(kind.as_deref().and_then(InstructionKind::parse))
}

/// An officer's flag: inspect this parcel (by record id) or every parcel of this waybill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerFlag<'a> {
    /// The parcel on the line, when flagged from the X-ray view.
    pub parcel_id: Option<i64>,
    /// The waybill, when flagged by number.
    pub logistics_no: Option<&'a str>,
    /// Who flagged it.
    pub officer: &'a str,
    /// Why (mandatory).
    pub reason: &'a str,
}

/// Record an officer flag and append it to the audit log, in one transaction (see
/// [`add_flag_acting`]).
pub fn add_flag(tx: &Transaction<'_>, flag: &OfficerFlag<'_>) -> Result<i64, StoreError> {
    add_flag_acting(tx, flag).map(|(id, _)| id)
}

/// Record an officer flag, append it to the audit log, and act on the parcels it names
/// that were already decided for release (a late hold for the line, or an interception):
/// returns the flag's id and what was done.
pub fn add_flag_acting(
    tx: &Transaction<'_>,
    flag: &OfficerFlag<'_>,
) -> Result<(i64, Vec<super::holds::LateHold>), StoreError> {
    if flag.parcel_id.is_none() && flag.logistics_no.is_none() {
        return Err(StoreError::Invalid(
            "a flag names a parcel or a waybill".into(),
        ));
    }
    if flag.reason.trim().is_empty() {
        return Err(StoreError::Invalid("a flag needs a reason".into()));
    }
    let at = super::now();
    tx.prepare_cached("INSERT INTO officer_flags (parcel_id, logistics_no, officer, reason, at) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![flag.parcel_id, flag.logistics_no, flag.officer, flag.reason, at])?;
    let id = tx.last_insert_rowid();
    let subject = flag.parcel_id.map_or_else(
        || format!("waybill:{}", flag.logistics_no.unwrap_or_default()),
        |p| format!("parcel:{p}"),
    );
    super::append_audit(
        tx,
        &at,
        flag.officer,
        "flag_for_inspection",
        &subject,
        &serde_json::json!({ "reason": flag.reason }),
    )?;
    let body = uplink::OfficerAction {
        action_id: id,
        actor: flag.officer.to_owned(),
        action: "flag_for_inspection".to_owned(),
        parcel_id: flag.parcel_id,
        logistics_no: flag.logistics_no.map(str::to_owned),
        reason: flag.reason.to_owned(),
        at,
    };
    outbox::enqueue(tx, Stream::Officer, uplink::kind::OFFICER_ACTION, &body)?;
    let cause = format!("officer_flag:{id}");
    let late = match (flag.parcel_id, flag.logistics_no) {
        (Some(p), _) => super::holds::after_hold(tx, super::holds::HoldTarget::Parcel(p), &cause)?,
        (None, Some(no)) => {
            super::holds::after_hold(tx, super::holds::HoldTarget::Waybill(no), &cause)?
        }
        (None, None) => Vec::new(),
    };
    Ok((id, late))
}

/// How many officer flags stand against this parcel or its waybill.
pub fn flags_against(
    conn: &Connection,
    parcel_id: i64,
    logistics_no: Option<&str>,
) -> Result<u32, StoreError> {
    Ok(conn
        .prepare_cached("SELECT count(*) FROM officer_flags WHERE parcel_id = ?1 OR (?2 IS NOT NULL AND logistics_no = ?2)")?
        .query_row(params![parcel_id, logistics_no], |r| r.get(0))?)
}
