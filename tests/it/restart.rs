//! The controller killed with SIGKILL mid-run and started again: no stored record is lost,
//! parcels that were in flight are marked interrupted, and none of them was released
//! without a release decision on record.

use crate::common;

use common::process::Controller;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use customs_edge_simulators::SimConfig;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// The simulators of one line, and a data directory with a controller config for it.
async fn simulated_line() -> (
    CancellationToken,
    customs_edge_simulators::RunningSim,
    tempfile::TempDir,
    std::path::PathBuf,
) {
    let shutdown = CancellationToken::new();
    let sim = customs_edge_simulators::start(SimConfig::default(), shutdown.clone())
        .await
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let config_file = data.path().join("site.toml");
    let (plc, scanner) = (sim.lines[0].plc.to_string(), sim.lines[0].top.to_string());
    std::fs::write(
        &config_file,
        common::test_config_toml(data.path(), &plc, &scanner),
    )
    .unwrap();
    (shutdown, sim, data, config_file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_loses_no_stored_record_and_in_flight_parcels_fail_closed() {
    let (shutdown, sim, data, config_file) = simulated_line().await;
    // Every waybill released, so a parcel in the release lane is only right with a release
    // decision on record.
    let codes: Vec<String> = (0..60).map(|i| format!("SF5{i:011}")).collect();
    let store = customs_edge::store::Store::open(data.path()).unwrap();
    common::store_lists(&store, codes.iter().map(|c| common::list(c, 800)).collect()).await;
    drop(store);

    // Parcels keep coming, a little over one a second, for the whole test.
    let feeder = common::feed_parcels(sim.http, codes.clone(), Duration::from_millis(800));

    let first = Controller::start(&config_file).await;
    first.wait_sorted(4).await;
    let before = first.parcels().await;
    first.kill9();

    let second = Controller::start(&config_file).await;
    let after = second
        .wait_sorted(before.iter().filter(|p| p["outcome"] == "sorted").count() + 3)
        .await;
    let after_by_id: HashMap<i64, &Value> = after
        .iter()
        .map(|p| (p["id"].as_i64().unwrap(), p))
        .collect();

    for old in &before {
        let id = old["id"].as_i64().unwrap();
        let new = after_by_id
            .get(&id)
            .unwrap_or_else(|| panic!("record {id} lost: {old}"));
        for field in ["tracking_no", "entered_at"] {
            assert_eq!(old[field], new[field], "record {id} changed its {field}");
        }
        if old["decided_at"].is_string() {
            for field in ["lane", "lane_kind", "reasons", "logistics_no", "decided_at"] {
                assert_eq!(old[field], new[field], "decision of {id} changed");
            }
        }
        if old["outcome"] == "in_flight" {
            assert_ne!(
                new["outcome"], "in_flight",
                "record {id} left in flight across the restart"
            );
        } else {
            assert_eq!(old["outcome"], new["outcome"], "outcome of {id} changed");
        }
    }
    let interrupted: Vec<&Value> = after
        .iter()
        .filter(|p| p["outcome"] == "interrupted")
        .collect();
    assert!(
        !interrupted.is_empty(),
        "parcels were on the belt when the controller died"
    );

    // Ground truth: nothing reached the release lane without a release decision on record.
    let report: Value = reqwest::get(format!("http://{}/report", sim.http))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let released_on_record: Vec<&str> = after
        .iter()
        .filter(|p| p["lane_kind"] == "release")
        .filter_map(|p| p["logistics_no"].as_str())
        .collect();
    for parcel in report["parcels"].as_array().unwrap() {
        if parcel["lane"] == 1 {
            let code = parcel["code"].as_str().unwrap();
            assert!(
                released_on_record.contains(&code),
                "{code} reached the release lane without a release decision"
            );
        }
    }
    // Parcels interrupted before their lane was commanded fell into the exception lane.
    for p in &interrupted {
        if p["lane"].is_null() {
            let tracking = &p["tracking_no"];
            let sim_parcel = report["parcels"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| &s["tracking_no"] == tracking && s["state"] == "dropped");
            if let Some(s) = sim_parcel {
                assert_eq!(
                    s["lane"], 3,
                    "an interrupted parcel with no command must default to exception: {s}"
                );
            }
        }
    }

    shutdown.cancel();
    feeder.abort();
    let status = Command::new("kill")
        .args(["-TERM", &second.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut second = second;
    assert!(
        second.child.wait().unwrap().success(),
        "clean stop on SIGTERM"
    );
    sim.wait().await.unwrap();
}

/// A decision logged and commanded, then the process died before it committed to the
/// store: the next start stores it from the decision log, once, and clears the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_logged_but_not_committed_is_stored_at_the_next_start() {
    use customs_edge::sorting::decision_log::{self, DecisionLog, Logged};
    use std::io::Write as _;

    let (shutdown, sim, data, config_file) = simulated_line().await;
    // The run that died: two parcels entered, one decided and committed, the other's
    // decision only in the log, and an append cut short after it.
    let store = customs_edge::store::Store::open(data.path()).unwrap();
    let at = customs_edge::store::now();
    let ids: Vec<i64> = store
        .writer
        .write(move |tx| {
            (1..=2)
                .map(|n| customs_edge::store::parcels::insert_entry(tx, "L1", n, &at, 300))
                .collect()
        })
        .await
        .unwrap();
    let logged = |id: i64, kind: &str, lane: u16| Logged {
        parcel_id: id,
        line_id: "L1".to_owned(),
        tracking_no: 1,
        decided_at: customs_edge::store::now(),
        logistics_no: Some(format!("SF6{id:011}")),
        read_status: "read".to_owned(),
        lane,
        lane_kind: kind.to_owned(),
        reasons_json: r#"["released"]"#.to_owned(),
        inputs_json: "{}".to_owned(),
        risk_json: "{}".to_owned(),
        ebc_code: None,
        weight_mismatch: false,
    };
    let committed = logged(ids[0], "inspection", 2);
    let row = committed.clone();
    store
        .writer
        .write(move |tx| customs_edge::store::parcels::record_decision(tx, &row.row()))
        .await
        .unwrap();
    drop(store);
    {
        let (log, recovered) = DecisionLog::open(data.path()).unwrap();
        recovered.done();
        // The first one's record too (its commit's outcome never reached the log).
        let _ = log.append(&committed).unwrap();
        let _ = log.append(&logged(ids[1], "release", 1)).unwrap();
    }
    let dir = data.path().join(decision_log::DIR);
    let segment = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&segment)
        .unwrap()
        .write_all(b"{\"parcel_id\":")
        .unwrap();

    let controller = Controller::start(&config_file).await;
    let parcels = controller.parcels().await;
    let by_id = |id: i64| {
        parcels
            .iter()
            .find(|p| p["id"] == id)
            .unwrap_or_else(|| panic!("parcel {id} in {parcels:#?}"))
    };
    assert_eq!(
        (&by_id(ids[0])["lane_kind"], &by_id(ids[0])["lane"]),
        (&Value::from("inspection"), &Value::from(2)),
        "the committed decision stands"
    );
    assert_eq!(
        (&by_id(ids[1])["lane_kind"], &by_id(ids[1])["lane"]),
        (&Value::from("release"), &Value::from(1)),
        "the logged decision is stored"
    );
    assert!(by_id(ids[1])["decided_at"].is_string());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.file_name()))
        .filter(|n| n.to_string_lossy().ends_with(".jsonl"))
        .collect();
    assert!(left.is_empty(), "the replayed segments are gone: {left:?}");
    drop(controller);
    shutdown.cancel();
    sim.wait().await.unwrap();
}
