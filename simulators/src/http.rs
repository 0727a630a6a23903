//! The simulator's HTTP API (one for every line): inject parcels and faults, read the
//! ground truth.
//!
//! - `GET /healthz` → `{"status":"ok"}`
//! - `POST /parcels` with a [`NewParcel`] → `201 {"id": N, "line": "L1"}`; a body that
//!   is not that JSON, or an unknown line → `400 {"error": "..."}`; a full feeder → `503`.
//! - `POST /faults` with a [`FaultRequest`] → `201 {"kind": ..., "duration_ms": N,
//!   "lines": ["L1", ...]}`; a bad request → `400`.
//! - `GET /report` → the [`Report`](crate::report::Report); `GET /report?line=L1` → that
//!   line's; an unknown line → `404`.
//! - `GET /summary` (also `?line=L1`) → the report without the parcel and command lists.
//! - `GET /gates/report` → the gate lanes' [`GateReport`](crate::vehicles::GateReport);
//!   `404` when the site has no gate lanes.
//! - `POST /gates/vehicles` with a [`VehicleSpec`] → `201 {"id": N, "lane": "G1"}`; a body
//!   that is not that JSON, or a lane that does not fit → `400`; no gate lanes → `404`.
//! - `POST /bags/close`, `POST /bags/retrieve` → the bag-label scanner at the release
//!   lane, worked by hand ([`bags`]); `POST /holds` → customs holds (or releases) a
//!   parcel: the gate judge's custody truth.
//!
//! The `Content-Type` of a request body is not checked, so a plain `curl -d` works.
//! Anything else is a `404` with a JSON error listing the routes.

use std::io;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

mod bags;

use crate::faults::{FaultRequest, FaultSource};
use crate::parcel::NewParcel;
use crate::site::{FaultError, Site};
use crate::vehicles::VehicleSpec;

/// The API's routes over `site`.
pub fn router(site: Site) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/parcels", post(add_parcel))
        .route("/faults", post(add_fault))
        .route("/report", get(report))
        .route("/summary", get(summary))
        .route("/gates/report", get(gate_report))
        .route("/gates/vehicles", post(add_vehicle))
        .route("/bags/close", post(bags::close))
        .route("/bags/retrieve", post(bags::retrieve))
        .route("/holds", post(bags::hold))
        .fallback(not_found)
        .with_state(site)
}

/// Serve the API on `listener` until `shutdown` fires.
pub async fn run(listener: TcpListener, site: Site, shutdown: CancellationToken) -> io::Result<()> {
    axum::serve(listener, router(site))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `?line=L1`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LineQuery {
    line: Option<String>,
}

fn report_response(site: &Site, query: &LineQuery, with_parcels: bool) -> Response {
    match site.report(query.line.as_deref(), with_parcels) {
        Ok(report) => Json(report).into_response(),
        Err(err) => error(StatusCode::NOT_FOUND, err),
    }
}

async fn report(State(site): State<Site>, Query(query): Query<LineQuery>) -> Response {
    report_response(&site, &query, true)
}

async fn summary(State(site): State<Site>, Query(query): Query<LineQuery>) -> Response {
    report_response(&site, &query, false)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

async fn add_parcel(State(site): State<Site>, body: Bytes) -> Response {
    let parcel: NewParcel = match serde_json::from_slice(&body) {
        Ok(parcel) => parcel,
        Err(err) => {
            debug!(%err, "bad POST /parcels body");
            return error(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "body must be JSON like {{\"code\": \"SF123\" or null, \"length_mm\": 400}}: {err}"
                ),
            );
        }
    };
    let code = parcel.code.clone();
    match site.inject(parcel) {
        Ok((id, line)) => {
            info!(
                id,
                line,
                code = code.as_deref().unwrap_or("<no read>"),
                "parcel injected"
            );
            (StatusCode::CREATED, Json(json!({ "id": id, "line": line }))).into_response()
        }
        Err(err) if err.is_bad_request() => error(StatusCode::BAD_REQUEST, err),
        Err(err) => error(StatusCode::SERVICE_UNAVAILABLE, err),
    }
}

async fn add_fault(State(site): State<Site>, body: Bytes) -> Response {
    let request: FaultRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "body must be JSON like {{\"kind\": \"plc_link_drop\" | \"estop\" | \
                     \"scale_fault\" | \"xray_fault\", \"duration_ms\": 5000, \"line\": \"L1\"}}: {err}"
                ),
            );
        }
    };
    match site.fault(&request, FaultSource::Api) {
        Ok(lines) => (
            StatusCode::CREATED,
            Json(json!({
                "kind": request.kind,
                "duration_ms": request.duration_ms,
                "lines": lines,
            })),
        )
            .into_response(),
        Err(err @ (FaultError::Invalid(_) | FaultError::UnknownLine(_))) => {
            error(StatusCode::BAD_REQUEST, err)
        }
    }
}

const NO_GATES: &str = "this site has no gate lanes (add [[gate]] tables to the scenario)";

async fn gate_report(State(site): State<Site>) -> Response {
    match site.traffic() {
        Some(traffic) => Json(traffic.report()).into_response(),
        None => error(StatusCode::NOT_FOUND, NO_GATES),
    }
}

async fn add_vehicle(State(site): State<Site>, body: Bytes) -> Response {
    let Some(traffic) = site.traffic() else {
        return error(StatusCode::NOT_FOUND, NO_GATES);
    };
    let spec: VehicleSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "body must be JSON like {{\"plate\": \"闽G12345\", \"true_weight_kg\": 32000, \
                     \"entitled\": true}}: {err}"
                ),
            );
        }
    };
    match traffic.queue(spec) {
        Ok((id, lane)) => {
            info!(id, lane, "vehicle queued");
            (StatusCode::CREATED, Json(json!({ "id": id, "lane": lane }))).into_response()
        }
        Err(err) => error(StatusCode::BAD_REQUEST, err),
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format_args!(
            "no route for {method} {uri}; try GET /healthz, POST /parcels, POST /faults, \
             GET /report, GET /summary, GET /gates/report, POST /gates/vehicles, \
             POST /bags/close, POST /bags/retrieve, POST /holds"
        ),
    )
}
