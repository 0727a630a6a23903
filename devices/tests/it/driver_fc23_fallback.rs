//! The driver writes a lane command and reads it back in one FC23 request; a PLC that
//! answers FC23 with "illegal function" gets FC16 + FC03 instead, from then on.

use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use customs_edge_devices::line_plc::{LinePlc, RegisterMap};
use tokio::net::TcpListener;
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::Server;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};

/// A register bank that knows FC03, FC06 and FC16 only, and counts FC23 attempts.
#[derive(Clone, Default)]
struct OldPlc {
    registers: Arc<Mutex<Vec<u16>>>,
    fc23_asked: Arc<AtomicUsize>,
}

impl Service for OldPlc {
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        let mut regs = self.registers.lock().unwrap();
        ready(match req.request {
            Request::ReadHoldingRegisters(addr, n) => {
                let (a, n) = (usize::from(addr), usize::from(n));
                Ok(Response::ReadHoldingRegisters(regs[a..a + n].to_vec()))
            }
            Request::WriteMultipleRegisters(addr, words) => {
                let a = usize::from(addr);
                regs[a..a + words.len()].copy_from_slice(&words);
                Ok(Response::WriteMultipleRegisters(addr, words.len() as u16))
            }
            Request::ReadWriteMultipleRegisters(..) => {
                self.fc23_asked.fetch_add(1, Ordering::Relaxed);
                Err(ExceptionCode::IllegalFunction)
            }
            _ => Err(ExceptionCode::IllegalFunction),
        })
    }
}

#[tokio::test]
async fn a_plc_without_fc23_gets_a_write_and_a_read_back_instead() {
    let plc = OldPlc {
        registers: Arc::new(Mutex::new(vec![0; 256])),
        ..OldPlc::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let service = plc.clone();
    tokio::spawn(async move {
        let on_connected = move |stream, _peer| {
            let service = service.clone();
            async move { Ok(Some((service, stream))) }
        };
        let _ = Server::new(listener).serve(&on_connected, |_err| {}).await;
    });
    let map = RegisterMap::default();
    let mut driver = LinePlc::new(addr, map, Duration::from_secs(5));
    driver.write_lane(5, 2).await.unwrap();
    driver.write_lane(6, 3).await.unwrap();
    let at = usize::from(map.command_address());
    assert_eq!(plc.registers.lock().unwrap()[at..at + 2], [6, 3]);
    assert_eq!(
        plc.fc23_asked.load(Ordering::Relaxed),
        1,
        "asked once, then never again"
    );
}
