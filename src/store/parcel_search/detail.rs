//! One parcel's detail: the parts an officer reads, each from its own table, in one
//! snapshot; the `timeline` module puts every event of them in time order.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::store::StoreError;
use crate::store::inspections::{self, Inspection};
use crate::store::parcels::{self, ParcelView};

/// The head of a declaration list and its goods, as an officer reads them.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Declaration {
    /// Waybill number.
    pub logistics_no: String,
    /// List number.
    pub invt_no: Option<String>,
    /// Order number.
    pub order_no: Option<String>,
    /// 9610, 9710, 9810, 1210.
    pub trade_mode: Option<String>,
    /// E-commerce company code.
    pub ebc_code: Option<String>,
    /// E-commerce company name.
    pub ebc_name: Option<String>,
    /// Destination country.
    pub country: Option<String>,
    /// Declared gross weight.
    pub gross_weight_kg: Option<f64>,
    /// Declared net weight.
    pub net_weight_kg: Option<f64>,
    /// Customs status (800 released).
    pub return_status: i32,
    /// Customs' words with the status.
    pub return_info: Option<String>,
    /// Its goods lines, by `gNum`.
    pub goods: Vec<Goods>,
}

/// One goods line of a declaration list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Goods {
    /// Line number.
    pub g_num: i64,
    /// What it is.
    pub item_name: String,
    /// HS code.
    pub gcode: Option<String>,
    /// Quantity.
    pub qty: Option<f64>,
    /// Unit code.
    pub unit: Option<String>,
    /// Unit price.
    pub price: Option<f64>,
    /// Line total.
    pub total_price: Option<f64>,
    /// Currency code.
    pub currency: Option<String>,
}

/// One event in a parcel's life.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TimelineEvent {
    /// When (RFC 3339 UTC).
    pub at: String,
    /// `entered`, `scan`, `reading`, `xray_entered`, `evidence`, `instruction`, `flag`,
    /// `decision`, `command_written`, `command_acked`, `drop`, `alarm` or `inspection`.
    pub kind: &'static str,
    /// What happened, by kind.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
    /// SHA-256 of the evidence file, for an `evidence` event.
    pub evidence: Option<String>,
}

/// A file evidencing the parcel: an X-ray view, a camera frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EvidenceItem {
    /// SHA-256 of the content (`GET /api/evidence/{sha256}`).
    pub sha256: String,
    /// `xray_view`, `camera_frame`, `plate_snapshot`.
    pub kind: String,
    /// The link's role (`late_view`, `camera:<id>:<point>`).
    pub role: Option<String>,
    /// When the device produced it.
    pub produced_at: Option<String>,
    /// Image width, when it decoded.
    pub width: Option<i64>,
    /// Image height, when it decoded.
    pub height: Option<i64>,
    /// Whether it decoded as an image (a thumbnail can be shown).
    pub decoded: bool,
}

/// An officer flag standing against the parcel or its waybill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Flag {
    /// Record id.
    pub id: i64,
    /// The parcel, when flagged by parcel.
    pub parcel_id: Option<i64>,
    /// The waybill, when flagged by number.
    pub logistics_no: Option<String>,
    /// The officer who flagged it, as logged in.
    pub officer: String,
    /// Why, in the officer's words.
    pub reason: String,
    /// When it was flagged (stored UTC).
    pub at: String,
}

/// A customs instruction for the parcel's waybill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Instruction {
    /// Record id.
    pub id: i64,
    /// `inspect`, `hold` or `release`.
    pub kind: String,
    /// Customs' reason.
    pub reason: Option<String>,
    /// Where it came from (platform message id, import, operator).
    pub source: String,
    /// When customs issued it.
    pub issued_at: String,
    /// When the site received it.
    pub received_at: String,
    /// The newest one for the waybill: the one that stands.
    pub standing: bool,
}

/// Everything the store holds about one parcel.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ParcelDetail {
    /// Its summary row, as the parcel list shows it.
    pub parcel: ParcelView,
    /// Its declaration list, when its waybill was read and a list is held.
    pub declaration: Option<Declaration>,
    /// What the dynamic scale measured.
    pub measured_weight_kg: Option<f64>,
    /// Whether the scale called that weight stable.
    pub weight_stable: Option<bool>,
    /// Every event, in time order.
    pub timeline: Vec<TimelineEvent>,
    /// The evidence files linked to it.
    pub evidence: Vec<EvidenceItem>,
    /// Officer flags against it or its waybill.
    pub flags: Vec<Flag>,
    /// Customs instructions for its waybill, oldest first.
    pub instructions: Vec<Instruction>,
    /// Inspection results, oldest first.
    pub inspections: Vec<Inspection>,
}

/// Everything about parcel `id`, read in one snapshot; `None` when there is no such parcel.
pub fn detail(conn: &Connection, id: i64) -> Result<Option<ParcelDetail>, StoreError> {
    // One read transaction: the parts agree with each other even while the line writes.
    let snapshot = conn.unchecked_transaction()?;
    let parcel = match parcels::get(&snapshot, id) {
        Ok(p) => p,
        Err(StoreError::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let waybill = parcel.logistics_no.clone();
    let declaration = match &waybill {
        Some(w) => declaration(&snapshot, w)?,
        None => None,
    };
    let (measured_weight_kg, weight_stable) = snapshot
        .prepare_cached("SELECT weight_kg, weight_stable FROM parcels WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let mut detail = ParcelDetail {
        parcel,
        declaration,
        measured_weight_kg,
        weight_stable,
        timeline: Vec::new(),
        evidence: evidence(&snapshot, id)?,
        flags: flags(&snapshot, id, waybill.as_deref())?,
        instructions: match &waybill {
            Some(w) => instructions(&snapshot, w)?,
            None => Vec::new(),
        },
        inspections: inspections::for_parcel(&snapshot, id)?,
    };
    detail.timeline = super::timeline::timeline(&snapshot, &detail)?;
    Ok(Some(detail))
}

/// The declaration list of `waybill` with its goods, if the site has it.
pub fn declaration(conn: &Connection, waybill: &str) -> Result<Option<Declaration>, StoreError> {
    let Some(mut list) = conn
        .prepare_cached(
            "SELECT logistics_no, invt_no, order_no, trade_mode, ebc_code, ebc_name, country, gross_weight_kg,
                net_weight_kg, return_status, return_info
             FROM declaration_lists WHERE logistics_no = ?1",
        )?
        .query_row([waybill], |r| {
            Ok(Declaration {
                logistics_no: r.get(0)?,
                invt_no: r.get(1)?,
                order_no: r.get(2)?,
                trade_mode: r.get(3)?,
                ebc_code: r.get(4)?,
                ebc_name: r.get(5)?,
                country: r.get(6)?,
                gross_weight_kg: r.get(7)?,
                net_weight_kg: r.get(8)?,
                return_status: r.get(9)?,
                return_info: r.get(10)?,
                goods: Vec::new(),
            })
        })
        .optional()?
    else {
        return Ok(None);
    };
    list.goods = conn
        .prepare_cached(
            "SELECT g_num, item_name, gcode, qty, unit, price, total_price, currency
             FROM declaration_goods WHERE logistics_no = ?1 ORDER BY g_num",
        )?
        .query_map([waybill], |r| {
            Ok(Goods {
                g_num: r.get(0)?,
                item_name: r.get(1)?,
                gcode: r.get(2)?,
                qty: r.get(3)?,
                unit: r.get(4)?,
                price: r.get(5)?,
                total_price: r.get(6)?,
                currency: r.get(7)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(Some(list))
}

fn evidence(conn: &Connection, id: i64) -> Result<Vec<EvidenceItem>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT e.sha256, e.kind, l.role, e.produced_at, e.width, e.height, e.thumb_path IS NOT NULL
         FROM evidence_links l JOIN evidence e ON e.id = l.evidence_id
         WHERE l.record_kind = ?1 AND l.record_id = ?2 ORDER BY coalesce(e.produced_at, l.linked_at), e.id",
    )?;
    let rows = stmt.query_map(
        params![crate::store::evidence_rows::RECORD_PARCEL, id],
        |r| {
            Ok(EvidenceItem {
                sha256: r.get(0)?,
                kind: r.get(1)?,
                role: r.get(2)?,
                produced_at: r.get(3)?,
                width: r.get(4)?,
                height: r.get(5)?,
                decoded: r.get(6)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn flags(conn: &Connection, id: i64, waybill: Option<&str>) -> Result<Vec<Flag>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, parcel_id, logistics_no, officer, reason, at FROM officer_flags WHERE parcel_id = ?1
         UNION
         SELECT id, parcel_id, logistics_no, officer, reason, at FROM officer_flags WHERE logistics_no = ?2
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![id, waybill], |r| {
        Ok(Flag {
            id: r.get(0)?,
            parcel_id: r.get(1)?,
            logistics_no: r.get(2)?,
            officer: r.get(3)?,
            reason: r.get(4)?,
            at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn instructions(conn: &Connection, waybill: &str) -> Result<Vec<Instruction>, StoreError> {
    let mut list: Vec<Instruction> = conn
        .prepare_cached(
            "SELECT id, kind, reason, source, issued_at, received_at FROM customs_instructions
             WHERE logistics_no = ?1 ORDER BY id",
        )?
        .query_map([waybill], |r| {
            Ok(Instruction {
                id: r.get(0)?,
                kind: r.get(1)?,
                reason: r.get(2)?,
                source: r.get(3)?,
                issued_at: r.get(4)?,
                received_at: r.get(5)?,
                standing: false,
            })
        })?
        .collect::<Result<_, _>>()?;
    if let Some(newest) = list.last_mut() {
        newest.standing = true;
    }
    Ok(list)
}
