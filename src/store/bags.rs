//! Bags (总包): parcels that drop into a release lane go into that lane's open bag; an
//! operator closes it with its number (`totalPackageNo`), and the closed bag, with its
//! parcels and their declared and measured weights, goes uplink. A bag holding a parcel
//! with an open interception is **marked** until the retrieval is recorded.

use customs_edge_protocol::uplink::{self, Stream};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{StoreError, outbox};

/// Longest bag number accepted, in characters.
pub const BAG_NO_MAX_CHARS: usize = 64;

/// A bag as the consoles and the gate's load check see it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BagView {
    /// Record id.
    pub id: i64,
    /// Its number, once closed.
    pub bag_no: Option<String>,
    /// The line of the release lane it stands at.
    pub line_id: String,
    /// Release lane.
    pub lane: i64,
    /// When it was opened (its first parcel dropped).
    pub opened_at: String,
    /// When it was closed.
    pub closed_at: Option<String>,
    /// Who closed it.
    pub closed_by: Option<String>,
    /// Parcels in it.
    pub parcels: i64,
    /// Open interceptions of its parcels: marked while above 0.
    pub open_interceptions: i64,
    /// Its parcels' measured weights added up, kg.
    pub measured_kg: Option<f64>,
}

/// One parcel of a bag, for the bag list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BagLine {
    /// Its record id, for the parcel's page.
    pub parcel_id: i64,
    /// Its waybill.
    pub logistics_no: Option<String>,
    /// Declared gross weight, kg.
    pub declared_kg: Option<f64>,
    /// Measured weight, kg.
    pub measured_kg: Option<f64>,
    /// How it was decided (`release`, or what put it here by mistake).
    pub lane_kind: Option<String>,
    /// When it dropped.
    pub dropped_at: Option<String>,
    /// Its open interception, if any.
    pub interception_id: Option<i64>,
}

const SELECT: &str =
    "SELECT b.id, b.bag_no, b.line_id, b.lane, b.opened_at, b.closed_at, b.closed_by,
        (SELECT count(*) FROM parcels p WHERE p.bag_id = b.id),
        (SELECT count(*) FROM interceptions i WHERE i.bag_id = b.id AND i.retrieved_at IS NULL),
        (SELECT sum(p.weight_kg) FROM parcels p WHERE p.bag_id = b.id)
    FROM bags b";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BagView> {
    Ok(BagView {
        id: r.get(0)?,
        bag_no: r.get(1)?,
        line_id: r.get(2)?,
        lane: r.get(3)?,
        opened_at: r.get(4)?,
        closed_at: r.get(5)?,
        closed_by: r.get(6)?,
        parcels: r.get(7)?,
        open_interceptions: r.get(8)?,
        measured_kg: r.get(9)?,
    })
}

/// Put a parcel that dropped into release lane `lane` into that lane's open bag (opening
/// one if none is); returns the bag's id.
pub fn put_in_open_bag(
    tx: &Transaction<'_>,
    parcel_id: i64,
    line_id: &str,
    lane: u16,
    at: &str,
) -> Result<i64, StoreError> {
    let open: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM bags WHERE line_id = ?1 AND lane = ?2 AND closed_at IS NULL",
        )?
        .query_row(params![line_id, lane], |r| r.get(0))
        .optional()?;
    let bag = if let Some(id) = open {
        id
    } else {
        tx.prepare_cached("INSERT INTO bags (line_id, lane, opened_at) VALUES (?1, ?2, ?3)")?
            .execute(params![line_id, lane, at])?;
        tx.last_insert_rowid()
    };
    tx.prepare_cached("UPDATE parcels SET bag_id = ?2 WHERE id = ?1")?
        .execute(params![parcel_id, bag])?;
    Ok(bag)
}

/// Close the open bag of `line_id`'s lane `lane` with number `bag_no`, by `actor`;
/// audited and uplink. `None` when the lane has no open bag.
pub fn close(
    tx: &Transaction<'_>,
    line_id: &str,
    lane: u16,
    bag_no: &str,
    actor: &str,
) -> Result<Option<BagView>, StoreError> {
    let bag_no = bag_no.trim();
    if bag_no.is_empty() || bag_no.chars().count() > BAG_NO_MAX_CHARS {
        return Err(StoreError::Invalid(format!(
            "a bag number has 1 to {BAG_NO_MAX_CHARS} characters"
        )));
    }
    let taken: Option<i64> = tx
        .prepare_cached("SELECT id FROM bags WHERE bag_no = ?1")?
        .query_row([bag_no], |r| r.get(0))
        .optional()?;
    if let Some(other) = taken {
        return Err(StoreError::Invalid(format!(
            "bag number {bag_no} is already used by bag {other}"
        )));
    }
    let open: Option<i64> = tx
        .prepare_cached(
            "SELECT id FROM bags WHERE line_id = ?1 AND lane = ?2 AND closed_at IS NULL",
        )?
        .query_row(params![line_id, lane], |r| r.get(0))
        .optional()?;
    let Some(id) = open else {
        return Ok(None);
    };
    let at = super::now();
    tx.prepare_cached("UPDATE bags SET bag_no = ?2, closed_at = ?3, closed_by = ?4 WHERE id = ?1")?
        .execute(params![id, bag_no, at, actor])?;
    super::append_audit(
        tx,
        &at,
        actor,
        "close_bag",
        &format!("bag:{id}"),
        &serde_json::json!({ "bag_no": bag_no, "line": line_id, "lane": lane }),
    )?;
    let view = get(tx, id)?.ok_or_else(|| StoreError::NotFound(format!("bag {id}")))?;
    let body = uplink::Bag {
        bag_id: id,
        bag_no: bag_no.to_owned(),
        line: line_id.to_owned(),
        lane: i64::from(lane),
        opened_at: view.opened_at.clone(),
        closed_at: at.clone(),
        closed_by: actor.to_owned(),
        parcels: contents(tx, id)?
            .into_iter()
            .map(|p| uplink::BagParcel {
                parcel_id: p.parcel_id,
                logistics_no: p.logistics_no,
                declared_kg: p.declared_kg,
                measured_kg: p.measured_kg,
            })
            .collect(),
    };
    outbox::enqueue(tx, Stream::Decisions, uplink::kind::BAG, &body)?;
    Ok(Some(view))
}

/// One bag.
pub fn get(conn: &Connection, id: i64) -> Result<Option<BagView>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE b.id = ?1"))?
        .query_row([id], row)
        .optional()?)
}

/// A bag by its number.
pub fn by_number(conn: &Connection, bag_no: &str) -> Result<Option<BagView>, StoreError> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE b.bag_no = ?1"))?
        .query_row([bag_no], row)
        .optional()?)
}

/// Bags, newest first: the open ones of every lane and the last `limit` closed.
pub fn list(conn: &Connection, limit: u32) -> Result<Vec<BagView>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "{SELECT} WHERE b.closed_at IS NULL OR b.id IN
                (SELECT id FROM bags WHERE closed_at IS NOT NULL ORDER BY id DESC LIMIT ?1)
             ORDER BY b.id DESC"
        ))?
        .query_map([limit], row)?
        .collect::<Result<_, _>>()?)
}

/// A bag's parcels, in the order they dropped: the bag list.
pub fn contents(conn: &Connection, bag_id: i64) -> Result<Vec<BagLine>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT p.id, p.logistics_no, d.gross_weight_kg, p.weight_kg, p.lane_kind, p.dropped_at,
                (SELECT i.id FROM interceptions i WHERE i.parcel_id = p.id AND i.retrieved_at IS NULL)
             FROM parcels p LEFT JOIN declaration_lists d ON d.logistics_no = p.logistics_no
             WHERE p.bag_id = ?1 ORDER BY p.dropped_at, p.id",
        )?
        .query_map([bag_id], |r| {
            Ok(BagLine {
                parcel_id: r.get(0)?,
                logistics_no: r.get(1)?,
                declared_kg: r.get(2)?,
                measured_kg: r.get(3)?,
                lane_kind: r.get(4)?,
                dropped_at: r.get(5)?,
                interception_id: r.get(6)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}
