//! The platform link against a real Mosquitto when a peer misbehaves or goes away: an
//! oversized downlink message dead-lettered (not a reconnect loop) with the link working
//! after it, connections that die at once not resetting the backoff, a quiet stream sent
//! once, resends only when overdue, a dead letter that keeps its id, and the backlog at
//! the platform within seconds of the broker's return.

use crate::common;

use std::time::{Duration, Instant};

use common::platform::{SITE, outbox_stream, platform_config, start_platform, wait_ledger};
use common::{Site, list, start_site_with, wait_for};
use customs_edge::sync::SyncSnapshot;
use customs_edge_simulators::broker::Broker;

fn link(site: &Site) -> SyncSnapshot {
    site.controller
        .sync
        .as_ref()
        .expect("a platform is configured")
        .snapshot()
}

async fn wait_list_applied(site: &Site, logistics_no: &str) {
    let sql = format!("SELECT 1 FROM declaration_lists WHERE logistics_no = '{logistics_no}'");
    wait_for(
        &format!("list {logistics_no} to be applied"),
        Duration::from_secs(60),
        || async { (!site.query(&sql).is_empty()).then_some(()) },
    )
    .await;
}

/// A 20 MB message on a downlink topic is read, dead-lettered as `too_large` under the id
/// its envelope carried, and acknowledged: no reconnect, and the next good message applies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_downlink_message_is_dead_lettered_and_the_next_one_applies() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let site = start_site_with(vec![], |c| {
        c.platform = Some(platform_config(&broker, ""));
    })
    .await;
    let topics = platform.topics(SITE);
    wait_for("the link to be up", Duration::from_secs(30), || async {
        link(&site).connected.then_some(())
    })
    .await;
    // Something applied first, so the link is known to work before the poison.
    platform
        .publish_lists(SITE, vec![list("BEFORE001", 800)])
        .await
        .unwrap();
    wait_list_applied(&site, "BEFORE001").await;
    let before = link(&site);

    // 20 MB: above the 4 MiB a downlink message may have, and above the 16 MB packet an
    // MQTT client reads by default (a client that drops the connection on it gets it again
    // from the broker on every reconnect).
    let filler = "x".repeat(20 << 20);
    let poison = format!(
        r#"{{"schema":1,"id":"PLATFORM:lists:poison","stream":"lists","seq":1,"site":"{SITE}","created":"2026-11-27T10:00:00.000Z","kind":"lists","body":{{"lists":[],"pad":"{filler}"}}}}"#
    );
    let poison_bytes = poison.len() as i64;
    platform
        .publish_raw(&topics.down("lists"), poison.into_bytes(), false)
        .await
        .unwrap();
    platform
        .publish_lists(SITE, vec![list("AFTER0001", 800)])
        .await
        .unwrap();
    wait_list_applied(&site, "AFTER0001").await;

    let rows = site.query("SELECT reason, message_id, bytes FROM dead_letters ORDER BY id");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], "too_large");
    assert_eq!(
        rows[0][1], "PLATFORM:lists:poison",
        "the dead letter keeps the envelope's id"
    );
    assert_eq!(rows[0][2].as_i64(), Some(poison_bytes));
    let after = link(&site);
    assert_eq!(
        after.connects, before.connects,
        "no reconnect for an oversized message: {before:?} -> {after:?}"
    );
    assert!(after.connected);
    assert_eq!(after.dead_letters, 1);
    // Acknowledged to the broker: a new session of the same client gets nothing again.
    // (Had it not been, the broker would hold it and deliver it on the next connect.)
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(link(&site).dead_letters, 1, "delivered once");
    site.wait_until_healthy().await;
    site.stop().await;
}

/// A downlink envelope of a future schema version is dead-lettered under the id it carried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_keeps_the_id_of_an_envelope_it_could_read() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let site = start_site_with(vec![], |c| {
        c.platform = Some(platform_config(&broker, ""));
    })
    .await;
    let topics = platform.topics(SITE);
    let cases = [
        (
            serde_json::json!({"schema": 99, "id": "PLATFORM:lists:99", "stream": "lists", "seq": 1,
                "site": SITE, "created": "2026-11-27T10:00:00.000Z", "kind": "lists", "body": {}, "new": 1}),
            "unknown_schema",
            Some("PLATFORM:lists:99"),
        ),
        (
            serde_json::json!({"schema": 1, "id": "PLATFORM:lists:other", "stream": "lists", "seq": 1,
                "site": "9999X999", "created": "2026-11-27T10:00:00.000Z", "kind": "lists", "body": {"lists": []}}),
            "wrong_site",
            Some("PLATFORM:lists:other"),
        ),
        (
            serde_json::json!({"schema": 99, "stream": "lists"}),
            "unknown_schema",
            None,
        ),
    ];
    for (payload, _, _) in &cases {
        platform
            .publish_raw(
                &topics.down("lists"),
                payload.to_string().into_bytes(),
                false,
            )
            .await
            .unwrap();
    }
    platform
        .publish_lists(SITE, vec![list("NEXT00001", 800)])
        .await
        .unwrap();
    wait_list_applied(&site, "NEXT00001").await;
    let rows = site.query("SELECT reason, message_id FROM dead_letters ORDER BY id");
    let got: Vec<(String, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_owned(),
                r[1].as_str().map(str::to_owned),
            )
        })
        .collect();
    let want: Vec<(String, Option<String>)> = cases
        .iter()
        .map(|(_, reason, id)| ((*reason).to_owned(), id.map(str::to_owned)))
        .collect();
    assert_eq!(got, want);
    // Reported uplink under the same id.
    let l = wait_ledger(
        &platform,
        "the dead letters reported",
        Duration::from_secs(30),
        |l| {
            l.stream(SITE, "health")
                .is_some_and(|s| s.kinds.get("dead_letter").copied().unwrap_or(0) >= 3)
        },
    )
    .await;
    assert_eq!(l.totals.applied_twice, 0);
    let reported: Vec<Option<String>> = platform
        .applied(SITE, "health")
        .into_iter()
        .filter(|m| m.kind == "dead_letter")
        .map(|m| m.body["message_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        reported,
        want.into_iter().map(|w| w.1).collect::<Vec<_>>(),
        "reported with the id"
    );
    site.stop().await;
}

/// Decisions far apart (a quiet stream: each sent long after the last ack) go out once
/// each; with acks held back, a message is sent again only once it is overdue, counted
/// from when it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quiet_stream_sends_each_message_once() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let codes: Vec<String> = (0..4).map(|i| format!("QUIET{i:07}")).collect();
    let lists = codes.iter().map(|c| list(c, 800)).collect();
    // A 2 s ack timeout, and 3 s between parcels: every message of the stream is sent
    // more than the timeout after the stream's last ack.
    let mut cfg = platform_config(&broker, "");
    cfg.ack_timeout_s = 2;
    let site = start_site_with(lists, |c| c.platform = Some(cfg)).await;
    for (i, code) in codes.iter().take(3).enumerate() {
        let id = site.inject(Some(code)).await;
        site.wait_dropped(&[id]).await;
        let (last, _, _) = outbox_stream(&site, "decisions");
        wait_ledger(
            &platform,
            "the decision to be applied",
            Duration::from_secs(30),
            |l| l.last_applied(SITE, "decisions") >= last as u64,
        )
        .await;
        wait_for("the outbox to drain", Duration::from_secs(30), || async {
            let (last, acked, _) = outbox_stream(&site, "decisions");
            (last > 0 && acked == last).then_some(())
        })
        .await;
        if i < 2 {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }
    let l = platform.ledger();
    let decisions = l.stream(SITE, "decisions").unwrap();
    assert!(decisions.applied >= 3, "{decisions:?}");
    assert_eq!(
        decisions.resent, 0,
        "a quiet stream sends each message once: {decisions:?}"
    );
    assert_eq!(l.totals.resent, 0, "no stream resent anything: {l:?}");
    assert_eq!(link(&site).resent, 0);

    // Acks held back: the next message goes again only when it is overdue (2 s after it
    // was sent), and then the platform's ack settles it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    platform.set_acks_paused(true);
    let (before, _, _) = outbox_stream(&site, "decisions");
    site.inject(Some(&codes[3])).await;
    wait_ledger(
        &platform,
        "the held-back decision to arrive",
        Duration::from_secs(30),
        |l| l.last_applied(SITE, "decisions") > before as u64,
    )
    .await;
    let arrived = Instant::now();
    let resent = wait_ledger(&platform, "a resend", Duration::from_secs(30), |l| {
        l.stream(SITE, "decisions").is_some_and(|s| s.resent > 0)
    })
    .await;
    let after = arrived.elapsed();
    assert!(
        after >= Duration::from_millis(1500),
        "resent {after:?} after it arrived: before it was overdue"
    );
    assert_eq!(resent.totals.applied_twice, 0);
    platform.set_acks_paused(false);
    wait_for("the outbox to drain", Duration::from_secs(30), || async {
        let (last, acked, pending) = outbox_stream(&site, "decisions");
        (acked == last && pending == 0).then_some(())
    })
    .await;
    assert_eq!(platform.ledger().totals.applied_twice, 0);
    site.stop().await;
}

/// A rival client taking the controller's client id over again and again makes every one
/// of the controller's connections die right after its CONNACK: the backoff goes on
/// growing (to its cap) instead of starting over at each one, and the link works again
/// once the rival is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_die_at_once_do_not_reset_the_backoff() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    // Floor 200 ms, cap 1 s: reset at every CONNACK, the controller would come back every
    // ~200 ms (40 times in 8 s); growing, about 10 times.
    let site = start_site_with(vec![], |c| {
        c.platform = Some(platform_config(
            &broker,
            "client_id = \"edge-under-test\"\nreconnect_min_ms = 200\nreconnect_max_ms = 1000\n",
        ));
    })
    .await;
    wait_for("the link to be up", Duration::from_secs(30), || async {
        link(&site).connected.then_some(())
    })
    .await;
    let rival = tokio::spawn({
        let options = broker.client_options("edge-under-test");
        async move {
            let mut options = options;
            options.set_clean_session(false);
            let (_client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
            loop {
                if eventloop.poll().await.is_err() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = link(&site).connects;
    tokio::time::sleep(Duration::from_secs(8)).await;
    let during = link(&site).connects - start;
    rival.abort();
    let _ = rival.await;
    assert!(
        during <= 16,
        "{during} connections in 8 s: the backoff started over on connections that died at once"
    );
    // The rival gone, the link comes back and carries the downlink again.
    platform
        .publish_lists(SITE, vec![list("RIVAL0001", 800)])
        .await
        .unwrap();
    wait_list_applied(&site, "RIVAL0001").await;
    site.stop().await;
}

/// The broker stopped for 20 s (the backoff reaches its cap) while the line decides
/// parcels, then started again on the same port: everything decided during the outage is
/// at the platform within a few seconds, in order, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backlog_reaches_the_platform_within_seconds_of_the_broker_return() {
    let mut broker = Broker::start();
    let platform = start_platform(&broker).await;
    let codes: Vec<String> = (0..12).map(|i| format!("BACK{i:08}")).collect();
    let lists = codes.iter().map(|c| list(c, 800)).collect();
    let site = start_site_with(lists, |c| {
        c.platform = Some(platform_config(&broker, ""));
    })
    .await;
    let first = site.inject(Some(&codes[0])).await;
    site.wait_dropped(&[first]).await;
    wait_ledger(&platform, "traffic to flow", Duration::from_secs(60), |l| {
        l.stream(SITE, "decisions").is_some_and(|s| s.applied >= 1)
    })
    .await;
    broker.stop();
    let feeder = common::feed_parcels(
        site.sim.http,
        codes[1..].to_vec(),
        Duration::from_millis(500),
    );
    feeder.await.unwrap();
    let all: Vec<u64> = (1..=codes.len() as u64).collect();
    site.wait_dropped(&all).await;
    // Away long enough for a doubling backoff to pass its cap many times over.
    tokio::time::sleep(Duration::from_secs(14)).await;
    let (backlog_last, acked, _) = outbox_stream(&site, "decisions");
    assert!(
        backlog_last > acked,
        "a backlog waits: {backlog_last} > {acked}"
    );
    broker.start_again();
    let back = Instant::now();
    let l = wait_ledger(
        &platform,
        "the backlog to arrive",
        Duration::from_secs(60),
        |l| l.last_applied(SITE, "decisions") >= backlog_last as u64,
    )
    .await;
    let recovered = back.elapsed();
    // The target is 2 s (BENCHMARKS.md); generous here for a busy 2-core machine. A 30 s
    // backoff cap took 17-27 s.
    assert!(
        recovered <= Duration::from_secs(8),
        "the backlog took {recovered:?} after the broker was back"
    );
    assert_eq!(l.totals.applied_twice, 0, "{:?}", l.doubles);
    let applied = common::platform::applied_sort_results(&platform);
    assert!(
        applied.windows(2).all(|w| w[0] < w[1]),
        "in order: {applied:?}"
    );
    assert_eq!(
        applied.len(),
        codes.len(),
        "every decision once: {applied:?}"
    );
    site.stop().await;
}
