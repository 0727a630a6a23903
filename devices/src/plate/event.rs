//! The typed plate read that both camera forms become.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::{PlateError, PlateLimits, bounded};
use super::format;

/// One plate read pushed by one camera: what it read, how sure it was, when, and the
/// pictures it sent as evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateRead {
    /// The camera's configured id (the listener knows which camera posted).
    pub camera: String,
    /// The plate, normalised by [`format::normalize`]; `None` is a no-read (the camera saw a
    /// vehicle but read no plate: `unknown`, `无车牌`, empty). Not yet validated: the
    /// consensus decides which reads count.
    pub plate: Option<String>,
    /// The plate text exactly as the camera sent it, kept for the evidence record.
    pub raw_plate: String,
    /// The camera's confidence, normalised to 0..=1.
    pub confidence: Option<f32>,
    /// The plate's background colour, when the camera reported one it knows.
    pub color: Option<PlateColor>,
    /// When the camera saw the vehicle, from the camera's own clock, in UTC (times
    /// without an offset are taken as Beijing time).
    pub at: DateTime<Utc>,
    /// The lane or channel number the camera reported (Hikvision `laneNo`, else
    /// `channelID`; Dahua `SnapInfo.LanNo`, else `Plate.Channel`). A hint only: which lane
    /// a camera serves is configuration.
    pub lane_hint: Option<u32>,
    /// The pictures that came with the read (scene, plate close-up), JPEG.
    pub images: Vec<PlateImage>,
    /// Which wire form the read came in.
    pub raw_format: RawFormat,
}

/// A picture that came with a plate read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlateImage {
    /// Its media type; always `image/jpeg` today.
    pub content_type: String,
    /// The name the camera gave it (`licensePlatePicture.jpg`, `NormalPic`), if any.
    pub name: Option<String>,
    /// The image bytes, checked to start with the JPEG marker.
    pub bytes: Bytes,
}

impl PlateImage {
    /// Media type of every image kept today.
    pub const JPEG: &'static str = "image/jpeg";

    /// Checks size and JPEG marker and wraps the bytes. `what` names the image in errors.
    pub(crate) fn jpeg(
        what: &str,
        name: Option<String>,
        bytes: Bytes,
        limits: &PlateLimits,
    ) -> Result<Self, PlateError> {
        if bytes.len() > limits.max_image_bytes {
            return Err(PlateError::TooLarge {
                what: what.to_owned(),
                size: bytes.len(),
                limit: limits.max_image_bytes,
            });
        }
        if !bytes.starts_with(&[0xFF, 0xD8]) {
            return Err(PlateError::NotJpeg(what.to_owned()));
        }
        if let Some(name) = &name {
            bounded(&format!("{what} name"), name, limits.max_text_chars)?;
        }
        Ok(Self {
            content_type: Self::JPEG.to_owned(),
            name,
            bytes,
        })
    }
}

/// Which camera protocol a read came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawFormat {
    /// Hikvision ISAPI `EventNotificationAlert`.
    Hikvision,
    /// Dahua ITS JSON.
    Dahua,
}

/// A plate's background colour, which says what kind of vehicle it is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateColor {
    /// 蓝 — small ordinary vehicles.
    Blue,
    /// 黄 — large vehicles: trucks, buses, trailers.
    Yellow,
    /// 绿 / 渐变绿 — small new-energy vehicles.
    Green,
    /// 黄绿 — large new-energy vehicles.
    YellowGreen,
    /// 白 — police, armed police, military.
    White,
    /// 黑 — foreign-owned, Hong Kong and Macao vehicles.
    Black,
    /// A colour the camera named that is none of the above.
    Other,
}

impl PlateColor {
    /// Reads a camera's colour name (English in any case, or Chinese). `None` for empty or
    /// `unknown`; [`PlateColor::Other`] for a name not listed.
    pub fn from_camera(text: &str) -> Option<Self> {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        let color = match lower.as_str() {
            "" | "unknown" | "未知" => return None,
            "blue" | "蓝" | "蓝色" => Self::Blue,
            "yellow" | "黄" | "黄色" => Self::Yellow,
            "green" | "newenergygreen" | "绿" | "绿色" | "渐变绿" => Self::Green,
            "yellowgreen"
            | "yellow_green"
            | "yellow-green"
            | "newenergyyellowgreen"
            | "黄绿"
            | "黄绿色" => Self::YellowGreen,
            "white" | "白" | "白色" => Self::White,
            "black" | "黑" | "黑色" => Self::Black,
            _ => Self::Other,
        };
        Some(color)
    }

    /// The colour's Chinese name, as the consoles show it.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Blue => "蓝",
            Self::Yellow => "黄",
            Self::Green => "绿",
            Self::YellowGreen => "黄绿",
            Self::White => "白",
            Self::Black => "黑",
            Self::Other => "其他",
        }
    }
}

/// The normalised plate from a camera's text, or `None` for a no-read.
pub(crate) fn plate_from_camera(raw: &str) -> Option<String> {
    let plate = format::normalize(raw);
    let no_read = plate.is_empty()
        || plate.eq_ignore_ascii_case("unknown")
        || matches!(plate.as_str(), "无车牌" | "无牌" | "未识别");
    (!no_read).then_some(plate)
}

/// A camera's confidence as 0..=1.
///
/// Integers are percentages (Hikvision `confidenceLevel` and Dahua `Confidence` are
/// 0–100, so `1` means 1 %, not certainty); decimals up to 1 are fractions, above 1
/// percentages. Anything else (negative, over 100, not finite) is an error.
pub(crate) fn confidence(
    field: &'static str,
    text: &str,
    integer: bool,
) -> Result<f32, PlateError> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| PlateError::bad_field(field, text, "not a number"))?;
    if !value.is_finite() || !(0.0..=100.0).contains(&value) {
        return Err(PlateError::bad_field(
            field,
            text,
            "confidence must be 0–100 or 0–1",
        ));
    }
    let fraction = if integer || value > 1.0 {
        value / 100.0
    } else {
        value
    };
    Ok(fraction as f32)
}

/// Whether a confidence text is written as an integer (no decimal point or exponent).
pub(crate) fn is_integer_text(text: &str) -> bool {
    let t = text.trim();
    !t.is_empty()
        && t.trim_start_matches(['+', '-'])
            .bytes()
            .all(|b| b.is_ascii_digit())
}

/// A lane or channel number from camera text; absent, empty or unusable text is no hint.
pub(crate) fn lane_number(text: Option<&str>) -> Option<u32> {
    text.and_then(|t| t.trim().parse().ok())
}
