//! A lane's gate I/O and weighbridge as the lane loop sees them: the last status, the
//! last weight, the LED text shown, link health with alarms, and the controller heartbeat.

use std::time::{Duration, Instant};

use customs_edge_devices::gate_io::{BarrierCommand, GateIo, GateStatus};
use customs_edge_devices::weighbridge::Weighbridge;
use tracing::{info, warn};

use crate::gates::verdict::Weight;
use crate::health::{Health, State};
use crate::store::{Store, alarms};

/// Failed polls in a row before a device counts as lost (one failure is a hiccup).
const LOST_AFTER: u32 = 3;
/// How often the controller heartbeat is written.
const HEARTBEAT_EVERY: Duration = Duration::from_secs(1);

/// One device's link state.
#[derive(Debug, Default)]
struct LinkState {
    failures: u32,
    alarmed: bool,
}

/// The lane's devices.
pub struct DeviceLink {
    gate: String,
    io: GateIo,
    weighbridge: Option<Weighbridge>,
    health: Health,
    io_state: LinkState,
    wb_state: LinkState,
    weight: Weight,
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
            io_state: LinkState::default(),
            wb_state: LinkState::default(),
            weight: Weight::Missing,
            led: String::new(),
            heartbeat: 0,
            last_heartbeat: None,
        }
    }

    fn source(&self) -> String {
        format!("gate:{}", self.gate)
    }

    /// Read the gate I/O (and the weighbridge); `None` when the gate I/O could not be read.
    pub async fn poll(&mut self, store: &Store) -> Option<GateStatus> {
        if let Some(wb) = &mut self.weighbridge {
            let read = wb.read_status().await;
            self.weight = match &read {
                Ok(s) => match s.usable_weight_kg() {
                    Some(kg) => Weight::Stable(f64::from(kg)),
                    None if s.flags.fault || s.flags.overload => Weight::Missing,
                    None => Weight::Unstable(f64::from(s.weight_kg)),
                },
                Err(_) => Weight::Missing,
            };
            let error = read.err().map(|e| e.to_string());
            let name = format!("gate:{}:weighbridge", self.gate);
            track(
                &self.health,
                store,
                &name,
                "weighbridge_link",
                &mut self.wb_state,
                error,
            )
            .await;
        }
        let read = self.io.read_status().await;
        let error = read.as_ref().err().map(ToString::to_string);
        let name = format!("gate:{}:io", self.gate);
        track(
            &self.health,
            store,
            &name,
            "gate_io_link",
            &mut self.io_state,
            error,
        )
        .await;
        let status = read.ok()?;
        if self
            .last_heartbeat
            .is_none_or(|t| t.elapsed() >= HEARTBEAT_EVERY)
        {
            self.heartbeat = self.heartbeat.wrapping_add(1);
            if let Err(e) = self.io.write_heartbeat(self.heartbeat).await {
                warn!(gate = %self.gate, error = %e, "could not write the gate heartbeat");
            }
            self.last_heartbeat = Some(Instant::now());
        }
        Some(status)
    }

    /// The weighbridge's last word.
    pub fn weight(&self) -> Weight {
        self.weight
    }

    /// Whether the lane has a weighbridge.
    pub fn has_weighbridge(&self) -> bool {
        self.weighbridge.is_some()
    }

    /// Whether the gate I/O answered the last poll.
    pub fn is_ok(&self) -> bool {
        self.io_state.failures == 0
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

    /// Raise an alarm for this lane.
    pub async fn alarm(&mut self, store: &Store, kind: &'static str, detail: &str) {
        warn!(gate = %self.gate, alarm = kind, detail, "gate alarm");
        let (source, detail) = (self.source(), detail.to_owned());
        if let Err(e) = store
            .writer
            .write(move |tx| alarms::raise(tx, &source, kind, &detail, None))
            .await
        {
            warn!(gate = %self.gate, error = %e, "could not record the alarm");
        }
    }
}

/// Count a poll's outcome for one device; raise its alarm when it is lost and clear it
/// when it is back.
async fn track(
    health: &Health,
    store: &Store,
    name: &str,
    kind: &'static str,
    state: &mut LinkState,
    error: Option<String>,
) {
    let source = name.to_owned();
    match error {
        None => {
            health.set(name, State::Ok, "polling");
            state.failures = 0;
            if state.alarmed {
                state.alarmed = false;
                info!(device = name, "device link back");
                if let Err(e) = store
                    .writer
                    .write(move |tx| alarms::clear(tx, &source, kind))
                    .await
                {
                    warn!(device = name, error = %e, "could not clear the alarm");
                }
            }
        }
        Some(error) => {
            state.failures = state.failures.saturating_add(1);
            if state.failures >= LOST_AFTER && !state.alarmed {
                state.alarmed = true;
                health.set(name, State::Down, error.clone());
                warn!(device = name, %error, "device link lost");
                let detail = format!("{name}: {error}");
                if let Err(e) = store
                    .writer
                    .write(move |tx| alarms::raise(tx, &source, kind, &detail, None))
                    .await
                {
                    warn!(device = name, error = %e, "could not record the alarm");
                }
            }
        }
    }
}
