use super::*;
use crate::onvif::fixture;

fn answer(body: &str) -> String {
    format!("<s:Envelope xmlns:s='x'><s:Body>{body}</s:Body></s:Envelope>")
}

#[test]
fn hikvision_profiles() {
    let profiles = GetProfiles::parse_response(&fixture("hik_get_profiles.xml")).unwrap();
    assert_eq!(profiles.len(), 2);
    let main = &profiles[0];
    assert_eq!(main.token, "Profile_1");
    assert_eq!(main.name, "mainStream");
    assert!(main.fixed);
    assert_eq!(main.video_source.as_deref(), Some("VideoSource_1"));
    let video = main.video.as_ref().unwrap();
    assert_eq!(video.token, "VideoEncoderToken_1");
    assert_eq!(video.encoding, "H264");
    assert_eq!(video.resolution, Some((2688, 1520)));
    assert_eq!(video.fps, Some(25.0));
    assert_eq!(video.bitrate_kbps, Some(4096));
    let sub = profiles[1].video.as_ref().unwrap();
    assert_eq!((sub.resolution, sub.fps), (Some((640, 360)), Some(15.0)));
}

#[test]
fn axis_profiles_with_default_namespaces() {
    let profiles = GetProfiles::parse_response(&fixture("axis_get_profiles.xml")).unwrap();
    let tokens: Vec<_> = profiles.iter().map(|p| p.token.as_str()).collect();
    assert_eq!(tokens, ["profile_1_h264", "profile_1_jpeg", "audio_only"]);
    assert_eq!(profiles[0].name, "profile_1 h264");
    assert!(!profiles[0].fixed);
    let h264 = profiles[0].video.as_ref().unwrap();
    assert_eq!(h264.fps, Some(30.0), "30.000000 is a frame rate");
    assert_eq!(h264.bitrate_kbps, Some(2_147_483_647));
    let jpeg = profiles[1].video.as_ref().unwrap();
    assert_eq!((jpeg.encoding.as_str(), jpeg.fps), ("JPEG", None));
    assert!(profiles[2].video.is_none());
}

#[test]
fn profiles_with_missing_or_bad_fields() {
    let err = GetProfiles::parse_response(&answer(
        "<GetProfilesResponse><Profiles token='a'/><Profiles><Name>x</Name></Profiles></GetProfilesResponse>",
    ))
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "GetProfilesResponse/Profiles[1]/@token is missing"
    );

    let err = GetProfiles::parse_response(&answer(
        "<GetProfilesResponse><Profiles token='a'><VideoEncoderConfiguration>\
         <Resolution><Width>wide</Width><Height>1</Height></Resolution>\
         </VideoEncoderConfiguration></Profiles></GetProfilesResponse>",
    ))
    .unwrap_err();
    assert_eq!(err.code(), "onvif_bad_value");
    assert!(
        err.to_string()
            .contains("Profiles[0]/VideoEncoderConfiguration/Resolution/Width"),
        "{err}"
    );

    let err = GetProfiles::parse_response(&answer(
        "<GetProfilesResponse><Profiles token='a'><VideoEncoderConfiguration><RateControl>\
         <FrameRateLimit>NaN</FrameRateLimit></RateControl></VideoEncoderConfiguration>\
         </Profiles></GetProfilesResponse>",
    ))
    .unwrap_err();
    assert!(err.to_string().contains("FrameRateLimit"), "{err}");

    // A profile without a name is named by its token; an empty list is not an error.
    let p = GetProfiles::parse_response(&answer(
        "<GetProfilesResponse><Profiles token=' t1 '/></GetProfilesResponse>",
    ))
    .unwrap();
    assert_eq!((p[0].token.as_str(), p[0].name.as_str()), ("t1", "t1"));
    assert!(
        GetProfiles::parse_response(&answer("<GetProfilesResponse/>"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn hikvision_stream_uri() {
    let uri = GetStreamUri::parse_response(&fixture("hik_get_stream_uri.xml")).unwrap();
    assert_eq!(
        uri.uri,
        "rtsp://192.168.1.64:554/Streaming/Channels/101?transportmode=unicast&profile=Profile_1"
    );
    assert!(!uri.invalid_after_connect && !uri.invalid_after_reboot);
    assert_eq!(uri.timeout.as_deref(), Some("PT60S"));
}

#[test]
fn axis_snapshot_uri() {
    let uri = GetSnapshotUri::parse_response(&fixture("axis_get_snapshot_uri.xml")).unwrap();
    assert_eq!(
        uri.uri,
        "http://10.20.0.31/onvif-cgi/jpg/image.cgi?resolution=1920x1080&compression=30"
    );
}

#[test]
fn media_uris_that_are_missing_or_unusable() {
    let wrap = |uri: &str| {
        answer(&format!(
            "<GetStreamUriResponse><MediaUri><Uri>{uri}</Uri></MediaUri></GetStreamUriResponse>"
        ))
    };
    for bad in ["", "not a uri", "ftp://x/y", "rtsp://", "rtsp://a b/"] {
        let err = GetStreamUri::parse_response(&wrap(bad)).unwrap_err();
        assert!(
            matches!(err.code(), "onvif_bad_value" | "onvif_missing_field"),
            "{bad}: {err}"
        );
    }
    assert!(
        GetStreamUri::parse_response(&wrap("http://10.0.0.5/mjpeg")).is_ok(),
        "MJPEG is fine"
    );
    let err = GetStreamUri::parse_response(&answer("<GetStreamUriResponse/>")).unwrap_err();
    assert_eq!(err.to_string(), "GetStreamUriResponse/MediaUri is missing");
    let err = GetSnapshotUri::parse_response(&fixture("hik_get_stream_uri.xml")).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected <GetSnapshotUriResponse>"),
        "{err}"
    );
}

#[test]
fn media_requests_carry_the_profile_token_escaped() {
    let body = GetStreamUri {
        profile: "a<b".into(),
        setup: StreamSetup::default(),
    }
    .body();
    assert!(
        body.contains("<tt:Stream>RTP-Unicast</tt:Stream>"),
        "{body}"
    );
    assert!(body.contains("<tt:Protocol>RTSP</tt:Protocol>"), "{body}");
    assert!(
        body.contains("<trt:ProfileToken>a&lt;b</trt:ProfileToken>"),
        "{body}"
    );
    let body = GetSnapshotUri {
        profile: "P1".into(),
    }
    .body();
    assert!(
        body.contains("<trt:ProfileToken>P1</trt:ProfileToken>"),
        "{body}"
    );
    assert_eq!(StreamSetup::Multicast.values(), ("RTP-Multicast", "UDP"));
    assert_eq!(GetProfiles::SERVICE, ServiceKind::Media);
}
