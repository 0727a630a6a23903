//! Expected arrivals (运抵预报) end to end through the broker: the platform's `arrivals`
//! notices are stored with their waybills and found by plate; a malformed notice is
//! dead-lettered with its reason and disturbs nothing; a notice for a bill that has
//! arrived is refused as rejected input while the rest of its message applies.

use crate::common;

use std::time::Duration;

use common::platform::{
    SITE, platform_config, start_platform, validate_everything_applied, wait_ledger,
};
use common::{Site, start_site_with, wait_for};
use customs_edge::gates::arrival::ExpectedArrival;
use customs_edge::store::arrivals;
use customs_edge_protocol::downlink::{ExpectedArrival as Notice, ExpectedArrivalItem};
use customs_edge_simulators::broker::Broker;
use customs_edge_simulators::platform::RunningPlatform;
use serde_json::{Value, json};

const TRUCK: &str = "闽G56789";

fn notice(bill: &str, plate: &str, waybills: &[(&str, Option<&str>)]) -> Notice {
    Notice {
        bill_no: bill.into(),
        vehicle_no: plate.into(),
        items: waybills
            .iter()
            .map(|(w, bag)| ExpectedArrivalItem {
                logistics_no: (*w).into(),
                total_package_no: bag.map(str::to_owned),
            })
            .collect(),
    }
}

async fn start() -> (Broker, RunningPlatform, Site) {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let cfg = platform_config(&broker, "");
    let site = start_site_with(vec![], |c| c.platform = Some(cfg)).await;
    (broker, platform, site)
}

/// Wait until the site holds bill `bill_no`.
async fn wait_stored(site: &Site, bill_no: &str) {
    let sql = format!("SELECT 1 FROM expected_arrivals WHERE bill_no = '{bill_no}'");
    wait_for(
        &format!("expected arrival {bill_no} to be stored"),
        Duration::from_secs(30),
        || async { (!site.query(&sql).is_empty()).then_some(()) },
    )
    .await;
}

/// What the gate loop will read: the bills still expected on `plate`.
async fn expected(site: &Site, plate: &str) -> Vec<ExpectedArrival> {
    let plate = plate.to_owned();
    site.controller
        .store
        .reader
        .read(move |conn| arrivals::expected_for_plate(conn, &plate))
        .await
        .expect("read expected arrivals")
}

/// (bill, plate, status, waybills as `logisticsNo/bag` joined by commas) of every bill held.
fn held(site: &Site) -> Vec<(String, String, String, String)> {
    site.query(
        "SELECT a.bill_no, a.vehicle_no, a.status,
            (SELECT group_concat(i.logistics_no || '/' || coalesce(i.total_package_no, '-'), ',')
             FROM (SELECT * FROM expected_arrival_items WHERE bill_no = a.bill_no ORDER BY seq) i)
         FROM expected_arrivals a ORDER BY a.bill_no",
    )
    .into_iter()
    .map(|r| {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        (s(&r[0]), s(&r[1]), s(&r[2]), s(&r[3]))
    })
    .collect()
}

fn row(bill: &str, plate: &str, status: &str, items: &str) -> (String, String, String, String) {
    (bill.into(), plate.into(), status.into(), items.into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_arrivals_are_stored_and_malformed_ones_dead_lettered_disturbing_nothing() {
    let (_broker, platform, site) = start().await;
    platform
        .publish_arrivals(
            SITE,
            vec![
                notice(
                    "SFMB001",
                    TRUCK,
                    &[
                        ("SF001", Some("BAG1")),
                        ("SF002", Some("BAG1")),
                        ("SF003", None),
                    ],
                ),
                notice("SFMB002", TRUCK, &[("SF004", Some("BAG2"))]),
            ],
        )
        .await
        .unwrap();
    wait_stored(&site, "SFMB002").await;
    let before = vec![
        row(
            "SFMB001",
            TRUCK,
            "expected",
            "SF001/BAG1,SF002/BAG1,SF003/-",
        ),
        row("SFMB002", TRUCK, "expected", "SF004/BAG2"),
    ];
    assert_eq!(held(&site), before);
    let found = expected(&site, TRUCK).await;
    let bills: Vec<&str> = found.iter().map(|a| a.bill_no.as_str()).collect();
    assert_eq!(bills, ["SFMB001", "SFMB002"], "oldest first");
    assert_eq!(found[0].items[2].logistics_no, "SF003");

    // Malformed notices, as a platform with a bug would send them.
    let topic = platform.topics(SITE).down("arrivals");
    let envelope = |id: &str, notices: Value| {
        json!({"schema": 1, "id": id, "stream": "down", "seq": 1, "site": SITE,
               "created": "2026-11-27T10:00:00.000Z", "kind": "arrivals",
               "body": {"arrivals": notices}})
        .to_string()
        .into_bytes()
    };
    let bad: [(&str, Value, &str); 3] = [
        (
            "bad:empty-items",
            json!([{"billNo": "SFMB003", "vehicleNo": TRUCK, "items": []}]),
            "items is empty",
        ),
        (
            "bad:no-plate",
            json!([{"billNo": "SFMB004", "items": [{"logisticsNo": "SF005"}]}]),
            "missing field `vehicleNo`",
        ),
        // One bad notice spoils its message: the good one beside it (a change to SFMB001)
        // is not applied either.
        (
            "bad:mixed",
            json!([{"billNo": "SFMB001", "vehicleNo": "闽GD00001", "items": [{"logisticsNo": "SF009"}]},
                   {"billNo": "SFMB005", "vehicleNo": " ", "items": [{"logisticsNo": "SF006"}]}]),
            "arrivals[1] \"SFMB005\": vehicleNo (the plate) is empty",
        ),
    ];
    for (id, notices, _) in &bad {
        platform
            .publish_raw(&topic, envelope(id, notices.clone()), false)
            .await
            .unwrap();
    }
    // Then a good one: the downlink goes on.
    platform
        .publish_arrivals(
            SITE,
            vec![notice("SFMB006", "闽GD00002", &[("SF007", None)])],
        )
        .await
        .unwrap();
    wait_stored(&site, "SFMB006").await;
    let dead: Vec<(String, String, String)> = site
        .query("SELECT message_id, reason, detail FROM dead_letters ORDER BY id")
        .into_iter()
        .map(|r| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (s(&r[0]), s(&r[1]), s(&r[2]))
        })
        .collect();
    assert_eq!(dead.len(), bad.len(), "{dead:#?}");
    for ((id, _, named), (message_id, reason, detail)) in bad.iter().zip(&dead) {
        assert_eq!((message_id.as_str(), reason.as_str()), (*id, "bad_body"));
        assert!(detail.contains(named), "{id}: {detail}");
    }
    let mut after = before;
    after.push(row("SFMB006", "闽GD00002", "expected", "SF007/-"));
    assert_eq!(
        held(&site),
        after,
        "nothing of a dead-lettered message was applied"
    );
    assert!(
        site.rejected_inputs().is_empty(),
        "{:?}",
        site.rejected_inputs()
    );
    // Each dead letter is reported uplink with its reason.
    wait_ledger(
        &platform,
        "the dead letters reported",
        Duration::from_secs(30),
        |l| {
            l.stream(SITE, "health")
                .is_some_and(|s| s.kinds.get("dead_letter").copied().unwrap_or(0) >= 3)
        },
    )
    .await;
    let reported: Vec<(String, String)> = platform
        .applied(SITE, "health")
        .into_iter()
        .filter(|m| m.kind == "dead_letter")
        .map(|m| {
            (
                m.body["message_id"].as_str().unwrap_or_default().to_owned(),
                m.body["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected_reports: Vec<(String, String)> = bad
        .iter()
        .map(|(id, _, _)| ((*id).to_owned(), "bad_body".to_owned()))
        .collect();
    assert_eq!(reported, expected_reports);
    validate_everything_applied(&platform);
    site.wait_until_healthy().await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_for_a_bill_that_arrived_is_refused_and_the_rest_of_its_message_applies() {
    let (_broker, platform, site) = start().await;
    platform
        .publish_arrivals(
            SITE,
            vec![notice("SFMB101", TRUCK, &[("SF101", Some("BAG1"))])],
        )
        .await
        .unwrap();
    wait_stored(&site, "SFMB101").await;
    // The truck passes the entry gate (as the gate loop will record it).
    let marked = site
        .controller
        .store
        .writer
        .write(|tx| arrivals::mark_arrived(tx, "SFMB101", 7, "2026-11-27T10:05:00.000Z"))
        .await
        .unwrap();
    assert!(marked);
    assert!(expected(&site, TRUCK).await.is_empty());
    // The platform, late, re-sends the bill on another truck, with a new bill beside it.
    platform
        .publish_arrivals(
            SITE,
            vec![
                notice("SFMB101", "闽GD00001", &[("SF199", None)]),
                notice("SFMB102", TRUCK, &[("SF102", None)]),
            ],
        )
        .await
        .unwrap();
    wait_stored(&site, "SFMB102").await;
    assert_eq!(
        held(&site),
        [
            row("SFMB101", TRUCK, "arrived", "SF101/BAG1"),
            row("SFMB102", TRUCK, "expected", "SF102/-"),
        ]
    );
    let rejected = site.rejected_inputs();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    let (source, reason) = &rejected[0];
    assert!(source.starts_with("platform:"), "{source}");
    assert!(
        reason.contains("SFMB101")
            && reason.contains("already arrived")
            && reason.contains("gate pass 7"),
        "{reason}"
    );
    assert!(
        site.query("SELECT 1 FROM dead_letters").is_empty(),
        "the message itself is good: applied, not dead-lettered"
    );
    let bills: Vec<String> = expected(&site, TRUCK)
        .await
        .into_iter()
        .map(|a| a.bill_no)
        .collect();
    assert_eq!(bills, ["SFMB102"]);
    assert!(expected(&site, "闽GD00001").await.is_empty());
    site.stop().await;
}
