//! The media service (version 1): GetProfiles, GetSnapshotUri, GetStreamUri — requests
//! and typed answers.

use super::error::{ErrorKind, snippet};
use super::soap::open_response;
use super::xml::{Element, escape, parse_at};
use super::{Operation, ServiceKind};

/// `GetProfiles`: the media profiles (one per stream a camera offers).
#[derive(Debug, Clone, Copy, Default)]
pub struct GetProfiles;

/// One media profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The profile token, what GetStreamUri and GetSnapshotUri take.
    pub token: String,
    /// Its name (`mainStream`, `profile_1_h264`); the token when the camera gave none.
    pub name: String,
    /// Whether the profile cannot be deleted.
    pub fixed: bool,
    /// The video source it takes pictures from, if any.
    pub video_source: Option<String>,
    /// How it encodes video, if it has a video encoder.
    pub video: Option<VideoEncoder>,
}

/// A profile's video encoder configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoEncoder {
    /// The configuration token.
    pub token: String,
    /// `H264`, `H265`, `JPEG`, `MPEG4`.
    pub encoding: String,
    /// Width and height in pixels, if given.
    pub resolution: Option<(u32, u32)>,
    /// Frame rate limit (frames per second), if given.
    pub fps: Option<f32>,
    /// Bitrate limit in kbit/s, if given.
    pub bitrate_kbps: Option<u32>,
}

impl Operation for GetProfiles {
    const NAME: &'static str = "GetProfiles";
    const SERVICE: ServiceKind = ServiceKind::Media;
    type Output = Vec<Profile>;

    fn body(&self) -> String {
        "<trt:GetProfiles/>".into()
    }

    fn parse_response(xml: &str) -> Result<Vec<Profile>, ErrorKind> {
        let resp = open_response(xml, "GetProfilesResponse")?;
        resp.children_named("Profiles")
            .enumerate()
            .map(|(i, p)| profile(p, &format!("GetProfilesResponse/Profiles[{i}]")))
            .collect()
    }
}

fn profile(p: &Element, at: &str) -> Result<Profile, ErrorKind> {
    let token = p
        .attr("token")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ErrorKind::Missing(format!("{at}/@token")))?
        .to_owned();
    let video = p
        .child("VideoEncoderConfiguration")
        .map(|v| video_encoder(v, &format!("{at}/VideoEncoderConfiguration")))
        .transpose()?;
    Ok(Profile {
        name: p.text_at(&["Name"]).map_or_else(|| token.clone(), snippet),
        fixed: super::device::parse_bool(p.attr("fixed")),
        video_source: p
            .child("VideoSourceConfiguration")
            .and_then(|v| v.text_at(&["SourceToken"]))
            .map(snippet),
        video,
        token,
    })
}

fn video_encoder(v: &Element, at: &str) -> Result<VideoEncoder, ErrorKind> {
    let width = parse_at::<u32>(v, &["Resolution", "Width"], at, "a number of pixels")?;
    let height = parse_at::<u32>(v, &["Resolution", "Height"], at, "a number of pixels")?;
    let fps = parse_at::<f32>(v, &["RateControl", "FrameRateLimit"], at, "a frame rate")?;
    if let Some(f) = fps.filter(|f| !f.is_finite() || *f < 0.0) {
        return Err(ErrorKind::BadValue {
            element: format!("{at}/RateControl/FrameRateLimit"),
            value: f.to_string(),
            expected: "a frame rate",
        });
    }
    Ok(VideoEncoder {
        token: snippet(v.attr("token").unwrap_or_default()),
        encoding: snippet(v.text_at(&["Encoding"]).unwrap_or_default()),
        resolution: width.zip(height),
        fps,
        bitrate_kbps: parse_at::<u32>(v, &["RateControl", "BitrateLimit"], at, "a number")?,
    })
}

/// A URI a camera gave for a profile's snapshot or stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUri {
    /// The URI (`rtsp://…`, `http://…`).
    pub uri: String,
    /// Whether it stops working once used.
    pub invalid_after_connect: bool,
    /// Whether it stops working after the camera reboots.
    pub invalid_after_reboot: bool,
    /// How long it stays valid (ISO 8601 duration, `PT0S` meaning forever), if given.
    pub timeout: Option<String>,
}

fn media_uri(xml: &str, response: &'static str) -> Result<MediaUri, ErrorKind> {
    let resp = open_response(xml, response)?;
    let at = format!("{response}/MediaUri/Uri");
    let m = resp
        .child("MediaUri")
        .ok_or_else(|| ErrorKind::Missing(format!("{response}/MediaUri")))?;
    let uri = m
        .text_at(&["Uri"])
        .ok_or_else(|| ErrorKind::Missing(at.clone()))?;
    let scheme_ok = uri.split_once("://").is_some_and(|(scheme, rest)| {
        ["rtsp", "rtsps", "http", "https"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s))
            && !rest.is_empty()
    });
    if !scheme_ok || uri.chars().any(char::is_whitespace) {
        return Err(ErrorKind::BadValue {
            element: at,
            value: snippet(uri),
            expected: "an rtsp:// or http(s):// URI",
        });
    }
    Ok(MediaUri {
        uri: uri.to_owned(),
        invalid_after_connect: super::device::parse_bool(m.text_at(&["InvalidAfterConnect"])),
        invalid_after_reboot: super::device::parse_bool(m.text_at(&["InvalidAfterReboot"])),
        timeout: m.text_at(&["Timeout"]).map(snippet),
    })
}

/// `GetSnapshotUri` for a profile: where to fetch a JPEG of it over HTTP.
#[derive(Debug, Clone)]
pub struct GetSnapshotUri {
    /// The profile token.
    pub profile: String,
}

impl Operation for GetSnapshotUri {
    const NAME: &'static str = "GetSnapshotUri";
    const SERVICE: ServiceKind = ServiceKind::Media;
    type Output = MediaUri;

    fn body(&self) -> String {
        format!(
            "<trt:GetSnapshotUri><trt:ProfileToken>{}</trt:ProfileToken></trt:GetSnapshotUri>",
            escape(&self.profile)
        )
    }

    fn parse_response(xml: &str) -> Result<MediaUri, ErrorKind> {
        media_uri(xml, "GetSnapshotUriResponse")
    }
}

/// How a stream should be delivered (`StreamSetup`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamSetup {
    /// `RTP-Unicast` over `RTSP` (interleaved RTP over the RTSP TCP connection): what
    /// the controller records from.
    #[default]
    RtspUnicast,
    /// `RTP-Unicast` over `UDP`.
    UdpUnicast,
    /// `RTP-Unicast` tunnelled over `HTTP`.
    HttpUnicast,
    /// `RTP-Multicast` over `UDP`.
    Multicast,
}

impl StreamSetup {
    /// The `(Stream, Transport/Protocol)` values.
    pub fn values(self) -> (&'static str, &'static str) {
        match self {
            Self::RtspUnicast => ("RTP-Unicast", "RTSP"),
            Self::UdpUnicast => ("RTP-Unicast", "UDP"),
            Self::HttpUnicast => ("RTP-Unicast", "HTTP"),
            Self::Multicast => ("RTP-Multicast", "UDP"),
        }
    }
}

/// `GetStreamUri` for a profile. A camera may answer with an RTSP or an HTTP (MJPEG) URI.
#[derive(Debug, Clone)]
pub struct GetStreamUri {
    /// The profile token.
    pub profile: String,
    /// How the stream should be delivered.
    pub setup: StreamSetup,
}

impl Operation for GetStreamUri {
    const NAME: &'static str = "GetStreamUri";
    const SERVICE: ServiceKind = ServiceKind::Media;
    type Output = MediaUri;

    fn body(&self) -> String {
        let (stream, protocol) = self.setup.values();
        format!(
            concat!(
                "<trt:GetStreamUri><trt:StreamSetup><tt:Stream>{}</tt:Stream>",
                "<tt:Transport><tt:Protocol>{}</tt:Protocol></tt:Transport></trt:StreamSetup>",
                "<trt:ProfileToken>{}</trt:ProfileToken></trt:GetStreamUri>"
            ),
            stream,
            protocol,
            escape(&self.profile)
        )
    }

    fn parse_response(xml: &str) -> Result<MediaUri, ErrorKind> {
        media_uri(xml, "GetStreamUriResponse")
    }
}

#[cfg(test)]
#[path = "media_tests.rs"]
mod tests;
