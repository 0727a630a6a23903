//! The bag-label scanner at the release lane, against the simulated line: a bag label
//! scanned closes the lane's bag with that number, and the simulator's ground truth (which
//! parcel is physically in which bag) agrees with the controller's bag; the label of an
//! intercepted parcel scanned there, once it was taken out, records its retrieval; a label
//! that is neither is refused and kept as rejected input.

use crate::common;

use std::time::Duration;

use common::bags::{scan_bag_label, scan_retrieval, start_site_with_bag_scanner};
use common::{Site, list};
use customs_edge::store::downlink::apply;
use customs_edge_protocol::downlink::{self as wire, Downlink};
use serde_json::Value;

fn one(site: &Site, sql: &str) -> Value {
    site.query(sql)
        .first()
        .map_or(Value::Null, |r| r[0].clone())
}

/// Sort `codes` into the release lane and wait until the controller has them in its bag.
async fn sort_into_the_bag(site: &Site, codes: &[&str]) -> Vec<u64> {
    let mut ids = Vec::new();
    for code in codes {
        ids.push(site.inject(Some(code)).await);
    }
    let report = site.wait_dropped(&ids).await;
    for id in &ids {
        assert_eq!(report.parcel(*id).unwrap().lane, Some(1), "released");
    }
    let n = codes.len() as i64;
    common::wait_for(
        "the drops in the open bag",
        Duration::from_secs(10),
        || async {
            (one(
                site,
                "SELECT count(*) FROM parcels p JOIN bags b ON b.id = p.bag_id WHERE b.closed_at IS NULL",
            )
            .as_i64()
                == Some(n))
            .then_some(())
        },
    )
    .await;
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bag_label_scanned_at_the_lane_closes_the_bag_the_simulator_filled() {
    let site =
        start_site_with_bag_scanner(vec![list("SF8200000001", 800), list("SF8200000002", 800)])
            .await;
    let ids = sort_into_the_bag(&site, &["SF8200000001", "SF8200000002"]).await;
    let (status, bag) = scan_bag_label(&site, "ZB3511000101").await;
    assert_eq!(status, 201, "{bag}");
    common::wait_for(
        "the controller's bag closed by the scan",
        Duration::from_secs(15),
        || async {
            let row =
                site.query("SELECT closed_by, closed_at FROM bags WHERE bag_no = 'ZB3511000101'");
            row.first()
                .filter(|r| r[1].is_string())
                .map(|r| r[0].clone())
        },
    )
    .await;
    assert_eq!(
        one(
            &site,
            "SELECT closed_by FROM bags WHERE bag_no = 'ZB3511000101'"
        ),
        "scanner:L1/bag-1"
    );
    // Ground truth: the bag the simulator closed holds exactly the parcels the controller
    // says are in the bag of that number.
    let truth = site.report().await;
    let physical = truth
        .bag("L1", "ZB3511000101")
        .expect("the simulator's bag");
    let mut in_bag: Vec<String> = physical
        .parcels
        .iter()
        .filter_map(|id| truth.parcel(*id)?.code.clone())
        .collect();
    in_bag.sort();
    assert_eq!(physical.parcels.len(), ids.len());
    let listed = site.query(
        "SELECT p.logistics_no FROM parcels p JOIN bags b ON b.id = p.bag_id
         WHERE b.bag_no = 'ZB3511000101' ORDER BY p.logistics_no",
    );
    let listed: Vec<String> = listed
        .iter()
        .filter_map(|r| r[0].as_str().map(str::to_owned))
        .collect();
    assert_eq!(listed, in_bag);
    // A label that is neither a bag's nor an intercepted parcel's changes nothing and is
    // kept as rejected input. (The simulator takes the parcel out; the controller refuses.)
    let (status, _) = scan_retrieval(&site, "SF8200000001").await;
    assert_eq!(status, 201);
    common::wait_for(
        "the stray label kept as rejected input",
        Duration::from_secs(15),
        || async {
            site.rejected_inputs().into_iter().find(|(source, reason)| {
                source == "bag_scanner:L1/bag-1" && reason.contains("SF8200000001")
            })
        },
    )
    .await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parcel_label_scanned_at_the_lane_records_the_retrieval_of_its_interception() {
    let site =
        start_site_with_bag_scanner(vec![list("SF8200000011", 800), list("SF8200000012", 800)])
            .await;
    sort_into_the_bag(&site, &["SF8200000011", "SF8200000012"]).await;
    // Held after it dropped: an interception opens.
    site.controller
        .store
        .writer
        .write(|tx| {
            apply(
                tx,
                "m-bag-hold-1",
                &Downlink::ListStatus(wire::ListStatus {
                    updates: vec![wire::StatusUpdate {
                        logistics_no: "SF8200000012".into(),
                        return_status: 500,
                        return_info: Some("查验".into()),
                    }],
                }),
            )
        })
        .await
        .expect("applied");
    assert!(
        one(
            &site,
            "SELECT retrieved_at FROM interceptions WHERE logistics_no = 'SF8200000012'"
        )
        .is_null(),
        "the interception is open"
    );
    // Someone takes it out of the bag and scans its label at the lane.
    let (status, taken) = scan_retrieval(&site, "SF8200000012").await;
    assert_eq!(status, 201, "{taken}");
    let by = common::wait_for(
        "the retrieval recorded by the scan",
        Duration::from_secs(15),
        || async {
            let row = site.query(
                "SELECT retrieved_by, retrieval_scan FROM interceptions WHERE logistics_no = 'SF8200000012'",
            );
            row.first()
                .filter(|r| r[0].is_string())
                .map(|r| (r[0].clone(), r[1].clone()))
        },
    )
    .await;
    assert_eq!(by.0, "scanner:L1/bag-1");
    assert_eq!(by.1, "SF8200000012");
    // Its alarm is cleared.
    assert!(
        one(
            &site,
            "SELECT a.cleared_at FROM alarms a JOIN interceptions i ON i.alarm_id = a.id
             WHERE i.logistics_no = 'SF8200000012'"
        )
        .is_string()
    );
    // The bag then closes by its label; ground truth and the controller agree that the
    // retrieved parcel is no longer carried.
    let (status, bag) = scan_bag_label(&site, "ZB3511000102").await;
    assert_eq!(status, 201, "{bag}");
    common::wait_for("the bag closed", Duration::from_secs(15), || async {
        one(
            &site,
            "SELECT closed_at FROM bags WHERE bag_no = 'ZB3511000102'",
        )
        .is_string()
        .then_some(())
    })
    .await;
    let truth = site.report().await;
    let physical = truth
        .bag("L1", "ZB3511000102")
        .expect("the simulator's bag");
    let carried: Vec<_> = physical
        .parcels
        .iter()
        .filter_map(|id| truth.parcel(*id)?.code.clone())
        .collect();
    assert_eq!(carried, vec!["SF8200000011".to_owned()]);
    assert_eq!(physical.retrieved.len(), 1);
    let open = one(
        &site,
        "SELECT count(*) FROM interceptions i JOIN bags b ON b.id = i.bag_id
         WHERE b.bag_no = 'ZB3511000102' AND i.retrieved_at IS NULL",
    );
    assert_eq!(open, 0, "the bag is no longer marked");
    assert_eq!(
        one(
            &site,
            "SELECT count(*) FROM audit_log WHERE action = 'record_retrieval'"
        ),
        1,
        "the retrieval is audited once"
    );
    site.stop().await;
}
