//! What a simulated site is made of: [`SimConfig`] with one [`LineSetup`] per line, and
//! its truck gate lanes with their vehicles.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::scanner::Framing;

use crate::conveyor::LineConfig;
use crate::generator::GeneratorConfig;
use crate::scenario::Scenario;
use crate::vehicles::{GateLaneSetup, TrafficOptions, VehicleSpec};
use crate::xray::ImageSize;

/// Longest line id: it goes into X-ray file names and log fields.
const MAX_ID_LEN: usize = 16;

/// Everything about a simulated site.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// The lines, each with its own PLC, two scanners and X-ray directory.
    pub lines: Vec<LineSetup>,
    /// Where the HTTP API listens (one for all lines; port 0 = any free port).
    pub http_listen: SocketAddr,
    /// The PLC scan cycle: how often every line advances.
    pub tick: Duration,
    /// Root of the X-ray image directories: line `L1` writes into `<xray_root>/L1`
    /// (created at start). `None` = the lines have no X-ray (status bit "X-ray running"
    /// is 0 and no images are written).
    pub xray_root: Option<PathBuf>,
    /// Size of the X-ray images.
    pub xray_image: ImageSize,
    /// Inject random parcels into every line on a timer, if set.
    pub generator: Option<GeneratorConfig>,
    /// Play a scenario, if set. Its `[line]` table, if any, replaces every line's
    /// geometry; its `[[gate]]`, `[[vehicle]]` and `[traffic]` join the ones below.
    pub scenario: Option<Scenario>,
    /// Truck gate lanes (gate I/O, weighbridge, plate camera); none by default.
    pub gates: Vec<GateLaneSetup>,
    /// Vehicles queued on the gate lanes at start.
    pub vehicles: Vec<VehicleSpec>,
    /// The gate traffic's seed and generated vehicles.
    pub traffic: TrafficOptions,
}

/// One line of the site.
#[derive(Debug, Clone, PartialEq)]
pub struct LineSetup {
    /// Line id (`L1`, …): letters, digits and `-`, at most 16 characters.
    pub id: String,
    /// Where the PLC serves Modbus TCP (port 0 = any free port).
    pub plc_listen: SocketAddr,
    /// Where the top scanner streams its frames.
    pub top_listen: SocketAddr,
    /// Where the side scanner streams its frames.
    pub side_listen: SocketAddr,
    /// Where the bag-label scanner at the release lane streams its frames (bag labels
    /// scanned to close a bag, parcel labels scanned at retrieval).
    pub bag_listen: SocketAddr,
    /// Unit id and block bases of the PLC's registers.
    pub map: RegisterMap,
    /// Geometry and behaviour: belt speed, station positions, lanes, gap, X-ray timing.
    pub line: LineConfig,
    /// Framing of both scanners.
    pub framing: Framing,
    /// What both scanners send for an unreadable label.
    pub no_read: String,
}

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Default for LineSetup {
    fn default() -> Self {
        Self {
            id: "L1".to_owned(),
            plc_listen: any_port(),
            top_listen: any_port(),
            side_listen: any_port(),
            bag_listen: any_port(),
            map: RegisterMap::default(),
            line: LineConfig::default(),
            framing: Framing::StxEtx,
            no_read: "NoRead".to_owned(),
        }
    }
}

impl LineSetup {
    /// Line number `n` (1-based), called `L<n>`, on free ports with the defaults.
    pub fn numbered(n: usize) -> Self {
        Self {
            id: format!("L{n}"),
            ..Self::default()
        }
    }

    /// Every inconsistency of this line, one message each.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let id_ok = |c: char| c.is_ascii_alphanumeric() || c == '-';
        if self.id.is_empty() || self.id.len() > MAX_ID_LEN || !self.id.chars().all(id_ok) {
            out.push(format!(
                "id {:?} must be 1 to {MAX_ID_LEN} letters, digits or '-'",
                self.id
            ));
        }
        out.extend(self.line.problems());
        out.extend(self.map.problems().into_iter().map(|p| format!("map: {p}")));
        if self.no_read.is_empty() || self.no_read.chars().any(char::is_control) {
            out.push(format!(
                "no_read ({:?}) must be non-empty without control characters",
                self.no_read
            ));
        }
        out
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self::with_lines(1)
    }
}

impl SimConfig {
    /// `n` default lines `L1..=Ln`, every port free, no X-ray, no generator, no scenario.
    pub fn with_lines(n: usize) -> Self {
        Self {
            lines: (1..=n).map(LineSetup::numbered).collect(),
            http_listen: any_port(),
            tick: Duration::from_millis(10),
            xray_root: None,
            xray_image: ImageSize::default(),
            generator: None,
            scenario: None,
            gates: Vec::new(),
            vehicles: Vec::new(),
            traffic: TrafficOptions::default(),
        }
    }

    /// The config as it runs: the scenario's `[line]` table, if any, as every line's
    /// geometry; its gates and vehicles after the config's, its `[traffic]` instead.
    #[must_use]
    pub fn resolved(mut self) -> Self {
        if let Some(geometry) = self.scenario.as_ref().and_then(|s| s.line) {
            for line in &mut self.lines {
                line.line = geometry;
            }
        }
        if let Some(scenario) = self.scenario.as_mut() {
            self.gates.append(&mut scenario.gate);
            self.vehicles.append(&mut scenario.vehicle);
            if let Some(traffic) = scenario.traffic.take() {
                self.traffic = traffic;
            }
            self.traffic.wait_for_controller |= scenario.wait_for_clients;
        }
        self
    }

    /// Every inconsistency, one message each with its path (empty when the site can start).
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.lines.is_empty() {
            out.push("lines: at least one line is needed".to_owned());
        }
        let mut seen = HashSet::new();
        for (i, line) in self.lines.iter().enumerate() {
            let at = format!("lines[{i}] ({})", line.id);
            if !seen.insert(line.id.as_str()) {
                out.push(format!("{at}: id is used by another line"));
            }
            out.extend(line.problems().into_iter().map(|p| format!("{at}: {p}")));
        }
        if self.tick.is_zero() || self.tick > Duration::from_secs(1) {
            out.push(format!("tick must be 1 ms..=1 s, got {:?}", self.tick));
        }
        out.extend(self.xray_image.problem());
        if let Some(generator) = &self.generator {
            out.extend(generator.problems());
        }
        if let Some(scenario) = &self.scenario {
            let ids: Vec<&str> = self.lines.iter().map(|l| l.id.as_str()).collect();
            out.extend(scenario.problems(&ids));
        }
        out.extend(crate::vehicles::traffic::problems(
            &self.gates,
            &self.vehicles,
            &self.traffic,
        ));
        out
    }
}
