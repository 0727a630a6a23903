//! The simulator's HTTP API: inject parcels and read the ground truth.
//!
//! - `GET /healthz` → `{"status":"ok"}`
//! - `POST /parcels` with `{"code": "SF123" | null, "length_mm": 400}` (`length_mm`
//!   optional) → `201 {"id": N}`; a body that is not that JSON → `400 {"error": "..."}`;
//!   a full feeder → `503 {"error": "..."}`. The `Content-Type` is not checked, so a plain
//!   `curl -d` works.
//! - `GET /report` → the [`Report`](crate::report::Report) as JSON.
//!
//! Anything else is a `404` with a JSON error listing the routes.

use std::io;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::line::SharedLine;
use crate::parcel::NewParcel;

/// The API's routes over `line`.
pub fn router(line: SharedLine) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/parcels", post(add_parcel))
        .route("/report", get(report))
        .fallback(not_found)
        .with_state(line)
}

/// Serve the API on `listener` until `shutdown` fires.
pub async fn run(
    listener: TcpListener,
    line: SharedLine,
    shutdown: CancellationToken,
) -> io::Result<()> {
    axum::serve(listener, router(line))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn report(State(line): State<SharedLine>) -> Response {
    Json(line.report()).into_response()
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

async fn add_parcel(State(line): State<SharedLine>, body: Bytes) -> Response {
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
    match line.with(|c, now| c.inject(now, parcel)) {
        Ok(id) => {
            info!(
                id,
                code = code.as_deref().unwrap_or("<no read>"),
                "parcel injected"
            );
            (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
        }
        Err(err) if err.is_bad_request() => error(StatusCode::BAD_REQUEST, err),
        Err(err) => error(StatusCode::SERVICE_UNAVAILABLE, err),
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format_args!("no route for {method} {uri}; try GET /healthz, POST /parcels, GET /report"),
    )
}
