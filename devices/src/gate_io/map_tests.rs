//! Gate map encode/decode round trips and range errors.

use super::*;
use crate::gate_io::status::{DecodeError, GateStatus};

#[test]
fn status_round_trips() {
    let s = GateStatus {
        heartbeat: 9,
        inputs: GateInputs {
            loop_before: true,
            open: true,
            manual: true,
            ..GateInputs::default()
        },
        position_pct: 100,
        fault: Some(GateFault::LoopDetector),
        controller_heartbeat_echo: 3,
    };
    assert_eq!(GateStatus::decode(&s.encode()), Ok(s));
}

#[test]
fn out_of_range_registers_are_named() {
    let base = GateStatus::default().encode();
    let with = |off: u16, v: u16| {
        let mut w = base.clone();
        w[off as usize] = v;
        GateStatus::decode(&w).unwrap_err()
    };
    for (off, v, name) in [
        (BARRIER_POSITION, 101, "BARRIER_POSITION"),
        (INPUTS, 0x40, "INPUTS"),
        (INPUTS, 0b1100, "INPUTS"),
        (FAULT_CODE, 5, "FAULT_CODE"),
    ] {
        let err = with(off, v);
        assert!(
            matches!(err, DecodeError::OutOfRange { name: n, value, .. } if n == name && value == v),
            "{err}"
        );
        assert!(err.to_string().contains(name));
    }
    assert_eq!(
        GateStatus::decode(&[0; 4]),
        Err(DecodeError::WrongLength { got: 4 })
    );
}

#[test]
fn barrier_command_words() {
    for c in [
        BarrierCommand::Hold,
        BarrierCommand::Open,
        BarrierCommand::Close,
    ] {
        assert_eq!(BarrierCommand::from_word(c.to_word()), Ok(c));
    }
    assert_eq!(BarrierCommand::from_word(3), Err(3));
}

#[test]
fn chinese_led_text_round_trips_and_long_text_is_refused() {
    let words = encode_led("核放单未审批").unwrap();
    assert_eq!(words.len(), usize::from(LED_WORDS) + 1);
    assert_eq!(words[0], 6);
    assert_eq!(decode_led(words[0], &words[1..]).unwrap(), "核放单未审批");
    let long = "重".repeat(33);
    assert_eq!(encode_led(&long), Err(LedTextError::TooLong { units: 33 }));
    assert!(encode_led(&long).unwrap_err().to_string().contains("32"));
    assert!(encode_led(&"重".repeat(32)).is_ok());
    assert_eq!(decode_led(33, &[0; 40]), Err(LedTextError::BadLength(33)));
    assert_eq!(decode_led(1, &[0xD800]), Err(LedTextError::BadText));
}

#[test]
fn overlapping_blocks_are_reported() {
    assert!(GateIoMap::default().problems().is_empty());
    let map = GateIoMap {
        unit_id: 1,
        status_base: 0,
        command_base: 3,
    };
    assert_eq!(map.problems().len(), 1);
    let map = GateIoMap {
        unit_id: 1,
        status_base: 0,
        command_base: 65_530,
    };
    assert!(map.problems()[0].contains("command block"));
}

#[test]
fn the_field_lists_cover_both_blocks_exactly() {
    use crate::register_block::layout_problems;
    assert_eq!(
        layout_problems(STATUS_FIELDS, STATUS_LEN),
        Vec::<String>::new()
    );
    assert_eq!(
        layout_problems(COMMAND_FIELDS, COMMAND_LEN),
        Vec::<String>::new()
    );
}
