//! The generator's code list: `code [expect [weight_kg]]` per line.
//!
//! ```text
//! # waybill       lane kind the controller should choose   true weight (kg)
//! SF1000000001    release                                  1.20
//! SF1000000002    inspection
//! YT2000000003
//! ```
//!
//! Blank lines and lines starting with `#` are skipped. Without `expect` the parcel is
//! not judged; without a weight it gets a random one.

use std::str::FromStr;

use crate::parcel::{LaneKind, NewParcel};

/// One code the generator may put on a label.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeSpec {
    /// The text printed on the label.
    pub code: String,
    /// The lane kind the controller should choose for it.
    pub expect: Option<LaneKind>,
    /// Its true weight in kg.
    pub weight_kg: Option<f64>,
}

impl From<String> for CodeSpec {
    fn from(code: String) -> Self {
        Self {
            code,
            expect: None,
            weight_kg: None,
        }
    }
}

impl From<&str> for CodeSpec {
    fn from(code: &str) -> Self {
        Self::from(code.to_owned())
    }
}

impl FromStr for CodeSpec {
    type Err = String;

    /// One line of the list (already known not to be blank or a comment).
    fn from_str(line: &str) -> Result<Self, Self::Err> {
        let mut words = line.split_whitespace();
        let code = words.next().ok_or("no code")?.to_owned();
        let expect = words.next().map(str::parse::<LaneKind>).transpose()?;
        let weight_kg = words
            .next()
            .map(|w| {
                w.parse::<f64>()
                    .map_err(|_| format!("weight {w:?} is not a number of kg"))
            })
            .transpose()?;
        if let Some(extra) = words.next() {
            return Err(format!(
                "unexpected {extra:?}; a line is `code [expect [weight_kg]]`"
            ));
        }
        Ok(Self {
            code,
            expect,
            weight_kg,
        })
    }
}

impl CodeSpec {
    /// A parcel with this code, its expectation, and its weight or `weight_kg`.
    pub fn parcel(&self, length_mm: u16, weight_kg: f64) -> NewParcel {
        NewParcel {
            code: Some(self.code.clone()),
            length_mm,
            weight_kg: self.weight_kg.unwrap_or(weight_kg),
            expect: self.expect,
            ..NewParcel::default()
        }
    }
}

/// Parse a code list; errors name the line.
pub fn parse_codes(text: &str) -> Result<Vec<CodeSpec>, String> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(n, l)| l.parse().map_err(|e| format!("line {n}: {e}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_lists_carry_optional_expectations_and_weights() {
        let codes = parse_codes("# list\n\nA1\nB2  release\nC3 inspection 2.5\n").unwrap();
        assert_eq!(codes.len(), 3);
        assert_eq!(codes[0], CodeSpec::from("A1"));
        assert_eq!(codes[1].expect, Some(LaneKind::Release));
        assert_eq!(
            (codes[2].expect, codes[2].weight_kg),
            (Some(LaneKind::Inspection), Some(2.5))
        );
        let err = parse_codes("A1\nB2 maybe\n").unwrap_err();
        assert!(err.starts_with("line 2:") && err.contains("maybe"), "{err}");
        assert!(parse_codes("A1 release 1 extra").is_err());
    }
}
