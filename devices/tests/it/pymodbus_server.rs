//! The line PLC driver against a PLC no one here wrote: a pymodbus server
//! (`tests/conformance/pymodbus_plc.py`) holding the register map of `map.rs`, encoded on
//! the Python side from the documented offsets.
//!
//! The server runs in the virtualenv that `scripts/conformance.sh setup` makes; its python
//! is `$CUSTOMS_EDGE_PYMODBUS_PYTHON` (exported by that script), else
//! `<target dir>/conformance-venv/bin/python`. A missing venv fails the tests with a
//! message saying how to make it; `CUSTOMS_EDGE_SKIP_PYMODBUS=1` skips them instead.
//! Each test starts its own server on a free loopback port and kills it when done.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use customs_edge_devices::line_plc::{LinePlc, PlcError, PlcErrorKind, RegisterMap};
use tokio::time::Instant;
use tokio_modbus::ExceptionCode;

/// How long the server may take to start (python, pymodbus import) on a busy CI machine.
const START: Duration = Duration::from_secs(30);
/// Timeout of each driver request.
const TIMEOUT: Duration = Duration::from_secs(2);
/// The driver's default poll period, used when waiting for the PLC heartbeat to move.
const POLL: Duration = Duration::from_millis(10);

/// The workspace root (the parent of this crate).
fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("devices/ is inside the workspace")
}

/// The venv python, or `None` when the tests are to be skipped.
fn venv_python() -> Option<PathBuf> {
    if std::env::var("CUSTOMS_EDGE_SKIP_PYMODBUS").as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED: CUSTOMS_EDGE_SKIP_PYMODBUS=1: the driver is not tested against pymodbus"
        );
        return None;
    }
    let python = std::env::var_os("CUSTOMS_EDGE_PYMODBUS_PYTHON").map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map_or_else(|| PathBuf::from("target"), PathBuf::from);
            workspace_root()
                .join(target)
                .join("conformance-venv/bin/python")
        },
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "no pymodbus virtualenv python at {}: run `scripts/conformance.sh setup` first \
         (or set CUSTOMS_EDGE_SKIP_PYMODBUS=1 to skip these tests)",
        python.display()
    );
    Some(python)
}

/// A running pymodbus PLC; killed (and reaped) when dropped.
struct PymodbusPlc {
    child: Child,
    addr: SocketAddr,
}

impl Drop for PymodbusPlc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PymodbusPlc {
    /// Start the server with `args`; `None` when the tests are skipped.
    fn start(args: &[&str]) -> Option<Self> {
        let python = venv_python()?;
        let script = workspace_root().join("tests/conformance/pymodbus_plc.py");
        let mut child = Command::new(&python)
            .arg(&script)
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // Kept open while we live: the server also exits when this pipe closes.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} {}: {e}",
                    python.display(),
                    script.display()
                )
            });
        let stdout = child.stdout.take().expect("stdout is piped");
        // The guard owns the child from here, so a failed start still kills it.
        let mut plc = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
            let _ = tx.send(read);
        });
        let line = match rx.recv_timeout(START) {
            Ok(Ok(line)) if !line.is_empty() => line,
            Ok(Ok(_)) => panic!(
                "the pymodbus PLC exited before it was ready ({:?}); see its stderr above",
                plc.child.try_wait()
            ),
            Ok(Err(e)) => panic!("cannot read the pymodbus PLC's stdout: {e}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("the pymodbus PLC did not say it was ready within {START:?}")
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("the thread reading the pymodbus PLC's stdout died")
            }
        };
        let port: u16 = json_field(&line, "port")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in the ready line {line:?}"));
        plc.addr.set_port(port);
        Some(plc)
    }

    fn driver(&self, map: RegisterMap) -> LinePlc {
        LinePlc::new(self.addr, map, TIMEOUT)
    }
}

/// The raw value of `"name": value` in a flat JSON object line (quotes stripped).
fn json_field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":");
    let rest = &line[line.find(&key)? + key.len()..];
    let end = rest.find([',', '}'])?;
    Some(rest[..end].trim().trim_matches('"'))
}

fn assert_exception(result: Result<(), PlcError>, expected: ExceptionCode) {
    match result {
        Err(err) if err.exception().is_some() => {
            assert_eq!(err.exception(), Some(expected), "{err}");
            assert_eq!(err.kind(), PlcErrorKind::Device);
        }
        other => panic!("expected Modbus exception {expected:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn driver_decodes_the_status_block_pymodbus_serves() {
    let Some(server) = PymodbusPlc::start(&["--belt-speed", "500"]) else {
        return;
    };
    let mut plc = server.driver(RegisterMap::default());
    let status = plc.read_status().await.expect("status block decodes");

    assert!(status.flags.running && status.flags.xray_running);
    assert!(!status.flags.estop && !status.flags.fault && !status.flags.scale_fault);
    assert_eq!((status.belt_speed_mm_s, status.fault), (500, None));

    let (entries, lost) = status.entries_since(0);
    assert_eq!(lost, 0);
    let entries: Vec<_> = entries
        .iter()
        .map(|e| (e.tracking_no, e.length_mm, e.entered_ms))
        .collect();
    assert_eq!(
        entries,
        (1..=7)
            .map(|t| (t, 300 + 20 * t, 100 * t))
            .collect::<Vec<_>>()
    );
    assert_eq!(status.clock_ms, 1000);

    let (weights, lost) = status.weights_since(0);
    assert_eq!(lost, 0);
    let weights: Vec<_> = weights
        .iter()
        .map(|w| (w.tracking_no, w.weight_g, w.stable))
        .collect();
    let expected: Vec<_> = (1..=6).map(|t| (t, 1000 + 50 * t, t != 6)).collect();
    assert_eq!(weights, expected, "parcel 6's weighing is the unstable one");

    let (drops, lost) = status.drops_since(0);
    assert_eq!(lost, 0);
    let drops: Vec<_> = drops.iter().map(|d| (d.tracking_no, d.lane)).collect();
    assert_eq!(drops, [(1, 1), (2, 2), (3, 1), (4, 3), (5, 1)]);
    assert_eq!(status.lane_drops, [3, 1, 1, 0, 0, 0, 0, 0]);
    assert_eq!((status.cmd_ack_tracking, status.cmd_ack_lane), (5, 1));
}

#[tokio::test]
async fn plc_heartbeat_advances_between_polls() {
    let Some(server) = PymodbusPlc::start(&[]) else {
        return;
    };
    let mut plc = server.driver(RegisterMap::default());
    let first = plc.read_status().await.unwrap().plc_heartbeat;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(POLL).await;
        if plc.read_status().await.unwrap().plc_heartbeat != first {
            break;
        }
        assert!(Instant::now() < deadline, "PLC heartbeat stuck at {first}");
    }
}

#[tokio::test]
async fn lane_command_is_written_read_back_and_acked() {
    let Some(server) = PymodbusPlc::start(&[]) else {
        return;
    };
    let mut plc = server.driver(RegisterMap::default());
    plc.write_lane(7, 2)
        .await
        .expect("lane command written and read back");
    let status = plc.read_status().await.unwrap();
    assert_eq!((status.cmd_ack_tracking, status.cmd_ack_lane), (7, 2));

    plc.write_belt_run(false).await.expect("belt stop written");
    let status = plc.read_status().await.unwrap();
    assert!(!status.flags.running);
    assert_eq!(status.belt_speed_mm_s, 0);
    plc.write_belt_run(true).await.expect("belt run written");
    assert!(plc.read_status().await.unwrap().flags.running);
}

#[tokio::test]
async fn controller_heartbeat_is_echoed_by_the_plc() {
    let Some(server) = PymodbusPlc::start(&[]) else {
        return;
    };
    let mut plc = server.driver(RegisterMap::default());
    for beat in [1, 4242, u16::MAX] {
        plc.write_heartbeat(beat).await.expect("heartbeat written");
        let status = plc.read_status().await.unwrap();
        assert_eq!(status.controller_heartbeat_echo, beat);
    }
}

#[tokio::test]
async fn lane_out_of_range_is_a_device_exception_and_changes_nothing() {
    let Some(server) = PymodbusPlc::start(&["--lanes", "3"]) else {
        return;
    };
    let mut plc = server.driver(RegisterMap::default());
    assert_exception(plc.write_lane(8, 9).await, ExceptionCode::IllegalDataValue);
    assert!(plc.is_connected(), "an exception keeps the connection");
    let status = plc.read_status().await.unwrap();
    assert_eq!((status.cmd_ack_tracking, status.cmd_ack_lane), (5, 1));
}

#[tokio::test]
async fn wrong_unit_id_is_a_device_exception_not_a_timeout() {
    let Some(server) = PymodbusPlc::start(&["--unit-id", "1"]) else {
        return;
    };
    let mut plc = server.driver(RegisterMap {
        unit_id: 2,
        ..RegisterMap::default()
    });
    let started = Instant::now();
    let result = plc.read_status().await.map(|_| ());
    assert_exception(result, ExceptionCode::GatewayTargetDevice);
    assert!(started.elapsed() < TIMEOUT, "answered, not timed out");
    assert!(plc.is_connected());
}

#[tokio::test]
async fn driver_follows_a_register_map_moved_by_config() {
    let args = [
        "--unit-id",
        "17",
        "--status-base",
        "3000",
        "--command-base",
        "40000",
    ];
    let Some(server) = PymodbusPlc::start(&args) else {
        return;
    };
    let moved = RegisterMap {
        unit_id: 17,
        status_base: 3000,
        command_base: 40000,
    };
    assert!(moved.problems().is_empty());
    let mut plc = server.driver(moved);
    assert_eq!(plc.read_status().await.unwrap().entry_count, 7);
    plc.write_lane(6, 3)
        .await
        .expect("lane command at the moved base");
    plc.write_heartbeat(9)
        .await
        .expect("heartbeat at the moved base");
    let status = plc.read_status().await.unwrap();
    assert_eq!((status.cmd_ack_tracking, status.cmd_ack_lane), (6, 3));
    assert_eq!(status.controller_heartbeat_echo, 9);

    let mut unmoved = server.driver(RegisterMap {
        unit_id: 17,
        ..RegisterMap::default()
    });
    let result = unmoved.read_status().await.map(|_| ());
    assert_exception(result, ExceptionCode::IllegalDataAddress);
}
