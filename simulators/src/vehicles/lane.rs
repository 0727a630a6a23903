//! One truck lane of the simulated site: its setup (`[[gate]]`), the running lane
//! ([`GateLaneSim`]: gate I/O, weighbridge, plate camera) and where its servers listen.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use customs_edge_devices::gate_io::GateIoMap;
use customs_edge_devices::weighbridge::WeighbridgeMap;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Tasks;
use super::camera::CameraSetup;
use super::spec::Direction;
use crate::gate_io::{self, GateSimConfig, SimGate};
use crate::plate_camera::PlateCameraSim;
use crate::weighbridge::{self, SimWeighbridge, WeighSimConfig};

/// Longest lane id.
const MAX_ID_LEN: usize = 16;

/// One gate lane of the site (`[[gate]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateLaneSetup {
    /// Lane id (`G1`, …): letters, digits and `-`, at most 16 characters.
    pub id: String,
    /// Whether trucks enter (`in`) or leave (`out`) through it.
    pub direction: Direction,
    /// Where the gate I/O serves Modbus TCP (port 0 = any free port).
    #[serde(default = "any_port")]
    pub io_listen: SocketAddr,
    /// Where the weighbridge serves Modbus TCP; absent = the lane has no weighbridge.
    #[serde(default)]
    pub weighbridge_listen: Option<SocketAddr>,
    /// Lane (channel) number the camera reports.
    #[serde(default = "one")]
    pub lane_no: u32,
    /// The plate camera pushing to the controller; absent = no camera (shots are still
    /// planned and recorded, but nothing is sent).
    #[serde(default)]
    pub camera: Option<CameraSetup>,
    /// Modbus unit id of the gate I/O.
    #[serde(default = "one_u8")]
    pub io_unit_id: u8,
    /// First holding register of the gate I/O's status block.
    #[serde(default)]
    pub io_status_base: u16,
    /// First holding register of the gate I/O's command block.
    #[serde(default = "default_io_command_base")]
    pub io_command_base: u16,
    /// Modbus unit id of the weighbridge indicator.
    #[serde(default = "one_u8")]
    pub weighbridge_unit_id: u8,
    /// First holding register of the weighbridge's status block.
    #[serde(default)]
    pub weighbridge_status_base: u16,
    /// How long things take on this lane.
    #[serde(default)]
    pub timing: LaneTiming,
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}
fn one() -> u32 {
    1
}
fn one_u8() -> u8 {
    1
}
fn default_io_command_base() -> u16 {
    GateIoMap::default().command_base
}

/// How long things take on a lane, in ms (`[gate.timing]`; absent keys take the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LaneTiming {
    /// Barrier travel from closed to open (and back). Default 3000.
    pub barrier_travel_ms: u64,
    /// Weighbridge settling after a vehicle drives on. Default 2000.
    pub settle_ms: u64,
    /// Without a weighbridge: time from arrival to the first camera event. Default 500.
    pub camera_delay_ms: u64,
    /// Between two camera events of one vehicle. Default 50.
    pub shot_gap_ms: u64,
    /// How long a vehicle waits for the barrier to be fully open before it backs off
    /// (`held`). Default 30000.
    pub patience_ms: u64,
    /// From the barrier fully open to the vehicle on the loop after it. Default 1000.
    pub to_barrier_ms: u64,
    /// The vehicle covers both loops for this long before leaving the first. Default 1000.
    pub both_loops_ms: u64,
    /// From leaving the loop before the barrier to leaving the loop after it. Default 1000.
    pub clear_ms: u64,
    /// From a lane clear to the next vehicle driving up. Default 1000.
    pub headway_ms: u64,
    /// The next vehicle waits up to this long for the barrier to close before driving
    /// up anyway. Default 15000.
    pub closed_wait_ms: u64,
    /// How often a waiting vehicle looks at the barrier, the LED and the weighbridge.
    /// Default 20.
    pub poll_ms: u64,
}

impl Default for LaneTiming {
    fn default() -> Self {
        Self {
            barrier_travel_ms: 3_000,
            settle_ms: 2_000,
            camera_delay_ms: 500,
            shot_gap_ms: 50,
            patience_ms: 30_000,
            to_barrier_ms: 1_000,
            both_loops_ms: 1_000,
            clear_ms: 1_000,
            headway_ms: 1_000,
            closed_wait_ms: 15_000,
            poll_ms: 20,
        }
    }
}

impl GateLaneSetup {
    /// Lane `id` in `direction` on free ports, with a weighbridge, no camera and the
    /// default registers and timing.
    pub fn new(id: impl Into<String>, direction: Direction) -> Self {
        Self {
            id: id.into(),
            direction,
            io_listen: any_port(),
            weighbridge_listen: Some(any_port()),
            lane_no: 1,
            camera: None,
            io_unit_id: 1,
            io_status_base: 0,
            io_command_base: default_io_command_base(),
            weighbridge_unit_id: 1,
            weighbridge_status_base: 0,
            timing: LaneTiming::default(),
        }
    }

    /// Where the gate I/O's registers are.
    pub fn io_map(&self) -> GateIoMap {
        GateIoMap {
            unit_id: self.io_unit_id,
            status_base: self.io_status_base,
            command_base: self.io_command_base,
        }
    }

    /// Where the weighbridge's registers are.
    pub fn weighbridge_map(&self) -> WeighbridgeMap {
        WeighbridgeMap {
            unit_id: self.weighbridge_unit_id,
            status_base: self.weighbridge_status_base,
        }
    }

    /// Every problem of this lane, one message each (without a path).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let id_ok = |c: char| c.is_ascii_alphanumeric() || c == '-';
        if self.id.is_empty() || self.id.len() > MAX_ID_LEN || !self.id.chars().all(id_ok) {
            out.push(format!(
                "id {:?} must be 1 to {MAX_ID_LEN} letters, digits or '-'",
                self.id
            ));
        }
        out.extend(
            self.io_map()
                .problems()
                .into_iter()
                .map(|p| format!("io: {p}")),
        );
        out.extend(
            (self.weighbridge_map().problems().into_iter()).map(|p| format!("weighbridge: {p}")),
        );
        if let Some(wb) = self.weighbridge_listen
            && wb == self.io_listen
            && wb.port() != 0
        {
            out.push(format!("weighbridge_listen and io_listen are both {wb}"));
        }
        if let Some(camera) = &self.camera {
            out.extend(
                camera
                    .problems()
                    .into_iter()
                    .map(|p| format!("camera: {p}")),
            );
        }
        let t = &self.timing;
        if t.barrier_travel_ms == 0 {
            out.push("timing.barrier_travel_ms must be greater than 0".to_owned());
        }
        if !(1..=1_000).contains(&t.poll_ms) {
            out.push(format!(
                "timing.poll_ms must be 1..=1000, got {}",
                t.poll_ms
            ));
        }
        if t.patience_ms == 0 {
            out.push("timing.patience_ms must be greater than 0".to_owned());
        }
        out
    }
}

/// A running gate lane: the devices a vehicle drives through, as `Clone` handles.
#[derive(Debug, Clone)]
pub struct GateLaneSim {
    /// Lane id.
    pub id: String,
    /// Which way it goes.
    pub direction: Direction,
    /// The gate I/O: loops, barrier, LED, and its ground truth.
    pub gate: SimGate,
    /// The weighbridge, when the lane has one.
    pub weighbridge: Option<SimWeighbridge>,
    /// The plate camera, when the lane has one.
    pub camera: Option<PlateCameraSim>,
    /// Lane (channel) number the camera reports.
    pub lane_no: u32,
    /// How long things take on it.
    pub timing: LaneTiming,
    /// The Tokio instant of the gate's time zero (its events are times since then).
    epoch: Instant,
}

impl GateLaneSim {
    /// The Tokio instant of a gate time (as in [`crate::gate_io::BarrierEvent::at`]).
    pub fn gate_instant(&self, at: Duration) -> Instant {
        self.epoch + at
    }
}

/// Where one running lane's devices are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateLaneAddrs {
    /// Lane id.
    pub id: String,
    /// Which way it goes.
    pub direction: Direction,
    /// Lane (channel) number.
    pub lane_no: u32,
    /// The gate I/O (Modbus TCP).
    pub io: SocketAddr,
    /// The weighbridge (Modbus TCP), when the lane has one.
    pub weighbridge: Option<SocketAddr>,
    /// Where its camera posts, when it has one.
    pub camera_url: Option<String>,
    /// How its camera authenticates, when it has one (the controller must expect the same).
    pub camera_auth: Option<crate::plate_camera::CameraAuth>,
}

async fn bind(addr: SocketAddr, what: String) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for the {what} on {addr}"))?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Bind lane `setup`'s gate I/O and weighbridge, spawn their servers into `tasks` (they
/// stop on `shutdown`), and make its camera. `seed` is the weighbridge noise's.
pub async fn start_lane(
    setup: &GateLaneSetup,
    seed: u64,
    shutdown: &CancellationToken,
    tasks: &mut Tasks,
) -> anyhow::Result<(GateLaneSim, GateLaneAddrs)> {
    let id = &setup.id;
    let timing = setup.timing;
    let (io_listener, io) = bind(setup.io_listen, format!("{id} gate I/O")).await?;
    let gate = SimGate::new(GateSimConfig {
        travel_time: Duration::from_millis(timing.barrier_travel_ms),
    });
    // The gate's clock started at `SimGate::new`; read it back to map its event times.
    let epoch = gate.with(|_, now| Instant::now() - now);
    let (g, map, s) = (gate.clone(), setup.io_map(), shutdown.clone());
    tasks.spawn(async move {
        let result = gate_io::run(io_listener, g, map, s).await;
        ("gate I/O", result.map_err(Into::into))
    });
    let (weighbridge, wb_addr) = match setup.weighbridge_listen {
        Some(addr) => {
            let (listener, local) = bind(addr, format!("{id} weighbridge")).await?;
            let scale = SimWeighbridge::new(WeighSimConfig {
                settle_time: Duration::from_millis(timing.settle_ms),
                seed,
                ..WeighSimConfig::default()
            });
            let (w, map, s) = (scale.clone(), setup.weighbridge_map(), shutdown.clone());
            tasks.spawn(async move {
                let result = weighbridge::run(listener, w, map, s).await;
                ("weighbridge", result.map_err(Into::into))
            });
            (Some(scale), Some(local))
        }
        None => (None, None),
    };
    let camera = setup.camera.as_ref().map(|c| c.camera(id));
    let addrs = GateLaneAddrs {
        id: id.clone(),
        direction: setup.direction,
        lane_no: setup.lane_no,
        io,
        weighbridge: wb_addr,
        camera_url: setup.camera.as_ref().map(|c| c.url.clone()),
        camera_auth: setup.camera.as_ref().map(|c| c.auth),
    };
    let lane = GateLaneSim {
        id: id.clone(),
        direction: setup.direction,
        gate,
        weighbridge,
        camera,
        lane_no: setup.lane_no,
        timing,
        epoch,
    };
    Ok((lane, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_gate_takes_the_defaults() {
        let g: GateLaneSetup = toml::from_str(
            r#"
            id = "G1"
            direction = "out"
            io_listen = "127.0.0.1:0"
            [timing]
            patience_ms = 5000
            "#,
        )
        .unwrap();
        assert_eq!(g.direction, Direction::Out);
        assert_eq!(g.weighbridge_listen, None);
        assert_eq!(g.timing.patience_ms, 5_000);
        assert_eq!(g.timing.poll_ms, LaneTiming::default().poll_ms);
        assert!(g.problems().is_empty(), "{:?}", g.problems());
    }

    #[test]
    fn bad_ids_maps_and_timings_are_named() {
        let mut g = GateLaneSetup::new("G 1", Direction::In);
        g.io_command_base = 2;
        g.timing.poll_ms = 0;
        assert_eq!(g.problems().len(), 3, "{:?}", g.problems());
    }
}
