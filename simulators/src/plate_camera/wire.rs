//! What a simulated plate camera puts on the wire: the Hikvision multipart event, the
//! Dahua JSON event and the generated plate picture.

use std::io::Cursor;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::FixedOffset;
use customs_edge_devices::plate::PlateColor;
use customs_edge_devices::xml::escape;
use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

use super::Shot;

/// The multipart boundary of Hikvision events.
pub const HIKVISION_BOUNDARY: &str = "MIME_boundary_customs_edge_sim";
/// Width of the generated plate picture.
pub const PLATE_JPEG_WIDTH: u32 = 320;
/// Height of the generated plate picture.
pub const PLATE_JPEG_HEIGHT: u32 = 100;

/// Beijing time, the cameras' clock.
fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("8 h is a valid offset")
}

/// The confidence as the cameras send it: an integer percentage 0–100.
fn percent(confidence: f32) -> u32 {
    (confidence.clamp(0.0, 1.0) * 100.0).round() as u32
}

/// The Hikvision ISAPI event for `shot`: its Content-Type and body, `multipart/form-data`
/// with the `anpr.xml` `EventNotificationAlert` part and a `licensePlatePicture.jpg` part.
pub fn hikvision_event(camera_id: &str, shot: &Shot) -> (String, Vec<u8>) {
    let xml = hikvision_xml(camera_id, shot);
    let jpeg = plate_jpeg(shot.plate.as_deref(), shot.color);
    let mut body = Vec::with_capacity(xml.len() + jpeg.len() + 512);
    for (name, content_type, data) in [
        ("anpr.xml", "application/xml", xml.as_bytes()),
        ("licensePlatePicture.jpg", "image/jpeg", &jpeg[..]),
    ] {
        body.extend_from_slice(
            format!(
                "--{HIKVISION_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
                data.len()
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{HIKVISION_BOUNDARY}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={HIKVISION_BOUNDARY}"),
        body,
    )
}

/// The `EventNotificationAlert` XML of a Hikvision ANPR event; a no-read is `unknown`.
pub fn hikvision_xml(camera_id: &str, shot: &Shot) -> String {
    let at = shot
        .at
        .with_timezone(&beijing())
        .format("%Y-%m-%dT%H:%M:%S%.3f%:z");
    let plate = shot.plate.as_deref().unwrap_or("unknown");
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>127.0.0.1</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<channelID>{lane}</channelID>
<dateTime>{at}</dateTime>
<activePostCount>1</activePostCount>
<eventType>ANPR</eventType>
<eventState>active</eventState>
<eventDescription>ANPR</eventDescription>
<channelName>{camera}</channelName>
<ANPR>
<country>CN</country>
<licensePlate>{plate}</licensePlate>
<line>1</line>
<direction>forward</direction>
<confidenceLevel>{confidence}</confidenceLevel>
<plateType>unknown</plateType>
<plateColor>{color}</plateColor>
<laneNo>{lane}</laneNo>
<vehicleType>truck</vehicleType>
</ANPR>
</EventNotificationAlert>
"#,
        lane = shot.lane,
        camera = escape(camera_id),
        plate = escape(plate),
        confidence = percent(shot.confidence),
        color = hikvision_color(shot.color),
    )
}

/// The Dahua ITS JSON event for `shot`; a no-read has an empty `PlateNumber`.
pub fn dahua_event(camera_id: &str, shot: &Shot) -> Vec<u8> {
    let local = shot.at.with_timezone(&beijing());
    let jpeg = plate_jpeg(shot.plate.as_deref(), shot.color);
    let event = serde_json::json!({
        "Picture": {
            "Plate": {
                "PlateNumber": shot.plate.as_deref().unwrap_or(""),
                "Confidence": percent(shot.confidence),
                "PlateColor": dahua_color(shot.color),
                "PlateType": "Normal",
                "IsExist": shot.plate.is_some(),
                "Channel": shot.lane,
            },
            "SnapInfo": {
                "DeviceID": camera_id,
                "AccurateTime": local.format("%Y-%m-%d %H:%M:%S%.3f").to_string(),
                "SnapTime": local.format("%Y-%m-%d %H:%M:%S").to_string(),
                "LanNo": shot.lane,
                "TriggerSource": "Video",
            },
            "NormalPic": {
                "Content": BASE64.encode(&jpeg),
                "PicName": format!("{camera_id}-{}.jpg", local.format("%Y%m%d%H%M%S%3f")),
            },
        }
    });
    event.to_string().into_bytes()
}

/// A plate picture: a `PLATE_JPEG_WIDTH` × `PLATE_JPEG_HEIGHT` JPEG in the plate's
/// colour with a block pattern drawn from the plate text, so different plates give
/// different pictures; a no-read is a crossed-out blank plate. No fonts involved.
pub fn plate_jpeg(plate: Option<&str>, color: PlateColor) -> Vec<u8> {
    let (bg, fg) = palette(color);
    let (w, h) = (PLATE_JPEG_WIDTH, PLATE_JPEG_HEIGHT);
    let mut img = RgbImage::from_pixel(w, h, Rgb(bg));
    let border = |x: u32, y: u32| x < 4 || y < 4 || x >= w - 4 || y >= h - 4;
    for (x, y, px) in img.enumerate_pixels_mut() {
        if border(x, y) {
            *px = Rgb(fg);
        }
    }
    match plate {
        Some(text) => {
            for (i, ch) in text.chars().take(8).enumerate() {
                glyph(
                    &mut img,
                    14 + i as u32 * 37,
                    hash(&[u64::from(ch), i as u64]),
                    fg,
                );
            }
        }
        None => {
            for x in 10..w - 10 {
                let y = (x - 10) * (h - 20) / (w - 20) + 10;
                for dy in 0..3 {
                    img.put_pixel(x, (y + dy).min(h - 1), Rgb(fg));
                    img.put_pixel(x, (h - 1 - y).saturating_sub(dy), Rgb(fg));
                }
            }
        }
    }
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("encoding an RGB image in memory cannot fail");
    out.into_inner()
}

/// A 5 × 7 block glyph at column `x0`, its blocks the bits of `bits`.
fn glyph(img: &mut RgbImage, x0: u32, bits: u64, fg: [u8; 3]) {
    const BLOCK_W: u32 = 6;
    const BLOCK_H: u32 = 9;
    for row in 0..7 {
        for col in 0..5 {
            if bits >> (row * 5 + col) & 1 == 0 {
                continue;
            }
            for dy in 0..BLOCK_H {
                for dx in 0..BLOCK_W {
                    img.put_pixel(x0 + col * BLOCK_W + dx, 18 + row * BLOCK_H + dy, Rgb(fg));
                }
            }
        }
    }
}

/// FNV-1a over the words.
fn hash(words: &[u64]) -> u64 {
    words.iter().fold(0xcbf2_9ce4_8422_2325, |h, w| {
        w.to_le_bytes()
            .iter()
            .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
    })
}

/// Background and text colours of a plate.
fn palette(color: PlateColor) -> ([u8; 3], [u8; 3]) {
    const WHITE: [u8; 3] = [0xF4, 0xF4, 0xF4];
    const BLACK: [u8; 3] = [0x14, 0x14, 0x14];
    match color {
        PlateColor::Blue => ([0x1E, 0x4F, 0xB8], WHITE),
        PlateColor::Yellow => ([0xF2, 0xC0, 0x1E], BLACK),
        PlateColor::Green => ([0x5C, 0xC8, 0x7A], BLACK),
        PlateColor::YellowGreen => ([0xA8, 0xD0, 0x3A], BLACK),
        PlateColor::White => (WHITE, BLACK),
        PlateColor::Black => (BLACK, WHITE),
        PlateColor::Other => ([0x80, 0x80, 0x80], BLACK),
    }
}

fn hikvision_color(color: PlateColor) -> &'static str {
    match color {
        PlateColor::Blue => "blue",
        PlateColor::Yellow => "yellow",
        PlateColor::Green => "green",
        PlateColor::YellowGreen => "yellowGreen",
        PlateColor::White => "white",
        PlateColor::Black => "black",
        PlateColor::Other => "other",
    }
}

fn dahua_color(color: PlateColor) -> &'static str {
    match color {
        PlateColor::Blue => "Blue",
        PlateColor::Yellow => "Yellow",
        PlateColor::Green => "Green",
        PlateColor::YellowGreen => "YellowGreen",
        PlateColor::White => "White",
        PlateColor::Black => "Black",
        PlateColor::Other => "Other",
    }
}

#[cfg(test)]
mod tests {
    use customs_edge_devices::plate::{parse_dahua, parse_hikvision};

    use super::*;

    fn shot(plate: &str) -> Shot {
        Shot {
            plate: Some(plate.to_owned()),
            confidence: 0.9,
            color: PlateColor::Blue,
            at: chrono::Utc::now(),
            lane: 2,
        }
    }

    #[test]
    fn hikvision_text_is_escaped_so_it_reads_back_as_sent() {
        // A carriage return is written `&#13;` (quick-xml), so XML end-of-line handling
        // cannot turn it into a line feed; the hand-made escaper left it raw.
        let xml = hikvision_xml("cam<1>&\"'\r", &shot("闽G&<12345"));
        assert!(xml.contains("<channelName>cam&lt;1&gt;&amp;&quot;&apos;&#13;</channelName>"));
        let (content_type, body) = hikvision_event("cam", &shot("闽G&<12345"));
        let read = parse_hikvision(&content_type, &body, "cam").unwrap();
        assert_eq!(read.raw_plate, "闽G&<12345");
    }

    #[test]
    fn dahua_picture_is_standard_padded_base64_of_the_jpeg() {
        let event = dahua_event("cam", &shot("闽G12345"));
        let read = parse_dahua(&event, "cam").unwrap();
        let jpeg = plate_jpeg(Some("闽G12345"), PlateColor::Blue);
        assert_eq!(read.images.first().map(|i| &i.bytes[..]), Some(&jpeg[..]));
        let json: serde_json::Value = serde_json::from_slice(&event).unwrap();
        let content = json["Picture"]["NormalPic"]["Content"].as_str().unwrap();
        assert!(content.len().is_multiple_of(4), "padded");
        assert_eq!(BASE64.encode(b"Ma"), "TWE=");
    }
}
