//! The site broker as shipped (`config/mosquitto/`), run by real Mosquitto: no client
//! gets in without a certificate of the site CA, a site reads only its own downlink and
//! writes only its own uplink, and the controller syncs through it over mTLS with its
//! site certificate and signatures on.

use crate::common;

use std::time::Duration;

use common::platform::{SITE, applied_sort_results, wait_ledger};
use common::signing::TestKeys;
use common::{list, start_site_with, wait_for};
use customs_edge_simulators::broker::{Broker, PLATFORM_IDENTITY};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS, SubscribeReasonCode};
use tokio::sync::mpsc;

const OTHER: &str = "3511W002";
const LIMIT: Duration = Duration::from_secs(30);

/// Whether a client with these options gets a CONNACK (it keeps trying until `LIMIT`
/// only while the failures are not answers: a refused handshake is an answer).
async fn connects(options: MqttOptions) -> Result<(), String> {
    let (_client, mut eventloop) = AsyncClient::new(options, 10);
    let outcome = tokio::time::timeout(LIMIT, async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(format!("{ack:?}")),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .expect("the broker answers within the limit");
    outcome.map(|_ack| ())
}

/// What one client of the broker sees: publishes and subscription answers.
enum Seen {
    Message(String),
    Subscribed(Vec<SubscribeReasonCode>),
}

/// A connected client whose event loop runs on a task, reporting what it sees.
async fn client(options: MqttOptions) -> (AsyncClient, mpsc::UnboundedReceiver<Seen>) {
    let (client, eventloop) = AsyncClient::new(options, 100);
    let (tx, rx) = mpsc::unbounded_channel();
    let (up_tx, up_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(drive(eventloop, tx, up_tx));
    tokio::time::timeout(LIMIT, up_rx)
        .await
        .expect("connected in time")
        .expect("connected");
    (client, rx)
}

async fn drive(
    mut eventloop: EventLoop,
    tx: mpsc::UnboundedSender<Seen>,
    up: tokio::sync::oneshot::Sender<()>,
) {
    let mut up = Some(up);
    while let Ok(event) = eventloop.poll().await {
        match event {
            Event::Incoming(Packet::ConnAck(_)) => {
                if let Some(up) = up.take() {
                    let _ = up.send(());
                }
            }
            Event::Incoming(Packet::Publish(p)) => {
                let _ = tx.send(Seen::Message(format!(
                    "{} {}",
                    p.topic,
                    String::from_utf8_lossy(&p.payload)
                )));
            }
            Event::Incoming(Packet::SubAck(ack)) => {
                let _ = tx.send(Seen::Subscribed(ack.return_codes));
            }
            _ => {}
        }
    }
}

/// The next message seen, skipping subscription answers.
async fn next_message(rx: &mut mpsc::UnboundedReceiver<Seen>) -> String {
    loop {
        match tokio::time::timeout(LIMIT, rx.recv()).await {
            Ok(Some(Seen::Message(m))) => return m,
            Ok(Some(Seen::Subscribed(_))) => {}
            _ => panic!("no message within {LIMIT:?}"),
        }
    }
}

async fn subscribed(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Vec<SubscribeReasonCode> {
    match tokio::time::timeout(LIMIT, rx.recv()).await {
        Ok(Some(Seen::Subscribed(codes))) => codes,
        _ => panic!("no SUBACK within {LIMIT:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_broker_admits_no_client_without_a_site_certificate() {
    let broker = Broker::start_site(&[SITE, OTHER]);
    // TLS without a client certificate: the handshake is refused.
    let anonymous = broker.client_options_as("anonymous", None);
    let err = connects(anonymous)
        .await
        .expect_err("no certificate, no entry");
    assert!(!err.is_empty());
    // Plain MQTT to the TLS port: nothing there speaks it.
    let plain = MqttOptions::new("plain", "127.0.0.1", broker.port());
    assert!(connects(plain).await.is_err(), "plain MQTT refused");
    // A user name and password instead of a certificate: refused too.
    let mut login = MqttOptions::new("login", "127.0.0.1", broker.port());
    login.set_credentials(SITE, "password");
    assert!(connects(login).await.is_err());
    // The same client with the site's certificate gets in.
    connects(broker.client_options_as("site", Some(SITE)))
        .await
        .expect("a site certificate is admitted");
    let log = broker.log();
    assert!(
        !log.contains("New client connected from 127.0.0.1 as anonymous"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_reads_only_its_own_downlink_and_writes_only_its_own_uplink() {
    let broker = Broker::start_site(&[SITE, OTHER]);
    let (platform, mut at_platform) =
        client(broker.client_options_as("platform", Some(PLATFORM_IDENTITY))).await;
    // The intruder holds the other site's certificate.
    let (intruder, mut at_intruder) =
        client(broker.client_options_as("intruder", Some(OTHER))).await;

    // Reading: it asks for this site's downlink, and its own.
    intruder
        .subscribe(format!("customs-edge/{SITE}/down/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let refused = subscribed(&mut at_intruder).await;
    // Mosquitto 2.0 grants the subscription and then delivers nothing the ACL does not
    // let this client read: the proof is in what arrives.
    intruder
        .subscribe(format!("customs-edge/{OTHER}/down/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let allowed = subscribed(&mut at_intruder).await;
    assert!(
        matches!(allowed[..], [SubscribeReasonCode::Success(_)]),
        "{allowed:?}"
    );
    // The platform sends this site a permit, then the intruder's own site a message: the
    // intruder sees its own and never the first (the broker keeps one publisher's order).
    platform
        .publish(
            format!("customs-edge/{SITE}/down/permits"),
            QoS::AtLeastOnce,
            false,
            "secret permit",
        )
        .await
        .unwrap();
    platform
        .publish(
            format!("customs-edge/{OTHER}/down/lists"),
            QoS::AtLeastOnce,
            false,
            "its own",
        )
        .await
        .unwrap();
    let first = next_message(&mut at_intruder).await;
    assert_eq!(
        first,
        format!("customs-edge/{OTHER}/down/lists its own"),
        "refused subscription: {refused:?}"
    );

    // Writing: the platform listens to every site's uplink.
    platform
        .subscribe("customs-edge/+/up/#", QoS::AtLeastOnce)
        .await
        .unwrap();
    let codes = subscribed(&mut at_platform).await;
    assert!(
        matches!(codes[..], [SubscribeReasonCode::Success(_)]),
        "{codes:?}"
    );
    intruder
        .publish(
            format!("customs-edge/{SITE}/up/decisions"),
            QoS::AtLeastOnce,
            false,
            "forged decision",
        )
        .await
        .unwrap();
    intruder
        .publish(
            format!("customs-edge/{SITE}/down/ack"),
            QoS::AtLeastOnce,
            false,
            "forged ack",
        )
        .await
        .unwrap();
    intruder
        .publish(
            format!("customs-edge/{OTHER}/up/health"),
            QoS::AtLeastOnce,
            false,
            "its own",
        )
        .await
        .unwrap();
    let first = next_message(&mut at_platform).await;
    assert_eq!(first, format!("customs-edge/{OTHER}/up/health its own"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_syncs_through_the_site_broker_over_mtls_with_signatures() {
    let broker = Broker::start_site(&[SITE, OTHER]);
    let keys = TestKeys::new();
    let platform = keys.start_platform(&broker).await;
    let tls = format!(
        "ca_file = {:?}\nclient_cert_file = {:?}\nclient_key_file = {:?}\n",
        broker.ca_path(),
        broker.identity_cert_path(SITE),
        broker.identity_key_path(SITE)
    );
    let cfg = keys.site_config(&broker, &tls);
    assert!(cfg.broker.starts_with("mqtts://"));
    let site = start_site_with(vec![list("SFM000000001", 800)], |c| {
        c.platform = Some(cfg);
    })
    .await;
    // Uplink: a decision reaches the platform, signed; its ack comes back, signed.
    let id = site.inject(Some("SFM000000001")).await;
    site.wait_dropped(&[id]).await;
    let l = wait_ledger(
        &platform,
        "the sort result through the site broker",
        LIMIT * 2,
        |l| l.stream(SITE, "decisions").is_some_and(|s| s.applied >= 2),
    )
    .await;
    assert_eq!(l.totals.applied_twice, 0);
    assert_eq!(l.malformed_uplink, 0, "{:?}", l.malformed_samples);
    assert_eq!(applied_sort_results(&platform).len(), 1);
    // Downlink: a signed list applies.
    platform
        .publish_lists(SITE, vec![list("SFM000000002", 800)])
        .await
        .unwrap();
    wait_for("the signed list applied", LIMIT * 2, || async {
        (!site
            .query("SELECT 1 FROM declaration_lists WHERE logistics_no = 'SFM000000002'")
            .is_empty())
        .then_some(())
    })
    .await;
    wait_for("the outbox drained by signed acks", LIMIT * 2, || async {
        let (last, acked, _) = common::platform::outbox_stream(&site, "decisions");
        (last >= 2 && acked == last).then_some(())
    })
    .await;
    assert!(site.query("SELECT 1 FROM dead_letters").is_empty());
    // The broker knows the controller by its certificate's name.
    assert!(
        broker.log().contains(&format!("u'{SITE}'")),
        "{}",
        broker.log()
    );
    site.stop().await;
}
