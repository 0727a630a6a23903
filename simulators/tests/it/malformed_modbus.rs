//! Malformed Modbus requests, as raw bytes on a real socket, against the simulated PLC,
//! gate I/O and weighbridge: answered with an exception while the MBAP header frames the
//! request, the connection closed only when the header cannot be trusted.

use std::net::SocketAddr;
use std::time::Duration;

use customs_edge_devices::gate_io::GateIoMap;
use customs_edge_devices::weighbridge::WeighbridgeMap;
use customs_edge_simulators::SimConfig;
use customs_edge_simulators::gate_io::{self, GateSimConfig, SimGate};
use customs_edge_simulators::weighbridge::{self, SimWeighbridge, WeighSimConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::common::Site;

const PATIENCE: Duration = Duration::from_secs(5);

/// A raw Modbus TCP client: sends bytes, reads one answer.
struct Raw {
    stream: TcpStream,
    tid: u16,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Self {
        Self {
            stream: TcpStream::connect(addr).await.unwrap(),
            tid: 0,
        }
    }

    /// Sends `pdu` to unit 1 in a well-formed MBAP header; the answer's PDU.
    async fn ask(&mut self, pdu: &[u8]) -> Vec<u8> {
        self.tid += 1;
        let mut adu = self.tid.to_be_bytes().to_vec();
        adu.extend_from_slice(&[0, 0]);
        adu.extend_from_slice(&(pdu.len() as u16 + 1).to_be_bytes());
        adu.push(1);
        adu.extend_from_slice(pdu);
        self.stream.write_all(&adu).await.unwrap();
        let mut head = [0u8; 7];
        tokio::time::timeout(PATIENCE, self.stream.read_exact(&mut head))
            .await
            .expect("an answer in time")
            .expect("an answer, not a closed connection");
        assert_eq!(&head[..4], &[(self.tid >> 8) as u8, self.tid as u8, 0, 0]);
        assert_eq!(head[6], 1, "the unit id is echoed");
        let len = usize::from(u16::from_be_bytes([head[4], head[5]])) - 1;
        let mut pdu = vec![0u8; len];
        self.stream.read_exact(&mut pdu).await.unwrap();
        pdu
    }

    /// Sends raw bytes and expects the device to close the connection without answering.
    async fn expect_closed_after(mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
        let mut rest = Vec::new();
        let read = tokio::time::timeout(PATIENCE, self.stream.read_to_end(&mut rest))
            .await
            .expect("the device closes the connection in time");
        assert!(
            read.is_err() || rest.is_empty(),
            "closed without an answer, got {rest:02x?}"
        );
    }
}

/// The malformed requests every device answers with exception 0x03 (FC16 and FC23 are
/// implemented by the PLC and the gate I/O only).
const LENGTHS_DISAGREE: &[&[u8]] = &[
    &[0x03, 0, 0, 0],          // FC03 truncated
    &[0x03, 0, 0, 0, 1, 0xEE], // FC03 with a trailing byte
    &[0x03, 0, 0, 0, 0],       // FC03 of 0 registers
    &[0x03, 0, 0, 0, 126],     // FC03 of more than 125
];

const WRITES_DISAGREE: &[&[u8]] = &[
    &[0x10, 0, 101, 0, 2, 2, 0, 1], // FC16 byte count 2 for quantity 2
    &[0x10, 0, 101, 0, 1, 2, 0, 1, 0xEE], // FC16 with a trailing byte
    &[0x10, 0, 101, 0, 2, 4, 0, 1], // FC16 data shorter than its count
    &[0x10, 0, 101],                // FC16 truncated
    &[0x06, 0, 100, 0],             // FC06 truncated
    &[0x17, 0, 0, 0, 1, 0, 100, 0, 1, 4, 0, 1], // FC23 byte count 4 for 1 register
];

async fn answers_malformed_requests_and_stays_connected(addr: SocketAddr, writable: bool) {
    let mut raw = Raw::connect(addr).await;
    for pdu in LENGTHS_DISAGREE {
        assert_eq!(raw.ask(pdu).await, [pdu[0] | 0x80, 0x03], "{pdu:02x?}");
    }
    for pdu in WRITES_DISAGREE {
        let code = if writable { 0x03 } else { 0x01 };
        assert_eq!(raw.ask(pdu).await, [pdu[0] | 0x80, code], "{pdu:02x?}");
    }
    for pdu in [&[0x04, 0, 0, 0, 1][..], &[0x2B, 0x0E, 1, 0], &[0x41, 0xFF]] {
        assert_eq!(raw.ask(pdu).await, [pdu[0] | 0x80, 0x01], "{pdu:02x?}");
    }
    // Still in step: a good read after all of them.
    let good = raw.ask(&[0x03, 0, 0, 0, 1]).await;
    assert_eq!(&good[..2], &[0x03, 2], "{good:02x?}");

    // An untrustworthy MBAP header: closed, no answer.
    Raw::connect(addr)
        .await
        .expect_closed_after(&[0, 1, 0, 5, 0, 6, 1, 0x03, 0, 0, 0, 1])
        .await;
    Raw::connect(addr)
        .await
        .expect_closed_after(&[0, 1, 0, 0, 0xFF, 0xFF, 1])
        .await;
    Raw::connect(addr)
        .await
        .expect_closed_after(&[0, 1, 0, 0, 0, 1, 1])
        .await;
}

#[tokio::test]
async fn plc_answers_malformed_requests_with_exceptions_and_closes_on_a_bad_header() {
    let site = Site::start(SimConfig::with_lines(1)).await;
    answers_malformed_requests_and_stays_connected(site.sim.lines[0].plc, true).await;
    site.stop().await;
}

#[tokio::test]
async fn gate_io_answers_malformed_requests_with_exceptions() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let gate = SimGate::new(GateSimConfig::default());
    tokio::spawn(gate_io::run(
        listener,
        gate,
        GateIoMap::default(),
        shutdown.clone(),
    ));
    answers_malformed_requests_and_stays_connected(addr, true).await;
    shutdown.cancel();
}

#[tokio::test]
async fn weighbridge_answers_malformed_requests_and_writes_are_illegal_functions() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let scale = SimWeighbridge::new(WeighSimConfig::default());
    tokio::spawn(weighbridge::run(
        listener,
        scale,
        WeighbridgeMap::default(),
        shutdown.clone(),
    ));
    answers_malformed_requests_and_stays_connected(addr, false).await;
    shutdown.cancel();
}
