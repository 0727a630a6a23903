use super::*;

#[test]
fn plate_normalize_strips_separators_and_widths() {
    assert_eq!(normalize(" 闽g·12345 "), "闽G12345");
    assert_eq!(normalize("闽Ｇ－１２３４５"), "闽G12345", "full-width");
    assert_eq!(normalize("闽G\u{3000}123-45"), "闽G12345");
    assert_eq!(normalize("闽G.ab123"), "闽GAB123");
    assert_eq!(normalize(""), "");
}

#[test]
fn plate_normalize_drops_a_colour_prefix_only_before_a_province() {
    assert_eq!(normalize("蓝闽G12345"), "闽G12345");
    assert_eq!(normalize("黄绿闽G12345D"), "闽G12345D");
    assert_eq!(normalize("黑闽GD12345"), "闽GD12345");
    // 黑 is also Heilongjiang: a Heilongjiang plate keeps it.
    assert_eq!(normalize("黑A12345"), "黑A12345");
    assert_eq!(normalize("黑黑A12345"), "黑A12345");
}

#[test]
fn plate_ordinary_seven_characters_validate() {
    for plate in ["闽G12345", "京AF0236", "粤B9Z8Y7", "新A00001", "琼E12AB3"] {
        assert_eq!(classify(plate), Ok(PlateKind::Ordinary), "{plate}");
    }
    for p in PROVINCES.chars() {
        assert!(is_valid(&format!("{p}A12345")), "{p}");
    }
    assert_eq!(PROVINCES.chars().count(), 31);
}

#[test]
fn plate_special_endings_validate_as_special() {
    for suffix in SPECIAL_SUFFIXES.chars() {
        let plate = format!("闽G1234{suffix}");
        assert_eq!(classify(&plate), Ok(PlateKind::Special), "{plate}");
    }
    assert_eq!(classify("粤Z1A23港"), Ok(PlateKind::Special));
}

#[test]
fn plate_new_energy_small_and_large_validate() {
    for plate in [
        "闽GD12345",
        "闽GFA1234",
        "京AA12345",
        "沪KK00001",
        "闽GEX0001",
    ] {
        assert_eq!(classify(plate), Ok(PlateKind::NewEnergySmall), "{plate}");
    }
    for plate in ["闽G12345D", "闽G00001F", "粤B12345K"] {
        assert_eq!(classify(plate), Ok(PlateKind::NewEnergyLarge), "{plate}");
    }
}

#[test]
fn plate_letters_i_and_o_never_validate() {
    assert_eq!(
        classify("闽GI2345"),
        Err(FormatError::BadChar {
            position: 3,
            found: 'I',
            expected: ALNUM
        })
    );
    assert!(!is_valid("闽O12345"), "authority letter O");
    assert!(!is_valid("闽G1234O"));
    assert!(!is_valid("闽GDI2345"), "new-energy position 4");
}

#[test]
fn plate_new_energy_rules_name_the_failing_position() {
    // Small: letter not in D A B C E F G H J K at position 3.
    assert!(matches!(
        classify("闽GL12345"),
        Err(FormatError::BadChar {
            position: 3,
            found: 'L',
            ..
        })
    ));
    // Small: positions 5–8 must be digits.
    assert!(matches!(
        classify("闽GD1234A"),
        Err(FormatError::BadChar {
            position: 8,
            found: 'A',
            ..
        })
    ));
    // Large: 5 digits then the letter.
    assert!(matches!(
        classify("闽G1234AD"),
        Err(FormatError::BadChar {
            position: 7,
            found: 'A',
            ..
        })
    ));
    assert!(matches!(
        classify("闽G123456"),
        Err(FormatError::BadChar {
            position: 8,
            found: '6',
            ..
        })
    ));
}

#[test]
fn plate_wrong_shapes_are_rejected_with_a_reason() {
    assert_eq!(classify(""), Err(FormatError::Empty));
    assert_eq!(classify("闽G1234"), Err(FormatError::WrongLength(6)));
    assert_eq!(classify("闽G1234567"), Err(FormatError::WrongLength(9)));
    assert_eq!(classify("AB12345"), Err(FormatError::NotAProvince('A')));
    assert_eq!(classify("使123456"), Err(FormatError::NotAProvince('使')));
    assert!(!is_valid("闽g12345"), "classify expects normalised text");
    assert!(!is_valid("闽G1234学8"));
    assert!(!is_valid("闽G12¥45"));
    let message = classify("闽GL12345").unwrap_err().to_string();
    assert!(message.contains("position 3"), "{message}");
}
