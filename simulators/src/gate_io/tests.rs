//! The gate's request handling and physics, without sockets.

use super::*;
use customs_edge_devices::gate_io::map::{LED_WORDS, encode_led};

fn map() -> GateIoMap {
    GateIoMap {
        unit_id: 3,
        status_base: 1000,
        command_base: 2000,
    }
}

fn gate() -> GateDevice {
    GateDevice::new(GateSimConfig::default())
}

fn at(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

fn call(d: &mut GateDevice, ms: u64, req: Request<'static>) -> Result<Response, ExceptionCode> {
    d.tick(at(ms));
    handle(d, at(ms), map(), req)
}

fn status(d: &mut GateDevice, ms: u64) -> GateStatus {
    let Ok(Response::ReadHoldingRegisters(words)) =
        call(d, ms, Request::ReadHoldingRegisters(1000, STATUS_LEN))
    else {
        panic!("status read failed")
    };
    GateStatus::decode(&words).unwrap()
}

#[test]
fn barrier_opens_over_its_travel_time_and_reports_position() {
    let mut d = gate();
    assert!(status(&mut d, 0).inputs.closed);
    call(&mut d, 0, Request::WriteSingleRegister(2001, 1)).unwrap();
    let half = status(&mut d, 1_500);
    assert_eq!(half.position_pct, 50);
    assert!(!half.inputs.open && !half.inputs.closed);
    let open = status(&mut d, 3_000);
    assert!(open.inputs.open);
    assert_eq!(open.position_pct, 100);
    let kinds: Vec<_> = d.events().iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [BarrierEventKind::OpenStarted, BarrierEventKind::Opened]
    );
    assert_eq!(d.events()[1].at, at(3_000));
}

#[test]
fn close_on_an_occupied_loop_is_refused_and_changes_nothing() {
    let mut d = gate();
    call(&mut d, 0, Request::WriteSingleRegister(2001, 1)).unwrap();
    d.set_loop(at(3_500), true, true);
    assert_eq!(
        call(&mut d, 4_000, Request::WriteSingleRegister(2001, 2)),
        Err(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(d.command_registers()[1], 1, "command still open");
    assert!(status(&mut d, 8_000).inputs.open);
    assert_eq!(
        d.events().last().unwrap().kind,
        BarrierEventKind::CloseRefused
    );
    assert!(!d.closed_on_occupied_loop());
}

#[test]
fn a_vehicle_on_the_loop_while_closing_reverses_the_barrier() {
    let mut d = gate();
    call(&mut d, 0, Request::WriteSingleRegister(2001, 1)).unwrap();
    call(&mut d, 3_000, Request::WriteSingleRegister(2001, 2)).unwrap();
    d.set_loop(at(4_000), false, true);
    let s = status(&mut d, 10_000);
    assert!(s.inputs.open && s.inputs.loop_before);
    assert_eq!(d.command_registers()[1], 1, "reads back as open");
    assert!(
        d.events()
            .iter()
            .any(|e| e.kind == BarrierEventKind::Reversed)
    );
    d.set_loop(at(10_000), false, false);
    call(&mut d, 10_000, Request::WriteSingleRegister(2001, 2)).unwrap();
    assert!(status(&mut d, 13_000).inputs.closed);
    assert!(!d.closed_on_occupied_loop());
}

#[test]
fn a_fault_stops_the_barrier_and_refuses_commands() {
    let mut d = gate();
    call(&mut d, 0, Request::WriteSingleRegister(2001, 1)).unwrap();
    d.set_fault(at(600), Some(GateFault::BarrierDrive));
    let s = status(&mut d, 5_000);
    assert_eq!(s.position_pct, 20);
    assert!(s.inputs.fault);
    assert_eq!(s.fault, Some(GateFault::BarrierDrive));
    assert_eq!(
        call(&mut d, 5_000, Request::WriteSingleRegister(2001, 2)),
        Err(ExceptionCode::ServerDeviceFailure)
    );
    d.set_manual(at(5_000), true);
    d.set_fault(at(5_000), None);
    assert_eq!(
        call(&mut d, 5_000, Request::WriteSingleRegister(2001, 1)),
        Err(ExceptionCode::ServerDeviceFailure)
    );
}

#[test]
fn led_text_is_written_whole_and_read_back() {
    let mut d = gate();
    let words = encode_led("核放单未审批").unwrap();
    let req = Request::ReadWriteMultipleRegisters(2002, LED_WORDS + 1, 2002, words.clone().into());
    assert_eq!(
        call(&mut d, 0, req),
        Ok(Response::ReadWriteMultipleRegisters(words))
    );
    assert_eq!(d.led_text(), "核放单未审批");
    // Too long a length, or an unpaired surrogate: refused, the old text stays.
    assert_eq!(
        call(&mut d, 0, Request::WriteSingleRegister(2002, 33)),
        Err(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(
        call(&mut d, 0, Request::WriteSingleRegister(2003, 0xD800)),
        Err(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(d.led_text(), "核放单未审批");
}

#[test]
fn heartbeat_is_echoed_and_bad_requests_are_refused() {
    let mut d = gate();
    call(&mut d, 0, Request::WriteSingleRegister(2000, 77)).unwrap();
    assert_eq!(status(&mut d, 0).controller_heartbeat_echo, 77);
    assert_eq!(status(&mut d, 1_000).heartbeat, 10);
    assert_eq!(
        call(&mut d, 0, Request::WriteSingleRegister(2001, 3)),
        Err(ExceptionCode::IllegalDataValue)
    );
    for req in [
        Request::WriteSingleRegister(1000, 1),
        Request::ReadHoldingRegisters(999, 2),
        Request::ReadHoldingRegisters(2000, COMMAND_LEN + 1),
    ] {
        assert_eq!(call(&mut d, 0, req), Err(ExceptionCode::IllegalDataAddress));
    }
    assert_eq!(
        call(&mut d, 0, Request::ReadCoils(0, 1)),
        Err(ExceptionCode::IllegalFunction)
    );
}
