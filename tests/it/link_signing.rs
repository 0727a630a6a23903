//! Signed platform link end to end (controller, real Mosquitto, platform simulator): a
//! forged permit and a forged ack are dead-lettered and change nothing; replayed and
//! expired messages are refused; two platform keys are trusted during a rotation; the
//! platform refuses uplink the site did not sign; a signed backlog goes in batches, each
//! message applied once, in order.

use crate::common;

use std::time::Duration;

use common::platform::{SITE, outbox_stream, wait_ledger};
use common::signing::TestKeys;
use common::{list, start_site_with, wait_for};
use customs_edge_protocol::downlink::kind;
use customs_edge_protocol::signed::SealKey;
use customs_edge_simulators::broker::Broker;
use customs_edge_simulators::platform::Seal;
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(60);

fn permit(no: &str, plate: &str, status: i32) -> Value {
    json!({"permits": [{"permitNo": no, "vehicleNo": plate, "status": status,
        "totalGrossWeight": 20000.0, "items": []}]})
}

fn dead_letter_reasons(site: &common::Site) -> Vec<String> {
    site.query("SELECT reason FROM dead_letters ORDER BY id")
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_owned())
        .collect()
}

async fn wait_dead_letters(site: &common::Site, n: usize) -> Vec<String> {
    wait_for("the dead letters", LIMIT, || async {
        let reasons = dead_letter_reasons(site);
        (reasons.len() >= n).then_some(reasons)
    })
    .await
}

fn permit_status(site: &common::Site, no: &str) -> Option<i64> {
    site.query(&format!(
        "SELECT status FROM exit_permits WHERE permit_no = '{no}'"
    ))
    .first()
    .map(|r| r[0].as_i64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_permit_and_a_forged_ack_are_dead_lettered_and_change_nothing() {
    let broker = Broker::start();
    let keys = TestKeys::new();
    let platform = keys.start_platform(&broker).await;
    // The platform holds its acks: the decisions wait in the outbox.
    platform.set_acks_paused(true);
    let codes: Vec<String> = (0..3).map(|i| format!("SFG{i:09}")).collect();
    let cfg = keys.site_config(&broker, "");
    let site = start_site_with(codes.iter().map(|c| list(c, 800)).collect(), |c| {
        c.platform = Some(cfg);
    })
    .await;
    for c in &codes {
        site.inject(Some(c)).await;
    }
    wait_ledger(&platform, "the decisions delivered", LIMIT, |l| {
        l.stream(SITE, "decisions").is_some_and(|s| s.applied >= 6)
    })
    .await;
    let (last, acked, pending) = outbox_stream(&site, "decisions");
    assert!(
        last >= 6 && acked == 0 && pending == last,
        "{last} {acked} {pending}"
    );

    let topics = platform.topics(SITE);
    let intruder = SealKey::from_seed(&[0x42; 32]);
    let forged_ack = json!({"stream": "decisions", "seq": last});
    let ack_envelope = json!({"schema": 1, "id": "platform:down:999", "stream": "down",
        "seq": 999, "site": SITE, "created": "2026-12-06T10:00:00.000Z", "kind": "ack",
        "body": forged_ack});
    // An unsigned ack, as the intruder of the issue sent it.
    platform
        .publish_raw(&topics.down(kind::ACK), ack_envelope.to_string(), false)
        .await
        .unwrap();
    // An ack signed by a key the site does not trust.
    platform
        .publish_downlink_with(
            SITE,
            kind::ACK,
            &forged_ack,
            &Seal::With(Box::new(intruder.clone()), i64::MAX),
        )
        .await
        .unwrap();
    // An approved permit, unsigned and signed by the intruder.
    platform
        .publish_downlink_with(
            SITE,
            kind::PERMITS,
            &permit("FORGED1", "闽G12345", 1),
            &Seal::Unsigned,
        )
        .await
        .unwrap();
    platform
        .publish_downlink_with(
            SITE,
            kind::PERMITS,
            &permit("FORGED2", "闽G12346", 1),
            &Seal::With(Box::new(intruder), i64::MAX),
        )
        .await
        .unwrap();
    let reasons = wait_dead_letters(&site, 4).await;
    assert_eq!(
        reasons,
        ["unsigned", "unknown_key", "unsigned", "unknown_key"],
        "each forgery dead-lettered with its reason"
    );
    assert_eq!(
        permit_status(&site, "FORGED1"),
        None,
        "no forged permit applied"
    );
    assert_eq!(
        permit_status(&site, "FORGED2"),
        None,
        "no forged permit applied"
    );
    assert_eq!(
        outbox_stream(&site, "decisions"),
        (last, 0, last),
        "no forged ack deleted an outbox row"
    );

    // The real platform's acks still work, and every decision reaches it once.
    platform.set_acks_paused(false);
    wait_for("the outbox to drain on real acks", LIMIT, || async {
        let (l, a, p) = outbox_stream(&site, "decisions");
        (a == l && p == 0).then_some(())
    })
    .await;
    let l = platform.ledger();
    assert_eq!(l.totals.applied_twice, 0);
    assert_eq!(
        l.malformed_uplink, 0,
        "every uplink message was signed: {:?}",
        l.malformed_samples
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replayed_and_expired_messages_are_refused() {
    let broker = Broker::start();
    let keys = TestKeys::new();
    let platform = keys.start_platform(&broker).await;
    let cfg = keys.site_config(&broker, "");
    let site = start_site_with(vec![], |c| c.platform = Some(cfg)).await;

    // A real approval, then the permit voided.
    let approved = platform
        .publish_downlink_with(
            SITE,
            kind::PERMITS,
            &permit("P-REPLAY", "闽G54321", 1),
            &Seal::Platform,
        )
        .await
        .unwrap();
    wait_for("the approval applied", LIMIT, || async {
        (permit_status(&site, "P-REPLAY") == Some(1)).then_some(())
    })
    .await;
    platform
        .publish_permit_status(
            SITE,
            vec![serde_json::from_value(json!({"permitNo": "P-REPLAY", "status": 6})).unwrap()],
        )
        .await
        .unwrap();
    wait_for("the permit voided", LIMIT, || async {
        (permit_status(&site, "P-REPLAY") == Some(6)).then_some(())
    })
    .await;
    // The intruder replays the approval, byte for byte: it is not applied again.
    platform
        .publish_raw(&approved.topic, approved.payload.clone(), false)
        .await
        .unwrap();
    // A replayed ack is dead-lettered: the platform acks by itself (site presence and
    // health go up), so take one from the wire by sending one now.
    let ack = platform
        .publish_downlink_with(
            SITE,
            kind::ACK,
            &json!({"stream": "officer", "seq": 0}),
            &Seal::Platform,
        )
        .await
        .unwrap();
    platform
        .publish_raw(&ack.topic, ack.payload.clone(), false)
        .await
        .unwrap();
    // A message signed by the platform's own key but expired.
    platform
        .publish_downlink_with(
            SITE,
            kind::PERMITS,
            &permit("P-OLD", "闽G00001", 1),
            &Seal::With(
                Box::new(keys.platform.clone()),
                chrono::Utc::now().timestamp() - 1,
            ),
        )
        .await
        .unwrap();
    let reasons = wait_dead_letters(&site, 2).await;
    assert_eq!(reasons, ["replayed", "expired"]);
    assert_eq!(
        permit_status(&site, "P-REPLAY"),
        Some(6),
        "the replay did not re-approve"
    );
    assert_eq!(permit_status(&site, "P-OLD"), None);
    let redelivered = site
        .controller
        .sync
        .as_ref()
        .unwrap()
        .snapshot()
        .redelivered;
    assert_eq!(
        redelivered, 1,
        "the replayed approval was recognised by its id"
    );
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_platform_keys_are_trusted_during_a_rotation() {
    let broker = Broker::start();
    let keys = TestKeys::new();
    let next = customs_edge::keys_cli::generate();
    let platform = keys.start_platform(&broker).await;
    let signing = keys.site_signing_toml(&[keys.platform.public_hex(), next.public_hex()]);
    let cfg = common::platform::platform_config(&broker, &signing);
    let site = start_site_with(vec![], |c| c.platform = Some(cfg)).await;

    platform
        .publish_lists(SITE, vec![list("ROT00001", 800)])
        .await
        .unwrap();
    platform.rotate_key(next.clone());
    assert_eq!(platform.public_key_hex(), Some(next.public_hex()));
    platform
        .publish_lists(SITE, vec![list("ROT00002", 800)])
        .await
        .unwrap();
    // A third key, not (or no longer) trusted.
    let retired = SealKey::from_seed(&[9; 32]);
    platform
        .publish_downlink_with(
            SITE,
            kind::LISTS,
            &json!({"lists": [list("ROT00003", 800)]}),
            &Seal::With(Box::new(retired), i64::MAX),
        )
        .await
        .unwrap();
    wait_for("both signed lists applied", LIMIT, || async {
        let n = site.query(
            "SELECT count(*) FROM declaration_lists WHERE logistics_no IN ('ROT00001', 'ROT00002')",
        )[0][0]
            .as_i64()
            .unwrap();
        (n == 2).then_some(())
    })
    .await;
    assert_eq!(wait_dead_letters(&site, 1).await, ["unknown_key"]);
    assert!(
        site.query("SELECT 1 FROM declaration_lists WHERE logistics_no = 'ROT00003'")
            .is_empty()
    );
    // Acks signed with the new key keep the outbox draining.
    wait_for("acks under the new key", LIMIT, || async {
        let (l, a, _) = outbox_stream(&site, "health");
        (l > 0 && a == l).then_some(())
    })
    .await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_refuses_uplink_the_site_did_not_sign() {
    let broker = Broker::start();
    let keys = TestKeys::new();
    let platform = keys.start_platform(&broker).await;
    // A site without signing: its uplink is bare envelopes.
    let cfg = common::platform::platform_config(&broker, "");
    let site = start_site_with(vec![], |c| c.platform = Some(cfg)).await;
    let l = wait_ledger(
        &platform,
        "the site's unsigned uplink refused",
        LIMIT,
        |l| l.malformed_uplink >= 1,
    )
    .await;
    assert!(
        l.malformed_samples.iter().any(|m| m.reason == "unsigned"),
        "{:?}",
        l.malformed_samples
    );
    assert_eq!(l.totals.applied, 0, "nothing unsigned was applied");
    site.stop().await;
}

/// Decisions made while the broker is away wait in the outbox; when it returns they go in
/// signed batches (one signature for many envelopes), and the platform applies every one
/// once, in order, exactly as if each had come alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_backlog_goes_in_batches_each_message_applied_once_in_order() {
    let mut broker = Broker::start();
    let keys = TestKeys::new();
    let platform = keys.start_platform(&broker).await;
    let codes: Vec<String> = (0..10).map(|i| format!("SBT{i:09}")).collect();
    let cfg = keys.site_config(&broker, "");
    let site = start_site_with(codes.iter().map(|c| list(c, 800)).collect(), |c| {
        c.platform = Some(cfg);
    })
    .await;
    let first = site.inject(Some(&codes[0])).await;
    site.wait_dropped(&[first]).await;
    wait_ledger(&platform, "the first decision", LIMIT, |l| {
        l.stream(SITE, "decisions").is_some_and(|s| s.applied >= 1)
    })
    .await;
    let batches_before = platform.ledger().totals.batches;

    broker.stop();
    let mut ids = vec![first];
    for c in &codes[1..] {
        ids.push(site.inject(Some(c)).await);
    }
    site.wait_dropped(&ids).await;
    let (last, acked, _) = outbox_stream(&site, "decisions");
    assert!(last > acked + 2, "a backlog waits: {last} > {acked}");
    broker.start_again();

    let l = wait_ledger(&platform, "the backlog applied", LIMIT, |l| {
        l.last_applied(SITE, "decisions") >= last as u64
    })
    .await;
    assert!(
        l.totals.batches > batches_before,
        "the backlog went in batches: {:?}",
        l.totals
    );
    assert_eq!(l.malformed_uplink, 0, "{:?}", l.malformed_samples);
    assert_eq!(l.totals.applied_twice, 0, "{:?}", l.doubles);
    assert_eq!(l.totals.invalid, 0, "{:?}", l.problems);
    let applied = common::platform::applied_sort_results(&platform);
    assert_eq!(
        applied.len(),
        codes.len(),
        "every decision once: {applied:?}"
    );
    assert!(
        applied.windows(2).all(|w| w[0] < w[1]),
        "in order: {applied:?}"
    );
    site.stop().await;
}
