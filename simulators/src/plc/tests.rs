//! The PLC's request handling, without sockets.

use super::*;
use crate::conveyor::LineConfig;
use crate::parcel::NewParcel;
use customs_edge_devices::line_plc::LineStatus;

fn line() -> Conveyor {
    Conveyor::new("L1", LineConfig::default(), chrono::Utc::now(), true)
}

fn map() -> RegisterMap {
    RegisterMap {
        unit_id: 1,
        status_base: 1000,
        command_base: 2000,
    }
}

fn call(c: &mut Conveyor, req: Request<'static>) -> Result<Response, ExceptionCode> {
    handle(c, Duration::ZERO, map(), req)
}

#[test]
fn status_block_reads_at_its_base_and_decodes() {
    let mut c = line();
    let Ok(Response::ReadHoldingRegisters(words)) =
        call(&mut c, Request::ReadHoldingRegisters(1000, STATUS_LEN))
    else {
        panic!("read failed");
    };
    let status = LineStatus::decode(&words).unwrap();
    assert!(status.flags.running);
    assert_eq!(status.belt_speed_mm_s, 500);
}

#[test]
fn reads_outside_the_blocks_are_illegal_addresses() {
    let mut c = line();
    let end = 1000 + STATUS_LEN; // one past the status block
    for (addr, qty) in [(0, 1), (999, 2), (end - 1, 2), (2003, 2), (end, 1)] {
        assert_eq!(
            call(&mut c, Request::ReadHoldingRegisters(addr, qty)),
            Err(ExceptionCode::IllegalDataAddress),
            "{addr}+{qty}"
        );
    }
    assert_eq!(
        call(&mut c, Request::ReadHoldingRegisters(1000, 126)),
        Err(ExceptionCode::IllegalDataValue)
    );
}

#[test]
fn heartbeat_write_is_echoed_and_reads_back() {
    let mut c = line();
    call(&mut c, Request::WriteSingleRegister(2000, 42)).unwrap();
    assert_eq!(c.status().controller_heartbeat_echo, 42);
    assert_eq!(
        call(&mut c, Request::ReadHoldingRegisters(2000, 1)),
        Ok(Response::ReadHoldingRegisters(vec![42]))
    );
}

#[test]
fn lane_command_is_acked_and_a_half_command_is_refused() {
    let mut c = line();
    c.inject(Duration::ZERO, 1, NewParcel::with_code(Some("SF1")))
        .unwrap();
    c.tick(Duration::from_millis(10));
    let cmd = Request::WriteMultipleRegisters(2001, vec![1, 2].into());
    assert_eq!(
        call(&mut c, cmd),
        Ok(Response::WriteMultipleRegisters(2001, 2))
    );
    assert_eq!(
        (c.status().cmd_ack_tracking, c.status().cmd_ack_lane),
        (1, 2)
    );
    assert_eq!(
        call(&mut c, Request::WriteSingleRegister(2002, 1)),
        Err(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(c.status().cmd_ack_lane, 2, "refused write changed nothing");
    let report = c.report(Duration::ZERO);
    assert_eq!(report.rejected_commands.len(), 1);
    assert!(report.rejected_commands[0].reason.contains("together"));
}

#[test]
fn writes_to_the_status_block_and_other_functions_are_refused() {
    let mut c = line();
    assert_eq!(
        call(&mut c, Request::WriteSingleRegister(1000, 1)),
        Err(ExceptionCode::IllegalDataAddress)
    );
    assert_eq!(
        call(&mut c, Request::ReadInputRegisters(1000, 1)),
        Err(ExceptionCode::IllegalFunction)
    );
    assert_eq!(
        call(&mut c, Request::ReadCoils(0, 1)),
        Err(ExceptionCode::IllegalFunction)
    );
}

#[test]
fn belt_run_stops_and_runs_the_belt_and_reads_back() {
    let mut c = line();
    call(
        &mut c,
        Request::WriteMultipleRegisters(2003, vec![0].into()),
    )
    .unwrap();
    assert_eq!(
        call(&mut c, Request::ReadHoldingRegisters(2000, 4)),
        Ok(Response::ReadHoldingRegisters(vec![0, 0, 0, 0]))
    );
    assert!(!c.status().flags.running);
    assert_eq!(c.status().belt_speed_mm_s, 0);
    call(&mut c, Request::WriteSingleRegister(2003, 1)).unwrap();
    assert!(c.status().flags.running);
    assert_eq!(
        call(&mut c, Request::WriteSingleRegister(2003, 2)),
        Err(ExceptionCode::IllegalDataValue)
    );
    assert_eq!(
        c.command_registers()[3],
        1,
        "a refused write changes nothing"
    );
}

#[test]
fn whole_command_block_write_applies_every_register() {
    let mut c = line();
    c.inject(Duration::ZERO, 1, NewParcel::with_code(Some("SF1")))
        .unwrap();
    c.tick(Duration::from_millis(10));
    let all = Request::WriteMultipleRegisters(2000, vec![7, 1, 2, 1].into());
    assert_eq!(
        call(&mut c, all),
        Ok(Response::WriteMultipleRegisters(2000, 4))
    );
    assert_eq!(c.command_registers(), [7, 1, 2, 1]);
    assert_eq!(
        (
            c.status().controller_heartbeat_echo,
            c.status().cmd_ack_lane
        ),
        (7, 2)
    );
    let bad_lane = Request::WriteMultipleRegisters(2000, vec![8, 1, 9, 0].into());
    assert_eq!(call(&mut c, bad_lane), Err(ExceptionCode::IllegalDataValue));
    assert_eq!(c.command_registers(), [7, 1, 2, 1]);
}

#[test]
fn fc23_writes_a_lane_command_and_reads_it_back_in_one_request() {
    let mut c = line();
    c.inject(Duration::ZERO, 1, NewParcel::with_code(Some("SF1")))
        .unwrap();
    c.tick(Duration::from_millis(10));
    let req = Request::ReadWriteMultipleRegisters(2001, 2, 2001, vec![1, 2].into());
    assert_eq!(
        call(&mut c, req),
        Ok(Response::ReadWriteMultipleRegisters(vec![1, 2]))
    );
    assert_eq!(c.status().cmd_ack_lane, 2);
    // A refused write is refused whole: nothing written, nothing read.
    let bad = Request::ReadWriteMultipleRegisters(2001, 2, 2001, vec![1, 9].into());
    assert_eq!(call(&mut c, bad), Err(ExceptionCode::IllegalDataValue));
    assert_eq!(c.command_registers()[1..3], [1, 2]);
}
