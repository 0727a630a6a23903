//! The simulated site: lines, gate lanes, video cameras, a Mosquitto and the platform
//! simulator, all in this process; and the controller's config pointing at them.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context as _;
use customs_edge::config::{self, CameraConfig, GateConfig};
use customs_edge::demo::gate_lanes::{controller_lanes, fleet, permits_for, sim_lanes};
use customs_edge::store::{Store, downlink, manifests, now};
use customs_edge_protocol::downlink::ExitPermit;
use customs_edge_simulators::broker::{Broker, BrokerOptions};
use customs_edge_simulators::onvif::{self, OnvifCameraConfig, RunningCamera};
use customs_edge_simulators::platform::bulk::synthetic_lists;
use customs_edge_simulators::platform::{self, PlatformConfig, RunningPlatform};
use customs_edge_simulators::vehicles::{
    GateReport, LaneTiming, Traffic, TrafficOptions, VehicleSpec,
};
use customs_edge_simulators::{
    CodeSpec, GeneratorConfig, LaneKind, LineConfig as SimLine, LineSetup, Report, RunningSim,
    SimConfig,
};
use tokio_util::sync::CancellationToken;

use crate::{Load, SITE};

/// The video cameras' password (Digest).
const CAMERA_PASSWORD: &str = "bench-Cam#1";
/// The plate cameras' password.
const PLATE_PASSWORD: &str = "bench-plate-secret";
/// The parcels' waybills are `SIM` + 12 digits from here; the ingested lists count from 0.
const FIRST_PARCEL_LIST: u64 = 900_000_000_000;

/// Everything simulated, running.
pub(crate) struct Sim {
    shutdown: CancellationToken,
    /// The runtime the lines and gate lanes run on.
    devices: SideRuntime,
    /// The runtime the platform simulator and the cameras run on.
    peers: SideRuntime,
    lines: RunningSim,
    cameras: Vec<RunningCamera>,
    broker: Broker,
    platform: RunningPlatform,
    plate_listen: SocketAddr,
    fleet: Mutex<Option<Vec<VehicleSpec>>>,
    permits: Vec<ExitPermit>,
    xray_root: PathBuf,
    /// Messages in the controller's outbox at start.
    backlog: u64,
    /// The backlog's drain rate, taken when the last backlogged message was applied.
    drain_rate: Mutex<Option<f64>>,
}

/// Start the simulated site for `load`; X-ray images go to /dev/shm when it is there.
pub(crate) async fn start(load: &Load, work: &Path) -> anyhow::Result<Sim> {
    let shutdown = CancellationToken::new();
    // Started from a thread at background priority, which Mosquitto inherits: the
    // platform's broker is another machine on a site.
    let broker = std::thread::spawn(|| {
        customs_edge::cpu_priority::background();
        Broker::try_start(BrokerOptions::default())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("starting Mosquitto panicked"))?
    .map_err(|e| anyhow::anyhow!("starting Mosquitto: {e}"))?;
    // The platform simulator and the cameras' streams stand in for other machines and
    // judge no latency: they run at background priority, so on this box they take the CPU
    // the controller (at the process's priority, a child of the main thread) leaves, as
    // Mosquitto does. The judges run at the process's priority: the lines' and gates'
    // devices (below) and the consoles (this process's main runtime).
    let peers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("sim-peers")
        .on_thread_start(customs_edge::cpu_priority::background)
        .enable_all()
        .build()
        .map(|rt| SideRuntime(Some(rt)))?;
    let mut platform_config = PlatformConfig::new(broker.url(), &[SITE]);
    // A million messages: count them, do not keep them.
    platform_config.keep_bodies = 0;
    let platform = peers
        .handle()
        .spawn(platform::start(platform_config))
        .await?
        .context("starting the platform simulator")?;

    let shm = Path::new("/dev/shm");
    let xray_root = tempfile::Builder::new()
        .prefix("site-bench-xray-")
        .tempdir_in(if shm.is_dir() { shm } else { work })?
        .keep();
    let every = Duration::from_secs_f64(1.0 / load.rate_per_s.max(0.01));
    let codes = parcel_codes(load.parcels() + (load.lines as u64) * 10);
    let plate_listen = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let lanes = sim_lanes(
        load.gates,
        plate_listen,
        PLATE_PASSWORD,
        LaneTiming::default(),
    );
    let per_lane = load.seconds.div_ceil(load.truck_every_s.max(1)) as u32;
    let fleet = fleet(&lanes, per_lane, load.truck_every_s * 1000, 2026);
    let permits = permits_for(&fleet);
    let sim_config = SimConfig {
        lines: (1..=load.lines)
            .map(|n| LineSetup {
                line: sim_line(load),
                ..LineSetup::numbered(n)
            })
            .collect(),
        xray_root: Some(xray_root.clone()),
        generator: Some(GeneratorConfig {
            every,
            codes,
            unique_codes: true,
            lengths_mm: 200..=400,
            duration: Some(Duration::from_secs(load.seconds)),
            wait_for_clients: true,
            ..GeneratorConfig::default()
        }),
        gates: lanes,
        traffic: TrafficOptions {
            wait_for_controller: true,
            ..TrafficOptions::default()
        },
        ..SimConfig::default()
    };
    // The lines' PLCs and the gates' devices answer on a runtime of their own, as devices
    // on their own hardware do: on this process's two workers their Modbus answers (where
    // the lines' and gates' latencies are judged) waited behind the 50 consoles' streams,
    // the cameras and the platform simulator, and the bench charged that to the controller.
    let devices = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("sim-devices")
        .enable_all()
        .build()
        .map(|rt| SideRuntime(Some(rt)))?;
    let site = devices
        .handle()
        .spawn(customs_edge_simulators::start(sim_config, shutdown.clone()))
        .await?
        .context("starting the simulated lines and gates")?;

    let mut cameras = Vec::new();
    for i in 0..load.cameras {
        let config = OnvifCameraConfig {
            password: CAMERA_PASSWORD.to_owned(),
            discovery: false,
            rtsp: false,
            ..OnvifCameraConfig::sized(format!("site-bench-{i}"), 1280, 720, 10)
        };
        cameras.push(
            peers
                .handle()
                .spawn(onvif::start(config, shutdown.clone()))
                .await??,
        );
    }
    Ok(Sim {
        shutdown,
        devices,
        peers,
        lines: site,
        cameras,
        broker,
        platform,
        plate_listen,
        fleet: Mutex::new(Some(fleet)),
        permits,
        xray_root,
        backlog: load.backlog,
        drain_rate: Mutex::new(None),
    })
}

/// A sorter belt: 2 m/s, so two parcels a second with gaps leave the feeder no queue.
fn sim_line(load: &Load) -> SimLine {
    SimLine {
        belt_speed_mm_s: load.belt_mm_s,
        ..SimLine::default()
    }
}

/// `n` waybills with released lists, weighing what their lists declare.
fn parcel_codes(n: u64) -> Vec<CodeSpec> {
    synthetic_lists(SITE, FIRST_PARCEL_LIST, n)
        .map(|list| CodeSpec {
            code: list.logistics_no,
            expect: Some(LaneKind::Release),
            weight_kg: list.gross_weight,
        })
        .collect()
}

impl Sim {
    /// The parcels' lists and the trucks' permits, as the platform would have sent them.
    pub(crate) async fn seed(&self, store: &Store, parcels: u64) -> anyhow::Result<()> {
        let n = parcels + self.lines.lines.len() as u64 * 10;
        let permits = self.permits.clone();
        store
            .writer
            .write(move |tx| {
                let at = now();
                for list in synthetic_lists(SITE, FIRST_PARCEL_LIST, n) {
                    manifests::upsert(tx, &list, "site-bench", &at)?;
                }
                for permit in &permits {
                    downlink::upsert_permit(tx, permit, &at)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// The controller's config for this site, as TOML, checked by the controller's parser.
    pub(crate) fn controller_config(&self, load: &Load, data: &Path) -> anyhow::Result<String> {
        let line_setup = sim_line(load);
        let mut text = format!(
            "[site]\ncode = \"{SITE}\"\n\n[storage]\ndata_dir = {}\n\n[web]\nlisten = \"127.0.0.1:0\"\n\n\
             [plate_events]\nlisten = \"{}\"\n\n[platform]\nbroker = \"{}\"\nstats_interval_s = 60\n",
            toml_path(data),
            self.plate_listen,
            self.broker.url(),
        );
        for line in &self.lines.lines {
            let xray = line
                .xray_dir
                .as_ref()
                .context("the lines write X-ray views")?;
            write!(
                text,
                "\n[[lines]]\nid = \"{}\"\n\
                 [lines.plc]\naddress = \"{}\"\npoll_interval_ms = 10\n\
                 [[lines.scanners]]\nname = \"top\"\naddress = \"{}\"\n\
                 [[lines.scanners]]\nname = \"side\"\naddress = \"{}\"\n\
                 [lines.geometry]\nscale_at_mm = {}\nscanner_at_mm = {}\nxray_at_mm = {}\n\
                 diverter_at_mm = {}\nscan_window_mm = 200\n\
                 [lines.xray]\ndir = {}\nviews = {}\nwindow_s = 10\n\
                 [lines.decision]\nmode = \"when_complete\"\nlead_ms = 100\n",
                line.id,
                line.plc,
                line.top,
                line.side,
                line_setup.scale_at_mm,
                line_setup.scanner_at_mm,
                line_setup.xray_at_mm,
                line_setup.diverter_at_mm,
                toml_path(xray),
                line_setup.xray_views,
            )?;
        }
        let password_file = data.join("camera-passwords");
        std::fs::create_dir_all(&password_file)?;
        let plate_password = password_file.join("plate");
        let video_password = password_file.join("video");
        std::fs::write(&plate_password, PLATE_PASSWORD)?;
        std::fs::write(&video_password, CAMERA_PASSWORD)?;
        let (gates, mut cameras) = controller_lanes(&self.lines.gates, &plate_password);
        for (i, camera) in self.cameras.iter().enumerate() {
            cameras.push(CameraConfig {
                username: Some("admin".into()),
                password_file: Some(video_password.clone()),
                points: vec![video_point(i, load, &gates)],
                ..CameraConfig::with_stream(
                    &format!("35000011101320502{:03}", i + 1),
                    &format!("视频 {}", i + 1),
                    &camera.stream_url(),
                )
            });
        }
        text += "\n";
        text += &toml::to_string(&Devices { gates, cameras })?;
        config::parse(&text, Path::new("site-bench.toml"))
            .map_err(|e| anyhow::anyhow!("the bench's own config is invalid: {e}"))?;
        Ok(text)
    }

    /// Queue the trucks, once the controller runs (each lane waits for it anyway).
    pub(crate) fn queue_trucks(&self) -> anyhow::Result<()> {
        let fleet = self.fleet.lock().unwrap().take().unwrap_or_default();
        if let Some(traffic) = self.lines.traffic() {
            traffic.queue_all(fleet)?;
        }
        Ok(())
    }

    /// Publish `n` declaration lists downlink, 1000 to a message, as fast as the link takes
    /// them; the task's result is the publishing rate.
    pub(crate) fn ingest(&self, n: u64) -> tokio::task::JoinHandle<anyhow::Result<f64>> {
        let platform = self.platform.handle();
        tokio::spawn(async move {
            let done = platform
                .publish_lists_from(SITE, synthetic_lists(SITE, 0, n), 1000, None, |_| {})
                .await?;
            Ok(done.rate_per_s())
        })
    }

    /// Backlog messages the platform applied so far (the decisions stream's sequence
    /// reached); keeps the drain rate when the backlog is through.
    pub(crate) fn drained(&self) -> u64 {
        let ledger = self.platform.ledger();
        let Some(stream) = ledger
            .sites
            .get(SITE)
            .and_then(|s| s.streams.get("decisions"))
        else {
            return 0;
        };
        let mut rate = self.drain_rate.lock().unwrap();
        if rate.is_none() && stream.last_applied >= self.backlog {
            *rate = stream.drain_rate_per_s;
        }
        stream.last_applied
    }

    /// Messages per second the platform applied while the backlog drained.
    pub(crate) fn drain_rate(&self) -> f64 {
        self.drain_rate.lock().unwrap().unwrap_or(f64::NAN)
    }

    /// Whether the lines' run is over (fed for its time, every parcel dropped) and every
    /// truck is through.
    pub(crate) fn finished(&self) -> bool {
        let trucks_done = self.lines.traffic().is_none_or(|t| {
            let totals = t.report().totals;
            totals.done >= totals.vehicles
        });
        self.lines.site().finished().is_cancelled() && trucks_done
    }

    /// Parcels dropped into a lane so far.
    pub(crate) fn parcels_dropped(&self) -> u64 {
        self.lines
            .site()
            .report(None, false)
            .map_or(0, |r| r.summary.dropped)
    }

    /// Trucks through their lane so far.
    pub(crate) fn trucks_done(&self) -> u64 {
        self.lines.traffic().map_or(0, |t| t.report().totals.done)
    }

    /// The lines' ground truth.
    pub(crate) fn line_report(&self) -> Report {
        self.lines.report()
    }

    /// The gates' ground truth (none without gate lanes).
    pub(crate) fn gate_report(&self) -> Option<GateReport> {
        self.lines.traffic().map(Traffic::report)
    }

    /// Stop everything and remove the X-ray images.
    pub(crate) async fn stop(self) {
        self.shutdown.cancel();
        self.lines.stop();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.lines.wait()).await;
        drop(self.devices);
        self.platform.stop().await;
        drop(self.cameras);
        drop(self.peers);
        drop(self.broker);
        let _ = std::fs::remove_dir_all(&self.xray_root);
    }
}

/// A runtime of the simulators' own; dropped, it lets its threads go without waiting for
/// them (a runtime dropped in async code, as on an error's way out, would panic).
pub(crate) struct SideRuntime(Option<tokio::runtime::Runtime>);

impl SideRuntime {
    fn handle(&self) -> &tokio::runtime::Handle {
        self.0.as_ref().expect("until dropped").handle()
    }
}

impl Drop for SideRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The controller's `[[gates]]` and `[[cameras]]`, as TOML.
#[derive(serde::Serialize)]
struct Devices {
    gates: Vec<GateConfig>,
    cameras: Vec<CameraConfig>,
}

/// `path` as a TOML string.
fn toml_path(path: &Path) -> String {
    toml::Value::String(path.display().to_string()).to_string()
}

/// Where video camera `i` looks: first each line's decision point, then each gate lane,
/// then the lines' X-ray exits in turn.
fn video_point(i: usize, load: &Load, gates: &[GateConfig]) -> String {
    if i < load.lines {
        format!("line:L{}:decision", i + 1)
    } else if let Some(gate) = gates.get(i - load.lines) {
        format!("gate:{}", gate.id)
    } else {
        format!("line:L{}:xray_exit", i % load.lines.max(1) + 1)
    }
}
