//! Statistics for the big screen and their CSV exports (every role may read them).
//!
//! - `GET /api/stats?from=&to=` — one answer for the statistics screen
//!   ([`crate::store::stats::Stats`]); the range defaults to the last 24 hours. Computed
//!   once per range every few seconds however many screens ask ([`cache`]).
//! - `GET /api/stats/export/{table}.csv?from=&to=` — one table of it as CSV, or every
//!   parcel of the range (`parcels.csv`, streamed page by page, never held whole). UTF-8
//!   with a byte-order mark so that Excel reads Chinese right, CRLF lines, fields quoted per
//!   RFC 4180; a text field that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`
//!   first) gets a leading `'`.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

mod cache;
mod words;

pub(super) use cache::StatsCache;

use super::auth::{AnyRole, Denied, ErrorBody, NotLoggedIn, Require};
use super::{AppState, WebState};
use crate::store::stats::{self, ParcelRow, Range, Stats};

/// The tables `GET /api/stats/export/{table}.csv` knows.
pub(super) const TABLES: [&str; 6] = [
    "parcels_per_hour",
    "by_trade_mode",
    "by_country",
    "by_hs_chapter",
    "gate_passes_per_hour",
    "parcels",
];

/// Parcels read per page of the `parcels` export.
const PAGE: usize = 2000;

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(statistics))
        .routes(routes!(export))
}

/// The language of an export.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct LangQuery {
    /// `zh`: Chinese headers and values (codes kept as text for spreadsheets); otherwise
    /// the English codes.
    #[param(max_length = 8)]
    lang: Option<String>,
}

/// The range of a statistics request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RangeQuery {
    /// Start, included, RFC 3339 (`2026-11-27T00:00:00+08:00`); default 24 hours before `to`.
    #[param(format = DateTime, max_length = 40)]
    from: Option<String>,
    /// End, excluded, RFC 3339; default now. At most 92 days after `from`.
    #[param(format = DateTime, max_length = 40)]
    to: Option<String>,
}

impl RangeQuery {
    fn range(&self, now: DateTime<Utc>) -> Result<Range, Denied> {
        let to = parse("to", self.to.as_deref())?.unwrap_or(now);
        let from = parse("from", self.from.as_deref())?.unwrap_or_else(|| Range::last_day(to).from);
        Range::new(from, to).map_err(|e| {
            Denied::new(StatusCode::BAD_REQUEST, e.message).with("parameter", e.parameter)
        })
    }
}

fn parse(name: &'static str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, Denied> {
    // Given means given: an empty or padded value is refused like any other that is not
    // an RFC 3339 time (the consoles leave an unset bound out of the query).
    let Some(text) = value else {
        return Ok(None);
    };
    super::errors::text_len(name, text, 0, super::limits::TIME)?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| Some(t.with_timezone(&Utc)))
        .map_err(|e| {
            Denied::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "{name} {text:?} is not an RFC 3339 time (like 2026-11-27T14:00:00+08:00): {e}"
                ),
            )
            .with("parameter", name)
        })
}

/// Statistics over a range: parcels per hour (Beijing time), by trade mode, country and HS
/// chapter, lanes and rates, truck stays and gate passes per hour.
#[utoipa::path(
    get,
    path = "/api/stats",
    tag = "stats",
    security(("session" = []), ("bearer" = [])),
    params(RangeQuery),
    responses(
        (status = 200, description = "The statistics of the range", body = Stats),
        (status = 400, description = "`from` or `to` is not RFC 3339, `from` is after `to`, \
            or the range spans more than 92 days; `parameter` names the one at fault", body = ErrorBody),
        NotLoggedIn,
    )
)]
pub(super) async fn statistics(
    State(state): State<AppState>,
    State(cache): State<StatsCache>,
    _who: Require<AnyRole>,
    Query(q): Query<RangeQuery>,
) -> Result<Response, Denied> {
    let range = q.range(Utc::now())?;
    let key = (q.from, q.to);
    let json = cache
        .get_or_compute(key, || async move {
            let figures = state
                .store
                .reader
                .read(move |c| stats::compute(c, range))
                .await?;
            serde_json::to_vec(&figures).map(Bytes::from).map_err(|e| {
                Denied::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("statistics: {e}"),
                )
            })
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}

/// One table of the statistics as CSV, or every parcel of the range.
#[utoipa::path(
    get,
    path = "/api/stats/export/{file}",
    tag = "stats",
    security(("session" = []), ("bearer" = [])),
    params(
        ("file" = String, Path, max_length = 64, description = "`<table>.csv`, the table one of parcels_per_hour, \
            by_trade_mode, by_country, by_hs_chapter, gate_passes_per_hour, parcels"),
        RangeQuery,
        LangQuery,
    ),
    responses(
        (status = 200, description = "The table as CSV (UTF-8 with a byte-order mark, RFC 4180, \
            an attachment); hours and parcel times in Beijing time", body = String,
            content_type = "text/csv"),
        (status = 400, description = "A bad `from` or `to`, named in `parameter`", body = ErrorBody),
        NotLoggedIn,
        (status = 404, description = "No such table; the message names the tables there are", body = ErrorBody),
    )
)]
pub(super) async fn export(
    State(state): State<AppState>,
    _who: Require<AnyRole>,
    Path(file): Path<String>,
    Query(q): Query<RangeQuery>,
    Query(lang): Query<LangQuery>,
) -> Result<Response, Denied> {
    super::limits::opt("lang", lang.lang.as_deref(), super::limits::LANG)?;
    super::errors::text_len("file", &file, 0, super::limits::ID)?;
    let zh = lang.lang.as_deref() == Some("zh");
    let table = file
        .strip_suffix(".csv")
        .filter(|t| TABLES.contains(t))
        .ok_or_else(|| {
            Denied::new(
                StatusCode::NOT_FOUND,
                format!(
                    "no table {file:?} to export; there are {}",
                    TABLES.map(|t| format!("{t}.csv")).join(", ")
                ),
            )
            .with("tables", TABLES.to_vec())
        })?
        .to_owned();
    let range = q.range(Utc::now())?;
    let name = format!("{table}_{}_{}.csv", compact(range.from), compact(range.to));
    let body = if table == "parcels" {
        parcels_body(&state, range, zh).await?
    } else {
        let figures = state
            .store
            .reader
            .read(move |c| stats::compute(c, range))
            .await?;
        Body::from(table_csv(&table, &figures, zh))
    };
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// A time for a file name: Beijing time, `20261127T1400`.
fn compact(t: DateTime<Utc>) -> String {
    t.with_timezone(&crate::store::beijing())
        .format("%Y%m%dT%H%M")
        .to_string()
}

/// A table of `stats` as CSV, with its byte-order mark.
fn table_csv(table: &str, s: &Stats, zh: bool) -> String {
    let mut csv = Csv::new();
    csv.1 = zh;
    match table {
        "parcels_per_hour" => {
            csv.head(["hour", "parcels"]);
            for h in &s.parcels_per_hour {
                csv.row([h.hour.as_str(), &h.count.to_string()]);
            }
        }
        "gate_passes_per_hour" => {
            csv.head(["hour", "in", "out", "refused", "override"]);
            for h in &s.gate_passes_per_hour {
                let n = [h.entered, h.left, h.refused, h.overridden].map(|n| n.to_string());
                csv.row([h.hour.as_str(), &n[0], &n[1], &n[2], &n[3]]);
            }
        }
        _ => {
            let (key, list) = match table {
                "by_trade_mode" => ("trade_mode", &s.by_trade_mode),
                "by_country" => ("country", &s.by_country),
                _ => ("hs_chapter", &s.by_hs_chapter),
            };
            csv.head([key, "parcels"]);
            for k in list {
                let name = if zh {
                    words::value(&k.key)
                } else {
                    k.key.as_str()
                };
                csv.row([name, &k.count.to_string()]);
            }
        }
    }
    csv.0
}

/// The `parcels` export: the first page read before answering (so a store that is down is
/// a 503, not a cut-off file), the rest read page by page as the client takes them.
async fn parcels_body(state: &AppState, range: Range, zh: bool) -> Result<Body, Denied> {
    let reader = state.store.reader.clone();
    let first = reader
        .read(move |c| stats::parcel_page(c, range, None, PAGE))
        .await?;
    let mut head = Csv::new();
    head.1 = zh;
    head.head([
        "time_beijing",
        "line",
        "waybill",
        "lane_kind",
        "lane",
        "reasons",
        "outcome",
    ]);
    let done = first.len() < PAGE;
    let cursor = first.last().map(|p| (p.entered_at.clone(), p.id));
    head.0.push_str(&parcel_lines(&first, zh));
    let rest = futures_util::stream::unfold((cursor, done), move |(cursor, done)| {
        let reader = reader.clone();
        async move {
            let after = cursor.filter(|_| !done)?;
            let page = reader
                .read(move |c| stats::parcel_page(c, range, Some(&after), PAGE))
                .await;
            match page {
                Ok(rows) => {
                    let next = rows.last().map(|p| (p.entered_at.clone(), p.id));
                    let done = rows.len() < PAGE;
                    Some((Ok(Bytes::from(parcel_lines(&rows, zh))), (next, done)))
                }
                Err(e) => {
                    // The answer has started: cutting the body off tells the client.
                    tracing::error!(error = %e, "parcels export stopped: the store failed");
                    let err = std::io::Error::other("the store failed during the export");
                    Some((Err(err), (None, true)))
                }
            }
        }
    });
    let first = futures_util::stream::once(async move { Ok(Bytes::from(head.0)) });
    Ok(Body::from_stream(first.chain(rest)))
}

fn parcel_lines(rows: &[ParcelRow], zh: bool) -> String {
    let mut csv = Csv(String::new(), zh);
    for p in rows {
        let lane = p.lane.map(|l| l.to_string()).unwrap_or_default();
        let kind = p.lane_kind.as_deref().unwrap_or("pending");
        let (kind, outcome, reasons) = if zh {
            let reasons: Vec<String> = p.reasons.iter().map(|r| words::reason(r)).collect();
            (
                words::value(kind),
                words::value(&p.outcome),
                reasons.join("；"),
            )
        } else {
            (kind, p.outcome.as_str(), p.reasons.join("; "))
        };
        csv.row([
            stats::beijing_time(&p.entered_at).as_str(),
            &p.line_id,
            p.logistics_no.as_deref().unwrap_or(""),
            kind,
            &lane,
            &reasons,
            outcome,
        ]);
    }
    csv.0
}

/// CSV text being written: RFC 4180 fields, CRLF lines; in Chinese (`.1`) when asked.
struct Csv(String, bool);

impl Csv {
    /// An empty file: just the byte-order mark.
    fn new() -> Self {
        Self("\u{feff}".to_owned(), false)
    }

    /// The header row: the codes, or their Chinese words.
    fn head<'a>(&mut self, codes: impl IntoIterator<Item = &'a str>) {
        let zh = self.1;
        self.row(
            codes
                .into_iter()
                .map(|c| if zh { words::header(c) } else { c }),
        );
    }

    fn row<'a>(&mut self, fields: impl IntoIterator<Item = &'a str>) {
        for (i, field) in fields.into_iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            self.field(field);
        }
        self.0.push_str("\r\n");
    }

    fn field(&mut self, value: &str) {
        // In a spreadsheet's export, a code it would read as a number goes in as a text
        // formula (`="09"`), which every spreadsheet shows as written.
        if self.1 && words::needs_text_guard(value) {
            self.0.push_str("\"=\"\"");
            self.0.push_str(value);
            self.0.push_str("\"\"\"");
            return;
        }
        super::csv::push_field(&mut self.0, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &[&str]) -> String {
        let mut csv = Csv(String::new(), false);
        csv.row(fields.iter().copied());
        csv.0
    }

    #[test]
    fn fields_are_quoted_only_when_they_need_it() {
        assert_eq!(line(&["a", "b c", "1"]), "a,b c,1\r\n");
        assert_eq!(
            line(&["x,y", "say \"hi\"", "two\nlines"]),
            "\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
        assert_eq!(line(&["=1+1", "@cmd"]), "\"'=1+1\",\"'@cmd\"\r\n");
        assert_eq!(line(&["闽G12345", ""]), "闽G12345,\r\n");
        assert!(Csv::new().0.starts_with('\u{feff}'));
    }

    #[test]
    fn a_bad_range_names_its_parameter() {
        let now = Utc::now();
        let q = |from: Option<&str>, to: Option<&str>| RangeQuery {
            from: from.map(str::to_owned),
            to: to.map(str::to_owned),
        };
        let r = q(None, None).range(now).unwrap();
        assert_eq!((r.to - r.from).num_hours(), 24);
        assert!(q(Some("yesterday"), None).range(now).is_err());
        assert!(q(None, Some("2026-11-27")).range(now).is_err());
        assert!(
            q(Some("2026-11-28T00:00:00Z"), Some("2026-11-27T00:00:00Z"))
                .range(now)
                .is_err()
        );
        let r = q(
            Some("2026-11-27T08:00:00+08:00"),
            Some("2026-11-27T09:00:00Z"),
        )
        .range(now)
        .unwrap();
        assert_eq!(compact(r.from), "20261127T0800");
    }
}
