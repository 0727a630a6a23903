//! The Dahua ITS plate event: JSON, answered with [`DAHUA_ACK`].
//!
//! The fields read:
//!
//! ```text
//! Picture.Plate.PlateNumber     闽G12345 | "" | 无车牌 (Plate.IsExist false is a no-read too)
//! Picture.Plate.Confidence      0–100 (integer) or 0–1 (decimal)
//! Picture.Plate.PlateColor      Blue | Yellow | Green | YellowGreen | White | Black | 蓝 …
//! Picture.Plate.Channel         lane hint (after SnapInfo.LanNo)
//! Picture.SnapInfo.AccurateTime 2026-11-27 10:00:00.123, Beijing time (else SnapTime)
//! Picture.SnapInfo.LanNo        lane hint
//! Picture.NormalPic.Content     base64 JPEG (also CutoutPic, VehiclePic, PlatePic)
//! ```

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use bytes::Bytes;
use serde_json::Value;

use super::error::{PlateError, PlateLimits, bounded, check_body};
use super::event::{self, PlateColor, PlateImage, PlateRead, RawFormat};
use super::time::camera_time;

/// The body the controller answers a Dahua camera with once the event is stored.
pub const DAHUA_ACK: &str = r#"{"Result": true}"#;

/// Picture objects that may carry a base64 JPEG, with the path named in errors.
const PICTURES: [(&str, &str); 4] = [
    ("NormalPic", "Picture.NormalPic.Content"),
    ("CutoutPic", "Picture.CutoutPic.Content"),
    ("VehiclePic", "Picture.VehiclePic.Content"),
    ("PlatePic", "Picture.PlatePic.Content"),
];

/// Standard base64, padding optional (firmware differs).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Parses a Dahua plate event with the default [`PlateLimits`]; `camera` is the
/// configured id of the camera that posted.
pub fn parse_dahua(body: &[u8], camera: &str) -> Result<PlateRead, PlateError> {
    parse_dahua_with(body, camera, &PlateLimits::default())
}

/// Parses a Dahua plate event with explicit limits.
pub fn parse_dahua_with(
    body: &[u8],
    camera: &str,
    limits: &PlateLimits,
) -> Result<PlateRead, PlateError> {
    check_body(body, limits)?;
    let root: Value = serde_json::from_slice(body).map_err(|e| {
        let message = e.to_string();
        PlateError::Json {
            line: e.line(),
            column: e.column(),
            reason: message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned(),
        }
    })?;
    let picture = object(&root, "Picture", "Picture")?;
    let plate = object(picture, "Plate", "Picture.Plate")?;
    let snap = object(picture, "SnapInfo", "Picture.SnapInfo")?;

    check_lengths(plate, snap, limits)?;
    let raw_plate = string(plate, "PlateNumber", "Picture.Plate.PlateNumber")?.unwrap_or("");
    let exists = plate.get("IsExist").and_then(Value::as_bool) != Some(false);
    let confidence = plate
        .get("Confidence")
        .filter(|v| !v.is_null())
        .map(confidence)
        .transpose()?;
    let color =
        string(plate, "PlateColor", "Picture.Plate.PlateColor")?.and_then(PlateColor::from_camera);
    let at = match string(snap, "AccurateTime", "Picture.SnapInfo.AccurateTime")? {
        Some(t) if !t.trim().is_empty() => camera_time("Picture.SnapInfo.AccurateTime", t)?,
        _ => match string(snap, "SnapTime", "Picture.SnapInfo.SnapTime")? {
            Some(t) if !t.trim().is_empty() => camera_time("Picture.SnapInfo.SnapTime", t)?,
            _ => return Err(PlateError::MissingField("Picture.SnapInfo.AccurateTime")),
        },
    };
    let lane_hint = lane(snap.get("LanNo"))
        .or_else(|| lane(snap.get("LaneNo")))
        .or_else(|| lane(plate.get("Channel")));
    let mut images = Vec::new();
    for (key, field) in PICTURES {
        if let Some(image) = picture_of(picture, key, field, limits)? {
            images.push(image);
        }
    }
    Ok(PlateRead {
        camera: camera.to_owned(),
        plate: if exists {
            event::plate_from_camera(raw_plate)
        } else {
            None
        },
        raw_plate: raw_plate.to_owned(),
        confidence,
        color,
        at,
        lane_hint,
        images,
        raw_format: RawFormat::Dahua,
    })
}

/// The text fields read or kept, and the camera's own identity fields, as (parent is the
/// plate object, key, path, is the plate text).
const BOUNDED_FIELDS: [(bool, &str, &str, bool); 9] = [
    (true, "PlateNumber", "Picture.Plate.PlateNumber", true),
    (true, "PlateColor", "Picture.Plate.PlateColor", false),
    (true, "Channel", "Picture.Plate.Channel", false),
    (true, "Confidence", "Picture.Plate.Confidence", false),
    (
        false,
        "AccurateTime",
        "Picture.SnapInfo.AccurateTime",
        false,
    ),
    (false, "SnapTime", "Picture.SnapInfo.SnapTime", false),
    (false, "LanNo", "Picture.SnapInfo.LanNo", false),
    (false, "LaneNo", "Picture.SnapInfo.LaneNo", false),
    (false, "DeviceID", "Picture.SnapInfo.DeviceID", false),
];

/// Each of [`BOUNDED_FIELDS`] that is a string within its limit.
fn check_lengths(plate: &Value, snap: &Value, limits: &PlateLimits) -> Result<(), PlateError> {
    for (in_plate, key, path, is_plate) in BOUNDED_FIELDS {
        let parent = if in_plate { plate } else { snap };
        if let Some(Value::String(text)) = parent.get(key) {
            let limit = if is_plate {
                limits.max_plate_chars
            } else {
                limits.max_text_chars
            };
            bounded(path, text, limit)?;
        }
    }
    Ok(())
}

/// A member that must be a JSON object.
fn object<'v>(parent: &'v Value, key: &str, field: &'static str) -> Result<&'v Value, PlateError> {
    match parent.get(key) {
        Some(v) if v.is_object() => Ok(v),
        Some(v) => Err(PlateError::bad_field(
            field,
            &v.to_string(),
            "not an object",
        )),
        None => Err(PlateError::MissingField(field)),
    }
}

/// A member that, when present and not null, must be a string.
fn string<'v>(
    parent: &'v Value,
    key: &str,
    field: &'static str,
) -> Result<Option<&'v str>, PlateError> {
    match parent.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(PlateError::bad_field(field, &v.to_string(), "not a string")),
    }
}

fn confidence(value: &Value) -> Result<f32, PlateError> {
    const FIELD: &str = "Picture.Plate.Confidence";
    match value {
        Value::Number(n) => event::confidence(FIELD, &n.to_string(), n.is_i64() || n.is_u64()),
        Value::String(s) => event::confidence(FIELD, s, event::is_integer_text(s)),
        other => Err(PlateError::bad_field(
            FIELD,
            &other.to_string(),
            "not a number",
        )),
    }
}

fn lane(value: Option<&Value>) -> Option<u32> {
    match value? {
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Value::String(s) => event::lane_number(Some(s)),
        _ => None,
    }
}

/// The decoded JPEG of `Picture.<key>.Content`, if there is one.
fn picture_of(
    picture: &Value,
    key: &str,
    field: &'static str,
    limits: &PlateLimits,
) -> Result<Option<PlateImage>, PlateError> {
    let Some(pic) = picture.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Some(content) = string(pic, "Content", field)? else {
        return Ok(None);
    };
    let encoded: Vec<u8> = content
        .strip_prefix("data:image/jpeg;base64,")
        .unwrap_or(content)
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if encoded.is_empty() {
        return Ok(None);
    }
    let estimated = encoded.len() / 4 * 3;
    if estimated > limits.max_image_bytes {
        return Err(PlateError::TooLarge {
            what: field.to_owned(),
            size: estimated,
            limit: limits.max_image_bytes,
        });
    }
    let bytes = BASE64.decode(&encoded).map_err(|e| PlateError::BadBase64 {
        field,
        reason: e.to_string(),
    })?;
    let name = pic
        .get("PicName")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or(key)
        .to_owned();
    PlateImage::jpeg(field, Some(name), Bytes::from(bytes), limits).map(Some)
}

#[cfg(test)]
#[path = "dahua_tests.rs"]
mod tests;
