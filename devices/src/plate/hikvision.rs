//! The Hikvision ISAPI plate event.
//!
//! The camera posts `multipart/form-data`: one part holds the `EventNotificationAlert`
//! XML (content type `application/xml` or `text/xml`, or named like `anpr.xml`), the
//! others the JPEG pictures (`licensePlatePicture.jpg`, `detectionPicture.jpg`). Some
//! firmware posts the XML alone. The fields read:
//!
//! ```text
//! EventNotificationAlert/dateTime            2026-11-27T10:00:00+08:00
//! EventNotificationAlert/eventType           ANPR | vehicleDetection
//! EventNotificationAlert/channelID           lane hint (after laneNo)
//! EventNotificationAlert/ANPR/licensePlate   闽G12345 | unknown | 无车牌 | (empty)
//! EventNotificationAlert/ANPR/confidenceLevel 0–100
//! EventNotificationAlert/ANPR/plateColor     blue | yellow | green | white | black | …
//! EventNotificationAlert/ANPR/laneNo         lane hint
//! ```

use bytes::Bytes;

use super::error::{PlateError, PlateLimits, bounded, check_body, snippet};
use super::event::{self, PlateColor, PlateImage, PlateRead, RawFormat};
use super::multipart::{self, Part};
use super::time::camera_time;
use super::xml::{self, XmlFields};

/// Root element of every ISAPI event.
const ROOT: &str = "EventNotificationAlert";

/// Event types that carry a plate read (compared case-insensitively).
const PLATE_EVENT_TYPES: [&str; 2] = ["ANPR", "vehicleDetection"];

/// Parses a Hikvision plate event with the default [`PlateLimits`].
///
/// `content_type` is the request's Content-Type header (`multipart/form-data; boundary=…`,
/// or an XML type for a bare XML body); `camera` is the configured id of the camera
/// that posted.
pub fn parse_hikvision(
    content_type: &str,
    body: &[u8],
    camera: &str,
) -> Result<PlateRead, PlateError> {
    parse_hikvision_with(content_type, body, camera, &PlateLimits::default())
}

/// Parses a Hikvision plate event with explicit limits.
pub fn parse_hikvision_with(
    content_type: &str,
    body: &[u8],
    camera: &str,
    limits: &PlateLimits,
) -> Result<PlateRead, PlateError> {
    check_body(body, limits)?;
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let (xml_bytes, images) = if essence.starts_with("multipart/") {
        let parts = multipart::split(content_type, body, limits)?;
        pick_parts(parts, limits)?
    } else if essence.contains("xml") || (essence.is_empty() && looks_like_xml(body)) {
        (Bytes::copy_from_slice(body), Vec::new())
    } else {
        return Err(PlateError::UnsupportedContentType(snippet(content_type)));
    };
    let text = std::str::from_utf8(&xml_bytes).map_err(|e| PlateError::NotUtf8 {
        what: "the XML".to_owned(),
        offset: e.valid_up_to(),
    })?;
    let fields = xml::flatten(text, ROOT)?;
    check_lengths(&fields, limits)?;
    read_fields(&fields, camera, images)
}

/// The fields read or kept, and the camera's own identity fields, with their limits: a
/// plate at most `max_plate_chars`, the rest `max_text_chars`.
const BOUNDED_FIELDS: [(&str, bool); 12] = [
    ("ANPR/licensePlate", true),
    ("ANPR/originalLicensePlate", true),
    ("EventNotificationAlert/eventType", false),
    ("EventNotificationAlert/dateTime", false),
    ("ANPR/confidenceLevel", false),
    ("ANPR/plateColor", false),
    ("ANPR/laneNo", false),
    ("EventNotificationAlert/laneNo", false),
    ("EventNotificationAlert/channelID", false),
    ("EventNotificationAlert/channelName", false),
    ("EventNotificationAlert/ipAddress", false),
    ("EventNotificationAlert/macAddress", false),
];

fn check_lengths(fields: &XmlFields, limits: &PlateLimits) -> Result<(), PlateError> {
    for (path, plate) in BOUNDED_FIELDS {
        if let Some(text) = fields.get(path) {
            let limit = if plate {
                limits.max_plate_chars
            } else {
                limits.max_text_chars
            };
            bounded(path, text, limit)?;
        }
    }
    Ok(())
}

fn looks_like_xml(body: &[u8]) -> bool {
    body.trim_ascii_start().starts_with(b"<")
}

/// Finds the XML part and turns the JPEG parts into images; other parts are ignored.
fn pick_parts(
    parts: Vec<Part>,
    limits: &PlateLimits,
) -> Result<(Bytes, Vec<PlateImage>), PlateError> {
    let is_xml = |p: &Part| {
        p.content_type.as_deref().is_some_and(|t| t.contains("xml")) || p.named_like(&[".xml"])
    };
    let xml_index = parts
        .iter()
        .position(is_xml)
        .or_else(|| parts.iter().position(|p| looks_like_xml(&p.bytes)))
        .ok_or_else(|| PlateError::MissingPart {
            wanted: "EventNotificationAlert XML part",
            seen: describe(&parts),
        })?;
    let mut xml = None;
    let mut images = Vec::new();
    for (index, part) in parts.into_iter().enumerate() {
        if index == xml_index {
            xml = Some(part.bytes);
        } else if is_jpeg_part(&part) {
            let label = part.label(index);
            let name = part.name.or(part.file_name);
            images.push(PlateImage::jpeg(&label, name, part.bytes, limits)?);
        }
    }
    Ok((xml.unwrap_or_default(), images))
}

fn is_jpeg_part(part: &Part) -> bool {
    match part.content_type.as_deref() {
        Some("image/jpeg" | "image/jpg" | "image/pjpeg") => true,
        None | Some("application/octet-stream") => part.named_like(&[".jpg", ".jpeg"]),
        Some(_) => false,
    }
}

fn describe(parts: &[Part]) -> String {
    if parts.is_empty() {
        return "none".to_owned();
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "{} {}",
                p.label(i),
                p.content_type.as_deref().unwrap_or("untyped")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_fields(
    fields: &XmlFields,
    camera: &str,
    images: Vec<PlateImage>,
) -> Result<PlateRead, PlateError> {
    let event_type = fields
        .non_empty(&format!("{ROOT}/eventType"))
        .ok_or(PlateError::MissingField("eventType"))?;
    if !PLATE_EVENT_TYPES
        .iter()
        .any(|t| t.eq_ignore_ascii_case(event_type))
    {
        return Err(PlateError::NotPlateEvent(snippet(event_type)));
    }
    let raw_plate = fields
        .get("ANPR/licensePlate")
        .ok_or(PlateError::MissingField("ANPR/licensePlate"))?;
    let date_time = fields
        .non_empty(&format!("{ROOT}/dateTime"))
        .ok_or(PlateError::MissingField("dateTime"))?;
    let confidence = fields
        .non_empty("ANPR/confidenceLevel")
        .map(|t| event::confidence("ANPR/confidenceLevel", t, event::is_integer_text(t)))
        .transpose()?;
    let lane_hint = event::lane_number(fields.non_empty("ANPR/laneNo"))
        .or_else(|| event::lane_number(fields.non_empty(&format!("{ROOT}/laneNo"))))
        .or_else(|| event::lane_number(fields.non_empty(&format!("{ROOT}/channelID"))));
    Ok(PlateRead {
        camera: camera.to_owned(),
        plate: event::plate_from_camera(raw_plate),
        raw_plate: raw_plate.to_owned(),
        confidence,
        color: fields
            .non_empty("ANPR/plateColor")
            .and_then(PlateColor::from_camera),
        at: camera_time("dateTime", date_time)?,
        lane_hint,
        images,
        raw_format: RawFormat::Hikvision,
    })
}

#[cfg(test)]
#[path = "hikvision_tests.rs"]
mod tests;
