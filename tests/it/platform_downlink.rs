//! Platform sync end to end, downlink: malformed payloads dead-lettered with their reason
//! while good ones still apply, and a status update or an instruction reaching a parcel's
//! decision in time.

use crate::common;

use std::time::Duration;

use common::platform::{
    SITE, platform_config, start_platform, validate_everything_applied, wait_ledger,
};
use common::{list, start_site_with, wait_for};
use customs_edge_protocol::downlink::{Instruction, StatusUpdate};
use customs_edge_simulators::broker::Broker;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_downlink_is_dead_lettered_and_the_next_good_message_applies() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let cfg = platform_config(&broker, "max_downlink_kb = 2\n");
    let site = start_site_with(vec![], |c| c.platform = Some(cfg)).await;
    let topics = platform.topics(SITE);
    let envelope = |kind: &str, body: Value| {
        serde_json::json!({"schema": 1, "id": format!("bad:{kind}"), "stream": "down", "seq": 1,
            "site": SITE, "created": "2026-11-27T10:00:00.000Z", "kind": kind, "body": body})
        .to_string()
        .into_bytes()
    };
    let bad: Vec<(&str, Vec<u8>, &str)> = vec![
        ("lists", vec![0xff, 0xfe, 0x00], "not_utf8"),
        ("lists", b"{ this is not json".to_vec(), "malformed"),
        ("lists", vec![b' '; 3000], "too_large"),
        (
            "lists",
            serde_json::json!({"schema": 9, "id": "x", "stream": "down", "seq": 1, "site": SITE,
            "created": "2026-11-27T10:00:00.000Z", "kind": "lists", "body": {}})
            .to_string()
            .into_bytes(),
            "unknown_schema",
        ),
        (
            "teleport",
            envelope("teleport", serde_json::json!({})),
            "unknown_kind",
        ),
        (
            "lists",
            envelope(
                "lists",
                serde_json::json!({"lists": [{"logisticsNo": "A1"}]}),
            ),
            "bad_body",
        ),
        (
            "list_status",
            envelope(
                "list_status",
                serde_json::json!({"updates": [{"logisticsNo": "A1", "returnStatus": 42}]}),
            ),
            "bad_body",
        ),
        (
            "permits",
            envelope(
                "permits",
                serde_json::json!({"permits": [{"permitNo": "P1", "status": 1}]}),
            ),
            "bad_body",
        ),
        (
            "permit_status",
            envelope(
                "permit_status",
                serde_json::json!({"updates": [{"permitNo": "P1"}]}),
            ),
            "bad_body",
        ),
        (
            "instructions",
            envelope(
                "instructions",
                serde_json::json!({"instructions": [{"logisticsNo": "A1", "action": "shred", "issuedAt": "2026-11-27T10:00:00Z"}]}),
            ),
            "bad_body",
        ),
        (
            "ack",
            envelope(
                "ack",
                serde_json::json!({"stream": "decisions", "seq": "many"}),
            ),
            "bad_body",
        ),
        (
            "permits",
            envelope("lists", serde_json::json!({"lists": []})),
            "bad_body",
        ),
        (
            // A plate over its limit (16 characters) is refused, not stored and sent on.
            "permits",
            envelope(
                "permits",
                serde_json::json!({"permits": [{"permitNo": "P2", "vehicleNo": "闽".repeat(100), "status": 1}]}),
            ),
            "bad_body",
        ),
    ];
    let expected: Vec<&str> = bad.iter().map(|b| b.2).collect();
    for (kind, payload, _) in &bad {
        platform
            .publish_raw(&topics.down(kind), payload.clone(), false)
            .await
            .unwrap();
    }
    // Then a good one.
    platform
        .publish_lists(SITE, vec![list("GOOD0001", 800)])
        .await
        .unwrap();
    wait_for(
        "the good list to be applied",
        Duration::from_secs(30),
        || async {
            (!site
                .query("SELECT 1 FROM declaration_lists WHERE logistics_no = 'GOOD0001'")
                .is_empty())
            .then_some(())
        },
    )
    .await;
    let reasons: Vec<String> = site
        .query("SELECT reason FROM dead_letters ORDER BY id")
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        reasons, expected,
        "each bad payload dead-lettered with its reason, in order"
    );
    let detail = site.query("SELECT detail FROM dead_letters ORDER BY id DESC LIMIT 1");
    assert!(
        detail[0][0]
            .as_str()
            .unwrap()
            .contains("permits[0].vehicleNo is 100 characters, at most 16"),
        "the dead letter names the field over its limit: {detail:?}"
    );
    assert!(
        site.query("SELECT 1 FROM exit_permits WHERE permit_no = 'P2'")
            .is_empty()
    );
    // Reported uplink, each with its reason, and valid against the schema.
    let l = wait_ledger(
        &platform,
        "dead letters reported",
        Duration::from_secs(30),
        |l| {
            l.stream(SITE, "health").is_some_and(|s| {
                s.kinds.get("dead_letter").copied().unwrap_or(0) >= expected.len() as u64
            })
        },
    )
    .await;
    assert_eq!(l.totals.applied_twice, 0);
    let reported: Vec<String> = platform
        .applied(SITE, "health")
        .into_iter()
        .filter(|m| m.kind == "dead_letter")
        .map(|m| m.body["reason"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(reported, expected);
    validate_everything_applied(&platform);
    // The controller is still up and healthy.
    site.wait_until_healthy().await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_update_that_arrives_while_the_parcel_is_on_the_belt_releases_it() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let site = start_site_with(
        vec![list("SFU000000001", 120), list("SFU000000002", 800)],
        |c| {
            c.platform = Some(platform_config(&broker, ""));
        },
    )
    .await;
    // An inspection instruction for the other waybill, sent over the downlink too.
    platform
        .publish_instructions(
            SITE,
            vec![Instruction {
                logistics_no: "SFU000000002".into(),
                action: "inspect".into(),
                reason: Some("risk model".into()),
                issued_at: "2026-11-27T10:00:00Z".into(),
            }],
        )
        .await
        .unwrap();
    wait_for(
        "the instruction to be stored",
        Duration::from_secs(30),
        || async {
            (!site
                .query("SELECT 1 FROM customs_instructions WHERE logistics_no = 'SFU000000002'")
                .is_empty())
            .then_some(())
        },
    )
    .await;
    let held = site.inject(Some("SFU000000001")).await;
    // Once the parcel is on the belt (entered, not yet decided), customs releases it.
    wait_for("the parcel to enter", Duration::from_secs(30), || async {
        (!site
            .query("SELECT 1 FROM parcels WHERE decided_at IS NULL")
            .is_empty())
        .then_some(())
    })
    .await;
    platform
        .publish_list_status(
            SITE,
            vec![StatusUpdate {
                logistics_no: "SFU000000001".into(),
                return_status: 800,
                return_info: Some("放行".into()),
            }],
        )
        .await
        .unwrap();
    let inspected = site.inject(Some("SFU000000002")).await;
    let report = site.wait_dropped(&[held, inspected]).await;
    let lane = |id: u64| report.parcels.iter().find(|p| p.id == id).unwrap().lane;
    let cfg = &customs_edge_simulators::LineConfig::default();
    assert_eq!(lane(held), Some(cfg.release_lane), "released by the update");
    assert_eq!(
        lane(inspected),
        Some(cfg.inspection_lane),
        "inspected by the instruction"
    );
    site.stop().await;
}
