//! The gate I/O and weighbridge drivers against the simulated devices over real loopback
//! sockets.

use std::net::SocketAddr;
use std::time::Duration;

use customs_edge_devices::gate_io::{BarrierCommand, GateIo, GateIoError, GateIoMap, GateStatus};
use customs_edge_devices::modbus_link::{LinkError, LinkErrorKind};
use customs_edge_devices::weighbridge::{Weighbridge, WeighbridgeMap};
use customs_edge_simulators::gate_io::{self, BarrierEventKind, GateSimConfig, SimGate};
use customs_edge_simulators::weighbridge::{self, SimWeighbridge, WeighSimConfig};
use tokio::net::TcpListener;
use tokio::time::{Instant, sleep};
use tokio_modbus::ExceptionCode;
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_millis(500);
const DEADLINE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(20);

fn gate_map() -> GateIoMap {
    GateIoMap {
        unit_id: 4,
        status_base: 300,
        command_base: 400,
    }
}

async fn start_gate(gate: &SimGate, addr: SocketAddr) -> (SocketAddr, CancellationToken) {
    let listener = TcpListener::bind(addr).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(gate_io::run(
        listener,
        gate.clone(),
        gate_map(),
        shutdown.clone(),
    ));
    (addr, shutdown)
}

fn fast_gate() -> SimGate {
    SimGate::new(GateSimConfig {
        travel_time: Duration::from_millis(600),
    })
}

/// Poll the gate until `done` holds, or fail after the deadline.
async fn poll_gate(io: &mut GateIo, done: impl Fn(&GateStatus) -> bool) -> GateStatus {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(status) = io.read_status().await
            && done(&status)
        {
            return status;
        }
        assert!(Instant::now() < deadline, "gate never reached the state");
        sleep(POLL).await;
    }
}

#[tokio::test]
async fn barrier_opens_fully_and_a_close_on_an_occupied_loop_is_refused() {
    let gate = fast_gate();
    let (addr, _shutdown) = start_gate(&gate, "127.0.0.1:0".parse().unwrap()).await;
    let mut io = GateIo::new(addr, gate_map(), TIMEOUT);
    assert!(io.read_status().await.unwrap().inputs.closed);

    io.command_barrier(BarrierCommand::Open).await.unwrap();
    let open = poll_gate(&mut io, |s| s.inputs.open).await;
    assert_eq!(open.position_pct, 100);

    gate.vehicle_enters_after_loop();
    let err = io.command_barrier(BarrierCommand::Close).await.unwrap_err();
    assert_eq!(err.kind(), LinkErrorKind::Device);
    assert!(
        matches!(&err, GateIoError::Link(e) if e.exception() == Some(ExceptionCode::IllegalDataValue)),
        "{err}"
    );
    let status = io.read_status().await.unwrap();
    assert!(status.inputs.open && status.inputs.loop_after);
    assert!(io.is_connected(), "a device exception keeps the connection");

    gate.vehicle_leaves_after_loop();
    io.command_barrier(BarrierCommand::Close).await.unwrap();
    poll_gate(&mut io, |s| s.inputs.closed).await;
    let kinds: Vec<_> = gate.events().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&BarrierEventKind::CloseRefused), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&BarrierEventKind::Closed));
    assert!(!gate.closed_on_occupied_loop());
}

#[tokio::test]
async fn chinese_led_text_and_heartbeat_read_back() {
    let gate = fast_gate();
    let (addr, _shutdown) = start_gate(&gate, "127.0.0.1:0".parse().unwrap()).await;
    let mut io = GateIo::new(addr, gate_map(), TIMEOUT);
    io.show_led("核放单未审批 请联系现场").await.unwrap();
    assert_eq!(gate.led_text(), "核放单未审批 请联系现场");
    let err = io.show_led(&"重量不符".repeat(9)).await.unwrap_err();
    assert!(err.to_string().contains("at most 32"), "{err}");
    assert_eq!(
        gate.led_text(),
        "核放单未审批 请联系现场",
        "nothing was sent"
    );
    io.write_heartbeat(4242).await.unwrap();
    assert_eq!(
        io.read_status().await.unwrap().controller_heartbeat_echo,
        4242
    );
}

#[tokio::test]
async fn a_stopped_gate_gives_a_transport_error_and_the_driver_reconnects() {
    let gate = fast_gate();
    let (addr, shutdown) = start_gate(&gate, "127.0.0.1:0".parse().unwrap()).await;
    let mut io = GateIo::new(addr, gate_map(), TIMEOUT);
    io.read_status().await.unwrap();
    assert_eq!(io.connections(), 1);

    shutdown.cancel();
    let deadline = Instant::now() + DEADLINE;
    let err = loop {
        match io.read_status().await {
            Err(err) => break err,
            Ok(_) => assert!(Instant::now() < deadline, "the stopped gate still answers"),
        }
        sleep(POLL).await;
    };
    assert_eq!(err.kind(), LinkErrorKind::Transport, "{err}");
    assert!(!io.is_connected());

    let (_, _shutdown) = start_gate(&gate, addr).await;
    poll_gate(&mut io, |_| true).await;
    assert_eq!(io.connections(), 2);
}

#[tokio::test]
async fn weighbridge_settles_to_the_target_and_reports_stable() {
    let scale = SimWeighbridge::new(WeighSimConfig {
        settle_time: Duration::from_millis(800),
        ..WeighSimConfig::default()
    });
    let map = WeighbridgeMap {
        unit_id: 9,
        status_base: 40,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    tokio::spawn(weighbridge::run(
        listener,
        scale.clone(),
        map,
        shutdown.clone(),
    ));
    let mut wb = Weighbridge::new(addr, map, TIMEOUT);

    wb.read_status().await.unwrap(); // connect before the load arrives
    scale.set_target(31_500);
    let first = wb.read_status().await.unwrap();
    assert!(!first.flags.stable, "{first:?}");
    let deadline = Instant::now() + DEADLINE;
    let settled = loop {
        let s = wb.read_status().await.unwrap();
        if s.flags.stable {
            break s;
        }
        assert!(Instant::now() < deadline, "never settled");
        sleep(POLL).await;
    };
    assert!((settled.weight_kg - 31_500).abs() <= 10, "{settled:?}");
    assert_eq!(settled.usable_weight_kg(), Some(settled.weight_kg));

    // The wrong unit id is a device error, named, not a timeout.
    let mut wrong = Weighbridge::new(addr, WeighbridgeMap { unit_id: 1, ..map }, TIMEOUT);
    let err = wrong.read_status().await.unwrap_err();
    assert_eq!(err.kind(), LinkErrorKind::Device, "{err}");

    shutdown.cancel();
    let deadline = Instant::now() + DEADLINE;
    let err = loop {
        match wb.read_status().await {
            Err(err) => break err,
            Ok(_) => assert!(
                Instant::now() < deadline,
                "the stopped weighbridge still answers"
            ),
        }
        sleep(POLL).await;
    };
    assert!(
        matches!(
            &err,
            customs_edge_devices::weighbridge::WeighbridgeError::Link(
                LinkError::Transport { .. } | LinkError::Timeout { .. }
            )
        ),
        "{err}"
    );
}
