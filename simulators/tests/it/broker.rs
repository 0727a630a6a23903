//! The Mosquitto harness the end-to-end tests stand on: a real broker that carries
//! messages, survives a restart with its sessions, and speaks TLS with the test CA.

use std::sync::Arc;
use std::time::Duration;

use customs_edge_simulators::broker::{Broker, BrokerOptions, TlsOptions};
use rumqttc::tokio_rustls::rustls::{ClientConfig, RootCertStore};
use rumqttc::{
    AsyncClient, ConnectReturnCode, Event, EventLoop, MqttOptions, Packet, QoS, TlsConfiguration,
    Transport,
};
use tokio::sync::mpsc;

/// Generous, for a busy 2-core machine; a passing test takes milliseconds.
const DEADLINE: Duration = Duration::from_secs(30);
/// rumqttc has no reconnect backoff of its own.
const RETRY: Duration = Duration::from_millis(100);

/// What a client's event loop saw: an event, or a connection error in words.
type Seen = Result<Event, String>;

/// Drive `eventloop` in a task (it reconnects on the next poll after an error) and hand
/// over everything it sees.
fn drive(mut eventloop: EventLoop) -> mpsc::UnboundedReceiver<Seen> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let seen = eventloop.poll().await.map_err(|e| format!("{e:?}"));
            let failed = seen.is_err();
            if tx.send(seen).is_err() {
                return;
            }
            if failed {
                tokio::time::sleep(RETRY).await;
            }
        }
    });
    rx
}

/// Wait until the event loop sees something `wanted` accepts; panics at the deadline with
/// what was seen.
async fn wait_for<T>(
    what: &str,
    seen: &mut mpsc::UnboundedReceiver<Seen>,
    mut wanted: impl FnMut(&Seen) -> Option<T>,
) -> T {
    let mut history = Vec::new();
    let found = tokio::time::timeout(DEADLINE, async {
        while let Some(s) = seen.recv().await {
            if let Some(t) = wanted(&s) {
                return Some(t);
            }
            history.push(format!("{s:?}"));
        }
        None
    })
    .await;
    match found {
        Ok(Some(t)) => t,
        _ => panic!("no {what} within {DEADLINE:?}; saw: {history:#?}"),
    }
}

fn connack(s: &Seen) -> Option<bool> {
    match s {
        Ok(Event::Incoming(Packet::ConnAck(ack))) if ack.code == ConnectReturnCode::Success => {
            Some(ack.session_present)
        }
        _ => None,
    }
}

fn suback(s: &Seen) -> Option<()> {
    matches!(s, Ok(Event::Incoming(Packet::SubAck(_)))).then_some(())
}

fn puback(s: &Seen) -> Option<()> {
    matches!(s, Ok(Event::Incoming(Packet::PubAck(_)))).then_some(())
}

fn publish_on(topic: &str) -> impl FnMut(&Seen) -> Option<Vec<u8>> + '_ {
    move |s| match s {
        Ok(Event::Incoming(Packet::Publish(p))) if p.topic == topic => Some(p.payload.to_vec()),
        _ => None,
    }
}

fn error(s: &Seen) -> Option<String> {
    s.as_ref().err().cloned()
}

/// A connected client with its events.
async fn connect(options: MqttOptions) -> (AsyncClient, mpsc::UnboundedReceiver<Seen>, bool) {
    let (client, eventloop) = AsyncClient::new(options, 100);
    let mut seen = drive(eventloop);
    let session_present = wait_for("ConnAck", &mut seen, connack).await;
    (client, seen, session_present)
}

/// A subscriber on `topic` whose subscription the broker has confirmed.
async fn subscriber(
    options: MqttOptions,
    topic: &str,
) -> (AsyncClient, mpsc::UnboundedReceiver<Seen>) {
    let (client, mut seen, _) = connect(options).await;
    client.subscribe(topic, QoS::AtLeastOnce).await.unwrap();
    wait_for("SubAck", &mut seen, suback).await;
    (client, seen)
}

/// Publish `payload` on `topic` at QoS 1 and wait for the broker's PubAck.
async fn publish(options: MqttOptions, topic: &str, payload: &'static [u8]) {
    let (client, mut seen, _) = connect(options).await;
    client
        .publish(topic, QoS::AtLeastOnce, false, payload)
        .await
        .unwrap();
    wait_for("PubAck", &mut seen, puback).await;
}

fn persistent(mut options: MqttOptions) -> MqttOptions {
    options.set_clean_session(false);
    options
}

#[tokio::test]
async fn a_message_goes_round_a_plain_broker() {
    let broker = Broker::start();
    assert!(
        broker.url().starts_with("mqtt://127.0.0.1:"),
        "{}",
        broker.url()
    );
    let (_sub, mut received) = subscriber(broker.client_options("sub"), "harness/plain").await;
    publish(broker.client_options("pub"), "harness/plain", b"hello").await;
    let payload = wait_for("the message", &mut received, publish_on("harness/plain")).await;
    assert_eq!(payload, b"hello", "broker log:\n{}", broker.log());
}

#[tokio::test]
async fn sessions_and_queued_messages_survive_a_broker_restart() {
    let mut broker = Broker::start();
    let port = broker.port();
    let (_sub, mut seen) =
        subscriber(persistent(broker.client_options("sub")), "harness/restart").await;

    broker.stop();
    assert!(!broker.is_running());
    wait_for("a connection error", &mut seen, error).await;

    broker.start_again();
    assert_eq!(broker.port(), port);
    // Published while the subscriber is still away: the broker must queue it in the
    // session it restored from its persistence file.
    publish(
        broker.client_options("pub"),
        "harness/restart",
        b"after restart",
    )
    .await;

    let session_present = wait_for("ConnAck after the restart", &mut seen, connack).await;
    assert!(
        session_present,
        "the broker forgot the session; log:\n{}",
        broker.log()
    );
    let payload = wait_for(
        "the queued message",
        &mut seen,
        publish_on("harness/restart"),
    )
    .await;
    assert_eq!(payload, b"after restart");
}

#[tokio::test]
async fn without_persistence_a_restart_forgets_sessions() {
    let mut broker = Broker::start_with(BrokerOptions {
        persistence: false,
        ..BrokerOptions::default()
    });
    let (_sub, mut seen) =
        subscriber(persistent(broker.client_options("sub")), "harness/volatile").await;
    broker.stop();
    broker.start_again();
    let session_present = wait_for("ConnAck after the restart", &mut seen, connack).await;
    assert!(!session_present);
}

#[tokio::test]
async fn a_killed_broker_starts_again_on_its_port() {
    let mut broker = Broker::start();
    broker.kill();
    broker.start_again();
    publish(broker.client_options("pub"), "harness/killed", b"x").await;
}

#[tokio::test]
async fn a_message_goes_round_over_tls_with_the_test_ca() {
    let broker = Broker::start_with(BrokerOptions {
        tls: Some(TlsOptions {
            require_certificate: true,
        }),
        ..BrokerOptions::default()
    });
    assert!(
        broker.url().starts_with("mqtts://127.0.0.1:"),
        "{}",
        broker.url()
    );
    for path in [
        broker.ca_path(),
        broker.client_cert_path(),
        broker.client_key_path(),
    ] {
        assert!(path.is_file(), "{}", path.display());
    }
    // Verified as 127.0.0.1 (the URL's host) ...
    let (_sub, mut received) = subscriber(broker.client_options("sub"), "harness/tls").await;
    // ... and as localhost: the certificate carries both names.
    publish(
        broker.client_options_via("pub", "localhost"),
        "harness/tls",
        b"over tls",
    )
    .await;
    let payload = wait_for("the message", &mut received, publish_on("harness/tls")).await;
    assert_eq!(payload, b"over tls", "broker log:\n{}", broker.log());
}

#[tokio::test]
async fn tls_without_the_test_ca_is_refused() {
    let broker = Broker::start_tls();
    let no_roots = ClientConfig::builder()
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth();
    let mut options = broker.client_options("nobody");
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
        Arc::new(no_roots),
    )));
    let (_client, eventloop) = AsyncClient::new(options, 10);
    let mut seen = drive(eventloop);
    let first = tokio::time::timeout(DEADLINE, seen.recv())
        .await
        .expect("the connection attempt ends")
        .expect("the event loop reports");
    let err = first.expect_err("connected without trusting the server's CA");
    assert!(err.contains("UnknownIssuer"), "{err}");
}

#[tokio::test]
async fn a_broker_requiring_certificates_refuses_a_client_without_one() {
    let broker = Broker::start_with(BrokerOptions {
        tls: Some(TlsOptions {
            require_certificate: true,
        }),
        ..BrokerOptions::default()
    });
    let mut options = broker.client_options("anonymous");
    options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
        ca: std::fs::read(broker.ca_path()).unwrap(),
        alpn: None,
        client_auth: None,
    }));
    let (_client, eventloop) = AsyncClient::new(options, 10);
    let mut seen = drive(eventloop);
    // With TLS 1.3 the client may finish its handshake before the server refuses; either
    // way no ConnAck comes, only an error.
    let first = tokio::time::timeout(DEADLINE, seen.recv())
        .await
        .expect("the connection attempt ends")
        .expect("the event loop reports");
    assert!(
        first.is_err(),
        "connected without a client certificate: {first:?}"
    );
}
