//! The verdict for the truck on the loop, as a conversation with the store: agree its
//! reads against the plates misreads may resolve to (asked again when a read or a truck
//! comes, else at most every [`PLATES_FRESH`]), ask for the plate's permits or announced
//! arrivals once the reads agree and the weight has settled (or their time is up), record
//! the pass, and only once it is committed say what the barrier does. An operator's
//! override takes the same road.
//!
//! One decision is in progress at a time; each request carries a [`RequestId`] and an
//! answer to anything else is ignored.

use std::time::{Duration, Instant};

use customs_edge_devices::plate::{Verdict, agree};
use tracing::warn;

use super::job::{Job, Purpose};
use super::messages::{Action, Facts, RequestId};
use super::outcome::{self, Outcome};
use super::reads::{Truck, TruckReads};
use crate::gates::LaneSettings;
use crate::gates::load::{self, Load};
use crate::gates::verdict::Weight;
use crate::gates::view::LoadCheckView;

/// How long the plates misreads resolve to are used before they are asked again.
pub(super) const PLATES_FRESH: Duration = Duration::from_secs(1);

/// A pass committed for the truck on the loop: what the barrier does now.
#[derive(Debug)]
pub(super) struct Committed {
    pub(super) pass_id: i64,
    /// Released or overridden: open. Refused: hold.
    pub(super) opens: bool,
    pub(super) led_text: String,
    /// The override it answers.
    pub(super) ticket: Option<u64>,
}

/// The decision's state.
#[derive(Debug, Default)]
pub(super) struct Decider {
    job: Option<Job>,
    /// The load check of the truck on the loop, for the lane's view; cleared when the
    /// next truck comes.
    pub(super) load_check: Option<LoadCheckView>,
    plates: Vec<String>,
    fetched: Option<Instant>,
    next_id: u64,
}

impl Decider {
    /// Whether a decision waits for the store.
    pub(super) fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// A read or a truck came: ask for the plates again before the next consensus.
    pub(super) fn invalidate_plates(&mut self) {
        self.fetched = None;
    }

    fn request(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    /// Ask for the plates if the ones at hand are stale; `true` when asked.
    fn fetch_plates(&mut self, now: Instant, purpose: Purpose, out: &mut Vec<Action>) -> bool {
        let fresh = self
            .fetched
            .is_some_and(|t| now.saturating_duration_since(t) < PLATES_FRESH);
        if fresh {
            return false;
        }
        let id = self.request();
        self.job = Some(Job::Plates { id, purpose });
        out.push(Action::FetchPlates { id });
        true
    }

    fn agree(&self, s: &LaneSettings, reads: &TruckReads) -> Verdict {
        let open: Vec<&str> = self.plates.iter().map(String::as_str).collect();
        agree(&reads.reads, &open, &s.config.consensus)
    }

    /// With a truck on the loop: decide when the reads agree and the weight is in, or when
    /// the time for either is up. `fetch`: the plates may be asked for first.
    pub(super) fn evaluate(
        &mut self,
        s: &LaneSettings,
        truck: Truck,
        now: Instant,
        fetch: bool,
        out: &mut Vec<Action>,
    ) {
        if self.busy() || (fetch && self.fetch_plates(now, Purpose::Verdict, out)) {
            return;
        }
        let consensus = self.agree(s, &truck.reads);
        let waited = now.saturating_duration_since(truck.since);
        match &consensus {
            Verdict::Agreed(agreement) => {
                let settled = matches!(truck.weight, Weight::Stable(_));
                if s.is_exit() && s.has_weighbridge() && !settled && waited < s.weight_wait() {
                    return;
                }
                let plate = agreement.plate.clone();
                self.ask_rules(Purpose::Verdict, plate, consensus, truck.reads, out);
            }
            _ if waited < s.plate_wait() => {}
            _ => {
                let outcome = outcome::undecided(s, &consensus, truck.weight);
                self.record(outcome, &consensus, truck.reads, None, out);
            }
        }
    }

    /// An operator opens the barrier for `truck`.
    pub(super) fn override_open(
        &mut self,
        s: &LaneSettings,
        truck: Truck,
        (ticket, actor, reason): (u64, String, String),
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        if self.busy() {
            let result = Err(format!(
                "gate {}: a verdict is being recorded; try again",
                s.config.id
            ));
            out.push(Action::Reply { ticket, result });
            return;
        }
        let purpose = Purpose::Override {
            ticket,
            actor,
            reason,
        };
        if !self.fetch_plates(now, purpose.clone(), out) {
            self.resume(purpose, s, truck, now, out);
        }
    }

    /// The plates came: `Some` when a decision goes on with them.
    pub(super) fn on_plates(
        &mut self,
        id: RequestId,
        plates: Result<Vec<String>, String>,
        now: Instant,
        gate: &str,
    ) -> Option<Purpose> {
        let Some(Job::Plates { purpose, .. }) = self.take_job(id) else {
            return None;
        };
        match plates {
            Ok(plates) => (self.plates, self.fetched) = (plates, Some(now)),
            Err(e) => {
                warn!(gate, error = %e, "could not read the plates to resolve misreads against");
            }
        }
        Some(purpose)
    }

    /// Go on with `truck` after the plates came.
    pub(super) fn resume(
        &mut self,
        purpose: Purpose,
        s: &LaneSettings,
        truck: Truck,
        now: Instant,
        out: &mut Vec<Action>,
    ) {
        let Purpose::Override {
            ticket,
            actor,
            reason,
        } = purpose
        else {
            return self.evaluate(s, truck, now, false, out);
        };
        let consensus = self.agree(s, &truck.reads);
        let Some(plate) = outcome::plate_read(&consensus) else {
            let outcome = outcome::overridden(s, &consensus, truck.weight, (actor, reason), None);
            return self.record(outcome, &consensus, truck.reads, Some(ticket), out);
        };
        let purpose = Purpose::Override {
            ticket,
            actor,
            reason,
        };
        self.ask_rules(purpose, plate, consensus, truck.reads, out);
    }

    fn ask_rules(
        &mut self,
        purpose: Purpose,
        plate: String,
        consensus: Verdict,
        truck: TruckReads,
        out: &mut Vec<Action>,
    ) {
        let id = self.request();
        out.push(Action::FetchRules {
            id,
            plate: plate.clone(),
        });
        self.job = Some(Job::Rules {
            id,
            purpose,
            plate,
            consensus,
            truck,
        });
    }

    /// The plate's permits or arrivals came: the verdict, recorded.
    pub(super) fn on_rules(
        &mut self,
        id: RequestId,
        facts: Result<Facts, String>,
        s: &LaneSettings,
        weight: Weight,
        out: &mut Vec<Action>,
    ) {
        let Some(Job::Rules {
            purpose,
            plate,
            consensus,
            truck,
            ..
        }) = self.take_job(id)
        else {
            return;
        };
        let rules = outcome::rules(s, &plate, weight, facts);
        if matches!(
            (&purpose, &consensus),
            (Purpose::Verdict, Verdict::Agreed(_))
        ) && s.is_exit()
            && rules.0.open
        {
            // The permit and the weight let the truck go: now what it carries.
            let id = self.request();
            out.push(Action::FetchLoad {
                id,
                permit_no: rules.0.permit_no.clone().unwrap_or_default(),
            });
            self.job = Some(Job::Load {
                id,
                consensus,
                truck,
                verdict: rules.0,
                weight,
            });
            return;
        }
        let (outcome, ticket) = match (purpose, &consensus) {
            (Purpose::Verdict, Verdict::Agreed(agreement)) => {
                (outcome::decided(s, agreement, weight, rules), None)
            }
            // Rules are asked for an agreed plate only.
            (Purpose::Verdict, _) => return,
            (
                Purpose::Override {
                    ticket,
                    actor,
                    reason,
                },
                _,
            ) => (
                outcome::overridden(s, &consensus, weight, (actor, reason), Some(rules)),
                Some(ticket),
            ),
        };
        self.record(outcome, &consensus, truck, ticket, out);
    }

    /// What the permit names came: the load check, then the pass. A store that could not
    /// answer holds the truck (fail closed).
    pub(super) fn on_load(
        &mut self,
        id: RequestId,
        load: Result<Box<Load>, String>,
        s: &LaneSettings,
        out: &mut Vec<Action>,
    ) {
        let Some(Job::Load {
            consensus,
            truck,
            verdict,
            weight,
            ..
        }) = self.take_job(id)
        else {
            return;
        };
        let Verdict::Agreed(agreement) = &consensus else {
            return;
        };
        let permit_no = verdict.permit_no.clone().unwrap_or_default();
        let checks = match load {
            Ok(load) => load::judge_items(&load, s.config.permit_without_items),
            Err(e) => {
                warn!(gate = %s.config.id, error = %e, "could not read the permit's load; the truck is held");
                vec![load::unreadable(&permit_no, &e)]
            }
        };
        self.load_check = Some(LoadCheckView::new(&permit_no, &checks));
        let failures = load::failures(checks);
        let verdict = load::apply(verdict, &failures);
        let outcome = outcome::decided(s, agreement, weight, (verdict, Vec::new()));
        self.record(outcome, &consensus, truck, None, out);
    }

    fn record(
        &mut self,
        outcome: Outcome,
        consensus: &Verdict,
        truck: TruckReads,
        ticket: Option<u64>,
        out: &mut Vec<Action>,
    ) {
        let id = self.request();
        self.job = Some(Job::Record {
            id,
            opens: outcome.opens(),
            led_text: outcome.led_text().to_owned(),
            ticket,
        });
        out.push(Action::Record {
            id,
            pass: Box::new(outcome.into_pass(consensus, truck)),
        });
    }

    /// The pass was written, or not: `Some` once committed. Not committed, nothing opens:
    /// the truck's verdict is tried again; an override's operator is told.
    pub(super) fn on_recorded(
        &mut self,
        id: RequestId,
        result: Result<i64, String>,
        gate: &str,
        out: &mut Vec<Action>,
    ) -> Option<Committed> {
        let Some(Job::Record {
            opens,
            led_text,
            ticket,
            ..
        }) = self.take_job(id)
        else {
            return None;
        };
        match (result, ticket) {
            (Ok(pass_id), ticket) => Some(Committed {
                pass_id,
                opens,
                led_text,
                ticket,
            }),
            (Err(e), Some(ticket)) => {
                let result = Err(format!(
                    "the override could not be recorded, so the barrier stays closed: {e}"
                ));
                out.push(Action::Reply { ticket, result });
                None
            }
            (Err(e), None) => {
                warn!(gate, error = %e, "could not record the gate pass; the barrier stays closed");
                None
            }
        }
    }

    fn take_job(&mut self, id: RequestId) -> Option<Job> {
        if self.job.as_ref().is_some_and(|j| j.id() == id) {
            self.job.take()
        } else {
            None
        }
    }

    /// The truck left: the decision in progress is dropped, and an operator waiting on it
    /// is told.
    pub(super) fn abandon(&mut self, gate: &str, out: &mut Vec<Action>) {
        if let Some(ticket) = self.job.take().and_then(|j| j.ticket()) {
            let result = Err(format!("gate {gate}: the truck left the loop"));
            out.push(Action::Reply { ticket, result });
        }
    }

    /// The truck left before any verdict: its pass says so, and what was read of it.
    pub(super) fn left(
        &mut self,
        s: &LaneSettings,
        truck: Truck,
        now: Instant,
        led_text: &str,
        out: &mut Vec<Action>,
    ) {
        self.abandon(&s.config.id, out);
        let consensus = self.agree(s, &truck.reads);
        let waited = now.saturating_duration_since(truck.since);
        let outcome = outcome::left(s, &consensus, truck.weight, waited, led_text);
        // Nothing waits for this record: the barrier never moved.
        let id = self.request();
        out.push(Action::Record {
            id,
            pass: Box::new(outcome.into_pass(&consensus, truck.reads)),
        });
    }
}
