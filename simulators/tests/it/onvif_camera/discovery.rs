//! Multicast WS-Discovery only on the interface the camera listens on: none for a
//! loopback address, Hello and Bye out of the interface of a specific one.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};

use customs_edge_simulators::onvif::{DISCOVERY_PORT, MULTICAST_GROUP, OnvifCameraConfig};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::Cam;
use super::client::PATIENCE;

/// The machine's address toward the outside (no packet is sent), unless it has only
/// loopback.
fn outside_ipv4() -> Option<Ipv4Addr> {
    let s = StdUdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    match s.local_addr().ok()?.ip() {
        IpAddr::V4(ip) if !ip.is_loopback() && !ip.is_unspecified() => Some(ip),
        _ => None,
    }
}

/// A member of the WS-Discovery group on `interface`, hearing what is sent out of it.
fn group_listener(interface: Ipv4Addr) -> UdpSocket {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    socket.set_reuse_address(true).unwrap();
    socket
        .bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, DISCOVERY_PORT)).into())
        .unwrap();
    socket
        .join_multicast_v4(&MULTICAST_GROUP, &interface)
        .unwrap();
    socket.set_nonblocking(true).unwrap();
    UdpSocket::from_std(socket.into()).unwrap()
}

/// Waits for a datagram containing both `what` and `endpoint`; fails after [`PATIENCE`].
async fn heard(group: &UdpSocket, what: &str, endpoint: &str) -> Vec<String> {
    let mut others = Vec::new();
    let mut buf = vec![0u8; 65_535];
    let wait = async {
        loop {
            let (n, _) = group.recv_from(&mut buf).await.unwrap();
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.contains(what) && text.contains(endpoint) {
                return;
            }
            others.push(text);
        }
    };
    tokio::time::timeout(PATIENCE, wait)
        .await
        .unwrap_or_else(|_| panic!("no {what} from {endpoint}"));
    others
}

#[tokio::test]
async fn a_loopback_camera_sends_nothing_to_the_group_and_answers_directed_probes() {
    let cam = Cam::start(OnvifCameraConfig {
        discovery: true,
        discovery_multicast: true,
        ..OnvifCameraConfig::default()
    })
    .await;
    assert!(!cam.camera.multicast_joined());
    assert!(cam.camera.discovery_addr().is_some(), "unicast still on");
}

#[tokio::test]
async fn hello_and_bye_leave_through_the_listening_interface_only() {
    let Some(ip) = outside_ipv4() else {
        eprintln!("SKIPPED: this machine has no IPv4 address besides loopback");
        return;
    };
    let group = group_listener(ip);
    let quiet = Cam::start(OnvifCameraConfig {
        name: format!("loopback-{}", std::process::id()),
        discovery: true,
        discovery_multicast: true,
        ..OnvifCameraConfig::default()
    })
    .await;
    let cam = Cam::start(OnvifCameraConfig {
        name: format!("outside-{}", std::process::id()),
        http_listen: SocketAddr::from((ip, 0)),
        discovery: true,
        discovery_multicast: true,
        ..OnvifCameraConfig::default()
    })
    .await;
    assert!(cam.camera.multicast_joined());
    let endpoint = cam.camera.endpoint_reference().to_owned();
    let before = heard(&group, "Hello", &endpoint).await;
    let loud = quiet.camera.endpoint_reference();
    assert!(
        before.iter().all(|d| !d.contains(loud)),
        "the loopback camera announced itself on {ip}"
    );
    cam.shutdown.cancel();
    heard(&group, "Bye", &endpoint).await;
}
