//! Reading a camera's request: the body within its limit, the form its content type
//! names, and the throttle on keeping rejected bodies.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use customs_edge_devices::plate::{
    PlateError, PlateLimits, PlateRead, parse_dahua_with, parse_hikvision_with,
};
use futures_util::StreamExt as _;

/// Most time allowed for a whole event body to arrive.
pub(super) const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// Most time spent throwing a refused body away. At most the body limit is thrown away
/// too: enough for a camera's event, so it gets to read the answer; past that the
/// connection is closed.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of a rejected body is kept for inspection.
pub(super) const KEPT_PAYLOAD_BYTES: usize = 4096;
/// The same rejection from the same camera is kept at most once in this period.
const KEEP_EVERY: Duration = Duration::from_secs(60);

/// Why a body was not read.
#[derive(Debug)]
pub(super) enum BodyError {
    /// Over the limit; `seen` bytes arrived before reading stopped.
    TooLarge {
        /// Bytes seen (at least).
        seen: usize,
    },
    /// The connection failed or stalled mid-body.
    Unreadable(String),
}

/// Reads the whole body, never holding more than `limit` bytes. A body over the limit
/// is thrown away (up to a bound) rather than kept.
pub(super) async fn read_limited(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut buf = BytesMut::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| BodyError::Unreadable(e.to_string()))?;
            if buf.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge {
                    seen: buf.len() + chunk.len(),
                });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(())
    };
    match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Ok(Ok(())) => Ok(buf.freeze()),
        Ok(Err(BodyError::TooLarge { seen })) => {
            drop(buf);
            let thrown = drain_stream(stream, limit).await;
            Err(BodyError::TooLarge {
                seen: seen + thrown,
            })
        }
        Ok(Err(e)) => Err(e),
        Err(_) => Err(BodyError::Unreadable(format!(
            "body not received within {} s",
            BODY_TIMEOUT.as_secs()
        ))),
    }
}

/// Throws a body away, up to `max` bytes, so the camera reads the answer to it.
pub(super) async fn drain(body: Body, max: usize) {
    drain_stream(body.into_data_stream(), max).await;
}

async fn drain_stream(mut stream: axum::body::BodyDataStream, max: usize) -> usize {
    let mut thrown = 0;
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while let Some(Ok(chunk)) = stream.next().await {
            thrown += chunk.len();
            if thrown > max {
                break;
            }
        }
    })
    .await;
    thrown
}

/// Which form a content type names: JSON is Dahua; multipart, XML, and an untyped body
/// that looks like XML are Hikvision; anything else is refused.
pub(super) fn parse(
    content_type: &str,
    body: &[u8],
    camera: &str,
    limits: &PlateLimits,
) -> Result<PlateRead, PlateError> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let untyped = essence.is_empty();
    if essence == "application/json"
        || essence == "text/json"
        || essence.ends_with("+json")
        || (untyped && body.trim_ascii_start().starts_with(b"{"))
    {
        parse_dahua_with(body, camera, limits)
    } else if untyped || essence.starts_with("multipart/") || essence.contains("xml") {
        parse_hikvision_with(content_type, body, camera, limits)
    } else {
        Err(PlateError::UnsupportedContentType(
            content_type.chars().take(64).collect(),
        ))
    }
}

/// The reason given to the camera: the parser's, except for a content type, where this
/// listener takes JSON too.
pub(super) fn reason(err: &PlateError) -> String {
    match err {
        PlateError::UnsupportedContentType(t) => {
            format!(
                "content type `{t}` is not multipart/form-data or XML (Hikvision) or JSON (Dahua)"
            )
        }
        other => other.to_string(),
    }
}

/// The start of a rejected body as text, for the `rejected_inputs` table.
pub(super) fn payload_snippet(body: &[u8]) -> String {
    use std::fmt::Write as _;
    let cut = body.len().min(KEPT_PAYLOAD_BYTES);
    let mut text = String::from_utf8_lossy(&body[..cut]).into_owned();
    if body.len() > cut {
        let _ = write!(text, "… ({} bytes in all)", body.len());
    }
    text
}

/// A camera id and a rejection code.
type KeepKey = (String, &'static str);

/// Admits one rejected body per camera and reason a minute into storage; the rest are
/// counted and logged only, so a camera sending junk cannot flood the disk.
#[derive(Debug, Default)]
pub(super) struct KeepThrottle {
    /// (camera, code) → (last kept, suppressed since). Bounded: camera ids are
    /// configured and codes are a fixed set. A `std` mutex: held for one lookup.
    seen: Mutex<HashMap<KeepKey, (Instant, u32)>>,
}

impl KeepThrottle {
    /// `Some(suppressed since the last one kept)` when this one is to be kept.
    pub(super) fn admit(&self, camera: &str, code: &'static str, now: Instant) -> Option<u32> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        match seen.get_mut(&(camera.to_owned(), code)) {
            Some((last, suppressed)) if now.duration_since(*last) < KEEP_EVERY => {
                *suppressed += 1;
                None
            }
            Some((last, suppressed)) => {
                let n = *suppressed;
                (*last, *suppressed) = (now, 0);
                Some(n)
            }
            None => {
                seen.insert((camera.to_owned(), code), (now, 0));
                Some(0)
            }
        }
    }
}
