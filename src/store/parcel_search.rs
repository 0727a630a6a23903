//! Finding parcels, and reading one parcel's whole story.
//!
//! - [`search`]: the search box of the consoles — a waybill, order or list number (exact or
//!   prefix) or a PLC tracking number, other exact filters, a time range on entry, newest
//!   first, paged by id (keyset: a page never shifts when parcels keep coming). The numbers
//!   and the time range are looked up through indexes; a search with none of them walks the
//!   parcels newest first (by id) and stops at the page's end.
//! - [`detail()`]: what an officer reads about one parcel — its declaration list and goods,
//!   what was measured, the evidence, the flags, instructions and inspection results, and a
//!   timeline of every event the store holds for it, read in one snapshot.

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use serde::Serialize;

use super::StoreError;
use super::parcels::{self, ParcelView, VIEW_COLUMNS};

mod detail;
mod timeline;

pub use detail::{
    Declaration, EvidenceItem, Flag, Goods, Instruction, ParcelDetail, TimelineEvent, declaration,
    detail,
};

/// Most parcels on one page.
pub const MAX_LIMIT: u32 = 500;
/// Parcels on a page when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 100;

/// What to look for: every filter given must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    /// A waybill, order number or list number (exact or prefix, case as typed), or a PLC
    /// tracking number (exact).
    pub q: Option<String>,
    /// This waybill (exact).
    pub waybill: Option<String>,
    /// This order number (exact).
    pub order_no: Option<String>,
    /// This list number (exact).
    pub invt_no: Option<String>,
    /// Entered at or after this time (as stored: RFC 3339 UTC, milliseconds).
    pub from: Option<String>,
    /// Entered before this time (as stored).
    pub to: Option<String>,
    /// `release`, `inspection` or `exception`.
    pub lane_kind: Option<String>,
    /// Parcels on the page, 1..=[`MAX_LIMIT`].
    pub limit: u32,
    /// Only parcels with a smaller id: the `next_before_id` of the page before.
    pub before_id: Option<i64>,
}

impl Default for Search {
    fn default() -> Self {
        Self {
            q: None,
            waybill: None,
            order_no: None,
            invt_no: None,
            from: None,
            to: None,
            lane_kind: None,
            limit: DEFAULT_LIMIT,
            before_id: None,
        }
    }
}

/// A parcel found, with the head of its declaration list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// The parcel, its fields at the top level of the hit.
    #[serde(flatten)]
    pub parcel: ParcelView,
    /// Trade mode of its declaration list (9610, 9710, 9810, 1210).
    pub trade_mode: Option<String>,
    /// List number.
    pub invt_no: Option<String>,
    /// Order number.
    pub order_no: Option<String>,
    /// Destination country.
    pub country: Option<String>,
}

/// One page of parcels, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Page {
    /// At most the search's `limit`.
    pub parcels: Vec<Hit>,
    /// Pass as `before_id` for the next page; `null` on the last page.
    pub next_before_id: Option<i64>,
}

/// The SQL of a search and its arguments.
fn search_sql(s: &Search) -> (String, Vec<Value>) {
    let mut conds: Vec<String> = Vec::new();
    let mut args: Vec<Value> = Vec::new();
    let mut arg = |v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    if let Some(q) = &s.q {
        let (lo, hi) = (arg(q.clone().into()), arg(format!("{q}\u{10FFFF}").into()));
        // Each branch reads one index; the parcels found are then read by id.
        let mut branches = vec![
            format!("SELECT id FROM parcels WHERE logistics_no >= {lo} AND logistics_no < {hi}"),
            format!(
                "SELECT pp.id FROM declaration_lists dl JOIN parcels pp ON pp.logistics_no = dl.logistics_no
                 WHERE dl.order_no >= {lo} AND dl.order_no < {hi}"
            ),
            format!(
                "SELECT pp.id FROM declaration_lists dl JOIN parcels pp ON pp.logistics_no = dl.logistics_no
                 WHERE dl.invt_no >= {lo} AND dl.invt_no < {hi}"
            ),
        ];
        if let Ok(tracking) = q.parse::<u16>() {
            let t = arg(i64::from(tracking).into());
            branches.push(format!("SELECT id FROM parcels WHERE tracking_no = {t}"));
        }
        conds.push(format!("p.id IN ({})", branches.join(" UNION ")));
    }
    if let Some(w) = &s.waybill {
        conds.push(format!("p.logistics_no = {}", arg(w.clone().into())));
    }
    for (column, value) in [("order_no", &s.order_no), ("invt_no", &s.invt_no)] {
        if let Some(v) = value {
            conds.push(format!(
                "p.logistics_no IN (SELECT logistics_no FROM declaration_lists WHERE {column} = {})",
                arg(v.clone().into())
            ));
        }
    }
    if let Some(from) = &s.from {
        conds.push(format!("p.entered_at >= {}", arg(from.clone().into())));
    }
    if let Some(to) = &s.to {
        conds.push(format!("p.entered_at < {}", arg(to.clone().into())));
    }
    if let Some(kind) = &s.lane_kind {
        conds.push(format!("p.lane_kind = {}", arg(kind.clone().into())));
    }
    if let Some(before) = s.before_id {
        conds.push(format!("p.id < {}", arg(before.into())));
    }
    // One more than the page: whether there is a next page is known without another query.
    let limit = arg(i64::from(s.limit.clamp(1, MAX_LIMIT) + 1).into());
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    let sql = format!(
        "SELECT {VIEW_COLUMNS}, d.trade_mode, d.invt_no, d.order_no, d.country
         FROM parcels p LEFT JOIN declaration_lists d ON d.logistics_no = p.logistics_no
         {filter} ORDER BY p.id DESC LIMIT {limit}"
    );
    (sql, args)
}

fn hit(r: &rusqlite::Row<'_>) -> rusqlite::Result<Hit> {
    Ok(Hit {
        parcel: parcels::view(r)?,
        trade_mode: r.get(13)?,
        invt_no: r.get(14)?,
        order_no: r.get(15)?,
        country: r.get(16)?,
    })
}

/// One page of the parcels that match `s`, newest first.
pub fn search(conn: &Connection, s: &Search) -> Result<Page, StoreError> {
    let (sql, args) = search_sql(s);
    let mut parcels: Vec<Hit> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), hit)?
        .collect::<Result<_, _>>()?;
    let limit = s.limit.clamp(1, MAX_LIMIT) as usize;
    let next_before_id = (parcels.len() > limit).then(|| {
        parcels.truncate(limit);
        parcels.last().map(|h| h.parcel.id)
    });
    Ok(Page {
        parcels,
        next_before_id: next_before_id.flatten(),
    })
}

#[cfg(test)]
mod tests;
