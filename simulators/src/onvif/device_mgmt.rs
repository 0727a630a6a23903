//! Device management reads a video management system asks for besides the basics: host
//! name, network interface, DNS, NTP, protocols, gateway, discovery mode, users, WSDL URL,
//! the device service's capabilities and endpoint reference. The values are derived, so
//! they agree with each other and with how the camera is reached: the interface carries
//! the address the client used (or the bound one), the gateway and DNS server are `.1`
//! of its /24, the ports are the ones really listening, the clock is set by hand (no NTP
//! server: the camera's clock may be skewed on purpose).

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use sha1::{Digest as _, Sha1};

use super::messages::Ctx;
use super::soap::escape;

/// What `GetWsdlUrl` answers, as real cameras do.
const WSDL_URL: &str = "http://www.onvif.org/Documents/Specifications.html";
/// The network interface token and name.
const INTERFACE: &str = "eth0";

/// The camera's host name: its name in lower case, anything but letters, digits and `-`
/// replaced by `-`, at most 63 characters (RFC 1123).
pub(crate) fn hostname(name: &str) -> String {
    let host: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    let host = host.trim_matches('-');
    if host.is_empty() {
        "onvif-camera".to_owned()
    } else {
        host.to_owned()
    }
}

/// A stable, locally administered MAC address from the camera's name.
pub(crate) fn mac_address(name: &str) -> String {
    let hash = Sha1::digest(name.as_bytes());
    let mut out = String::from("02");
    for b in &hash[..5] {
        let _ = write!(out, ":{b:02x}");
    }
    out
}

/// The gateway (and DNS server) of the camera's network: `.1` of its /24, or `.254` when
/// that is the camera itself.
pub(crate) fn gateway(ip: Ipv4Addr) -> Ipv4Addr {
    let [a, b, c, d] = ip.octets();
    Ipv4Addr::new(a, b, c, if d == 1 { 254 } else { 1 })
}

fn prefix_length(ip: Ipv4Addr) -> u8 {
    if ip.is_loopback() { 8 } else { 24 }
}

/// `GetHostnameResponse`.
pub(crate) fn get_hostname(ctx: Ctx<'_>) -> String {
    format!(
        concat!(
            "<tds:GetHostnameResponse><tds:HostnameInformation><tt:FromDHCP>false</tt:FromDHCP>",
            "<tt:Name>{}</tt:Name></tds:HostnameInformation></tds:GetHostnameResponse>"
        ),
        escape(hostname(&ctx.cfg.name))
    )
}

/// `GetNetworkInterfacesResponse`: one wired interface, static IPv4.
pub(crate) fn network_interfaces(ctx: Ctx<'_>) -> String {
    format!(
        concat!(
            r#"<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token="{name}">"#,
            "<tt:Enabled>true</tt:Enabled><tt:Info><tt:Name>{name}</tt:Name>",
            "<tt:HwAddress>{mac}</tt:HwAddress><tt:MTU>1500</tt:MTU></tt:Info>",
            "<tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Config><tt:Manual><tt:Address>{ip}</tt:Address>",
            "<tt:PrefixLength>{prefix}</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:Config></tt:IPv4>",
            "</tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>"
        ),
        name = INTERFACE,
        mac = mac_address(&ctx.cfg.name),
        ip = ctx.ip,
        prefix = prefix_length(ctx.ip),
    )
}

/// `GetDNSResponse`: the gateway, set by hand.
pub(crate) fn dns(ctx: Ctx<'_>) -> String {
    format!(
        concat!(
            "<tds:GetDNSResponse><tds:DNSInformation><tt:FromDHCP>false</tt:FromDHCP>",
            "<tt:DNSManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>{}</tt:IPv4Address></tt:DNSManual>",
            "</tds:DNSInformation></tds:GetDNSResponse>"
        ),
        gateway(ctx.ip)
    )
}

/// `GetNTPResponse`: no NTP server (`GetSystemDateAndTime` says `Manual`).
pub(crate) fn ntp() -> String {
    concat!(
        "<tds:GetNTPResponse><tds:NTPInformation><tt:FromDHCP>false</tt:FromDHCP>",
        "</tds:NTPInformation></tds:GetNTPResponse>"
    )
    .to_owned()
}

/// `GetNetworkProtocolsResponse`: HTTP on its port, RTSP on its port when the RTSP server
/// runs, HTTPS off.
pub(crate) fn network_protocols(ctx: Ctx<'_>) -> String {
    let protocol = |name: &str, enabled: bool, port: u16| {
        format!(
            "<tds:NetworkProtocols><tt:Name>{name}</tt:Name><tt:Enabled>{enabled}</tt:Enabled><tt:Port>{port}</tt:Port></tds:NetworkProtocols>"
        )
    };
    format!(
        "<tds:GetNetworkProtocolsResponse>{}{}{}</tds:GetNetworkProtocolsResponse>",
        protocol("HTTP", true, ctx.http_port),
        protocol("HTTPS", false, 443),
        protocol(
            "RTSP",
            ctx.rtsp_port.is_some(),
            ctx.rtsp_port.unwrap_or(554)
        ),
    )
}

/// `GetNetworkDefaultGatewayResponse`.
pub(crate) fn default_gateway(ctx: Ctx<'_>) -> String {
    format!(
        concat!(
            "<tds:GetNetworkDefaultGatewayResponse><tds:NetworkGateway>",
            "<tt:IPv4Address>{}</tt:IPv4Address></tds:NetworkGateway></tds:GetNetworkDefaultGatewayResponse>"
        ),
        gateway(ctx.ip)
    )
}

/// `GetDiscoveryModeResponse`: discoverable when it answers multicast probes.
pub(crate) fn discovery_mode(ctx: Ctx<'_>) -> String {
    let mode = if ctx.discoverable {
        "Discoverable"
    } else {
        "NonDiscoverable"
    };
    format!(
        "<tds:GetDiscoveryModeResponse><tds:DiscoveryMode>{mode}</tds:DiscoveryMode></tds:GetDiscoveryModeResponse>"
    )
}

/// `GetUsersResponse`: the one user, an administrator (no password: ONVIF never lists it).
pub(crate) fn users(ctx: Ctx<'_>) -> String {
    format!(
        concat!(
            "<tds:GetUsersResponse><tds:User><tt:Username>{}</tt:Username>",
            "<tt:UserLevel>Administrator</tt:UserLevel></tds:User></tds:GetUsersResponse>"
        ),
        escape(&ctx.cfg.username)
    )
}

/// `GetWsdlUrlResponse`.
pub(crate) fn wsdl_url() -> String {
    format!(
        "<tds:GetWsdlUrlResponse><tds:WsdlUrl>{WSDL_URL}</tds:WsdlUrl></tds:GetWsdlUrlResponse>"
    )
}

/// `GetEndpointReferenceResponse`: the WS-Discovery endpoint reference.
pub(crate) fn endpoint_reference(ctx: Ctx<'_>) -> String {
    format!(
        "<tds:GetEndpointReferenceResponse><tds:GUID>{}</tds:GUID></tds:GetEndpointReferenceResponse>",
        escape(ctx.endpoint)
    )
}

/// The device service's `tds:Capabilities` (in `GetServices` and `GetServiceCapabilities`):
/// WS-UsernameToken and HTTP Digest, Bye on shutdown, nothing it cannot do.
pub(crate) fn device_service_capabilities(tag: &str) -> String {
    format!(
        concat!(
            "<{tag}>",
            r#"<tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false" "#,
            r#"Dot11Configuration="false" HostnameFromDHCP="false" NTP="0"/>"#,
            r#"<tds:Security TLS1.0="false" TLS1.1="false" TLS1.2="false" OnboardKeyGeneration="false" "#,
            r#"AccessPolicyConfig="false" DefaultAccessPolicy="false" Dot1X="false" RemoteUserHandling="false" "#,
            r#"X.509Token="false" SAMLToken="false" KerberosToken="false" UsernameToken="true" HttpDigest="true" RELToken="false"/>"#,
            r#"<tds:System DiscoveryResolve="false" DiscoveryBye="true" RemoteDiscovery="false" SystemBackup="false" "#,
            r#"SystemLogging="false" FirmwareUpgrade="false" HttpFirmwareUpgrade="false" HttpSystemBackup="false" "#,
            r#"HttpSystemLogging="false" HttpSupportInformation="false"/>"#,
            "</{tag}>"
        ),
        tag = tag
    )
}

/// `GetServiceCapabilitiesResponse` of the device service.
pub(crate) fn device_service_capabilities_response() -> String {
    format!(
        "<tds:GetServiceCapabilitiesResponse>{}</tds:GetServiceCapabilitiesResponse>",
        device_service_capabilities("tds:Capabilities")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_rfc_1123_labels() {
        assert_eq!(hostname("Gate K1 出口"), "gate-k1");
        assert_eq!(hostname("出口"), "onvif-camera");
        assert_eq!(hostname(&"x".repeat(100)).len(), 63);
    }

    #[test]
    fn the_mac_is_stable_and_locally_administered() {
        let mac = mac_address("sim-camera");
        assert_eq!(mac, mac_address("sim-camera"));
        assert!(mac.starts_with("02:"));
        assert_eq!(mac.len(), 17);
        assert_ne!(mac, mac_address("other"));
    }

    #[test]
    fn the_gateway_is_dot_one_of_the_subnet_unless_that_is_the_camera() {
        assert_eq!(
            gateway(Ipv4Addr::new(10, 0, 0, 5)),
            Ipv4Addr::new(10, 0, 0, 1)
        );
        assert_eq!(
            gateway(Ipv4Addr::new(10, 0, 0, 1)),
            Ipv4Addr::new(10, 0, 0, 254)
        );
    }
}
