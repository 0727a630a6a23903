//! What the plate consensus concludes, and why, in words for the record and the LED.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::format::PlateKind;

/// The outcome of [`agree`](super::agree) over one vehicle's reads. Every variant
/// carries its reasons, headline first.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The reads agree on one valid plate.
    Agreed(Agreement),
    /// One valid plate so far, but not enough to act on: wait for more reads.
    Unconfirmed {
        /// The plate read so far.
        candidate: Candidate,
        /// Why, headline first.
        reasons: Vec<Reason>,
    },
    /// Valid reads disagree and none has a majority.
    Conflict {
        /// Every plate read, most reads first.
        candidates: Vec<Candidate>,
        /// Why, headline first.
        reasons: Vec<Reason>,
    },
    /// No read gave a valid plate (no reads, only no-reads, or only invalid text).
    NoRead {
        /// Why, headline first.
        reasons: Vec<Reason>,
    },
}

impl Verdict {
    /// The agreed plate, if any.
    pub fn plate(&self) -> Option<&str> {
        match self {
            Self::Agreed(a) => Some(&a.plate),
            _ => None,
        }
    }

    /// Every reason, headline first.
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Self::Agreed(a) => &a.reasons,
            Self::Unconfirmed { reasons, .. }
            | Self::Conflict { reasons, .. }
            | Self::NoRead { reasons } => reasons,
        }
    }

    /// The headline reason's Chinese phrase, for the LED.
    pub fn led_text(&self) -> &'static str {
        self.reasons()
            .first()
            .map_or(ReasonCode::PlateUnreadable.zh(), |r| r.code.zh())
    }
}

/// A plate the reads agree on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// The plate, normalised; an open plate when a confusion was resolved.
    pub plate: String,
    /// Its format.
    pub kind: PlateKind,
    /// Which rule agreed it.
    pub basis: AgreementBasis,
    /// How many in-window reads support it.
    pub reads: usize,
    /// The highest confidence among them, 0..=1.
    pub best_confidence: Option<f32>,
    /// `(read, resolved)` when a supporting read was taken as an open plate under the
    /// OCR confusion classes (the first such read; the reasons list all).
    pub resolved_confusion: Option<(String, String)>,
    /// Why, headline first.
    pub reasons: Vec<Reason>,
}

/// Which rule produced an [`Agreement`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementBasis {
    /// At least `min_agreeing_reads` reads, and a strict majority of the valid ones.
    Reads,
    /// A single valid plate, read exactly (not by confusion resolution) at or above
    /// `single_read_confidence`, with no dissenting read.
    SingleHighConfidence,
}

/// One plate the reads produced, with its support.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The plate, normalised (after confusion resolution).
    pub plate: String,
    /// Its format.
    pub kind: PlateKind,
    /// How many in-window reads gave it.
    pub reads: usize,
    /// The highest confidence among them, 0..=1.
    pub best_confidence: Option<f32>,
}

/// One reason behind a verdict: a stable code and a detail in English. Serialises as
/// `{"code": "plate_conflict", "zh": "车牌识别冲突", "detail": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// What happened.
    pub code: ReasonCode,
    /// The specifics: which reads, plates, cameras.
    pub detail: String,
}

impl Reason {
    /// A reason with its detail.
    pub fn new(code: ReasonCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Reason", 3)?;
        s.serialize_field("code", self.code.as_str())?;
        s.serialize_field("zh", self.code.zh())?;
        s.serialize_field("detail", &self.detail)?;
        s.end()
    }
}

/// The reasons plate consensus can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Enough reads agree.
    PlateAgreed,
    /// One read, confident enough on its own.
    PlateHighConfidence,
    /// One valid plate so far, not enough reads or confidence yet.
    PlateUnconfirmed,
    /// Valid reads disagree without a majority.
    PlateConflict,
    /// The camera read no plate, or nothing it read was a valid plate.
    PlateUnreadable,
    /// No read arrived at all.
    PlateNoReads,
    /// A read's text is not a valid plate format.
    PlateInvalidFormat,
    /// A read was taken as an open plate under the OCR confusion classes.
    PlateConfusionResolved,
    /// A read matches several open plates under the confusion classes: not resolved.
    PlateConfusionAmbiguous,
    /// A minority of valid reads disagree with the agreed plate.
    PlateDissentingRead,
    /// Reads older than the window were ignored.
    PlateStaleReadsIgnored,
}

impl ReasonCode {
    /// The stable English code, as stored and sent uplink.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlateAgreed => "plate_agreed",
            Self::PlateHighConfidence => "plate_high_confidence",
            Self::PlateUnconfirmed => "plate_unconfirmed",
            Self::PlateConflict => "plate_conflict",
            Self::PlateUnreadable => "plate_unreadable",
            Self::PlateNoReads => "plate_no_reads",
            Self::PlateInvalidFormat => "plate_invalid_format",
            Self::PlateConfusionResolved => "plate_confusion_resolved",
            Self::PlateConfusionAmbiguous => "plate_confusion_ambiguous",
            Self::PlateDissentingRead => "plate_dissenting_read",
            Self::PlateStaleReadsIgnored => "plate_stale_reads_ignored",
        }
    }

    /// A short Chinese phrase for the LED and the consoles.
    pub fn zh(self) -> &'static str {
        match self {
            Self::PlateAgreed => "车牌识别一致",
            Self::PlateHighConfidence => "车牌高置信识别",
            Self::PlateUnconfirmed => "车牌待确认",
            Self::PlateConflict => "车牌识别冲突",
            Self::PlateUnreadable => "车牌未识别",
            Self::PlateNoReads => "未收到车牌识别",
            Self::PlateInvalidFormat => "车牌格式无效",
            Self::PlateConfusionResolved => "易混字符已校正",
            Self::PlateConfusionAmbiguous => "易混字符无法确定",
            Self::PlateDissentingRead => "存在不一致识别",
            Self::PlateStaleReadsIgnored => "过期识别已忽略",
        }
    }
}
