//! The bodies of the device and media answers, as the ONVIF schemas order them (ver10
//! `devicemgmt.wsdl`, `media.wsdl`, `onvif.xsd`). Pure: config, base URL and the camera's
//! time in, XML text out.

use std::fmt::Write as _;

use std::net::Ipv4Addr;

use chrono::{DateTime, Datelike as _, Duration, Timelike as _, Utc};
use customs_edge_devices::onvif::ns;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::config::{OnvifCameraConfig, ProfileConfig};
use super::device_mgmt::device_service_capabilities;
use super::media_config::{
    SOURCE_TOKEN, media_service_capabilities, video_encoder_configuration,
    video_source_configuration,
};
use super::soap::{Fault, escape};

/// Path of the device service (and of every operation: media ones are answered here too).
pub const DEVICE_PATH: &str = "/onvif/device_service";
/// Path of the media service, as advertised.
pub const MEDIA_PATH: &str = "/onvif/media_service";
/// Path of snapshots; `?profile=<token>`.
pub const SNAPSHOT_PATH: &str = "/onvif/snapshot";
/// Path prefix of the MJPEG streams; `/stream/<token>`.
pub const STREAM_PATH: &str = "/stream";
/// The ONVIF version claimed.
pub(crate) const VERSION: (u32, u32) = (2, 60);
/// The camera's time zone (POSIX form): China Standard Time, UTC+8.
const TZ: &str = "CST-8";
/// Its offset from UTC in hours.
const TZ_OFFSET_H: i64 = 8;

/// What an answer depends on besides the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ctx<'a> {
    /// The camera.
    pub(crate) cfg: &'a OnvifCameraConfig,
    /// `http://host:port` as the client reached the camera.
    pub(crate) base: &'a str,
    /// The camera's clock.
    pub(crate) now: DateTime<Utc>,
    /// The camera's IPv4 address: the one it is bound to, else the one the client used.
    pub(crate) ip: Ipv4Addr,
    /// The HTTP port.
    pub(crate) http_port: u16,
    /// The RTSP port, when the RTSP server runs.
    pub(crate) rtsp_port: Option<u16>,
    /// Whether it answers multicast probes (`GetDiscoveryMode`).
    pub(crate) discoverable: bool,
    /// The WS-Discovery endpoint reference.
    pub(crate) endpoint: &'a str,
}

impl Ctx<'_> {
    /// The host (no port) the client reached the camera at.
    pub(crate) fn host(&self) -> &str {
        let authority = self.base.strip_prefix("http://").unwrap_or(self.base);
        match authority.rfind(':') {
            // `[::1]:80` and `10.0.0.5:80`; a bare IPv6 literal has no port after `]`.
            Some(colon) if !authority[colon..].contains(']') => &authority[..colon],
            _ => authority,
        }
    }
}

/// The URL of a profile's snapshot.
pub(crate) fn snapshot_url(base: &str, token: &str) -> String {
    format!("{base}{SNAPSHOT_PATH}?profile={token}")
}

/// The URL of a profile's MJPEG stream.
pub(crate) fn stream_url(base: &str, token: &str) -> String {
    format!("{base}{STREAM_PATH}/{token}")
}

/// The discovery scopes of the camera.
pub(crate) fn scopes(cfg: &OnvifCameraConfig) -> Vec<String> {
    let base = "onvif://www.onvif.org";
    vec![
        format!("{base}/type/video_encoder"),
        format!("{base}/type/Network_Video_Transmitter"),
        format!("{base}/Profile/Streaming"),
        format!("{base}/name/{}", pct(&cfg.name)),
        format!("{base}/hardware/{}", pct(&cfg.model)),
        format!("{base}/location/{}", pct(&cfg.location)),
    ]
}

/// Everything but RFC 3986 unreserved characters.
const NOT_UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes (upper-case hex) everything but RFC 3986 unreserved characters:
/// scopes are URIs separated by spaces.
fn pct(s: &str) -> String {
    utf8_percent_encode(s, NOT_UNRESERVED).to_string()
}

fn date_time(at: DateTime<Utc>) -> String {
    format!(
        concat!(
            "<tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time>",
            "<tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date>"
        ),
        at.hour(),
        at.minute(),
        at.second(),
        at.year(),
        at.month(),
        at.day()
    )
}

/// `GetSystemDateAndTimeResponse`: the camera's (skewed) clock in UTC and local time.
pub(crate) fn system_date_and_time(now: DateTime<Utc>) -> String {
    format!(
        concat!(
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>",
            "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>",
            "<tt:TimeZone><tt:TZ>{}</tt:TZ></tt:TimeZone>",
            "<tt:UTCDateTime>{}</tt:UTCDateTime><tt:LocalDateTime>{}</tt:LocalDateTime>",
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        ),
        TZ,
        date_time(now),
        date_time(now + Duration::hours(TZ_OFFSET_H))
    )
}

fn device_capabilities(base: &str) -> String {
    format!(
        concat!(
            "<tt:Device><tt:XAddr>{base}{path}</tt:XAddr>",
            "<tt:Network><tt:IPFilter>false</tt:IPFilter><tt:ZeroConfiguration>false</tt:ZeroConfiguration>",
            "<tt:IPVersion6>false</tt:IPVersion6><tt:DynDNS>false</tt:DynDNS></tt:Network>",
            "<tt:System><tt:DiscoveryResolve>false</tt:DiscoveryResolve><tt:DiscoveryBye>true</tt:DiscoveryBye>",
            "<tt:RemoteDiscovery>false</tt:RemoteDiscovery><tt:SystemBackup>false</tt:SystemBackup>",
            "<tt:SystemLogging>false</tt:SystemLogging><tt:FirmwareUpgrade>false</tt:FirmwareUpgrade>",
            "<tt:SupportedVersions><tt:Major>{major}</tt:Major><tt:Minor>{minor}</tt:Minor></tt:SupportedVersions>",
            "</tt:System></tt:Device>"
        ),
        base = base,
        path = DEVICE_PATH,
        major = VERSION.0,
        minor = VERSION.1,
    )
}

fn media_capabilities(ctx: Ctx<'_>) -> String {
    let rtsp = ctx.rtsp_port.is_some();
    format!(
        concat!(
            "<tt:Media><tt:XAddr>{}{}</tt:XAddr><tt:StreamingCapabilities>",
            "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>{rtsp}</tt:RTP_TCP>",
            "<tt:RTP_RTSP_TCP>{rtsp}</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
        ),
        ctx.base,
        MEDIA_PATH,
        rtsp = rtsp
    )
}

/// `GetCapabilitiesResponse` for a `Category` (`All` when absent); categories the camera
/// does not have are `ter:NoSuchService`.
pub(crate) fn capabilities(ctx: Ctx<'_>, category: Option<&str>) -> Result<String, Fault> {
    let inner = match category.unwrap_or("All") {
        "All" => device_capabilities(ctx.base) + &media_capabilities(ctx),
        "Device" => device_capabilities(ctx.base),
        "Media" => media_capabilities(ctx),
        other => return Err(Fault::action_not_supported(other, true)),
    };
    Ok(format!(
        "<tds:GetCapabilitiesResponse><tds:Capabilities>{inner}</tds:Capabilities></tds:GetCapabilitiesResponse>"
    ))
}

/// `GetServicesResponse`: the device and media (ver10) services, with their capabilities
/// when asked.
pub(crate) fn services(ctx: Ctx<'_>, include_capability: bool) -> String {
    let device_caps = format!(
        "<tds:Capabilities>{}</tds:Capabilities>",
        device_service_capabilities("tds:Capabilities")
    );
    let media_caps = format!(
        "<tds:Capabilities>{}</tds:Capabilities>",
        media_service_capabilities(ctx, "trt:Capabilities")
    );
    let service = |namespace: &str, path: &str, caps: &str| {
        format!(
            concat!(
                "<tds:Service><tds:Namespace>{}</tds:Namespace><tds:XAddr>{}{}</tds:XAddr>{}",
                "<tds:Version><tt:Major>{}</tt:Major><tt:Minor>{}</tt:Minor></tds:Version></tds:Service>"
            ),
            namespace,
            ctx.base,
            path,
            if include_capability { caps } else { "" },
            VERSION.0,
            VERSION.1
        )
    };
    format!(
        "<tds:GetServicesResponse>{}{}</tds:GetServicesResponse>",
        service(ns::TDS, DEVICE_PATH, &device_caps),
        service(ns::TRT, MEDIA_PATH, &media_caps)
    )
}

/// `GetDeviceInformationResponse`.
pub(crate) fn device_information(cfg: &OnvifCameraConfig) -> String {
    format!(
        concat!(
            "<tds:GetDeviceInformationResponse><tds:Manufacturer>{}</tds:Manufacturer>",
            "<tds:Model>{}</tds:Model><tds:FirmwareVersion>{}</tds:FirmwareVersion>",
            "<tds:SerialNumber>{}</tds:SerialNumber><tds:HardwareId>{}</tds:HardwareId>",
            "</tds:GetDeviceInformationResponse>"
        ),
        escape(&cfg.manufacturer),
        escape(&cfg.model),
        escape(&cfg.firmware),
        escape(&cfg.serial),
        escape(&cfg.model)
    )
}

/// `GetScopesResponse`: the type and profile scopes fixed, name and location configurable.
pub(crate) fn scopes_response(cfg: &OnvifCameraConfig) -> String {
    let mut out = String::from("<tds:GetScopesResponse>");
    for scope in scopes(cfg) {
        let def = if scope.contains("/name/") || scope.contains("/location/") {
            "Configurable"
        } else {
            "Fixed"
        };
        let _ = write!(
            out,
            "<tds:Scopes><tt:ScopeDef>{def}</tt:ScopeDef><tt:ScopeItem>{}</tt:ScopeItem></tds:Scopes>",
            escape(&scope)
        );
    }
    out.push_str("</tds:GetScopesResponse>");
    out
}

/// One `tt:Profile` under an element named `tag` (`trt:Profiles`, `trt:Profile`).
fn profile(ctx: Ctx<'_>, p: &ProfileConfig, tag: &str) -> String {
    format!(
        r#"<{tag} token="{token}" fixed="true"><tt:Name>{token}</tt:Name>{source}{encoder}</{tag}>"#,
        tag = tag,
        token = p.token,
        source = video_source_configuration(ctx, "tt:VideoSourceConfiguration"),
        encoder = video_encoder_configuration(ctx, p, "tt:VideoEncoderConfiguration"),
    )
}

/// `GetProfilesResponse`: every profile, in config order.
pub(crate) fn profiles(ctx: Ctx<'_>) -> String {
    let list: String = (ctx.cfg.profiles.iter())
        .map(|p| profile(ctx, p, "trt:Profiles"))
        .collect();
    format!("<trt:GetProfilesResponse>{list}</trt:GetProfilesResponse>")
}

/// `GetProfileResponse` for one token.
pub(crate) fn profile_response(ctx: Ctx<'_>, token: &str) -> Result<String, Fault> {
    let p = ctx
        .cfg
        .profile(token)
        .ok_or_else(|| Fault::no_profile(token))?;
    Ok(format!(
        "<trt:GetProfileResponse>{}</trt:GetProfileResponse>",
        profile(ctx, p, "trt:Profile")
    ))
}

/// `GetVideoSourcesResponse`: the one source.
pub(crate) fn video_sources(cfg: &OnvifCameraConfig) -> String {
    format!(
        concat!(
            r#"<trt:GetVideoSourcesResponse><trt:VideoSources token="{}"><tt:Framerate>{}</tt:Framerate>"#,
            "<tt:Resolution><tt:Width>{}</tt:Width><tt:Height>{}</tt:Height></tt:Resolution>",
            "</trt:VideoSources></trt:GetVideoSourcesResponse>"
        ),
        SOURCE_TOKEN, cfg.fps, cfg.width, cfg.height
    )
}

/// The URL of a profile's RTSP stream on `host`.
pub(crate) fn rtsp_url(host: &str, port: u16, token: &str) -> String {
    format!("rtsp://{host}:{port}/{token}")
}

/// What `GetStreamUri` was asked for: `StreamSetup/Stream` and `Transport/Protocol`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StreamSetup<'a> {
    /// `RTP-Unicast` or `RTP-Multicast`.
    pub(crate) stream: Option<&'a str>,
    /// `UDP`, `TCP`, `RTSP` or `HTTP`.
    pub(crate) protocol: Option<&'a str>,
}

/// `GetSnapshotUriResponse` for a profile token.
pub(crate) fn snapshot_uri(ctx: Ctx<'_>, token: Option<&str>) -> Result<String, Fault> {
    let p = known_profile(ctx, token)?;
    Ok(media_uri(
        "GetSnapshotUri",
        &snapshot_url(ctx.base, &p.token),
    ))
}

/// `GetStreamUriResponse` for a profile token: RTSP (H.264) for RTP over UDP, TCP or
/// RTSP when the RTSP server runs; the MJPEG-over-HTTP URL for `HTTP`, and for everything
/// when it does not. Multicast is refused (`RTPMulticast` is false).
pub(crate) fn stream_uri(
    ctx: Ctx<'_>,
    token: Option<&str>,
    setup: StreamSetup<'_>,
) -> Result<String, Fault> {
    let p = known_profile(ctx, token)?;
    if setup.stream == Some("RTP-Multicast") {
        return Err(Fault::invalid_stream_setup(
            "RTP multicast is not supported",
        ));
    }
    let uri = match (ctx.rtsp_port, setup.protocol) {
        (Some(port), Some("UDP" | "TCP" | "RTSP") | None) => rtsp_url(ctx.host(), port, &p.token),
        _ => stream_url(ctx.base, &p.token),
    };
    Ok(media_uri("GetStreamUri", &uri))
}

fn known_profile<'c>(ctx: Ctx<'c>, token: Option<&str>) -> Result<&'c ProfileConfig, Fault> {
    let token = token.unwrap_or_default();
    ctx.cfg
        .profile(token)
        .ok_or_else(|| Fault::no_profile(token))
}

fn media_uri(op: &str, uri: &str) -> String {
    format!(
        concat!(
            "<trt:{op}Response><trt:MediaUri><tt:Uri>{uri}</tt:Uri>",
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>",
            "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>",
            "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{op}Response>"
        ),
        op = op,
        uri = escape(uri)
    )
}

#[cfg(test)]
#[path = "messages_tests.rs"]
mod tests;
