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
/// First and longest wait before reconnecting.
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Each wait is spread ±25 %, so that edges which lost the same broker come back apart.
const BACKOFF_JITTER: f64 = 0.25;
/// Largest packet either way (a downlink batch of lists is well under this).
const MAX_PACKET: usize = 16 * 1024 * 1024;
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
        .set_max_packet_size(MAX_PACKET, MAX_PACKET)
        .set_last_will(LastWill::new(
            topics.status(),
            "offline",
            QoS::AtLeastOnce,
            true,
        ));
    Ok(AsyncClient::new(options, REQUEST_CAPACITY))
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
}

impl Session {
    pub(crate) async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let mut backoff = Backoff::new(BACKOFF_MIN, BACKOFF_MAX).with_jitter(BACKOFF_JITTER);
        loop {
            let event = tokio::select! {
                () = shutdown.cancelled() => break,
                event = self.eventloop.poll() => event,
            };
            match event {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                    backoff.reset();
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
                    let wait = backoff.next_wait();
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

/// `base` ± 25 %, so a site full of controllers does not reconnect in step.
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
