//! A platform scenario played step by step, each step in envelopes the site reads.

use std::time::{Duration, Instant};

use customs_edge_protocol::downlink::{Downlink, kind};
use customs_edge_protocol::topics::Topics;
use customs_edge_simulators::broker::Broker;
use serde_json::Value;

use super::fake_site::FakeSite;
use super::{PATIENCE, PREFIX, SITE, platform};

#[tokio::test]
async fn a_scenario_is_published_step_by_step_in_envelopes_the_site_reads() {
    let broker = Broker::start();
    let p = platform(&broker).await;
    let mut site = FakeSite::connect(&broker).await;
    let scenario = platform::Scenario::from_toml(
        r#"
        site = "3511W001"
        [[step]]
        at_ms = 0
        lists = [ { logisticsNo = "SF1234567890", invtNo = "35112026E000000001", tradeMode = "9610", returnStatus = 120 },
                  { logisticsNo = "SF1234567891", returnStatus = 800 } ]
        [[step]]
        at_ms = 300
        instructions = [ { logisticsNo = "SF1234567891", action = "inspect", issuedAt = "2026-11-27T10:00:00Z" } ]
        list_status = [ { logisticsNo = "SF1234567890", returnStatus = 800, returnInfo = "放行" } ]
        permits = [ { permitNo = "P1", vehicleNo = "闽G12345", status = 1, items = [ { logisticsNo = "SF1234567890" } ] } ]
        "#,
    )
    .unwrap();
    let started = Instant::now();
    let report = platform::scenario::play(
        &p,
        &scenario,
        SITE,
        tokio_util::sync::CancellationToken::new(),
    )
    .await
    .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(report.finished);
    assert_eq!(
        (report.steps, report.first_seq, report.last_seq),
        (2, Some(1), Some(4))
    );
    assert_eq!((report.messages["lists"], report.items["lists"]), (1, 2));

    let expected: Vec<(&str, Value)> = scenario
        .steps
        .iter()
        .flat_map(platform::scenario::Step::messages)
        .map(|m| (m.kind, m.body))
        .collect();
    let kinds: Vec<&str> = expected.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        [
            kind::LISTS,
            kind::LIST_STATUS,
            kind::PERMITS,
            kind::INSTRUCTIONS
        ]
    );
    let mut received = Vec::new();
    for (seq, (kind, body)) in (1..).zip(expected) {
        let (topic, env, message) = site.next_down().await;
        assert_eq!(topic, Topics::new(PREFIX, SITE).down(kind));
        assert_eq!(
            (env.seq, env.kind.as_str(), message.kind()),
            (seq, kind, kind)
        );
        assert_eq!(env.body, body);
        received.push(message);
    }
    let Downlink::Lists(lists) = &received[0] else {
        panic!("{received:?}")
    };
    assert_eq!(lists.lists[1].logistics_no, "SF1234567891");
    let Downlink::ListStatus(status) = &received[1] else {
        panic!("{received:?}")
    };
    assert_eq!(status.updates[0].return_status, 800);
    let Downlink::Permits(permits) = &received[2] else {
        panic!("{received:?}")
    };
    assert_eq!(permits.permits[0].vehicle_no, "闽G12345");
    let l = p.wait_downlink_confirmed(PATIENCE).await.unwrap();
    assert_eq!(l.sites[SITE].down_seq, 4);
}
