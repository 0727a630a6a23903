//! The plate-camera listener: one HTTP server that every plate camera pushes its events to,
//! at `POST /cameras/{camera_id}/events`.
//!
//! For each request, in order:
//!
//! 1. **Camera.** An id not configured → `404`.
//! 2. **Slowed down?** An address that gave this camera wrong credentials too often, or
//!    any address the camera has not posted from while it is being guessed at from many
//!    ([`throttle`]), is answered `429` with `Retry-After`, nothing checked.
//! 3. **Credentials.** Each camera has its own user and password and one scheme
//!    (`plate_auth`, [`customs_edge_devices::http_auth`]): a Digest camera is offered
//!    Digest SHA-256 and MD5 only and refuses Basic, even with the right password (which
//!    Basic would have sent in clear); a Basic camera is offered Basic only. Without
//!    credentials, or with an expired nonce, the answer is `401` with the challenge; wrong
//!    ones are `401` too, counted per camera and outcome
//!    (`customs_edge_plate_auth_failures_total`), and logged with the camera and the peer
//!    address at most once per camera every 10 s.
//! 4. **Body.** Read up to [`PlateLimits::max_body_bytes`], never more into memory.
//! 5. **Form.** JSON is Dahua; multipart or XML is Hikvision. A malformed event (bad XML
//!    or JSON, wrong content type, oversized body or image, …) → `400`
//!    `{"error": reason, "code": PlateError code}`, counted by code, its start kept in
//!    `rejected_inputs` (throttled), and nothing else happens. A well-formed event that
//!    is not a plate read (a heartbeat) is acknowledged and dropped. Every text field has
//!    a length limit (a plate at most 16 characters), refused by name.
//! 6. **Lane.** A slot in the lane's queue is reserved without waiting; a full or closed
//!    queue → `503` with the reason, counted: a camera is never blocked.
//! 7. **Evidence.** Each picture is kept (content-addressed, on a blocking thread) and
//!    all are recorded in one store write; only then is the [`PlateEvent`] sent, with
//!    its images emptied and their evidence rows named, and the camera acknowledged:
//!    Hikvision with an ISAPI `ResponseStatus`, Dahua with [`DAHUA_ACK`].
//!
//! The listener serves plain HTTP, or HTTPS when given a certificate ([`Options::tls`]).

mod auth;
mod keep;
mod request;
mod stats;
mod throttle;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::bail;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, OriginalUri, Path as UrlPath, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use customs_edge_devices::http_auth::Authenticator;
use customs_edge_devices::plate::{DAHUA_ACK, PlateError, PlateLimits, RawFormat};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::{PlateAuth, PlateAuthLimits};

pub use stats::{CameraStats, CameraStatsView};

use super::PlateEvent;
use crate::config::ListenLimits;
use crate::evidence::EvidenceStore;
use crate::listen::Server;
use crate::store::Store;
use request::{BodyError, KeepThrottle};

/// The log gate's key for posts to ids that are not configured (one gate for them all).
const UNKNOWN_CAMERA: &str = "\0unknown";

/// The realm of the listener's challenges.
pub const REALM: &str = "customs-edge plate events";

/// One camera allowed to post, and the lane its reads go to.
#[derive(Clone)]
pub struct CameraEndpoint {
    /// The camera's id: the `{camera_id}` of the URL it posts to.
    pub id: String,
    /// Its user name, for Basic or Digest.
    pub username: String,
    /// Its password.
    pub password: String,
    /// The one scheme it may authenticate with.
    pub auth: PlateAuth,
    /// The queue of the gate loop of the lane it watches.
    pub lane: mpsc::Sender<PlateEvent>,
}

impl std::fmt::Debug for CameraEndpoint {
    /// Everything but the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraEndpoint")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// How the listener reads events and treats wrong credentials, and its TLS.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Caps on bodies, images and parts.
    pub limits: PlateLimits,
    /// How wrong credentials are slowed down.
    pub auth_limits: PlateAuthLimits,
    /// Serve HTTPS with this configuration ([`crate::listen::tls::load`]); plain HTTP when
    /// `None`.
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

/// Serves plate events on `listener` until `shutdown` fires, under the default
/// [`ListenLimits`] (the controller serves [`router`] under the configured ones).
///
/// Each camera id may appear once in `cameras`. Images are kept in `evidence` and
/// recorded in `store`; `stats` counts what happened.
pub async fn serve(
    listener: tokio::net::TcpListener,
    cameras: Vec<CameraEndpoint>,
    store: Store,
    evidence: EvidenceStore,
    options: Options,
    stats: Arc<CameraStats>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let tls = options.tls.clone();
    let app = router(cameras, store, evidence, options, stats)?;
    let connections = ListenLimits::default();
    let max = connections.max_connections;
    let mut server = Server::new("plate_events", listener, app, &connections, max);
    if let Some(tls) = tls {
        server = server.with_tls(tls);
    }
    server.run(shutdown).await
}

/// The listener's routes: `POST /cameras/{camera_id}/events` for each camera in
/// `cameras` (each id at most once). TLS, if any, is the server's ([`Server::with_tls`]).
pub fn router(
    cameras: Vec<CameraEndpoint>,
    store: Store,
    evidence: EvidenceStore,
    options: Options,
    stats: Arc<CameraStats>,
) -> anyhow::Result<Router> {
    let mut by_id = HashMap::new();
    for endpoint in cameras {
        if by_id.contains_key(&endpoint.id) {
            bail!(
                "plate camera {:?} is configured twice: each camera posts for one lane",
                endpoint.id
            );
        }
        let camera = Camera {
            endpoint,
            images: AtomicU64::new(0),
        };
        by_id.insert(camera.endpoint.id.clone(), camera);
    }
    info!(cameras = by_id.len(), "plate camera listener ready");
    let shared = Arc::new(Listener {
        cameras: by_id,
        auth: Authenticator::new(REALM, rand::random()),
        guard: Mutex::new(auth::Guard::new(options.auth_limits)),
        store,
        evidence,
        limits: options.limits,
        stats,
        keep: KeepThrottle::default(),
    });
    Ok(Router::new()
        .route("/cameras/{camera_id}/events", post(event))
        // The handler reads the body itself, within `limits.max_body_bytes`.
        .layer(DefaultBodyLimit::disable())
        .with_state(shared))
}

/// The listener's shared state.
struct Listener {
    cameras: HashMap<String, Camera>,
    /// Challenges and credentials for every camera: signed nonces, a bounded replay book
    /// behind its own lock.
    auth: Authenticator,
    /// The delays on wrong credentials and the log's gate. A `std` mutex: held for a few
    /// map updates per refused request, never across an `.await`.
    guard: Mutex<auth::Guard>,
    store: Store,
    evidence: EvidenceStore,
    limits: PlateLimits,
    stats: Arc<CameraStats>,
    keep: KeepThrottle,
}

/// A configured camera.
struct Camera {
    endpoint: CameraEndpoint,
    /// Pictures received so far, for naming them (`<camera>-<n>.jpg`).
    images: AtomicU64,
}

/// A refusal: status, reason for the camera, stable code.
struct Refusal {
    status: StatusCode,
    reason: String,
    code: &'static str,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>, code: &'static str) -> Self {
        Self {
            status,
            reason: reason.into(),
            code,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.reason, "code": self.code });
        (self.status, axum::Json(body)).into_response()
    }
}

async fn event(
    State(listener): State<Arc<Listener>>,
    UrlPath(camera_id): UrlPath<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let received = Instant::now();
    let Some(camera) = listener.cameras.get(&camera_id) else {
        request::drain(body, listener.limits.max_body_bytes).await;
        listener.stats.rejected("unknown_camera");
        let id: String = camera_id.chars().take(64).collect();
        let gate = listener.guard_warn(UNKNOWN_CAMERA, received);
        if let Some(suppressed) = gate {
            warn!(camera = %id, %peer, suppressed, "plate event for an unknown camera");
        }
        return Refusal::new(
            StatusCode::NOT_FOUND,
            format!("no camera `{id}` is configured here"),
            "unknown_camera",
        )
        .into_response();
    };
    let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    if let Err(denied) = listener.admit(camera, method.as_str(), target, &headers, peer) {
        request::drain(body, listener.limits.max_body_bytes).await;
        return listener.deny(camera, &denied);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    match listener.accept(camera, &content_type, body, received).await {
        Ok(response) => response,
        Err(refusal) => {
            listener.stats.rejected(refusal.code);
            warn!(camera = %camera_id, %peer, code = refusal.code, reason = %refusal.reason, "plate event refused");
            refusal.into_response()
        }
    }
}

impl Listener {
    /// Reads, parses, keeps and hands on one authenticated event.
    async fn accept(
        &self,
        camera: &Camera,
        content_type: &str,
        body: Body,
        received: Instant,
    ) -> Result<Response, Refusal> {
        let id = &camera.endpoint.id;
        let limit = self.limits.max_body_bytes;
        let bytes = match request::read_limited(body, limit).await {
            Ok(bytes) => bytes,
            Err(BodyError::TooLarge { seen }) => {
                let err = PlateError::TooLarge {
                    what: "body".to_owned(),
                    size: seen,
                    limit,
                };
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    err.to_string(),
                    err.code(),
                ));
            }
            Err(BodyError::Unreadable(reason)) => {
                return Err(Refusal::new(
                    StatusCode::BAD_REQUEST,
                    format!("body could not be read: {reason}"),
                    "plate_event_body_unreadable",
                ));
            }
        };
        let mut read = match request::parse(content_type, &bytes, id, &self.limits) {
            Ok(read) => read,
            Err(PlateError::NotPlateEvent(kind)) => {
                self.stats.not_plate();
                debug!(camera = %id, event_type = %kind, "not a plate event; acknowledged and dropped");
                return Ok(ack(RawFormat::Hikvision));
            }
            Err(err) => {
                let refusal =
                    Refusal::new(StatusCode::BAD_REQUEST, request::reason(&err), err.code());
                self.keep_rejected(id, &refusal, &bytes).await;
                return Err(refusal);
            }
        };
        drop(bytes);
        let permit = camera.endpoint.lane.try_reserve().map_err(|e| match e {
            TrySendError::Full(()) => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the lane is busy: its queue of plate events is full; post again",
                "lane_busy",
            ),
            TrySendError::Closed(()) => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the lane is not running",
                "lane_closed",
            ),
        })?;
        let images = std::mem::take(&mut read.images);
        let evidence = self.keep_images(camera, images, read.at).await?;
        info!(
            camera = %id,
            plate = read.plate.as_deref().unwrap_or("-"),
            confidence = read.confidence.unwrap_or(-1.0),
            format = ?read.raw_format,
            images = evidence.len(),
            "plate event"
        );
        self.stats.accepted(read.plate.is_none());
        let format = read.raw_format;
        permit.send(PlateEvent {
            read,
            evidence,
            received,
        });
        Ok(ack(format))
    }
}

/// The acknowledgement each camera family expects.
fn ack(format: RawFormat) -> Response {
    match format {
        RawFormat::Dahua => {
            ([(header::CONTENT_TYPE, "application/json")], DAHUA_ACK).into_response()
        }
        RawFormat::Hikvision => (
            [(header::CONTENT_TYPE, "application/xml")],
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">"#,
                "<statusCode>1</statusCode><statusString>OK</statusString>",
                "<subStatusCode>ok</subStatusCode></ResponseStatus>"
            ),
        )
            .into_response(),
    }
}
