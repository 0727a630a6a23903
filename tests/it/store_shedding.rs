//! What a filling disk sheds, and in which order: telemetry and statistics first, then
//! camera evidence frames; decisions and their records never. The levels are set above the
//! test machine's own free space, so each one is in force from the start without filling
//! a disk; the platform side is a real Mosquitto and the platform simulator.

use std::time::Duration;

use common::platform::{SITE, platform_config, start_platform, wait_ledger};
use common::{list, start_site_degraded, wait_for};
use customs_edge::config::Config;
use customs_edge_simulators::broker::Broker;
use tokio_util::sync::CancellationToken;

use crate::common;
use crate::video_rig::{PASSWORD, XRAY_CAM, camera, sim};

/// Levels that put the controller at `bulk` (and `evidence`) whatever disk it runs on.
fn shed(config: &mut Config, evidence: bool) {
    let disk = &mut config.storage.disk;
    disk.check_interval_s = 0.2;
    disk.warn_free_pct = 99.999;
    disk.shed_bulk_free_pct = 99.999;
    disk.shed_evidence_free_pct = if evidence { 99.999 } else { 0.0 };
}

/// The outbox's last sequence number of `stream` (0 when it never wrote one).
fn written(site: &common::Site, stream: &str) -> i64 {
    site.query(&format!(
        "SELECT coalesce(max(next_seq) - 1, 0) FROM outbox_streams WHERE stream = '{stream}'"
    ))[0][0]
        .as_i64()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_disk_sheds_telemetry_and_statistics_while_decisions_and_its_alarm_go_up() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let codes: Vec<String> = (0..3).map(|i| format!("SFS{i:09}")).collect();
    let cfg = platform_config(
        &broker,
        "stats_interval_s = 1\n[[telemetry]]\nline = \"L1\"\ntag = \"belt_speed_mm_s\"\n\
         max_interval_s = 1\n",
    );
    let site = start_site_degraded(codes.iter().map(|c| list(c, 800)).collect(), |c| {
        c.platform = Some(cfg);
        shed(c, false);
    })
    .await;
    wait_for("the disk_low alarm", Duration::from_secs(30), || async {
        site.controller
            .alarms
            .is_open("disk", "disk_low")
            .then_some(())
    })
    .await;
    let (telemetry, stats) = (written(&site, "telemetry"), written(&site, "stats"));
    let mut ids = Vec::new();
    for code in &codes {
        ids.push(site.inject(Some(code)).await);
    }
    site.wait_dropped(&ids).await;
    let ledger = wait_ledger(
        &platform,
        "the decisions and the disk alarm",
        Duration::from_secs(60),
        |l| {
            l.stream(SITE, "decisions")
                .is_some_and(|s| s.applied >= 2 * codes.len() as u64)
                && l.stream(SITE, "health").is_some_and(|s| s.applied >= 1)
        },
    )
    .await;
    assert_eq!(ledger.totals.applied_twice, 0);
    // The health stream's first message may be another's (device health): wait for the
    // alarm itself.
    let alarm_up = || {
        platform.applied(SITE, "health").into_iter().any(|m| {
            m.kind == "alarm" && m.body["alarm"] == "disk_low" && m.body["state"] == "raised"
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !alarm_up() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        alarm_up(),
        "the disk alarm did not reach the platform in 60 s; the platform's health stream: {:?}; \
         the outbox's health rows: {:?}; its streams: {:?}; the alarms: {:?}",
        platform
            .applied(SITE, "health")
            .iter()
            .map(|m| (m.seq, m.kind.clone(), m.body.to_string()))
            .collect::<Vec<_>>(),
        site.query("SELECT seq, kind, body FROM outbox WHERE stream = 'health'"),
        site.query("SELECT * FROM outbox_streams"),
        site.query("SELECT source, kind, at, cleared_at FROM alarms"),
    );
    // Several telemetry and statistics periods later, nothing more of either was written.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(written(&site, "telemetry"), telemetry, "telemetry shed");
    assert_eq!(written(&site, "stats"), stats, "statistics shed");
    let metrics = site
        .http
        .get(format!("http://{}/metrics", site.controller.web_addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(r#"customs_edge_shed_total{what="telemetry"}"#)
            && metrics.contains(r#"customs_edge_shed_total{what="statistics"}"#),
        "each write left out is counted"
    );
    // Where a decision's time goes, part by part (the recorder is the test binary's, so
    // other tests' lines count here too: only the series are checked).
    for stage in ["read", "log", "command"] {
        let series =
            format!(r#"customs_edge_decision_stage_seconds_count{{line="L1",stage="{stage}"}}"#);
        assert!(metrics.contains(&series), "{series} in /metrics");
    }
    let decisions = site.query("SELECT count(*) FROM parcels WHERE lane_kind = 'release'");
    assert_eq!(
        decisions[0][0],
        codes.len() as i64,
        "decisions are never shed"
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lower_disk_sheds_camera_frames_but_not_the_decision() {
    let shutdown = CancellationToken::new();
    let sim = sim(&shutdown).await;
    let frames_dir = tempfile::tempdir().unwrap();
    let mut cam = camera(&sim, frames_dir.path(), PASSWORD);
    cam.points = vec!["line:L1:decision".into()];
    let site = start_site_degraded(vec![list("SF2000000001", 800)], |c| {
        c.cameras.push(cam);
        shed(c, true);
    })
    .await;
    wait_for("the camera to stream", Duration::from_secs(30), || async {
        let video = site.controller.video.as_ref()?;
        (video.cameras()[0].frames >= 5).then_some(())
    })
    .await;
    wait_for("the disk_low alarm", Duration::from_secs(30), || async {
        site.controller
            .alarms
            .is_open("disk", "disk_low")
            .then_some(())
    })
    .await;
    let id = site.inject(Some("SF2000000001")).await;
    let report = site.wait_dropped(&[id]).await;
    assert_eq!(
        report.parcel(id).unwrap().lane,
        Some(1),
        "decided and released"
    );
    let metrics = format!("http://{}/metrics", site.controller.web_addr);
    wait_for(
        "the decision's frame to be shed",
        Duration::from_secs(30),
        || async {
            let text = reqwest::get(&metrics).await.ok()?.text().await.ok()?;
            text.contains(r#"customs_edge_shed_total{what="camera_frame"}"#)
                .then_some(())
        },
    )
    .await;
    let frames = site.query("SELECT count(*) FROM evidence WHERE kind = 'camera_frame'");
    assert_eq!(
        frames[0][0], 0,
        "no camera frame kept while evidence is shed"
    );
    assert_eq!(
        site.controller.video.as_ref().unwrap().cameras()[0].id,
        XRAY_CAM
    );
    site.stop().await;
    shutdown.cancel();
}
