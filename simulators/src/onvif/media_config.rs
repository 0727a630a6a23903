//! Media ver10 configurations: the one video source configuration, one video encoder
//! configuration per profile (`VideoEncoder_<token>`), their options, the compatible ones,
//! the media service's capabilities, and the (empty) audio lists. One encoder per profile
//! and one source shared by all, so what `GetProfiles` embeds, what these operations list
//! and what the streams deliver agree: H.264 when the RTSP server runs (the RTSP stream is
//! H.264), else JPEG (the MJPEG stream). Snapshots are JPEG either way.

use std::fmt::Write as _;

use super::config::ProfileConfig;
use super::messages::Ctx;
use super::soap::{Fault, escape};

/// The video source token.
pub(crate) const SOURCE_TOKEN: &str = "VideoSource_1";
/// The video source configuration token.
pub(crate) const SOURCE_CONFIG_TOKEN: &str = "VideoSourceConfig_1";

/// The token of a profile's video encoder configuration.
pub(crate) fn encoder_token(p: &ProfileConfig) -> String {
    format!("VideoEncoder_{}", p.token)
}

/// `tt:VideoSourceConfiguration` content under `tag`.
pub(crate) fn video_source_configuration(ctx: Ctx<'_>, tag: &str) -> String {
    format!(
        concat!(
            r#"<{tag} token="{token}"><tt:Name>{token}</tt:Name><tt:UseCount>{uses}</tt:UseCount>"#,
            "<tt:SourceToken>{source}</tt:SourceToken>",
            r#"<tt:Bounds x="0" y="0" width="{w}" height="{h}"/></{tag}>"#
        ),
        tag = tag,
        token = SOURCE_CONFIG_TOKEN,
        uses = ctx.cfg.profiles.len(),
        source = SOURCE_TOKEN,
        w = ctx.cfg.width,
        h = ctx.cfg.height,
    )
}

/// `tt:VideoEncoderConfiguration` of profile `p` under `tag`.
pub(crate) fn video_encoder_configuration(ctx: Ctx<'_>, p: &ProfileConfig, tag: &str) -> String {
    let h264 = ctx.rtsp_port.is_some();
    let (encoding, codec) = if h264 {
        (
            "H264",
            format!(
                "<tt:H264><tt:GovLength>{}</tt:GovLength><tt:H264Profile>Baseline</tt:H264Profile></tt:H264>",
                p.fps
            ),
        )
    } else {
        ("JPEG", String::new())
    };
    // A rough bitrate: ~1 bit per pixel per frame for JPEG at quality 75, a tenth of
    // that for H.264.
    let pixels_per_s = u64::from(p.width) * u64::from(p.height) * u64::from(p.fps);
    let kbps = if h264 {
        pixels_per_s / 10_000
    } else {
        pixels_per_s / 1000
    };
    format!(
        concat!(
            r#"<{tag} token="{token}"><tt:Name>{token}</tt:Name>"#,
            "<tt:UseCount>1</tt:UseCount><tt:Encoding>{encoding}</tt:Encoding>",
            "<tt:Resolution><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:Resolution>",
            "<tt:Quality>{q}</tt:Quality><tt:RateControl><tt:FrameRateLimit>{fps}</tt:FrameRateLimit>",
            "<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>{kbps}</tt:BitrateLimit></tt:RateControl>",
            "{codec}",
            "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>",
            "<tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>",
            "<tt:SessionTimeout>PT60S</tt:SessionTimeout></{tag}>"
        ),
        tag = tag,
        token = encoder_token(p),
        encoding = encoding,
        w = p.width,
        h = p.height,
        q = p.quality,
        fps = p.fps,
        kbps = kbps,
        codec = codec,
    )
}

/// `GetVideoSourceConfigurationsResponse` (`GetCompatibleVideoSourceConfigurations` for
/// any profile answers the same list).
pub(crate) fn video_source_configurations(ctx: Ctx<'_>, op: &str) -> String {
    format!(
        "<trt:{op}Response>{}</trt:{op}Response>",
        video_source_configuration(ctx, "trt:Configurations")
    )
}

/// `GetVideoSourceConfigurationResponse` for a token.
pub(crate) fn video_source_configuration_response(
    ctx: Ctx<'_>,
    token: &str,
) -> Result<String, Fault> {
    if token != SOURCE_CONFIG_TOKEN {
        return Err(Fault::no_config(token));
    }
    Ok(format!(
        "<trt:GetVideoSourceConfigurationResponse>{}</trt:GetVideoSourceConfigurationResponse>",
        video_source_configuration(ctx, "trt:Configuration")
    ))
}

/// `GetVideoEncoderConfigurationsResponse`, and `GetCompatibleVideoEncoderConfigurations`
/// (every encoder fits the one source, so every one is compatible with every profile).
pub(crate) fn video_encoder_configurations(ctx: Ctx<'_>, op: &str) -> String {
    let list: String = ctx
        .cfg
        .profiles
        .iter()
        .map(|p| video_encoder_configuration(ctx, p, "trt:Configurations"))
        .collect();
    format!("<trt:{op}Response>{list}</trt:{op}Response>")
}

/// `GetVideoEncoderConfigurationResponse` for a token.
pub(crate) fn video_encoder_configuration_response(
    ctx: Ctx<'_>,
    token: &str,
) -> Result<String, Fault> {
    let p = (ctx.cfg.profiles.iter())
        .find(|p| encoder_token(p) == token)
        .ok_or_else(|| Fault::no_config(token))?;
    Ok(format!(
        "<trt:GetVideoEncoderConfigurationResponse>{}</trt:GetVideoEncoderConfigurationResponse>",
        video_encoder_configuration(ctx, p, "trt:Configuration")
    ))
}

/// The encoder configuration token a request names: its `ConfigurationToken`, or the
/// encoder of its `ProfileToken`; either must exist. `Ok(None)` when it names neither.
pub(crate) fn named_encoder<'c>(
    ctx: Ctx<'c>,
    configuration: Option<&str>,
    profile: Option<&str>,
) -> Result<Option<&'c ProfileConfig>, Fault> {
    if let Some(token) = configuration.filter(|t| !t.is_empty()) {
        let p = (ctx.cfg.profiles.iter()).find(|p| encoder_token(p) == token);
        return p.map(Some).ok_or_else(|| Fault::no_config(token));
    }
    if let Some(token) = profile.filter(|t| !t.is_empty()) {
        return ctx
            .cfg
            .profile(token)
            .map(Some)
            .ok_or_else(|| Fault::no_profile(token));
    }
    Ok(None)
}

/// `GetVideoEncoderConfigurationOptionsResponse`: quality 1..=100; JPEG at every profile
/// size up to the source's frame rate; H.264 (Baseline) the same when RTSP runs.
pub(crate) fn video_encoder_options(ctx: Ctx<'_>) -> String {
    let mut sizes: Vec<(u32, u32)> = ctx
        .cfg
        .profiles
        .iter()
        .map(|p| (p.width, p.height))
        .collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    let mut resolutions = String::new();
    for (w, h) in &sizes {
        let _ = write!(
            resolutions,
            "<tt:ResolutionsAvailable><tt:Width>{w}</tt:Width><tt:Height>{h}</tt:Height></tt:ResolutionsAvailable>"
        );
    }
    let fps = ctx.cfg.fps;
    let range = |name: &str, min: u32, max: u32| {
        format!("<tt:{name}><tt:Min>{min}</tt:Min><tt:Max>{max}</tt:Max></tt:{name}>")
    };
    let mut out = String::from("<trt:GetVideoEncoderConfigurationOptionsResponse><trt:Options>");
    out.push_str(&range("QualityRange", 1, 100));
    let _ = write!(
        out,
        "<tt:JPEG>{resolutions}{}{}</tt:JPEG>",
        range("FrameRateRange", 1, fps),
        range("EncodingIntervalRange", 1, 1)
    );
    if ctx.rtsp_port.is_some() {
        let _ = write!(
            out,
            "<tt:H264>{resolutions}{}{}{}<tt:H264ProfilesSupported>Baseline</tt:H264ProfilesSupported></tt:H264>",
            range("GovLengthRange", 1, fps.max(1) * 10),
            range("FrameRateRange", 1, fps),
            range("EncodingIntervalRange", 1, 1)
        );
    }
    out.push_str("</trt:Options></trt:GetVideoEncoderConfigurationOptionsResponse>");
    out
}

/// `GetVideoSourceConfigurationOptionsResponse`: the whole source, fixed.
pub(crate) fn video_source_options(ctx: Ctx<'_>) -> String {
    let (w, h) = (ctx.cfg.width, ctx.cfg.height);
    let range = |name: &str, v: u32| {
        format!("<tt:{name}><tt:Min>{v}</tt:Min><tt:Max>{v}</tt:Max></tt:{name}>")
    };
    format!(
        concat!(
            "<trt:GetVideoSourceConfigurationOptionsResponse><trt:Options><tt:BoundsRange>",
            "{}{}{}{}</tt:BoundsRange><tt:VideoSourceTokensAvailable>{}</tt:VideoSourceTokensAvailable>",
            "</trt:Options></trt:GetVideoSourceConfigurationOptionsResponse>"
        ),
        range("XRange", 0),
        range("YRange", 0),
        range("WidthRange", w),
        range("HeightRange", h),
        SOURCE_TOKEN
    )
}

/// `GetGuaranteedNumberOfVideoEncoderInstancesResponse`: one instance per profile, of the
/// encoding the profiles use.
pub(crate) fn guaranteed_encoders(ctx: Ctx<'_>) -> String {
    let n = ctx.cfg.profiles.len();
    let codec = if ctx.rtsp_port.is_some() {
        "H264"
    } else {
        "JPEG"
    };
    format!(
        concat!(
            "<trt:GetGuaranteedNumberOfVideoEncoderInstancesResponse><trt:TotalNumber>{n}</trt:TotalNumber>",
            "<trt:{codec}>{n}</trt:{codec}></trt:GetGuaranteedNumberOfVideoEncoderInstancesResponse>"
        ),
        n = n,
        codec = codec
    )
}

/// The media service's `trt:Capabilities` (in `GetServices` and `GetServiceCapabilities`):
/// RTP over RTSP over TCP (interleaved) when the RTSP server runs; never multicast.
pub(crate) fn media_service_capabilities(ctx: Ctx<'_>, tag: &str) -> String {
    let rtsp = ctx.rtsp_port.is_some();
    format!(
        concat!(
            r#"<{tag} SnapshotUri="true" Rotation="false" VideoSourceMode="false" OSD="false">"#,
            r#"<trt:ProfileCapabilities MaximumNumberOfProfiles="{profiles}"/>"#,
            r#"<trt:StreamingCapabilities RTPMulticast="false" RTP_TCP="{rtsp}" RTP_RTSP_TCP="{rtsp}" "#,
            r#"NonAggregateControl="false" NoRTSPStreaming="{no_rtsp}"/></{tag}>"#
        ),
        tag = tag,
        profiles = ctx.cfg.profiles.len(),
        rtsp = rtsp,
        no_rtsp = !rtsp,
    )
}

/// `GetServiceCapabilitiesResponse` of the media service.
pub(crate) fn media_service_capabilities_response(ctx: Ctx<'_>) -> String {
    format!(
        "<trt:GetServiceCapabilitiesResponse>{}</trt:GetServiceCapabilitiesResponse>",
        media_service_capabilities(ctx, "trt:Capabilities")
    )
}

/// The answer to an audio list operation (`GetAudioSources`, ...): the camera has no
/// audio, so an empty list.
pub(crate) fn empty_list(op: &str) -> String {
    format!("<trt:{}Response/>", escape(op))
}
