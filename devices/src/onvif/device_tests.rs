use chrono::NaiveDate;

use super::*;
use crate::onvif::fixture;

fn answer(body: &str) -> String {
    format!(
        r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>{body}</env:Body></env:Envelope>"#
    )
}

#[test]
fn hikvision_system_date_and_time() {
    let sdt =
        GetSystemDateAndTime::parse_response(&fixture("hik_get_system_date_and_time.xml")).unwrap();
    assert_eq!(sdt.date_time_type, "NTP");
    assert!(!sdt.daylight_savings);
    assert_eq!(sdt.time_zone.as_deref(), Some("CST-8:00:00"));
    assert_eq!(sdt.utc, Some("2025-03-14T02:30:15Z".parse().unwrap()));
    let local = NaiveDate::from_ymd_opt(2025, 3, 14)
        .unwrap()
        .and_hms_opt(10, 30, 15)
        .unwrap();
    assert_eq!(sdt.local, Some(local));
}

#[test]
fn axis_system_date_and_time_without_local_time() {
    let sdt = GetSystemDateAndTime::parse_response(&fixture("axis_get_system_date_and_time.xml"))
        .unwrap();
    assert_eq!(sdt.date_time_type, "Manual");
    assert!(sdt.daylight_savings);
    assert_eq!(sdt.utc, Some("2024-12-31T23:59:59Z".parse().unwrap()));
    assert_eq!(sdt.local, None);
}

#[test]
fn system_date_and_time_garbage_is_a_typed_error() {
    let date = |y: &str, mo: &str, d: &str| {
        answer(&format!(
            "<GetSystemDateAndTimeResponse><SystemDateAndTime><UTCDateTime>
             <Time><Hour>1</Hour><Minute>2</Minute><Second>3</Second></Time>
             <Date><Year>{y}</Year><Month>{mo}</Month><Day>{d}</Day></Date>
             </UTCDateTime></SystemDateAndTime></GetSystemDateAndTimeResponse>"
        ))
    };
    let err = GetSystemDateAndTime::parse_response(&date("2025", "13", "1")).unwrap_err();
    assert_eq!(err.code(), "onvif_bad_value", "{err}");
    assert!(err.to_string().contains("2025-13-01"), "{err}");
    let err = GetSystemDateAndTime::parse_response(&date("twenty", "1", "1")).unwrap_err();
    assert!(err.to_string().contains("UTCDateTime/Date/Year"), "{err}");
    let err = GetSystemDateAndTime::parse_response(&date("2025", "", "1")).unwrap_err();
    assert_eq!(err.code(), "onvif_missing_field", "{err}");
    let err = GetSystemDateAndTime::parse_response(&date("99999999999", "1", "1")).unwrap_err();
    assert_eq!(err.code(), "onvif_bad_value", "{err}");
    let err = GetSystemDateAndTime::parse_response(&answer("<GetSystemDateAndTimeResponse/>"))
        .unwrap_err();
    assert!(
        err.to_string().contains("SystemDateAndTime is missing"),
        "{err}"
    );
    // No UTC time at all is not an error: the client then keeps its own clock.
    let sdt = GetSystemDateAndTime::parse_response(&answer(
        "<GetSystemDateAndTimeResponse><SystemDateAndTime><DateTimeType>NTP</DateTimeType>\
         </SystemDateAndTime></GetSystemDateAndTimeResponse>",
    ))
    .unwrap();
    assert_eq!(sdt.utc, None);
}

#[test]
fn hikvision_capabilities_give_service_addresses() {
    let caps = GetCapabilities::parse_response(&fixture("hik_get_capabilities.xml")).unwrap();
    assert_eq!(
        caps.media.as_deref(),
        Some("http://192.168.1.64/onvif/Media")
    );
    assert_eq!(
        caps.device.as_deref(),
        Some("http://192.168.1.64/onvif/device_service")
    );
    assert_eq!(
        caps.events.as_deref(),
        Some("http://192.168.1.64/onvif/Events")
    );
    assert_eq!(
        caps.imaging.as_deref(),
        Some("http://192.168.1.64/onvif/Imaging")
    );
    assert_eq!(
        caps.analytics.as_deref(),
        Some("http://192.168.1.64/onvif/Analytics")
    );
    assert_eq!(caps.ptz, None);
    let err = GetCapabilities::parse_response(&answer("<GetCapabilitiesResponse/>")).unwrap_err();
    assert_eq!(err.code(), "onvif_missing_field");
}

#[test]
fn axis_services_with_versions() {
    let services = GetServices::parse_response(&fixture("axis_get_services.xml")).unwrap();
    assert_eq!(services.len(), 4);
    let media: Vec<_> = services.iter().filter(|s| s.is_media()).collect();
    assert_eq!(media.len(), 1, "media ver10 only, not ver20");
    assert_eq!(media[0].xaddr, "http://10.20.0.31/onvif/services");
    assert_eq!(media[0].version, Some((21, 6)));
    assert_eq!(services[3].version, None);
    let err = GetServices::parse_response(&answer(
        "<GetServicesResponse><Service><Namespace>x</Namespace></Service></GetServicesResponse>",
    ))
    .unwrap_err();
    assert!(
        err.to_string().contains("Service[0]/XAddr is missing"),
        "{err}"
    );
}

#[test]
fn hikvision_device_information() {
    let info =
        GetDeviceInformation::parse_response(&fixture("hik_get_device_information.xml")).unwrap();
    assert_eq!(info.manufacturer, "HIKVISION");
    assert_eq!(info.model, "DS-2CD2T47G2-L");
    assert_eq!(info.firmware_version, "V5.7.3 build 220112");
    assert_eq!(info.serial_number, "DS-2CD2T47G2-L20220101AAWRJ12345678");
    assert_eq!(info.hardware_id, "88");
}

#[test]
fn device_information_with_missing_fields() {
    let info = GetDeviceInformation::parse_response(&answer(
        "<GetDeviceInformationResponse><Model>IPC</Model></GetDeviceInformationResponse>",
    ))
    .unwrap();
    assert_eq!(info.model, "IPC");
    assert_eq!(info.manufacturer, "");
    let err = GetDeviceInformation::parse_response(&answer("<GetDeviceInformationResponse/>"))
        .unwrap_err();
    assert_eq!(err.code(), "onvif_missing_field");
}

#[test]
fn device_requests_use_the_device_namespace() {
    assert_eq!(GetSystemDateAndTime.body(), "<tds:GetSystemDateAndTime/>");
    const { assert!(!GetSystemDateAndTime::AUTHENTICATED) };
    assert!(
        GetCapabilities
            .body()
            .contains("<tds:Category>All</tds:Category>")
    );
    const { assert!(GetServices::AUTHENTICATED) };
    assert_eq!(
        GetDeviceInformation::SERVICE.namespace(),
        "http://www.onvif.org/ver10/device/wsdl"
    );
}
