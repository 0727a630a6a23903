//! The HTTP server: the console page, its JSON API, live updates, `/healthz` and `/metrics`.
//!
//! Static assets come from `web-ui/`, embedded in the binary: the site is offline, nothing
//! loads from a CDN. Every `/api` route except setup and login is behind `auth::guard`
//! (a logged-in session or an operator's bearer token); `/healthz`, `/metrics` and the
//! assets are open.

mod assets;
pub mod auth;
mod gates;
mod officer;

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRef, MatchedPath, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;

use crate::health::Health;
use crate::store::parcels::{self, ParcelView};
use crate::store::{Store, StoreError, manifests};

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The store.
    pub store: Store,
    /// Subsystem health.
    pub health: Health,
    /// Parcel changes, after they were committed.
    pub events: broadcast::Sender<ParcelView>,
    /// Site code and name for the page header.
    pub site: crate::config::SiteConfig,
    /// The platform link's counters, when a platform is configured.
    pub sync: Option<std::sync::Arc<crate::sync::SyncStats>>,
    /// Evidence files, for the X-ray views and camera frames the consoles show.
    pub evidence: crate::evidence::EvidenceStore,
    /// The gate lanes, when the site runs any.
    pub gates: Option<crate::gates::Gates>,
    /// Video capture, when any camera is captured.
    pub video: Option<crate::video::VideoHub>,
}

/// The router's state: what the handlers share, and the auth half (built here, so that
/// whoever starts the server needs to know nothing about accounts).
#[derive(Clone, Debug)]
struct WebState {
    app: AppState,
    auth: auth::Auth,
}

impl FromRef<WebState> for AppState {
    fn from_ref(web: &WebState) -> Self {
        web.app.clone()
    }
}

impl FromRef<WebState> for auth::Auth {
    fn from_ref(web: &WebState) -> Self {
        web.auth.clone()
    }
}

/// The router with every route.
///
/// Creates the first administrator from the environment when asked to
/// ([`auth::bootstrap`]). Login attempts are limited per client address when the server
/// is started with connection info
/// (`router.into_make_service_with_connect_info::<SocketAddr>()`); without it every client
/// shares one limit.
pub fn router(state: AppState) -> Router {
    crate::metrics::handle();
    let auth = auth::Auth::new(state.store.clone(), state.gates.clone());
    let api = Router::new()
        .route("/api/site", get(site))
        .route("/api/parcels", get(recent_parcels))
        .route("/api/events", get(events))
        .route("/api/sync", get(sync_state))
        .route("/api/evidence/{sha256}", get(evidence_file))
        .route("/api/evidence/{sha256}/thumb", get(evidence_thumb))
        .route("/api/cameras", get(cameras))
        .route("/api/gates", get(gates::lanes))
        .route("/api/gates/passes", get(gates::passes))
        .route("/api/gates/passes/{id}", get(gates::pass))
        .route(
            "/api/gates/{gate}/override",
            axum::routing::post(gates::override_open),
        )
        .route(
            "/api/parcels/{id}/flag",
            axum::routing::post(officer::flag_parcel),
        )
        .merge(auth::protected_routes())
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            auth::guard,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(auth::public_routes())
        .merge(api)
        .route_layer(axum::middleware::from_fn(count_request))
        .fallback(assets::serve)
        .with_state(WebState { app: state, auth })
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// Count each answered request by route template (never the raw path: ids would make a
/// series each).
async fn count_request(
    route: Option<MatchedPath>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = req.method().clone();
    let res = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    crate::metrics::record_http(route, method.as_str(), res.status().as_u16());
    res
}

/// Prometheus text format: outbox depth and subsystem health read now, counters as kept.
async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let streams = state
        .store
        .reader
        .read(crate::store::outbox::streams)
        .await?;
    let text = crate::metrics::render(&streams, &state.health.snapshot());
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// An error answered as JSON with a clear message; internals go to the log, not the client.
struct ApiError(StatusCode, String);

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error while serving a request");
        Self(
            StatusCode::SERVICE_UNAVAILABLE,
            "the store is not available".into(),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// A kept evidence file as it was received, by content hash.
async fn evidence_file(
    State(state): State<AppState>,
    axum::extract::Path(sha256): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let (_, rel, _) = find_evidence(&state, &sha256).await?;
    let path = state.evidence.resolve(&rel);
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "evidence file on record is unreadable");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("evidence {sha256} is on record but its file cannot be read"))
    })?;
    let mime = match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("bmp") => "image/bmp",
        Some("tif" | "tiff") => "image/tiff",
        _ => "application/octet-stream",
    };
    Ok(([(axum::http::header::CONTENT_TYPE, mime)], bytes).into_response())
}

/// The JPEG thumbnail of a kept image, made on the first request.
async fn evidence_thumb(
    State(state): State<AppState>,
    axum::extract::Path(sha256): axum::extract::Path<String>,
) -> Result<Response, ApiError> {
    let (_, rel, decoded) = find_evidence(&state, &sha256).await?;
    if !decoded {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("evidence {sha256} is not an image this site can show"),
        ));
    }
    let store = state.evidence.clone();
    let made = tokio::task::spawn_blocking(move || store.thumbnail(&rel))
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let path = made.map_err(|e| {
        tracing::warn!(error = %e, "no thumbnail");
        ApiError(StatusCode::NOT_FOUND, e.to_string())
    })?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(([(axum::http::header::CONTENT_TYPE, "image/jpeg")], bytes).into_response())
}

async fn find_evidence(
    state: &AppState,
    sha256: &str,
) -> Result<(String, std::path::PathBuf, bool), ApiError> {
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("{sha256:?} is not a SHA-256 in hex"),
        ));
    }
    let key = sha256.to_ascii_lowercase();
    state
        .store
        .reader
        .read(move |c| crate::store::evidence::by_sha256(c, &key))
        .await?
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no evidence {sha256}")))
}

/// The platform link: connection, counters, each outbox stream, recent dead letters.
async fn sync_state(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let (streams, dead) = state
        .store
        .reader
        .read(|c| {
            Ok((
                crate::store::outbox::streams(c)?,
                crate::store::downlink::dead_letters(c, 50)?,
            ))
        })
        .await?;
    Ok(Json(serde_json::json!({
        "configured": state.sync.is_some(),
        "link": state.sync.as_ref().map(|s| s.snapshot()),
        "streams": streams,
        "dead_letters": dead,
    })))
}

/// Every captured camera: state, fps, frames, drops, reconnects, errors, its ring; and the
/// evidence moments taken and dropped.
async fn cameras(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(match &state.video {
        Some(video) => serde_json::json!({ "configured": true, "video": video.overview() }),
        None => serde_json::json!({ "configured": false, "video": null }),
    })
}

async fn healthz(State(state): State<AppState>) -> Response {
    let store = state.store.reader.read(manifests::count).await;
    let mut subsystems = serde_json::to_value(state.health.snapshot()).unwrap_or_default();
    let store_ok = store.is_ok();
    subsystems["store"] = match store {
        Ok(lists) => {
            serde_json::json!({ "state": "ok", "detail": format!("{lists} declaration lists") })
        }
        Err(e) => serde_json::json!({ "state": "down", "detail": e.to_string() }),
    };
    let ok = store_ok && state.health.all_ok();
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "degraded" },
        "site": state.site.code,
        "version": env!("CARGO_PKG_VERSION"),
        "subsystems": subsystems,
    });
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

async fn site(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "code": state.site.code, "name": state.site.name }))
}

#[derive(Deserialize)]
struct RecentQuery {
    /// How many parcels, newest first (1..=500, default 50).
    limit: Option<u32>,
}

async fn recent_parcels(
    State(state): State<AppState>,
    Query(q): Query<RecentQuery>,
) -> Result<Json<Vec<ParcelView>>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        state
            .store
            .reader
            .read(move |conn| parcels::recent(conn, limit))
            .await?,
    ))
}

async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(state.events.subscribe()).filter_map(|item| match item {
        Ok(view) => Event::default()
            .event("parcel")
            .json_data(view)
            .ok()
            .map(Ok),
        // A slow console missed some updates: tell it to reload the list.
        Err(_lagged) => Some(Ok(Event::default().event("resync").data("lagged"))),
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
