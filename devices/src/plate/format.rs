//! Chinese licence-plate formats (GA 36): normalisation and validation.
//!
//! - **Ordinary** (7): province abbreviation + issuing-authority letter + 5 letters or
//!   digits, e.g. `闽G12345`.
//! - **Special** (7): as ordinary but 4 letters or digits and a last character 学 (driving
//!   school), 警 (police), 港/澳 (Hong Kong/Macao), 挂 (trailer), 领 (consulate), 试 (test),
//!   超 (oversize), e.g. `闽G1234挂`.
//! - **New-energy small** (8): province + letter + D/A/B/C/E (pure electric) or
//!   F/G/H/J/K (other new-energy) + a letter or digit + 4 digits, e.g. `闽GD12345`.
//! - **New-energy large** (8): province + letter + 5 digits + one of those letters,
//!   e.g. `闽G12345D`.
//!
//! Letters I and O are never used after the province, so a read containing them is a
//! misread (of 1 and 0). Embassy (使), military and armed-police plates are out of scope
//! and do not validate.

use serde::{Deserialize, Serialize};

/// The 31 province-level abbreviations that start a civil plate.
pub const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

/// Last characters that make a 7-character plate [`PlateKind::Special`].
pub const SPECIAL_SUFFIXES: &str = "学警港澳挂领试超";

/// Letters that mark a new-energy plate's energy type: D A B C E pure electric,
/// F G H J K other new-energy (plug-in hybrid, fuel cell).
pub const NEW_ENERGY_LETTERS: &str = "DABCEFGHJK";

/// Colour names some cameras put before the plate (`蓝闽G12345`), longest first.
const COLOR_PREFIXES: [&str; 7] = ["渐变绿", "黄绿", "蓝", "黄", "绿", "白", "黑"];

/// Which format a valid plate has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlateKind {
    /// 7 characters, 5 letters or digits after the authority letter.
    Ordinary,
    /// 8 characters, new-energy letter first in the serial.
    NewEnergySmall,
    /// 8 characters, 5 digits then the new-energy letter.
    NewEnergyLarge,
    /// 7 characters ending in one of [`SPECIAL_SUFFIXES`].
    Special,
}

/// Why a plate does not validate. Positions are 1-based characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// No characters at all.
    #[error("empty plate")]
    Empty,
    /// Neither 7 nor 8 characters.
    #[error("{0} characters; plates have 7 (ordinary) or 8 (new-energy)")]
    WrongLength(usize),
    /// The first character is not a province abbreviation.
    #[error("position 1: `{0}` is not a province abbreviation")]
    NotAProvince(char),
    /// A character is not allowed where it stands.
    #[error("position {position}: `{found}` is not {expected}")]
    BadChar {
        /// 1-based position.
        position: usize,
        /// The character found.
        found: char,
        /// What is allowed there, in words.
        expected: &'static str,
    },
}

/// Normalises camera or permit text to the plain form: full-width to half-width,
/// ASCII uppercase, spaces and separators (`·` `•` `-` `.` `_`) removed, and a leading
/// colour name (`蓝闽G12345`) dropped when a province abbreviation follows it.
pub fn normalize(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c.is_whitespace() || matches!(c, '·' | '•' | '・' | '‧' | '∙' | '-' | '.' | '_')
        {
            continue;
        }
        out.push(c.to_ascii_uppercase());
    }
    for prefix in COLOR_PREFIXES {
        if let Some(rest) = out.strip_prefix(prefix)
            && rest.chars().next().is_some_and(is_province)
            && matches!(rest.chars().count(), 7 | 8)
        {
            return rest.to_owned();
        }
    }
    out
}

/// Whether `c` is one of the [`PROVINCES`].
pub fn is_province(c: char) -> bool {
    PROVINCES.contains(c)
}

/// Validates a normalised plate and says which format it has.
pub fn classify(plate: &str) -> Result<PlateKind, FormatError> {
    let chars: Vec<char> = plate.chars().collect();
    let (&province, rest) = chars.split_first().ok_or(FormatError::Empty)?;
    if !matches!(chars.len(), 7 | 8) {
        return Err(FormatError::WrongLength(chars.len()));
    }
    if !is_province(province) {
        return Err(FormatError::NotAProvince(province));
    }
    expect(2, rest[0], is_letter, "a letter other than I and O")?;
    let serial = &rest[1..];
    if chars.len() == 8 {
        return classify_new_energy(serial);
    }
    for (i, &c) in serial[..4].iter().enumerate() {
        expect(3 + i, c, is_alnum, ALNUM)?;
    }
    let last = serial[4];
    if SPECIAL_SUFFIXES.contains(last) {
        return Ok(PlateKind::Special);
    }
    expect(
        7,
        last,
        is_alnum,
        "a letter or digit (not I, O) or 学警港澳挂领试超",
    )?;
    Ok(PlateKind::Ordinary)
}

/// Whether a normalised plate validates.
pub fn is_valid(plate: &str) -> bool {
    classify(plate).is_ok()
}

const ALNUM: &str = "a letter or digit other than I and O";
const NE_LETTER: &str = "a new-energy letter (D A B C E F G H J K)";

/// The 6-character serial of an 8-character plate. A digit in position 3 means the
/// large-vehicle layout, anything else the small one, so the error names the right rule.
fn classify_new_energy(serial: &[char]) -> Result<PlateKind, FormatError> {
    if serial[0].is_ascii_digit() {
        for (i, &c) in serial[..5].iter().enumerate() {
            expect(
                3 + i,
                c,
                |c| c.is_ascii_digit(),
                "a digit (large new-energy plate)",
            )?;
        }
        expect(8, serial[5], is_new_energy_letter, NE_LETTER)?;
        return Ok(PlateKind::NewEnergyLarge);
    }
    expect(3, serial[0], is_new_energy_letter, NE_LETTER)?;
    expect(4, serial[1], is_alnum, ALNUM)?;
    for (i, &c) in serial[2..].iter().enumerate() {
        expect(
            5 + i,
            c,
            |c| c.is_ascii_digit(),
            "a digit (small new-energy plate)",
        )?;
    }
    Ok(PlateKind::NewEnergySmall)
}

fn expect(
    position: usize,
    found: char,
    ok: impl Fn(char) -> bool,
    expected: &'static str,
) -> Result<(), FormatError> {
    if ok(found) {
        Ok(())
    } else {
        Err(FormatError::BadChar {
            position,
            found,
            expected,
        })
    }
}

fn is_letter(c: char) -> bool {
    c.is_ascii_uppercase() && c != 'I' && c != 'O'
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_digit() || is_letter(c)
}

fn is_new_energy_letter(c: char) -> bool {
    NEW_ENERGY_LETTERS.contains(c)
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
