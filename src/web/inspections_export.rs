//! `GET /api/inspections/export.csv?from=&to=&lang=` — every inspection result recorded in
//! a time range with its parcel's waybill and list (list number, order, trade mode,
//! destination, customs status), its goods (names, HS codes, quantities) and the officer:
//! what a customs office files. UTF-8 with a byte-order mark; times in Beijing time;
//! `lang=zh` for Chinese headers and results.

use axum::extract::{Query, State};
use axum::response::Response;
use rusqlite::{Connection, params};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::alarm_center::utc_param;
use super::auth::{ErrorBody, NotLoggedIn};
use super::{ApiError, AppState, WebState};
use crate::store::StoreError;

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new().routes(routes!(export))
}

/// Which results.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ExportQuery {
    /// Recorded at or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    from: Option<String>,
    /// Recorded before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    to: Option<String>,
    /// `zh` for Chinese headers and results.
    #[param(max_length = 8)]
    lang: Option<String>,
}

/// One result with what the export says of its parcel.
struct Row {
    at: String,
    officer: String,
    result: String,
    findings: String,
    parcel_id: i64,
    waybill: Option<String>,
    invt_no: Option<String>,
    order_no: Option<String>,
    trade_mode: Option<String>,
    country: Option<String>,
    return_status: Option<i64>,
    lane_kind: Option<String>,
    goods: Option<String>,
}

/// At most this many results in one export.
const MAX_ROWS: u32 = 20_000;

fn rows(c: &Connection, from: Option<&str>, to: Option<&str>) -> Result<Vec<Row>, StoreError> {
    let mut stmt = c.prepare_cached(
        "SELECT i.at, i.officer, i.result, i.findings, p.id, p.logistics_no, d.invt_no, d.order_no,
                d.trade_mode, d.country, d.return_status, p.lane_kind,
                (SELECT group_concat(g.item_name || ' ' || coalesce(g.gcode, '') || ' ×' ||
                        coalesce(g.qty, '') || coalesce(g.unit, ''), '; ')
                 FROM declaration_goods g WHERE g.logistics_no = p.logistics_no)
         FROM inspection_results i JOIN parcels p ON p.id = i.parcel_id
         LEFT JOIN declaration_lists d ON d.logistics_no = p.logistics_no
         WHERE (?1 IS NULL OR i.at >= ?1) AND (?2 IS NULL OR i.at < ?2)
         ORDER BY i.at, i.id LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![from, to, MAX_ROWS], |r| {
        Ok(Row {
            at: r.get(0)?,
            officer: r.get(1)?,
            result: r.get(2)?,
            findings: r.get(3)?,
            parcel_id: r.get(4)?,
            waybill: r.get(5)?,
            invt_no: r.get(6)?,
            order_no: r.get(7)?,
            trade_mode: r.get(8)?,
            country: r.get(9)?,
            return_status: r.get(10)?,
            lane_kind: r.get(11)?,
            goods: r.get(12)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Inspection results with goods, list and officer, as CSV.
#[utoipa::path(get, path = "/api/inspections/export.csv", tag = "line", params(ExportQuery),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The results as CSV (oldest first, at most 20,000)", body = String, content_type = "text/csv"),
        (status = 400, description = "`from` or `to` is not RFC 3339, or a parameter is too long", body = ErrorBody),
        NotLoggedIn,
        (status = 503, description = "The store is not available", body = ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    Query(q): Query<ExportQuery>,
) -> Result<Response, ApiError> {
    let from = utc_param("from", q.from.as_deref())?;
    let to = utc_param("to", q.to.as_deref())?;
    super::limits::opt("lang", q.lang.as_deref(), super::limits::LANG)?;
    let zh = q.lang.as_deref() == Some("zh");
    let rows = state
        .store
        .reader
        .read(move |c| rows(c, from.as_deref(), to.as_deref()))
        .await?;
    Ok(super::csv::attachment("inspections.csv", csv(&rows, zh)))
}

fn result_zh(r: &str) -> &str {
    match r {
        "conform" => "相符",
        "discrepancy" => "不符",
        "seized" => "查扣",
        "returned" => "退运",
        other => other,
    }
}

fn csv(rows: &[Row], zh: bool) -> String {
    let head: [&str; 13] = if zh {
        [
            "时间（北京时间）",
            "查验关员",
            "查验结果",
            "查验情况",
            "包裹",
            "运单号",
            "清单编号",
            "订单号",
            "贸易方式",
            "目的国",
            "海关状态",
            "分拣结论",
            "商品",
        ]
    } else {
        [
            "time_beijing",
            "officer",
            "result",
            "findings",
            "parcel_id",
            "waybill",
            "invt_no",
            "order_no",
            "trade_mode",
            "country",
            "return_status",
            "lane_kind",
            "goods",
        ]
    };
    let mut out = String::from("\u{feff}");
    push_row(&mut out, head.iter().map(|s| (*s).to_owned()));
    for r in rows {
        let at = chrono::DateTime::parse_from_rfc3339(&r.at).map_or_else(
            |_| r.at.clone(),
            |t| {
                t.with_timezone(&crate::store::beijing())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            },
        );
        let result = if zh {
            result_zh(&r.result)
        } else {
            r.result.as_str()
        };
        push_row(
            &mut out,
            [
                at,
                r.officer.clone(),
                result.to_owned(),
                r.findings.clone(),
                r.parcel_id.to_string(),
                r.waybill.clone().unwrap_or_default(),
                r.invt_no.clone().unwrap_or_default(),
                r.order_no.clone().unwrap_or_default(),
                r.trade_mode.clone().unwrap_or_default(),
                r.country.clone().unwrap_or_default(),
                r.return_status.map(|s| s.to_string()).unwrap_or_default(),
                r.lane_kind.clone().unwrap_or_default(),
                r.goods.clone().unwrap_or_default(),
            ],
        );
    }
    out
}

/// One CSV line: RFC 4180 quoting, formula-like cells guarded, long digit strings (list
/// numbers, waybills) kept as text.
fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        if f.len() > 11 && f.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str("\"=\"\"");
            out.push_str(&f);
            out.push_str("\"\"\"");
            continue;
        }
        super::csv::push_field(out, &f);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::store::inspections::{NewInspection, Outcome, record};

    #[tokio::test]
    async fn an_inspection_exports_with_its_officer_and_parcel() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .writer
            .write(|tx| {
                tx.execute(
                    "INSERT INTO parcels (line_id, tracking_no, entered_at, logistics_no)
                     VALUES ('L1', 7, '2026-12-06T01:00:00.000Z', 'SF1234')",
                    [],
                )?;
                let id = tx.last_insert_rowid();
                record(
                    tx,
                    &NewInspection {
                        parcel_id: id,
                        outcome: Outcome::Discrepancy,
                        findings: "蓝牙耳机, 两副",
                        officer: "guan.li",
                    },
                )?;
                Ok(())
            })
            .await
            .unwrap();
        let rows = store.reader.read(|c| rows(c, None, None)).await.unwrap();
        let text = csv(&rows, true);
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].starts_with("时间（北京时间）,查验关员,查验结果"),
            "{text}"
        );
        assert!(
            lines[1].contains(",guan.li,不符,\"蓝牙耳机, 两副\",1,SF1234,"),
            "{text}"
        );
    }
}
