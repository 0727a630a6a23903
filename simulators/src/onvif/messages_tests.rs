use super::*;
use crate::onvif::soap::read_xml;
use crate::onvif::{device_mgmt, media_config};

fn ctx(cfg: &OnvifCameraConfig, rtsp_port: Option<u16>) -> Ctx<'_> {
    Ctx {
        cfg,
        base: "http://10.0.0.5:8080",
        now: "2026-11-27T23:59:58Z".parse().unwrap(),
        ip: Ipv4Addr::new(10, 0, 0, 5),
        http_port: 8080,
        rtsp_port,
        discoverable: true,
        endpoint: "urn:uuid:00000000-0000-0000-0000-000000000001",
    }
}

fn answers(c: Ctx<'_>) -> Vec<String> {
    let cfg = c.cfg;
    let rtsp = StreamSetup {
        stream: Some("RTP-Unicast"),
        protocol: Some("RTSP"),
    };
    vec![
        system_date_and_time(c.now),
        capabilities(c, None).unwrap(),
        services(c, true),
        services(c, false),
        device_information(cfg),
        scopes_response(cfg),
        profiles(c),
        profile_response(c, "sub").unwrap(),
        video_sources(cfg),
        snapshot_uri(c, Some("main")).unwrap(),
        stream_uri(c, Some("sub"), rtsp).unwrap(),
        device_mgmt::get_hostname(c),
        device_mgmt::network_interfaces(c),
        device_mgmt::dns(c),
        device_mgmt::ntp(),
        device_mgmt::network_protocols(c),
        device_mgmt::default_gateway(c),
        device_mgmt::discovery_mode(c),
        device_mgmt::users(c),
        device_mgmt::wsdl_url(),
        device_mgmt::endpoint_reference(c),
        device_mgmt::device_service_capabilities_response(),
        media_config::media_service_capabilities_response(c),
        media_config::video_source_configurations(c, "GetVideoSourceConfigurations"),
        media_config::video_source_configuration_response(c, "VideoSourceConfig_1").unwrap(),
        media_config::video_encoder_configurations(c, "GetVideoEncoderConfigurations"),
        media_config::video_encoder_configuration_response(c, "VideoEncoder_main").unwrap(),
        media_config::video_encoder_options(c),
        media_config::video_source_options(c),
        media_config::guaranteed_encoders(c),
        media_config::empty_list("GetAudioSources"),
    ]
}

#[test]
fn every_answer_is_well_formed_xml_with_and_without_rtsp() {
    let cfg = OnvifCameraConfig::default();
    for rtsp in [None, Some(8554)] {
        for body in answers(ctx(&cfg, rtsp)) {
            let xml = super::super::soap::envelope(&body);
            read_xml(&xml).unwrap_or_else(|e| panic!("{e}: {xml}"));
        }
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
    let xml = snapshot_uri(ctx(&cfg, None), Some("sub")).unwrap();
    assert!(xml.contains("<tt:Uri>http://10.0.0.5:8080/onvif/snapshot?profile=sub</tt:Uri>"));
    let fault = stream_uri(ctx(&cfg, None), Some("nope"), StreamSetup::default()).unwrap_err();
    assert_eq!(fault.subcodes, ["ter:InvalidArgVal", "ter:NoProfile"]);
}

#[test]
fn stream_uri_is_rtsp_when_the_rtsp_server_runs_and_rtsp_is_asked_for() {
    let cfg = OnvifCameraConfig::default();
    let setup = |protocol| StreamSetup {
        stream: Some("RTP-Unicast"),
        protocol: Some(protocol),
    };
    let uri = |rtsp, protocol| stream_uri(ctx(&cfg, rtsp), Some("main"), setup(protocol)).unwrap();
    for protocol in ["RTSP", "UDP", "TCP"] {
        assert!(uri(Some(8554), protocol).contains("<tt:Uri>rtsp://10.0.0.5:8554/main</tt:Uri>"));
        assert!(uri(None, protocol).contains("<tt:Uri>http://10.0.0.5:8080/stream/main</tt:Uri>"));
    }
    assert!(uri(Some(8554), "HTTP").contains("<tt:Uri>http://10.0.0.5:8080/stream/main</tt:Uri>"));
    let multicast = StreamSetup {
        stream: Some("RTP-Multicast"),
        protocol: Some("UDP"),
    };
    let fault = stream_uri(ctx(&cfg, Some(8554)), Some("main"), multicast).unwrap_err();
    assert_eq!(
        fault.subcodes,
        ["ter:InvalidArgVal", "ter:InvalidStreamSetup"]
    );
}

#[test]
fn encoders_streaming_capabilities_and_protocols_follow_the_rtsp_server() {
    let cfg = OnvifCameraConfig::default();
    let with = ctx(&cfg, Some(8554));
    let without = ctx(&cfg, None);
    assert!(profiles(with).contains("<tt:Encoding>H264</tt:Encoding>"));
    assert!(profiles(without).contains("<tt:Encoding>JPEG</tt:Encoding>"));
    assert!(services(with, true).contains(r#"RTP_RTSP_TCP="true""#));
    assert!(services(without, true).contains(r#"NoRTSPStreaming="true""#));
    assert!(
        capabilities(with, Some("Media"))
            .unwrap()
            .contains("<tt:RTP_RTSP_TCP>true<")
    );
    let protocols = device_mgmt::network_protocols(with);
    assert!(
        protocols.contains(
            "<tt:Name>RTSP</tt:Name><tt:Enabled>true</tt:Enabled><tt:Port>8554</tt:Port>"
        )
    );
    assert!(
        protocols.contains(
            "<tt:Name>HTTP</tt:Name><tt:Enabled>true</tt:Enabled><tt:Port>8080</tt:Port>"
        )
    );
    assert!(media_config::video_encoder_options(with).contains("<tt:H264>"));
    assert!(!media_config::video_encoder_options(without).contains("<tt:H264>"));
}

#[test]
fn configurations_are_found_by_token_and_unknown_ones_fault() {
    let cfg = OnvifCameraConfig::default();
    let c = ctx(&cfg, None);
    let sub = media_config::video_encoder_configuration_response(c, "VideoEncoder_sub").unwrap();
    assert!(sub.contains("<tt:Width>640</tt:Width><tt:Height>360</tt:Height>"));
    let fault = media_config::video_encoder_configuration_response(c, "nope").unwrap_err();
    assert_eq!(fault.subcodes, ["ter:InvalidArgVal", "ter:NoConfig"]);
    assert!(media_config::video_source_configuration_response(c, "x").is_err());
    assert_eq!(
        media_config::named_encoder(c, None, Some("sub"))
            .unwrap()
            .map(|p| &p.token[..]),
        Some("sub")
    );
    assert!(media_config::named_encoder(c, Some("VideoEncoder_zz"), None).is_err());
}

#[test]
fn the_host_is_the_base_without_its_port() {
    let cfg = OnvifCameraConfig::default();
    let mut c = ctx(&cfg, None);
    assert_eq!(c.host(), "10.0.0.5");
    c.base = "http://[::1]:8080";
    assert_eq!(c.host(), "[::1]");
    c.base = "http://camera";
    assert_eq!(c.host(), "camera");
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
