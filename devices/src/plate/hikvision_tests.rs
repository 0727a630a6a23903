use super::*;

const CT: &str = "multipart/form-data; boundary=BOUNDARY";
const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0jpeg-bytes\xFF\xD9";

fn alert(event_type: &str, plate: &str, extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<channelID>1</channelID>
<dateTime>2026-11-27T10:00:00+08:00</dateTime>
<eventType>{event_type}</eventType>
<ANPR><licensePlate>{plate}</licensePlate>{extra}</ANPR>
</EventNotificationAlert>"#
    )
}

fn multipart(parts: &[(&str, &str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, content_type, data) in parts {
        body.extend_from_slice(
            format!(
                "--BOUNDARY\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--BOUNDARY--\r\n");
    body
}

#[test]
fn hikvision_plate_multipart_read_carries_plate_confidence_colour_and_images() {
    let xml = alert(
        "ANPR",
        "闽G12345",
        "<confidenceLevel>96</confidenceLevel><plateColor>blue</plateColor>",
    );
    let body = multipart(&[
        ("anpr.xml", "application/xml", xml.as_bytes()),
        ("licensePlatePicture.jpg", "image/jpeg", JPEG),
        ("detectionPicture.jpg", "image/jpeg", JPEG),
    ]);
    let read = parse_hikvision(CT, &body, "gate1-exit").unwrap();
    assert_eq!(read.camera, "gate1-exit");
    assert_eq!(read.plate.as_deref(), Some("闽G12345"));
    assert_eq!(read.raw_plate, "闽G12345");
    assert_eq!(read.confidence, Some(0.96));
    assert_eq!(read.color, Some(PlateColor::Blue));
    assert_eq!(
        read.at,
        "2026-11-27T02:00:00Z"
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap()
    );
    assert_eq!(read.lane_hint, Some(1), "channelID when there is no laneNo");
    assert_eq!(read.raw_format, RawFormat::Hikvision);
    assert_eq!(read.images.len(), 2);
    assert_eq!(
        read.images[0].name.as_deref(),
        Some("licensePlatePicture.jpg")
    );
    assert_eq!(read.images[0].content_type, "image/jpeg");
    assert_eq!(&read.images[1].bytes[..], JPEG);
}

#[test]
fn hikvision_plate_xml_part_is_found_by_name_or_by_sniffing() {
    let xml = alert("ANPR", "闽G12345", "");
    for (name, content_type) in [("anpr.xml", "text/plain"), ("event", "text/plain")] {
        let body = multipart(&[(name, content_type, xml.as_bytes())]);
        let read = parse_hikvision(CT, &body, "c").unwrap();
        assert_eq!(read.plate.as_deref(), Some("闽G12345"), "{name}");
        assert!(read.images.is_empty());
    }
}

#[test]
fn hikvision_plate_bare_xml_body_parses() {
    let xml = alert("vehicleDetection", "闽G12345", "<laneNo>3</laneNo>");
    for content_type in ["application/xml", "text/xml; charset=UTF-8", ""] {
        let read = parse_hikvision(content_type, xml.as_bytes(), "c").unwrap();
        assert_eq!(read.plate.as_deref(), Some("闽G12345"), "{content_type:?}");
        assert_eq!(read.lane_hint, Some(3), "laneNo wins over channelID");
    }
}

#[test]
fn hikvision_plate_unknown_empty_and_no_plate_are_no_reads() {
    for text in ["unknown", "UNKNOWN", "", "  ", "无车牌"] {
        let xml = alert("ANPR", text, "<confidenceLevel>0</confidenceLevel>");
        let read = parse_hikvision("application/xml", xml.as_bytes(), "c").unwrap();
        assert_eq!(read.plate, None, "{text:?}");
        assert_eq!(read.raw_plate, text.trim());
    }
}

#[test]
fn hikvision_plate_text_is_normalised_but_kept_raw() {
    let xml = alert("ANPR", "蓝闽g·12345", "");
    let read = parse_hikvision("application/xml", xml.as_bytes(), "c").unwrap();
    assert_eq!(read.plate.as_deref(), Some("闽G12345"));
    assert_eq!(read.raw_plate, "蓝闽g·12345");
}

#[test]
fn hikvision_plate_other_event_types_are_not_plate_events() {
    let xml = alert("videoloss", "", "");
    let err = parse_hikvision("application/xml", xml.as_bytes(), "c").unwrap_err();
    assert_eq!(err, PlateError::NotPlateEvent("videoloss".into()));
    assert_eq!(err.code(), "plate_event_not_plate");
}

#[test]
fn hikvision_plate_missing_fields_are_named() {
    let no_plate = alert("ANPR", "x", "").replace("<licensePlate>x</licensePlate>", "");
    let err = parse_hikvision("application/xml", no_plate.as_bytes(), "c").unwrap_err();
    assert_eq!(err, PlateError::MissingField("ANPR/licensePlate"));

    let no_time =
        alert("ANPR", "x", "").replace("<dateTime>2026-11-27T10:00:00+08:00</dateTime>", "");
    let err = parse_hikvision("application/xml", no_time.as_bytes(), "c").unwrap_err();
    assert_eq!(err, PlateError::MissingField("dateTime"));

    let no_type = alert("ANPR", "x", "").replace("<eventType>ANPR</eventType>", "");
    let err = parse_hikvision("application/xml", no_type.as_bytes(), "c").unwrap_err();
    assert_eq!(err, PlateError::MissingField("eventType"));
}

#[test]
fn hikvision_plate_bad_values_say_which_field() {
    for (extra, field) in [
        (
            "<confidenceLevel>lots</confidenceLevel>",
            "ANPR/confidenceLevel",
        ),
        (
            "<confidenceLevel>1e300</confidenceLevel>",
            "ANPR/confidenceLevel",
        ),
        (
            "<confidenceLevel>-3</confidenceLevel>",
            "ANPR/confidenceLevel",
        ),
        (
            "<confidenceLevel>NaN</confidenceLevel>",
            "ANPR/confidenceLevel",
        ),
    ] {
        let xml = alert("ANPR", "闽G12345", extra);
        let err = parse_hikvision("application/xml", xml.as_bytes(), "c").unwrap_err();
        assert!(
            matches!(&err, PlateError::BadField { field: f, .. } if *f == field),
            "{extra}: {err}"
        );
    }
    let xml = alert("ANPR", "闽G12345", "").replace("2026-11-27T10:00:00+08:00", "tomorrow");
    let err = parse_hikvision("application/xml", xml.as_bytes(), "c").unwrap_err();
    assert!(err.to_string().contains("dateTime"), "{err}");
}

#[test]
fn hikvision_plate_wrong_content_type_and_missing_parts_are_rejected() {
    let xml = alert("ANPR", "闽G12345", "");
    let err = parse_hikvision("application/json", xml.as_bytes(), "c").unwrap_err();
    assert_eq!(
        err,
        PlateError::UnsupportedContentType("application/json".into())
    );

    let body = multipart(&[("licensePlatePicture.jpg", "image/jpeg", JPEG)]);
    let err = parse_hikvision(CT, &body, "c").unwrap_err();
    assert!(matches!(err, PlateError::MissingPart { .. }), "{err}");
    assert!(err.to_string().contains("licensePlatePicture.jpg"), "{err}");
}

#[test]
fn hikvision_plate_bad_images_and_oversize_are_rejected() {
    let xml = alert("ANPR", "闽G12345", "");
    let body = multipart(&[
        ("anpr.xml", "application/xml", xml.as_bytes()),
        ("pic.jpg", "image/jpeg", b"GIF89a not a jpeg"),
    ]);
    let err = parse_hikvision(CT, &body, "c").unwrap_err();
    assert_eq!(err, PlateError::NotJpeg("part \"pic.jpg\"".into()));

    let big = [&JPEG[..4], &[0u8; 2048][..]].concat();
    let body = multipart(&[
        ("anpr.xml", "application/xml", xml.as_bytes()),
        ("pic.jpg", "image/jpeg", &big),
    ]);
    let limits = PlateLimits {
        max_image_bytes: 1024,
        ..PlateLimits::default()
    };
    let err = parse_hikvision_with(CT, &body, "c", &limits).unwrap_err();
    assert!(
        matches!(err, PlateError::TooLarge { limit: 1024, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("pic.jpg"), "{err}");

    let limits = PlateLimits {
        max_body_bytes: 100,
        ..PlateLimits::default()
    };
    let err = parse_hikvision_with(CT, &body, "c", &limits).unwrap_err();
    assert!(matches!(err, PlateError::TooLarge { ref what, limit: 100, .. } if what == "body"));
}

#[test]
fn hikvision_plate_bad_xml_names_the_element() {
    let xml = alert("ANPR", "闽G12345", "<plateColor>blue</plateColour>");
    let err = parse_hikvision("application/xml", xml.as_bytes(), "c").unwrap_err();
    let PlateError::Xml { element, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(element, "EventNotificationAlert/ANPR/plateColor", "{err}");

    let err =
        parse_hikvision("application/xml", b"<EventNotificationAlert>\xFF\xFE", "c").unwrap_err();
    assert!(
        matches!(err, PlateError::NotUtf8 { offset: 24, .. }),
        "{err}"
    );

    let err = parse_hikvision("application/xml", b"<Metadata/>", "c").unwrap_err();
    assert_eq!(err, PlateError::NotEventAlert("Metadata".into()));
}

#[test]
fn hikvision_plate_truncated_bodies_never_panic_and_always_fail() {
    let xml = alert("ANPR", "闽G12345", "<confidenceLevel>96</confidenceLevel>");
    let body = multipart(&[
        ("anpr.xml", "application/xml", xml.as_bytes()),
        ("pic.jpg", "image/jpeg", JPEG),
    ]);
    // Cutting inside the final boundary line may still leave a complete event; any
    // earlier cut must be an error, never a panic or a partial read.
    let last_part_end = body.len() - "\r\n--BOUNDARY--\r\n".len();
    for cut in 0..last_part_end {
        let result = parse_hikvision(CT, &body[..cut], "c");
        assert!(result.is_err(), "cut at {cut} parsed: {result:?}");
    }
    for cut in 0..xml.len() - 1 {
        let Some(prefix) = xml.get(..cut) else {
            continue;
        };
        assert!(
            parse_hikvision("application/xml", prefix.as_bytes(), "c").is_err(),
            "cut at {cut}"
        );
    }
}

#[test]
fn hikvision_plate_random_bytes_never_panic() {
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let xml = alert("ANPR", "闽G12345", "<confidenceLevel>96</confidenceLevel>");
    let body = multipart(&[
        ("anpr.xml", "application/xml", xml.as_bytes()),
        ("pic.jpg", "image/jpeg", JPEG),
    ]);
    for round in 0..500 {
        let len = (next() % 600) as usize;
        let noise: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let _ = parse_hikvision(CT, &noise, "c");
        let _ = parse_hikvision("application/xml", &noise, "c");
        // Flip a few bytes of a good body.
        let mut mutated = body.clone();
        for _ in 0..=round % 4 {
            let at = (next() as usize) % mutated.len();
            mutated[at] = next() as u8;
        }
        let _ = parse_hikvision(CT, &mutated, "c");
    }
}

#[test]
fn hikvision_plate_text_fields_over_their_limit_are_refused_by_name() {
    let long_plate = "闽".repeat(10_000);
    let err = parse_hikvision(
        "application/xml",
        alert("ANPR", &long_plate, "").as_bytes(),
        "c",
    )
    .unwrap_err();
    assert_eq!(
        err,
        PlateError::TooLong {
            field: "ANPR/licensePlate".into(),
            chars: 10_000,
            limit: 16
        }
    );
    assert_eq!(err.code(), "plate_event_field_too_long");
    assert!(err.to_string().contains("16-character limit"), "{err}");
    let ok = parse_hikvision(
        "application/xml",
        alert("ANPR", &"闽".repeat(16), "").as_bytes(),
        "c",
    );
    assert!(ok.is_ok(), "exactly at the limit");
    let colour = format!("<plateColor>{}</plateColor>", "b".repeat(65));
    let err = parse_hikvision(
        "application/xml",
        alert("ANPR", "闽G12345", &colour).as_bytes(),
        "c",
    )
    .unwrap_err();
    assert!(
        matches!(&err, PlateError::TooLong { field, limit: 64, .. } if field == "ANPR/plateColor"),
        "{err}"
    );
    let name = format!("{}.jpg", "p".repeat(100));
    let xml = alert("ANPR", "闽G12345", "");
    let body = multipart(&[
        ("anpr.xml", "application/xml", xml.as_bytes()),
        (&name, "image/jpeg", JPEG),
    ]);
    let err = parse_hikvision(CT, &body, "c").unwrap_err();
    assert_eq!(err.code(), "plate_event_field_too_long", "{err}");
}
