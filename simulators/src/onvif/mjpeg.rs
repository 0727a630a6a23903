//! `GET /stream/{token}`: MJPEG over HTTP (`multipart/x-mixed-replace`), one part per
//! frame with `Content-Length` and `X-Timestamp` (capture time on the camera's clock,
//! RFC 3339 with ms), behind Digest/Basic. The fault switches act here: a stopped stream
//! sends nothing, junk sends random bytes where parts should be, a reboot cuts it.

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut as _, Bytes, BytesMut};
use chrono::{DateTime, SecondsFormat, Utc};
use rand::Rng as _;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::camera::{Shared, bump};
use super::feed::Frame;
use super::http::authorize;

/// The multipart boundary (parts start with `--` and this).
pub const BOUNDARY: &str = "customsedgeframe";

/// A capture time as the `X-Timestamp` header writes it: `2026-11-27T08:00:00.123Z`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `len` random bytes that never start a JPEG (`FF D8`) and never contain `-`, so they
/// cannot be mistaken for a part or a boundary.
pub(crate) fn junk(len: usize) -> Vec<u8> {
    let mut rng = rand::rng();
    let mut bytes: Vec<u8> = (0..len)
        .map(|_| {
            let b: u8 = rng.random();
            if b == b'-' { b'#' } else { b }
        })
        .collect();
    if let Some(first) = bytes.first_mut() {
        *first = 0x00;
    }
    bytes
}

/// One multipart part for `frame`.
fn part(frame: &Frame) -> Bytes {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: {}\r\nX-Frame: {}\r\n\r\n",
        frame.jpeg.len(),
        timestamp(frame.captured_at),
        frame.seq
    );
    let mut out = BytesMut::with_capacity(head.len() + frame.jpeg.len() + 2);
    out.put_slice(head.as_bytes());
    out.put_slice(&frame.jpeg);
    out.put_slice(b"\r\n");
    out.freeze()
}

/// Counts a connected stream client while it lives.
struct ClientGuard(Arc<Shared>);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0
            .counters
            .stream_clients
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the body stream carries between parts.
struct Streaming {
    guard: ClientGuard,
    frames: watch::Receiver<Option<Arc<Frame>>>,
    boot: CancellationToken,
}

/// `GET /stream/{token}`.
pub(crate) async fn stream(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(denied) = authorize(&shared, &method, &uri, &headers) {
        return *denied;
    }
    let Some(feed) = shared.feed(&token) else {
        let token: String = token.chars().take(64).collect();
        return (StatusCode::NOT_FOUND, format!("no profile `{token}`\n")).into_response();
    };
    shared
        .counters
        .stream_clients
        .fetch_add(1, Ordering::Relaxed);
    let state = Streaming {
        frames: feed.subscribe(),
        boot: shared.boot_token(),
        guard: ClientGuard(Arc::clone(&shared)),
    };
    let parts = futures_util::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        loop {
            tokio::select! {
                () = s.boot.cancelled() => {
                    // An error, not an end: the connection is cut, not closed cleanly.
                    let cut = io::Error::new(io::ErrorKind::ConnectionReset, "camera rebooted");
                    return Some((Err(cut), None));
                }
                changed = s.frames.changed() => {
                    if changed.is_err() {
                        return None;
                    }
                }
            }
            let Some(frame) = s.frames.borrow_and_update().clone() else {
                continue;
            };
            let shared = &s.guard.0;
            if shared.stream_stopped() {
                continue;
            }
            let bytes = if shared.junk() {
                Bytes::from(junk(rand::rng().random_range(512..4096)))
            } else {
                bump(&shared.counters.frames_sent);
                part(&frame)
            };
            return Some((Ok::<_, io::Error>(bytes), Some(s)));
        }
    });
    let mut response = Response::new(Body::from_stream(parts));
    let h = response.headers_mut();
    let content_type = format!("multipart/x-mixed-replace; boundary={BOUNDARY}");
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_carries_length_timestamp_and_the_jpeg() {
        let frame = Frame {
            jpeg: Bytes::from_static(&[0xFF, 0xD8, 1, 2, 0xFF, 0xD9]),
            captured_at: "2026-11-27T08:00:00.1234Z".parse().unwrap(),
            seq: 7,
        };
        let p = part(&frame);
        let text = String::from_utf8_lossy(&p);
        assert!(text.starts_with(
            "--customsedgeframe\r\nContent-Type: image/jpeg\r\nContent-Length: 6\r\n"
        ));
        assert!(text.contains("X-Timestamp: 2026-11-27T08:00:00.123Z\r\nX-Frame: 7\r\n\r\n"));
        assert!(p.ends_with(&[0xFF, 0xD9, b'\r', b'\n']));
    }

    #[test]
    fn junk_is_never_a_jpeg_or_a_boundary() {
        let j = junk(100_000);
        assert_eq!(j.len(), 100_000);
        assert_ne!(&j[..2], &[0xFF, 0xD8]);
        assert!(!j.contains(&b'-'));
    }
}
