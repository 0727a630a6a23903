//! Video capture against the simulated ONVIF camera (`customs_edge_simulators::onvif`):
//! MJPEG over HTTP behind Digest, through OpenCV's FFmpeg backend, with the camera's fault
//! switches (stream stopped, junk, password), and an H.264 source that is decoded.

use crate::common;
use crate::video_rig as rig;

use std::time::Duration;

use chrono::Utc;
use customs_edge::config::CameraConfig;
use customs_edge::health::State;
use customs_edge::video::CameraState;
use customs_edge::video::stats::ErrorKind;
use rig::{PASSWORD, XRAY_CAM, camera, log, rig, sim};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_flow_at_the_camera_rate_as_sent() {
    let data = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    let rig = rig(camera(&sim, data.path(), PASSWORD), data.path(), &shutdown);
    rig.streaming().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let cam = rig.cam();
    assert!((8.0..=12.0).contains(&cam.fps), "about 10 fps: {cam:?}");
    assert_eq!(cam.mode, Some("jpeg"), "MJPEG is kept as sent, not decoded");
    assert_eq!(cam.size, Some((640, 360)));
    assert_eq!((cam.drops, cam.reconnects), (0, 0), "{cam:?}");
    assert!(cam.errors.is_empty(), "{:?}", cam.errors);
    assert!(
        cam.ring.frames >= 30 && cam.ring.span_ms >= 2900,
        "{:?}",
        cam.ring
    );
    let sent = sim.stats().frames_sent;
    assert!(
        cam.frames + 2 >= sent && cam.frames <= sent,
        "sent {sent}, captured {}",
        cam.frames
    );
    assert_eq!(rig.health_of().0, State::Ok);
    let stream = cam.stream.unwrap();
    assert!(
        !stream.contains(PASSWORD) && !stream.contains("admin@"),
        "{stream}"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_stream_is_reconnected_and_frames_flow_again_within_5_s() {
    let data = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    let rig = rig(camera(&sim, data.path(), PASSWORD), data.path(), &shutdown);
    rig.streaming().await;

    sim.set_stream_stopped(true);
    let noticed = rig
        .until("the watchdog to notice", Duration::from_secs(6), |c| {
            c.state != CameraState::Streaming && c.errors.get(&ErrorKind::Stall) == Some(&1)
        })
        .await;
    assert!(
        noticed >= Duration::from_millis(2500),
        "3 s watchdog, noticed after {noticed:?}"
    );
    // Down for longer than one reconnection attempt.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let before = rig.cam().frames;
    sim.set_stream_stopped(false);
    let back = rig
        .until("frames again", Duration::from_secs(5), |c| {
            c.state == CameraState::Streaming && c.frames > before + 2
        })
        .await;
    let cam = rig.cam();
    assert!(cam.reconnects >= 1, "reconnect counted: {cam:?}");
    assert!(back < Duration::from_secs(5), "{back:?}");
    eprintln!("stall noticed after {noticed:?}, frames again {back:?} after the restore");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_on_the_stream_is_counted_and_capture_recovers() {
    let data = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    let rig = rig(camera(&sim, data.path(), PASSWORD), data.path(), &shutdown);
    rig.streaming().await;

    sim.set_junk(true);
    rig.until("the junk to be counted", Duration::from_secs(6), |c| {
        c.errors.contains_key(&ErrorKind::Stream) || c.errors.contains_key(&ErrorKind::BadFrame)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = rig.cam();
    assert_ne!(during.state, CameraState::Streaming, "{during:?}");
    sim.set_junk(false);
    let before = during.frames;
    rig.until("frames after the junk", Duration::from_secs(10), |c| {
        c.state == CameraState::Streaming && c.frames > before + 5
    })
    .await;
    assert!(rig.cam().reconnects >= 1);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_error_naming_the_camera() {
    let data = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    let wrong = "not-the-password-42";
    let rig = rig(camera(&sim, data.path(), wrong), data.path(), &shutdown);
    rig.until("the camera to refuse us", Duration::from_secs(15), |c| {
        c.errors.contains_key(&ErrorKind::Unauthorized)
    })
    .await;
    let cam = rig.cam();
    let last = cam.last_error.unwrap();
    assert_eq!(last.kind, ErrorKind::Unauthorized);
    // The stream's refusal, or the snapshot's that stands in for it: both say so.
    for needle in [XRAY_CAM, "X光机出口", "user name or password"] {
        assert!(
            last.message.contains(needle),
            "{needle:?} in {:?}",
            last.message
        );
    }
    assert_eq!(cam.frames, 0);
    let (state, detail) = rig.health_of();
    assert_eq!(state, State::Down, "{detail}");
    assert!(detail.contains("user name or password"), "{detail}");
    let logged = common::wait_for(
        "the refusal in the log",
        Duration::from_secs(10),
        || async {
            let logged = String::from_utf8_lossy(&log().lock().unwrap()).into_owned();
            logged
                .lines()
                .any(|l| {
                    l.contains(XRAY_CAM)
                        && l.contains("/stream/main cannot be opened")
                        && l.contains("user name or password")
                })
                .then_some(logged)
        },
    )
    .await;
    assert!(
        !logged.contains(wrong) && !logged.contains(PASSWORD),
        "no password in the log"
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_is_not_mjpeg_is_decoded_and_kept_as_jpeg() {
    let data = tempfile::tempdir().unwrap();
    // H.264 as most RTSP cameras send it; from a file, which FFmpeg opens like a stream
    // (when it ends, capture opens it again).
    let video = data.path().join("h264.mkv");
    let made = std::process::Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=size=320x240:rate=10")
        .args(["-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&video)
        .status()
        .expect("ffmpeg (scripts/setup.sh installs it)");
    assert!(made.success());
    let shutdown = CancellationToken::new();
    let camera = CameraConfig {
        snapshot_poll_ms: 0,
        ..CameraConfig::with_stream(XRAY_CAM, "", video.to_str().unwrap())
    };
    let rig = rig(camera, data.path(), &shutdown);
    rig.streaming().await;
    let cam = rig.cam();
    assert_eq!((cam.mode, cam.size), (Some("decoded"), Some((320, 240))));
    let frame = rig.hub.nearest(XRAY_CAM, Utc::now()).unwrap();
    let img = image::load_from_memory(&frame.jpeg).unwrap();
    assert_eq!((img.width(), img.height()), (320, 240));
    rig.stop().await;
}
