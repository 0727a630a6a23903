//! Platform sync over MQTT: the outbox sent in order and resent until acknowledged, the
//! downlink applied once each, telemetry, statistics and device health.
//!
//! - [`session`] — the MQTT connection: options (TLS, credentials, last will, persistent
//!   session, manual acks), the event loop with reconnect backoff and jitter, subscribing
//!   again when the broker lost the session.
//! - [`publisher`] — sends each outbox stream in sequence order under a window, priority
//!   streams first; rewinds to the first unacknowledged message after a reconnect or an
//!   ack timeout (go-back-N); applies the platform's acks to the outbox.
//! - [`downlink`] — opens, checks and applies each downlink message in one transaction,
//!   then acknowledges it to the broker; dead-letters what cannot be applied.
//! - [`telemetry`] — PLC tags on change beyond a deadband or at a maximum interval, with
//!   their quality.
//! - [`reporters`] — periodic statistics and device-health changes.
//! - [`signing`] — Ed25519 signatures on every message when `[platform.signing]` is set.
//!
//! The wire contract is the `customs-edge-protocol` crate, documented in `docs/mqtt/`.

pub mod downlink;
pub mod publisher;
pub mod reporters;
pub mod session;
pub mod signing;
pub mod telemetry;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use customs_edge_protocol::topics::Topics;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, PlatformConfig};
use crate::health::Health;
use crate::sorting::LineStatusFeed;
use crate::store::{Store, StoreError, outbox};
use crate::supervisor::Supervisor;

/// Counters of the link, for `/api/sync`, health and metrics.
#[derive(Debug, Default)]
pub struct SyncStats {
    connected: AtomicBool,
    /// Connections made (the first one included).
    pub connects: AtomicU64,
    /// Uplink messages published (resends included).
    pub published: AtomicU64,
    /// Of those, messages sent again after a reconnect or an ack timeout.
    pub resent: AtomicU64,
    /// Acks received from the platform.
    pub acks: AtomicU64,
    /// Downlink messages applied.
    pub applied: AtomicU64,
    /// Records those messages wrote (lists, status updates, permits, instructions).
    pub applied_records: AtomicU64,
    /// Downlink messages received again after being applied (not applied twice).
    pub redelivered: AtomicU64,
    /// Downlink messages dead-lettered.
    pub dead_letters: AtomicU64,
}

impl SyncStats {
    /// Whether the broker connection is up.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    fn set_connected(&self, up: bool) {
        self.connected.store(up, Ordering::Relaxed);
    }

    /// A plain copy.
    pub fn snapshot(&self) -> SyncSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        SyncSnapshot {
            connected: self.connected(),
            connects: get(&self.connects),
            published: get(&self.published),
            resent: get(&self.resent),
            acks: get(&self.acks),
            applied: get(&self.applied),
            applied_records: get(&self.applied_records),
            redelivered: get(&self.redelivered),
            dead_letters: get(&self.dead_letters),
        }
    }
}

/// [`SyncStats`] as plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SyncSnapshot {
    /// Connected to the broker.
    pub connected: bool,
    /// Connections made.
    pub connects: u64,
    /// Uplink messages published, resends included.
    pub published: u64,
    /// Uplink messages resent.
    pub resent: u64,
    /// Acks received.
    pub acks: u64,
    /// Downlink messages applied.
    pub applied: u64,
    /// Records they wrote.
    pub applied_records: u64,
    /// Downlink messages redelivered after being applied.
    pub redelivered: u64,
    /// Downlink messages dead-lettered.
    pub dead_letters: u64,
}

/// What the session tells the publisher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkEvent {
    /// Connected (again): everything unacknowledged must be sent again.
    Up,
    /// The connection dropped.
    Down,
}

/// The health component name of the link.
pub const HEALTH_NAME: &str = "platform";

/// Turn the outbox on or off for this config: records produce uplink messages only when
/// a platform is configured.
pub async fn configure_outbox(config: &Config, store: &Store) -> Result<(), StoreError> {
    let (enabled, quota) = config
        .platform
        .as_ref()
        .map_or((false, 0), |p| (true, p.outbox_quota_mb << 20));
    store
        .writer
        .write(move |tx| {
            if enabled {
                outbox::configure(tx, true, quota)
            } else {
                // Keep the quota a previous run set; only stop producing.
                tx.execute("UPDATE outbox_settings SET enabled = 0 WHERE id = 1", [])?;
                Ok(())
            }
        })
        .await
}

/// Start the link's tasks under the supervisor; returns its counters.
///
/// The session, the publisher and the downlink share the MQTT client and channels
/// between them, so they run (and, after a failure, start again) as one task, the
/// platform link; telemetry and the reporters are tasks of their own.
pub fn spawn(
    config: &Config,
    platform: &PlatformConfig,
    store: &Store,
    health: &Health,
    lines: Vec<LineStatusFeed>,
    tasks: &mut Supervisor,
) -> anyhow::Result<Arc<SyncStats>> {
    let stats = Arc::new(SyncStats::default());
    let topics = Topics::new(&platform.topic_prefix, &config.site.code);
    // Checked once here, so that a config the link cannot use fails the start.
    session::connect_options(platform, &config.site.code, &topics)?;
    let keys = platform
        .signing
        .as_ref()
        .map(signing::LinkKeys::load)
        .transpose()?
        .map(Arc::new);
    health.set(
        HEALTH_NAME,
        crate::health::State::Starting,
        format!("connecting to {}", platform.broker),
    );
    let link = Link {
        platform: platform.clone(),
        site: config.site.code.clone(),
        topics,
        store: store.clone(),
        health: health.clone(),
        stats: stats.clone(),
        keys,
    };
    tasks.spawn("platform link", move |token| link.clone().run(token));

    if !platform.telemetry.is_empty() {
        let (tags, store) = (platform.telemetry.clone(), store.clone());
        tasks.spawn("platform telemetry", move |token| {
            telemetry::Sampler::new(&tags, lines.clone(), store.clone()).run(token)
        });
    }
    let reporter = reporters::Reporters {
        store: store.clone(),
        health: health.clone(),
        stats_interval: std::time::Duration::from_secs(platform.stats_interval_s),
    };
    tasks.spawn("platform reporters", move |token| {
        reporter.clone().run(token)
    });
    if platform.audit_anchor_interval_s > 0 {
        let (store, every) = (
            store.clone(),
            std::time::Duration::from_secs(platform.audit_anchor_interval_s),
        );
        tasks.spawn("audit anchors", move |token| {
            crate::audit_anchor::run(store.clone(), every, token)
        });
    }
    Ok(stats)
}

/// What the platform link is made of, to make it again after a failure.
#[derive(Clone)]
struct Link {
    platform: PlatformConfig,
    site: String,
    topics: Topics,
    store: Store,
    health: Health,
    stats: Arc<SyncStats>,
    /// The link's keys, when signing is on; shared by every run so the acknowledgement
    /// replay guard outlives a restart of the link task.
    keys: Option<Arc<signing::LinkKeys>>,
}

impl Link {
    /// One run of the session, the publisher and the downlink, until shutdown or until
    /// one of them ends.
    async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            platform,
            site,
            topics,
            store,
            health,
            stats,
            keys,
        } = self;
        let (client, eventloop) = session::connect_options(&platform, &site, &topics)?;
        let (link_tx, link_rx) = watch::channel(LinkEvent::Down);
        let (incoming_tx, incoming_rx) = mpsc::unbounded_channel();
        let (acks_tx, acks_rx) = mpsc::unbounded_channel();
        let session = session::Session {
            eventloop,
            client: client.clone(),
            topics: topics.clone(),
            stats: stats.clone(),
            health,
            link: link_tx,
            incoming: incoming_tx,
            budget: Arc::new(tokio::sync::Semaphore::new(
                session::DOWNLINK_BUDGET as usize,
            )),
            broker: platform.broker.clone(),
            backoff: session::backoff(&platform),
        };
        let publisher = publisher::Publisher::new(
            client.clone(),
            store.clone(),
            topics,
            site.clone(),
            &platform,
            stats.clone(),
            link_rx,
            acks_rx,
        )
        .with_keys(keys.clone());
        let downlink = downlink::Downlink {
            client,
            store,
            site,
            limit: usize::try_from(platform.max_downlink_kb.saturating_mul(1024))
                .unwrap_or(usize::MAX),
            stats,
            acks: acks_tx,
            keys,
        };
        // A part that ends takes the others down with it; the supervisor starts them again.
        tokio::select! {
            ended = session.run(shutdown.clone()) => ended.map_err(|e| e.context("session")),
            ended = publisher.run(shutdown.clone()) => ended.map_err(|e| e.context("publisher")),
            ended = downlink.run(incoming_rx, shutdown.clone()) => ended.map_err(|e| e.context("downlink")),
        }
    }
}
