//! `customs-edge doctor` against the simulators over real sockets: a simulated line (PLC,
//! two scanners, X-ray directory), a gate lane (gate I/O, weighbridge), an ONVIF camera,
//! a TLS Mosquitto, and a store. All up, one device down, everything down, and devices
//! that answer but are configured wrong.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use customs_edge::config::{self, Config};
use customs_edge::doctor::{self, Row, Verdict};
use customs_edge_simulators::broker::{Broker, BrokerOptions, TlsOptions};
use customs_edge_simulators::onvif::{self, OnvifCameraConfig, RunningCamera};
use customs_edge_simulators::vehicles::{Direction, GateLaneSetup};
use customs_edge_simulators::{RunningSim, SimConfig};
use tokio_util::sync::CancellationToken;

const CAMERA_PASSWORD: &str = "cam-pass-doctor";
const MQTT_USER: &str = "edge-3511";
const MQTT_PASSWORD: &str = "mqtt-pass-doctor";
/// The broker credentials as the doctor's environment holds them.
const MQTT_ENV: [(&str, &str); 2] = [
    ("DOCTOR_MQTT_USER", MQTT_USER),
    ("DOCTOR_MQTT_PASSWORD", MQTT_PASSWORD),
];

/// The simulated site and a config pointing at it.
struct Env {
    sim: RunningSim,
    camera: RunningCamera,
    broker: Broker,
    shutdown: CancellationToken,
    dir: tempfile::TempDir,
    data: PathBuf,
    password_file: PathBuf,
}

async fn start_env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let sim_config = SimConfig {
        xray_root: Some(dir.path().join("xray")),
        gates: vec![GateLaneSetup::new("K1", Direction::Out)],
        ..SimConfig::default()
    };
    let sim = customs_edge_simulators::start(sim_config, shutdown.clone())
        .await
        .expect("simulator starts");
    let camera = onvif::start(
        OnvifCameraConfig {
            password: CAMERA_PASSWORD.into(),
            ..OnvifCameraConfig::default()
        },
        shutdown.clone(),
    )
    .await
    .expect("camera starts");
    let broker = Broker::start_with(BrokerOptions {
        tls: Some(TlsOptions::default()),
        login: Some((MQTT_USER.into(), MQTT_PASSWORD.into())),
        ..BrokerOptions::default()
    });
    let data = dir.path().join("data");
    drop(customs_edge::store::Store::open(&data).expect("store"));
    // As the package installs it: the controller's own, closed to other users.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    let password_file = dir.path().join("camera-password");
    secret(&password_file, CAMERA_PASSWORD);
    Env {
        sim,
        camera,
        broker,
        shutdown,
        dir,
        data,
        password_file,
    }
}

/// A file readable by its owner only.
fn secret(path: &Path, text: &str) {
    std::fs::write(path, format!("{text}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

impl Env {
    fn config_text(&self) -> String {
        let line = &self.sim.lines[0];
        let gate = &self.sim.gates[0];
        format!(
            r#"
            [site]
            code = "3511W001"
            [storage]
            data_dir = {data:?}
            [web]
            listen = "127.0.0.1:0"
            [plate_events]
            listen = "127.0.0.1:0"
            [[lines]]
            id = "L1"
            plc.address = "{plc}"
            geometry.xray_at_mm = 1200
            xray.dir = {xray:?}
            [[lines.scanners]]
            name = "top"
            address = "{top}"
            [[lines.scanners]]
            name = "side"
            address = "{side}"
            [[gates]]
            id = "K1"
            direction = "out"
            io_address = "{io}"
            weighbridge_address = "{wb}"
            plate_camera = "CAM-K1"
            [[cameras]]
            id = "CAM-K1"
            username = "plate"
            password_file = {pw:?}
            [[cameras]]
            id = "CAM-X1"
            onvif_url = "{onvif}"
            username = "admin"
            password_file = {pw:?}
            points = ["line:L1:xray_exit"]
            [platform]
            broker = "{broker}"
            ca_file = {ca:?}
            username_env = "DOCTOR_MQTT_USER"
            password_env = "DOCTOR_MQTT_PASSWORD"
            "#,
            data = self.data.display().to_string(),
            plc = line.plc,
            xray = line.xray_dir.as_ref().unwrap().display().to_string(),
            top = line.top,
            side = line.side,
            io = gate.io,
            wb = gate.weighbridge.unwrap(),
            pw = self.password_file.display().to_string(),
            onvif = self.camera.device_service_url(),
            broker = self.broker.url(),
            ca = self.broker.ca_path().display().to_string(),
        )
    }

    fn config(&self, tweak: impl FnOnce(&mut Config)) -> Config {
        let mut config = config::parse(&self.config_text(), Path::new("doctor-test.toml"))
            .expect("the test config is valid");
        tweak(&mut config);
        config
    }
}

/// Run the binary on `config` (written into `dir`); its exit code, its JSON rows and how
/// long it took.
fn run_binary(
    dir: &Path,
    config: &Config,
    timeout_s: f64,
    env: &[(&str, &str)],
) -> (i32, Vec<Row>, Duration) {
    let file = dir.join("site.toml");
    std::fs::write(&file, toml::to_string(config).unwrap()).unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args([
            "doctor",
            "--json",
            "--timeout-s",
            &timeout_s.to_string(),
            "--config",
        ])
        .arg(&file)
        .envs(env.iter().copied())
        .output()
        .expect("doctor runs");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "JSON rows ({e}): {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let rows = rows
        .into_iter()
        .map(|r| Row {
            subject: r["subject"].as_str().unwrap().into(),
            check: r["check"].as_str().unwrap().into(),
            result: match r["result"].as_str().unwrap() {
                "ok" => Verdict::Ok,
                "warn" => Verdict::Warn,
                _ => Verdict::Fail,
            },
            detail: r["detail"].as_str().unwrap().into(),
        })
        .collect();
    (out.status.code().unwrap_or(-1), rows, elapsed)
}

fn row<'a>(rows: &'a [Row], subject: &str, check: &str) -> &'a Row {
    rows.iter()
        .find(|r| r.subject == subject && r.check == check)
        .unwrap_or_else(|| panic!("no row {subject} / {check} in {rows:#?}"))
}

fn assert_row(rows: &[Row], subject: &str, check: &str, result: Verdict, detail: &str) {
    let r = row(rows, subject, check);
    assert_eq!(r.result, result, "{r:?}");
    assert!(
        r.detail.contains(detail),
        "{subject} / {check}: {:?} lacks {detail:?}",
        r.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_device_up_every_check_passes_and_doctor_exits_0() {
    let env = start_env().await;
    let config = env.config(|_| {});
    let (code, rows, _) = run_binary(env.dir.path(), &config, 3.0, &MQTT_ENV);
    let failed: Vec<_> = rows.iter().filter(|r| r.result == Verdict::Fail).collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(code, 0, "{rows:#?}");
    for (subject, check, detail) in [
        ("line L1 plc", "status block", "decodes"),
        ("line L1 plc", "heartbeat", "advancing"),
        ("line L1 plc", "command block", "readable at 100"),
        ("line L1 scanner top", "reachable", "accepts"),
        ("line L1 scanner side", "reachable", "accepts"),
        ("line L1 x-ray", "readable", "lists"),
        ("gate K1 i/o", "status block", "barrier closed"),
        ("gate K1 weighbridge", "status block", "kg"),
        ("camera CAM-X1", "clock", "from ours"),
        ("camera CAM-X1", "login", "SIM-IPC-720"),
        ("camera CAM-X1", "snapshot", "image/jpeg"),
        ("camera CAM-X1", "stream", "/stream/main"),
        ("camera CAM-X1", "secret file", "owner only"),
        (
            "broker",
            "connect",
            "accepted the connection as \"edge-3511\"",
        ),
        ("broker", "tls", "ca_file"),
        ("store", "database", "quick_check ok"),
        ("data dir", "permissions", "writable"),
        ("plate listener", "bindable", "free"),
    ] {
        assert_row(&rows, subject, check, Verdict::Ok, detail);
    }
    assert!(rows.iter().any(|r| r.subject == "system clock"));
    env.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_down_fails_its_row_and_everything_down_is_diagnosed_in_seconds() {
    let env = start_env().await;
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let config = env.config(|c| c.gates[0].io_address = closed.to_string());
    let (code, rows, _) = run_binary(env.dir.path(), &config, 3.0, &MQTT_ENV);
    assert_eq!(code, 1);
    assert_row(
        &rows,
        "gate K1 i/o",
        "reachable",
        Verdict::Fail,
        "gates[0].io_address",
    );
    assert_row(&rows, "line L1 plc", "status block", Verdict::Ok, "decodes");
    let failed = rows.iter().filter(|r| r.result == Verdict::Fail).count();
    assert_eq!(failed, 1, "{rows:#?}");

    // Now the whole site goes dark.
    let config = env.config(|_| {});
    let Env {
        sim,
        camera,
        mut broker,
        shutdown,
        dir,
        ..
    } = env;
    shutdown.cancel();
    sim.wait().await.expect("the simulator stops");
    camera.stopped().await;
    broker.stop();
    let (code, rows, elapsed) = run_binary(dir.path(), &config, 2.0, &MQTT_ENV);
    assert_eq!(code, 1);
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    for subject in [
        "line L1 plc",
        "line L1 scanner top",
        "line L1 scanner side",
        "gate K1 i/o",
        "gate K1 weighbridge",
        "camera CAM-X1",
    ] {
        assert_eq!(
            row(&rows, subject, "reachable").result,
            Verdict::Fail,
            "{subject}"
        );
    }
    assert_row(&rows, "broker", "connect", Verdict::Fail, "refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misconfigured_devices_fail_with_what_to_change() {
    let env = start_env().await;
    let skewed = onvif::start(
        OnvifCameraConfig {
            name: "skewed".into(),
            password: CAMERA_PASSWORD.into(),
            clock_skew_s: 120,
            token_window_s: 600,
            ..OnvifCameraConfig::default()
        },
        env.shutdown.clone(),
    )
    .await
    .unwrap();
    let wrong_password = env.dir.path().join("wrong-password");
    secret(&wrong_password, "not-the-password");
    let open_key = env.dir.path().join("open-password");
    std::fs::write(&open_key, CAMERA_PASSWORD).unwrap();
    std::fs::set_permissions(&open_key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = env.config(|c| {
        c.lines[0].plc.unit_id = 7;
        c.lines[0].xray.as_mut().unwrap().dir = "/nonexistent/xray".into();
        c.gates[0].io_status_base = 500;
        c.cameras[0].password_file = Some(open_key.clone());
        c.cameras[1].password_file = Some(wrong_password.clone());
        let mut skew = c.cameras[1].clone();
        skew.id = "CAM-SKEW".into();
        skew.onvif_url = Some(skewed.device_service_url());
        skew.password_file = Some(env.password_file.clone());
        c.cameras.push(skew);
    });
    let rows = doctor::run(&config, doctor::Options::default()).await;
    assert!(!doctor::passed(&rows));
    assert_row(&rows, "line L1 plc", "reachable", Verdict::Ok, "accepts");
    assert_row(
        &rows,
        "line L1 plc",
        "status block",
        Verdict::Fail,
        "lines[0].plc.unit_id (7)",
    );
    assert_row(
        &rows,
        "line L1 x-ray",
        "readable",
        Verdict::Fail,
        "does not exist",
    );
    assert_row(
        &rows,
        "gate K1 i/o",
        "status block",
        Verdict::Fail,
        "gates[0].io_status_base (500)",
    );
    assert_row(
        &rows,
        "gate K1 weighbridge",
        "status block",
        Verdict::Ok,
        "kg",
    );
    assert_row(&rows, "camera CAM-X1", "clock", Verdict::Ok, "from ours");
    assert_row(
        &rows,
        "camera CAM-X1",
        "login",
        Verdict::Fail,
        "refused the credentials",
    );
    let skew = row(&rows, "camera CAM-SKEW", "clock");
    assert_eq!(skew.result, Verdict::Fail, "{skew:?}");
    let secs: f64 = skew.detail["camera clock ".len()..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{skew:?}"));
    assert!((118.0..=122.0).contains(&secs), "{skew:?}");
    assert!(skew.detail.contains("NTP"), "{skew:?}");
    assert_row(
        &rows,
        "camera CAM-SKEW",
        "login",
        Verdict::Ok,
        "SIM-IPC-720",
    );
    assert_row(
        &rows,
        "camera CAM-K1",
        "secret file",
        Verdict::Fail,
        "mode 0644",
    );
    assert_row(
        &rows,
        "broker",
        "config",
        Verdict::Fail,
        "DOCTOR_MQTT_USER is not set",
    );
    println!("{}", doctor::table(&rows));

    // The broker's user with another password.
    let wrong = [MQTT_ENV[0], ("DOCTOR_MQTT_PASSWORD", "guessed")];
    let (code, rows, _) = run_binary(env.dir.path(), &env.config(|_| {}), 3.0, &wrong);
    assert_eq!(code, 1);
    assert_row(
        &rows,
        "broker",
        "connect",
        Verdict::Fail,
        "refused the credentials",
    );
    env.shutdown.cancel();
}
