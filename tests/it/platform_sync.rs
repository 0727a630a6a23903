//! Platform sync end to end, uplink: the controller, the simulated line, a real Mosquitto
//! started here, and the platform simulator judging what arrives (in order, once, nothing
//! lost) through a broker outage, a SIGKILL, a bulk backlog, and over TLS.

use crate::common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::platform::{
    SITE, applied_sort_results, decided_parcels, outbox_stream, platform_config, start_platform,
    validate_everything_applied, wait_ledger,
};
use common::{list, start_site_with, wait_for};
use customs_edge_simulators::broker::{Broker, BrokerOptions, TlsOptions};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_alarms_and_flags_reach_the_platform_in_order_once_and_valid() {
    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let codes: Vec<String> = (0..4).map(|i| format!("SFP{i:09}")).collect();
    let lists = codes.iter().map(|c| list(c, 800)).collect();
    let cfg = platform_config(
        &broker,
        "stats_interval_s = 1\n[[telemetry]]\nline = \"L1\"\ntag = \"belt_speed_mm_s\"\ndeadband = 10\n[[telemetry]]\nline = \"L1\"\ntag = \"belt_running\"\n",
    );
    let site = start_site_with(lists, |c| c.platform = Some(cfg)).await;
    let ids: Vec<u64> = {
        let mut ids = Vec::new();
        for c in &codes {
            ids.push(site.inject(Some(c)).await);
        }
        ids
    };
    site.wait_dropped(&ids).await;
    let decided = decided_parcels(&site);
    assert_eq!(decided.len(), codes.len());
    let l = wait_ledger(
        &platform,
        "every sort result and outcome",
        Duration::from_secs(60),
        |l| {
            l.stream(SITE, "decisions")
                .is_some_and(|s| s.applied >= 2 * codes.len() as u64)
                && l.stream(SITE, "telemetry").is_some_and(|s| s.applied >= 1)
                && l.stream(SITE, "stats").is_some_and(|s| s.applied >= 1)
                && l.stream(SITE, "health").is_some_and(|s| s.applied >= 1)
        },
    )
    .await;
    assert_eq!(l.totals.applied_twice, 0, "{:?}", l.doubles);
    assert_eq!(l.totals.invalid, 0, "{:?}", l.problems);
    assert_eq!(l.malformed_uplink, 0, "{:?}", l.malformed_samples);
    let applied: BTreeSet<i64> = applied_sort_results(&platform).into_iter().collect();
    assert_eq!(
        applied, decided,
        "every decision on record reached the platform"
    );
    // In order: parcels are decided in entry order on one line, so sequence order is id order.
    let in_seq_order = applied_sort_results(&platform);
    assert!(
        in_seq_order.windows(2).all(|w| w[0] < w[1]),
        "{in_seq_order:?}"
    );
    validate_everything_applied(&platform);

    // The outbox empties as the platform acknowledges.
    wait_for("the outbox to drain", Duration::from_secs(30), || async {
        let (last, acked, pending) = outbox_stream(&site, "decisions");
        (last > 0 && acked == last && pending == 0).then_some(())
    })
    .await;
    let presence = l.sites[SITE].presence.clone();
    assert_eq!(presence.as_deref(), Some("online"));
    site.stop().await;
    let l = wait_ledger(
        &platform,
        "the site to say it is offline",
        Duration::from_secs(30),
        |l| l.sites[SITE].presence.as_deref() == Some("offline"),
    )
    .await;
    assert_eq!(l.totals.applied_twice, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_down_for_30_s_mid_traffic_loses_nothing_and_applies_nothing_twice() {
    let mut broker = Broker::start();
    let platform = start_platform(&broker).await;
    let codes: Vec<String> = (0..40).map(|i| format!("SFB{i:09}")).collect();
    let lists = codes.iter().map(|c| list(c, 800)).collect();
    let site = start_site_with(lists, |c| c.platform = Some(platform_config(&broker, ""))).await;

    let feeder = common::feed_parcels(site.sim.http, codes.clone(), Duration::from_secs(1));
    wait_ledger(&platform, "traffic to flow", Duration::from_secs(60), |l| {
        l.stream(SITE, "decisions").is_some_and(|s| s.applied >= 4)
    })
    .await;
    broker.stop();
    // Parcels go on being sorted while the broker is away (the line never waits on it).
    let before = decided_parcels(&site).len();
    tokio::time::sleep(Duration::from_secs(30)).await;
    let during = decided_parcels(&site).len();
    assert!(
        during > before + 10,
        "the line kept sorting: {before} -> {during}"
    );
    broker.start_again();
    feeder.await.unwrap();
    let all: Vec<u64> = (1..=codes.len() as u64).collect();
    site.wait_dropped(&all).await;

    let decided = decided_parcels(&site);
    let (last, _, _) = outbox_stream(&site, "decisions");
    let l = wait_ledger(
        &platform,
        "the backlog to arrive",
        Duration::from_secs(120),
        |l| l.last_applied(SITE, "decisions") >= last as u64,
    )
    .await;
    assert_eq!(l.totals.applied_twice, 0, "double effects: {:?}", l.doubles);
    assert_eq!(l.totals.invalid, 0, "{:?}", l.problems);
    let applied = applied_sort_results(&platform);
    let unique: BTreeSet<i64> = applied.iter().copied().collect();
    assert_eq!(unique.len(), applied.len(), "a decision applied twice");
    assert_eq!(unique, decided, "every decision reached the platform");
    assert!(
        applied.windows(2).all(|w| w[0] < w[1]),
        "in order: {applied:?}"
    );
    // The messages of the outage window were sent again after the reconnect, and said so.
    let sync: Value = site
        .http
        .get(format!("http://{}/api/sync", site.controller.web_addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(sync["link"]["connects"].as_u64().unwrap() >= 2, "{sync}");
    wait_for("the outbox to drain", Duration::from_secs(30), || async {
        let (last, acked, pending) = outbox_stream(&site, "decisions");
        (acked == last && pending == 0).then_some(())
    })
    .await;
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_over_tls_with_a_test_ca_and_client_certificate() {
    let broker = Broker::start_with(BrokerOptions {
        tls: Some(TlsOptions {
            require_certificate: true,
        }),
        ..BrokerOptions::default()
    });
    let platform = start_platform(&broker).await;
    let extra = format!(
        "ca_file = {:?}\nclient_cert_file = {:?}\nclient_key_file = {:?}\n",
        broker.ca_path(),
        broker.client_cert_path(),
        broker.client_key_path()
    );
    let site = start_site_with(vec![list("SFT000000001", 800)], |c| {
        c.platform = Some(platform_config(&broker, &extra));
    })
    .await;
    let id = site.inject(Some("SFT000000001")).await;
    site.wait_dropped(&[id]).await;
    let l = wait_ledger(
        &platform,
        "the sort result over TLS",
        Duration::from_secs(60),
        |l| l.stream(SITE, "decisions").is_some_and(|s| s.applied >= 2),
    )
    .await;
    assert_eq!(l.totals.applied_twice, 0);
    assert_eq!(applied_sort_results(&platform).len(), 1);
    site.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_killed_mid_traffic_and_restarted_loses_no_uplink_message() {
    use common::process::Controller;

    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let sim = customs_edge_simulators::start(
        customs_edge_simulators::SimConfig::default(),
        shutdown.clone(),
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let config_file = data.path().join("site.toml");
    let (plc, scanner) = (sim.lines[0].plc.to_string(), sim.lines[0].top.to_string());
    let config = format!(
        "{}\n[platform]\nbroker = \"{}\"\nack_timeout_s = 5\n",
        common::test_config_toml(data.path(), &plc, &scanner),
        broker.url()
    );
    std::fs::write(&config_file, config).unwrap();
    let codes: Vec<String> = (0..30).map(|i| format!("SFK{i:09}")).collect();
    let store = customs_edge::store::Store::open(data.path()).unwrap();
    common::store_lists(&store, codes.iter().map(|c| list(c, 800)).collect()).await;
    drop(store);
    let first = Controller::start(&config_file).await;
    // Killed while parcels keep coming; those that come while no controller runs take the
    // PLC's default. The rest come once the second one is up, however long it took to
    // start on a busy machine, so every one of them is sorted.
    let during = common::feed_parcels(sim.http, codes[..10].to_vec(), Duration::from_millis(700));
    first.wait_sorted(5).await;
    first.kill9();
    during.await.unwrap();
    let second = Controller::start(&config_file).await;
    common::feed_parcels(sim.http, codes[10..].to_vec(), Duration::from_millis(700))
        .await
        .unwrap();
    second.wait_sorted(5 + codes.len() - 10).await;

    let db = rusqlite::Connection::open(data.path().join(customs_edge::store::DB_FILE)).unwrap();
    let decided: BTreeSet<i64> = db
        .prepare("SELECT id FROM parcels WHERE decided_at IS NOT NULL")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let last: i64 = db
        .query_row(
            "SELECT next_seq - 1 FROM outbox_streams WHERE stream = 'decisions'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let l = wait_ledger(
        &platform,
        "everything the store holds",
        Duration::from_secs(60),
        |l| l.last_applied(SITE, "decisions") >= last as u64,
    )
    .await;
    assert_eq!(l.totals.applied_twice, 0, "{:?}", l.doubles);
    let applied = applied_sort_results(&platform);
    let unique: BTreeSet<i64> = applied.iter().copied().collect();
    assert_eq!(unique.len(), applied.len(), "a decision applied twice");
    // Every decision on record reached the platform once; the platform holds nothing the
    // store does not (a decision the kill took away before commit was never sent).
    assert_eq!(unique, decided);
    let interrupted = platform
        .applied(SITE, "decisions")
        .into_iter()
        .filter(|m| m.kind == "parcel_outcome" && m.body["outcome"] == "interrupted")
        .count();
    let on_record: i64 = db
        .query_row(
            "SELECT count(*) FROM parcels WHERE outcome = 'interrupted'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        interrupted as i64, on_record,
        "each interrupted parcel reported once"
    );
    drop(second);
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_backlog_never_holds_back_an_alarm() {
    use customs_edge::store::{alarms, outbox};
    use customs_edge_protocol::uplink::{self, Stream};
    const BACKLOG: usize = 20_000;

    let broker = Broker::start();
    let platform = start_platform(&broker).await;
    let site = start_site_with(vec![], |c| c.platform = Some(platform_config(&broker, ""))).await;
    // A statistics backlog (as after a long outage), then one alarm behind it.
    site.controller
        .store
        .writer
        .write(|tx| {
            for i in 0..BACKLOG {
                let body = uplink::Statistics {
                    from: format!("{i}"),
                    to: format!("{i}"),
                    lines: vec![],
                    outbox_pending: 0,
                };
                outbox::enqueue(tx, Stream::Stats, uplink::kind::STATISTICS, &body)?;
            }
            alarms::raise(
                tx,
                "test",
                "behind_the_backlog",
                "queued after 20000 statistics",
                None,
            )?;
            Ok(())
        })
        .await
        .unwrap();
    wait_ledger(
        &platform,
        "the whole backlog",
        Duration::from_secs(120),
        |l| {
            l.stream(SITE, "stats")
                .is_some_and(|s| s.applied >= BACKLOG as u64)
        },
    )
    .await;
    let alarm_at = platform
        .applied(SITE, "health")
        .into_iter()
        .find(|m| m.kind == "alarm" && m.body["alarm"] == "behind_the_backlog")
        .expect("the alarm arrived")
        .applied_at;
    let stats = platform.applied(SITE, "stats");
    let before_alarm = stats.iter().filter(|m| m.applied_at < alarm_at).count();
    assert!(
        before_alarm < BACKLOG / 2,
        "the alarm waited for {before_alarm} of {BACKLOG} statistics"
    );
    site.stop().await;
}
