use chrono::{DateTime, TimeDelta, Utc};

use super::*;
use crate::plate::event::RawFormat;

fn t0() -> DateTime<Utc> {
    "2026-11-27T02:00:00Z".parse().unwrap()
}

fn read_at(plate: Option<&str>, confidence: Option<f32>, ms: i64) -> PlateRead {
    PlateRead {
        camera: "cam1".into(),
        plate: plate.map(str::to_owned),
        raw_plate: plate.unwrap_or("unknown").to_owned(),
        confidence,
        color: None,
        at: t0() + TimeDelta::milliseconds(ms),
        lane_hint: None,
        images: Vec::new(),
        raw_format: RawFormat::Hikvision,
    }
}

fn read(plate: &str, confidence: f32) -> PlateRead {
    read_at(Some(plate), Some(confidence), 0)
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.reasons().iter().map(|r| r.code.as_str()).collect()
}

fn agreed(v: &Verdict) -> &Agreement {
    match v {
        Verdict::Agreed(a) => a,
        other => panic!("expected agreement, got {other:#?}"),
    }
}

#[test]
fn plate_two_agreeing_reads_agree() {
    let cfg = ConsensusConfig::default();
    let v = agree(&[read("闽G12345", 0.6), read("闽G12345", 0.7)], &[], &cfg);
    let a = agreed(&v);
    assert_eq!(a.plate, "闽G12345");
    assert_eq!(a.kind, PlateKind::Ordinary);
    assert_eq!(a.basis, AgreementBasis::Reads);
    assert_eq!(a.reads, 2);
    assert_eq!(a.best_confidence, Some(0.7));
    assert_eq!(a.resolved_confusion, None);
    assert_eq!(codes(&v), ["plate_agreed"]);
    assert_eq!(v.led_text(), "车牌识别一致");
    assert_eq!(v.plate(), Some("闽G12345"));
}

#[test]
fn plate_one_confident_read_is_enough_one_unsure_read_is_not() {
    let cfg = ConsensusConfig::default();
    let v = agree(&[read("闽GD12345", 0.95)], &[], &cfg);
    assert_eq!(agreed(&v).basis, AgreementBasis::SingleHighConfidence);
    assert_eq!(agreed(&v).kind, PlateKind::NewEnergySmall);
    assert_eq!(codes(&v), ["plate_high_confidence"]);

    let v = agree(&[read("闽G12345", 0.89)], &[], &cfg);
    let Verdict::Unconfirmed { candidate, .. } = &v else {
        panic!("{v:#?}")
    };
    assert_eq!(candidate.plate, "闽G12345");
    assert_eq!(v.led_text(), "车牌待确认");

    let v = agree(&[read_at(Some("闽G12345"), None, 0)], &[], &cfg);
    assert!(
        matches!(v, Verdict::Unconfirmed { .. }),
        "no confidence is not high confidence"
    );
}

#[test]
fn plate_b_misread_resolves_to_the_one_open_permit_plate() {
    let cfg = ConsensusConfig::default();
    let open = ["闽G12B45", "闽A99999"];
    let v = agree(&[read("闽G12845", 0.8), read("闽G12B45", 0.7)], &open, &cfg);
    let a = agreed(&v);
    assert_eq!(a.plate, "闽G12B45");
    assert_eq!(a.reads, 2);
    assert_eq!(
        a.resolved_confusion,
        Some(("闽G12845".to_owned(), "闽G12B45".to_owned()))
    );
    assert_eq!(codes(&v), ["plate_agreed", "plate_confusion_resolved"]);
    assert_eq!(v.reasons()[1].code.zh(), "易混字符已校正");
}

#[test]
fn plate_invalid_reads_are_resolved_before_validation() {
    // `I` and `O` never appear on a plate: the reads are misreads of 1 and 0.
    let cfg = ConsensusConfig::default();
    // 闽GI2345 differs from the open plate by 5/0 as well: not resolvable, so invalid.
    let v = agree(
        &[read("闽GI2345", 0.8), read("闽G1234O", 0.8)],
        &["闽G12340"],
        &cfg,
    );
    let Verdict::Unconfirmed { candidate, .. } = &v else {
        panic!("{v:#?}")
    };
    assert_eq!(candidate.plate, "闽G12340");
    assert_eq!(
        codes(&v),
        [
            "plate_unconfirmed",
            "plate_invalid_format",
            "plate_confusion_resolved"
        ]
    );
    let v = agree(
        &[read("闽GI2340", 0.8), read("闽G1234O", 0.8)],
        &["闽G12340"],
        &cfg,
    );
    assert_eq!(agreed(&v).plate, "闽G12340");
}

#[test]
fn plate_confusion_with_several_open_plates_is_not_resolved() {
    let cfg = ConsensusConfig::default();
    let open = ["闽G12B45", "闽G1ZB45"];
    let v = agree(&[read("闽G12845", 0.8), read("闽G12845", 0.8)], &open, &cfg);
    // Both open plates match under the classes (8/B, and 2/Z for the second):
    // ambiguous, so the read stands as read, and no permit has that plate.
    let a = agreed(&v);
    assert_eq!(a.plate, "闽G12845");
    assert_eq!(a.resolved_confusion, None);
    assert!(
        codes(&v).contains(&"plate_confusion_ambiguous"),
        "{:?}",
        codes(&v)
    );
}

#[test]
fn plate_resolved_read_alone_needs_a_second_read() {
    let cfg = ConsensusConfig::default();
    let v = agree(&[read("闽G12845", 0.99)], &["闽G12B45"], &cfg);
    let Verdict::Unconfirmed { candidate, reasons } = &v else {
        panic!("{v:#?}")
    };
    assert_eq!(candidate.plate, "闽G12B45");
    assert_eq!(reasons[1].code, ReasonCode::PlateConfusionResolved);
}

#[test]
fn plate_conflicting_reads_without_majority_conflict() {
    let cfg = ConsensusConfig::default();
    let v = agree(&[read("闽G12345", 0.95), read("闽A99999", 0.5)], &[], &cfg);
    let Verdict::Conflict { candidates, .. } = &v else {
        panic!("{v:#?}")
    };
    assert_eq!(candidates.len(), 2);
    assert_eq!(
        candidates[0].plate, "闽G12345",
        "higher confidence first on a tie"
    );
    assert_eq!(codes(&v), ["plate_conflict"]);
    assert_eq!(v.led_text(), "车牌识别冲突");

    let v = agree(
        &[
            read("闽G12345", 0.9),
            read("闽G12345", 0.9),
            read("闽A99999", 0.9),
            read("闽A99999", 0.9),
        ],
        &[],
        &cfg,
    );
    assert!(matches!(v, Verdict::Conflict { .. }));
}

#[test]
fn plate_majority_agrees_and_notes_the_dissent() {
    let cfg = ConsensusConfig::default();
    let v = agree(
        &[
            read("闽G12345", 0.6),
            read("闽A99999", 0.6),
            read("闽G12345", 0.6),
        ],
        &[],
        &cfg,
    );
    assert_eq!(agreed(&v).plate, "闽G12345");
    assert_eq!(codes(&v), ["plate_agreed", "plate_dissenting_read"]);
    assert!(v.reasons()[1].detail.contains("闽A99999"));
}

#[test]
fn plate_all_no_reads_is_no_read() {
    let cfg = ConsensusConfig::default();
    let v = agree(
        &[read_at(None, Some(0.0), 0), read_at(None, None, 10)],
        &[],
        &cfg,
    );
    assert!(matches!(v, Verdict::NoRead { .. }));
    assert_eq!(codes(&v), ["plate_unreadable"]);
    assert_eq!(v.led_text(), "车牌未识别");
    assert_eq!(v.plate(), None);

    let v = agree(&[], &[], &cfg);
    assert_eq!(codes(&v), ["plate_no_reads"]);
    assert_eq!(v.led_text(), "未收到车牌识别");
}

#[test]
fn plate_no_reads_do_not_count_against_a_read() {
    let cfg = ConsensusConfig::default();
    let v = agree(
        &[
            read_at(None, None, 0),
            read("闽G12345", 0.8),
            read("闽G12345", 0.8),
        ],
        &[],
        &cfg,
    );
    assert_eq!(agreed(&v).reads, 2);
}

#[test]
fn plate_invalid_formats_do_not_count_and_are_explained() {
    let cfg = ConsensusConfig::default();
    let v = agree(&[read("闽G1234", 0.99), read("ABC123", 0.99)], &[], &cfg);
    assert!(matches!(v, Verdict::NoRead { .. }));
    assert_eq!(
        codes(&v),
        [
            "plate_unreadable",
            "plate_invalid_format",
            "plate_invalid_format"
        ]
    );
    assert!(
        v.reasons()[1].detail.contains("7 (ordinary)"),
        "{:?}",
        v.reasons()
    );

    let v = agree(&[read("闽G12345", 0.95), read("闽G1234", 0.99)], &[], &cfg);
    assert_eq!(agreed(&v).basis, AgreementBasis::SingleHighConfidence);
}

#[test]
fn plate_reads_older_than_the_window_are_ignored() {
    let cfg = ConsensusConfig {
        window_ms: 5_000,
        ..ConsensusConfig::default()
    };
    let reads = [
        read_at(Some("闽A99999"), Some(0.9), 0),
        read_at(Some("闽A99999"), Some(0.9), 100),
        read_at(Some("闽G12345"), Some(0.7), 20_000),
        read_at(Some("闽G12345"), Some(0.7), 21_000),
    ];
    let v = agree(&reads, &[], &cfg);
    assert_eq!(agreed(&v).plate, "闽G12345");
    assert_eq!(codes(&v), ["plate_agreed", "plate_stale_reads_ignored"]);
}

#[test]
fn plate_open_plates_and_reads_are_compared_normalised() {
    let cfg = ConsensusConfig::default();
    let v = agree(
        &[read("闽G12845", 0.8), read("闽g·12845", 0.8)],
        &["闽G·12B45"],
        &cfg,
    );
    assert_eq!(agreed(&v).plate, "闽G12B45");
}

#[test]
fn plate_confusable_needs_same_length_and_class_matches() {
    assert!(confusable("闽G12845", "闽G12B45"));
    assert!(confusable("闽G0D0Q0", "闽GQ0D00"));
    assert!(confusable("闽G5Z1I0", "闽GS21IO"));
    assert!(
        !confusable("闽G12345", "闽G12345"),
        "identical is not a confusion"
    );
    assert!(!confusable("闽G12845", "闽G12B4"), "length");
    assert!(!confusable("闽G12845", "闽G12A45"), "8/A is not a class");
    assert!(!confusable("京G12845", "闽G12B45"), "province must match");
}

#[test]
fn plate_min_reads_config_is_honoured() {
    let cfg = ConsensusConfig {
        min_agreeing_reads: 3,
        single_read_confidence: 1.1,
        ..ConsensusConfig::default()
    };
    let two = [read("闽G12345", 0.99), read("闽G12345", 0.99)];
    assert!(matches!(
        agree(&two, &[], &cfg),
        Verdict::Unconfirmed { .. }
    ));
    let three = [
        read("闽G12345", 0.5),
        read("闽G12345", 0.5),
        read("闽G12345", 0.5),
    ];
    assert_eq!(agreed(&agree(&three, &[], &cfg)).reads, 3);
}

#[test]
fn plate_config_reads_from_json_with_defaults_and_rejects_unknown_fields() {
    let cfg: ConsensusConfig = serde_json::from_str(r#"{"min_agreeing_reads": 3}"#).unwrap();
    assert_eq!(cfg.min_agreeing_reads, 3);
    assert!((cfg.single_read_confidence - 0.9).abs() < f32::EPSILON);
    assert_eq!(cfg.window(), TimeDelta::seconds(10));
    assert!(serde_json::from_str::<ConsensusConfig>(r#"{"windw_ms": 1}"#).is_err());
}

#[test]
fn plate_verdict_serialises_with_codes_and_chinese() {
    let v = agree(&[], &[], &ConsensusConfig::default());
    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json["verdict"], "no_read");
    assert_eq!(json["reasons"][0]["code"], "plate_no_reads");
    assert_eq!(json["reasons"][0]["zh"], "未收到车牌识别");
}

#[test]
fn plate_config_validation_lists_every_problem() {
    assert!(ConsensusConfig::default().validate().is_empty());
    let bad = ConsensusConfig {
        min_agreeing_reads: 0,
        single_read_confidence: f32::NAN,
        window_ms: 0,
    };
    let problems = bad.validate();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("min_agreeing_reads"));
}

#[test]
fn plate_huge_window_keeps_every_read_without_overflow() {
    let cfg = ConsensusConfig {
        window_ms: u64::MAX,
        ..ConsensusConfig::default()
    };
    assert_eq!(cfg.window(), TimeDelta::MAX);
    let reads = [
        read_at(Some("闽G12345"), Some(0.5), 0),
        read_at(Some("闽G12345"), Some(0.5), 86_400_000),
    ];
    assert_eq!(agreed(&agree(&reads, &[], &cfg)).reads, 2);
}
