//! The config of one X-ray sorting line: its PLC, scanners, geometry, lanes, X-ray feed
//! and decision timing.

use serde::{Deserialize, Serialize};

/// One X-ray sorting line.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    /// Short unique id used in records, logs and metrics (e.g. `L1`). Required.
    #[serde(default)]
    pub id: String,
    /// Name shown on the consoles.
    #[serde(default)]
    pub name: String,
    /// The line PLC.
    #[serde(default)]
    pub plc: PlcConfig,
    /// Barcode scanners over the belt (top and side readers); reads are merged per parcel.
    #[serde(default)]
    pub scanners: Vec<ScannerConfig>,
    /// Bag-label scanners at the release lane (`[[lines.bag_scanners]]`): a bag label
    /// scanned closes the lane's open bag with that number (totalPackageNo); a parcel
    /// label scanned there records the retrieval of its open interception.
    #[serde(default)]
    pub bag_scanners: Vec<BagScannerConfig>,
    /// Positions along the belt, measured from the entry photo-eye.
    #[serde(default)]
    pub geometry: GeometryConfig,
    /// Lane numbers the PLC understands.
    #[serde(default)]
    pub diverter: DiverterConfig,
    /// The X-ray machine's image feed; absent when the line has no X-ray.
    #[serde(default)]
    pub xray: Option<XrayConfig>,
    /// When and how lanes are decided.
    #[serde(default)]
    pub decision: DecisionConfig,
}

/// The X-ray machine's image feed.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct XrayConfig {
    /// Directory the X-ray machine writes its image files into. Required.
    #[serde(default)]
    pub dir: std::path::PathBuf,
    /// Images produced within this many seconds after a parcel entered the X-ray belong to it.
    #[serde(default = "default_xray_window_s")]
    pub window_s: f64,
    /// Views the machine writes per parcel; a parcel's X-ray is complete with this many.
    #[serde(default = "default_xray_views")]
    pub views: u32,
}

fn default_xray_window_s() -> f64 {
    10.0
}
fn default_xray_views() -> u32 {
    2
}

/// When lanes are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionMode {
    /// At the deadline just before the diverter, so a late officer flag still counts.
    Deadline,
    /// As soon as the scans, the weighing and the X-ray views are in (no officer judging
    /// window); the deadline still applies when an input never comes.
    WhenComplete,
}

/// When and how lanes are decided.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionConfig {
    /// `deadline` (officers judge X-ray views until just before the diverter) or
    /// `when_complete` (decide as soon as every input is in).
    #[serde(default = "default_decision_mode")]
    pub mode: DecisionMode,
    /// How long before the parcel reaches the diverter the lane command must be in the PLC:
    /// the diverter's switch time (~300 ms) plus communication and margin.
    #[serde(default = "default_lead_ms")]
    pub lead_ms: u64,
    /// Absolute weight tolerance in kg.
    #[serde(default = "default_weight_abs_kg")]
    pub weight_abs_kg: f64,
    /// Weight tolerance in percent of the declared gross weight; the larger tolerance applies.
    #[serde(default = "default_weight_pct")]
    pub weight_pct: f64,
    /// A parcel not reported dropped this long after it reached the diverter is unconfirmed.
    #[serde(default = "default_drop_timeout_ms")]
    pub drop_timeout_ms: u64,
    /// The line has lost sight of its parcels when no good PLC poll came for this long (or
    /// the PLC heartbeat froze): parcels on the belt then can only go to the exception lane.
    #[serde(default = "default_stale_after_ms")]
    pub stale_after_ms: u64,
}

impl Default for DecisionConfig {
    fn default() -> Self {
        Self {
            mode: default_decision_mode(),
            lead_ms: default_lead_ms(),
            weight_abs_kg: default_weight_abs_kg(),
            weight_pct: default_weight_pct(),
            drop_timeout_ms: default_drop_timeout_ms(),
            stale_after_ms: default_stale_after_ms(),
        }
    }
}

fn default_decision_mode() -> DecisionMode {
    DecisionMode::Deadline
}
fn default_lead_ms() -> u64 {
    500
}
fn default_weight_abs_kg() -> f64 {
    0.1
}
fn default_weight_pct() -> f64 {
    5.0
}
fn default_drop_timeout_ms() -> u64 {
    3000
}
fn default_stale_after_ms() -> u64 {
    500
}

/// Modbus TCP link to a line PLC and where its register blocks live.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlcConfig {
    /// PLC address, `host:port` (Modbus TCP is usually port 502). Required.
    #[serde(default)]
    pub address: String,
    /// Modbus unit id (slave id).
    #[serde(default = "default_unit_id")]
    pub unit_id: u8,
    /// First holding register of the status block the controller polls.
    #[serde(default)]
    pub status_base: u16,
    /// First holding register of the command block the controller writes.
    #[serde(default = "default_command_base")]
    pub command_base: u16,
    /// Poll period in milliseconds.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Timeout of one Modbus request in milliseconds; after it the link is reset.
    #[serde(default = "default_plc_timeout_ms")]
    pub timeout_ms: u64,
}

impl Default for PlcConfig {
    fn default() -> Self {
        Self {
            address: String::new(),
            unit_id: default_unit_id(),
            status_base: 0,
            command_base: default_command_base(),
            poll_interval_ms: default_poll_interval_ms(),
            timeout_ms: default_plc_timeout_ms(),
        }
    }
}

fn default_unit_id() -> u8 {
    1
}
fn default_command_base() -> u16 {
    100
}
fn default_poll_interval_ms() -> u64 {
    10
}
fn default_plc_timeout_ms() -> u64 {
    200
}

/// One barcode scanner streaming codes over TCP.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// Name used in records (e.g. `top`, `side`). Required.
    #[serde(default)]
    pub name: String,
    /// Scanner address, `host:port`. Required.
    #[serde(default)]
    pub address: String,
    /// Message framing: `stx_etx` or `cr_lf`.
    #[serde(default = "default_framing")]
    pub framing: customs_edge_devices::scanner::Framing,
    /// The string the scanner sends when it cannot read a label.
    #[serde(default = "default_no_read")]
    pub no_read: String,
    /// Longest acceptable code; a waybill number is at most 80 characters.
    #[serde(default = "default_max_length")]
    pub max_length: usize,
}

/// A hand or fixed scanner at a release lane, streaming codes over TCP with the same
/// framing as the belt's scanners. What it reads decides what it does: the waybill of a
/// parcel with an open interception on this line records that parcel's retrieval (it was
/// taken back out of the lane or its bag); a code starting with `bag_prefix` closes the
/// lane's open bag with that number; anything else is refused and kept as rejected input.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BagScannerConfig {
    /// Name used in records and as the actor of what it does (`bag-1`). Required; unique
    /// among the line's scanners.
    #[serde(default)]
    pub name: String,
    /// Scanner address, `host:port`. Required.
    #[serde(default)]
    pub address: String,
    /// The release lane it stands at; absent = the line's release lane.
    #[serde(default)]
    pub lane: Option<u16>,
    /// What every bag label starts with (the site's bag numbering, e.g. `ZB`). Required.
    #[serde(default = "default_bag_prefix")]
    pub bag_prefix: String,
    /// Message framing: `stx_etx` or `cr_lf`.
    #[serde(default = "default_framing")]
    pub framing: customs_edge_devices::scanner::Framing,
    /// The string the scanner sends when it cannot read a label.
    #[serde(default = "default_no_read")]
    pub no_read: String,
    /// Longest acceptable code (a bag number is at most 64 characters, a waybill 80).
    #[serde(default = "default_max_length")]
    pub max_length: usize,
}

impl BagScannerConfig {
    /// The lane it closes bags of: its own, or the line's release lane.
    pub fn lane_of(&self, line: &LineConfig) -> u16 {
        self.lane.unwrap_or(line.diverter.release_lane)
    }
}

fn default_bag_prefix() -> String {
    "ZB".into()
}

fn default_framing() -> customs_edge_devices::scanner::Framing {
    customs_edge_devices::scanner::Framing::StxEtx
}
fn default_no_read() -> String {
    "NoRead".into()
}
fn default_max_length() -> usize {
    80
}

/// Positions along the belt in millimetres from the entry photo-eye.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeometryConfig {
    /// Where the dynamic scale weighs; absent when the line has no scale.
    #[serde(default)]
    pub scale_at_mm: Option<u32>,
    /// Where the parcel enters the X-ray tunnel; required with `xray`.
    #[serde(default)]
    pub xray_at_mm: Option<u32>,
    /// Where the parcel leaves the X-ray tunnel (cameras assigned to the line's X-ray exit
    /// keep their frame of that moment); defaults to `xray_at_mm`.
    #[serde(default)]
    pub xray_exit_at_mm: Option<u32>,
    /// Where the scanners read.
    #[serde(default = "default_scanner_at_mm")]
    pub scanner_at_mm: u32,
    /// Where the diverter acts; the lane command must be in the PLC before a parcel gets here.
    #[serde(default = "default_diverter_at_mm")]
    pub diverter_at_mm: u32,
    /// How far a scan (or a weighing) may be from a parcel's expected position and still
    /// belong to it, in millimetres of belt travel.
    #[serde(default = "default_scan_window_mm")]
    pub scan_window_mm: u32,
}

impl Default for GeometryConfig {
    fn default() -> Self {
        Self {
            scale_at_mm: None,
            xray_at_mm: None,
            xray_exit_at_mm: None,
            scanner_at_mm: default_scanner_at_mm(),
            diverter_at_mm: default_diverter_at_mm(),
            scan_window_mm: default_scan_window_mm(),
        }
    }
}

fn default_scanner_at_mm() -> u32 {
    600
}
fn default_diverter_at_mm() -> u32 {
    3000
}
fn default_scan_window_mm() -> u32 {
    400
}

/// Lane numbers as the PLC knows them.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DiverterConfig {
    /// Lane for parcels customs has released.
    #[serde(default = "default_release_lane")]
    pub release_lane: u16,
    /// Lane for parcels customs will open.
    #[serde(default = "default_inspection_lane")]
    pub inspection_lane: u16,
    /// Lane for everything unknown, late or unmatched; also the PLC's own default.
    #[serde(default = "default_exception_lane")]
    pub exception_lane: u16,
}

impl Default for DiverterConfig {
    fn default() -> Self {
        Self {
            release_lane: default_release_lane(),
            inspection_lane: default_inspection_lane(),
            exception_lane: default_exception_lane(),
        }
    }
}

fn default_release_lane() -> u16 {
    1
}
fn default_inspection_lane() -> u16 {
    2
}
fn default_exception_lane() -> u16 {
    3
}
