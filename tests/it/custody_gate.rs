//! Nothing held leaves the site: parcels sorted on the simulated line fill the release
//! lane's bag (the simulator's ground truth: which parcel is physically in which bag), bags
//! are closed by scanning their label at the lane, a hold after the drop intercepts one,
//! and trucks at the simulated exit lane are loaded with those bags and carry permits
//! naming bags and waybills. The gate simulator's judge is the ground truth: did the
//! barrier open for a truck that should not leave, stay shut for one that should, or let
//! one leave carrying a held or unsorted parcel (a custody escape); the controller's pass
//! says which item failed.

use crate::common;

use std::time::Duration;

use common::bags::{scan_bag_label, scan_retrieval};
use common::gate_site::{PLATE_A, PLATE_B, drive_at, start_line_and_gate_site, truck};
use common::{Site, list};
use customs_edge_protocol::downlink::{self as wire, Downlink, ExitPermit, PermitItem};
use serde_json::Value;

const PLATE_C: &str = "闽G6N4W3";
const TRUCK_KG: i32 = 30_000;

fn permit(no: &str, plate: &str, items: Vec<PermitItem>) -> ExitPermit {
    let mut p = common::gate_site::permit(no, plate, 1, f64::from(TRUCK_KG));
    p.items = items;
    p
}

fn bag(no: &str) -> PermitItem {
    PermitItem {
        bill_no: None,
        logistics_no: None,
        total_package_no: Some(no.into()),
    }
}

fn waybill(no: &str) -> PermitItem {
    PermitItem {
        bill_no: None,
        logistics_no: Some(no.into()),
        total_package_no: None,
    }
}

fn entitled(
    mut spec: customs_edge_simulators::vehicles::VehicleSpec,
) -> customs_edge_simulators::vehicles::VehicleSpec {
    spec.entitled = true;
    spec
}

/// Scan bag label `bag_no` at the release lane (the simulator closes its bag) and wait
/// until the controller closed its own with that number.
async fn close_bag(site: &Site, bag_no: &str) {
    let (status, answer) = scan_bag_label(site, bag_no).await;
    assert_eq!(status, 201, "closing {bag_no}: {answer}");
    common::wait_for(
        "the controller's bag closed",
        Duration::from_secs(15),
        || async {
            let row = site.query(&format!(
                "SELECT closed_at FROM bags WHERE bag_no = '{bag_no}'"
            ));
            row.first().filter(|r| r[0].is_string()).map(|_| ())
        },
    )
    .await;
}

/// Sort `codes` on the line into the release lane's bag, then close it as `bag_no`.
async fn fill_bag(site: &Site, codes: &[&str], bag_no: &str) {
    let mut ids = Vec::new();
    for code in codes {
        ids.push(site.inject(Some(code)).await);
    }
    let report = site.wait_dropped(&ids).await;
    for id in &ids {
        assert_eq!(report.parcel(*id).unwrap().lane, Some(1), "released");
    }
    let n = codes.len() as i64;
    common::wait_for("the drops recorded in the bag", Duration::from_secs(10), || async {
        let open = site.query(
            "SELECT count(*) FROM parcels p JOIN bags b ON b.id = p.bag_id WHERE b.closed_at IS NULL",
        );
        (open[0][0].as_i64() == Some(n)).then_some(())
    })
    .await;
    close_bag(site, bag_no).await;
}

async fn seed(site: &Site, permits: Vec<ExitPermit>) {
    common::gate_site::seed_permits(&site.controller.store, permits).await;
}

fn pass_codes(site: &Site, plate: &str) -> Vec<String> {
    let rows = site.query(&format!(
        "SELECT reasons FROM gate_passes WHERE plate = '{plate}' ORDER BY id DESC LIMIT 1"
    ));
    let reasons: Value = serde_json::from_str(rows[0][0].as_str().unwrap()).unwrap();
    reasons
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}|{}",
                r["code"].as_str().unwrap_or(""),
                r["detail"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truck_carrying_an_intercepted_parcel_is_held_until_the_retrieval_and_a_clean_one_leaves()
{
    let site = start_line_and_gate_site(vec![
        list("SF8200000001", 800),
        list("SF8200000002", 800),
        list("SF8200000003", 800),
    ])
    .await;
    fill_bag(&site, &["SF8200000001", "SF8200000002"], "ZB8200000001").await;
    fill_bag(&site, &["SF8200000003"], "ZB8200000002").await;
    // Customs changes its mind about SF…01 after it dropped into the bag.
    let message = Downlink::ListStatus(wire::ListStatus {
        updates: vec![wire::StatusUpdate {
            logistics_no: "SF8200000001".into(),
            return_status: 500,
            return_info: None,
        }],
    });
    site.controller
        .store
        .writer
        .write(move |tx| customs_edge::store::downlink::apply(tx, "m-500", &message))
        .await
        .unwrap();
    // The simulator's side of the same fact: customs holds it.
    site.sim.site().custody().hold("SF8200000001");
    let interception = site.query("SELECT id FROM interceptions WHERE retrieved_at IS NULL");
    assert_eq!(interception.len(), 1, "intercepted in its bag");
    let interception = interception[0][0].as_i64().unwrap();

    seed(
        &site,
        vec![
            permit("HF01", PLATE_A, vec![bag("ZB8200000001")]),
            permit(
                "HF02",
                PLATE_B,
                vec![bag("ZB8200000002"), waybill("SF8299999999")],
            ),
            permit(
                "HF03",
                PLATE_C,
                vec![bag("ZB8200000002"), waybill("SF8200000003")],
            ),
        ],
    )
    .await;

    // The truck with the marked bag is held; the LED says why; the pass names the bag.
    let mut a = truck(PLATE_A, TRUCK_KG, "K1").loaded(vec!["ZB8200000001".into()], Vec::new());
    a.entitled = false;
    let held = drive_at(&site, a).await;
    assert!(held.held && !held.left, "{held:?}");
    let codes = pass_codes(&site, PLATE_A);
    assert!(codes[0].starts_with("load_held|"), "{codes:?}");
    assert!(
        codes
            .iter()
            .any(|c| c.starts_with("load_held|bag ZB8200000001:")),
        "{codes:?}"
    );
    let led = site.query(&format!(
        "SELECT led_text FROM gate_passes WHERE plate = '{PLATE_A}'"
    ));
    assert_eq!(led[0][0], format!("{PLATE_A} 含未放行包裹"));

    // A permit naming a waybill never sorted here holds its truck.
    let mut b = truck(PLATE_B, TRUCK_KG, "K1")
        .loaded(vec!["ZB8200000002".into()], vec!["SF8299999999".into()]);
    b.entitled = false;
    let held = drive_at(&site, b).await;
    assert!(held.held && !held.left, "{held:?}");
    let codes = pass_codes(&site, PLATE_B);
    assert!(codes[0].starts_with("load_not_sorted|"), "{codes:?}");
    assert!(
        codes
            .iter()
            .any(|c| c.starts_with("load_not_sorted|waybill SF8299999999")),
        "{codes:?}"
    );

    // A clean truck still leaves.
    let c = truck(PLATE_C, TRUCK_KG, "K1")
        .loaded(vec!["ZB8200000002".into()], vec!["SF8200000003".into()]);
    let left = drive_at(&site, entitled(c)).await;
    assert!(left.left && !left.custody_escape, "{left:?}");

    // Someone takes the parcel out of the bag and scans its label at the lane: the
    // retrieval is recorded (the simulator's bag no longer holds it), and the truck leaves.
    let (status, taken) = scan_retrieval(&site, "SF8200000001").await;
    assert_eq!(status, 201, "{taken}");
    common::wait_for(
        "the retrieval recorded",
        Duration::from_secs(15),
        || async {
            site.query(&format!(
                "SELECT retrieved_by FROM interceptions WHERE id = {interception}"
            ))[0][0]
                .as_str()
                .map(str::to_owned)
        },
    )
    .await;
    let a = truck(PLATE_A, TRUCK_KG, "K1").loaded(vec!["ZB8200000001".into()], Vec::new());
    let left = drive_at(&site, entitled(a)).await;
    let codes = pass_codes(&site, PLATE_A);
    assert!(left.left && !left.custody_escape, "{left:?} {codes:?}");

    let judged = site.sim.traffic().unwrap().report();
    let wrong: Vec<_> = judged.wrong_verdicts().collect();
    assert!(wrong.is_empty(), "the gate judge disagrees: {wrong:#?}");
    assert_eq!(judged.totals.custody_escapes, 0);
    site.stop().await;
}

/// The whole loop with the platform: the site reports the bag it closed, the platform
/// simulator issues the exit permit for the truck carrying it (naming the bag and its
/// waybills), the truck is loaded with that bag and leaves; the gate judge finds nothing
/// held or unsorted on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truck_leaves_with_the_bag_the_platform_issued_its_permit_for() {
    use common::platform::{SITE, platform_config, start_platform};
    use customs_edge_simulators::broker::Broker;

    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let cfg = platform_config(&broker, "");
    let site = common::gate_site::start_line_and_gate_site_with(
        vec![list("SF8400000001", 800), list("SF8400000002", 800)],
        |c| c.platform = Some(cfg),
    )
    .await;
    fill_bag(&site, &["SF8400000001", "SF8400000002"], "ZB8400000001").await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !platform.custody(SITE).bags.contains_key("ZB8400000001") {
        assert!(
            std::time::Instant::now() < deadline,
            "the platform never heard of the bag"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let permit = platform
        .issue_permit_for_bags(
            SITE,
            "HF8400",
            PLATE_A,
            f64::from(TRUCK_KG),
            &["ZB8400000001"],
        )
        .await
        .unwrap();
    assert_eq!(permit.items.len(), 3, "the bag and its two waybills");
    common::wait_for(
        "the issued permit at the site",
        Duration::from_secs(30),
        || async {
            (!site
                .query("SELECT 1 FROM exit_permits WHERE permit_no = 'HF8400'")
                .is_empty())
            .then_some(())
        },
    )
    .await;
    let a = truck(PLATE_A, TRUCK_KG, "K1").loaded(vec!["ZB8400000001".into()], Vec::new());
    let left = drive_at(&site, entitled(a)).await;
    let codes = pass_codes(&site, PLATE_A);
    assert!(left.left && !left.custody_escape, "{left:?} {codes:?}");
    assert_eq!(left.verdict_correct, Some(true));
    site.stop().await;
}
