use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::*;

const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0jpeg-bytes\xFF\xD9";

fn event() -> Value {
    json!({
        "Picture": {
            "Plate": {
                "PlateNumber": "闽G12345",
                "Confidence": 87,
                "PlateColor": "Yellow",
                "IsExist": true,
                "Channel": 0
            },
            "SnapInfo": {
                "AccurateTime": "2026-11-27 10:00:00.123",
                "SnapTime": "2026-11-27 10:00:00",
                "LanNo": 2
            },
            "NormalPic": { "Content": STANDARD.encode(JPEG), "PicName": "normal.jpg" },
            "CutoutPic": { "Content": STANDARD.encode(JPEG) }
        }
    })
}

fn parse(v: &Value) -> Result<PlateRead, PlateError> {
    parse_dahua(v.to_string().as_bytes(), "gate2-exit")
}

#[test]
fn dahua_plate_read_carries_plate_confidence_colour_time_and_images() {
    let read = parse(&event()).unwrap();
    assert_eq!(read.camera, "gate2-exit");
    assert_eq!(read.plate.as_deref(), Some("闽G12345"));
    assert_eq!(read.confidence, Some(0.87));
    assert_eq!(read.color, Some(PlateColor::Yellow));
    assert_eq!(
        read.at,
        "2026-11-27T02:00:00.123Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        "Beijing time to UTC"
    );
    assert_eq!(read.lane_hint, Some(2));
    assert_eq!(read.raw_format, RawFormat::Dahua);
    assert_eq!(read.images.len(), 2);
    assert_eq!(read.images[0].name.as_deref(), Some("normal.jpg"));
    assert_eq!(read.images[1].name.as_deref(), Some("CutoutPic"));
    assert_eq!(&read.images[0].bytes[..], JPEG);
}

#[test]
fn dahua_plate_ack_is_result_true() {
    let ack: Value = serde_json::from_str(DAHUA_ACK).unwrap();
    assert_eq!(ack, json!({"Result": true}));
}

#[test]
fn dahua_plate_confidence_is_normalised_from_either_scale() {
    for (value, expected) in [
        (json!(87), 0.87),
        (json!(100), 1.0),
        (json!(1), 0.01),
        (json!(0.93), 0.93),
        (json!(1.0), 1.0),
        (json!(93.5), 0.935),
        (json!("88"), 0.88),
        (json!("0.5"), 0.5),
    ] {
        let mut e = event();
        e["Picture"]["Plate"]["Confidence"] = value.clone();
        let got = parse(&e).unwrap().confidence.unwrap();
        assert!((got - expected).abs() < 1e-6, "{value}: {got}");
    }
    let mut e = event();
    e["Picture"]["Plate"]["Confidence"] = Value::Null;
    assert_eq!(parse(&e).unwrap().confidence, None);
}

#[test]
fn dahua_plate_huge_or_odd_numbers_are_rejected_by_field() {
    for value in [
        json!(101),
        json!(-1),
        json!(1e300),
        json!(u64::MAX),
        json!("many"),
        json!([1]),
    ] {
        let mut e = event();
        e["Picture"]["Plate"]["Confidence"] = value.clone();
        let err = parse(&e).unwrap_err();
        assert!(
            err.to_string().contains("Picture.Plate.Confidence"),
            "{value}: {err}"
        );
    }
    let err = parse_dahua(br#"{"Picture": {"Plate": {"Confidence": 1e400}}}"#, "c").unwrap_err();
    assert!(matches!(err, PlateError::Json { .. }), "{err}");
}

#[test]
fn dahua_plate_colours_in_english_and_chinese() {
    for (text, colour) in [
        ("Blue", Some(PlateColor::Blue)),
        ("蓝", Some(PlateColor::Blue)),
        ("Green", Some(PlateColor::Green)),
        ("渐变绿", Some(PlateColor::Green)),
        ("YellowGreen", Some(PlateColor::YellowGreen)),
        ("黄绿", Some(PlateColor::YellowGreen)),
        ("White", Some(PlateColor::White)),
        ("黑色", Some(PlateColor::Black)),
        ("Unknown", None),
        ("Purple", Some(PlateColor::Other)),
    ] {
        let mut e = event();
        e["Picture"]["Plate"]["PlateColor"] = json!(text);
        assert_eq!(parse(&e).unwrap().color, colour, "{text}");
    }
}

#[test]
fn dahua_plate_no_plate_is_a_no_read() {
    for number in ["", "无车牌", "unknown"] {
        let mut e = event();
        e["Picture"]["Plate"]["PlateNumber"] = json!(number);
        assert_eq!(parse(&e).unwrap().plate, None, "{number:?}");
    }
    let mut e = event();
    e["Picture"]["Plate"]["IsExist"] = json!(false);
    let read = parse(&e).unwrap();
    assert_eq!(read.plate, None);
    assert_eq!(read.raw_plate, "闽G12345", "kept as evidence");
    let mut e = event();
    e["Picture"]["Plate"]
        .as_object_mut()
        .unwrap()
        .remove("PlateNumber");
    assert_eq!(parse(&e).unwrap().plate, None);
}

#[test]
fn dahua_plate_time_falls_back_to_snap_time_and_is_required() {
    let mut e = event();
    e["Picture"]["SnapInfo"]
        .as_object_mut()
        .unwrap()
        .remove("AccurateTime");
    let read = parse(&e).unwrap();
    assert_eq!(
        read.at,
        "2026-11-27T02:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    e["Picture"]["SnapInfo"]
        .as_object_mut()
        .unwrap()
        .remove("SnapTime");
    assert_eq!(
        parse(&e).unwrap_err(),
        PlateError::MissingField("Picture.SnapInfo.AccurateTime")
    );
    let mut e = event();
    e["Picture"]["SnapInfo"]["AccurateTime"] = json!("2026-11-27 25:00:00");
    assert!(parse(&e).unwrap_err().to_string().contains("AccurateTime"));
}

#[test]
fn dahua_plate_structure_errors_name_the_path() {
    assert_eq!(
        parse(&json!({})).unwrap_err(),
        PlateError::MissingField("Picture")
    );
    assert_eq!(
        parse(&json!([])).unwrap_err(),
        PlateError::MissingField("Picture")
    );
    assert_eq!(
        parse(&json!({"Picture": {}})).unwrap_err(),
        PlateError::MissingField("Picture.Plate")
    );
    let err = parse(&json!({"Picture": {"Plate": "闽G12345"}})).unwrap_err();
    assert!(err.to_string().contains("Picture.Plate"), "{err}");
    let mut e = event();
    e["Picture"]["Plate"]["PlateNumber"] = json!(12345);
    let err = parse(&e).unwrap_err();
    assert!(
        err.to_string().contains("Picture.Plate.PlateNumber"),
        "{err}"
    );
}

#[test]
fn dahua_plate_bad_json_says_where() {
    let err = parse_dahua(b"{\n  \"Picture\": {,\n}", "c").unwrap_err();
    let PlateError::Json { line, column, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!((line, column), (2, 15));
    assert_eq!(err.code(), "plate_event_bad_json");
}

#[test]
fn dahua_plate_bad_base64_and_non_jpeg_pictures_are_rejected() {
    let mut e = event();
    e["Picture"]["NormalPic"]["Content"] = json!("!!!not base64!!!");
    let err = parse(&e).unwrap_err();
    assert!(
        matches!(
            err,
            PlateError::BadBase64 {
                field: "Picture.NormalPic.Content",
                ..
            }
        ),
        "{err}"
    );
    let mut e = event();
    e["Picture"]["CutoutPic"]["Content"] = json!(STANDARD.encode(b"GIF89a"));
    assert_eq!(
        parse(&e).unwrap_err(),
        PlateError::NotJpeg("Picture.CutoutPic.Content".into())
    );
    // Line-wrapped base64, unpadded base64 and a data URI are all accepted.
    let wrapped = STANDARD.encode(JPEG);
    let (a, b) = wrapped.split_at(8);
    let mut e = event();
    e["Picture"]["NormalPic"]["Content"] = json!(format!("{a}\r\n{b}"));
    e["Picture"]["CutoutPic"]["Content"] = json!(format!(
        "data:image/jpeg;base64,{}",
        wrapped.trim_end_matches('=')
    ));
    assert_eq!(parse(&e).unwrap().images.len(), 2);
}

#[test]
fn dahua_plate_oversized_pictures_and_bodies_are_rejected() {
    let big = [&JPEG[..4], &vec![0u8; 4096][..]].concat();
    let mut e = event();
    e["Picture"]["NormalPic"]["Content"] = json!(STANDARD.encode(&big));
    let limits = PlateLimits {
        max_image_bytes: 1024,
        ..PlateLimits::default()
    };
    let body = e.to_string();
    let err = parse_dahua_with(body.as_bytes(), "c", &limits).unwrap_err();
    assert!(
        matches!(err, PlateError::TooLarge { ref what, limit: 1024, .. } if what == "Picture.NormalPic.Content"),
        "{err}"
    );
    let limits = PlateLimits {
        max_body_bytes: 64,
        ..PlateLimits::default()
    };
    let err = parse_dahua_with(body.as_bytes(), "c", &limits).unwrap_err();
    assert_eq!(err.code(), "plate_event_too_large");
}

#[test]
fn dahua_plate_truncated_and_random_bodies_never_panic() {
    let body = event().to_string();
    for cut in 0..body.len() {
        assert!(
            parse_dahua(&body.as_bytes()[..cut], "c").is_err(),
            "cut at {cut}"
        );
    }
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..500 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut mutated = body.clone().into_bytes();
        let at = (seed as usize) % mutated.len();
        mutated[at] = (seed >> 32) as u8;
        let _ = parse_dahua(&mutated, "c");
    }
    let deep = "[".repeat(100_000);
    assert!(parse_dahua(deep.as_bytes(), "c").is_err());
}

#[test]
fn dahua_plate_text_fields_over_their_limit_are_refused_by_name() {
    let mut v = event();
    v["Picture"]["Plate"]["PlateNumber"] = json!("A".repeat(10_000));
    let err = parse(&v).unwrap_err();
    assert_eq!(
        err,
        PlateError::TooLong {
            field: "Picture.Plate.PlateNumber".into(),
            chars: 10_000,
            limit: 16
        }
    );
    let mut v = event();
    v["Picture"]["SnapInfo"]["DeviceID"] = json!("9".repeat(65));
    let err = parse(&v).unwrap_err();
    assert!(
        matches!(&err, PlateError::TooLong { field, limit: 64, .. } if field == "Picture.SnapInfo.DeviceID"),
        "{err}"
    );
    let mut v = event();
    v["Picture"]["NormalPic"]["PicName"] = json!("n".repeat(65));
    assert_eq!(parse(&v).unwrap_err().code(), "plate_event_field_too_long");
    let mut v = event();
    v["Picture"]["SnapInfo"]["DeviceID"] = json!("35000011101320501001");
    assert!(parse(&v).is_ok(), "a 20-digit camera code fits");
}
