//! The lane's device links as its polls see them: a device is lost after
//! [`LOST_AFTER`] failed polls in a row (one failure is a hiccup), with its alarm raised
//! once and cleared when it answers again; and the weighbridge's reading as the verdict
//! uses it.

use customs_edge_devices::weighbridge::WeighbridgeStatus;
use tracing::{info, warn};

use super::messages::{Action, Device, Source};
use crate::gates::verdict::Weight;

/// Failed polls in a row before a device counts as lost.
pub(super) const LOST_AFTER: u32 = 3;

/// One device's link.
#[derive(Debug, Default)]
pub(super) struct LinkWatch {
    failures: u32,
    alarmed: bool,
}

impl LinkWatch {
    /// Whether the last poll got an answer.
    pub(super) fn is_ok(&self) -> bool {
        self.failures == 0
    }

    /// Count one poll of `device` on lane `gate`: `error` is why it failed.
    pub(super) fn report(
        &mut self,
        gate: &str,
        device: Device,
        error: Option<&str>,
        out: &mut Vec<Action>,
    ) {
        let name = device.name(gate);
        let source = Source::Device(device);
        match error {
            None => {
                out.push(Action::Health {
                    device,
                    up: true,
                    detail: "polling".to_owned(),
                });
                self.failures = 0;
                if self.alarmed {
                    self.alarmed = false;
                    info!(device = %name, "device link back");
                    out.push(Action::Clear {
                        source,
                        kind: device.link_alarm(),
                    });
                }
            }
            Some(error) => {
                self.failures = self.failures.saturating_add(1);
                if self.failures >= LOST_AFTER && !self.alarmed {
                    self.alarmed = true;
                    warn!(device = %name, %error, "device link lost");
                    out.push(Action::Health {
                        device,
                        up: false,
                        detail: error.to_owned(),
                    });
                    out.push(Action::Raise {
                        source,
                        kind: device.link_alarm(),
                        detail: format!("{name}: {error}"),
                    });
                }
            }
        }
    }
}

/// What a weighbridge poll says about the truck on it: a stable weight only when the
/// indicator calls it stable with no fault or overload.
pub(super) fn weight(read: &Result<WeighbridgeStatus, String>) -> Weight {
    match read {
        Ok(s) => match s.usable_weight_kg() {
            Some(kg) => Weight::Stable(f64::from(kg)),
            None if s.flags.fault || s.flags.overload => Weight::Missing,
            None => Weight::Unstable(f64::from(s.weight_kg)),
        },
        Err(_) => Weight::Missing,
    }
}
