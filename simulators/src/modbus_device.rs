//! A simulated Modbus TCP device: one unit id, a pure request handler, and every
//! connection closed when the device stops (tokio-modbus would otherwise keep serving
//! clients that connected before). The gate I/O module and the weighbridge are served by
//! it; the line PLC has its own server for its link-drop fault.

use std::future::{Ready, ready};
use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio_modbus::server::Service;
use tokio_modbus::server::tcp::Server;
use tokio_modbus::{ExceptionCode, Request, Response, SlaveRequest};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::plc::link::LinkStream;

/// Serve `handler` as Modbus unit `unit_id` on `listener` until `shutdown` fires; other unit
/// ids get exception 0x0B. `name` is for the log.
pub(crate) async fn serve<H>(
    listener: TcpListener,
    name: &'static str,
    unit_id: u8,
    handler: H,
    shutdown: CancellationToken,
) -> io::Result<()>
where
    H: Fn(Request<'static>) -> Result<Response, ExceptionCode> + Clone + Send + Sync + 'static,
{
    let on_connected = |stream: TcpStream, peer: SocketAddr| {
        let service = Device {
            name,
            unit_id,
            peer,
            handler: handler.clone(),
        };
        let stream = LinkStream::new(stream, shutdown.clone());
        async move {
            info!(%peer, device = name, "Modbus client connected");
            stream.get_ref().set_nodelay(true)?;
            Ok(Some((service, stream)))
        }
    };
    let on_error =
        move |err: io::Error| debug!(%err, device = name, "Modbus client connection failed");
    Server::new(listener)
        .serve_until(&on_connected, on_error, shutdown.clone().cancelled_owned())
        .await?;
    Ok(())
}

/// One client connection's view of the device.
struct Device<H> {
    name: &'static str,
    unit_id: u8,
    peer: SocketAddr,
    handler: H,
}

impl<H> Service for Device<H>
where
    H: Fn(Request<'static>) -> Result<Response, ExceptionCode>,
{
    type Request = SlaveRequest<'static>;
    type Response = Response;
    type Exception = ExceptionCode;
    type Future = Ready<Result<Response, ExceptionCode>>;

    fn call(&self, req: Self::Request) -> Self::Future {
        if req.slave != self.unit_id {
            return ready(Err(ExceptionCode::GatewayTargetDevice));
        }
        let result = (self.handler)(req.request);
        if let Err(code) = &result {
            debug!(peer = %self.peer, device = self.name, %code, "answered with a Modbus exception");
        }
        ready(result)
    }
}
