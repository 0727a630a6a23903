//! The config of the truck gates: one table per lane and the operators allowed to
//! override a gate (the listener plate cameras push to is `plate_events.rs`).

use std::collections::HashSet;

use customs_edge_devices::gate_io::GateIoMap;
use customs_edge_devices::plate::ConsensusConfig;
use customs_edge_devices::weighbridge::WeighbridgeMap;
use serde::{Deserialize, Serialize};

use super::load::Problem;
use super::validate::{address, required};

/// Direction a gate lane serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateDirection {
    /// Trucks entering the site (the arrival is recorded and reported).
    In,
    /// Trucks leaving the site (checked against exit permits).
    Out,
}

impl GateDirection {
    /// `in` or `out`, as stored and sent uplink.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::In => "in",
            Self::Out => "out",
        }
    }
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
    /// Modbus unit id of the gate I/O module.
    #[serde(default = "one")]
    pub io_unit_id: u8,
    /// First holding register of its status block.
    #[serde(default)]
    pub io_status_base: u16,
    /// First holding register of its command block.
    #[serde(default = "default_io_command_base")]
    pub io_command_base: u16,
    /// Weighbridge over Modbus TCP, `host:port`, when the lane has one. An exit lane
    /// without one cannot check weights: every truck is held for a manual decision.
    #[serde(default)]
    pub weighbridge_address: Option<String>,
    /// Modbus unit id of the weighbridge indicator.
    #[serde(default = "one")]
    pub weighbridge_unit_id: u8,
    /// First holding register of the weighbridge's status block.
    #[serde(default)]
    pub weighbridge_status_base: u16,
    /// Id of the plate camera (from `cameras`) that watches this lane. Required: without
    /// plate reads every truck waits for a manual decision.
    #[serde(default)]
    pub plate_camera: Option<String>,
    /// How often the gate I/O and the weighbridge are read, in milliseconds.
    #[serde(default = "default_poll_interval_ms")]
    pub poll_interval_ms: u64,
    /// Device requests that take longer than this fail (milliseconds).
    #[serde(default = "default_io_timeout_ms")]
    pub io_timeout_ms: u64,
    /// Seconds after a truck is on the loop within which the plate reads must agree;
    /// otherwise the lane waits for a manual decision.
    #[serde(default = "default_plate_wait_s")]
    pub plate_wait_s: f64,
    /// Seconds after a truck is on the loop within which the weighbridge must be stable;
    /// otherwise the truck is held.
    #[serde(default = "default_weight_wait_s")]
    pub weight_wait_s: f64,
    /// Seconds the barrier gets to open or close before an alarm.
    #[serde(default = "default_barrier_move_s")]
    pub barrier_move_s: f64,
    /// Seconds an open barrier waits for the truck to pass before an alarm; the barrier
    /// closes then only if both loops are clear.
    #[serde(default = "default_pass_wait_s")]
    pub pass_wait_s: f64,
    /// Weighbridge vs the permit's total gross weight: the larger of this many kg …
    #[serde(default = "default_weight_abs_kg")]
    pub weight_abs_kg: f64,
    /// … and this percentage of the permit's total gross weight.
    #[serde(default = "default_weight_pct")]
    pub weight_pct: f64,
    /// How many plate reads must agree, and how confident one read must be alone.
    #[serde(default)]
    pub consensus: ConsensusConfig,
    /// Entry lanes: admit only trucks whose arrival the platform announced (otherwise a
    /// truck nobody announced is let in and its arrival recorded without waybills).
    #[serde(default)]
    pub require_expected: bool,
    /// Exit lanes: what an approved permit that names no bags, waybills or bills does —
    /// `hold` (the default: nothing says what the truck carries, so it is not checked and
    /// may not leave) or `release` (sites whose platform does not send permit items).
    #[serde(default)]
    pub permit_without_items: PermitWithoutItems,
}

/// What an exit lane does with an approved permit that lists no items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PermitWithoutItems {
    /// Hold the truck: its load cannot be checked.
    #[default]
    Hold,
    /// Let it leave on the permit and the weight alone.
    Release,
}

fn one() -> u8 {
    1
}
fn default_io_command_base() -> u16 {
    GateIoMap::default().command_base
}
fn default_poll_interval_ms() -> u64 {
    50
}
fn default_io_timeout_ms() -> u64 {
    1_000
}
fn default_plate_wait_s() -> f64 {
    15.0
}
fn default_weight_wait_s() -> f64 {
    30.0
}
fn default_barrier_move_s() -> f64 {
    10.0
}
fn default_pass_wait_s() -> f64 {
    120.0
}
fn default_weight_abs_kg() -> f64 {
    200.0
}
fn default_weight_pct() -> f64 {
    3.0
}

impl GateConfig {
    /// Lane `id` in `direction` with its gate I/O at `io_address` and every other setting
    /// at its default (no weighbridge, no camera).
    pub fn new(
        id: impl Into<String>,
        direction: GateDirection,
        io_address: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            direction: Some(direction),
            io_address: io_address.into(),
            io_unit_id: one(),
            io_status_base: 0,
            io_command_base: default_io_command_base(),
            weighbridge_address: None,
            weighbridge_unit_id: one(),
            weighbridge_status_base: 0,
            plate_camera: None,
            poll_interval_ms: default_poll_interval_ms(),
            io_timeout_ms: default_io_timeout_ms(),
            plate_wait_s: default_plate_wait_s(),
            weight_wait_s: default_weight_wait_s(),
            barrier_move_s: default_barrier_move_s(),
            pass_wait_s: default_pass_wait_s(),
            weight_abs_kg: default_weight_abs_kg(),
            weight_pct: default_weight_pct(),
            consensus: ConsensusConfig::default(),
            require_expected: false,
            permit_without_items: PermitWithoutItems::default(),
        }
    }

    /// The lane's direction (validated configs always have one).
    pub fn direction(&self) -> GateDirection {
        self.direction.unwrap_or(GateDirection::Out)
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

    pub(super) fn validate(&self, out: &mut Vec<Problem>, at: &str, cameras: &HashSet<&str>) {
        required(
            out,
            format!("{at}.id"),
            &self.id,
            "the lane (channel) number",
        );
        if self.direction.is_none() {
            out.push(Problem::new(
                format!("{at}.direction"),
                "required: in or out",
            ));
        }
        address(
            out,
            format!("{at}.io_address"),
            &self.io_address,
            "the gate I/O module's host:port",
        );
        for problem in self.io_map().problems() {
            out.push(Problem::new(format!("{at}.io_status_base"), problem));
        }
        if let Some(wb) = &self.weighbridge_address {
            address(
                out,
                format!("{at}.weighbridge_address"),
                wb,
                "the weighbridge's host:port",
            );
            for problem in self.weighbridge_map().problems() {
                out.push(Problem::new(
                    format!("{at}.weighbridge_status_base"),
                    problem,
                ));
            }
        }
        match &self.plate_camera {
            None => out.push(Problem::new(
                format!("{at}.plate_camera"),
                "required: the id of the plate camera (from cameras) that watches this lane",
            )),
            Some(camera) if !cameras.contains(camera.as_str()) => out.push(Problem::new(
                format!("{at}.plate_camera"),
                format!("no camera with id {camera:?} in cameras"),
            )),
            Some(_) => {}
        }
        if !(10..=5_000).contains(&self.poll_interval_ms) {
            out.push(Problem::new(
                format!("{at}.poll_interval_ms"),
                "must be between 10 and 5000",
            ));
        }
        if !(50..=30_000).contains(&self.io_timeout_ms) {
            out.push(Problem::new(
                format!("{at}.io_timeout_ms"),
                "must be between 50 and 30000",
            ));
        }
        for (field, value) in [
            ("plate_wait_s", self.plate_wait_s),
            ("weight_wait_s", self.weight_wait_s),
            ("barrier_move_s", self.barrier_move_s),
            ("pass_wait_s", self.pass_wait_s),
        ] {
            if !(value.is_finite() && value > 0.0 && value <= 3_600.0) {
                out.push(Problem::new(
                    format!("{at}.{field}"),
                    "must be a number of seconds above 0 and at most 3600",
                ));
            }
        }
        if !(self.weight_abs_kg.is_finite() && self.weight_abs_kg >= 0.0) {
            out.push(Problem::new(
                format!("{at}.weight_abs_kg"),
                "must be 0 or more",
            ));
        }
        if !(self.weight_pct.is_finite() && (0.0..=100.0).contains(&self.weight_pct)) {
            out.push(Problem::new(
                format!("{at}.weight_pct"),
                "must be between 0 and 100",
            ));
        }
        if self.require_expected && self.direction == Some(GateDirection::Out) {
            out.push(Problem::new(
                format!("{at}.require_expected"),
                "only an entry lane (direction = \"in\") checks announced arrivals",
            ));
        }
        for problem in self.consensus.validate() {
            out.push(Problem::new(format!("{at}.consensus"), problem));
        }
    }
}

/// Someone allowed to override a gate from the API until accounts and roles arrive: the
/// request carries `Authorization: Bearer <token>` and the token's SHA-256 is kept here,
/// never the token.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// Who, as written into the audit log. Required.
    #[serde(default)]
    pub name: String,
    /// SHA-256 of the operator's token, 64 hex digits. Required.
    #[serde(default)]
    pub token_sha256: String,
}

impl OperatorConfig {
    /// Operator `name` whose token is `token` (only its SHA-256 is kept).
    pub fn with_token(name: impl Into<String>, token: &str) -> Self {
        use sha2::Digest as _;
        Self {
            name: name.into(),
            token_sha256: hex::encode(sha2::Sha256::digest(token.as_bytes())),
        }
    }

    pub(super) fn validate(&self, out: &mut Vec<Problem>, at: &str) {
        required(out, format!("{at}.name"), &self.name, "the operator's name");
        if self.token_sha256.len() != 64
            || !self.token_sha256.chars().all(|c| c.is_ascii_hexdigit())
        {
            out.push(Problem::new(
                format!("{at}.token_sha256"),
                "must be the SHA-256 of the token as 64 hex digits (sha256sum)",
            ));
        } else if let Some(token) = TRIVIAL_TOKENS.iter().find(|t| {
            Self::with_token("", t).token_sha256 == self.token_sha256.to_ascii_lowercase()
        }) {
            out.push(Problem::new(
                format!("{at}.token_sha256"),
                format!(
                    "is the SHA-256 of {token:?}, a token anyone would try: make one with \
                     `head -c 24 /dev/urandom | base64` and put its sha256sum here"
                ),
            ));
        }
    }
}

/// Tokens that anyone would try first (and examples' tokens): refused as operator tokens.
pub(super) const TRIVIAL_TOKENS: &[&str] = &[
    "",
    "test",
    "token",
    "secret",
    "password",
    "changeme",
    "change-me",
    "admin",
    "operator",
    "example",
    "demo",
    "123456",
    "12345678",
    "1234567890",
    "qwerty",
    "letmein",
    "customs",
    "customs-edge",
];

/// Where a plate camera's credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CameraCredentials {
    /// User name.
    pub username: String,
    /// Password, from `password_env` or `password_file`, never the config file itself.
    pub password: String,
}

impl super::CameraConfig {
    /// The camera's user name and password, from the environment or the password file.
    pub fn credentials(&self) -> Result<CameraCredentials, String> {
        let username = match (&self.username, &self.username_env) {
            (Some(name), _) => name.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                format!(
                    "cameras {:?}: environment variable {var} (username_env) is not set",
                    self.id
                )
            })?,
            (None, None) => {
                return Err(format!(
                    "cameras {:?}: needs username or username_env",
                    self.id
                ));
            }
        };
        let password = match (&self.password_env, &self.password_file) {
            (Some(var), _) => std::env::var(var).map_err(|_| {
                format!(
                    "cameras {:?}: environment variable {var} (password_env) is not set",
                    self.id
                )
            })?,
            (None, Some(file)) => std::fs::read_to_string(file)
                .map_err(|e| {
                    format!(
                        "cameras {:?}: password_file {}: {e}",
                        self.id,
                        file.display()
                    )
                })?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            (None, None) => {
                return Err(format!(
                    "cameras {:?}: needs password_env or password_file",
                    self.id
                ));
            }
        };
        Ok(CameraCredentials { username, password })
    }
}
