//! [`start`] connects the platform and spawns its two tasks (the MQTT link and the acks);
//! [`Platform`] is the `Clone` handle that reads the ledger, waits for conditions, flips
//! the ack faults and publishes downlink; [`RunningPlatform`] owns the tasks.

use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use customs_edge_protocol::topics::Topics;
use rumqttc::AsyncClient;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::info;

use super::config::PlatformConfig;
use super::judge::Judge;
use super::ledger::{AckSettings, AppliedMessage, DownlinkCounters, Ledger};
use super::{acks, link};

/// Requests queued to the MQTT client before `publish` waits: a batch of lists is about
/// half a megabyte, so this bounds the queue to some tens of megabytes.
const CLIENT_QUEUE: usize = 32;
/// A waiter re-reads the ledger at most this often, so waiting on a 20,000 msg/s drain
/// does not take a core.
const WAIT_GRANULARITY: Duration = Duration::from_millis(10);

/// The connection as the link task sees it.
#[derive(Debug, Default)]
pub(crate) struct LinkStatus {
    pub(crate) connected: bool,
    pub(crate) subscribed: bool,
    pub(crate) connects: u64,
    pub(crate) last_error: Option<String>,
}

/// Everything the ledger is made of.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) judge: Judge,
    pub(crate) link: LinkStatus,
    pub(crate) downlink: DownlinkCounters,
    /// The last downlink sequence number per site.
    pub(crate) down_seqs: BTreeMap<String, u64>,
    /// Keys, when the platform signs; here so a test can rotate the key while it runs.
    pub(crate) signing: Option<super::signing::Signing>,
    /// The newest audit anchor each site sent.
    pub(crate) anchors: BTreeMap<String, customs_edge_protocol::uplink::AnchorExport>,
}

/// The ack fault switches, read by the ack task on every tick.
#[derive(Debug, Default)]
pub(crate) struct AckFaults {
    paused: AtomicBool,
    /// An `f64` as its bits: atomics have no float.
    drop_rate: AtomicU64,
}

impl AckFaults {
    pub(crate) fn settings(&self) -> AckSettings {
        AckSettings {
            paused: self.paused.load(Ordering::Relaxed),
            drop_rate: f64::from_bits(self.drop_rate.load(Ordering::Relaxed)),
        }
    }
}

/// What the tasks and the handles share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: PlatformConfig,
    /// `std::sync::Mutex`, not Tokio's: held for microseconds and never across an
    /// `.await`; the link applies thousands of messages a second under it.
    state: Mutex<State>,
    /// Bumped after every change to the state, for [`Platform::wait_until`].
    changed: watch::Sender<u64>,
    pub(crate) faults: AckFaults,
    /// Held from choosing a downlink sequence number until its message is queued to the
    /// client, so sequence order is wire order. Tokio's: it is held across `publish().await`.
    pub(crate) send_lock: tokio::sync::Mutex<()>,
}

/// A handle to the running platform: cheap to clone, usable from any task.
#[derive(Debug, Clone)]
pub struct Platform {
    pub(crate) shared: Arc<Shared>,
    pub(crate) client: AsyncClient,
}

impl Shared {
    /// Change the state and wake the waiters.
    pub(crate) fn update<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let out = f(&mut self.lock());
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
        out
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves counters, not broken invariants.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn topics(&self, site: &str) -> Topics {
        Topics::new(&self.config.prefix, site)
    }
}

impl Platform {
    /// A snapshot of the ledger (counts, presence, diagnoses; no bodies).
    pub fn ledger(&self) -> Ledger {
        let state = self.shared.lock();
        let mut ledger = Ledger {
            connected: state.link.connected,
            subscribed: state.link.subscribed,
            connects: state.link.connects,
            last_error: state.link.last_error.clone(),
            downlink: state.downlink.clone(),
            acks: self.shared.faults.settings(),
            ..Ledger::default()
        };
        state.judge.fill(&mut ledger);
        for (site, seq) in &state.down_seqs {
            ledger.sites.entry(site.clone()).or_default().down_seq = *seq;
        }
        ledger
    }

    /// Every applied message of a stream kept so far, in sequence order.
    pub fn applied(&self, site: &str, stream: &str) -> Vec<AppliedMessage> {
        self.applied_after(site, stream, 0, usize::MAX)
    }

    /// At most `limit` kept applied messages of a stream with a sequence number above
    /// `after`.
    pub fn applied_after(
        &self,
        site: &str,
        stream: &str,
        after: u64,
        limit: usize,
    ) -> Vec<AppliedMessage> {
        self.shared.lock().judge.applied(site, stream, after, limit)
    }

    /// Wait until `pred` holds for the ledger, re-reading it as it changes; `Err` carries
    /// the last ledger when `timeout` passes first.
    pub async fn wait_until(
        &self,
        pred: impl Fn(&Ledger) -> bool,
        timeout: Duration,
    ) -> Result<Ledger, Ledger> {
        let deadline = Instant::now() + timeout;
        let mut changes = self.shared.changed.subscribe();
        loop {
            changes.borrow_and_update();
            let checked_at = Instant::now();
            let ledger = self.ledger();
            if pred(&ledger) {
                return Ok(ledger);
            }
            if tokio::time::timeout_at(deadline, changes.changed())
                .await
                .is_err()
            {
                return Err(self.ledger());
            }
            let next = (checked_at + WAIT_GRANULARITY).min(deadline);
            tokio::time::sleep_until(next).await;
        }
    }

    /// Wait until connected and subscribed to every site's topics.
    pub async fn wait_subscribed(&self, timeout: Duration) -> anyhow::Result<()> {
        self.wait_until(|l| l.connected && l.subscribed, timeout)
            .await
            .map(drop)
            .map_err(|l| {
                anyhow::anyhow!(
                    "not subscribed to broker {} after {timeout:?} (last error: {})",
                    self.shared.config.broker,
                    l.last_error.as_deref().unwrap_or("none")
                )
            })
    }

    /// Wait until the broker has confirmed every downlink message published so far, e.g.
    /// before breaking the broker in a test.
    pub async fn wait_downlink_confirmed(&self, timeout: Duration) -> Result<Ledger, Ledger> {
        self.wait_until(|l| l.downlink.confirmed >= l.downlink.published, timeout)
            .await
    }

    /// Connected to the broker now.
    pub fn connected(&self) -> bool {
        self.shared.lock().link.connected
    }

    /// Stop (`true`) or resume (`false`) acknowledging: a stopped platform lets the
    /// site's outbox grow; on resume one cumulative ack per stream catches up.
    pub fn set_acks_paused(&self, paused: bool) {
        self.shared.faults.paused.store(paused, Ordering::Relaxed);
        self.shared.update(|_| ());
    }

    /// Drop this fraction (0 to 1) of acks instead of publishing them; the site's
    /// resends bring the position back.
    pub fn set_ack_drop_rate(&self, rate: f64) {
        let rate = if rate.is_nan() {
            0.0
        } else {
            rate.clamp(0.0, 1.0)
        };
        self.shared
            .faults
            .drop_rate
            .store(rate.to_bits(), Ordering::Relaxed);
        self.shared.update(|_| ());
    }

    /// The site codes served.
    pub fn sites(&self) -> &[String] {
        &self.shared.config.sites
    }

    /// The topics of one site.
    pub fn topics(&self, site: &str) -> Topics {
        self.shared.topics(site)
    }
}

/// The running platform: the handle, plus the tasks it stops.
#[derive(Debug)]
pub struct RunningPlatform {
    platform: Platform,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    /// Stops the tasks when dropped without [`RunningPlatform::stop`].
    _guard: DropGuard,
}

impl Deref for RunningPlatform {
    type Target = Platform;

    fn deref(&self) -> &Platform {
        &self.platform
    }
}

/// Check the config, read the TLS files and start connecting; the platform keeps trying
/// until it gets through (see [`Platform::wait_subscribed`]).
pub async fn start(config: PlatformConfig) -> anyhow::Result<RunningPlatform> {
    config.validate()?;
    let options = config.mqtt_options()?;
    let (client, mut eventloop) = AsyncClient::new(options, CLIENT_QUEUE);
    // As the site does: acknowledgements are small and must not wait for a delayed ACK.
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    let judge = Judge::new(&config.sites, config.keep_bodies, config.adopt_first_seq);
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            judge,
            link: LinkStatus::default(),
            downlink: DownlinkCounters::default(),
            down_seqs: BTreeMap::new(),
            signing: config.signing.clone(),
            anchors: BTreeMap::new(),
        }),
        changed: watch::Sender::new(0),
        faults: AckFaults::default(),
        send_lock: tokio::sync::Mutex::new(()),
        config,
    });
    let platform = Platform { shared, client };
    let shutdown = CancellationToken::new();
    let interval = platform.shared.config.ack_interval;
    let tasks = vec![
        tokio::spawn(link::run(eventloop, platform.clone(), shutdown.clone())),
        tokio::spawn(acks::run(platform.clone(), interval, shutdown.clone())),
    ];
    let cfg = &platform.shared.config;
    info!(broker = %cfg.broker, prefix = %cfg.prefix, sites = ?cfg.sites, client_id = %cfg.client_id,
        "platform simulator started");
    Ok(RunningPlatform {
        platform,
        _guard: shutdown.clone().drop_guard(),
        shutdown,
        tasks,
    })
}

impl RunningPlatform {
    /// A handle that outlives this borrow (for the HTTP API or other tasks).
    pub fn handle(&self) -> Platform {
        self.platform.clone()
    }

    /// Disconnect from the broker and wait for the tasks; returns the final ledger.
    pub async fn stop(self) -> Ledger {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        self.platform.ledger()
    }
}
