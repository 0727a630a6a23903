//! The bodies of the device and media answers, as the ONVIF schemas order them (ver10
//! `devicemgmt.wsdl`, `media.wsdl`, `onvif.xsd`). Pure: config, base URL and the camera's
//! time in, XML text out.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike as _, Duration, Timelike as _, Utc};
use customs_edge_devices::onvif::ns;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::config::{OnvifCameraConfig, ProfileConfig};
use super::soap::{Fault, escape};

/// Path of the device service (and of every operation: media ones are answered here too).
pub const DEVICE_PATH: &str = "/onvif/device_service";
/// Path of the media service, as advertised.
pub const MEDIA_PATH: &str = "/onvif/media_service";
/// Path of snapshots; `?profile=<token>`.
pub const SNAPSHOT_PATH: &str = "/onvif/snapshot";
/// Path prefix of the MJPEG streams; `/stream/<token>`.
pub const STREAM_PATH: &str = "/stream";
/// The video source token.
const SOURCE_TOKEN: &str = "VideoSource_1";
/// The ONVIF version claimed.
const VERSION: (u32, u32) = (2, 60);
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

fn media_capabilities(base: &str) -> String {
    format!(
        concat!(
            "<tt:Media><tt:XAddr>{}{}</tt:XAddr><tt:StreamingCapabilities>",
            "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>false</tt:RTP_TCP>",
            "<tt:RTP_RTSP_TCP>false</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
        ),
        base, MEDIA_PATH
    )
}

/// `GetCapabilitiesResponse` for a `Category` (`All` when absent); categories the camera
/// does not have are `ter:NoSuchService`.
pub(crate) fn capabilities(ctx: Ctx<'_>, category: Option<&str>) -> Result<String, Fault> {
    let inner = match category.unwrap_or("All") {
        "All" => device_capabilities(ctx.base) + &media_capabilities(ctx.base),
        "Device" => device_capabilities(ctx.base),
        "Media" => media_capabilities(ctx.base),
        other => return Err(Fault::action_not_supported(other, true)),
    };
    Ok(format!(
        "<tds:GetCapabilitiesResponse><tds:Capabilities>{inner}</tds:Capabilities></tds:GetCapabilitiesResponse>"
    ))
}

/// `GetServicesResponse`: the device and media (ver10) services, with their capabilities
/// when asked.
pub(crate) fn services(ctx: Ctx<'_>, include_capability: bool) -> String {
    let profiles = ctx.cfg.profiles.len();
    let device_caps = concat!(
        "<tds:Capabilities><tds:Capabilities>",
        r#"<tds:Network IPFilter="false" ZeroConfiguration="false" IPVersion6="false" DynDNS="false"/>"#,
        r#"<tds:Security UsernameToken="true" HttpDigest="true"/>"#,
        r#"<tds:System DiscoveryResolve="false" DiscoveryBye="true" RemoteDiscovery="false" SystemBackup="false" SystemLogging="false" FirmwareUpgrade="false"/>"#,
        "</tds:Capabilities></tds:Capabilities>"
    );
    let media_caps = format!(
        concat!(
            r#"<tds:Capabilities><trt:Capabilities SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false">"#,
            r#"<trt:ProfileCapabilities MaximumNumberOfProfiles="{}"/>"#,
            r#"<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="false" RTP_RTSP_TCP="false" NonAggregateControl="false" NoRTSPStreaming="true"/>"#,
            "</trt:Capabilities></tds:Capabilities>"
        ),
        profiles
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
        service(ns::TDS, DEVICE_PATH, device_caps),
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

/// One `tt:Profile`'s content under an element named `tag` (`trt:Profiles`, `trt:Profile`).
fn profile(cfg: &OnvifCameraConfig, p: &ProfileConfig, tag: &str) -> String {
    let uses = cfg.profiles.len();
    format!(
        concat!(
            r#"<{tag} token="{token}" fixed="true"><tt:Name>{token}</tt:Name>"#,
            r#"<tt:VideoSourceConfiguration token="VideoSourceConfig_1"><tt:Name>VideoSourceConfig_1</tt:Name>"#,
            r#"<tt:UseCount>{uses}</tt:UseCount><tt:SourceToken>{source}</tt:SourceToken>"#,
            r#"<tt:Bounds x="0" y="0" width="{sw}" height="{sh}"/></tt:VideoSourceConfiguration>"#,
            r#"<tt:VideoEncoderConfiguration token="VideoEncoder_{token}"><tt:Name>VideoEncoder_{token}</tt:Name>"#,
            "<tt:UseCount>1</tt:UseCount><tt:Encoding>JPEG</tt:Encoding>",
            "<tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>",
            "<tt:Quality>{q}</tt:Quality><tt:RateControl><tt:FrameRateLimit>{fps}</tt:FrameRateLimit>",
            "<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>{kbps}</tt:BitrateLimit></tt:RateControl>",
            "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>",
            "<tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>",
            "<tt:SessionTimeout>PT60S</tt:SessionTimeout></tt:VideoEncoderConfiguration></{tag}>"
        ),
        tag = tag,
        token = p.token,
        uses = uses,
        source = SOURCE_TOKEN,
        sw = cfg.width,
        sh = cfg.height,
        w = p.width,
        h = p.height,
        q = p.quality,
        fps = p.fps,
        // A rough JPEG bitrate: ~1 bit per pixel per frame at quality 75.
        kbps = u64::from(p.width) * u64::from(p.height) * u64::from(p.fps) / 1000,
    )
}

/// `GetProfilesResponse`: every profile, in config order.
pub(crate) fn profiles(cfg: &OnvifCameraConfig) -> String {
    let list: String = cfg
        .profiles
        .iter()
        .map(|p| profile(cfg, p, "trt:Profiles"))
        .collect();
    format!("<trt:GetProfilesResponse>{list}</trt:GetProfilesResponse>")
}

/// `GetProfileResponse` for one token.
pub(crate) fn profile_response(cfg: &OnvifCameraConfig, token: &str) -> Result<String, Fault> {
    let p = cfg.profile(token).ok_or_else(|| Fault::no_profile(token))?;
    Ok(format!(
        "<trt:GetProfileResponse>{}</trt:GetProfileResponse>",
        profile(cfg, p, "trt:Profile")
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

/// `GetSnapshotUriResponse` or `GetStreamUriResponse` (`op`) for a profile token.
pub(crate) fn media_uri(ctx: Ctx<'_>, op: &str, token: Option<&str>) -> Result<String, Fault> {
    let token = token.unwrap_or_default();
    let p = ctx
        .cfg
        .profile(token)
        .ok_or_else(|| Fault::no_profile(token))?;
    let uri = if op == "GetSnapshotUri" {
        snapshot_url(ctx.base, &p.token)
    } else {
        stream_url(ctx.base, &p.token)
    };
    Ok(format!(
        concat!(
            "<trt:{op}Response><trt:MediaUri><tt:Uri>{uri}</tt:Uri>",
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect>",
            "<tt:InvalidAfterReboot>false</tt:InvalidAfterReboot>",
            "<tt:Timeout>PT0S</tt:Timeout></trt:MediaUri></trt:{op}Response>"
        ),
        op = op,
        uri = escape(&uri)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onvif::soap::read_xml;

    fn ctx(cfg: &OnvifCameraConfig) -> Ctx<'_> {
        Ctx {
            cfg,
            base: "http://10.0.0.5:8080",
            now: "2026-11-27T23:59:58Z".parse().unwrap(),
        }
    }

    #[test]
    fn every_answer_is_well_formed_xml() {
        let cfg = OnvifCameraConfig::default();
        let c = ctx(&cfg);
        for body in [
            system_date_and_time(c.now),
            capabilities(c, None).unwrap(),
            services(c, true),
            services(c, false),
            device_information(&cfg),
            scopes_response(&cfg),
            profiles(&cfg),
            profile_response(&cfg, "sub").unwrap(),
            video_sources(&cfg),
            media_uri(c, "GetSnapshotUri", Some("main")).unwrap(),
            media_uri(c, "GetStreamUri", Some("sub")).unwrap(),
        ] {
            let xml = super::super::soap::envelope(&body);
            read_xml(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        }
    }

    #[test]
    fn local_time_is_beijing_time_across_midnight() {
        let xml = system_date_and_time("2026-11-27T23:59:58Z".parse().unwrap());
        assert!(xml.contains("<tt:UTCDateTime><tt:Time><tt:Hour>23</tt:Hour>"));
        assert!(xml.contains("<tt:LocalDateTime><tt:Time><tt:Hour>7</tt:Hour>"));
        assert!(xml.contains("<tt:Day>28</tt:Day></tt:Date></tt:LocalDateTime>"));
    }

    #[test]
    fn uris_name_the_profile_and_unknown_profiles_fault() {
        let cfg = OnvifCameraConfig::default();
        let xml = media_uri(ctx(&cfg), "GetSnapshotUri", Some("sub")).unwrap();
        assert!(xml.contains("<tt:Uri>http://10.0.0.5:8080/onvif/snapshot?profile=sub</tt:Uri>"));
        let fault = media_uri(ctx(&cfg), "GetStreamUri", Some("nope")).unwrap_err();
        assert_eq!(fault.subcodes, ["ter:InvalidArgVal", "ter:NoProfile"]);
    }

    #[test]
    fn scopes_are_percent_encoded_uris() {
        let cfg = OnvifCameraConfig {
            name: "gate 1 出口".to_owned(),
            ..OnvifCameraConfig::default()
        };
        let s = scopes(&cfg);
        assert!(s.contains(&"onvif://www.onvif.org/name/gate%201%20%E5%87%BA%E5%8F%A3".to_owned()));
        assert_eq!(pct("a-b.c_d~e/f:g+h%"), "a-b.c_d~e%2Ff%3Ag%2Bh%25");
        assert!(s.iter().all(|x| !x.contains(' ')));
    }
}
