//! The device management service: GetSystemDateAndTime, GetCapabilities, GetServices,
//! GetDeviceInformation — requests and typed answers.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use super::error::{ErrorKind, snippet};
use super::ns;
use super::soap::open_response;
use super::xml::{Element, parse_at};
use super::{Operation, ServiceKind};

/// `GetSystemDateAndTime`: the camera's clock. Cameras answer it without credentials.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetSystemDateAndTime;

/// The camera's clock and how it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemDateAndTime {
    /// `Manual` or `NTP`, as the camera said.
    pub date_time_type: String,
    /// Whether daylight saving is in effect.
    pub daylight_savings: bool,
    /// The POSIX time zone (`CST-8`), if given.
    pub time_zone: Option<String>,
    /// The camera's time in UTC, if given (the one that matters for WS-Security).
    pub utc: Option<DateTime<Utc>>,
    /// The camera's local wall-clock time, if given.
    pub local: Option<NaiveDateTime>,
}

impl Operation for GetSystemDateAndTime {
    const NAME: &'static str = "GetSystemDateAndTime";
    const SERVICE: ServiceKind = ServiceKind::Device;
    const AUTHENTICATED: bool = false;
    type Output = SystemDateAndTime;

    fn body(&self) -> String {
        "<tds:GetSystemDateAndTime/>".into()
    }

    fn parse_response(xml: &str) -> Result<SystemDateAndTime, ErrorKind> {
        const AT: &str = "GetSystemDateAndTimeResponse/SystemDateAndTime";
        let resp = open_response(xml, "GetSystemDateAndTimeResponse")?;
        let sdt = resp
            .child("SystemDateAndTime")
            .ok_or_else(|| ErrorKind::Missing(AT.into()))?;
        let utc = sdt
            .child("UTCDateTime")
            .map(|d| date_time(d, &format!("{AT}/UTCDateTime")))
            .transpose()?
            .map(|naive| naive.and_utc());
        let local = sdt
            .child("LocalDateTime")
            .map(|d| date_time(d, &format!("{AT}/LocalDateTime")))
            .transpose()?;
        Ok(SystemDateAndTime {
            date_time_type: snippet(sdt.text_at(&["DateTimeType"]).unwrap_or_default()),
            daylight_savings: parse_bool(sdt.text_at(&["DaylightSavings"])),
            time_zone: sdt.text_at(&["TimeZone", "TZ"]).map(snippet),
            utc,
            local,
        })
    }
}

/// Reads `Date/{Year,Month,Day}` and `Time/{Hour,Minute,Second}`.
fn date_time(el: &Element, at: &str) -> Result<NaiveDateTime, ErrorKind> {
    let num = |path: &[&str]| -> Result<u32, ErrorKind> {
        parse_at::<u32>(el, path, at, "a number")?
            .ok_or_else(|| ErrorKind::Missing(format!("{at}/{}", path.join("/"))))
    };
    let (year, month, day) = (
        num(&["Date", "Year"])?,
        num(&["Date", "Month"])?,
        num(&["Date", "Day"])?,
    );
    let (hour, minute, second) = (
        num(&["Time", "Hour"])?,
        num(&["Time", "Minute"])?,
        num(&["Time", "Second"])?,
    );
    let bad = |what: &str| ErrorKind::BadValue {
        element: format!("{at}/{what}"),
        value: format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"),
        expected: "a valid date and time",
    };
    let date = i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
        .ok_or_else(|| bad("Date"))?;
    // A leap second (60) is read as 59 rather than refused.
    let time = NaiveTime::from_hms_opt(hour, minute, second.min(59)).ok_or_else(|| bad("Time"))?;
    Ok(date.and_time(time))
}

/// `true`/`1` are true; anything else (absent included) is false.
pub(crate) fn parse_bool(text: Option<&str>) -> bool {
    text.is_some_and(|t| t.eq_ignore_ascii_case("true") || t == "1")
}

/// `GetCapabilities` with category `All`: the service addresses (ONVIF 1.x style).
#[derive(Debug, Clone, Copy, Default)]
pub struct GetCapabilities;

/// The service addresses a camera gave in GetCapabilities; absent ones are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Device management service.
    pub device: Option<String>,
    /// Media service (profiles, stream and snapshot URIs).
    pub media: Option<String>,
    /// Event service.
    pub events: Option<String>,
    /// Imaging service.
    pub imaging: Option<String>,
    /// PTZ service.
    pub ptz: Option<String>,
    /// Analytics service.
    pub analytics: Option<String>,
}

impl Operation for GetCapabilities {
    const NAME: &'static str = "GetCapabilities";
    const SERVICE: ServiceKind = ServiceKind::Device;
    type Output = Capabilities;

    fn body(&self) -> String {
        "<tds:GetCapabilities><tds:Category>All</tds:Category></tds:GetCapabilities>".into()
    }

    fn parse_response(xml: &str) -> Result<Capabilities, ErrorKind> {
        let resp = open_response(xml, "GetCapabilitiesResponse")?;
        let caps = resp
            .child("Capabilities")
            .ok_or_else(|| ErrorKind::Missing("GetCapabilitiesResponse/Capabilities".into()))?;
        let xaddr = |name: &str| caps.text_at(&[name, "XAddr"]).map(str::to_owned);
        Ok(Capabilities {
            device: xaddr("Device"),
            media: xaddr("Media"),
            events: xaddr("Events"),
            imaging: xaddr("Imaging"),
            ptz: xaddr("PTZ"),
            analytics: xaddr("Analytics"),
        })
    }
}

/// `GetServices` without capabilities: every service's namespace, address and version.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetServices;

/// One service a camera offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The service namespace (`http://www.onvif.org/ver10/media/wsdl`).
    pub namespace: String,
    /// Its address.
    pub xaddr: String,
    /// `(major, minor)` version, if given.
    pub version: Option<(u32, u32)>,
}

impl Service {
    /// Whether this is the media service (version 1), the one this client speaks.
    pub fn is_media(&self) -> bool {
        self.namespace == ns::TRT
    }
}

impl Operation for GetServices {
    const NAME: &'static str = "GetServices";
    const SERVICE: ServiceKind = ServiceKind::Device;
    type Output = Vec<Service>;

    fn body(&self) -> String {
        "<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>"
            .into()
    }

    fn parse_response(xml: &str) -> Result<Vec<Service>, ErrorKind> {
        let resp = open_response(xml, "GetServicesResponse")?;
        let mut out = Vec::new();
        for (i, s) in resp.children_named("Service").enumerate() {
            let at = format!("GetServicesResponse/Service[{i}]");
            let need = |name: &str| {
                s.text_at(&[name])
                    .map(str::to_owned)
                    .ok_or_else(|| ErrorKind::Missing(format!("{at}/{name}")))
            };
            let major = parse_at::<u32>(s, &["Version", "Major"], &at, "a number")?;
            let minor = parse_at::<u32>(s, &["Version", "Minor"], &at, "a number")?;
            out.push(Service {
                namespace: need("Namespace")?,
                xaddr: need("XAddr")?,
                version: major.map(|m| (m, minor.unwrap_or(0))),
            });
        }
        Ok(out)
    }
}

/// `GetDeviceInformation`: maker, model, firmware, serial number.
#[derive(Debug, Clone, Copy, Default)]
pub struct GetDeviceInformation;

/// What a camera says it is. A field the camera left out is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInformation {
    /// Manufacturer (`HIKVISION`, `AXIS`).
    pub manufacturer: String,
    /// Model name, as the maker spells it.
    pub model: String,
    /// Firmware version.
    pub firmware_version: String,
    /// Serial number.
    pub serial_number: String,
    /// Hardware id.
    pub hardware_id: String,
}

impl Operation for GetDeviceInformation {
    const NAME: &'static str = "GetDeviceInformation";
    const SERVICE: ServiceKind = ServiceKind::Device;
    type Output = DeviceInformation;

    fn body(&self) -> String {
        "<tds:GetDeviceInformation/>".into()
    }

    fn parse_response(xml: &str) -> Result<DeviceInformation, ErrorKind> {
        let resp = open_response(xml, "GetDeviceInformationResponse")?;
        let field = |name: &str| snippet(resp.text_at(&[name]).unwrap_or_default());
        let info = DeviceInformation {
            manufacturer: field("Manufacturer"),
            model: field("Model"),
            firmware_version: field("FirmwareVersion"),
            serial_number: field("SerialNumber"),
            hardware_id: field("HardwareId"),
        };
        if info.manufacturer.is_empty() && info.model.is_empty() {
            return Err(ErrorKind::Missing(
                "GetDeviceInformationResponse/Manufacturer and Model".into(),
            ));
        }
        Ok(info)
    }
}

#[cfg(test)]
#[path = "device_tests.rs"]
mod tests;
