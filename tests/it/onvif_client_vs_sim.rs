//! The ONVIF client (`customs_edge_devices::onvif`) and `customs-edge cameras discover`
//! against the simulated ONVIF camera (`customs_edge_simulators::onvif`): discovery over
//! unicast UDP, a camera clock an hour off with a tight WS-Security window, profiles, URIs,
//! a snapshot behind HTTP Digest, and a password changed under the client's feet.

use std::time::Duration;

use chrono::TimeDelta;
use customs_edge::config::CameraConfig;
use customs_edge_devices::onvif::{Discovery, OnvifClient, discover};
use customs_edge_simulators::onvif::{OnvifCameraConfig, RunningCamera, start};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "admin123";

async fn camera(shutdown: &CancellationToken) -> RunningCamera {
    let cfg = OnvifCameraConfig {
        clock_skew_s: 3600,
        token_window_s: 5,
        discovery: true,
        password: PASSWORD.to_owned(),
        ..OnvifCameraConfig::sized("gate-1", 640, 360, 5)
    };
    start(cfg, shutdown.clone())
        .await
        .expect("simulated camera")
}

#[tokio::test]
async fn client_discovers_and_reads_the_simulated_camera() {
    let shutdown = CancellationToken::new();
    let cam = camera(&shutdown).await;

    let probe_to = cam.discovery_addr().expect("discovery on");
    let report = discover(
        Duration::from_millis(500),
        &Discovery::Unicast(vec![probe_to]),
    )
    .await
    .unwrap();
    assert_eq!(report.devices.len(), 1, "{report:?}");
    let found = &report.devices[0];
    assert_eq!(found.endpoint, cam.endpoint_reference());
    assert_eq!(found.name().as_deref(), Some("gate-1"));
    assert!(
        found.xaddrs.contains(&cam.device_service_url()),
        "{found:?}"
    );
    assert_eq!(report.malformed, 0);

    let url = cam.device_service_url();
    let client = OnvifClient::new(&url, "admin", PASSWORD, Duration::from_secs(5)).unwrap();
    client.system_date_and_time().await.unwrap();
    let offset = client.clock_offset().unwrap();
    assert!(
        (offset - TimeDelta::hours(1)).abs() <= TimeDelta::seconds(2),
        "{offset}"
    );

    let info = client.device_information().await.unwrap();
    assert_eq!(info.model, cam.config().model);
    let profiles = client.profiles().await.unwrap();
    let tokens: Vec<_> = profiles.iter().map(|p| p.token.as_str()).collect();
    assert_eq!(tokens, ["main", "sub"]);
    assert_eq!(
        profiles[0].video.as_ref().unwrap().resolution,
        Some((640, 360))
    );
    let stream = client.stream_uri("main").await.unwrap();
    assert!(!stream.uri.is_empty());
    let snapshot = client.snapshot("main").await.unwrap();
    assert!(snapshot.bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");

    let wrong = OnvifClient::new(&url, "admin", "nope", Duration::from_secs(5)).unwrap();
    assert!(
        wrong
            .device_information()
            .await
            .unwrap_err()
            .is_unauthorized()
    );
    cam.set_password("changed");
    let err = client.profiles().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    shutdown.cancel();
}

#[derive(Deserialize)]
struct Pasted {
    cameras: Vec<CameraConfig>,
}

#[tokio::test]
async fn cameras_discover_prints_config_ready_to_paste() {
    let shutdown = CancellationToken::new();
    let cam = camera(&shutdown).await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(["cameras", "discover", "--timeout-s", "0.5", "--unicast"])
        .arg(cam.discovery_addr().unwrap().to_string())
        .args(["--user", "admin", "--password-env", "SIM_CAM_PASSWORD"])
        .env("SIM_CAM_PASSWORD", PASSWORD)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{stdout}");
    assert!(!stdout.contains(PASSWORD), "the password is never printed");
    assert!(stdout.contains("# profile   main"), "{stdout}");
    let pasted: Pasted = toml::from_str(&stdout).unwrap_or_else(|e| panic!("{e}\n{stdout}"));
    let c = &pasted.cameras[0];
    assert_eq!(
        c.onvif_url.as_deref(),
        Some(cam.device_service_url().as_str())
    );
    assert!(c.stream_url.is_some(), "{stdout}");
    assert_eq!(c.password_env.as_deref(), Some("SIM_CAM_PASSWORD"));

    // Without credentials: what is open, and a word on what is not.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_customs-edge"))
        .args(["cameras", "discover", "--timeout-s", "0.5", "--unicast"])
        .arg(cam.discovery_addr().unwrap().to_string())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("credentials needed"), "{stdout}");
    assert!(stdout.contains("s from ours"), "the clock offset: {stdout}");
    shutdown.cancel();
}
