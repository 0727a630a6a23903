//! The sample payloads in `tests/fixtures/plate/`, parsed end to end and agreed.

use chrono::{DateTime, Utc};

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/plate/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn utc(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn hikvision_fixture() -> PlateRead {
    let content_type = String::from_utf8(fixture("hikvision_anpr.content-type")).unwrap();
    parse_hikvision(
        content_type.trim(),
        &fixture("hikvision_anpr.multipart"),
        "gate1-exit",
    )
    .unwrap()
}

#[test]
fn plate_fixture_hikvision_multipart_parses_end_to_end() {
    let read = hikvision_fixture();
    assert_eq!(read.plate.as_deref(), Some("闽G12345"));
    assert_eq!(read.confidence, Some(0.96));
    assert_eq!(read.color, Some(PlateColor::Blue));
    assert_eq!(read.at, utc("2026-11-27T02:00:00Z"));
    assert_eq!(read.lane_hint, Some(2));
    let names: Vec<_> = read
        .images
        .iter()
        .filter_map(|i| i.name.as_deref())
        .collect();
    assert_eq!(names, ["licensePlatePicture.jpg", "detectionPicture.jpg"]);
    for image in &read.images {
        assert!(image.bytes.ends_with(&[0xFF, 0xD9]), "whole JPEG kept");
    }
    assert_eq!(
        classify(read.plate.as_deref().unwrap()),
        Ok(PlateKind::Ordinary)
    );
}

#[test]
fn plate_fixture_hikvision_bare_xml_is_a_no_read() {
    let read = parse_hikvision(
        "application/xml",
        &fixture("hikvision_noread.xml"),
        "gate1-exit",
    )
    .unwrap();
    assert_eq!(read.plate, None);
    assert_eq!(read.raw_plate, "unknown");
    assert_eq!(read.color, None);
    assert_eq!(read.at, utc("2026-11-27T02:00:02.500Z"));
    assert_eq!(read.lane_hint, Some(3));
    assert!(read.images.is_empty());
}

#[test]
fn plate_fixture_dahua_json_parses_end_to_end() {
    let read = parse_dahua(&fixture("dahua_anpr.json"), "gate2-exit").unwrap();
    assert_eq!(read.plate.as_deref(), Some("闽GD12345"));
    assert_eq!(read.confidence, Some(0.91));
    assert_eq!(read.color, Some(PlateColor::Green));
    assert_eq!(read.at, utc("2026-11-27T02:00:00.123Z"));
    assert_eq!(read.lane_hint, Some(1));
    assert_eq!(read.raw_format, RawFormat::Dahua);
    assert_eq!(read.images.len(), 2);
    assert!(read.images.iter().all(|i| i.bytes.ends_with(&[0xFF, 0xD9])));
    assert_eq!(classify("闽GD12345"), Ok(PlateKind::NewEnergySmall));
}

#[test]
fn plate_fixture_reads_agree_with_each_other() {
    let hik = hikvision_fixture();
    let mut second = hik.clone();
    second.plate = Some("闽G1234S".into());
    let noread = parse_hikvision(
        "application/xml",
        &fixture("hikvision_noread.xml"),
        "gate1-exit",
    )
    .unwrap();
    let verdict = agree(
        &[hik, noread, second],
        &["闽G12345"],
        &ConsensusConfig::default(),
    );
    let Verdict::Agreed(a) = &verdict else {
        panic!("{verdict:#?}")
    };
    assert_eq!(a.plate, "闽G12345");
    assert_eq!(a.reads, 2);
    assert_eq!(
        a.resolved_confusion,
        Some(("闽G1234S".into(), "闽G12345".into()))
    );
}
