//! Faults injected at run time (`POST /faults`, a scenario's `[[faults]]`,
//! [`RunningSim::fault`](crate::RunningSim::fault)) and the record each leaves in the report.
//!
//! | kind | what the simulated line does for `duration_ms` |
//! |---|---|
//! | `plc_link_drop` | the PLC closes every client connection and closes new ones at once; the belt keeps moving |
//! | `estop` | the belt stops (`running` 0, `BELT_SPEED` 0), status bit e-stop, `FAULT_CODE` 1 |
//! | `scale_fault` | status bit scale fault, `FAULT_CODE` 4; weighings are pushed with `stable` = 0 |
//! | `xray_fault` | status bit X-ray fault, `FAULT_CODE` 5; no X-ray images are written |
//!
//! The PLC raises `controller_heartbeat_lost` (`FAULT_CODE` 6) by itself; it cannot be
//! injected but is recorded the same way.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest fault that may be injected: one day.
pub const MAX_FAULT_MS: u64 = 86_400_000;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The Modbus TCP link to the PLC is down.
    PlcLinkDrop,
    /// An emergency stop is pressed.
    Estop,
    /// The dynamic scale failed.
    ScaleFault,
    /// The X-ray machine failed.
    XrayFault,
    /// The controller's heartbeat stopped changing (raised by the PLC, never injected).
    ControllerHeartbeatLost,
}

impl FaultKind {
    /// Whether the kind can be injected (all but the PLC's own heartbeat watch).
    pub fn injectable(self) -> bool {
        self != Self::ControllerHeartbeatLost
    }
}

/// Who started a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultSource {
    /// A scenario file's `[[faults]]`.
    Scenario,
    /// `POST /faults` or [`RunningSim::fault`](crate::RunningSim::fault).
    Api,
    /// The PLC's controller heartbeat watch.
    Watch,
}

/// A fault to inject now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRequest {
    /// What fails.
    pub kind: FaultKind,
    /// For how long, in ms (1..=86400000).
    pub duration_ms: u64,
    /// Line id; absent = every line.
    #[serde(default)]
    pub line: Option<String>,
}

impl FaultRequest {
    /// What is wrong with the request (the line id is checked by the site).
    pub fn problem(&self) -> Option<String> {
        if !self.kind.injectable() {
            return Some(
                "kind must be one of plc_link_drop, estop, scale_fault, xray_fault".to_owned(),
            );
        }
        if !(1..=MAX_FAULT_MS).contains(&self.duration_ms) {
            return Some(format!(
                "duration_ms must be 1..={MAX_FAULT_MS}, got {}",
                self.duration_ms
            ));
        }
        None
    }
}

/// One fault in the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRecord {
    /// Line it hit.
    pub line: String,
    /// What failed.
    pub kind: FaultKind,
    /// Who started it.
    pub source: FaultSource,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended; `null` while it lasts.
    pub ended_at: Option<DateTime<Utc>>,
    /// How long it was meant to last (`null` for the heartbeat watch, which lasts until
    /// the heartbeat changes).
    pub duration_ms: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_requests_parse_and_the_watch_fault_cannot_be_injected() {
        let req: FaultRequest =
            serde_json::from_str(r#"{"kind": "plc_link_drop", "duration_ms": 5000}"#).unwrap();
        assert_eq!(
            (req.kind, req.line.as_deref()),
            (FaultKind::PlcLinkDrop, None)
        );
        assert_eq!(req.problem(), None);
        let watch = FaultRequest {
            kind: FaultKind::ControllerHeartbeatLost,
            duration_ms: 10,
            line: None,
        };
        assert!(watch.problem().unwrap().contains("plc_link_drop"));
        let zero = FaultRequest {
            kind: FaultKind::Estop,
            duration_ms: 0,
            line: None,
        };
        assert!(zero.problem().unwrap().contains("duration_ms"));
        assert!(
            serde_json::from_str::<FaultRequest>(r#"{"kind": "fire", "duration_ms": 1}"#).is_err()
        );
    }
}
