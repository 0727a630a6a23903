//! Gate passes searched by plate, permit, lane and time, and the same as CSV:
//! `GET /api/gates/passes/search` and `GET /api/gates/passes/export.csv` (`?lang=zh`
//! for Chinese headers and verdicts).

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::alarm_center::utc_param;
use super::auth::{ErrorBody, NotLoggedIn};
use super::{ApiError, AppState, WebState};
use crate::store::passes::{self, PassSearch, PassView};

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(export))
}

/// Which passes.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PassQuery {
    /// Part of the plate (`闽G`, `3K7`), at most 16 characters.
    #[param(max_length = 16)]
    plate: Option<String>,
    /// Part of the permit number, at most 64 characters.
    #[param(max_length = 64)]
    permit: Option<String>,
    /// One lane only.
    #[param(max_length = 64)]
    gate: Option<String>,
    /// At or after (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    from: Option<String>,
    /// Before (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime, max_length = 40)]
    to: Option<String>,
    /// How many, newest first (1..=5000; default 200, the export 5000).
    #[param(minimum = 1, maximum = 5000)]
    limit: Option<u32>,
    /// `zh` for Chinese headers and verdicts in the export.
    #[param(max_length = 8)]
    lang: Option<String>,
}

impl PassQuery {
    fn search(&self) -> Result<PassSearch, ApiError> {
        use super::limits::{self, opt};
        opt("plate", self.plate.as_deref(), limits::PLATE)?;
        opt("permit", self.permit.as_deref(), limits::PERMIT_NO)?;
        opt("gate", self.gate.as_deref(), limits::ID)?;
        opt("lang", self.lang.as_deref(), limits::LANG)?;
        Ok(PassSearch {
            plate: self.plate.clone(),
            permit: self.permit.clone(),
            gate: self.gate.clone().filter(|g| !g.is_empty()),
            from: utc_param("from", self.from.as_deref())?,
            to: utc_param("to", self.to.as_deref())?,
        })
    }
}

/// Gate passes by plate, permit, lane and time, newest first.
#[utoipa::path(get, path = "/api/gates/passes/search", tag = "gates", params(PassQuery),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Matching passes, newest first", body = [PassView]),
        (status = 400, description = "`from` or `to` is not RFC 3339", body = ErrorBody),
        NotLoggedIn,
        (status = 503, description = "The store is not available", body = ErrorBody)))]
async fn search(
    State(state): State<AppState>,
    Query(q): Query<PassQuery>,
) -> Result<Json<Vec<PassView>>, ApiError> {
    let search = q.search()?;
    let limit = super::errors::in_range("limit", q.limit, 1, 5000)?.unwrap_or(200);
    Ok(Json(
        state
            .store
            .reader
            .read(move |c| passes::search_passes(c, &search, limit))
            .await?,
    ))
}

/// The same passes as CSV (UTF-8 with a byte-order mark), times in Beijing time.
#[utoipa::path(get, path = "/api/gates/passes/export.csv", tag = "gates", params(PassQuery),
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Matching passes as CSV", body = String, content_type = "text/csv"),
        (status = 400, description = "`from` or `to` is not RFC 3339", body = ErrorBody),
        NotLoggedIn,
        (status = 503, description = "The store is not available", body = ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    Query(q): Query<PassQuery>,
) -> Result<Response, ApiError> {
    let search = q.search()?;
    let limit = super::errors::in_range("limit", q.limit, 1, 5000)?.unwrap_or(5000);
    let zh = q.lang.as_deref() == Some("zh");
    let rows = state
        .store
        .reader
        .read(move |c| passes::search_passes(c, &search, limit))
        .await?;
    Ok(super::csv::attachment("gate_passes.csv", csv(&rows, zh)))
}

fn verdict_zh(v: &str) -> &str {
    match v {
        "released" => "放行",
        "refused" => "拒绝放行",
        "override" => "人工放行",
        "entered" => "入区",
        other => other,
    }
}

/// The passes as CSV text: RFC 4180, CRLF, a byte-order mark; formula-like cells guarded.
fn csv(rows: &[PassView], zh: bool) -> String {
    let head: [&str; 9] = if zh {
        [
            "时间（北京时间）",
            "通道",
            "方向",
            "车牌",
            "核放单",
            "重量 kg",
            "结论",
            "原因",
            "人工放行",
        ]
    } else {
        [
            "time_beijing",
            "gate",
            "direction",
            "plate",
            "permit",
            "weight_kg",
            "verdict",
            "reasons",
            "override_by",
        ]
    };
    let mut out = String::from("\u{feff}");
    line(&mut out, head.iter().map(|s| (*s).to_owned()));
    for p in rows {
        let reasons: Vec<String> = p
            .reasons
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let key = if zh { "zh" } else { "code" };
                r[key]
                    .as_str()
                    .or(r["code"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        let at = chrono::DateTime::parse_from_rfc3339(&p.at).map_or_else(
            |_| p.at.clone(),
            |t| {
                t.with_timezone(&crate::store::beijing())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            },
        );
        let verdict = if zh {
            verdict_zh(&p.verdict)
        } else {
            p.verdict.as_str()
        };
        let override_by = match (&p.override_by, &p.override_reason) {
            (Some(by), Some(why)) => format!("{by}: {why}"),
            (Some(by), None) => by.clone(),
            _ => String::new(),
        };
        line(
            &mut out,
            [
                at,
                p.gate_id.clone(),
                p.direction.clone(),
                p.plate.clone().unwrap_or_default(),
                p.permit_no.clone().unwrap_or_default(),
                p.weight_kg.map(|w| format!("{w:.0}")).unwrap_or_default(),
                verdict.to_owned(),
                reasons.join(if zh { "；" } else { "; " }),
                override_by,
            ],
        );
    }
    out
}

fn line(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        super::csv::push_field(out, &f);
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_export_in_chinese_with_guarded_cells() {
        let p = PassView {
            id: 1,
            gate_id: "K1".into(),
            direction: "out".into(),
            plate: Some("闽G3K7H6".into()),
            permit_no: Some("HF1".into()),
            weight_kg: Some(32000.4),
            verdict: "override".into(),
            reasons: serde_json::json!([{ "code": "permit_not_approved", "zh": "核放单未审批", "detail": "" }]),
            led_text: None,
            override_by: Some("cao.zuo + guan.li".into()),
            override_reason: Some("=cmd".into()),
            consensus: serde_json::Value::Null,
            at: "2026-12-06T04:00:00.000Z".into(),
            cleared_at: None,
            vehicles: None,
            snapshots: Vec::new(),
        };
        let text = csv(&[p], true);
        assert!(text.starts_with('\u{feff}'));
        let rows: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
        assert!(rows[0].starts_with("时间（北京时间）,通道"), "{text}");
        assert_eq!(
            rows[1],
            "2026-12-06 12:00:00,K1,out,闽G3K7H6,HF1,32000,人工放行,核放单未审批,cao.zuo + guan.li: =cmd"
        );
    }
}
