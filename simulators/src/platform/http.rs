//! The platform simulator's HTTP API, for the standalone binary and scripts.
//!
//! - `GET /healthz` → `{"status":"ok","connected":bool}`
//! - `GET /ledger` → the [`Ledger`](super::Ledger)
//! - `GET /applied?site=S&stream=decisions[&after=SEQ][&limit=N]` → kept applied messages
//! - `POST /lists[?site=S][&batch=N]` with a JSON array of declaration lists or
//!   `{"lists": [...]}` → `201 {"site","kind","items","seqs"}`; split into messages of
//!   `batch` lists (default 1000)
//! - `POST /list-status`, `/permit-status` (array or `{"updates": [...]}`), `/permits`
//!   (`{"permits"}`), `/instructions` (`{"instructions"}`), `/arrivals` (`{"arrivals"}`)
//!   → one message each
//! - `POST /raw?topic=T[&retain=true]` with any bytes (up to the simulator's largest MQTT
//!   packet, 32 MiB, so an oversized message can be sent) → published as they are
//! - `GET /acks` → the ack switches; `POST /acks {"paused": bool, "drop_rate": 0.5}`
//!   (either field) → the switches after the change
//!
//! Bodies are checked as the site will read them (the protocol's `Downlink` reader) and
//! refused with `400 {"error"}` naming the problem; `/raw` is the way to send a bad one.
//! `site` may be left out when the platform serves one site.

use std::io;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use customs_edge_protocol::downlink::kind;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::bulk::DEFAULT_BATCH;
use super::downlink::PublishError;
use super::running::Platform;

/// The routes over `platform`.
pub fn router(platform: Platform) -> Router {
    let downlink = |kind: &'static str, key: &'static str| {
        post(
            move |State(p): State<Platform>, Query(q): Query<SendQuery>, body: Bytes| async move {
                send(&p, &q, &body, kind, key).await
            },
        )
    };
    Router::new()
        .route("/healthz", get(healthz))
        .route("/ledger", get(ledger))
        .route("/applied", get(applied))
        .route("/lists", downlink(kind::LISTS, "lists"))
        .route("/list-status", downlink(kind::LIST_STATUS, "updates"))
        .route("/permits", downlink(kind::PERMITS, "permits"))
        .route("/permit-status", downlink(kind::PERMIT_STATUS, "updates"))
        .route(
            "/instructions",
            downlink(kind::INSTRUCTIONS, "instructions"),
        )
        .route("/arrivals", downlink(kind::ARRIVALS, "arrivals"))
        .route(
            "/raw",
            post(raw).layer(axum::extract::DefaultBodyLimit::max(
                super::config::MAX_PACKET_BYTES,
            )),
        )
        .route("/acks", get(acks).post(set_acks))
        .route("/anchor", get(anchor))
        .fallback(not_found)
        .with_state(platform)
}

/// Serve the API on `listener` until `shutdown` fires.
pub async fn run(
    listener: TcpListener,
    platform: Platform,
    shutdown: CancellationToken,
) -> io::Result<()> {
    axum::serve(listener, router(platform))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

async fn healthz(State(p): State<Platform>) -> Json<Value> {
    Json(json!({ "status": "ok", "connected": p.connected() }))
}

async fn ledger(State(p): State<Platform>) -> Response {
    Json(p.ledger()).into_response()
}

/// `?site=S&stream=decisions&after=0&limit=1000`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AppliedQuery {
    site: Option<String>,
    stream: String,
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

async fn applied(State(p): State<Platform>, Query(q): Query<AppliedQuery>) -> Response {
    let site = match pick_site(&p, q.site.as_deref()) {
        Ok(site) => site,
        Err(response) => return *response,
    };
    Json(p.applied_after(&site, &q.stream, q.after, q.limit.unwrap_or(1000))).into_response()
}

/// `?site=S`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SiteQuery {
    site: Option<String>,
}

/// The newest audit anchor of a site as a file (`customs-edge audit verify --anchor`).
async fn anchor(State(p): State<Platform>, Query(q): Query<SiteQuery>) -> Response {
    let site = match pick_site(&p, q.site.as_deref()) {
        Ok(site) => site,
        Err(response) => return *response,
    };
    match p.export_anchor(&site) {
        Some(file) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            file,
        )
            .into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            format_args!("site {site:?} has sent no audit anchor yet"),
        ),
    }
}

/// `?site=S&batch=N`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SendQuery {
    site: Option<String>,
    batch: Option<usize>,
}

/// The site named, or the only one served.
fn pick_site(p: &Platform, site: Option<&str>) -> Result<String, Box<Response>> {
    match (site, p.sites()) {
        (Some(s), sites) if sites.iter().any(|x| x == s) => Ok(s.to_owned()),
        (None, [only]) => Ok(only.clone()),
        (Some(s), sites) => Err(Box::new(error(
            StatusCode::NOT_FOUND,
            format_args!("site {s:?} is not served; sites: {}", sites.join(", ")),
        ))),
        (None, sites) => Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            format_args!("say which site: ?site= one of {}", sites.join(", ")),
        ))),
    }
}

/// The items of a body that is `[...]` or `{"<key>": [...]}`.
fn items(body: &[u8], key: &str) -> Result<Vec<Value>, String> {
    let shape = format!("a JSON array or {{\"{key}\": [...]}}");
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("body must be {shape}: {e}"))?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut o) if o.len() == 1 => match o.remove(key) {
            Some(Value::Array(items)) => items,
            _ => return Err(format!("body must be {shape}")),
        },
        _ => return Err(format!("body must be {shape}")),
    };
    if items.is_empty() {
        return Err("nothing to send: the array is empty".to_owned());
    }
    Ok(items)
}

/// Check `body` as the site will read it.
fn check(kind: &str, body: &Value) -> Result<(), String> {
    super::scenario::site_reads(kind, body.clone()).map(drop)
}

fn publish_error(e: &PublishError) -> Response {
    let status = match e {
        PublishError::UnknownSite(_) => StatusCode::NOT_FOUND,
        PublishError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        PublishError::Encode(_) => StatusCode::INTERNAL_SERVER_ERROR,
        PublishError::Closed(_) => StatusCode::SERVICE_UNAVAILABLE,
    };
    error(status, e)
}

async fn send(p: &Platform, q: &SendQuery, body: &[u8], kind: &str, key: &str) -> Response {
    let site = match pick_site(p, q.site.as_deref()) {
        Ok(site) => site,
        Err(response) => return *response,
    };
    let items = match items(body, key) {
        Ok(items) => items,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let count = items.len();
    let chunk = if kind == kind::LISTS {
        q.batch.unwrap_or(DEFAULT_BATCH).max(1)
    } else {
        count
    };
    let bodies: Vec<Value> = items.chunks(chunk).map(|c| json!({ key: c })).collect();
    for b in &bodies {
        if let Err(e) = check(kind, b) {
            return error(StatusCode::BAD_REQUEST, e);
        }
    }
    let mut seqs = Vec::with_capacity(bodies.len());
    for b in &bodies {
        match p.publish_downlink(&site, kind, b).await {
            Ok(seq) => seqs.push(seq),
            Err(e) => return publish_error(&e),
        }
    }
    let reply = json!({ "site": site, "kind": kind, "items": count, "seqs": seqs });
    (StatusCode::CREATED, Json(reply)).into_response()
}

/// `?topic=T&retain=false`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    topic: String,
    #[serde(default)]
    retain: bool,
}

async fn raw(State(p): State<Platform>, Query(q): Query<RawQuery>, body: Bytes) -> Response {
    if q.topic.is_empty() || q.topic.contains(['+', '#']) {
        return error(
            StatusCode::BAD_REQUEST,
            format_args!("topic {:?} is not a topic to publish to", q.topic),
        );
    }
    match p.publish_raw(&q.topic, body.to_vec(), q.retain).await {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({ "topic": q.topic, "bytes": body.len() })),
        )
            .into_response(),
        Err(e) => publish_error(&e),
    }
}

async fn acks(State(p): State<Platform>) -> Response {
    Json(p.ledger().acks).into_response()
}

/// `{"paused": true, "drop_rate": 0.5}`, either field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AckSwitches {
    paused: Option<bool>,
    drop_rate: Option<f64>,
}

async fn set_acks(State(p): State<Platform>, body: Bytes) -> Response {
    let switches: AckSwitches = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format_args!(
                    "body must be JSON like {{\"paused\": true, \"drop_rate\": 0.5}}: {e}"
                ),
            );
        }
    };
    if let Some(rate) = switches.drop_rate
        && !(0.0..=1.0).contains(&rate)
    {
        return error(
            StatusCode::BAD_REQUEST,
            format_args!("drop_rate {rate} is not between 0 and 1"),
        );
    }
    if let Some(paused) = switches.paused {
        p.set_acks_paused(paused);
    }
    if let Some(rate) = switches.drop_rate {
        p.set_ack_drop_rate(rate);
    }
    Json(p.ledger().acks).into_response()
}

async fn not_found(method: Method, uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format_args!(
            "no route {method} {uri}; routes: GET /healthz, GET /ledger, GET /applied, \
             POST /lists, /list-status, /permits, /permit-status, /instructions, /arrivals, \
             /raw, GET|POST /acks"
        ),
    )
}
