//! Truck gates: the plate-camera listener and one gate loop per lane.
//!
//! - [`camera`] — the HTTP listener plate cameras push their events to (Basic or Digest
//!   auth per camera, Hikvision and Dahua forms); each accepted read becomes a
//!   [`PlateEvent`] for the lane its camera watches, its images kept as evidence.
//! - [`machine`] — one lane as a state machine without I/O, from a truck on the loop to
//!   the barrier closed behind it, with every step timed out.
//! - [`lane`] — one task per lane: polls its devices, hears its camera and operators,
//!   feeds the machine and carries out what it asks (store first, then the barrier).
//! - [`verdict`] — the pure rules: exit permit, weight tolerance, the LED's Chinese text;
//!   and what a recorded pass was (released, refused, override).
//! - [`permit`] and [`arrival`] — what the platform sends a gate to check a truck
//!   against: exit permits and their statuses, and the bills an arriving truck brings.
//! - [`view`] — each lane live, for the consoles and `GET /api/gates`.
//!
//! [`start`] binds the listener and spawns the lanes; the [`Gates`] handle it returns is
//! what the web API uses to show lanes and pass operator overrides to them.

pub mod arrival;
pub mod camera;
pub mod lane;
pub mod load;
pub mod machine;
pub mod permit;
pub mod verdict;
pub mod view;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use customs_edge_devices::plate::{PlateLimits, PlateRead};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, GateConfig, GateDirection};
use crate::health::Health;
use crate::listen::Server;
use crate::store::Store;
use crate::supervisor::Supervisor;
use customs_edge_devices::gate_io::GateIo;
use customs_edge_devices::resolve::resolve_retrying;
use customs_edge_devices::weighbridge::Weighbridge;
use lane::{LaneChannels, LaneCommand, LaneTask};
use verdict::Tolerance;
use view::LaneView;

/// A plate read accepted by the camera listener, on its way to the lane's gate loop.
#[derive(Debug, Clone)]
pub struct PlateEvent {
    /// The read. Its `images` are emptied: they were kept as evidence, see `evidence`.
    pub read: PlateRead,
    /// The read's images as stored evidence, in the order the camera sent them.
    pub evidence: Vec<EvidenceRef>,
    /// When the listener received the request (monotonic), for latency figures.
    pub received: Instant,
}

/// An image kept in the evidence store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceRef {
    /// Row id in the `evidence` table.
    pub id: i64,
    /// SHA-256 of the content, lower-case hex.
    pub sha256: String,
}

/// A lane's config with the site it belongs to, and its timings as durations.
#[derive(Debug, Clone)]
pub struct LaneSettings {
    /// The lane's config.
    pub config: GateConfig,
    /// Site code (loctNo).
    pub site: String,
}

impl LaneSettings {
    /// Whether trucks leave through this lane (and need a permit).
    pub fn is_exit(&self) -> bool {
        self.config.direction() == GateDirection::Out
    }
    /// Whether the lane has a weighbridge (an exit waits for its weight to settle).
    pub fn has_weighbridge(&self) -> bool {
        self.config.weighbridge_address.is_some()
    }
    /// How long the plate reads may take to agree.
    pub fn plate_wait(&self) -> Duration {
        Duration::from_secs_f64(self.config.plate_wait_s)
    }
    /// How long the weighbridge may take to settle.
    pub fn weight_wait(&self) -> Duration {
        Duration::from_secs_f64(self.config.weight_wait_s)
    }
    /// How long the barrier may take to move.
    pub fn barrier_move(&self) -> Duration {
        Duration::from_secs_f64(self.config.barrier_move_s)
    }
    /// How long an open barrier waits for the truck.
    pub fn pass_wait(&self) -> Duration {
        Duration::from_secs_f64(self.config.pass_wait_s)
    }
    /// Weight tolerance against the permit.
    pub fn tolerance(&self) -> Tolerance {
        Tolerance {
            abs_kg: self.config.weight_abs_kg,
            pct: self.config.weight_pct,
        }
    }
}

/// One running lane, as the API reaches it.
#[derive(Debug, Clone)]
struct LaneHandle {
    commands: mpsc::Sender<LaneCommand>,
    view: watch::Receiver<LaneView>,
}

/// The running gates: lane views, overrides, and the camera listener's counters.
#[derive(Debug, Clone)]
pub struct Gates {
    lanes: Arc<BTreeMap<String, LaneHandle>>,
    /// The camera listener's counters.
    pub cameras: Arc<camera::CameraStats>,
    /// Where the camera listener listens.
    pub camera_addr: SocketAddr,
    operators: Arc<Vec<crate::config::OperatorConfig>>,
}

/// Why an override was not done.
#[derive(Debug, thiserror::Error)]
pub enum OverrideError {
    /// No such lane.
    #[error("no gate lane {0:?}")]
    UnknownLane(String),
    /// The lane cannot take an override now (no truck, barrier already open).
    #[error("{0}")]
    NotNow(String),
    /// The lane's task is gone (shutting down).
    #[error("gate lane {0} is not running")]
    Stopped(String),
}

impl Gates {
    /// Every lane, live.
    pub fn views(&self) -> Vec<LaneView> {
        self.lanes
            .values()
            .map(|l| l.view.borrow().clone())
            .collect()
    }

    /// A receiver per lane that sees each change of its view (live consoles).
    pub fn watch_views(&self) -> Vec<watch::Receiver<LaneView>> {
        self.lanes.values().map(|l| l.view.clone()).collect()
    }

    /// The operator whose token this is, if any (compared by SHA-256).
    pub fn operator_for_token(&self, token: &str) -> Option<String> {
        let presented = crate::config::OperatorConfig::with_token("", token).token_sha256;
        self.operators
            .iter()
            .find(|o| o.token_sha256.eq_ignore_ascii_case(&presented))
            .map(|o| o.name.clone())
    }

    /// Open lane `gate` for the truck on it; returns the override's pass id.
    pub async fn override_open(
        &self,
        gate: &str,
        actor: String,
        reason: String,
    ) -> Result<i64, OverrideError> {
        let lane = self
            .lanes
            .get(gate)
            .ok_or_else(|| OverrideError::UnknownLane(gate.to_owned()))?;
        let (reply, answer) = oneshot::channel();
        lane.commands
            .send(LaneCommand::Override {
                actor,
                reason,
                reply,
            })
            .await
            .map_err(|_| OverrideError::Stopped(gate.to_owned()))?;
        answer
            .await
            .map_err(|_| OverrideError::Stopped(gate.to_owned()))?
            .map_err(OverrideError::NotNow)
    }
}

/// Bind the camera listener (holding at most `max_connections`) and spawn one loop per
/// lane, each under the supervisor; `None` without gates.
pub async fn start(
    config: &Config,
    store: &Store,
    health: &Health,
    video: Option<&crate::video::VideoHub>,
    max_connections: u32,
    tasks: &mut Supervisor,
) -> anyhow::Result<Option<Gates>> {
    if config.gates.is_empty() {
        return Ok(None);
    }
    let mut lanes = BTreeMap::new();
    let mut endpoints = Vec::new();
    for gate in &config.gates {
        let (plates_tx, plates_rx) = mpsc::channel(64);
        let (commands_tx, commands_rx) = mpsc::channel(8);
        let (view_tx, view_rx) = watch::channel(LaneView {
            gate: gate.id.clone(),
            direction: gate.direction().as_str().to_owned(),
            ..LaneView::default()
        });
        if let Some(camera_id) = &gate.plate_camera {
            let camera = config
                .cameras
                .iter()
                .find(|c| &c.id == camera_id)
                .with_context(|| {
                    format!(
                        "gates {:?}: plate camera {camera_id:?} is not in cameras",
                        gate.id
                    )
                })?;
            let credentials = camera.credentials().map_err(anyhow::Error::msg)?;
            if camera.plate_auth == crate::config::PlateAuth::Basic
                && config.plate_events.basic_in_clear()
            {
                tracing::warn!(camera = %camera.id, listen = %config.plate_events.listen,
                    "plate camera posts with Basic over plain HTTP (allow_basic_without_tls): \
                     its password crosses the network in clear with every post");
            }
            endpoints.push(camera::CameraEndpoint {
                id: camera.id.clone(),
                username: credentials.username,
                password: credentials.password,
                auth: camera.plate_auth,
                lane: plates_tx,
            });
        }
        let lane = LaneParts {
            settings: LaneSettings {
                config: gate.clone(),
                site: config.site.code.clone(),
            },
            store: store.for_control(),
            health: health.clone(),
            view: view_tx,
            video: video.cloned(),
            inbox: Arc::new(tokio::sync::Mutex::new((plates_rx, commands_rx))),
        };
        tasks.spawn_control(format!("gate {}", gate.id), move |token| {
            lane.clone().run(token)
        });
        lanes.insert(
            gate.id.clone(),
            LaneHandle {
                commands: commands_tx,
                view: view_rx,
            },
        );
    }
    let listen: SocketAddr = config
        .plate_events
        .listen
        .parse()
        .context("plate_events.listen")?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (plate_events.listen)"))?;
    let stats = Arc::new(camera::CameraStats::default());
    let limits = PlateLimits {
        max_body_bytes: usize::try_from(config.plate_events.max_body_kb * 1024)
            .unwrap_or(usize::MAX),
        max_image_bytes: usize::try_from(config.plate_events.max_image_kb * 1024)
            .unwrap_or(usize::MAX),
        ..PlateLimits::default()
    };
    let evidence = crate::evidence::EvidenceStore::new(&config.storage.data_dir);
    let tls = match &config.plate_events.tls {
        Some(tls) => Some(
            crate::listen::tls::load(&tls.cert_file, &tls.key_file)
                .map_err(|e| anyhow::anyhow!("plate_events.tls: {e}"))?,
        ),
        None => None,
    };
    let options = camera::Options {
        limits,
        auth_limits: config.plate_events.auth_limits.clone(),
        tls: tls.clone(),
    };
    let router = camera::router(endpoints, store.clone(), evidence, options, stats.clone())?;
    let mut server = Server::new(
        "plate_events",
        listener,
        router,
        &config.plate_events.limits,
        max_connections,
    );
    if let Some(tls) = tls {
        server = server.with_tls(tls);
    }
    let camera_addr = server.local_addr()?;
    tasks.spawn("plate camera listener", move |token| {
        server.clone().run(token)
    });
    tracing::info!(%camera_addr, lanes = lanes.len(), "gates started");
    Ok(Some(Gates {
        lanes: Arc::new(lanes),
        cameras: stats,
        camera_addr,
        operators: Arc::new(config.operators.clone()),
    }))
}

/// What a lane's task is made of, kept across its restarts: a run that fails is replaced
/// by a new one over new device links, fed from the same plate and command queues (the
/// camera listener and the API keep their senders).
#[derive(Clone)]
struct LaneParts {
    settings: LaneSettings,
    store: Store,
    health: Health,
    view: watch::Sender<LaneView>,
    video: Option<crate::video::VideoHub>,
    /// The lane's queues; a run holds them while it runs.
    inbox: Arc<tokio::sync::Mutex<(mpsc::Receiver<PlateEvent>, mpsc::Receiver<LaneCommand>)>>,
}

impl LaneParts {
    /// One run of the lane: its task, fed from the lane's queues through queues of its own
    /// (the task takes its receivers for good), until shutdown or until it fails.
    async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let gate = &self.settings.config;
        let timeout = Duration::from_millis(gate.io_timeout_ms);
        // Resolved here, retried until they resolve: a device name the site's DNS cannot
        // answer yet holds this lane (its barrier untouched), never the controller.
        let io = resolve_retrying(&gate.io_address, &shutdown).await?;
        let weighbridge = match &gate.weighbridge_address {
            Some(a) => Some(resolve_retrying(a, &shutdown).await?),
            None => None,
        };
        let link = lane::DeviceLink::new(
            &gate.id,
            GateIo::new(io, gate.io_map(), timeout),
            weighbridge.map(|a| Weighbridge::new(a, gate.weighbridge_map(), timeout)),
            self.health.clone(),
        );
        let mut inbox = self.inbox.lock().await;
        let (plates_tx, plates) = mpsc::channel(1);
        let (commands_tx, commands) = mpsc::channel(1);
        let channels = LaneChannels {
            plates,
            commands,
            view: self.view.clone(),
            video: self.video.clone(),
        };
        let task = LaneTask::new(self.settings.clone(), link, self.store.clone(), channels);
        let (plates_in, commands_in) = &mut *inbox;
        let relay = async {
            loop {
                tokio::select! {
                    Some(event) = plates_in.recv() => {
                        if plates_tx.send(event).await.is_err() { break; }
                    }
                    Some(command) = commands_in.recv() => {
                        if commands_tx.send(command).await.is_err() { break; }
                    }
                    else => break,
                }
            }
            // Nothing more to relay: let the lane run on until it ends.
            std::future::pending::<()>().await;
        };
        tokio::select! {
            ran = task.run(shutdown) => ran,
            () = relay => Ok(()),
        }
    }
}
