//! WS-Discovery on UDP: a unicast responder for directed probes, and (when asked and
//! possible) a member of 239.255.255.250:3702 on the interface the camera listens on
//! (none on loopback) that answers multicast probes and says Hello at each boot and Bye
//! at shutdown. Answers go to the probe's source address,
//! twice (SOAP-over-UDP repeats unicast once), after a short random delay for multicast
//! probes; a slow camera answers late, a rebooting one not at all.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use rand::Rng as _;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tracing::{debug, info, warn};

use super::camera::{Shared, bump};
use super::messages::{DEVICE_PATH, scopes};
use super::wsd::{self, Advert};

/// The WS-Discovery multicast group.
pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);
/// The WS-Discovery port.
pub const DISCOVERY_PORT: u16 = 3702;
/// Largest datagram read.
const MAX_DATAGRAM: usize = 65_535;
/// Probe MessageIDs remembered per socket: clients repeat each probe (SOAP-over-UDP), and
/// a repeat is not answered again.
const RECENT_PROBES: usize = 64;

/// The bound sockets.
pub(crate) struct Sockets {
    /// Directed probes.
    pub(crate) unicast: UdpSocket,
    /// The group, when joined.
    pub(crate) multicast: Option<UdpSocket>,
}

/// The interface multicast discovery uses for a camera listening on `listen`: none for a
/// loopback (or IPv6) address, so nothing leaves the host; the interface holding a
/// specific IPv4 address; the kernel's default for `0.0.0.0` (which listens everywhere).
pub(crate) fn multicast_interface(listen: IpAddr) -> Option<Ipv4Addr> {
    match listen {
        IpAddr::V4(ip) if ip.is_loopback() => None,
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(_) => None,
    }
}

/// Binds the unicast responder (an error is fatal) and, with an interface, the group
/// member on it (an error is logged: the camera carries on unicast only).
pub(crate) fn bind(
    unicast: SocketAddr,
    multicast: Option<Ipv4Addr>,
    camera: &str,
) -> anyhow::Result<Sockets> {
    let std_socket = std::net::UdpSocket::bind(unicast)
        .with_context(|| format!("cannot bind the WS-Discovery responder to {unicast}"))?;
    std_socket.set_nonblocking(true)?;
    let unicast = UdpSocket::from_std(std_socket)?;
    let multicast = multicast.and_then(|interface| match join_group(interface) {
        Ok(s) => Some(s),
        Err(err) => {
            warn!(%camera, "WS-Discovery multicast unavailable, unicast only: {err:#}");
            None
        }
    });
    Ok(Sockets { unicast, multicast })
}

/// A socket on port 3702 (shared with other listeners) in the group on `interface` (the
/// default one when unspecified), sending out of that interface only, TTL 1.
fn join_group(interface: Ipv4Addr) -> anyhow::Result<UdpSocket> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    socket
        .bind(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, DISCOVERY_PORT)).into())
        .context("cannot bind 0.0.0.0:3702")?;
    socket
        .join_multicast_v4(&MULTICAST_GROUP, &interface)
        .with_context(|| format!("cannot join 239.255.255.250 on {interface}"))?;
    if interface.is_unspecified() {
        // Listening on every interface: probes sent out of the loopback interface too,
        // where it allows multicast.
        if let Err(err) = socket.join_multicast_v4(&MULTICAST_GROUP, &Ipv4Addr::LOCALHOST) {
            debug!("not joined on loopback: {err}");
        }
    } else {
        socket
            .set_multicast_if_v4(&interface)
            .with_context(|| format!("cannot send multicast out of {interface}"))?;
    }
    socket.set_multicast_ttl_v4(1)?;
    socket.set_multicast_loop_v4(true)?;
    socket.set_nonblocking(true)?;
    Ok(UdpSocket::from_std(socket.into())?)
}

/// Sequence numbers of the announcements.
#[derive(Debug)]
struct Sequence {
    instance_id: AtomicU64,
    message_number: AtomicU64,
}

/// Runs the responders until shutdown (then says Bye on the group).
pub(crate) async fn run(shared: Arc<Shared>, sockets: Sockets) {
    let start = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(1);
    let seq = Arc::new(Sequence {
        instance_id: AtomicU64::new(start),
        message_number: AtomicU64::new(0),
    });
    let unicast = Arc::new(sockets.unicast);
    let unicast_task = tokio::spawn(respond(
        Arc::clone(&shared),
        Arc::clone(&seq),
        unicast,
        false,
    ));
    if let Some(group) = sockets.multicast {
        let group = Arc::new(group);
        let responder = tokio::spawn(respond(
            Arc::clone(&shared),
            Arc::clone(&seq),
            Arc::clone(&group),
            true,
        ));
        announce(&shared, &seq, &group).await;
        let _ = responder.await;
    }
    let _ = unicast_task.await;
}

/// Hello at every boot, Bye at shutdown.
async fn announce(shared: &Shared, seq: &Sequence, group: &UdpSocket) {
    let to = SocketAddr::V4(SocketAddrV4::new(MULTICAST_GROUP, DISCOVERY_PORT));
    let mut boots = shared.watch_boots();
    loop {
        let xaddr = xaddr(shared, None);
        let scopes = scopes(&shared.cfg);
        let advert = advert(shared, seq, &scopes, &xaddr);
        send_twice(
            group,
            wsd::hello(&advert, &wsd::new_message_id()).into_bytes(),
            to,
        )
        .await;
        info!(camera = %shared.cfg.name, %xaddr, "WS-Discovery Hello sent");
        tokio::select! {
            changed = boots.changed() => {
                if changed.is_err() {
                    break;
                }
                seq.instance_id.fetch_add(1, Ordering::Relaxed);
            }
            () = shared.shutdown.cancelled() => break,
        }
    }
    let xaddr = xaddr(shared, None);
    let scopes = scopes(&shared.cfg);
    let advert = advert(shared, seq, &scopes, &xaddr);
    let bye = wsd::bye(&advert, &wsd::new_message_id());
    if let Err(err) = group.send_to(bye.as_bytes(), to).await {
        debug!("Bye not sent: {err}");
    }
}

fn advert<'a>(
    shared: &'a Shared,
    seq: &Sequence,
    scopes: &'a [String],
    xaddr: &'a str,
) -> Advert<'a> {
    Advert {
        endpoint: &shared.endpoint,
        scopes,
        xaddr,
        instance_id: seq.instance_id.load(Ordering::Relaxed),
        message_number: seq.message_number.fetch_add(1, Ordering::Relaxed) + 1,
    }
}

/// Answers the probes arriving on `socket` until shutdown.
async fn respond(shared: Arc<Shared>, seq: Arc<Sequence>, socket: Arc<UdpSocket>, multicast: bool) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut recent: VecDeque<String> = VecDeque::with_capacity(RECENT_PROBES);
    loop {
        let (len, peer) = tokio::select! {
            () = shared.shutdown.cancelled() => break,
            received = socket.recv_from(&mut buf) => match received {
                Ok(r) => r,
                Err(err) => {
                    debug!("WS-Discovery receive failed: {err}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        if shared.is_down() {
            continue;
        }
        let probe = match std::str::from_utf8(&buf[..len])
            .map_err(|e| e.to_string())
            .and_then(wsd::parse_probe)
        {
            Ok(Some(probe)) => probe,
            Ok(None) => continue,
            Err(reason) => {
                let camera = &shared.cfg.name;
                debug!(%camera, %peer, "unreadable WS-Discovery datagram: {reason}");
                continue;
            }
        };
        if recent.contains(&probe.message_id) {
            continue;
        }
        if recent.len() == RECENT_PROBES {
            recent.pop_front();
        }
        recent.push_back(probe.message_id.clone());
        let scopes = scopes(&shared.cfg);
        if !wsd::matches(&probe, &scopes) {
            debug!(camera = %shared.cfg.name, %peer, "probe does not match");
            continue;
        }
        let xaddr = xaddr(&shared, Some(peer));
        let answer = wsd::probe_matches(
            &advert(&shared, &seq, &scopes, &xaddr),
            &probe.message_id,
            &wsd::new_message_id(),
        );
        let mut delay = shared.slow().unwrap_or_default();
        if multicast {
            delay += Duration::from_millis(rand::rng().random_range(0..100));
        }
        bump(&shared.counters.probes_answered);
        debug!(camera = %shared.cfg.name, %peer, %xaddr, "answering probe {}", probe.message_id);
        let socket = Arc::clone(&socket);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            send_twice(&socket, answer.into_bytes(), peer).await;
        });
    }
}

/// Sends a datagram, and again 50–250 ms later.
async fn send_twice(socket: &UdpSocket, datagram: Vec<u8>, to: SocketAddr) {
    for i in 0..2 {
        if i > 0 {
            let pause = rand::rng().random_range(50..250);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        if let Err(err) = socket.send_to(&datagram, to).await {
            debug!(%to, "WS-Discovery send failed: {err}");
        }
    }
}

/// The device service URL to announce to `peer` (to the group when `None`): the HTTP
/// address, or when bound to all interfaces, the local address that reaches the peer.
fn xaddr(shared: &Shared, peer: Option<SocketAddr>) -> String {
    let http = shared.http_addr;
    let ip = if http.ip().is_unspecified() {
        let toward = peer.unwrap_or(SocketAddr::from((MULTICAST_GROUP, DISCOVERY_PORT)));
        local_ip_toward(toward).unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    } else {
        http.ip()
    };
    format!("http://{}{DEVICE_PATH}", SocketAddr::new(ip, http.port()))
}

/// The source address the kernel would use to reach `peer`.
fn local_ip_toward(peer: SocketAddr) -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    s.connect(peer).ok()?;
    Some(s.local_addr().ok()?.ip()).filter(|ip| !ip.is_unspecified())
}
