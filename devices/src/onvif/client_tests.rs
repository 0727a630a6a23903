use super::*;

#[test]
fn onvif_xaddr_on_another_host_is_rebased_on_the_device_url() {
    let device = Url::parse("http://10.0.0.5:8080/onvif/device_service").unwrap();
    let other = Url::parse("http://192.168.1.64/onvif/Media?x=1").unwrap();
    assert_eq!(
        rebase(&device, other).as_str(),
        "http://10.0.0.5:8080/onvif/Media?x=1"
    );
    let same = Url::parse("http://10.0.0.5:81/onvif/Media").unwrap();
    assert_eq!(
        rebase(&device, same).as_str(),
        "http://10.0.0.5:81/onvif/Media"
    );
}

#[test]
fn onvif_client_debug_never_shows_the_password() {
    let c = OnvifClient::new(
        "http://10.0.0.5/onvif/device_service",
        "admin",
        "s3cret!",
        Duration::from_secs(1),
    )
    .unwrap();
    let text = format!("{c:?}");
    assert!(
        text.contains("admin") && !text.contains("s3cret!"),
        "{text}"
    );
}

#[test]
fn onvif_client_refuses_urls_it_cannot_use() {
    for bad in ["", "10.0.0.5/onvif", "rtsp://10.0.0.5/", "http://"] {
        let err = OnvifClient::new(bad, "", "", Duration::from_secs(1)).unwrap_err();
        assert_eq!(err.kind.code(), "onvif_bad_url", "{bad}: {err}");
        assert!(err.to_string().starts_with("connect on "), "{err}");
    }
}
