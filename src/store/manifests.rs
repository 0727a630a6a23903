//! Declaration lists in the store.

use rusqlite::{OptionalExtension, Transaction, params};

use super::StoreError;
use crate::manifest::DeclarationList;
use crate::sorting::waybill::ManifestFacts;

/// Whether an upsert created a list or updated one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    /// A new list.
    Inserted,
    /// An existing list was replaced (status update or correction).
    Updated,
}

/// Insert or replace a declaration list and its goods lines.
pub fn upsert(
    tx: &Transaction<'_>,
    list: &DeclarationList,
    source: &str,
    now: &str,
) -> Result<Upserted, StoreError> {
    let existed: bool = tx
        .prepare_cached("SELECT 1 FROM declaration_lists WHERE logistics_no = ?1")?
        .exists([&list.logistics_no])?;
    tx.prepare_cached(
        "INSERT INTO declaration_lists (logistics_no, invt_no, order_no, trade_mode, ebc_code, ebc_name, country,
            gross_weight_kg, net_weight_kg, pack_no, total_package_no, loct_no, return_status, return_info,
            source, received_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)
         ON CONFLICT (logistics_no) DO UPDATE SET invt_no = excluded.invt_no, order_no = excluded.order_no,
            trade_mode = excluded.trade_mode, ebc_code = excluded.ebc_code, ebc_name = excluded.ebc_name,
            country = excluded.country, gross_weight_kg = excluded.gross_weight_kg,
            net_weight_kg = excluded.net_weight_kg, pack_no = excluded.pack_no,
            total_package_no = excluded.total_package_no, loct_no = excluded.loct_no,
            return_status = excluded.return_status, return_info = excluded.return_info,
            source = excluded.source, updated_at = excluded.updated_at",
    )?
    .execute(params![
        list.logistics_no,
        list.invt_no,
        list.order_no,
        list.trade_mode,
        list.ebc_code,
        list.ebc_name,
        list.country,
        list.gross_weight,
        list.net_weight,
        list.pack_no,
        list.total_package_no,
        list.loct_no,
        list.return_status,
        list.return_info,
        source,
        now,
    ])?;
    if !list.goods.is_empty() || !existed {
        tx.prepare_cached("DELETE FROM declaration_goods WHERE logistics_no = ?1")?
            .execute([&list.logistics_no])?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO declaration_goods (logistics_no, g_num, item_name, gcode, qty, unit, price, total_price, currency)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?;
        for g in &list.goods {
            insert.execute(params![
                list.logistics_no,
                g.gnum,
                g.item_name,
                g.gcode,
                g.qty,
                g.unit,
                g.price,
                g.total_price,
                g.currency
            ])?;
        }
    }
    Ok(if existed {
        Upserted::Updated
    } else {
        Upserted::Inserted
    })
}

/// Look up the facts of a waybill.
pub fn facts(
    conn: &rusqlite::Connection,
    logistics_no: &str,
) -> Result<Option<ManifestFacts>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT return_status, gross_weight_kg, ebc_code FROM declaration_lists
             WHERE logistics_no = ?1",
        )?
        .query_row([logistics_no], |r| {
            Ok(ManifestFacts {
                return_status: r.get(0)?,
                gross_weight_kg: r.get(1)?,
                ebc_code: r.get(2)?,
            })
        })
        .optional()?)
}

/// Number of declaration lists held.
pub fn count(conn: &rusqlite::Connection) -> Result<i64, StoreError> {
    Ok(conn.query_row("SELECT count(*) FROM declaration_lists", [], |r| r.get(0))?)
}
