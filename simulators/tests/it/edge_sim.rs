//! The `edge-sim` binary: scenarios judged by their exit status, load runs, addresses.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use customs_edge_simulators::{LaneKind, Report};
use serde_json::Value;
use tokio::process::Command;

/// Bound on one run of the binary: generous, for a busy 2-core CI machine.
const PATIENCE: Duration = Duration::from_secs(60);

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("edge-sim-{name}-{}", std::process::id()))
}

async fn edge_sim(args: &[&str]) -> Output {
    let child = Command::new(env!("CARGO_BIN_EXE_edge-sim"))
        .args(args)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(PATIENCE, child)
        .await
        .expect("edge-sim ends by itself")
        .expect("edge-sim runs")
}

fn read_report(path: &Path) -> Report {
    let text = std::fs::read_to_string(path).expect("report file written");
    let _ = std::fs::remove_file(path);
    serde_json::from_str(&text).expect("report file is a Report")
}

#[tokio::test]
async fn a_scenario_the_absent_controller_cannot_satisfy_reports_wrong_lane_and_exits_1() {
    let report_file = temp_path("unsorted.json");
    let out = edge_sim(&[
        "--scenario",
        scenario("unsorted.toml").to_str().unwrap(),
        "--base-port",
        "0",
        "--print-addresses-json",
        "--report-file",
        report_file.to_str().unwrap(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let addresses: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert!(
        addresses["http"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:")
    );
    assert_eq!(addresses["lines"][0]["id"], "L1");
    assert!(addresses["lines"][0]["side"].as_str().is_some());
    assert!(stdout.contains("wrong_lane=1"), "{stdout}");

    let report = read_report(&report_file);
    assert!(report.finished);
    assert_eq!((report.summary.wrong_lane, report.summary.missed), (1, 2));
    let wrong: Vec<_> = report.wrong_lane().collect();
    assert_eq!(wrong.len(), 1);
    assert_eq!(
        (wrong[0].expected, wrong[0].expected_lane, wrong[0].lane),
        (Some(LaneKind::Release), Some(1), Some(3))
    );
    assert!(wrong[0].defaulted);
}

#[tokio::test]
async fn a_scenario_whose_expectations_hold_exits_0() {
    let out = edge_sim(&[
        "--scenario",
        scenario("defaults-ok.toml").to_str().unwrap(),
        "--base-port",
        "0",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("HTTP API"), "{stdout}");
    assert!(stdout.contains("L1   side scanner"), "{stdout}");
    assert!(stdout.contains("wrong_lane=0"), "{stdout}");
}

#[tokio::test]
async fn a_short_load_run_on_two_lines_finishes_by_itself_with_images() {
    let report_file = temp_path("load.json");
    let xray = temp_path("load-xray");
    let out = edge_sim(&[
        "--lines",
        "2",
        "--load-rate",
        "20",
        "--load-seconds",
        "1",
        "--base-port",
        "0",
        "--xray-dir",
        xray.to_str().unwrap(),
        "--xray-size",
        "64x48",
        "--report-file",
        report_file.to_str().unwrap(),
    ])
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = read_report(&report_file);
    let s = &report.summary;
    assert!((20..=42).contains(&s.injected), "{s:?}");
    assert_eq!((s.dropped, s.in_flight), (s.injected, 0));
    assert_eq!(report.lines.len(), 2);
    assert_eq!(report.lines[1].config.belt_speed_mm_s, 3000);
    let images = std::fs::read_dir(xray.join("L2")).unwrap().count() as u64;
    let _ = std::fs::remove_dir_all(&xray);
    let l2 = report.lines[1].summary.injected;
    assert_eq!(images, 2 * l2, "two views per L2 parcel");
}

#[tokio::test]
async fn a_bad_scenario_path_exits_2_with_the_reason() {
    let out = edge_sim(&[
        "--scenario",
        "/nonexistent/scenario.toml",
        "--base-port",
        "0",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot read the scenario"), "{stderr}");
}
