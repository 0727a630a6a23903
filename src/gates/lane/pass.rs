//! A truck's pass: its plate reads, the verdict once they agree and the weight is in, the
//! pass recorded with its video frames, then the barrier opened or the truck held.

use std::time::{Duration, Instant};

use customs_edge_devices::gate_io::BarrierCommand;
use customs_edge_devices::plate::{PlateRead, Verdict, agree};
use tracing::warn;

use super::{LaneTask, Opening, Step, decide};
use crate::gates::verdict::Weight;
use crate::store::gates::PassVerdict;

/// How long before the truck reached the loop a plate read may have come (cameras fire
/// on video as the truck approaches).
const READ_LEAD: Duration = Duration::from_secs(3);
/// How often the approved plates are read again while a truck waits.
const OPEN_PLATES_REFRESH: Duration = Duration::from_secs(1);

impl LaneTask {
    /// Reads that may belong to the truck on the loop since `since`, with their snapshots.
    pub(super) fn current(&self, since: Instant) -> (Vec<PlateRead>, Vec<(i64, String)>) {
        let from = since
            .checked_sub(READ_LEAD)
            .map_or(self.reads_after, |t| t.max(self.reads_after));
        let events = self.reads.iter().filter(|e| e.received >= from);
        let reads = events.clone().map(|e| e.read.clone()).collect();
        let snapshots = events
            .flat_map(|e| e.evidence.iter().map(|r| (r.id, r.sha256.clone())))
            .collect();
        (reads, snapshots)
    }

    pub(super) async fn open_plates(&mut self) -> Vec<String> {
        let fresh = self
            .open_plates
            .1
            .is_some_and(|t| t.elapsed() < OPEN_PLATES_REFRESH);
        if !fresh {
            let read = if self.settings.is_exit() {
                crate::store::gates::approved_plates
            } else {
                crate::store::arrivals::expected_plates
            };
            match self.store.reader.read(read).await {
                Ok(plates) => self.open_plates = (plates, Some(Instant::now())),
                Err(e) => {
                    warn!(gate = %self.id(), error = %e, "could not read the plates to resolve misreads against");
                }
            }
        }
        self.open_plates.0.clone()
    }

    /// With a truck on the loop: decide when the reads agree and the weight is in, or
    /// when the time for either is up.
    pub(super) async fn evaluate(&mut self) {
        let Step::Present { since } = self.step else {
            return;
        };
        let (reads, snapshots) = self.current(since);
        let open = self.open_plates().await;
        let open: Vec<&str> = open.iter().map(String::as_str).collect();
        let consensus = agree(&reads, &open, &self.settings.config.consensus);
        let waited = since.elapsed();
        let outcome = match &consensus {
            Verdict::Agreed(agreement) => {
                let weight = self.link.weight();
                let settled = matches!(weight, Weight::Stable(_));
                if self.settings.is_exit()
                    && self.link.has_weighbridge()
                    && !settled
                    && waited < self.settings.weight_wait()
                {
                    return;
                }
                decide::decide(&self.settings, &self.store, agreement, weight).await
            }
            _ if waited < self.settings.plate_wait() => return,
            _ => decide::undecided(&self.settings, &consensus, self.link.weight()),
        };
        if let Err(e) = self
            .record_and_act(outcome, &consensus, &reads, snapshots, since)
            .await
        {
            // Nothing recorded, nothing opened: fail closed and try again next poll.
            warn!(gate = %self.id(), error = %e, "could not record the gate pass; the barrier stays closed");
        }
    }

    /// Record the pass, then carry it out; the pass id.
    pub(super) async fn record_and_act(
        &mut self,
        outcome: decide::Outcome,
        consensus: &Verdict,
        reads: &[PlateRead],
        snapshots: Vec<(i64, String)>,
        arrived: Instant,
    ) -> Result<i64, crate::store::StoreError> {
        let recorded = decide::record(
            &self.settings,
            &self.store,
            outcome,
            consensus,
            reads,
            snapshots,
        )
        .await?;
        let id = recorded.pass_id;
        self.moments(id, arrived);
        self.act(recorded, arrived).await;
        Ok(id)
    }

    /// Ask the cameras watching the lane for their frames of pass `id`: when its plate was
    /// last read (as received here: camera clocks drift) and now, at the verdict.
    fn moments(&self, id: i64, arrived: Instant) {
        let Some(video) = &self.video else {
            return;
        };
        let point = crate::video::Point::Gate {
            gate: self.settings.config.id.clone(),
        };
        let now = chrono::Utc::now();
        let last_read = self
            .reads
            .iter()
            .filter(|e| e.received >= arrived.checked_sub(READ_LEAD).unwrap_or(arrived))
            .map(|e| e.received)
            .max();
        let moment = |at| {
            video.moment(crate::video::Moment {
                record_kind: crate::store::evidence::RECORD_GATE_PASS,
                record_id: id,
                point: point.clone(),
                at,
            });
        };
        if let Some(read) = last_read {
            moment(now - chrono::TimeDelta::from_std(read.elapsed()).unwrap_or_default());
        }
        moment(now);
    }

    /// Carry out a recorded pass: the barrier first (a truck must not wait on the LED),
    /// then the LED.
    async fn act(&mut self, recorded: decide::Recorded, arrived: Instant) {
        let now = Instant::now();
        if recorded.verdict == PassVerdict::Refused {
            self.step = Step::Held {
                pass_id: recorded.pass_id,
                since: arrived,
            };
        } else {
            let commanded = self.link.command(BarrierCommand::Open).await;
            self.step = Step::Open(Opening {
                pass_id: recorded.pass_id,
                since: now,
                commanded,
                opened: false,
                vehicles: 0,
                tailgate_alarmed: false,
                stuck_alarmed: false,
                pass_alarmed: false,
            });
        }
        self.set_led(recorded.led_text).await;
        self.publish(None);
    }
}
