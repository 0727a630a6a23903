//! What the video tests share: the simulated camera, a camera config on it, the video
//! hub started on its own (without the rest of the controller), a log that can be read.

#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use customs_edge::alarm_book::AlarmBook;
use customs_edge::config::CameraConfig;
use customs_edge::evidence::EvidenceStore;
use customs_edge::health::{Health, State};
use customs_edge::store::{Store, evidence_rows, parcels};
use customs_edge::supervisor::Supervisor;
use customs_edge::video::{CameraSnapshot, CameraState, Moment, Point, StoredEvidence, VideoHub};
use customs_edge_simulators::onvif::{OnvifCameraConfig, RunningCamera};
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "Cam#pass:1";
pub const XRAY_CAM: &str = "35000011101320502001";

/// Everything the controller logs at info and above (`common::logs`).
pub fn log() -> Arc<Mutex<Vec<u8>>> {
    crate::common::logs::captured()
}

pub async fn sim(shutdown: &CancellationToken) -> RunningCamera {
    let cfg = OnvifCameraConfig {
        password: PASSWORD.to_owned(),
        ..OnvifCameraConfig::sized("xray-exit", 640, 360, 10)
    };
    customs_edge_simulators::onvif::start(cfg, shutdown.clone())
        .await
        .expect("simulated camera")
}

/// A camera on the simulator's stream watching the X-ray exit of L1, logging in with
/// `password` (kept in a file, as on a site).
pub fn camera(sim: &RunningCamera, data: &Path, password: &str) -> CameraConfig {
    let file = data.join("camera.pass");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    CameraConfig {
        username: Some("admin".into()),
        password_file: Some(file),
        snapshot_url: Some(sim.snapshot_url()),
        points: vec!["line:L1:xray_exit".into()],
        reconnect_max_s: 2.0,
        snapshot_poll_ms: 200,
        ..CameraConfig::with_stream(XRAY_CAM, "X光机出口", &sim.stream_url())
    }
}

pub struct Rig {
    pub hub: VideoHub,
    pub store: Store,
    pub health: Health,
    pub files: EvidenceStore,
    pub shutdown: CancellationToken,
    pub tasks: Supervisor,
    pub alarms: AlarmBook,
}

pub fn rig(camera: CameraConfig, data: &Path, shutdown: &CancellationToken) -> Rig {
    log();
    let store = Store::open(data).unwrap();
    let health = Health::default();
    let files = EvidenceStore::new(data);
    let alarms = AlarmBook::default();
    let mut tasks = Supervisor::new(shutdown.clone(), health.clone(), alarms.clone());
    let hub =
        customs_edge::video::start_cameras(&[camera], files.clone(), &store, &health, &mut tasks)
            .unwrap()
            .expect("the camera is captured");
    Rig {
        hub,
        store,
        health,
        files,
        shutdown: shutdown.clone(),
        tasks,
        alarms,
    }
}

impl Rig {
    pub fn cam(&self) -> CameraSnapshot {
        self.hub.cameras().remove(0)
    }

    pub async fn until(
        &self,
        what: &str,
        limit: Duration,
        f: impl Fn(&CameraSnapshot) -> bool,
    ) -> Duration {
        let started = Instant::now();
        crate::common::wait_for(what, limit, || async {
            let cam = self.cam();
            f(&cam).then_some(())
        })
        .await;
        started.elapsed()
    }

    pub async fn streaming(&self) {
        self.until("the stream to flow", Duration::from_secs(15), |c| {
            c.state == CameraState::Streaming && c.frames >= 5
        })
        .await;
    }

    pub async fn parcel(&self) -> i64 {
        self.store
            .writer
            .write(|tx| parcels::insert_entry(tx, "L1", 7, &customs_edge::store::now(), 400))
            .await
            .unwrap()
    }

    pub fn health_of(&self) -> (State, String) {
        let c = self.health.snapshot()[&format!("camera:{XRAY_CAM}")].clone();
        (c.state, c.detail)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        assert!(
            self.alarms.views().is_empty(),
            "no video task failed: {:?}",
            self.alarms.views()
        );
        tokio::time::timeout(
            Duration::from_secs(8),
            self.tasks.run_until_shutdown(Duration::from_secs(7)),
        )
        .await
        .expect("video stops in time");
        assert_eq!(self.hub.cameras()[0].state, CameraState::Stopped);
    }
}

/// The evidence kept for `moment`, as announced.
pub async fn evidence_of(
    events: &mut tokio::sync::broadcast::Receiver<StoredEvidence>,
    record: i64,
) -> StoredEvidence {
    let wait = async {
        loop {
            let e = events.recv().await.unwrap();
            if e.record_id == record {
                return e;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("evidence kept")
}

pub fn xray_exit(record_id: i64) -> Moment {
    Moment {
        record_kind: evidence_rows::RECORD_PARCEL,
        record_id,
        point: Point::XrayExit { line: "L1".into() },
        at: Utc::now(),
    }
}
