//! What a Profile S client reads besides the basics, and SOAP with HTTP Digest instead of
//! a WS-Security token.

use customs_edge_devices::http_auth::Challenge;
use customs_edge_simulators::onvif::OnvifCameraConfig;
use reqwest::StatusCode;
use reqwest::header::WWW_AUTHENTICATE;

use super::Cam;
use super::client::{TDS, TRT, texts};

/// A SOAP 1.2 envelope around `operation`, without any header.
fn envelope(operation: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>{operation}</s:Body></s:Envelope>"#
    )
}

/// POSTs `operation` with HTTP Digest: the first request is challenged, the second
/// answers the challenge with `password`.
async fn digest_soap(cam: &Cam, password: &str, operation: &str) -> (StatusCode, String) {
    let url = cam.camera.device_service_url();
    let post = || {
        cam.http
            .post(&url)
            .header("content-type", "application/soap+xml; charset=utf-8")
            .body(envelope(operation))
    };
    let first = post().send().await.unwrap();
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let header = (first.headers().get_all(WWW_AUTHENTICATE).iter())
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    let challenges = Challenge::parse_all(&header).expect("readable challenges");
    let digest = (challenges.iter())
        .find(|c| matches!(c, Challenge::Digest(_)))
        .unwrap_or_else(|| panic!("a Digest challenge: {header}"));
    let authorization = digest
        .authorization(
            "POST",
            "/onvif/device_service",
            "admin",
            password,
            "c0ffee",
            1,
        )
        .unwrap();
    let answer = post()
        .header("authorization", authorization)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.text().await.unwrap())
}

fn op(ns: &str, name: &str, inner: &str) -> String {
    format!(r#"<{name} xmlns="{ns}">{inner}</{name}>"#)
}

#[tokio::test]
async fn soap_with_http_digest_instead_of_a_token_is_answered() {
    let cam = Cam::default().await;
    let (status, body) = digest_soap(&cam, "admin123", &op(TRT, "GetProfiles", "")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(texts(&body, "Width"), ["1280", "640"]);

    let (status, body) = digest_soap(&cam, "wrong", &op(TDS, "GetUsers", "")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(texts(&body, "Value").contains(&"ter:NotAuthorized".to_owned()));
    assert_eq!(cam.camera.stats().auth_failures, 1);
}

#[tokio::test]
async fn device_management_reads_agree_with_how_the_camera_is_reached() {
    let cam = Cam::start(OnvifCameraConfig {
        name: "Gate K1 exit".to_owned(),
        ..OnvifCameraConfig::default()
    })
    .await;
    let ask = |name: &'static str| {
        let cam = &cam;
        async move {
            let (status, body) = cam.signed("admin123", &op(TDS, name, "")).await;
            assert_eq!(status, StatusCode::OK, "{name}: {body}");
            body
        }
    };
    let http_port = cam.camera.http_addr().port().to_string();
    assert_eq!(texts(&ask("GetHostname").await, "Name"), ["gate-k1-exit"]);
    let interfaces = ask("GetNetworkInterfaces").await;
    assert_eq!(texts(&interfaces, "Address"), ["127.0.0.1"]);
    assert_eq!(texts(&interfaces, "DHCP"), ["false"]);
    assert_eq!(texts(&ask("GetDNS").await, "IPv4Address"), ["127.0.0.254"]);
    assert_eq!(
        texts(&ask("GetNetworkDefaultGateway").await, "IPv4Address"),
        ["127.0.0.254"]
    );
    assert_eq!(texts(&ask("GetNTP").await, "FromDHCP"), ["false"]);
    let protocols = ask("GetNetworkProtocols").await;
    assert_eq!(texts(&protocols, "Name"), ["HTTP", "HTTPS", "RTSP"]);
    assert_eq!(texts(&protocols, "Enabled"), ["true", "false", "false"]);
    assert_eq!(texts(&protocols, "Port")[0], http_port);
    assert_eq!(
        texts(&ask("GetDiscoveryMode").await, "DiscoveryMode"),
        ["NonDiscoverable"]
    );
    let users = ask("GetUsers").await;
    assert_eq!(texts(&users, "Username"), ["admin"]);
    assert_eq!(texts(&users, "UserLevel"), ["Administrator"]);
    assert!(texts(&ask("GetWsdlUrl").await, "WsdlUrl")[0].starts_with("http://www.onvif.org/"));
    assert!(
        ask("GetServiceCapabilities")
            .await
            .contains(r#"HttpDigest="true""#)
    );
    assert_eq!(
        texts(&ask("GetEndpointReference").await, "GUID"),
        [cam.camera.endpoint_reference()]
    );
}

#[tokio::test]
async fn media_configurations_agree_with_the_profiles() {
    let cam = Cam::default().await;
    let ask = |name: &'static str, inner: &'static str| {
        let cam = &cam;
        async move { cam.signed("admin123", &op(TRT, name, inner)).await }
    };
    let (_, encoders) = ask("GetVideoEncoderConfigurations", "").await;
    assert_eq!(
        texts(&encoders, "Name"),
        ["VideoEncoder_main", "VideoEncoder_sub"]
    );
    assert_eq!(texts(&encoders, "Encoding"), ["JPEG", "JPEG"]);
    let (_, one) = ask(
        "GetVideoEncoderConfiguration",
        "<ConfigurationToken>VideoEncoder_sub</ConfigurationToken>",
    )
    .await;
    assert_eq!(texts(&one, "Width"), ["640"]);
    let (status, none) = ask(
        "GetVideoEncoderConfiguration",
        "<ConfigurationToken>nope</ConfigurationToken>",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(texts(&none, "Value").contains(&"ter:NoConfig".to_owned()));
    let (_, compatible) = ask(
        "GetCompatibleVideoEncoderConfigurations",
        "<ProfileToken>main</ProfileToken>",
    )
    .await;
    assert_eq!(texts(&compatible, "Encoding").len(), 2);
    let (_, options) = ask(
        "GetVideoEncoderConfigurationOptions",
        "<ProfileToken>main</ProfileToken>",
    )
    .await;
    assert_eq!(texts(&options, "Width"), ["1280", "640"]);
    let (_, sources) = ask("GetVideoSourceConfigurations", "").await;
    assert_eq!(texts(&sources, "SourceToken"), ["VideoSource_1"]);
    let (status, audio) = ask("GetAudioSources", "").await;
    assert_eq!(status, StatusCode::OK, "{audio}");
    assert!(
        texts(&audio, "AudioSources").is_empty(),
        "no audio: {audio}"
    );
    let (_, caps) = ask("GetServiceCapabilities", "").await;
    assert!(caps.contains(r#"NoRTSPStreaming="true""#), "{caps}");
}
