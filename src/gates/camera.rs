//! The plate-camera listener: one HTTP server that every plate camera pushes its events to,
//! at `POST /cameras/{camera_id}/events`.
//!
//! For each request, in order:
//!
//! 1. **Camera.** An id not configured → `404`.
//! 2. **Credentials.** Each camera has its own user and password, Basic or Digest
//!    ([`customs_edge_devices::http_auth`]). Without them, or with an expired nonce, the
//!    answer is `401` offering Digest SHA-256, Digest MD5 and Basic; wrong ones are
//!    `401` too, counted and logged with the camera and the peer address.
//! 3. **Body.** Read up to [`PlateLimits::max_body_bytes`], never more into memory.
//! 4. **Form.** JSON is Dahua; multipart or XML is Hikvision. A malformed event (bad XML
//!    or JSON, wrong content type, oversized body or image, …) → `400`
//!    `{"error": reason, "code": PlateError code}`, counted by code, its start kept in
//!    `rejected_inputs` (throttled), and nothing else happens. A well-formed event that
//!    is not a plate read (a heartbeat) is acknowledged and dropped.
//! 5. **Lane.** A slot in the lane's queue is reserved without waiting; a full or closed
//!    queue → `503` with the reason, counted: a camera is never blocked.
//! 6. **Evidence.** Each picture is kept (content-addressed, on a blocking thread) and
//!    all are recorded in one store write; only then is the [`PlateEvent`] sent, with
//!    its images emptied and their evidence rows named, and the camera acknowledged:
//!    Hikvision with an ISAPI `ResponseStatus`, Dahua with [`DAHUA_ACK`].

mod keep;
mod request;
mod stats;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use anyhow::bail;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, DefaultBodyLimit, OriginalUri, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use customs_edge_devices::http_auth::{AuthError, Authenticator};
use customs_edge_devices::plate::{DAHUA_ACK, PlateError, PlateLimits, RawFormat};
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use stats::{CameraStats, CameraStatsView};

use super::PlateEvent;
use crate::config::ListenLimits;
use crate::evidence::EvidenceStore;
use crate::listen::Server;
use crate::store::Store;
use request::{BodyError, KeepThrottle};

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
            .finish_non_exhaustive()
    }
}

/// Serves plate events on `listener` until `shutdown` fires, under the default
/// [`ListenLimits`] (the controller serves [`router`] under the configured ones).
///
/// Each camera id may appear once in `cameras`. Images are kept in `evidence` and
/// recorded in `store`; `limits` caps bodies, images and parts; `stats` counts what
/// happened.
pub async fn serve(
    listener: tokio::net::TcpListener,
    cameras: Vec<CameraEndpoint>,
    store: Store,
    evidence: EvidenceStore,
    limits: PlateLimits,
    stats: Arc<CameraStats>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let app = router(cameras, store, evidence, limits, stats)?;
    let connections = ListenLimits::default();
    let max = connections.max_connections;
    Server::new("plate_events", listener, app, &connections, max)
        .run(shutdown)
        .await
}

/// The listener's routes: `POST /cameras/{camera_id}/events` for each camera in
/// `cameras` (each id at most once).
pub fn router(
    cameras: Vec<CameraEndpoint>,
    store: Store,
    evidence: EvidenceStore,
    limits: PlateLimits,
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
        store,
        evidence,
        limits,
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
    /// Nonces for every camera: one book, bounded, behind its own lock.
    auth: Authenticator,
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

/// Why credentials did not pass.
struct Unauthorized {
    /// Only the nonce was wrong: challenge again with `stale=true`.
    stale: bool,
    reason: String,
    code: &'static str,
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
        warn!(camera = %id, %peer, "plate event for an unknown camera");
        return Refusal::new(
            StatusCode::NOT_FOUND,
            format!("no camera `{id}` is configured here"),
            "unknown_camera",
        )
        .into_response();
    };
    let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    if let Err(denied) = listener.authorize(camera, method.as_str(), target, &headers, peer) {
        request::drain(body, listener.limits.max_body_bytes).await;
        return listener.unauthorized(&denied, Instant::now());
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
    /// Checks the credentials; why not, when they do not pass.
    fn authorize(
        &self,
        camera: &Camera,
        method: &str,
        target: &str,
        headers: &HeaderMap,
        peer: SocketAddr,
    ) -> Result<(), Unauthorized> {
        let now = Instant::now();
        let id = &camera.endpoint.id;
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            self.stats.challenged();
            debug!(camera = %id, %peer, "plate camera challenged");
            return Err(Unauthorized {
                stale: false,
                reason: "credentials required".to_owned(),
                code: "auth_required",
            });
        };
        // UTF-8, not just ASCII: RFC 7616 user names may be UTF-8.
        let verified = std::str::from_utf8(value.as_bytes())
            .map_err(|_| AuthError::Malformed("Authorization is not UTF-8".to_owned()));
        let verified = verified.and_then(|v| {
            let ep = &camera.endpoint;
            self.auth
                .verify(v, method, target, &ep.username, &ep.password, now)
        });
        match verified {
            Ok(scheme) => {
                debug!(camera = %id, ?scheme, "plate camera authenticated");
                Ok(())
            }
            Err(e) => {
                let replay = matches!(e, AuthError::Replay { .. });
                if e.is_stale() && !replay {
                    self.stats.challenged();
                    debug!(camera = %id, %peer, reason = %e, "plate camera nonce stale; challenged again");
                } else {
                    self.stats.auth_failed();
                    warn!(camera = %id, %peer, code = e.code(), reason = %e, "plate camera authentication failed");
                }
                Err(Unauthorized {
                    stale: e.is_stale(),
                    reason: e.to_string(),
                    code: e.code(),
                })
            }
        }
    }

    /// A `401` with this listener's challenges (marked stale when the nonce was).
    fn unauthorized(&self, denied: &Unauthorized, now: Instant) -> Response {
        let refusal = Refusal::new(StatusCode::UNAUTHORIZED, denied.reason.clone(), denied.code);
        let mut response = refusal.into_response();
        for challenge in self.auth.challenges(denied.stale, now) {
            if let Ok(value) = HeaderValue::from_str(&challenge.to_string()) {
                response
                    .headers_mut()
                    .append(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }

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
