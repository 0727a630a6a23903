//! The site configuration: a typed contract read from TOML.
//!
//! Every struct rejects unknown keys; every field says what it is for; defaults are named
//! functions. [`load`] collects every problem in a file — unknown keys, wrong types,
//! missing required values, bad addresses — each with its path (`lines[0].plc.address`),
//! so an integrator fixes a file in one pass. Secrets are never in the file: fields ending
//! in `_env` name the environment variable that holds them.

mod backup;
mod camera;
mod disk;
mod gate;
mod limits;
mod line;
mod load;
mod plate_events;
mod signing;
mod validate;
mod web;

use serde::{Deserialize, Serialize};

pub use backup::{BackupConfig, BackupSchedule};
pub use camera::{CameraConfig, PointSpec, check_customs_camera_code};
pub use disk::DiskWatchConfig;
pub use gate::{CameraCredentials, GateConfig, GateDirection, OperatorConfig, PermitWithoutItems};
pub use limits::ListenLimits;
pub use line::{
    BagScannerConfig, DecisionConfig, DecisionMode, DiverterConfig, GeometryConfig, LineConfig,
    PlcConfig, ScannerConfig, XrayConfig,
};
pub use load::{ConfigError, Problem, load, parse};
pub use plate_events::{ListenerTls, PlateAuth, PlateAuthLimits, PlateEventsConfig};
pub use signing::SigningConfig;
pub use web::{WebConfig, WebTls, parse_proxy};

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
    /// Truck gate lanes, each run by its own gate loop.
    #[serde(default)]
    pub gates: Vec<GateConfig>,
    /// The listener plate cameras push their events to.
    #[serde(default)]
    pub plate_events: PlateEventsConfig,
    /// Who may override a gate from the API.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    /// Cameras: plate cameras of the gate lanes and surveillance cameras; those with a
    /// stream are captured, and their frames evidence the points they watch.
    #[serde(default)]
    pub cameras: Vec<CameraConfig>,
    /// The link to the central platform over MQTT (sync comes with its own issue).
    #[serde(default)]
    pub platform: Option<PlatformConfig>,
    /// Scheduled backups of the store and its evidence; none when absent (`customs-edge
    /// backup` still works by hand).
    #[serde(default)]
    pub backup: Option<BackupConfig>,
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
    /// Evidence (X-ray views, camera frames, plate snapshots) is kept this many days;
    /// evidence a record still depends on (not yet acknowledged by the platform, under an
    /// inspection hold, not decided yet) is never purged.
    #[serde(default = "default_evidence_retention_days")]
    pub evidence_retention_days: u32,
    /// Disk quota of the evidence in GiB (0: none); above it the oldest purgeable goes first.
    #[serde(default)]
    pub evidence_quota_gb: f64,
    /// How often the purge runs, in seconds.
    #[serde(default = "default_purge_interval_s")]
    pub purge_interval_s: u64,
    /// The free-space watch on `data_dir`: when to warn and what to stop writing first.
    #[serde(default)]
    pub disk: DiskWatchConfig,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            evidence_retention_days: default_evidence_retention_days(),
            evidence_quota_gb: 0.0,
            purge_interval_s: default_purge_interval_s(),
            disk: DiskWatchConfig::default(),
        }
    }
}

fn default_evidence_retention_days() -> u32 {
    90
}

fn default_purge_interval_s() -> u64 {
    3_600
}

impl StorageConfig {
    /// The evidence purge this config asks for.
    pub fn retention(&self) -> crate::retention::Retention {
        crate::retention::Retention {
            data_dir: self.data_dir.clone(),
            days: self.evidence_retention_days,
            quota_bytes: (self.evidence_quota_gb > 0.0)
                .then_some((self.evidence_quota_gb * 1024.0 * 1024.0 * 1024.0) as u64),
            every: std::time::Duration::from_secs(self.purge_interval_s),
        }
    }
}

fn default_data_dir() -> std::path::PathBuf {
    "/var/lib/customs-edge".into()
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
    /// Stable MQTT client id (the broker keeps the session under it); defaults to
    /// `customs-edge-<site code>`.
    #[serde(default)]
    pub client_id: Option<String>,
    /// CA certificate file (PEM) the broker's certificate must chain to, for `mqtts://`.
    /// Without it the system's roots are not used: TLS needs a CA here.
    #[serde(default)]
    pub ca_file: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for brokers that require one; with `client_key_file`.
    #[serde(default)]
    pub client_cert_file: Option<std::path::PathBuf>,
    /// The client certificate's private key (PEM).
    #[serde(default)]
    pub client_key_file: Option<std::path::PathBuf>,
    /// Environment variable holding the MQTT user name.
    #[serde(default)]
    pub username_env: Option<String>,
    /// Environment variable holding the MQTT password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// MQTT keep-alive in seconds; a dead link is noticed within about 1.5 times this.
    #[serde(default = "default_keep_alive_s")]
    pub keep_alive_s: u64,
    /// First wait before connecting again after the broker was lost (milliseconds); it
    /// doubles after each failed attempt up to `reconnect_max_ms`.
    #[serde(default = "default_reconnect_min_ms")]
    pub reconnect_min_ms: u64,
    /// Longest wait between connection attempts (milliseconds): however long the broker
    /// was away, the link is back within about this long of its return.
    #[serde(default = "default_reconnect_max_ms")]
    pub reconnect_max_ms: u64,
    /// Each wait is spread over `1 ± reconnect_jitter` of its step (0 to 1), so the sites
    /// that lost the same broker do not reconnect in step.
    #[serde(default = "default_reconnect_jitter")]
    pub reconnect_jitter: f64,
    /// Send a stream again from its first unacknowledged message when that message was
    /// sent this long ago (seconds) and is still not acknowledged.
    #[serde(default = "default_ack_timeout_s")]
    pub ack_timeout_s: u64,
    /// Most messages of one stream sent and not yet acknowledged.
    #[serde(default = "default_window")]
    pub window: u32,
    /// Disk quota of the outbox in MiB. An alarm is raised at half of it; above 90 %
    /// telemetry and statistics stop (counted); decisions and gate passes are always kept.
    #[serde(default = "default_outbox_quota_mb")]
    pub outbox_quota_mb: u64,
    /// Largest downlink payload accepted, in KiB; larger ones are dead-lettered.
    #[serde(default = "default_max_downlink_kb")]
    pub max_downlink_kb: u64,
    /// Statistics period in seconds (0 = none).
    #[serde(default = "default_stats_interval_s")]
    pub stats_interval_s: u64,
    /// PLC tags published on the `telemetry` stream.
    #[serde(default)]
    pub telemetry: Vec<TelemetryTag>,
    /// Ed25519 signatures on every message of the link (`docs/security.md`); without it
    /// messages are neither signed nor checked.
    #[serde(default)]
    pub signing: Option<SigningConfig>,
    /// Send the head of the audit chain uplink (`audit_anchor`) at least this often, in
    /// seconds, when the chain has grown since the last one; 0 = only with overrides and
    /// account changes.
    #[serde(default = "default_audit_anchor_interval_s")]
    pub audit_anchor_interval_s: u64,
}

fn default_audit_anchor_interval_s() -> u64 {
    300
}

/// One PLC tag published as telemetry: on a change beyond its deadband, and at least every
/// `max_interval_s` (with its quality, so a dead link never looks like a steady value).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetryTag {
    /// Line whose PLC holds the tag. Required.
    #[serde(default)]
    pub line: String,
    /// The tag: one of `belt_running`, `belt_speed_mm_s`, `estop`, `plc_fault`,
    /// `fault_code`, `xray_running`, `xray_fault`, `scale_fault`, `plc_heartbeat`
    /// (booleans are 0/1). Required.
    #[serde(default)]
    pub tag: String,
    /// Smallest change published (in the tag's unit); 0 publishes every change.
    #[serde(default)]
    pub deadband: f64,
    /// Publish at least this often, changed or not (seconds).
    #[serde(default = "default_tag_max_interval_s")]
    pub max_interval_s: u64,
}

fn default_keep_alive_s() -> u64 {
    15
}

fn default_reconnect_min_ms() -> u64 {
    200
}

fn default_reconnect_max_ms() -> u64 {
    1000
}

fn default_reconnect_jitter() -> f64 {
    0.25
}

fn default_ack_timeout_s() -> u64 {
    10
}

fn default_window() -> u32 {
    5000
}

fn default_outbox_quota_mb() -> u64 {
    512
}

fn default_max_downlink_kb() -> u64 {
    4096
}

fn default_stats_interval_s() -> u64 {
    60
}

fn default_tag_max_interval_s() -> u64 {
    60
}

fn default_topic_prefix() -> String {
    "customs-edge".into()
}
