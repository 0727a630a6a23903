//! What an exit permit's items name, as the gate's load check needs it
//! ([`crate::gates::load`]): three reads joined on the permit's items, each through an
//! index, so a permit of thousands of waybills is read in milliseconds.

use std::collections::HashMap;

use rusqlite::Connection;

use super::StoreError;
use crate::gates::load::{BagFacts, Load, LoadItem, ParcelFacts};

/// The parcel columns every read below selects, after its own leading columns.
const PARCEL: &str = "p.id, p.logistics_no, p.lane_kind = 'release', p.bag_id IS NOT NULL,
    d.return_status,
    (SELECT i.id FROM interceptions i WHERE i.parcel_id = p.id AND i.retrieved_at IS NULL),
    EXISTS (SELECT 1 FROM interceptions i WHERE i.parcel_id = p.id AND i.retrieved_at IS NOT NULL)";

fn parcel(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<ParcelFacts> {
    Ok(ParcelFacts {
        parcel_id: r.get(at)?,
        logistics_no: r.get(at + 1)?,
        released: r.get::<_, Option<bool>>(at + 2)?.unwrap_or(false),
        in_release_lane: r.get(at + 3)?,
        status: r.get(at + 4)?,
        open_interception: r.get(at + 5)?,
        retrieved: r.get(at + 6)?,
    })
}

/// Everything permit `permit_no` names.
pub fn load(conn: &Connection, permit_no: &str) -> Result<Load, StoreError> {
    let items: Vec<LoadItem> = conn
        .prepare_cached(
            "SELECT bill_no, logistics_no, total_package_no FROM exit_permit_items
             WHERE permit_no = ?1 ORDER BY seq",
        )?
        .query_map([permit_no], |r| {
            Ok(LoadItem {
                bill_no: r.get(0)?,
                logistics_no: r.get(1)?,
                total_package_no: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut load = Load {
        permit_no: permit_no.to_owned(),
        items,
        ..Load::default()
    };
    // Bags by number, with their parcels (an empty closed bag has none).
    let mut stmt = conn.prepare_cached(
        "SELECT b.bag_no, b.closed_at IS NOT NULL FROM exit_permit_items it
         JOIN bags b ON b.bag_no = it.total_package_no WHERE it.permit_no = ?1",
    )?;
    for row in stmt.query_map([permit_no], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
        let (bag_no, closed) = row?;
        load.bags.insert(
            bag_no,
            BagFacts {
                closed,
                parcels: Vec::new(),
            },
        );
    }
    let sql = format!(
        "SELECT b.bag_no, {PARCEL} FROM exit_permit_items it
         JOIN bags b ON b.bag_no = it.total_package_no
         JOIN parcels p ON p.bag_id = b.id
         LEFT JOIN declaration_lists d ON d.logistics_no = p.logistics_no
         WHERE it.permit_no = ?1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    for row in stmt.query_map([permit_no], |r| Ok((r.get::<_, String>(0)?, parcel(r, 1)?)))? {
        let (bag_no, p) = row?;
        if let Some(bag) = load.bags.get_mut(&bag_no) {
            bag.parcels.push(p);
        }
    }
    // Bills: the waybills of the declaration lists with that list number.
    let mut stmt = conn.prepare_cached(
        "SELECT it.bill_no, d.logistics_no FROM exit_permit_items it
         JOIN declaration_lists d ON d.invt_no = it.bill_no WHERE it.permit_no = ?1",
    )?;
    for row in stmt.query_map([permit_no], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })? {
        let (bill, waybill) = row?;
        load.bills.entry(bill).or_default().push(waybill);
    }
    // Waybills named directly, and those of the bills: the parcels sorted here.
    let sql = format!(
        "SELECT {PARCEL} FROM parcels p
         LEFT JOIN declaration_lists d ON d.logistics_no = p.logistics_no
         WHERE p.logistics_no IN (
            SELECT logistics_no FROM exit_permit_items WHERE permit_no = ?1 AND logistics_no IS NOT NULL
            UNION SELECT d2.logistics_no FROM exit_permit_items it
                JOIN declaration_lists d2 ON d2.invt_no = it.bill_no WHERE it.permit_no = ?1)"
    );
    let mut waybills: HashMap<String, Vec<ParcelFacts>> = HashMap::new();
    let mut stmt = conn.prepare_cached(&sql)?;
    for row in stmt.query_map([permit_no], |r| parcel(r, 0))? {
        let p = row?;
        if let Some(no) = p.logistics_no.clone() {
            waybills.entry(no).or_default().push(p);
        }
    }
    load.waybills = waybills;
    Ok(load)
}
