//! Devices and cameras (every role may read them).
//!
//! - `GET /api/devices` — every device the site runs, one row each, from what the
//!   controller already tracks: subsystem health ([`crate::health`]), the cameras' capture
//!   counters ([`crate::video`]), the gate lanes' live views and the plate-camera
//!   listener's counters ([`crate::gates`]), the platform link's counters ([`crate::sync`]).
//!   A figure nobody tracks for a device (the plate cameras' last event) is null, never
//!   made up.
//! - `GET /api/cameras/{id}/frame.jpg` and `GET /api/cameras/{id}/live`: see [`camera`].

use std::cmp::Ordering;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{AnyRole, Denied, NotLoggedIn, Require};
use super::{AppState, WebState};
use crate::health::{Component, State as HealthState};
use crate::video::{CameraSnapshot, CameraState};

mod camera;

/// This module's routes, with their OpenAPI descriptions.
pub(super) fn routes() -> OpenApiRouter<WebState> {
    OpenApiRouter::new()
        .routes(routes!(devices))
        .routes(routes!(camera::frame))
        .routes(routes!(camera::live))
}

/// What kind of device a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum DeviceKind {
    /// A sorting line's PLC (Modbus TCP); the dynamic scale is read through it.
    LinePlc,
    /// A barcode scanner of a line.
    Scanner,
    /// A line's dynamic scale (read through its PLC).
    Scale,
    /// A line's X-ray image feed (a directory the machine writes to).
    XrayFeed,
    /// A captured video camera.
    Camera,
    /// A gate lane's I/O (loops, barrier, LED).
    GateIo,
    /// A gate lane's weighbridge.
    Weighbridge,
    /// The plate cameras, as the listener they post their events to sees them.
    PlateCamera,
    /// The link to the central platform (the MQTT broker).
    PlatformLink,
}

/// A device's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum DeviceState {
    /// Working.
    Ok,
    /// Working with a problem (belt stopped, last poll failed, snapshots only).
    Degraded,
    /// Not working.
    Down,
    /// Not connected yet.
    Starting,
}

impl From<HealthState> for DeviceState {
    fn from(s: HealthState) -> Self {
        match s {
            HealthState::Ok => Self::Ok,
            HealthState::Degraded => Self::Degraded,
            HealthState::Down => Self::Down,
            HealthState::Starting => Self::Starting,
        }
    }
}

/// One device.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(super) struct Device {
    /// Unique and stable: `line:L1:plc`, `line:L1:scanner:top`, `line:L1:xray`,
    /// `camera:<id>`, `gate:K1:io`, `gate:K1:weighbridge`, `plate_cameras`, `platform`.
    id: String,
    /// What it is.
    kind: DeviceKind,
    /// Its name: the scanner's or camera's own, else what it is.
    name: String,
    /// The line or gate lane it belongs to; null for site-wide devices.
    line_or_gate: Option<String>,
    /// Its state.
    state: DeviceState,
    /// What is going on, in words.
    detail: String,
    /// When the state last changed (RFC 3339 UTC); null when not known.
    since: Option<String>,
    /// When it was last seen working (RFC 3339 UTC): a PLC's or gate I/O's last good poll,
    /// a scanner's or X-ray feed's last (re)connection, a camera's newest frame, the
    /// platform's last acknowledgement; null when never, or not tracked.
    last_seen: Option<String>,
    /// Times it came back after a problem since start (a camera: its stream reopened);
    /// null where not counted.
    reconnects: Option<u64>,
    /// Times it went down since start (a camera: its faults; the plate cameras: events
    /// refused and failed logins); null where not counted.
    errors: Option<u64>,
}

impl Device {
    fn from_health(
        id: &str,
        kind: DeviceKind,
        name: &str,
        owner: Option<&str>,
        c: &Component,
    ) -> Self {
        Self {
            id: id.to_owned(),
            kind,
            name: name.to_owned(),
            line_or_gate: owner.map(str::to_owned),
            state: c.state.into(),
            detail: c.detail.clone(),
            since: Some(c.since.clone()),
            last_seen: c.last_ok.map(crate::store::timestamp),
            reconnects: Some(c.recoveries),
            errors: Some(c.failures),
        }
    }
}

/// Every device the site runs, with its state.
#[utoipa::path(
    get,
    path = "/api/devices",
    tag = "devices",
    security(("session" = []), ("bearer" = [])),
    responses(
        (status = 200, description = "Every device: PLCs, scanners, X-ray feeds, cameras, gate \
            I/O, weighbridges, the plate cameras, the platform link", body = Vec<Device>),
        NotLoggedIn,
    )
)]
pub(super) async fn devices(
    State(state): State<AppState>,
    _who: Require<AnyRole>,
) -> Result<Json<Vec<Device>>, Denied> {
    let health = state.health.snapshot();
    let mut list = Vec::new();
    for (name, c) in &health {
        if let Some(d) = from_health(name, c) {
            list.push(d);
        }
    }
    if let Some(video) = &state.video {
        list.extend(
            video
                .cameras()
                .iter()
                .map(|cam| camera_row(cam, health.get(&format!("camera:{}", cam.id)))),
        );
    }
    if let Some(gates) = &state.gates {
        gate_rows(gates, &mut list);
    }
    if let Some(sync) = &state.sync {
        // The platform's last acknowledgement is the last time it was heard from.
        let acked = state
            .store
            .reader
            .read(|c| {
                Ok(
                    c.query_row("SELECT max(acked_at) FROM outbox_streams", [], |r| {
                        r.get::<_, Option<String>>(0)
                    })?,
                )
            })
            .await?;
        let s = sync.snapshot();
        if let Some(row) = list.iter_mut().find(|d| d.kind == DeviceKind::PlatformLink) {
            row.last_seen = row.last_seen.take().max(acked);
            row.reconnects = Some(s.connects.saturating_sub(1));
            row.detail = format!(
                "{}; {} published, {} acknowledged, {} dead letters",
                row.detail, s.published, s.acks, s.dead_letters
            );
        }
    }
    for belt in &state.belts {
        let belt = belt.borrow();
        let id = format!("line:{}:plc", belt.line_id);
        if let Some(plc) = list.iter_mut().find(|d| d.id == id)
            && !belt.link_up
            && plc.state == DeviceState::Ok
        {
            plc.state = DeviceState::Degraded;
            plc.detail = format!("{}; the last poll failed", plc.detail);
        }
    }
    list.sort_by(order);
    Ok(Json(list))
}

/// Lines first, then cameras, gates, the plate cameras, the platform; within a kind by
/// line or gate, then id.
fn order(a: &Device, b: &Device) -> Ordering {
    let group = |d: &Device| match d.kind {
        DeviceKind::LinePlc | DeviceKind::Scanner | DeviceKind::Scale | DeviceKind::XrayFeed => 0,
        DeviceKind::Camera => 1,
        DeviceKind::GateIo | DeviceKind::Weighbridge => 2,
        DeviceKind::PlateCamera => 3,
        DeviceKind::PlatformLink => 4,
    };
    (group(a), &a.line_or_gate, a.kind, &a.id).cmp(&(group(b), &b.line_or_gate, b.kind, &b.id))
}

/// A device named in the health registry; cameras are listed from the video hub instead.
fn from_health(name: &str, c: &Component) -> Option<Device> {
    let parts: Vec<&str> = name.splitn(4, ':').collect();
    let (kind, label, owner) = match parts.as_slice() {
        ["line", line, "plc"] => (DeviceKind::LinePlc, "PLC", Some(*line)),
        ["line", line, "scanner", scanner] => (DeviceKind::Scanner, *scanner, Some(*line)),
        ["line", line, "scale"] => (DeviceKind::Scale, "dynamic scale", Some(*line)),
        ["line", line, "xray"] => (DeviceKind::XrayFeed, "X-ray feed", Some(*line)),
        ["gate", gate, "io"] => (DeviceKind::GateIo, "gate I/O", Some(*gate)),
        ["gate", gate, "weighbridge"] => (DeviceKind::Weighbridge, "weighbridge", Some(*gate)),
        ["platform"] => (DeviceKind::PlatformLink, "platform broker", None),
        _ => return None,
    };
    Some(Device::from_health(name, kind, label, owner, c))
}

/// A captured camera: its health (which already weighs snapshots standing in), its
/// counters, its newest frame.
fn camera_row(cam: &CameraSnapshot, health: Option<&Component>) -> Device {
    let (state, detail, since) = if let Some(c) = health {
        (c.state.into(), c.detail.clone(), c.since.clone())
    } else {
        let state = match cam.state {
            CameraState::Streaming => DeviceState::Ok,
            CameraState::Starting | CameraState::Connecting => DeviceState::Starting,
            CameraState::Down | CameraState::Stopped => DeviceState::Down,
        };
        let detail = format!("{:?}", cam.state).to_lowercase();
        (state, detail, crate::store::timestamp(cam.since))
    };
    let detail = if let (CameraState::Streaming, Some((w, h))) = (cam.state, cam.size) {
        format!("{detail}; {w}×{h} at {:.1} fps", cam.fps)
    } else {
        detail
    };
    Device {
        id: format!("camera:{}", cam.id),
        kind: DeviceKind::Camera,
        name: if cam.name.trim().is_empty() {
            cam.id.clone()
        } else {
            cam.name.clone()
        },
        line_or_gate: None,
        state,
        detail,
        since: Some(since),
        last_seen: cam.last_frame_at.map(crate::store::timestamp),
        reconnects: Some(cam.reconnects),
        errors: Some(cam.errors.values().sum()),
    }
}

/// The lanes' I/O rows get what the lane saw on its last poll; the plate cameras are one
/// row, as the listener counts them all together.
fn gate_rows(gates: &crate::gates::Gates, list: &mut Vec<Device>) {
    for view in gates.views() {
        let id = format!("gate:{}:io", view.gate);
        let summary = format!(
            "{} lane, {:?}, barrier {} %",
            view.direction, view.phase, view.barrier_position_pct
        )
        .to_lowercase();
        match list.iter_mut().find(|d| d.id == id) {
            Some(io) => {
                if !view.link_ok && io.state == DeviceState::Ok {
                    io.state = DeviceState::Degraded;
                    io.detail = format!("{}; the last poll failed", io.detail);
                }
                io.detail = format!("{}; {summary}", io.detail);
            }
            None => list.push(Device {
                id,
                kind: DeviceKind::GateIo,
                name: "gate I/O".into(),
                line_or_gate: Some(view.gate.clone()),
                state: DeviceState::Starting,
                detail: format!("not polled yet; {summary}"),
                since: None,
                last_seen: None,
                reconnects: None,
                errors: None,
            }),
        }
    }
    let s = gates.cameras.snapshot();
    let refused: u64 = s.rejected.values().sum();
    list.push(Device {
        id: "plate_cameras".into(),
        kind: DeviceKind::PlateCamera,
        name: format!("plate cameras (listener {})", gates.camera_addr),
        line_or_gate: None,
        state: DeviceState::Ok,
        detail: format!(
            "{} reads accepted ({} without a plate), {refused} events refused, {} authentication failures",
            s.accepted, s.no_reads, s.auth_failures
        ),
        since: None,
        last_seen: None,
        reconnects: None,
        errors: Some(refused + s.auth_failures),
    });
}
