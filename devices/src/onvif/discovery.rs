//! WS-Discovery over UDP: probe the multicast group or given addresses, collect the
//! ProbeMatches until a deadline, one entry per device.
//!
//! Answers are de-duplicated by endpoint reference (a camera answering both probe types,
//! or on two addresses, is one device with its XAddrs merged). Answers that are not
//! ProbeMatches, or are malformed, are counted and the first few reasons kept; they never
//! end the discovery.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::error::snippet;
use super::probe::{ProbeType, new_message_id, parse_probe_matches, probe_message, scope_values};

/// The WS-Discovery multicast group and port.
pub const MULTICAST_GROUP: SocketAddrV4 =
    SocketAddrV4::new(Ipv4Addr::new(239, 255, 255, 250), 3702);
/// Most problems kept with their reasons (the rest are only counted).
const MAX_PROBLEMS: usize = 16;
/// Most datagrams read in one discovery, whatever the network sends.
const MAX_DATAGRAMS: usize = 4096;

/// Where to send probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Discovery {
    /// To the multicast group 239.255.255.250:3702 (the local segment).
    Multicast,
    /// To each of these addresses (cameras across routers, or a simulator).
    Unicast(Vec<SocketAddr>),
}

/// A device that answered a probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveredDevice {
    /// Its endpoint reference address (`urn:uuid:…`), the device's stable identity.
    pub endpoint: String,
    /// Its device service addresses, in the order first seen.
    pub xaddrs: Vec<String>,
    /// Its scopes.
    pub scopes: Vec<String>,
    /// Its types.
    pub types: Vec<String>,
    /// Where its first answer came from.
    pub from: SocketAddr,
}

impl DiscoveredDevice {
    /// The `name` scope (`HIKVISION DS-2CD2T47G2-L`), if any.
    pub fn name(&self) -> Option<String> {
        scope_values(&self.scopes, "name").into_iter().next()
    }

    /// The `hardware` scope (the model), if any.
    pub fn hardware(&self) -> Option<String> {
        scope_values(&self.scopes, "hardware").into_iter().next()
    }

    /// The `location` scopes, joined with `, ` (`city/sanming, country/china`).
    pub fn location(&self) -> Option<String> {
        let all = scope_values(&self.scopes, "location");
        (!all.is_empty()).then(|| all.join(", "))
    }
}

/// What a discovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiscoveryReport {
    /// One entry per device, in the order they first answered.
    pub devices: Vec<DiscoveredDevice>,
    /// Answers that were not usable ProbeMatches.
    pub malformed: usize,
    /// Why, for the first few (`from 10.0.0.9:3702: …`).
    pub problems: Vec<String>,
    /// Probes that could not be sent (`to 239.255.255.250:3702: Network unreachable`).
    pub send_errors: Vec<String>,
}

impl DiscoveryReport {
    /// Takes one datagram from `from`: merges its matches, or counts it as malformed.
    pub fn accept(&mut self, from: SocketAddr, datagram: &[u8]) {
        let parsed = std::str::from_utf8(datagram)
            .map_err(|e| format!("not UTF-8: {e}"))
            .and_then(|text| parse_probe_matches(text).map_err(|e| e.to_string()));
        let matches = match parsed {
            Ok(m) => m,
            Err(reason) => {
                self.malformed += 1;
                if self.problems.len() < MAX_PROBLEMS {
                    self.problems
                        .push(format!("from {from}: {}", snippet(&reason)));
                }
                return;
            }
        };
        for m in matches {
            match self.devices.iter_mut().find(|d| d.endpoint == m.endpoint) {
                Some(known) => {
                    merge(&mut known.xaddrs, m.xaddrs);
                    merge(&mut known.scopes, m.scopes);
                    merge(&mut known.types, m.types);
                }
                None => self.devices.push(DiscoveredDevice {
                    endpoint: m.endpoint,
                    xaddrs: m.xaddrs,
                    scopes: m.scopes,
                    types: m.types,
                    from,
                }),
            }
        }
    }
}

fn merge(into: &mut Vec<String>, more: Vec<String>) {
    for item in more {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// Sends a probe for each [`ProbeType`] to the targets and collects answers for
/// `timeout`. Fails only when no socket can be opened; a probe that cannot be sent is
/// reported in [`DiscoveryReport::send_errors`].
pub async fn discover(timeout: Duration, targets: &Discovery) -> io::Result<DiscoveryReport> {
    let destinations: Vec<SocketAddr> = match targets {
        Discovery::Multicast => vec![SocketAddr::V4(MULTICAST_GROUP)],
        Discovery::Unicast(addrs) => addrs.clone(),
    };
    let v4 = if destinations.iter().any(SocketAddr::is_ipv4) {
        Some(UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).await?)
    } else {
        None
    };
    let v6 = if destinations.iter().any(SocketAddr::is_ipv6) {
        Some(UdpSocket::bind((std::net::Ipv6Addr::UNSPECIFIED, 0)).await?)
    } else {
        None
    };
    let mut report = DiscoveryReport::default();
    for kind in ProbeType::ALL {
        let message = probe_message(&new_message_id(), kind);
        for to in &destinations {
            let socket = if to.is_ipv4() {
                v4.as_ref()
            } else {
                v6.as_ref()
            };
            let Some(socket) = socket else { continue };
            if let Err(e) = socket.send_to(message.as_bytes(), to).await {
                let line = format!("to {to}: {e}");
                if !report.send_errors.contains(&line) {
                    report.send_errors.push(line);
                }
            }
        }
    }
    let deadline = Instant::now() + timeout;
    let (a, b) = tokio::join!(
        receive(v4.as_ref(), deadline),
        receive(v6.as_ref(), deadline)
    );
    for (from, datagram) in a.into_iter().chain(b) {
        report.accept(from, &datagram);
    }
    Ok(report)
}

/// Every datagram arriving on `socket` until `deadline` (bounded in number).
async fn receive(socket: Option<&UdpSocket>, deadline: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    let Some(socket) = socket else { return out };
    let mut buf = vec![0u8; 65_536];
    let mut errors = 0;
    while out.len() < MAX_DATAGRAMS {
        match tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
            Err(_) => break,
            Ok(Ok((n, from))) => out.push((from, buf[..n].to_vec())),
            // An ICMP error for an earlier probe (unicast to a closed port) on some
            // systems; keep listening for the others.
            Ok(Err(e)) => {
                errors += 1;
                if errors > 64 {
                    tracing::debug!(error = %e, "WS-Discovery socket keeps failing");
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(endpoint: &str, xaddr: &str, scopes: &str) -> String {
        format!(
            r#"<s:Envelope xmlns:s="x" xmlns:d="y" xmlns:a="z"><s:Body><d:ProbeMatches><d:ProbeMatch>
<a:EndpointReference><a:Address>{endpoint}</a:Address></a:EndpointReference>
<d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>{scopes}</d:Scopes>
<d:XAddrs>{xaddr}</d:XAddrs></d:ProbeMatch></d:ProbeMatches></s:Body></s:Envelope>"#
        )
    }

    #[test]
    fn discovery_merges_answers_by_endpoint_and_counts_junk() {
        let from: SocketAddr = "10.0.0.5:3702".parse().unwrap();
        let mut report = DiscoveryReport::default();
        let scopes =
            "onvif://www.onvif.org/name/Cam%20A onvif://www.onvif.org/location/city/sanming";
        report.accept(
            from,
            matches("urn:uuid:1", "http://10.0.0.5/onvif/device_service", scopes).as_bytes(),
        );
        report.accept(
            from,
            matches("urn:uuid:1", "http://[fe80::1]/onvif/device_service", "").as_bytes(),
        );
        report.accept(
            from,
            matches("urn:uuid:2", "http://10.0.0.6/onvif/device_service", "").as_bytes(),
        );
        report.accept(from, b"\xff\xfe junk");
        report.accept(from, b"<Envelope><Body><Hello/></Body></Envelope>");
        assert_eq!(report.devices.len(), 2);
        let first = &report.devices[0];
        assert_eq!(first.xaddrs.len(), 2, "{first:?}");
        assert_eq!(first.name().as_deref(), Some("Cam A"));
        assert_eq!(first.location().as_deref(), Some("city/sanming"));
        assert_eq!(first.hardware(), None);
        assert_eq!(report.malformed, 2);
        assert!(
            report.problems[0].contains("not UTF-8"),
            "{:?}",
            report.problems
        );
        assert!(
            report.problems[1].contains("ProbeMatches"),
            "{:?}",
            report.problems
        );
    }
}
