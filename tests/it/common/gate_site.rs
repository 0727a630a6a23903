//! A gate site for tests: simulated lanes with trucks, plate cameras posting to the
//! controller with credentials, and the controller with permits seeded in its store.

use std::path::Path;
use std::time::Duration;

use customs_edge::config::{self, Config, OperatorConfig};
use customs_edge::daemon::{self, Running};
use customs_edge::demo::gate_lanes::controller_lanes;
use customs_edge::store::Store;
use customs_edge_protocol::downlink::ExitPermit;
use customs_edge_simulators::plate_camera::{CameraAuth, CameraForm};
use customs_edge_simulators::vehicles::{
    CameraSetup, Direction, GateLaneSetup, LaneTiming, Tasks, Traffic, TrafficOptions,
    VehicleRecord, VehicleSpec,
};
use tokio_util::sync::CancellationToken;

/// The operator token the test site accepts, and who it belongs to.
pub const OPERATOR_TOKEN: &str = "test-operator-token-5f2c";
pub const OPERATOR: &str = "op.zhang";
pub use customs_edge::demo::gate_lanes::CAMERA_USER;
pub const CAMERA_PASSWORD: &str = "cam-pass-71";

/// One lane of a test site.
pub struct Lane {
    pub id: &'static str,
    pub direction: Direction,
    pub form: CameraForm,
    pub auth: CameraAuth,
}

impl Lane {
    pub fn exit(id: &'static str, form: CameraForm, auth: CameraAuth) -> Self {
        Self {
            id,
            direction: Direction::Out,
            form,
            auth,
        }
    }
}

/// Plates with no OCR-confusable character after the authority letter, and one whose only
/// confusable character is an 8.
pub const PLATE_A: &str = "闽G3K7H6";
pub const PLATE_B: &str = "闽G4M7X9";
pub const PLATE_8: &str = "闽G8H3K7";

/// Exit lane K1: a Hikvision camera with Digest.
pub fn hik_digest() -> Lane {
    Lane::exit("K1", CameraForm::Hikvision, CameraAuth::Digest)
}

/// Exit lane K2: a Dahua camera with Basic.
pub fn dahua_basic() -> Lane {
    Lane::exit("K2", CameraForm::Dahua, CameraAuth::Basic)
}

/// A truck with `plate` weighing `kg` on `lane`.
pub fn truck(plate: &str, kg: i32, lane: &str) -> VehicleSpec {
    VehicleSpec::new(plate, kg).on_lane(lane)
}

/// A running gate site.
pub struct GateSite {
    pub traffic: Traffic,
    pub controller: Running,
    pub http: reqwest::Client,
    pub shutdown: CancellationToken,
    pub data: tempfile::TempDir,
    _sim_tasks: Tasks,
}

/// An exit permit for `plate` with `status` and `gross_kg`.
pub fn permit(no: &str, plate: &str, status: i32, gross_kg: f64) -> ExitPermit {
    ExitPermit {
        permit_no: no.into(),
        vehicle_no: plate.into(),
        vehicle_weight: Some(15_000.0),
        frame_weight: None,
        container_no: None,
        container_weight: None,
        total_gross_weight: Some(gross_kg),
        status,
        items: Vec::new(),
    }
}

/// A free loopback port (bound and released: the controller binds it again at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Lane timings that leave the controller plenty of slack on a busy 2-core machine.
pub fn relaxed_timing() -> LaneTiming {
    LaneTiming {
        barrier_travel_ms: 1_000,
        settle_ms: 800,
        patience_ms: 20_000,
        to_barrier_ms: 400,
        both_loops_ms: 400,
        clear_ms: 400,
        headway_ms: 500,
        ..LaneTiming::default()
    }
}

/// Start the lanes, then the controller with `permits` in its store; `tweak` changes the
/// controller's config last.
pub async fn start_gate_site(
    lanes: &[Lane],
    timing: LaneTiming,
    permits: Vec<ExitPermit>,
    tweak: impl FnOnce(&mut Config),
) -> GateSite {
    super::logs::init();
    let data = tempfile::tempdir().expect("temp dir");
    let shutdown = CancellationToken::new();
    let camera_port = free_port();
    let setups: Vec<GateLaneSetup> = lanes
        .iter()
        .map(|lane| {
            let mut setup = GateLaneSetup::new(lane.id, lane.direction);
            let camera_id = format!("CAM-{}", lane.id);
            let mut camera = CameraSetup::new(
                format!("http://127.0.0.1:{camera_port}/cameras/{camera_id}/events"),
                lane.form,
            );
            camera.auth = lane.auth;
            camera.username = CAMERA_USER.into();
            camera.password = CAMERA_PASSWORD.into();
            camera.camera_id = Some(camera_id);
            setup.camera = Some(camera);
            setup.timing = timing;
            setup
        })
        .collect();
    let options = TrafficOptions {
        seed: 42,
        generate: None,
        wait_for_controller: true,
    };
    let mut sim_tasks = Tasks::new();
    let (traffic, addrs) = Traffic::start(&setups, &[], &options, &shutdown, &mut sim_tasks)
        .await
        .expect("gate lanes start");

    let password_file = data.path().join("camera-password");
    std::fs::write(&password_file, format!("{CAMERA_PASSWORD}\n")).expect("password file");
    let text = format!(
        r#"
        [site]
        code = "3511W001"
        [storage]
        data_dir = {data:?}
        {no_disk_levels}
        [web]
        listen = "127.0.0.1:0"
        [plate_events]
        listen = "127.0.0.1:{camera_port}"
        "#,
        data = data.path().display().to_string(),
        no_disk_levels = super::NO_DISK_LEVELS,
    );
    let mut config = config::parse(&text, Path::new("gates-test.toml")).expect("valid test config");
    (config.gates, config.cameras) = controller_lanes(&addrs, &password_file);
    for gate in &mut config.gates {
        gate.plate_wait_s = 6.0;
        gate.weight_wait_s = 10.0;
    }
    config.operators = vec![OperatorConfig::with_token(OPERATOR, OPERATOR_TOKEN)];
    tweak(&mut config);
    assert!(config.validate().is_empty(), "{:?}", config.validate());
    let store = Store::open(data.path()).expect("store opens");
    seed_permits(&store, permits).await;
    let controller = daemon::start(config, store, shutdown.clone())
        .await
        .expect("controller starts");
    let http = super::admin_client(controller.web_addr).await;
    GateSite {
        traffic,
        controller,
        http,
        shutdown,
        data,
        _sim_tasks: sim_tasks,
    }
}

/// Write exit permits as the platform would have sent them.
pub async fn seed_permits(store: &Store, permits: Vec<ExitPermit>) {
    store
        .writer
        .write(move |tx| {
            for p in &permits {
                customs_edge::store::downlink::upsert_permit(tx, p, &customs_edge::store::now())?;
            }
            Ok(())
        })
        .await
        .expect("permits stored");
}

impl GateSite {
    /// Queue a truck and wait until it left or was held.
    pub async fn drive(&self, spec: VehicleSpec) -> VehicleRecord {
        let (id, _) = self.traffic.queue(spec).expect("vehicle queued");
        self.traffic
            .wait_vehicle(id, Duration::from_secs(90))
            .await
            .unwrap_or_else(|| panic!("vehicle {id} neither left nor was held in 90 s"))
    }

    /// Rows of a read-only query on the controller's database.
    pub fn query(&self, sql: &str) -> Vec<Vec<serde_json::Value>> {
        super::query_db(self.data.path(), sql)
    }

    /// `GET /api/gates`.
    pub async fn lanes(&self) -> serde_json::Value {
        self.http
            .get(format!("http://{}/api/gates", self.controller.web_addr))
            .send()
            .await
            .expect("GET /api/gates")
            .json()
            .await
            .expect("JSON")
    }

    /// `POST /api/gates/{gate}/override` with `token` and `reason` (an explicit bearer
    /// token wins over the harness's session).
    pub async fn override_gate(
        &self,
        gate: &str,
        token: &str,
        reason: &str,
    ) -> (u16, serde_json::Value) {
        let res = self
            .http
            .post(format!(
                "http://{}/api/gates/{gate}/override",
                self.controller.web_addr
            ))
            .bearer_auth(token)
            .json(&serde_json::json!({ "reason": reason }))
            .send()
            .await
            .expect("POST override");
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or_default())
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.controller.wait()).await;
    }
}

/// A whole site in one simulator: the line (one scanner, deciding at the deadline, the
/// bag-label scanner at its release lane) and exit lane K1 (Hikvision camera with Digest, a
/// weighbridge), with `lists` in the store.
/// The lane keeps the default for permits without items (hold). Trucks are queued on
/// `site.sim.traffic()`.
pub async fn start_line_and_gate_site(
    lists: Vec<customs_edge::manifest::DeclarationList>,
) -> super::Site {
    start_line_and_gate_site_with(lists, |_| {}).await
}

/// [`start_line_and_gate_site`] with a last change to the controller's config.
pub async fn start_line_and_gate_site_with(
    lists: Vec<customs_edge::manifest::DeclarationList>,
    tweak: impl FnOnce(&mut customs_edge::config::Config),
) -> super::Site {
    let camera_port = free_port();
    let mut setup = GateLaneSetup::new("K1", Direction::Out);
    let mut camera = CameraSetup::new(
        format!("http://127.0.0.1:{camera_port}/cameras/CAM-K1/events"),
        CameraForm::Hikvision,
    );
    camera.auth = CameraAuth::Digest;
    camera.username = CAMERA_USER.into();
    camera.password = CAMERA_PASSWORD.into();
    camera.camera_id = Some("CAM-K1".into());
    setup.camera = Some(camera);
    setup.timing = relaxed_timing();
    let sim_config = customs_edge_simulators::SimConfig {
        gates: vec![setup],
        traffic: TrafficOptions {
            seed: 42,
            generate: None,
            wait_for_controller: true,
        },
        ..customs_edge_simulators::SimConfig::default()
    };
    let password_dir = tempfile::tempdir().expect("temp dir").keep();
    let password_file = password_dir.join("camera-password");
    std::fs::write(&password_file, format!("{CAMERA_PASSWORD}\n")).expect("password file");
    super::start_sim_and_controller(sim_config, lists, move |sim, config| {
        config.plate_events.listen = format!("127.0.0.1:{camera_port}");
        (config.gates, config.cameras) = controller_lanes(&sim.gates, &password_file);
        for gate in &mut config.gates {
            gate.plate_wait_s = 6.0;
            gate.weight_wait_s = 10.0;
            gate.permit_without_items = customs_edge::config::PermitWithoutItems::Hold;
        }
        config.lines[0]
            .bag_scanners
            .push(super::bags::bag_scanner(sim.lines[0].bag));
        tweak(config);
    })
    .await
}

/// Queue a truck on the site's simulated gate and wait until it left or was held.
pub async fn drive_at(site: &super::Site, spec: VehicleSpec) -> VehicleRecord {
    let traffic = site.sim.traffic().expect("the site has gate lanes");
    let (id, _) = traffic.queue(spec).expect("vehicle queued");
    traffic
        .wait_vehicle(id, Duration::from_secs(90))
        .await
        .unwrap_or_else(|| panic!("vehicle {id} neither left nor was held in 90 s"))
}
