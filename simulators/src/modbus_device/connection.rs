//! One client connection of a simulated device: requests are read off the stream one at a
//! time and answered in order ([`frame`] decides what is malformed), until the client
//! leaves, the MBAP header cannot be trusted, or the device cuts the link (it stopped, or
//! a PLC's `plc_link_drop` fault) — the socket is then dropped, closed, as when a cable is
//! pulled and the device resets the session.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_modbus::{ExceptionCode, Response};
use tracing::{debug, info, warn};

use super::frame::{self, Frame};
use super::{Admitted, ModbusDevice};

/// Serves one client until it leaves, sends an unusable header, or the link is cut.
pub(super) async fn run<D: ModbusDevice>(
    device: Arc<D>,
    mut stream: TcpStream,
    peer: SocketAddr,
    admitted: Admitted,
) {
    let _guard = admitted.guard;
    let name = device.name().to_owned();
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(frame::MBAP_LEN + frame::MAX_PDU);
    let why = loop {
        match frame::decode(&mut buf) {
            Ok(Some(request)) => {
                let reply = answer(&*device, &request, peer);
                tokio::select! {
                    () = admitted.cut.cancelled() => break "link cut".to_owned(),
                    written = stream.write_all(&reply) => if let Err(err) = written {
                        break format!("write failed: {err}");
                    },
                }
                continue;
            }
            Ok(None) => {}
            Err(err) => {
                warn!(device = name, %peer, "closing the connection: {err}");
                break err.to_string();
            }
        }
        tokio::select! {
            () = admitted.cut.cancelled() => break "link cut".to_owned(),
            read = stream.read_buf(&mut buf) => match read {
                Ok(0) => break "closed by the client".to_owned(),
                Ok(_) => {}
                Err(err) => break format!("read failed: {err}"),
            },
        }
    };
    info!(device = name, %peer, "Modbus client disconnected: {why}");
}

/// The bytes answering one framed request.
fn answer<D: ModbusDevice>(device: &D, request: &Frame, peer: SocketAddr) -> Vec<u8> {
    let (mbap, function) = (request.mbap, request.function());
    let expected = device.unit_id();
    let result: Result<Response, ExceptionCode> = if mbap.unit_id == expected {
        frame::parse_request(&request.pdu, device.functions()).and_then(|r| device.answer(r))
    } else {
        warn!(device = device.name(), %peer, unit_id = mbap.unit_id, expected,
            "request for another unit id");
        Err(ExceptionCode::GatewayTargetDevice)
    };
    if let Err(code) = &result {
        debug!(device = device.name(), %peer, function, %code, "answered with a Modbus exception");
    }
    frame::encode_answer(mbap, function, &result)
}
