use super::*;

const ALL: &[u8] = &[READ_HOLDING, WRITE_SINGLE, WRITE_MULTIPLE, READ_WRITE];

/// An MBAP header for transaction 0x0102, unit 1, with the length field of `pdu`.
fn adu(pdu: &[u8]) -> BytesMut {
    let mut b = BytesMut::new();
    b.put_slice(&[0x01, 0x02, 0, 0]);
    b.put_u16(pdu.len() as u16 + 1);
    b.put_u8(1);
    b.put_slice(pdu);
    b
}

fn parse(pdu: &[u8]) -> Result<Request<'static>, ExceptionCode> {
    parse_request(pdu, ALL)
}

#[test]
fn a_request_is_framed_only_once_all_of_it_is_in() {
    let whole = adu(&[0x03, 0, 0, 0, 2]);
    let mut buf = BytesMut::from(&whole[..9]);
    assert_eq!(decode(&mut buf), Ok(None));
    buf.put_slice(&whole[9..]);
    buf.put_slice(&[0xAA]); // the start of the next request stays
    let frame = decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        frame.mbap,
        Mbap {
            transaction_id: 0x0102,
            unit_id: 1
        }
    );
    assert_eq!(&frame.pdu[..], &[0x03, 0, 0, 0, 2]);
    assert_eq!(&buf[..], &[0xAA]);
}

#[test]
fn an_untrustworthy_header_is_refused_as_soon_as_it_is_in() {
    let mut other_protocol = BytesMut::from(&[0, 1, 0, 7, 0, 6, 1][..]);
    assert_eq!(decode(&mut other_protocol), Err(FrameError::ProtocolId(7)));
    for length in [0u16, 1, 255, 0xFFFF] {
        let mut b = BytesMut::from(&[0, 1, 0, 0][..]);
        b.put_u16(length);
        b.put_u8(1);
        assert_eq!(decode(&mut b), Err(FrameError::Length(length)), "{length}");
    }
    let mut largest = adu(&[0x10; MAX_PDU]);
    assert!(decode(&mut largest).unwrap().is_some());
}

#[test]
fn well_formed_requests_are_read() {
    assert_eq!(
        parse(&[0x03, 0, 100, 0, 125]),
        Ok(Request::ReadHoldingRegisters(100, 125))
    );
    assert_eq!(
        parse(&[0x06, 0, 101, 0xAB, 0xCD]),
        Ok(Request::WriteSingleRegister(101, 0xABCD))
    );
    assert_eq!(
        parse(&[0x10, 0, 101, 0, 2, 4, 0, 7, 0, 3]),
        Ok(Request::WriteMultipleRegisters(101, vec![7, 3].into()))
    );
    assert_eq!(
        parse(&[0x17, 0, 0, 0, 4, 0, 101, 0, 1, 2, 0, 9]),
        Ok(Request::ReadWriteMultipleRegisters(
            0,
            4,
            101,
            vec![9].into()
        ))
    );
}

#[test]
fn lengths_that_disagree_are_illegal_data_values() {
    let bad = Err(ExceptionCode::IllegalDataValue);
    for pdu in [
        &[0x03, 0, 0, 0][..],                        // truncated
        &[0x03, 0, 0, 0, 1, 0],                      // a trailing byte
        &[0x03, 0, 0, 0, 0],                         // no registers
        &[0x03, 0, 0, 0, 126],                       // more than 125
        &[0x06, 0, 1, 0],                            // truncated
        &[0x10, 0, 1, 0, 2, 2, 0, 7],                // byte count 2 for 2 registers
        &[0x10, 0, 1, 0, 1, 2, 0, 7, 0],             // trailing byte after the data
        &[0x10, 0, 1, 0, 2, 4, 0, 7],                // fewer bytes than the count
        &[0x10, 0, 1, 0x80, 0, 0],                   // quantity 32768, count 0
        &[0x10, 0, 1, 0, 0, 0],                      // no registers
        &[0x10, 0, 1],                               // truncated before the count
        &[0x17, 0, 0, 0, 1, 0, 1, 0, 1, 4, 0, 9],    // write count 4 for 1 register
        &[0x17, 0, 0, 0, 0, 0, 1, 0, 1, 2, 0, 9],    // reads nothing
        &[0x17, 0, 0, 0, 1, 0, 1, 0, 1, 2, 0, 9, 0], // trailing byte
    ] {
        assert_eq!(parse(pdu), bad, "{pdu:02x?}");
    }
}

#[test]
fn functions_the_device_lacks_are_illegal_whatever_follows() {
    for pdu in [
        &[0x04, 0, 0, 0, 1][..],
        &[0x01],
        &[0x41, 1, 2, 3],
        &[0x90, 0],
    ] {
        assert_eq!(
            parse(pdu),
            Err(ExceptionCode::IllegalFunction),
            "{pdu:02x?}"
        );
    }
    let read_only = parse_request(&[0x10, 0, 0, 0, 1], &[READ_HOLDING]);
    assert_eq!(read_only, Err(ExceptionCode::IllegalFunction));
}

#[test]
fn answers_echo_the_header_and_the_function() {
    let mbap = Mbap {
        transaction_id: 0x0A0B,
        unit_id: 7,
    };
    assert_eq!(
        encode_answer(
            mbap,
            0x03,
            &Ok(Response::ReadHoldingRegisters(vec![1, 0x0203]))
        ),
        [0x0A, 0x0B, 0, 0, 0, 7, 7, 0x03, 4, 0, 1, 2, 3]
    );
    assert_eq!(
        encode_answer(mbap, 0x10, &Ok(Response::WriteMultipleRegisters(101, 2))),
        [0x0A, 0x0B, 0, 0, 0, 6, 7, 0x10, 0, 101, 0, 2]
    );
    assert_eq!(
        encode_answer(mbap, 0x10, &Err(ExceptionCode::IllegalDataValue)),
        [0x0A, 0x0B, 0, 0, 0, 3, 7, 0x90, 0x03]
    );
}
