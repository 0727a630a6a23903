//! The test as a site: a raw rumqttc client publishing uplink and reading its downlink,
//! as the edge controller would.

use std::time::Duration;

use customs_edge_protocol::downlink::{Downlink, kind};
use customs_edge_protocol::envelope::{self, Envelope};
use customs_edge_protocol::topics::Topics;
use customs_edge_simulators::broker::Broker;
use rumqttc::{AsyncClient, Event, Incoming, QoS};
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::{PATIENCE, PREFIX, SITE};

pub(super) struct FakeSite {
    pub(super) client: AsyncClient,
    topics: Topics,
    pub(super) down: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    subscriptions: watch::Receiver<u64>,
    task: JoinHandle<()>,
}

impl FakeSite {
    pub(super) async fn connect(broker: &Broker) -> Self {
        let mut options = broker.client_options("fake-site");
        options.set_max_packet_size(1 << 24, 1 << 24);
        let (client, mut eventloop) = AsyncClient::new(options, 100);
        let topics = Topics::new(PREFIX, SITE);
        let (down_tx, down) = mpsc::unbounded_channel();
        let (sub_tx, subscriptions) = watch::channel(0_u64);
        let (c, filter) = (client.clone(), topics.down_filter());
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Incoming::ConnAck(_))) => {
                        let (c, f) = (c.clone(), filter.clone());
                        tokio::spawn(async move { c.subscribe(f, QoS::AtLeastOnce).await });
                    }
                    Ok(Event::Incoming(Incoming::SubAck(_))) => {
                        sub_tx.send_modify(|n| *n += 1);
                    }
                    Ok(Event::Incoming(Incoming::Publish(p))) => {
                        let _ = down_tx.send((p.topic.clone(), p.payload.to_vec()));
                    }
                    Ok(_) => {}
                    // Reconnect pacing of the fake site, not a wait for a condition.
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        let mut site = Self {
            client,
            topics,
            down,
            subscriptions,
            task,
        };
        site.wait_subscribed(1).await;
        site
    }

    pub(super) async fn wait_subscribed(&mut self, times: u64) {
        tokio::time::timeout(PATIENCE, self.subscriptions.wait_for(|n| *n >= times))
            .await
            .expect("the fake site subscribes")
            .unwrap();
    }

    pub(super) async fn up(&self, stream: &str, seq: u64, kind: &str, body: Value) {
        let payload = json!({
            "schema": 1, "id": envelope::message_id(SITE, stream, seq), "stream": stream,
            "seq": seq, "site": SITE, "created": "2026-11-27T10:00:00.000Z", "kind": kind,
            "body": body
        });
        self.raw(&self.topics.up(stream), payload.to_string()).await;
    }

    pub(super) async fn raw(&self, topic: &str, payload: impl Into<Vec<u8>>) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.into())
            .await
            .unwrap();
    }

    /// The next downlink message, opened and read as the site reads it.
    pub(super) async fn next_down(&mut self) -> (String, Envelope<Value>, Downlink) {
        let (topic, payload) = tokio::time::timeout(PATIENCE, self.down.recv())
            .await
            .expect("a downlink message in time")
            .expect("the fake site runs");
        let env = envelope::open(&payload, 1 << 24, SITE).expect("a valid envelope");
        let message = Downlink::from_envelope(&env).expect("a body that fits its kind");
        (topic, env, message)
    }

    /// Skip downlink until an ack of `stream` at `seq` or beyond; returns its seq.
    pub(super) async fn ack_at_least(&mut self, stream: &str, seq: u64) -> u64 {
        loop {
            let (topic, _, message) = self.next_down().await;
            if let Downlink::Ack(ack) = message {
                assert_eq!(topic, self.topics.down(kind::ACK));
                if ack.stream == stream && ack.seq >= seq {
                    return ack.seq;
                }
            }
        }
    }
}

impl Drop for FakeSite {
    fn drop(&mut self) {
        self.task.abort();
    }
}
