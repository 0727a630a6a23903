//! Plate consensus: one plate from several reads of one vehicle, or a clear refusal.
//!
//! [`agree`] is pure. Its rules, in order:
//!
//! 1. Reads older than [`ConsensusConfig::window_ms`] before the newest read are ignored.
//! 2. A read that is not an open plate (one with an open exit permit) but matches exactly
//!    one open plate position by position under the OCR confusion classes
//!    ([`CONFUSION_CLASSES`]) is taken as that plate, and the resolution recorded. If it
//!    matches several, it is left as read and the ambiguity noted.
//! 3. Only reads that are then valid plates ([`format::classify`]) count.
//! 4. A plate read by at least `min_agreeing_reads` reads that are also a strict majority
//!    of the valid reads is agreed. A single plate with no dissent whose best exact
//!    (unresolved) read reaches `single_read_confidence` is agreed too. A read that needed
//!    correction is never enough on its own confidence.
//! 5. Otherwise: one plate without enough support is unconfirmed, several without a
//!    majority conflict, and no valid read at all is a no-read.

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::event::PlateRead;
use super::format::{self, PlateKind};
use super::verdict::{Agreement, AgreementBasis, Candidate, Reason, ReasonCode, Verdict};

/// Characters plate OCR confuses with each other. `O` joins `0 D Q` because a read
/// with `O` (never valid after the province) is almost always a `0`.
pub const CONFUSION_CLASSES: [&str; 5] = ["0DQO", "8B", "2Z", "5S", "1I"];

/// How much agreement opens the way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusConfig {
    /// Reads of one plate needed to agree on it (also a strict majority of valid reads).
    pub min_agreeing_reads: usize,
    /// Confidence (0..=1) at which one exact read suffices when nothing disagrees.
    pub single_read_confidence: f32,
    /// Reads older than this, in milliseconds before the newest read, are ignored.
    pub window_ms: u64,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        Self {
            min_agreeing_reads: 2,
            single_read_confidence: 0.9,
            window_ms: 10_000,
        }
    }
}

impl ConsensusConfig {
    /// The window as a duration (saturating: a huge `window_ms` means "keep every read").
    pub fn window(&self) -> TimeDelta {
        i64::try_from(self.window_ms)
            .ok()
            .and_then(TimeDelta::try_milliseconds)
            .unwrap_or(TimeDelta::MAX)
    }

    /// Every problem with the settings, as `field: problem`; empty when usable.
    /// A `single_read_confidence` above 1 is allowed and turns the single-read rule off.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.min_agreeing_reads == 0 {
            problems.push("min_agreeing_reads: must be at least 1".to_owned());
        }
        if !self.single_read_confidence.is_finite() || self.single_read_confidence <= 0.0 {
            problems.push(format!(
                "single_read_confidence: {} must be above 0 (above 1 disables the rule)",
                self.single_read_confidence
            ));
        }
        if self.window_ms == 0 {
            problems.push("window_ms: must be at least 1".to_owned());
        }
        problems
    }
}

/// Whether `read` and `plate` differ only by OCR confusions: same length, and every
/// position equal or in one [`CONFUSION_CLASSES`] class, with at least one difference.
pub fn confusable(read: &str, plate: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (read.chars().collect(), plate.chars().collect());
    a.len() == b.len()
        && a != b
        && a.iter().zip(&b).all(|(&x, &y)| {
            x == y
                || CONFUSION_CLASSES
                    .iter()
                    .any(|class| class.contains(x) && class.contains(y))
        })
}

/// Agrees a plate from `reads` against the plates that have open permits.
pub fn agree(reads: &[PlateRead], open_plates: &[&str], cfg: &ConsensusConfig) -> Verdict {
    let Some(newest) = reads.iter().map(|r| r.at).max() else {
        return no_read(
            Reason::new(ReasonCode::PlateNoReads, "no plate read arrived"),
            Vec::new(),
        );
    };
    // A window reaching before the start of time keeps every read.
    let cutoff = newest
        .checked_sub_signed(cfg.window())
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut notes = Vec::new();
    let stale = reads.iter().filter(|r| r.at < cutoff).count();
    if stale > 0 {
        notes.push(Reason::new(
            ReasonCode::PlateStaleReadsIgnored,
            format!(
                "{stale} read(s) more than {} ms before the newest ignored",
                cfg.window_ms
            ),
        ));
    }
    let mut open: Vec<String> = open_plates.iter().map(|p| format::normalize(p)).collect();
    open.sort();
    open.dedup();

    let mut tally = Tally::default();
    for read in reads.iter().filter(|r| r.at >= cutoff) {
        tally.add(read, &open, &mut notes);
    }
    decide(tally, cfg, notes)
}

/// The valid plates read so far, and how many reads gave nothing usable.
#[derive(Default)]
struct Tally {
    groups: Vec<Group>,
    no_reads: usize,
    invalid: usize,
}

struct Group {
    plate: String,
    kind: PlateKind,
    reads: usize,
    best_confidence: Option<f32>,
    best_exact_confidence: Option<f32>,
    resolved: Option<(String, String)>,
}

impl Tally {
    fn add(&mut self, read: &PlateRead, open: &[String], notes: &mut Vec<Reason>) {
        let text = read
            .plate
            .as_deref()
            .map(format::normalize)
            .unwrap_or_default();
        if text.is_empty() {
            self.no_reads += 1;
            return;
        }
        let (plate, resolved) = resolve(&text, open, &read.camera, notes);
        let kind = match format::classify(&plate) {
            Ok(kind) => kind,
            Err(e) => {
                self.invalid += 1;
                notes.push(Reason::new(
                    ReasonCode::PlateInvalidFormat,
                    format!("camera {} read {plate}: {e}", read.camera),
                ));
                return;
            }
        };
        let index = self.groups.iter().position(|g| g.plate == plate);
        let group = if let Some(i) = index {
            &mut self.groups[i]
        } else {
            self.groups.push(Group {
                plate,
                kind,
                reads: 0,
                best_confidence: None,
                best_exact_confidence: None,
                resolved: None,
            });
            self.groups.last_mut().expect("just pushed")
        };
        group.reads += 1;
        group.best_confidence = max_conf(group.best_confidence, read.confidence);
        if resolved.is_none() {
            group.best_exact_confidence = max_conf(group.best_exact_confidence, read.confidence);
        }
        if group.resolved.is_none() {
            group.resolved = resolved;
        }
    }
}

/// The plate a read stands for, and `(read, open plate)` when a confusion was resolved.
fn resolve(
    text: &str,
    open: &[String],
    camera: &str,
    notes: &mut Vec<Reason>,
) -> (String, Option<(String, String)>) {
    if open.iter().any(|p| p == text) {
        return (text.to_owned(), None);
    }
    let matches: Vec<&String> = open.iter().filter(|p| confusable(text, p)).collect();
    match matches.as_slice() {
        [] => (text.to_owned(), None),
        [one] => {
            notes.push(Reason::new(
                ReasonCode::PlateConfusionResolved,
                format!("camera {camera} read {text}, taken as open plate {one}"),
            ));
            ((*one).clone(), Some((text.to_owned(), (*one).clone())))
        }
        several => {
            let list: Vec<&str> = several.iter().map(|p| p.as_str()).collect();
            notes.push(Reason::new(
                ReasonCode::PlateConfusionAmbiguous,
                format!(
                    "camera {camera} read {text}, which could be any of the open plates {}; not resolved",
                    list.join(", ")
                ),
            ));
            (text.to_owned(), None)
        }
    }
}

fn decide(tally: Tally, cfg: &ConsensusConfig, mut notes: Vec<Reason>) -> Verdict {
    let Tally {
        mut groups,
        no_reads,
        invalid,
    } = tally;
    if groups.is_empty() {
        let detail = format!("no valid plate: {no_reads} no-read(s), {invalid} invalid read(s)");
        return no_read(Reason::new(ReasonCode::PlateUnreadable, detail), notes);
    }
    groups.sort_by(|a, b| {
        b.reads
            .cmp(&a.reads)
            .then(
                b.best_confidence
                    .unwrap_or(-1.0)
                    .total_cmp(&a.best_confidence.unwrap_or(-1.0)),
            )
            .then_with(|| a.plate.cmp(&b.plate))
    });
    let total: usize = groups.iter().map(|g| g.reads).sum();
    let top = &groups[0];
    let majority = top.reads * 2 > total;
    let basis = if majority && top.reads >= cfg.min_agreeing_reads.max(1) {
        Some((
            AgreementBasis::Reads,
            Reason::new(
                ReasonCode::PlateAgreed,
                format!("{} of {total} valid read(s) give {}", top.reads, top.plate),
            ),
        ))
    } else if groups.len() == 1
        && top
            .best_exact_confidence
            .is_some_and(|c| c >= cfg.single_read_confidence)
    {
        Some((
            AgreementBasis::SingleHighConfidence,
            Reason::new(
                ReasonCode::PlateHighConfidence,
                format!(
                    "{} read at confidence {:.2} (threshold {:.2})",
                    top.plate,
                    top.best_exact_confidence.unwrap_or_default(),
                    cfg.single_read_confidence
                ),
            ),
        ))
    } else {
        None
    };
    if let Some((basis, headline)) = basis {
        for other in &groups[1..] {
            notes.push(Reason::new(
                ReasonCode::PlateDissentingRead,
                format!("{} read(s) gave {} instead", other.reads, other.plate),
            ));
        }
        let top = groups.swap_remove(0);
        return Verdict::Agreed(Agreement {
            plate: top.plate,
            kind: top.kind,
            basis,
            reads: top.reads,
            best_confidence: top.best_confidence,
            resolved_confusion: top.resolved,
            reasons: with_headline(headline, notes),
        });
    }
    let candidates: Vec<Candidate> = groups
        .into_iter()
        .map(|g| Candidate {
            plate: g.plate,
            kind: g.kind,
            reads: g.reads,
            best_confidence: g.best_confidence,
        })
        .collect();
    if majority {
        let c = &candidates[0];
        let headline = Reason::new(
            ReasonCode::PlateUnconfirmed,
            format!(
                "{} from {} read(s); {} needed, or one read at confidence {:.2}",
                c.plate, c.reads, cfg.min_agreeing_reads, cfg.single_read_confidence
            ),
        );
        let candidate = candidates
            .into_iter()
            .next()
            .expect("majority implies a candidate");
        return Verdict::Unconfirmed {
            candidate,
            reasons: with_headline(headline, notes),
        };
    }
    let listed: Vec<String> = candidates
        .iter()
        .map(|c| format!("{} ×{}", c.plate, c.reads))
        .collect();
    let headline = Reason::new(
        ReasonCode::PlateConflict,
        format!("reads disagree without a majority: {}", listed.join(", ")),
    );
    Verdict::Conflict {
        candidates,
        reasons: with_headline(headline, notes),
    }
}

fn no_read(headline: Reason, notes: Vec<Reason>) -> Verdict {
    Verdict::NoRead {
        reasons: with_headline(headline, notes),
    }
}

fn with_headline(headline: Reason, notes: Vec<Reason>) -> Vec<Reason> {
    let mut reasons = Vec::with_capacity(notes.len() + 1);
    reasons.push(headline);
    reasons.extend(notes);
    reasons
}

fn max_conf(a: Option<f32>, b: Option<f32>) -> Option<f32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    }
}

#[cfg(test)]
#[path = "consensus_tests.rs"]
mod tests;
