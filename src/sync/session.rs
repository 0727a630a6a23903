//! The MQTT session with the platform's broker.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::{Context as _, bail};
use customs_edge_devices::backoff::Backoff;
use customs_edge_protocol::topics::Topics;
use rumqttc::{
    AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Packet, Publish, QoS,
    TlsConfiguration, Transport,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{HEALTH_NAME, LinkEvent, SyncStats};
use crate::config::PlatformConfig;
use crate::health::{Health, State};

/// Requests queued to the event loop before `publish` waits.
const REQUEST_CAPACITY: usize = 1024;
/// Messages in flight to the broker (QoS 1 without PUBACK yet).
const INFLIGHT: u16 = 1000;
/// A connection counts as having worked, and the reconnect backoff goes back to its floor,
/// only once it has stayed up this long. A connection that dies sooner (refused after the
/// CONNACK, a packet the client cannot read, a broker restarting in a loop) leaves the
/// backoff growing toward its cap instead of starting over: otherwise such a loop
/// reconnects about five times a second for as long as it lasts.
pub(crate) const STABLE_AFTER: Duration = Duration::from_secs(10);
/// Largest packet sent (a downlink batch or an uplink message is well under this).
const MAX_OUTGOING_PACKET: usize = 16 * 1024 * 1024;
/// Largest packet read: the most MQTT 3.1.1 can frame (a remaining length of 268,435,455
/// bytes), so no packet a broker delivers makes the client drop the connection. The size
/// limit is enforced above this, by the downlink, which dead-letters a payload larger than
/// `platform.max_downlink_kb` and acknowledges it: were the client to refuse the packet
/// here instead, the broker would deliver it again on every reconnect, for ever (the link
/// wedged, nothing after it applied). The site broker's own `message_size_limit` keeps
/// such payloads from being published at all (config/mosquitto/).
pub(crate) const MAX_INCOMING_PACKET: usize = 268_435_455;
/// Downlink payload bytes held between receipt and application. A broker may send many
/// QoS 1 messages ahead of their acks (MQTT 3.1.1 has no receive maximum); beyond this the
/// session stops reading instead of buffering them all.
pub(crate) const DOWNLINK_BUDGET: u32 = 16 * 1024 * 1024;

/// A downlink message received, with its share of the budget (released when dropped).
#[derive(Debug)]
pub(crate) struct Incoming {
    pub(crate) publish: Publish,
    pub(crate) permit: OwnedSemaphorePermit,
}

/// Build the client and its event loop from the config; nothing connects yet.
pub(crate) fn connect_options(
    platform: &PlatformConfig,
    site: &str,
    topics: &Topics,
) -> anyhow::Result<(AsyncClient, EventLoop)> {
    let client_id = platform
        .client_id
        .clone()
        .unwrap_or_else(|| format!("customs-edge-{site}"));
    let mut options = broker_options(platform, client_id)?;
    options
        .set_keep_alive(Duration::from_secs(platform.keep_alive_s))
        .set_clean_session(false)
        .set_manual_acks(true)
        .set_inflight(INFLIGHT)
        .set_max_packet_size(MAX_INCOMING_PACKET, MAX_OUTGOING_PACKET)
        .set_last_will(LastWill::new(
            topics.status(),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
    let (client, mut eventloop) = AsyncClient::new(options, REQUEST_CAPACITY);
    eventloop.set_network_options(network_options());
    Ok((client, eventloop))
}

/// Small messages go out at once: with Nagle's algorithm on, a telemetry sample written
/// while an earlier segment waited for the broker's delayed ACK sat for up to 40 ms.
fn network_options() -> rumqttc::NetworkOptions {
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    network
}

/// The broker's address, credentials and TLS from the config, under `client_id`: what
/// every connection to the platform's broker shares (the controller's session, `doctor`).
pub(crate) fn broker_options(
    platform: &PlatformConfig,
    client_id: String,
) -> anyhow::Result<MqttOptions> {
    let (tls, rest) = if let Some(rest) = platform.broker.strip_prefix("mqtts://") {
        (true, rest)
    } else if let Some(rest) = platform.broker.strip_prefix("mqtt://") {
        (false, rest)
    } else {
        bail!(
            "platform.broker {:?} is not mqtt:// or mqtts://",
            platform.broker
        );
    };
    let authority = rest.split('/').next().unwrap_or(rest);
    let (host, port) = authority
        .rsplit_once(':')
        .with_context(|| format!("platform.broker {:?} has no port", platform.broker))?;
    let port: u16 = port
        .parse()
        .with_context(|| format!("platform.broker {:?}: bad port", platform.broker))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let mut options = MqttOptions::new(client_id, host, port);
    if let Some(user_env) = &platform.username_env {
        let user = std::env::var(user_env).with_context(|| {
            format!("platform.username_env: environment variable {user_env} is not set")
        })?;
        let password = match &platform.password_env {
            Some(p) => std::env::var(p).with_context(|| {
                format!("platform.password_env: environment variable {p} is not set")
            })?,
            None => String::new(),
        };
        options.set_credentials(user, password);
    }
    if tls {
        let ca_file = platform
            .ca_file
            .as_ref()
            .context("platform.ca_file is required for mqtts://")?;
        let ca = std::fs::read(ca_file)
            .with_context(|| format!("platform.ca_file {}", ca_file.display()))?;
        let client_auth = match (&platform.client_cert_file, &platform.client_key_file) {
            (Some(cert), Some(key)) => Some((
                std::fs::read(cert)
                    .with_context(|| format!("platform.client_cert_file {}", cert.display()))?,
                std::fs::read(key)
                    .with_context(|| format!("platform.client_key_file {}", key.display()))?,
            )),
            _ => None,
        };
        options.set_transport(Transport::tls_with_config(TlsConfiguration::Simple {
            ca,
            alpn: None,
            client_auth,
        }));
    }
    Ok(options)
}

/// The event loop task: connects, reconnects, and hands incoming publishes on.
pub(crate) struct Session {
    pub(crate) eventloop: EventLoop,
    pub(crate) client: AsyncClient,
    pub(crate) topics: Topics,
    pub(crate) stats: Arc<SyncStats>,
    pub(crate) health: Health,
    pub(crate) link: watch::Sender<LinkEvent>,
    pub(crate) incoming: mpsc::UnboundedSender<Incoming>,
    /// Bytes of downlink payload received and not yet applied: when it runs out this loop
    /// waits, the socket is not read, and the broker holds the rest (TCP backpressure).
    pub(crate) budget: Arc<Semaphore>,
    pub(crate) broker: String,
    /// Waits between connection attempts (`platform.reconnect_*`).
    pub(crate) backoff: Backoff,
}

impl Session {
    pub(crate) async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = self.backoff.clone();
        // When the current connection came up (its CONNACK), while it is up.
        let mut up_since: Option<tokio::time::Instant> = None;
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                event = self.eventloop.poll() => event,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    up_since = Some(tokio::time::Instant::now());
                    self.connected(ack.session_present);
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    let want = u32::try_from(publish.payload.len())
                        .unwrap_or(u32::MAX)
                        .clamp(1, DOWNLINK_BUDGET);
                    let permit = tokio::select! {
                        () = shutdown.cancelled() => break,
                        p = self.budget.clone().acquire_many_owned(want) => p?,
                    };
                    // The downlink task acknowledges it once applied.
                    let _ = self.incoming.send(Incoming { publish, permit });
                }
                Ok(_) => {}
                Err(e) => {
                    self.disconnected(&e);
                    if up_since.take().is_some_and(|t| t.elapsed() >= STABLE_AFTER) {
                        backoff.reset();
                    }
                    let wait = backoff.next_wait();
                    tracing::debug!(?wait, failures = backoff.failures(), "reconnecting after");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        // Say goodbye properly: a clean disconnect does not fire the last will, so the
        // presence is set to offline by hand first.
        if self.stats.connected() {
            let _ =
                self.client
                    .try_publish(self.topics.status(), QoS::AtLeastOnce, true, "offline");
            let _ = self.client.try_disconnect();
            let flush = async {
                while let Ok(event) = self.eventloop.poll().await {
                    if matches!(event, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                        break;
                    }
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(1), flush).await;
        }
        Ok(())
    }

    fn connected(&mut self, session_present: bool) {
        self.stats.connects.fetch_add(1, Ordering::Relaxed);
        self.stats.set_connected(true);
        info!(broker = %self.broker, session_present, "connected to the platform broker");
        self.health.set(
            HEALTH_NAME,
            State::Ok,
            format!("connected to {}", self.broker),
        );
        // Queued from a task of their own: `publish().await` waits for room in the request
        // channel, which only this loop's polling makes.
        let client = self.client.clone();
        let topics = self.topics.clone();
        tokio::spawn(async move {
            if !session_present {
                // A new session (first connect, or the broker lost ours): subscribe again.
                if let Err(e) = client
                    .subscribe(topics.down_filter(), QoS::AtLeastOnce)
                    .await
                {
                    warn!(error = %e, "cannot queue the downlink subscription");
                }
            }
            let _ = client
                .publish(topics.status(), QoS::AtLeastOnce, true, "online")
                .await;
        });
        let _ = self.link.send(LinkEvent::Up);
    }

    fn disconnected(&mut self, error: &ConnectionError) {
        let was = self.stats.connected();
        self.stats.set_connected(false);
        let _ = self.link.send(LinkEvent::Down);
        if was {
            warn!(broker = %self.broker, %error, "lost the platform broker; records wait in the outbox");
        } else {
            tracing::debug!(broker = %self.broker, %error, "platform broker not reachable");
        }
        self.health.set(
            HEALTH_NAME,
            State::Degraded,
            format!(
                "not connected to {}: {error}; records wait in the outbox",
                self.broker
            ),
        );
    }
}

/// The reconnect backoff of `platform`: from `reconnect_min_ms`, doubling up to
/// `reconnect_max_ms`, each wait spread by `reconnect_jitter` so that the sites of a
/// province that lost the same broker do not come back in step. The cap is what bounds
/// how long after the broker's return the link is up again, however long it was away.
pub(crate) fn backoff(platform: &PlatformConfig) -> Backoff {
    Backoff::new(
        Duration::from_millis(platform.reconnect_min_ms),
        Duration::from_millis(platform.reconnect_max_ms),
    )
    .with_jitter(platform.reconnect_jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(broker: &str) -> PlatformConfig {
        let mut cfg: crate::config::Config = toml::from_str(&format!(
            "[site]\ncode = \"S1\"\n[platform]\nbroker = \"{broker}\"\n"
        ))
        .unwrap();
        cfg.platform.take().unwrap()
    }

    #[test]
    fn urls_are_read_with_their_port() {
        let topics = Topics::new("p", "S1");
        assert!(connect_options(&platform("mqtt://127.0.0.1:1883"), "S1", &topics).is_ok());
        let err = connect_options(&platform("mqtt://127.0.0.1"), "S1", &topics)
            .err()
            .unwrap();
        assert!(err.to_string().contains("no port"), "{err}");
        let err = connect_options(&platform("mqtts://127.0.0.1:8883"), "S1", &topics)
            .err()
            .unwrap();
        assert!(err.to_string().contains("ca_file"), "{err}");
    }
}
