//! The site configuration: a typed contract read from TOML.
//!
//! Every struct rejects unknown keys; every field says what it is for; defaults are named
//! functions. [`load`] collects every problem in a file — unknown keys, wrong types,
//! missing required values, bad addresses — each with its path (`lines[0].plc.address`),
//! so an integrator fixes a file in one pass. Secrets are never in the file: fields ending
//! in `_env` name the environment variable that holds them.

mod load;
mod validate;

use serde::{Deserialize, Serialize};

pub use load::{ConfigError, Problem, load, parse};

/// The whole configuration of one site.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The supervision site this controller runs.
    #[serde(default)]
    pub site: SiteConfig,
    /// Where the controller keeps its data.
    #[serde(default)]
    pub storage: StorageConfig,
    /// The console and API server.
    #[serde(default)]
    pub web: WebConfig,
    /// X-ray sorting lines, each run by its own task.
    #[serde(default)]
    pub lines: Vec<LineConfig>,
    /// Truck gate lanes (the gate loop comes with its own issue; lanes are validated now).
    #[serde(default)]
    pub gates: Vec<GateConfig>,
    /// Surveillance cameras (capture comes with the video issue; entries are validated now).
    #[serde(default)]
    pub cameras: Vec<CameraConfig>,
    /// The link to the central platform over MQTT (sync comes with its own issue).
    #[serde(default)]
    pub platform: Option<PlatformConfig>,
}

/// Identity of the supervision site.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    /// Customs supervision site code (loctNo), as it appears in declaration lists and CEB507
    /// arrival reports. Required.
    #[serde(default)]
    pub code: String,
    /// Human-readable site name shown on the consoles.
    #[serde(default)]
    pub name: String,
}

/// Local storage.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// Directory for the SQLite database, its backups and evidence files.
    #[serde(default = "default_data_dir")]
    pub data_dir: std::path::PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
        }
    }
}

fn default_data_dir() -> std::path::PathBuf {
    "/var/lib/customs-edge".into()
}

/// The HTTP server for the consoles, the API and `/healthz`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Address to listen on, `host:port`.
    #[serde(default = "default_web_listen")]
    pub listen: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            listen: default_web_listen(),
        }
    }
}

fn default_web_listen() -> String {
    "127.0.0.1:8080".into()
}

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
    /// Positions along the belt, measured from the entry photo-eye.
    #[serde(default)]
    pub geometry: GeometryConfig,
    /// Lane numbers the PLC understands.
    #[serde(default)]
    pub diverter: DiverterConfig,
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
    /// Where the scanners read.
    #[serde(default = "default_scanner_at_mm")]
    pub scanner_at_mm: u32,
    /// Where the diverter acts; the lane command must be in the PLC before a parcel gets here.
    #[serde(default = "default_diverter_at_mm")]
    pub diverter_at_mm: u32,
    /// How far a scan may be from a parcel's expected position and still belong to it, in
    /// millimetres of belt travel.
    #[serde(default = "default_scan_window_mm")]
    pub scan_window_mm: u32,
}

impl Default for GeometryConfig {
    fn default() -> Self {
        Self {
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

/// Direction a gate lane serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateDirection {
    /// Trucks entering the site.
    In,
    /// Trucks leaving the site (checked against exit permits).
    Out,
}

/// One truck gate lane.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    /// Lane (channel) number as reported to customs. Required.
    #[serde(default)]
    pub id: String,
    /// Whether the lane is an entry (`in`) or an exit (`out`). Required.
    #[serde(default)]
    pub direction: Option<GateDirection>,
    /// Gate I/O module or gate PLC (loops, barrier, LED), `host:port`. Required.
    #[serde(default)]
    pub io_address: String,
    /// Weighbridge over Modbus TCP, `host:port`, when the lane has one.
    #[serde(default)]
    pub weighbridge_address: Option<String>,
    /// Id of the plate camera (from `cameras`) that watches this lane.
    #[serde(default)]
    pub plate_camera: Option<String>,
}

/// One camera.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Camera id; may follow the 20-digit customs camera coding. Required.
    #[serde(default)]
    pub id: String,
    /// Name burned into evidence frames.
    #[serde(default)]
    pub name: String,
    /// ONVIF device service URL (`http://host/onvif/device_service`).
    #[serde(default)]
    pub onvif_url: Option<String>,
    /// Stream URI (RTSP or HTTP MJPEG) when ONVIF is not used.
    #[serde(default)]
    pub stream_url: Option<String>,
    /// Environment variable holding the camera user name.
    #[serde(default)]
    pub username_env: Option<String>,
    /// Environment variable holding the camera password.
    #[serde(default)]
    pub password_env: Option<String>,
}

/// The MQTT link to the central platform.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformConfig {
    /// Broker URL: `mqtt://host:port` or `mqtts://host:port`. Required.
    #[serde(default)]
    pub broker: String,
    /// Topic prefix; topics are `<prefix>/<site code>/up/...` and `.../down/...`.
    #[serde(default = "default_topic_prefix")]
    pub topic_prefix: String,
    /// Stable MQTT client id; defaults to `customs-edge-<site code>`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// CA certificate file (PEM) for `mqtts://`.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Environment variable holding the MQTT user name.
    #[serde(default)]
    pub username_env: Option<String>,
    /// Environment variable holding the MQTT password.
    #[serde(default)]
    pub password_env: Option<String>,
}

fn default_topic_prefix() -> String {
    "customs-edge".into()
}
