//! Modbus TCP on the wire, sans I/O: the MBAP header that frames each request, the request
//! PDUs the simulated devices understand (FC03, FC06, FC16, FC23), and the answers.
//!
//! What a malformed request gets follows the Modbus application protocol's server state
//! diagrams (V1.1b3, 6.x) and its TCP implementation guide: the **MBAP header** is what
//! keeps a TCP stream in step, so one that cannot be trusted — a protocol id other than 0,
//! a length field of 0 or 1 (no function code) or above 254 (a PDU longer than 253 bytes)
//! — is a [`FrameError`] and the connection is closed. Everything inside a well-framed
//! request is answered, in this order:
//!
//! 1. a function code the device does not implement → exception **0x01**
//!    (IllegalFunction), whatever follows it;
//! 2. a PDU whose lengths disagree — too short for its function (truncated), longer than
//!    its function (trailing bytes), an FC16/FC23 byte count that is not twice its
//!    quantity, or a quantity outside the function's range (FC03 1..=125, FC16 1..=123,
//!    FC23 read 1..=125 and write 1..=121) → exception **0x03** (IllegalDataValue);
//! 3. the rest goes to the device's register map (0x02 for an address outside it, 0x03 or
//!    0x04 for a value it refuses).

use bytes::{Buf as _, BufMut as _, Bytes, BytesMut};
use tokio_modbus::{ExceptionCode, Request, Response};

/// Bytes of the MBAP header: transaction id, protocol id, length, unit id.
pub(crate) const MBAP_LEN: usize = 7;
/// Largest PDU (function code and data), Modbus application protocol 4.1.
pub(crate) const MAX_PDU: usize = 253;
/// Most registers one FC03 may read, and the FC23 read half.
pub(crate) const MAX_READ: u16 = 125;
/// Most registers one FC16 may write.
pub(crate) const MAX_WRITE: u16 = 123;
/// Most registers the write half of one FC23 may carry.
pub(crate) const MAX_RW_WRITE: u16 = 121;

/// FC03 Read Holding Registers.
pub(crate) const READ_HOLDING: u8 = 0x03;
/// FC06 Write Single Register.
pub(crate) const WRITE_SINGLE: u8 = 0x06;
/// FC16 Write Multiple Registers.
pub(crate) const WRITE_MULTIPLE: u8 = 0x10;
/// FC23 Read/Write Multiple Registers.
pub(crate) const READ_WRITE: u8 = 0x17;

/// The MBAP fields an answer echoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mbap {
    /// Transaction id, echoed.
    pub(crate) transaction_id: u16,
    /// Unit id the request is for.
    pub(crate) unit_id: u8,
}

/// One framed request: its header and its PDU (function code first, never empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The header.
    pub(crate) mbap: Mbap,
    /// The PDU bytes.
    pub(crate) pdu: Bytes,
}

impl Frame {
    /// The function code.
    pub(crate) fn function(&self) -> u8 {
        self.pdu[0]
    }
}

/// An MBAP header that cannot be trusted to frame the stream: the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    /// The protocol id is not 0 (Modbus).
    #[error("MBAP protocol id {0} is not 0 (Modbus)")]
    ProtocolId(u16),
    /// The length field leaves no function code, or a PDU over 253 bytes.
    #[error("MBAP length {0} is outside 2..=254 (unit id + a PDU of 1..=253 bytes)")]
    Length(u16),
}

/// Takes one request off the front of `buf`: `Ok(None)` until the whole of it has arrived.
/// The header is checked as soon as its 7 bytes are in, so a bad one is refused before
/// anything else is read.
pub(crate) fn decode(buf: &mut BytesMut) -> Result<Option<Frame>, FrameError> {
    if buf.len() < MBAP_LEN {
        return Ok(None);
    }
    let protocol = u16::from_be_bytes([buf[2], buf[3]]);
    if protocol != 0 {
        return Err(FrameError::ProtocolId(protocol));
    }
    let length = u16::from_be_bytes([buf[4], buf[5]]);
    if !(2..=MAX_PDU as u16 + 1).contains(&length) {
        return Err(FrameError::Length(length));
    }
    let total = MBAP_LEN - 1 + usize::from(length);
    if buf.len() < total {
        buf.reserve(total - buf.len());
        return Ok(None);
    }
    let mut frame = buf.split_to(total);
    let transaction_id = frame.get_u16();
    frame.advance(4); // protocol id and length, checked above
    let unit_id = frame.get_u8();
    Ok(Some(Frame {
        mbap: Mbap {
            transaction_id,
            unit_id,
        },
        pdu: frame.freeze(),
    }))
}

/// Reads a request PDU for a device implementing `functions`; the `Err` is the exception
/// to answer with.
pub(crate) fn parse_request(
    pdu: &[u8],
    functions: &[u8],
) -> Result<Request<'static>, ExceptionCode> {
    let (&function, data) = pdu.split_first().ok_or(ExceptionCode::IllegalDataValue)?;
    if !functions.contains(&function) {
        return Err(ExceptionCode::IllegalFunction);
    }
    let word = |at: usize| u16::from_be_bytes([data[at], data[at + 1]]);
    let words = |from: usize, n: u16| -> Vec<u16> {
        (0..usize::from(n)).map(|i| word(from + 2 * i)).collect()
    };
    let bad = ExceptionCode::IllegalDataValue;
    match function {
        READ_HOLDING => {
            if data.len() != 4 || !(1..=MAX_READ).contains(&word(2)) {
                return Err(bad);
            }
            Ok(Request::ReadHoldingRegisters(word(0), word(2)))
        }
        WRITE_SINGLE => {
            if data.len() != 4 {
                return Err(bad);
            }
            Ok(Request::WriteSingleRegister(word(0), word(2)))
        }
        WRITE_MULTIPLE => {
            if data.len() < 5 {
                return Err(bad);
            }
            let qty = word(2);
            let count = usize::from(data[4]);
            let fits = (1..=MAX_WRITE).contains(&qty)
                && count == 2 * usize::from(qty)
                && data.len() == 5 + count;
            if !fits {
                return Err(bad);
            }
            Ok(Request::WriteMultipleRegisters(
                word(0),
                words(5, qty).into(),
            ))
        }
        READ_WRITE => {
            if data.len() < 9 {
                return Err(bad);
            }
            let (read_qty, write_qty) = (word(2), word(6));
            let count = usize::from(data[8]);
            let fits = (1..=MAX_READ).contains(&read_qty)
                && (1..=MAX_RW_WRITE).contains(&write_qty)
                && count == 2 * usize::from(write_qty)
                && data.len() == 9 + count;
            if !fits {
                return Err(bad);
            }
            Ok(Request::ReadWriteMultipleRegisters(
                word(0),
                read_qty,
                word(4),
                words(9, write_qty).into(),
            ))
        }
        // A device listing a function this server cannot read is a programming error;
        // the client still gets an answer.
        _ => Err(ExceptionCode::IllegalFunction),
    }
}

/// The whole answer (MBAP header and PDU) to a request with `function`.
pub(crate) fn encode_answer(
    mbap: Mbap,
    function: u8,
    answer: &Result<Response, ExceptionCode>,
) -> Vec<u8> {
    let mut pdu = BytesMut::with_capacity(MAX_PDU);
    let registers = |pdu: &mut BytesMut, fc: u8, words: &[u16]| {
        pdu.put_u8(fc);
        pdu.put_u8((words.len() * 2) as u8);
        for w in words {
            pdu.put_u16(*w);
        }
    };
    match answer {
        Ok(Response::ReadHoldingRegisters(words)) => registers(&mut pdu, READ_HOLDING, words),
        Ok(Response::ReadWriteMultipleRegisters(words)) => registers(&mut pdu, READ_WRITE, words),
        Ok(Response::WriteSingleRegister(addr, word)) => {
            pdu.put_u8(WRITE_SINGLE);
            pdu.put_u16(*addr);
            pdu.put_u16(*word);
        }
        Ok(Response::WriteMultipleRegisters(addr, qty)) => {
            pdu.put_u8(WRITE_MULTIPLE);
            pdu.put_u16(*addr);
            pdu.put_u16(*qty);
        }
        // The devices answer only the four functions above; anything else is the
        // server's fault, not the client's.
        Ok(_) => exception(&mut pdu, function, ExceptionCode::ServerDeviceFailure),
        Err(code) => exception(&mut pdu, function, *code),
    }
    let mut out = Vec::with_capacity(MBAP_LEN + pdu.len());
    out.put_u16(mbap.transaction_id);
    out.put_u16(0);
    out.put_u16(pdu.len() as u16 + 1);
    out.put_u8(mbap.unit_id);
    out.put_slice(&pdu);
    out
}

fn exception(pdu: &mut BytesMut, function: u8, code: ExceptionCode) {
    pdu.put_u8(function | 0x80);
    pdu.put_u8(code.into());
}

#[cfg(test)]
#[path = "frame_tests.rs"]
mod tests;
