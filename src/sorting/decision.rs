//! The lane decision: a pure function of plain data, so it is fast, testable and explainable.
//!
//! Fail closed: a parcel goes to the release lane only when its waybill was read without
//! conflict, its declaration list is found and customs has released it (status 800).
//! Everything else goes to the exception lane, with every reason that applied.

use serde::Serialize;

use crate::manifest::STATUS_RELEASED;
use crate::store::manifests::ManifestFacts;

/// The kind of lane a parcel is sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneKind {
    /// Customs released it; it may leave.
    Release,
    /// Customs will open it.
    Inspection,
    /// Unknown, late, unmatched or unclear: people look at it.
    Exception,
}

impl LaneKind {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Release => "release",
            Self::Inspection => "inspection",
            Self::Exception => "exception",
        }
    }
}

/// What the scanners agreed on for one parcel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// One code (possibly read by several scanners).
    Code(String),
    /// Scanners saw the parcel but none could read it.
    NoRead,
    /// Scanners read different codes: a conflict, never a guess.
    Conflict(Vec<String>),
    /// No scanner reported anything for the parcel.
    Nothing,
}

impl Read {
    /// Name as stored in `parcels.read_status`.
    pub fn status(&self) -> &'static str {
        match self {
            Self::Code(_) => "read",
            Self::NoRead => "no_read",
            Self::Conflict(_) => "conflict",
            Self::Nothing => "none",
        }
    }

    /// The code, when there is exactly one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Code(code) => Some(code),
            _ => None,
        }
    }
}

/// Why a parcel got its lane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Found, released by customs, nothing against it.
    Released,
    /// No scanner reported anything for this parcel.
    NoScan,
    /// The label could not be read.
    NoRead,
    /// Scanners read different codes.
    ReadConflict,
    /// No declaration list for the waybill.
    ManifestNotFound,
    /// The declaration list's customs status is not 800.
    StatusNotReleased(i32),
}

impl Reason {
    /// Stable code as stored and sent: `status_not_released:300`.
    pub fn code(&self) -> String {
        match self {
            Self::Released => "released".into(),
            Self::NoScan => "no_scan".into(),
            Self::NoRead => "no_read".into(),
            Self::ReadConflict => "read_conflict".into(),
            Self::ManifestNotFound => "manifest_not_found".into(),
            Self::StatusNotReleased(status) => format!("status_not_released:{status}"),
        }
    }
}

/// A lane and every reason that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Where the parcel goes.
    pub lane: LaneKind,
    /// Why; never empty.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// Reason codes as a JSON array, as stored.
    pub fn reasons_json(&self) -> String {
        serde_json::to_string(&self.reasons.iter().map(Reason::code).collect::<Vec<_>>())
            .expect("strings serialize")
    }
}

/// Decide the lane for a parcel from what was read and what the store knows of it.
pub fn decide(read: &Read, manifest: Option<&ManifestFacts>) -> Decision {
    let exception = |reasons| Decision {
        lane: LaneKind::Exception,
        reasons,
    };
    match read {
        Read::Nothing => exception(vec![Reason::NoScan]),
        Read::NoRead => exception(vec![Reason::NoRead]),
        Read::Conflict(_) => exception(vec![Reason::ReadConflict]),
        Read::Code(_) => match manifest {
            None => exception(vec![Reason::ManifestNotFound]),
            Some(m) if m.return_status != STATUS_RELEASED => {
                exception(vec![Reason::StatusNotReleased(m.return_status)])
            }
            Some(_) => Decision {
                lane: LaneKind::Release,
                reasons: vec![Reason::Released],
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: i32) -> ManifestFacts {
        ManifestFacts {
            return_status: status,
            gross_weight_kg: Some(1.0),
        }
    }

    fn code() -> Read {
        Read::Code("SF1".into())
    }

    #[test]
    fn released_waybill_goes_to_release_lane() {
        assert_eq!(
            decide(&code(), Some(&facts(800))),
            Decision {
                lane: LaneKind::Release,
                reasons: vec![Reason::Released]
            }
        );
    }

    #[test]
    fn every_status_but_800_goes_to_exception_lane() {
        for status in [1, 2, 3, 4, 100, 120, 300, 399, 500, 700, 899] {
            let d = decide(&code(), Some(&facts(status)));
            assert_eq!(d.lane, LaneKind::Exception, "status {status}");
            assert_eq!(d.reasons, vec![Reason::StatusNotReleased(status)]);
        }
    }

    #[test]
    fn unknown_waybill_goes_to_exception_lane() {
        assert_eq!(
            decide(&code(), None).reasons,
            vec![Reason::ManifestNotFound]
        );
    }

    #[test]
    fn unread_or_conflicting_labels_never_release_even_with_a_released_manifest() {
        for read in [
            Read::Nothing,
            Read::NoRead,
            Read::Conflict(vec!["A".into(), "B".into()]),
        ] {
            assert_eq!(
                decide(&read, Some(&facts(800))).lane,
                LaneKind::Exception,
                "{read:?}"
            );
        }
    }

    #[test]
    fn reasons_are_stored_as_stable_codes() {
        let d = decide(&code(), Some(&facts(300)));
        assert_eq!(d.reasons_json(), r#"["status_not_released:300"]"#);
    }
}
