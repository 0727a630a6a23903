//! The HTTP server: the console page, its JSON API, live updates, `/healthz` and `/metrics`.
//!
//! Static assets come from `web-ui/`, embedded in the binary: the site is offline, nothing
//! loads from a CDN. Every `/api` route except setup and login is behind `auth::guard`
//! (a logged-in session or an operator's bearer token); `/healthz`, `/metrics` and the
//! assets are open.

mod alarm_center;
mod assets;
pub mod auth;
mod csv;
mod devices;
pub mod errors;
mod evidence_api;
mod gates_api;
mod handover;
pub mod headers;
mod holds;
mod inspections_export;
pub mod limits;
mod lines;
mod live;
mod officer;
mod openapi;
mod override_check;
mod parcels;
mod pass_search;
mod stats;

use axum::extract::{FromRef, MatchedPath, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tokio::sync::broadcast;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::health::Health;
use crate::store::parcels::ParcelView;
use crate::store::{Store, StoreError, manifests};

/// What the handlers share.
#[derive(Clone, Debug)]
pub struct AppState {
    /// Where handlers read, and queue their writes.
    pub store: Store,
    /// Subsystem health.
    pub health: Health,
    /// The controller's alarms about itself, shown even while the store cannot take them.
    pub alarms: crate::alarm_book::AlarmBook,
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
    /// Each sorting line's belt, live.
    pub belts: Vec<tokio::sync::watch::Receiver<crate::sorting::BeltView>>,
    /// The proxies whose `X-Forwarded-For` is believed (`web.trusted_proxies`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The router's state: what the handlers share, and the auth half (built here, so that
/// whoever starts the server needs to know nothing about accounts).
#[derive(Clone, Debug)]
struct WebState {
    app: AppState,
    auth: auth::Auth,
    stats: stats::StatsCache,
}

impl FromRef<WebState> for stats::StatsCache {
    fn from_ref(web: &WebState) -> Self {
        web.stats.clone()
    }
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
    let guarded = OpenApiRouter::new()
        .routes(routes!(site))
        .routes(routes!(recent_parcels))
        .routes(routes!(sync_state))
        .routes(routes!(cameras))
        .merge(evidence_api::routes())
        .merge(lines::routes())
        .merge(alarm_center::routes())
        .merge(handover::routes())
        .merge(inspections_export::routes())
        .merge(live::routes())
        .merge(parcels::routes())
        .merge(stats::routes())
        .merge(devices::routes())
        .merge(pass_search::routes())
        .merge(gates_api::routes())
        .merge(officer::routes())
        .merge(holds::routes())
        .merge(auth::protected_routes())
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            auth::guard,
        ));
    let (api, doc) = OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(healthz))
        .merge(auth::public_routes())
        .merge(guarded)
        .split_for_parts();
    let mut doc = serde_json::to_value(&doc).expect("the OpenAPI document serializes");
    openapi::complete(&mut doc);
    let doc = std::sync::Arc::new(doc);
    let trusted = std::sync::Arc::new(state.trusted_proxies.clone());
    Router::new()
        .route("/metrics", get(metrics))
        .route(
            "/api/openapi.json",
            get(move || async move { Json(doc.as_ref().clone()) }),
        )
        .merge(api)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .route_layer(axum::middleware::from_fn(count_request))
        .fallback(assets::serve)
        .with_state(WebState {
            app: state,
            auth,
            stats: stats::StatsCache::default(),
        })
        .layer(axum::middleware::from_fn(errors::json_errors))
        .layer(axum::middleware::from_fn(headers::security_headers))
        .layer(axum::middleware::from_fn_with_state(
            trusted,
            auth::client_addr,
        ))
        .layer(tower_http::trace::TraceLayer::new_for_http())
}

/// The largest request body the API reads: every JSON body it takes is a few fields of
/// bounded text (413 beyond).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

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

impl From<auth::Denied> for ApiError {
    fn from(d: auth::Denied) -> Self {
        Self(d.status(), d.message().to_owned())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(errors::body(self.0, self.1))).into_response()
    }
}

/// The platform link as `GET /api/sync` shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct SyncState {
    /// Whether a platform is configured.
    configured: bool,
    /// The link's connection and counters, when configured.
    link: Option<crate::sync::SyncSnapshot>,
    /// Each outbox stream: sequence, acknowledged, pending.
    streams: Vec<crate::store::outbox::StreamState>,
    /// The 50 newest downlink messages that were refused, newest first.
    dead_letters: Vec<crate::store::downlink::DeadLetterRow>,
}

/// The platform link: connection, counters, each outbox stream, recent dead letters.
#[utoipa::path(
    get,
    path = "/api/sync",
    tag = "site",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The platform link", body = SyncState),
        auth::NotLoggedIn,
        (status = 503, description = "The store is not available", body = auth::ErrorBody),
    )
)]
async fn sync_state(State(state): State<AppState>) -> Result<Json<SyncState>, ApiError> {
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
    Ok(Json(SyncState {
        configured: state.sync.is_some(),
        link: state.sync.as_ref().map(|s| s.snapshot()),
        streams,
        dead_letters: dead,
    }))
}

/// Video capture as `GET /api/cameras` shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct Cameras {
    /// Whether any camera is captured.
    configured: bool,
    /// Every captured camera and the evidence moments, when configured.
    video: Option<crate::video::VideoOverview>,
}

/// Every captured camera: state, fps, frames, drops, reconnects, errors, its ring; and the
/// evidence moments taken and dropped.
#[utoipa::path(
    get,
    path = "/api/cameras",
    tag = "devices",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Video capture", body = Cameras),
        auth::NotLoggedIn,
    )
)]
async fn cameras(State(state): State<AppState>) -> Json<Cameras> {
    Json(Cameras {
        configured: state.video.is_some(),
        video: state.video.as_ref().map(crate::video::VideoHub::overview),
    })
}

/// The controller's health as `GET /healthz` shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct HealthReport {
    /// `ok`, or `degraded` when any subsystem is not ok.
    status: &'static str,
    /// The site code.
    site: String,
    /// The controller's version.
    version: &'static str,
    /// Each subsystem's report, by name (`store`, `plc:L1`, `sync`, …).
    subsystems: std::collections::BTreeMap<String, crate::health::Component>,
}

/// Whether the controller and each subsystem are well; open, for monitoring.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "site",
    responses(
        (status = 200, description = "Every subsystem is ok", body = HealthReport),
        (status = 503, description = "Some subsystem is not ok (`status` is `degraded`)", body = HealthReport),
    )
)]
async fn healthz(State(state): State<AppState>) -> Response {
    let read = state.store.reader.read(manifests::count).await;
    let mut subsystems = state.health.snapshot();
    // The store is read now and its commits are known at once (the disk watch keeps the
    // entry with its history; this never lets it look better than it is).
    let commits = state.store.status().get().commit_failing;
    let now = Health::default();
    match (read, &commits) {
        (Err(e), _) => now.set(
            "store",
            crate::health::State::Down,
            format!("cannot read: {e}"),
        ),
        (Ok(_), Some(failing)) => now.set(
            "store",
            crate::health::State::Down,
            format!(
                "commits fail since {}: {}",
                crate::store::timestamp(failing.since),
                failing.error
            ),
        ),
        (Ok(lists), None) => now.set(
            "store",
            crate::health::State::Ok,
            format!("{lists} declaration lists; committing"),
        ),
    }
    let now = now.snapshot().remove("store").expect("just set");
    let store_ok = now.state == crate::health::State::Ok;
    match subsystems.get_mut("store") {
        Some(kept) if !store_ok || kept.state == crate::health::State::Ok => {
            kept.state = now.state;
            kept.detail = now.detail;
        }
        Some(_) => {}
        None => {
            subsystems.insert("store".to_owned(), now);
        }
    }
    let ok = subsystems
        .values()
        .all(|c| c.state == crate::health::State::Ok);
    let body = HealthReport {
        status: if ok { "ok" } else { "degraded" },
        site: state.site.code.clone(),
        version: env!("CARGO_PKG_VERSION"),
        subsystems,
    };
    let code = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

/// The site, for the page header.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct SiteInfo {
    /// Customs supervision site code (loctNo).
    code: String,
    /// The site's name.
    name: String,
}

/// The site's code and name.
#[utoipa::path(
    get,
    path = "/api/site",
    tag = "site",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "The site", body = SiteInfo),
        auth::NotLoggedIn,
    )
)]
async fn site(State(state): State<AppState>) -> Json<SiteInfo> {
    Json(SiteInfo {
        code: state.site.code.clone(),
        name: state.site.name.clone(),
    })
}

/// Which parcels.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct RecentQuery {
    /// How many parcels, newest first (1..=500, default 50; outside it 400).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
}

/// The newest parcels.
#[utoipa::path(
    get,
    path = "/api/parcels",
    tag = "line",
    security(("session" = []), ("bearer" = [])),
    params(RecentQuery),
    responses(
        (status = 200, description = "The newest parcels, newest first", body = Vec<ParcelView>),
        (status = 400, description = "`limit` is not a number from 1 to 500", body = auth::ErrorBody),
        auth::NotLoggedIn,
        (status = 503, description = "The store is not available", body = auth::ErrorBody),
    )
)]
async fn recent_parcels(
    State(state): State<AppState>,
    Query(q): Query<RecentQuery>,
) -> Result<Json<Vec<ParcelView>>, ApiError> {
    let limit = errors::in_range("limit", q.limit, 1, 500)?.unwrap_or(50);
    Ok(Json(
        state
            .store
            .reader
            .read(move |conn| crate::store::parcels::recent(conn, limit))
            .await?,
    ))
}
