//! One camera's capture loop, on a thread of its own (OpenCV calls block).
//!
//! Open the stream with OpenCV's FFmpeg backend (asked for explicitly: `CAP_ANY` tries
//! GStreamer first), with an open timeout and a read timeout equal to the watchdog time;
//! then read frames into the ring until the stream fails. MJPEG frames are taken as the
//! camera sent them (`CAP_PROP_FORMAT = -1`, no decoding), checked to be whole JPEGs;
//! other codecs are decoded and encoded as JPEG here. Right after a network stream
//! opens, the frames FFmpeg buffered while probing it (seconds of them, for H.264 over
//! RTSP) come out back to back; they, and any later burst, are skipped rather than
//! stamped with the time they are read (see [`super::pacing`]). When no frame comes for the
//! watchdog time the read gives up and the stream is opened again, with a pause that
//! doubles from [`BACKOFF_START`] up to `reconnect_max_s` and starts again once frames
//! flowed. Every fault is counted by kind in the camera's stats; none ends the loop, only
//! shutdown does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use customs_edge_devices::backoff::Backoff;
use opencv::core::{Mat, MatTraitConst as _, MatTraitConstManual as _, Vector};
use opencv::videoio::{self, VideoCapture, VideoCaptureTrait as _, VideoCaptureTraitConst as _};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::CameraFeed;
use super::jpeg::jpeg_size;
use super::pacing::Pacer;
use super::ring::FrameSource;
use super::source::{self, Fault, Http, Login, Source};
use super::stats::{CameraState, ErrorKind};

/// First pause before opening a failed stream again.
pub(crate) const BACKOFF_START: Duration = Duration::from_millis(250);
/// JPEG quality of frames encoded here (decoded codecs such as H.264).
const ENCODE_QUALITY: i32 = 85;
/// Opening failed this many times in a row: ask ONVIF for the stream URI again (a camera
/// that rebooted may hand out another one).
const RESOLVE_AGAIN_AFTER: u32 = 3;

/// The capture of one camera, run by [`Capture::run`] on its own thread.
pub(crate) struct Capture {
    pub(crate) feed: Arc<CameraFeed>,
    pub(crate) login: Option<Login>,
    pub(crate) http: Http,
    pub(crate) runtime: tokio::runtime::Handle,
    pub(crate) shutdown: CancellationToken,
}

/// A frame read, as the [`Pacer`] holds it until it knows whether it came live.
struct Held {
    at: chrono::DateTime<Utc>,
    jpeg: Bytes,
    size: (u32, u32),
}

/// How a stream ended.
enum Ended {
    Shutdown,
    Failed { fault: Fault, frames: u64 },
}

impl Capture {
    fn label(&self) -> &str {
        &self.feed.label
    }

    fn watchdog(&self) -> Duration {
        Duration::from_secs_f64(self.feed.config.watchdog_s)
    }

    /// Capture until shutdown.
    pub(crate) fn run(&self) {
        let stats = &self.feed.stats;
        let max = Duration::from_secs_f64(self.feed.config.reconnect_max_s).max(BACKOFF_START);
        // Reset only after a stream that delivered frames: a camera that accepts the
        // connection and then sends nothing is still backed off.
        let mut backoff = Backoff::new(BACKOFF_START, max);
        let mut source: Option<Source> = None;
        let mut failures = 0u32;
        let mut opened_before = false;
        while !self.shutdown.is_cancelled() {
            let src = match &source {
                Some(s) => s.clone(),
                None => match self.resolve() {
                    Ok(s) => {
                        self.feed.snapshot_url.send_replace(s.snapshot.clone());
                        source = Some(s.clone());
                        s
                    }
                    Err((kind, message)) => {
                        stats.error(kind, &message);
                        stats.set_state(CameraState::Down);
                        self.pause(backoff.next_wait());
                        continue;
                    }
                },
            };
            stats.set_state(CameraState::Connecting);
            match self.open(&src) {
                Err((kind, message)) => {
                    stats.error(kind, &message);
                    stats.set_state(CameraState::Down);
                    failures += 1;
                    if failures.is_multiple_of(RESOLVE_AGAIN_AFTER)
                        && self.feed.config.stream_url.is_none()
                    {
                        source = None;
                    }
                }
                Ok((capture, raw)) => {
                    failures = 0;
                    if opened_before {
                        stats.reconnect();
                    }
                    opened_before = true;
                    stats.set_stream(&src.stream, if raw { "jpeg" } else { "decoded" });
                    // A local file is read as fast as it decodes: nothing to catch up on.
                    let live = src.stream.contains("://") && !src.stream.starts_with("file:");
                    match self.stream(capture, raw, live) {
                        Ended::Shutdown => break,
                        Ended::Failed { fault, frames } => {
                            stats.error(fault.0, &fault.1);
                            stats.set_state(CameraState::Down);
                            if frames > 0 {
                                backoff.reset();
                            }
                        }
                    }
                }
            }
            self.pause(backoff.next_wait());
        }
        stats.set_state(CameraState::Stopped);
    }

    /// Sleep for `d`, or less when shutdown comes (checked every 50 ms).
    fn pause(&self, d: Duration) {
        let until = Instant::now() + d;
        while !self.shutdown.is_cancelled() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }

    fn resolve(&self) -> Result<Source, Fault> {
        let timeout = Duration::from_secs_f64(self.feed.config.open_timeout_s);
        self.runtime.block_on(source::resolve(
            &self.feed.config,
            self.label(),
            self.login.as_ref(),
            timeout,
        ))
    }

    /// Open the stream; whether its frames are taken as sent (MJPEG).
    fn open(&self, src: &Source) -> Result<(VideoCapture, bool), Fault> {
        let label = self.label();
        let shown = source::redact(&src.stream);
        let url = source::with_userinfo(&src.stream, self.login.as_ref())
            .map_err(|e| (ErrorKind::Config, format!("{label}: {e}")))?;
        let ms = |s: f64| (s * 1000.0).round() as i32;
        let params = Vector::from_slice(&[
            videoio::CAP_PROP_OPEN_TIMEOUT_MSEC,
            ms(self.feed.config.open_timeout_s),
            videoio::CAP_PROP_READ_TIMEOUT_MSEC,
            ms(self.feed.config.watchdog_s),
        ]);
        let started = Instant::now();
        let opened = VideoCapture::from_file_with_params(&url, videoio::CAP_FFMPEG, &params);
        let mut capture = match opened {
            Ok(c) if c.is_opened().unwrap_or(false) => c,
            Ok(_) => {
                let open_timeout = Duration::from_secs_f64(self.feed.config.open_timeout_s);
                let waited = started.elapsed() >= open_timeout.mul_f64(0.9);
                return Err(self
                    .runtime
                    .block_on(self.http.diagnose(&url_for_probe(src), waited)));
            }
            Err(e) => {
                return Err((
                    ErrorKind::Open,
                    format!("{label}: stream {shown}: opencv: {}", e.message),
                ));
            }
        };
        let fourcc = capture.get(videoio::CAP_PROP_FOURCC).unwrap_or(0.0) as u32;
        let raw = is_mjpeg(fourcc) && capture.set(videoio::CAP_PROP_FORMAT, -1.0).unwrap_or(false);
        Ok((capture, raw))
    }

    /// Keep a frame read from the stream.
    fn keep(&self, frame: Held, frames: &mut u64) {
        *frames += 1;
        self.feed
            .push(frame.at, frame.jpeg, FrameSource::Stream, frame.size);
        if *frames == 1 {
            self.feed.stats.set_state(CameraState::Streaming);
        }
    }

    /// Read frames into the ring until the stream fails or shutdown. Frames read as a
    /// backlog (right after the open, or in a burst later) are skipped rather than stamped
    /// with the time they are read: see [`Pacer`].
    fn stream(&self, mut capture: VideoCapture, raw: bool, live: bool) -> Ended {
        let feed = &self.feed;
        let label = self.label();
        let watchdog = self.watchdog();
        let mut mat = Mat::default();
        let mut encoded = Vector::<u8>::new();
        let params = Vector::from_slice(&[opencv::imgcodecs::IMWRITE_JPEG_QUALITY, ENCODE_QUALITY]);
        let mut last_good = Instant::now();
        let mut pacer = Pacer::new(live && !raw, Instant::now(), watchdog);
        let mut logged = (0, 0);
        let mut frames = 0u64;
        let failed = |kind, message: String, frames| Ended::Failed {
            fault: (kind, message),
            frames,
        };
        loop {
            if self.shutdown.is_cancelled() {
                return Ended::Shutdown;
            }
            let started = Instant::now();
            let read = capture.read(&mut mat);
            let took = started.elapsed();
            let at = Utc::now();
            // A read that ran into the read timeout may still return a frame: one FFmpeg
            // held back (H.264 over RTSP comes out a frame late), from before the stall.
            // It is not kept (it would be stamped seconds late): the stream has stalled.
            if !matches!(read, Ok(true)) || mat.empty() || took >= watchdog {
                if self.shutdown.is_cancelled() {
                    return Ended::Shutdown;
                }
                let stalled = took >= watchdog.mul_f64(0.9) || last_good.elapsed() >= watchdog;
                return if stalled {
                    failed(
                        ErrorKind::Stall,
                        format!(
                            "{label}: no frame for {:.1} s; reconnecting",
                            watchdog.as_secs_f64()
                        ),
                        frames,
                    )
                } else {
                    failed(
                        ErrorKind::Stream,
                        format!(
                            "{label}: the stream broke after {frames} frames (bad data or connection closed); reconnecting"
                        ),
                        frames,
                    )
                };
            }
            let taken = if raw {
                let bytes = Bytes::copy_from_slice(mat.data_bytes().unwrap_or_default());
                jpeg_size(&bytes)
                    .map(|size| (bytes, size))
                    .map_err(|p| (ErrorKind::BadFrame, format!("{label}: frame dropped: {p}")))
            } else {
                let size = (mat.cols() as u32, mat.rows() as u32);
                match opencv::imgcodecs::imencode(".jpg", &mat, &mut encoded, &params) {
                    Ok(true) => Ok((Bytes::copy_from_slice(encoded.as_slice()), size)),
                    _ => Err((
                        ErrorKind::Encode,
                        format!("{label}: frame not encoded as JPEG"),
                    )),
                }
            };
            match taken {
                Ok((jpeg, size)) => {
                    last_good = Instant::now();
                    let frame = Held { at, jpeg, size };
                    let pts_ms = capture.get(videoio::CAP_PROP_POS_MSEC).unwrap_or(0.0);
                    let kept = pacer.offer(frame, pts_ms, took, started + took);
                    if !kept.is_empty() && (pacer.skipped, pacer.late) != logged {
                        logged = (pacer.skipped, pacer.late);
                        debug!(
                            skipped = pacer.skipped,
                            late = pacer.late,
                            bursts = pacer.bursts,
                            "{label}: frames read as a backlog skipped"
                        );
                    }
                    for frame in kept {
                        self.keep(frame, &mut frames);
                    }
                }
                Err((kind, message)) => {
                    feed.stats.dropped();
                    feed.stats.error(kind, &message);
                    if last_good.elapsed() >= watchdog {
                        return failed(
                            ErrorKind::Stall,
                            format!(
                                "{label}: no good frame for {:.1} s; reconnecting",
                                watchdog.as_secs_f64()
                            ),
                            frames,
                        );
                    }
                }
            }
        }
    }
}

/// The URL the diagnosis asks: the stream's, without credentials (the probe answers
/// challenges itself).
fn url_for_probe(src: &Source) -> String {
    source::redact(&src.stream)
}

/// Whether a FOURCC (as OpenCV reports it) is Motion JPEG.
fn is_mjpeg(fourcc: u32) -> bool {
    let text = String::from_utf8_lossy(&fourcc.to_le_bytes()).to_ascii_lowercase();
    matches!(text.as_str(), "mjpg" | "mjpe" | "jpeg" | "avrn" | "ljpg")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mjpeg_fourccs_are_recognised() {
        let code = |s: &[u8; 4]| u32::from_le_bytes(*s);
        assert!(is_mjpeg(code(b"MJPG")));
        assert!(is_mjpeg(code(b"mjpe")));
        assert!(!is_mjpeg(code(b"h264")));
        assert!(!is_mjpeg(0));
    }

    #[test]
    fn backoff_doubles_to_its_ceiling() {
        let mut b = Backoff::new(BACKOFF_START, Duration::from_secs(1));
        let taken: Vec<_> = (0..5).map(|_| b.next_wait().as_millis()).collect();
        assert_eq!(taken, [250, 500, 1000, 1000, 1000]);
    }
}
