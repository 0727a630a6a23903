use customs_edge_devices::onvif::{MediaUri, VideoEncoder};
use serde::Deserialize;

use super::*;
use crate::config::CameraConfig;

#[derive(Deserialize)]
struct Pasted {
    cameras: Vec<CameraConfig>,
}

fn device() -> DiscoveredDevice {
    DiscoveredDevice {
        endpoint: "urn:uuid:a3d2".into(),
        xaddrs: vec![
            "http://[fe80::1]/onvif/device_service".into(),
            "http://192.168.1.64/onvif/device_service".into(),
        ],
        scopes: vec![
            "onvif://www.onvif.org/name/HIKVISION%20DS-2CD".into(),
            "onvif://www.onvif.org/location/%E5%8D%A1%E5%8F%A3%221%22".into(),
        ],
        types: vec!["dn:NetworkVideoTransmitter".into()],
        from: "192.168.1.64:3702".parse().unwrap(),
    }
}

fn uri(u: &str) -> MediaUri {
    MediaUri {
        uri: u.into(),
        invalid_after_connect: false,
        invalid_after_reboot: false,
        timeout: None,
    }
}

fn profile(token: &str, name: &str) -> Profile {
    Profile {
        token: token.into(),
        name: name.into(),
        fixed: true,
        video_source: None,
        video: Some(VideoEncoder {
            token: "V".into(),
            encoding: "H264".into(),
            resolution: Some((1920, 1080)),
            fps: Some(25.0),
            bitrate_kbps: None,
        }),
    }
}

#[test]
fn discovered_camera_with_credentials_pastes_as_valid_config() {
    let findings = Findings {
        xaddr: pick_xaddr(&device()),
        clock: None,
        offset_s: None,
        info: Some(Ok(DeviceInformation {
            manufacturer: "HIKVISION".into(),
            model: "DS-2CD2T47G2-L".into(),
            ..DeviceInformation::default()
        })),
        profiles: Some(Ok(vec![
            ProfileUris {
                profile: profile("Profile_1", "main\"Stream"),
                stream: Err("GetStreamUri on http://x: SOAP fault".into()),
                snapshot: Ok(uri("http://192.168.1.64/snap.jpg")),
            },
            ProfileUris {
                profile: profile("Profile_2", "sub"),
                stream: Ok(uri("rtsp://192.168.1.64:554/Streaming/Channels/102")),
                snapshot: Err("nope".into()),
            },
        ])),
    };
    let login = Login {
        user: "admin".into(),
        password: "secret".into(),
        password_env: "CAM_PASSWORD".into(),
    };
    let text = render(1, 2, &device(), &findings, Some(&login));
    assert!(!text.contains("secret"), "{text}");
    assert!(
        text.contains(r#"# profile   Profile_1 'main"Stream': H264 1920x1080 @ 25 fps"#),
        "{text}"
    );
    assert!(
        text.contains("# device    HIKVISION DS-2CD2T47G2-L\n"),
        "{text}"
    );
    let pasted: Pasted = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let cam = &pasted.cameras[0];
    assert_eq!(cam.id, "cam-1");
    assert_eq!(cam.name, "HIKVISION DS-2CD", "the name scope first");
    assert_eq!(
        cam.onvif_url.as_deref(),
        Some("http://192.168.1.64/onvif/device_service")
    );
    assert_eq!(
        cam.stream_url.as_deref(),
        Some("rtsp://192.168.1.64:554/Streaming/Channels/102"),
        "the first profile with a stream URI"
    );
    assert_eq!(cam.username.as_deref(), Some("admin"));
    assert_eq!(cam.password_env.as_deref(), Some("CAM_PASSWORD"));
}

#[test]
fn discovered_camera_without_credentials_says_what_is_missing() {
    let findings = Findings {
        xaddr: pick_xaddr(&device()),
        clock: Some(Err(
            "GetSystemDateAndTime on http://192.168.1.64/onvif/device_service: no answer".into(),
        )),
        ..Findings::default()
    };
    let text = render(2, 2, &device(), &findings, None);
    assert!(text.contains("credentials needed"), "{text}");
    assert!(
        text.contains("# clock     GetSystemDateAndTime on"),
        "{text}"
    );
    assert!(text.contains(r#"location '卡口"1"'"#), "{text}");
    let pasted: Pasted = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let cam = &pasted.cameras[0];
    assert_eq!(
        (cam.id.as_str(), cam.name.as_str()),
        ("cam-2", "HIKVISION DS-2CD")
    );
    assert_eq!(cam.stream_url, None);
    assert_eq!(cam.username, None);
}

#[tokio::test]
async fn unicast_targets_take_port_3702_by_default() {
    assert_eq!(
        resolve("127.0.0.1").await.unwrap(),
        "127.0.0.1:3702".parse().unwrap()
    );
    assert_eq!(
        resolve("127.0.0.1:9").await.unwrap(),
        "127.0.0.1:9".parse().unwrap()
    );
    assert_eq!(
        resolve("[::1]:5").await.unwrap(),
        "[::1]:5".parse().unwrap()
    );
    assert!(resolve("no such host.invalid").await.is_err());
}
