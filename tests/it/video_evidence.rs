//! Evidence frames from the simulated ONVIF camera tied to parcel records: the frame
//! nearest each moment, burned and kept; snapshots standing in while the stream is down;
//! the controller starting capture from its config.

use crate::common;
use crate::video_rig as rig;

use std::time::Duration;

use chrono::TimeDelta;
use customs_edge::config::CameraConfig;
use customs_edge::health::State;
use customs_edge::store::{Store, evidence_rows};
use customs_edge::video::{CameraState, FrameSource};
use customs_edge_simulators::onvif::decode_capture_ms;
use rig::{PASSWORD, XRAY_CAM, camera, evidence_of, log, rig, sim, xray_exit};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_frames_are_within_100_ms_of_their_moment_and_burned() {
    let data = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    let rig = rig(camera(&sim, data.path(), PASSWORD), data.path(), &shutdown);
    rig.streaming().await;
    let mut events = rig.hub.subscribe();
    let mut worst = TimeDelta::zero();
    let mut last = None;
    for _ in 0..10 {
        let parcel = rig.parcel().await;
        let moment = xray_exit(parcel);
        rig.hub.moment(moment.clone());
        let kept = evidence_of(&mut events, parcel).await;
        assert_eq!(
            (kept.source, kept.camera.as_str()),
            (FrameSource::Stream, XRAY_CAM)
        );
        let gap = (kept.frame_at - moment.at).abs();
        worst = worst.max(gap);
        last = Some((parcel, moment, kept));
        tokio::time::sleep(Duration::from_millis(137)).await;
    }
    assert!(worst <= TimeDelta::milliseconds(100), "worst gap {worst}");

    let (parcel, moment, kept) = last.unwrap();
    let refs = rig
        .store
        .reader
        .read(move |c| evidence_rows::for_record(c, evidence_rows::RECORD_PARCEL, parcel))
        .await
        .unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(
        refs[0].role.as_deref(),
        Some(&*format!("camera:{XRAY_CAM}:xray_exit"))
    );
    assert_eq!(refs[0].sha256, kept.sha256);
    let thumb = refs[0].thumb.as_ref().expect("a thumbnail");
    assert!(
        rig.files.resolve(thumb).is_file(),
        "thumbnail made with the frame"
    );
    let bytes = std::fs::read(rig.files.resolve(&refs[0].path)).unwrap();
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let band = customs_edge::video::burn::band_height(360) as u32;
    assert_eq!((img.width(), img.height()), (640, 360 + 2 * band));
    for rows in [0..band, 360 + band..360 + 2 * band] {
        let dark = rows
            .clone()
            .flat_map(|y| (0..640).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|&v| v < 40))
            .count();
        assert!(
            dark * 2 > (band * 640) as usize,
            "dark band at rows {rows:?}"
        );
    }
    // The picture itself says when the camera took it.
    let picture = image::imageops::crop_imm(&img, 0, band, 640, 360).to_image();
    let taken = decode_capture_ms(&picture).expect("the capture time strip survives");
    let gap_ms = (taken - moment.at.timestamp_millis()).abs();
    assert!(gap_ms <= 150, "taken {gap_ms} ms from the moment");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_keep_evidence_coming_while_the_stream_is_down() {
    let data = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    // Only the ONVIF address: the stream and snapshot URIs are asked from the camera.
    let onvif_only = CameraConfig {
        stream_url: None,
        snapshot_url: None,
        onvif_url: Some(sim.device_service_url()),
        ..camera(&sim, data.path(), PASSWORD)
    };
    let rig = rig(onvif_only, data.path(), &shutdown);
    rig.streaming().await;
    // Snapshots taken while the stream was first being opened do not count (a slow start
    // on a busy machine took three, and the wait below ended before any new one).
    let before = rig.cam().snapshot_frames;
    sim.set_stream_stopped(true);
    rig.until("snapshots to stand in", Duration::from_secs(10), |c| {
        c.state != CameraState::Streaming && c.snapshot_frames >= before + 3
    })
    .await;
    assert_eq!(rig.health_of().0, State::Degraded, "{:?}", rig.health_of());

    let mut events = rig.hub.subscribe();
    let parcel = rig.parcel().await;
    let moment = xray_exit(parcel);
    rig.hub.moment(moment.clone());
    let kept = evidence_of(&mut events, parcel).await;
    assert_eq!(kept.source, FrameSource::Snapshot);
    assert!(
        (kept.frame_at - moment.at).abs() <= TimeDelta::milliseconds(400),
        "{kept:?}"
    );

    sim.set_stream_stopped(false);
    rig.streaming().await;
    assert_eq!(rig.health_of().0, State::Ok);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_captures_its_cameras_and_reports_their_health() {
    let data = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    log();
    let mut config = common::test_config(data.path());
    config.cameras.push(camera(&sim, data.path(), PASSWORD));
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let store = Store::open(data.path()).unwrap();
    let running = customs_edge::daemon::start(config, store, shutdown.clone())
        .await
        .unwrap();
    let video = running.video.clone().expect("the camera is captured");
    // `/healthz` is open; `/api/cameras` sits behind the console's login like all of /api.
    let url = format!("http://{}/healthz", running.web_addr);
    common::wait_for("the camera healthy", Duration::from_secs(15), || async {
        let body: serde_json::Value = reqwest::get(&url).await.ok()?.json().await.ok()?;
        (body["subsystems"][format!("camera:{XRAY_CAM}")]["state"] == "ok").then_some(())
    })
    .await;
    let cam = &video.cameras()[0];
    assert_eq!((cam.id.as_str(), cam.mode), (XRAY_CAM, Some("jpeg")));
    let api = reqwest::get(format!("http://{}/api/cameras", running.web_addr))
        .await
        .unwrap();
    assert_ne!(api.status(), 404, "the route exists (behind the login)");
    shutdown.cancel();
    running.wait().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_line_keeps_each_parcels_frame_at_its_decision() {
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    let frames_dir = tempfile::tempdir().unwrap();
    let mut cam = camera(&sim, frames_dir.path(), PASSWORD);
    cam.points = vec!["line:L1:decision".into()];
    let site = common::start_site_with(vec![common::list("SF1000000001", 800)], |c| {
        c.cameras.push(cam);
    })
    .await;
    let id = site.inject(Some("SF1000000001")).await;
    site.wait_dropped(&[id]).await;
    let rows = common::wait_for("the decision's frame", Duration::from_secs(30), || async {
        let rows = site.query(
            "SELECT l.role FROM evidence_links l JOIN evidence e ON e.id = l.evidence_id
             JOIN parcels p ON p.id = l.record_id
             WHERE l.record_kind = 'parcel' AND e.kind = 'camera_frame' AND p.logistics_no = 'SF1000000001'",
        );
        (!rows.is_empty()).then_some(rows)
    })
    .await;
    assert_eq!(rows[0][0], format!("camera:{XRAY_CAM}:decision"));
    site.stop().await;
    shutdown.cancel();
}
