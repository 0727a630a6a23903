//! A camera's newest frame, and its live view.
//!
//! - `GET /api/cameras/{id}/frame.jpg` — the newest frame the capture kept, as the camera
//!   sent it (MJPEG) or as encoded here (decoded streams); 404 for a camera that is not
//!   captured, 503 while it has no frame yet.
//! - `GET /api/cameras/{id}/live` — `multipart/x-mixed-replace` of its newest frames, at
//!   most [`LIVE_EVERY`] apart, which a browser shows in an `<img src>`. The newest frame is
//!   sent again every [`LIVE_REPEAT`] when none comes, so a viewer that went away is noticed
//!   by the failed write; the stream ends then, and when capture stops (shutdown).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};

use crate::store::timestamp;
use crate::video::{CameraState, Frame, VideoHub};
use crate::web::AppState;
use crate::web::auth::{AnyRole, Denied, ErrorBody, NotLoggedIn, Require};

/// Parts of the live view come at most this often: 5 a second.
pub(super) const LIVE_EVERY: Duration = Duration::from_millis(200);
/// With no new frame, the newest is sent again this often.
pub(super) const LIVE_REPEAT: Duration = Duration::from_secs(2);
/// The multipart boundary of the live view.
const BOUNDARY: &str = "customs-edge-frame";

/// The hub capturing camera `id`, or 404.
fn captured<'a>(state: &'a AppState, id: &str) -> Result<&'a VideoHub, Denied> {
    crate::web::errors::text_len("id", id, 0, crate::web::limits::ID)?;
    state
        .video
        .as_ref()
        .filter(|hub| hub.cameras().iter().any(|c| c.id == id))
        .ok_or_else(|| {
            Denied::new(
                StatusCode::NOT_FOUND,
                format!("no camera {id:?} is captured on this site"),
            )
        })
}

/// The newest frame of a camera: the one nearest the end of time.
fn newest(hub: &VideoHub, id: &str) -> Option<Frame> {
    hub.nearest(id, DateTime::<Utc>::MAX_UTC)
}

/// The camera's newest captured frame, as JPEG.
#[utoipa::path(
    get,
    path = "/api/cameras/{id}/frame.jpg",
    tag = "devices",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, max_length = 64, description = "The camera's id")),
    responses(
        (status = 200, description = "The newest frame; `X-Frame-At` says when it came (RFC 3339 UTC)",
            content_type = "image/jpeg", body = [u8]),
        NotLoggedIn,
        (status = 404, description = "No such camera is captured", body = ErrorBody),
        (status = 503, description = "The camera has no frame yet", body = ErrorBody),
    )
)]
pub(in crate::web) async fn frame(
    State(state): State<AppState>,
    _who: Require<AnyRole>,
    Path(id): Path<String>,
) -> Result<Response, Denied> {
    let hub = captured(&state, &id)?;
    let frame = newest(hub, &id).ok_or_else(|| {
        Denied::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("camera {id} has no frame yet"),
        )
        .retry_after(1)
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::HeaderName::from_static("x-frame-at"),
                timestamp(frame.at),
            ),
        ],
        frame.jpeg,
    )
        .into_response())
}

/// The camera live: its newest frames as an MJPEG stream, at most 5 a second.
#[utoipa::path(
    get,
    path = "/api/cameras/{id}/live",
    tag = "devices",
    security(("session" = []), ("bearer" = [])),
    params(("id" = String, Path, max_length = 64, description = "The camera's id")),
    responses(
        (status = 200, description = "`multipart/x-mixed-replace` of JPEG parts, one per new \
            frame, at most 5 a second; it ends when the client goes away",
            content_type = "multipart/x-mixed-replace", body = [u8]),
        NotLoggedIn,
        (status = 404, description = "No such camera is captured", body = ErrorBody),
    )
)]
pub(in crate::web) async fn live(
    State(state): State<AppState>,
    _who: Require<AnyRole>,
    Path(id): Path<String>,
) -> Result<Response, Denied> {
    let hub = captured(&state, &id)?.clone();
    let mut tick = tokio::time::interval(LIVE_EVERY);
    // A viewer that fell behind gets the next frame, never a burst of old ones.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let live = Live {
        hub,
        id,
        tick,
        sent: None,
    };
    let stream = futures_util::stream::unfold(live, |mut live| async move {
        let part = live.next().await?;
        Some((Ok::<_, Infallible>(part), live))
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                format!("multipart/x-mixed-replace; boundary={BOUNDARY}"),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// One viewer's live stream.
struct Live {
    hub: VideoHub,
    id: String,
    tick: tokio::time::Interval,
    /// The frame sent last, and when.
    sent: Option<(u64, Instant)>,
}

impl Live {
    /// The next part; `None` once capture has stopped.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            self.tick.tick().await;
            if let Some(frame) = newest(&self.hub, &self.id) {
                let due = self
                    .sent
                    .is_none_or(|(seq, at)| seq != frame.seq || at.elapsed() >= LIVE_REPEAT);
                if due {
                    self.sent = Some((frame.seq, Instant::now()));
                    return Some(part(&frame));
                }
            }
            let stopped = self
                .hub
                .cameras()
                .iter()
                .find(|c| c.id == self.id)
                .is_none_or(|c| c.state == CameraState::Stopped);
            if stopped {
                tracing::debug!(camera = %self.id, "live view ends: capture stopped");
                return None;
            }
        }
    }
}

/// A frame as one part of the multipart stream.
fn part(frame: &Frame) -> Bytes {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Frame-At: {}\r\n\r\n",
        frame.jpeg.len(),
        timestamp(frame.at)
    );
    let mut buf = Vec::with_capacity(head.len() + frame.jpeg.len() + 2);
    buf.extend_from_slice(head.as_bytes());
    buf.extend_from_slice(&frame.jpeg);
    buf.extend_from_slice(b"\r\n");
    Bytes::from(buf)
}
