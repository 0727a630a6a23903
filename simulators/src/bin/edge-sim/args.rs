//! The command line of `edge-sim`, and the [`SimConfig`] it makes.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Parser, ValueEnum};
use customs_edge_devices::line_plc::RegisterMap;
use customs_edge_devices::scanner::Framing;
use customs_edge_simulators::generator::parse_codes;
use customs_edge_simulators::xray::ImageSize;
use customs_edge_simulators::{GeneratorConfig, LineConfig, LineSetup, Scenario, SimConfig};
use tracing::warn;

/// Simulated sorting lines of the customs site: per line a Modbus TCP PLC with conveyor
/// physics, a top and a side TCP barcode scanner and an X-ray machine writing PNG views;
/// one HTTP API to inject parcels and faults and read the ground truth.
///
/// Ports: line i (0-based) serves its PLC on BASE+100*i, its top scanner on BASE+100*i+1
/// and its side scanner on BASE+100*i+2 (L1: 5020/5021/5022, L2: 5120/...). With
/// --base-port 0 every port, the HTTP one included, is a free port: read them from the
/// printed addresses (--print-addresses-json for scripts).
///
/// Inject a parcel:  curl -d '{"code":"SF123","weight_kg":1.2}' http://127.0.0.1:5080/parcels
/// Inject a fault:   curl -d '{"kind":"estop","duration_ms":3000}' http://127.0.0.1:5080/faults
/// Ground truth:     curl http://127.0.0.1:5080/report
///
/// Truck gate lanes (gate I/O and weighbridge over Modbus TCP, a plate camera posting to
/// the controller) and their vehicles come from the scenario's gate, vehicle and traffic
/// tables; their ground truth is at GET /gates/report and under "gates" in the
/// report file. Queue a vehicle:
///                   curl -d '{"plate":"闽G12345","true_weight_kg":32000,"entitled":true}' \
///                        http://127.0.0.1:5080/gates/vehicles
///
/// Exit status: 0 the ground truth is right, 1 a parcel ended in a lane other than the
/// one expected (or, when a scenario or load run ended by itself, never reached a lane),
/// or a vehicle left though not entitled or was held though entitled (or never finished),
/// or a barrier closed on an occupied loop, 2 the simulator could not run. Logs go to
/// stderr (RUST_LOG=debug for every parcel).
#[derive(Debug, Parser)]
#[command(name = "edge-sim", version, verbatim_doc_comment)]
pub(crate) struct Args {
    /// Number of lines, L1..LN (default: the scenario's `lines`, else 1).
    #[arg(long, value_name = "N")]
    pub(crate) lines: Option<usize>,

    /// Address every line's PLC and scanners listen on.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1")]
    bind: IpAddr,

    /// First port of the layout (see above); 0 = free ports everywhere.
    #[arg(long, value_name = "PORT", default_value_t = 5020)]
    base_port: u16,

    /// Address of the HTTP API [default: BIND:5080, or a free port with --base-port 0].
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,

    /// Modbus unit id every PLC answers to; other unit ids get exception 0x0B.
    #[arg(long, default_value_t = 1)]
    unit_id: u8,

    /// First holding register of the 83-word status block.
    #[arg(long, default_value_t = 0)]
    status_base: u16,

    /// First holding register of the 4-word command block.
    #[arg(long, default_value_t = 100)]
    command_base: u16,

    #[command(flatten)]
    geometry: Geometry,

    /// Root of the X-ray image directories (line L1 writes into DIR/L1); without it the
    /// lines have no X-ray.
    #[arg(long, value_name = "DIR")]
    xray_dir: Option<PathBuf>,

    /// Size of the X-ray images.
    #[arg(long, value_name = "WxH", default_value = "320x240", value_parser = parse_size)]
    xray_size: ImageSize,

    /// How the scanners frame each code on the wire.
    #[arg(long, value_enum, default_value_t = FramingArg::StxEtx)]
    framing: FramingArg,

    /// What the scanners send for an unreadable label.
    #[arg(long, value_name = "TEXT", default_value = "NoRead")]
    no_read: String,

    /// PLC scan cycle in ms: how often the lines advance.
    #[arg(long, value_name = "MS", default_value_t = 10)]
    tick_ms: u64,

    /// Inject a random parcel into every line every N ms (0 = off).
    #[arg(long, value_name = "N", default_value_t = 0)]
    generate_every_ms: u64,

    /// Load run: R parcels/s per line for --load-seconds, on a fast belt with short
    /// parcels (belt max(3000, 150*R) mm/s, parcels 60..=100 mm, gap 40 mm, unless given).
    #[arg(long, value_name = "R", conflicts_with = "generate_every_ms")]
    load_rate: Option<f64>,

    /// Length of the load run in seconds; edge-sim exits once its parcels have dropped.
    #[arg(long, value_name = "T", default_value_t = 60.0, requires = "load_rate")]
    load_seconds: f64,

    /// Codes for the generator, one per line as `code [expect [weight_kg]]`; blank
    /// lines and '#' comments are skipped. Without it: made-up SF + 12-digit codes.
    #[arg(long, value_name = "FILE")]
    codes: Option<PathBuf>,

    /// Use each code of --codes once, in order, spread over the lines (line i takes codes
    /// i, i+n, …), instead of picking at random: a load run judged by expected lanes needs
    /// every waybill once.
    #[arg(long, requires = "codes")]
    unique_codes: bool,

    /// Share of generated parcels with an unreadable label, 0.0 to 1.0.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    no_read_rate: f64,

    /// Share of generated parcels with a dense object, 0.0 to 1.0.
    #[arg(long, value_name = "RATE", default_value_t = 0.0)]
    dense_rate: f64,

    /// Generated weights, kg.
    #[arg(long, value_name = "KG", default_value_t = 0.2)]
    min_weight_kg: f64,

    /// Generated weights, kg.
    #[arg(long, value_name = "KG", default_value_t = 5.0)]
    max_weight_kg: f64,

    /// Start generating (or the scenario) only once a controller is attached to every
    /// line (its PLC and a scanner).
    #[arg(long)]
    wait_for_clients: bool,

    /// Play this scenario file (TOML) and exit when it ends.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["generate_every_ms", "load_rate"])]
    pub(crate) scenario: Option<PathBuf>,

    /// Write the final ground truth (JSON) to this file at exit.
    #[arg(long, value_name = "FILE")]
    pub(crate) report_file: Option<PathBuf>,

    /// Print the addresses as one JSON line instead of a table.
    #[arg(long)]
    pub(crate) print_addresses_json: bool,
}

/// Line geometry flags; unset ones take the load profile's or the defaults.
#[derive(Debug, clap::Args)]
struct Geometry {
    /// Belt speed in mm/s [default: 500].
    #[arg(long, value_name = "MM_S")]
    belt_speed: Option<u16>,
    /// Dynamic scale position in mm after the entry photo-eye [default: 300].
    #[arg(long, value_name = "MM")]
    scale_at: Option<u32>,
    /// Scanner position [default: 600].
    #[arg(long, value_name = "MM")]
    scanner_at: Option<u32>,
    /// X-ray tunnel entrance [default: 1200].
    #[arg(long, value_name = "MM")]
    xray_at: Option<u32>,
    /// Diverter position [default: 3000].
    #[arg(long, value_name = "MM")]
    diverter_at: Option<u32>,
    /// Free belt between two parcels [default: 300].
    #[arg(long, value_name = "MM")]
    gap: Option<u32>,
    /// Number of lanes; lane commands outside 1..=LANES get exception 0x03 [default: 3].
    #[arg(long)]
    lanes: Option<u16>,
    /// The release lane [default: 1].
    #[arg(long, value_name = "LANE")]
    release_lane: Option<u16>,
    /// The inspection lane [default: 2].
    #[arg(long, value_name = "LANE")]
    inspection_lane: Option<u16>,
    /// The exception lane, where uncommanded parcels fall [default: 3].
    #[arg(long, value_name = "LANE")]
    exception_lane: Option<u16>,
    /// Time from X-ray entrance to images written [default: 300].
    #[arg(long, value_name = "MS")]
    xray_delay_ms: Option<u32>,
    /// Images per parcel [default: 2].
    #[arg(long, value_name = "N")]
    xray_views: Option<u8>,
}

impl Geometry {
    fn given(&self) -> bool {
        [
            self.belt_speed.is_some(),
            self.scale_at.is_some(),
            self.scanner_at.is_some(),
            self.xray_at.is_some(),
            self.diverter_at.is_some(),
            self.gap.is_some(),
            self.lanes.is_some(),
            self.release_lane.is_some(),
            self.inspection_lane.is_some(),
            self.exception_lane.is_some(),
            self.xray_delay_ms.is_some(),
            self.xray_views.is_some(),
        ]
        .contains(&true)
    }

    fn over(&self, base: LineConfig) -> LineConfig {
        LineConfig {
            belt_speed_mm_s: self.belt_speed.unwrap_or(base.belt_speed_mm_s),
            scale_at_mm: self.scale_at.unwrap_or(base.scale_at_mm),
            scanner_at_mm: self.scanner_at.unwrap_or(base.scanner_at_mm),
            xray_at_mm: self.xray_at.unwrap_or(base.xray_at_mm),
            diverter_at_mm: self.diverter_at.unwrap_or(base.diverter_at_mm),
            gap_mm: self.gap.unwrap_or(base.gap_mm),
            lanes: self.lanes.unwrap_or(base.lanes),
            release_lane: self.release_lane.unwrap_or(base.release_lane),
            inspection_lane: self.inspection_lane.unwrap_or(base.inspection_lane),
            exception_lane: self.exception_lane.unwrap_or(base.exception_lane),
            xray_delay_ms: self.xray_delay_ms.unwrap_or(base.xray_delay_ms),
            xray_views: self.xray_views.unwrap_or(base.xray_views),
        }
    }
}

/// Scanner framing on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum FramingArg {
    /// STX (0x02) code ETX (0x03).
    StxEtx,
    /// code CR LF.
    CrLf,
}

fn parse_size(s: &str) -> Result<ImageSize, String> {
    let (w, h) = s.split_once('x').ok_or("expected WxH, e.g. 320x240")?;
    let n = |v: &str| v.parse::<u32>().map_err(|e| format!("{v:?}: {e}"));
    Ok(ImageSize {
        width: n(w)?,
        height: n(h)?,
    })
}

impl Args {
    /// The port of line `i`'s device at `slot` (0 PLC, 1 top, 2 side).
    fn addr(&self, i: usize, slot: u16) -> anyhow::Result<SocketAddr> {
        if self.base_port == 0 {
            return Ok(SocketAddr::new(self.bind, 0));
        }
        let port = u32::from(self.base_port) + 100 * i as u32 + u32::from(slot);
        let port = u16::try_from(port).context("the port layout runs past 65535")?;
        Ok(SocketAddr::new(self.bind, port))
    }

    fn generator(&self) -> anyhow::Result<Option<GeneratorConfig>> {
        let base = match (self.load_rate, self.generate_every_ms) {
            (Some(rate), _) => {
                if !(rate > 0.0 && rate <= 1000.0) {
                    bail!("--load-rate must be within 0..=1000 parcels/s, got {rate}");
                }
                GeneratorConfig::load(rate, self.load_seconds)
            }
            (None, 0) => {
                if self.codes.is_some() {
                    warn!("--codes has no effect without --generate-every-ms or --load-rate");
                }
                return Ok(None);
            }
            (None, ms) => GeneratorConfig {
                every: Duration::from_millis(ms),
                ..GeneratorConfig::default()
            },
        };
        let codes = match &self.codes {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the codes file {}", path.display()))?;
                let codes = parse_codes(&text)
                    .map_err(|e| anyhow::anyhow!("codes file {}: {e}", path.display()))?;
                anyhow::ensure!(
                    !codes.is_empty(),
                    "the codes file {} has no codes",
                    path.display()
                );
                codes
            }
            None => Vec::new(),
        };
        Ok(Some(GeneratorConfig {
            codes,
            no_read_rate: self.no_read_rate,
            dense_rate: self.dense_rate,
            weights_kg: self.min_weight_kg..=self.max_weight_kg,
            wait_for_clients: self.wait_for_clients,
            unique_codes: self.unique_codes,
            ..base
        }))
    }

    /// The site this command line describes.
    pub(crate) fn into_config(self) -> anyhow::Result<SimConfig> {
        let scenario = match &self.scenario {
            Some(path) => {
                let mut s = Scenario::load(path)?;
                s.wait_for_clients |= self.wait_for_clients;
                if s.line.is_some() && self.geometry.given() {
                    warn!("the scenario's [line] table replaces the geometry flags");
                }
                Some(s)
            }
            None => None,
        };
        let n = self
            .lines
            .or_else(|| scenario.as_ref().and_then(|s| s.lines))
            .unwrap_or(1);
        anyhow::ensure!((1..=64).contains(&n), "--lines must be 1..=64, got {n}");
        let base = self
            .load_rate
            .map_or_else(LineConfig::default, LineConfig::for_load);
        let geometry = self.geometry.over(base);
        let framing = match self.framing {
            FramingArg::StxEtx => Framing::StxEtx,
            FramingArg::CrLf => Framing::CrLf,
        };
        let mut lines = Vec::with_capacity(n);
        for i in 0..n {
            lines.push(LineSetup {
                plc_listen: self.addr(i, 0)?,
                top_listen: self.addr(i, 1)?,
                side_listen: self.addr(i, 2)?,
                bag_listen: self.addr(i, 3)?,
                map: RegisterMap {
                    unit_id: self.unit_id,
                    status_base: self.status_base,
                    command_base: self.command_base,
                },
                line: geometry,
                framing,
                no_read: self.no_read.clone(),
                ..LineSetup::numbered(i + 1)
            });
        }
        let http_port = if self.base_port == 0 { 0 } else { 5080 };
        Ok(SimConfig {
            lines,
            http_listen: self.http.unwrap_or(SocketAddr::new(self.bind, http_port)),
            tick: Duration::from_millis(self.tick_ms),
            xray_root: self.xray_dir.clone(),
            xray_image: self.xray_size,
            generator: self.generator()?,
            scenario,
            // The scenario's [[gate]], [[vehicle]] and [traffic] join these at start.
            ..SimConfig::default()
        })
    }
}
