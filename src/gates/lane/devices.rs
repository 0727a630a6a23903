//! A lane's gate I/O and weighbridge as the lane task drives them: one poll of both
//! (with the controller heartbeat), barrier commands read back, the LED (written only
//! when its text changes), and the devices' health entries.

use std::time::{Duration, Instant};

use customs_edge_devices::gate_io::{BarrierCommand, GateIo};
use customs_edge_devices::weighbridge::Weighbridge;
use tracing::{info, warn};

use crate::gates::machine::{Device, Input};
use crate::health::{Health, State};

/// How often the controller heartbeat is written.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// The lane's devices.
pub struct DeviceLink {
    gate: String,
    io: GateIo,
    weighbridge: Option<Weighbridge>,
    health: Health,
    /// What the LED shows, as last written.
    led: String,
    heartbeat: u16,
    last_heartbeat: Option<Instant>,
}

impl DeviceLink {
    /// The devices of lane `gate`.
    pub fn new(gate: &str, io: GateIo, weighbridge: Option<Weighbridge>, health: Health) -> Self {
        Self {
            gate: gate.to_owned(),
            io,
            weighbridge,
            health,
            led: String::new(),
            heartbeat: 0,
            last_heartbeat: None,
        }
    }

    /// Read the weighbridge (if any) and the gate I/O, as the machine's input; after a
    /// good read of the gate I/O, the heartbeat it watches once a second.
    pub async fn poll(&mut self) -> Input {
        let weighbridge = match &mut self.weighbridge {
            Some(wb) => Some(wb.read_status().await.map_err(|e| e.to_string())),
            None => None,
        };
        let io = self.io.read_status().await.map_err(|e| e.to_string());
        if io.is_ok()
            && self
                .last_heartbeat
                .is_none_or(|t| t.elapsed() >= HEARTBEAT_EVERY)
        {
            self.heartbeat = self.heartbeat.wrapping_add(1);
            if let Err(e) = self.io.write_heartbeat(self.heartbeat).await {
                warn!(gate = %self.gate, error = %e, "could not write the gate heartbeat");
            }
            self.last_heartbeat = Some(Instant::now());
        }
        Input::Poll { io, weighbridge }
    }

    /// Command the barrier; `true` once the device holds the command.
    pub async fn command(&mut self, command: BarrierCommand) -> bool {
        match self.io.command_barrier(command).await {
            Ok(()) => {
                info!(gate = %self.gate, ?command, "barrier commanded");
                true
            }
            Err(e) => {
                warn!(gate = %self.gate, ?command, error = %e, "barrier command failed");
                false
            }
        }
    }

    /// Show `text` on the LED (skipped when it already shows it).
    pub async fn show_led(&mut self, text: &str) {
        if self.led == text {
            return;
        }
        match self.io.show_led(text).await {
            Ok(()) => text.clone_into(&mut self.led),
            Err(e) => warn!(gate = %self.gate, text, error = %e, "could not write the LED"),
        }
    }

    /// What the LED shows, as last written.
    pub fn led_text(&self) -> &String {
        &self.led
    }

    /// Report a device's health.
    pub fn report(&self, device: Device, up: bool, detail: String) {
        let state = if up { State::Ok } else { State::Down };
        self.health.set(&device.name(&self.gate), state, detail);
    }
}
