//! A scenario played in-process: parcels and faults on time, then the site is finished.

use crate::common;

use std::time::Duration;

use common::PATIENCE;
use customs_edge_simulators::faults::{FaultKind, FaultSource};
use customs_edge_simulators::{Scenario, SimConfig};
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn scenario_faults_start_on_time_and_the_run_finishes_by_itself() {
    let scenario = Scenario::from_toml(
        r#"
        grace_ms = 100
        [line]
        belt_speed_mm_s = 4000
        [[parcels]]
        at_ms = 0
        code = "SF1"
        expect = "exception"
        [[parcels]]
        at_ms = 200
        code = "SF2"
        weight_kg = 2.0
        [[faults]]
        at_ms = 300
        kind = "estop"
        duration_ms = 400
        "#,
    )
    .unwrap();
    let sim = customs_edge_simulators::start(
        SimConfig {
            scenario: Some(scenario),
            ..SimConfig::default()
        },
        CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(sim.lines[0].id, "L1");
    tokio::time::timeout(PATIENCE, sim.finished())
        .await
        .expect("the scenario ends by itself");
    let report = sim.finish(PATIENCE).await.unwrap();
    assert!(report.finished);
    assert_eq!(
        report.lines[0].config.belt_speed_mm_s, 4000,
        "[line] applies"
    );
    assert_eq!((report.summary.dropped, report.summary.wrong_lane), (2, 0));
    let f = &report.faults[0];
    assert_eq!(
        (f.kind, f.source),
        (FaultKind::Estop, FaultSource::Scenario)
    );
    // Steps are applied in time order: the fault at 300 ms after the parcel at 200 ms.
    assert!(f.started_at >= report.parcels[1].injected_at);
    let lasted = (f.ended_at.unwrap() - f.started_at).to_std().unwrap();
    assert!(lasted >= Duration::from_millis(400), "{lasted:?}");
    assert!((report.parcels[1].weight_kg - 2.0).abs() < 1e-9);
}
