//! Modbus devices: each line PLC, gate I/O module and weighbridge. Reachable (TCP), then
//! its blocks read in one request each and decoded with the same map the driver uses; a
//! Modbus exception or a block that does not decode is turned into the config key to look
//! at. Only reads: nothing is written to a device.

use std::net::SocketAddr;
use std::time::Duration;

use customs_edge_devices::gate_io::GateStatus;
use customs_edge_devices::line_plc::LineStatus;
use customs_edge_devices::line_plc::map::{COMMAND_LEN, STATUS_LEN};
use customs_edge_devices::modbus_link::{LinkError, ModbusLink};
use customs_edge_devices::weighbridge::WeighbridgeStatus;
use tokio_modbus::ExceptionCode;

use super::Row;
use crate::config::{GateConfig, LineConfig};

/// Where a block is and what it is called, for messages.
struct Block<'a> {
    subject: &'a str,
    check: &'a str,
    /// Config path of the device (`lines[0].plc`).
    at: &'a str,
    /// Config key of the unit id and of the block's base.
    unit_key: &'a str,
    base_key: &'a str,
    unit: u8,
    base: u16,
    len: u16,
}

/// A line PLC: reachable, status block, heartbeat advancing, command block readable.
pub(super) async fn plc(i: usize, config: LineConfig, timeout: Duration) -> Vec<Row> {
    let subject = format!("line {} plc", config.id);
    let at = format!("lines[{i}].plc");
    let plc = &config.plc;
    let mut link = match connect(&plc.address, plc.unit_id, timeout).await {
        Ok(link) => link,
        Err(why) => return vec![unreachable(&subject, &format!("{at}.address"), &why)],
    };
    let mut rows = vec![Row::ok(
        &subject,
        "reachable",
        format!("{} accepts Modbus TCP", plc.address),
    )];
    let status = Block {
        subject: &subject,
        check: "status block",
        at: &at,
        unit_key: "unit_id",
        base_key: "status_base",
        unit: plc.unit_id,
        base: plc.status_base,
        len: STATUS_LEN,
    };
    let Some(words) = read(&mut link, &status, &mut rows).await else {
        return rows;
    };
    let first = match LineStatus::decode(&words) {
        Ok(s) => s,
        Err(e) => {
            rows.push(undecodable(
                &status,
                &e.to_string(),
                "devices/src/line_plc/map.rs",
            ));
            return rows;
        }
    };
    rows.push(Row::ok(
        &subject,
        "status block",
        format!(
            "decodes: belt {} at {} mm/s, e-stop {}, fault {}, X-ray {}",
            if first.flags.running {
                "running"
            } else {
                "stopped"
            },
            first.belt_speed_mm_s,
            if first.flags.estop {
                "pressed"
            } else {
                "clear"
            },
            first
                .fault
                .map_or_else(|| "none".to_owned(), |f| format!("{f:?}")),
            if first.flags.xray_fault {
                "faulted"
            } else if first.flags.xray_running {
                "running"
            } else {
                "idle"
            },
        ),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    match link
        .read_holding("reading the status block", plc.status_base, STATUS_LEN)
        .await
    {
        Ok(again) if again[0] != first.plc_heartbeat => rows.push(Row::ok(
            &subject,
            "heartbeat",
            format!("advancing ({} → {})", first.plc_heartbeat, again[0]),
        )),
        Ok(_) => rows.push(Row::fail(
            &subject,
            "heartbeat",
            format!(
                "frozen at {} for 300 ms: the PLC program is not running (or {at}.status_base \
                 points at a block that is not the status block)",
                first.plc_heartbeat
            ),
        )),
        Err(e) => rows.push(Row::fail(
            &subject,
            "heartbeat",
            format!("second read failed: {e}"),
        )),
    }
    let command = Block {
        check: "command block",
        base_key: "command_base",
        base: plc.command_base,
        len: COMMAND_LEN,
        ..status
    };
    if let Some(words) = read(&mut link, &command, &mut rows).await {
        rows.push(Row::ok(
            &subject,
            "command block",
            format!(
                "readable at {} (belt run request {})",
                plc.command_base, words[3]
            ),
        ));
    }
    rows
}

/// A gate lane's I/O module: reachable, status block.
pub(super) async fn gate_io(i: usize, gate: GateConfig, timeout: Duration) -> Vec<Row> {
    let subject = format!("gate {} i/o", gate.id);
    let at = format!("gates[{i}]");
    let map = gate.io_map();
    let mut link = match connect(&gate.io_address, map.unit_id, timeout).await {
        Ok(link) => link,
        Err(why) => return vec![unreachable(&subject, &format!("{at}.io_address"), &why)],
    };
    let mut rows = vec![Row::ok(
        &subject,
        "reachable",
        format!("{} accepts Modbus TCP", gate.io_address),
    )];
    let block = Block {
        subject: &subject,
        check: "status block",
        at: &at,
        unit_key: "io_unit_id",
        base_key: "io_status_base",
        unit: map.unit_id,
        base: map.status_base,
        len: customs_edge_devices::gate_io::map::STATUS_LEN,
    };
    if let Some(words) = read(&mut link, &block, &mut rows).await {
        rows.push(match GateStatus::decode(&words) {
            Ok(s) => Row::ok(
                &subject,
                "status block",
                format!(
                    "decodes: barrier {} ({} %), loops {}/{}, fault {}, {}",
                    if s.is_open() {
                        "open"
                    } else if s.is_closed() {
                        "closed"
                    } else {
                        "moving"
                    },
                    s.position_pct,
                    occupied(s.inputs.loop_before),
                    occupied(s.inputs.loop_after),
                    s.fault
                        .map_or_else(|| "none".to_owned(), |f| format!("{f:?}")),
                    if s.inputs.manual {
                        "manual mode"
                    } else {
                        "remote mode"
                    },
                ),
            ),
            Err(e) => undecodable(&block, &e.to_string(), "devices/src/gate_io/map.rs"),
        });
    }
    rows
}

/// A gate lane's weighbridge: reachable, status block.
pub(super) async fn weighbridge(i: usize, gate: GateConfig, timeout: Duration) -> Vec<Row> {
    let subject = format!("gate {} weighbridge", gate.id);
    let at = format!("gates[{i}]");
    let address = gate.weighbridge_address.clone().unwrap_or_default();
    let map = gate.weighbridge_map();
    let mut link = match connect(&address, map.unit_id, timeout).await {
        Ok(link) => link,
        Err(why) => {
            return vec![unreachable(
                &subject,
                &format!("{at}.weighbridge_address"),
                &why,
            )];
        }
    };
    let mut rows = vec![Row::ok(
        &subject,
        "reachable",
        format!("{address} accepts Modbus TCP"),
    )];
    let block = Block {
        subject: &subject,
        check: "status block",
        at: &at,
        unit_key: "weighbridge_unit_id",
        base_key: "weighbridge_status_base",
        unit: map.unit_id,
        base: map.status_base,
        len: customs_edge_devices::weighbridge::STATUS_LEN,
    };
    if let Some(words) = read(&mut link, &block, &mut rows).await {
        rows.push(match WeighbridgeStatus::decode(&words) {
            Ok(s) if s.flags.fault => Row::warn(
                &subject,
                "status block",
                format!(
                    "decodes, but the indicator reports a fault ({} kg)",
                    s.weight_kg
                ),
            ),
            Ok(s) => Row::ok(
                &subject,
                "status block",
                format!(
                    "decodes: {} kg, {}",
                    s.weight_kg,
                    if s.flags.stable { "stable" } else { "settling" }
                ),
            ),
            Err(e) => undecodable(&block, &e.to_string(), "devices/src/weighbridge.rs"),
        });
    }
    rows
}

fn occupied(on: bool) -> &'static str {
    if on { "occupied" } else { "free" }
}

/// A link to a device that accepts TCP connections, or why it cannot be reached.
async fn connect(address: &str, unit: u8, timeout: Duration) -> Result<ModbusLink, String> {
    let addr = resolve(address)
        .await
        .ok_or_else(|| format!("{address} does not resolve to an address"))?;
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(ModbusLink::new(addr, unit, timeout)),
        Ok(Err(e)) => Err(format!("no TCP connection to {addr}: {e}")),
        Err(_) => Err(format!("no TCP connection to {addr} within {timeout:?}")),
    }
}

/// The first address `host:port` resolves to.
pub(super) async fn resolve(address: &str) -> Option<SocketAddr> {
    tokio::net::lookup_host(address).await.ok()?.next()
}

fn unreachable(subject: &str, key: &str, why: &str) -> Row {
    Row::fail(
        subject,
        "reachable",
        format!("{why} ({key}): the device is off or unplugged, or the address or port is wrong"),
    )
}

/// Read a block; on failure push the row that says why and return `None`.
async fn read(link: &mut ModbusLink, b: &Block<'_>, rows: &mut Vec<Row>) -> Option<Vec<u16>> {
    match link.read_holding("reading a block", b.base, b.len).await {
        Ok(words) => Some(words),
        Err(e) => {
            rows.push(Row::fail(b.subject, b.check, explain(b, &e)));
            None
        }
    }
}

/// What a failed read means, naming the config key to look at.
fn explain(b: &Block<'_>, e: &LinkError) -> String {
    let (at, unit, base, end) = (
        b.at,
        b.unit,
        b.base,
        u32::from(b.base) + u32::from(b.len) - 1,
    );
    match e {
        LinkError::Exception { code, .. } => match code {
            ExceptionCode::GatewayTargetDevice | ExceptionCode::GatewayPathUnavailable => format!(
                "Modbus exception {code}: no unit {unit} answers at this address; check \
                 {at}.{} ({unit})",
                b.unit_key
            ),
            ExceptionCode::IllegalDataAddress => format!(
                "Modbus exception {code}: registers {base}..={end} do not exist on the device; \
                 check {at}.{} ({base}) against its register map",
                b.base_key
            ),
            ExceptionCode::IllegalFunction => format!(
                "Modbus exception {code}: the device does not read holding registers (FC03)"
            ),
            other => format!("Modbus exception {other} reading registers {base}..={end}"),
        },
        LinkError::Timeout { timeout, .. } => format!(
            "connected, but no answer to a read within {timeout:?}: a gateway drops requests \
             for a unit it does not have; check {at}.{} ({unit})",
            b.unit_key
        ),
        other => other.to_string(),
    }
}

fn undecodable(b: &Block<'_>, error: &str, map: &str) -> Row {
    Row::fail(
        b.subject,
        b.check,
        format!(
            "registers {}.. do not decode as the register map says ({error}); check {}.{} \
             ({}) against {map}",
            b.base, b.at, b.base_key, b.base
        ),
    )
}
